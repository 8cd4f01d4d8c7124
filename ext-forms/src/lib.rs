//! phial-forms: forms for phial apps, in the role of Flask-WTF: a form is a struct that
//! derives `serde::Deserialize` and `validator::Validate`; the [`Form`] extractor reads it from
//! a urlencoded, multipart or JSON body, reports each field that does not fit with WTForms'
//! own messages, and keeps the submitted values for showing the form again.
//!
//! ```
//! use phial_core::axum::response::{IntoResponse, Redirect, Response};
//! use phial_forms::Form;
//! use serde::Deserialize;
//! use validator::Validate;
//!
//! #[derive(Deserialize, Validate)]
//! struct Register {
//!     #[validate(custom(function = "phial_forms::data_required"), length(min = 3, max = 64))]
//!     username: String,
//!     #[validate(email)]
//!     email: String,
//!     #[validate(length(min = 8))]
//!     password: String,
//!     #[validate(must_match(other = "password"))]
//!     password2: String,
//!     #[validate(range(min = 18))]
//!     age: u32,
//! }
//!
//! async fn register(form: Form<Register>) -> Response {
//!     match form.into_valid() {
//!         Ok(user) => {
//!             let _ = (user.username, user.email, user.age); // create the user
//!             Redirect::to("/login").into_response()
//!         }
//!         Err(form) => format!("{:?}", form.errors()).into_response(), // render the template again
//!     }
//! }
//! ```
//!
//! # Messages
//!
//! Errors read as WTForms writes them, so ported templates and tests still match:
//!
//! | check | message |
//! |---|---|
//! | [`data_required`], `required`, a number field left out | This field is required. |
//! | `length(min = 3)` | Field must be at least 3 characters long. |
//! | `length(max = 64)` | Field cannot be longer than 64 characters. |
//! | `length(min = 1, max = 140)` | Field must be between 1 and 140 characters long. |
//! | `length(equal = 6)` | Field must be exactly 6 characters long. |
//! | `email` | Invalid email address. |
//! | `must_match(other = "password")` | Field must be equal to password. |
//! | `range(min = 18)` / `range(max = 99)` / both | Number must be at least 18. / at most 99. / between 1 and 5. |
//! | `url` | Invalid URL. |
//! | an integer field holding `abc` | Not a valid integer value. |
//! | a float field holding `abc` | Not a valid float value. |
//! | an enum field holding an unknown value | Not a valid choice. |
//!
//! A `message = "..."` on a check replaces the default. A [`Catalog`] translates messages
//! (by their English text) for one locale.
//!
//! # CSRF
//!
//! [`FormsExtension`] adds [`CsrfLayer`]: every `POST`, `PUT`, `PATCH` and `DELETE` must carry
//! a token from [`Csrf::token`] in the form field `csrf_token` or the `X-CSRFToken` /
//! `X-CSRF-Token` header, or it is refused with 400 and Flask-WTF's message ("The CSRF token
//! is missing.", "The CSRF session token is missing.", "The CSRF token has expired.", "The
//! CSRF token is invalid.", "The CSRF tokens do not match."). Over HTTPS the `Origin` (or
//! `Referer`) must be this host. Tokens are signed with the app's key (fallback keys accepted)
//! and live `forms.csrf.time_limit` seconds; the session's secret rotates at login and logout.
//!
//! # Coming from Flask-WTF
//!
//! | Flask-WTF / WTForms | phial-forms |
//! |---|---|
//! | `class LoginForm(FlaskForm)` with fields | a struct deriving `Deserialize` and `Validate` |
//! | `DataRequired()`, `InputRequired()` | `#[validate(custom(function = "phial_forms::data_required"))]`; an `Option` field for optional input |
//! | `Length(min, max)`, `NumberRange(min, max)`, `Email()`, `EqualTo('password')`, `URL()` | `length(...)`, `range(...)`, `email`, `must_match(other = "password")`, `url` |
//! | `IntegerField`, `FloatField`, `BooleanField`, `SelectField` | `i64`/`u32`..., `f64`, `bool` (checkbox), an enum |
//! | `def validate_username(self, field)` (e.g. a database check) | [`Form::add_error`] after an async check in the handler |
//! | `form.validate_on_submit()` | [`Form::validate_on_submit`] / [`Form::into_valid`] |
//! | `form.errors`, `form.username.errors`, `form.username.data` | [`Form::errors`], [`Form::errors_for`], [`Form::value`] |
//! | `{{ form.username.label }} {{ form.username(size=32) }}` in templates | the same, with `#[derive(FormFields)]` and `form.view()` in the context (feature `templates`; `required`, `minlength`, `maxlength`, `min`, `max` from the validators, Bootstrap classes, `is-invalid` on errors) |
//! | `PasswordField`, `TextAreaField`, `SubmitField('Sign In')` | `#[field(kind = "password")]`, `kind = "textarea"`, `#[field(kind = "submit", label = "Sign In")]` on an `Option<String>` |
//! | `CSRFProtect(app)` | `.extension(FormsExtension::new())` (a failed check is a 400) |
//! | `FlaskForm`'s own check without `CSRFProtect` (a form error, the page re-renders with 200) | `[forms.csrf] mode = "form"` ([`CsrfMode::Form`]) |
//! | `csrf.exempt(view)` / blueprint | `[forms.csrf] exempt = ["/hooks/{name}", "/api/"]` |
//! | `generate_csrf()`, `validate_csrf(token)` | [`Csrf::token`], [`Csrf::check`] |
//! | `WTF_CSRF_TIME_LIMIT`, `WTF_CSRF_FIELD_NAME`, `WTF_CSRF_HEADERS`, `WTF_CSRF_SSL_STRICT`, `WTF_CSRF_METHODS` | `[forms.csrf]` `time_limit`, `field_name`, `headers`, `ssl_strict`, `methods` |
//! | Flask-Babel translations of WTForms messages | [`Catalog`] per locale, chosen by `Accept-Language` |
//!
//! | `FileField` with `FileRequired()`, `FileAllowed(['jpg'])`, `FileSize(max_size)` | [`Form::file`], [`Form::check_file`] with [`FileRequired`], [`FileAllowed`] (which also checks the content), [`FileSize`] |
//! | `secure_filename(f.filename)` | [`UploadedFile::safe_filename`] |
//!
//! | `{{ csrf_token() }}`, `{{ form.hidden_tag() }}` | `{{ csrf_token() }}`, `{{ hidden_tag() }}`, and `{{ form.hidden_tag() }}` with `form.view()` (feature `templates`) |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod csrf;
mod data;
mod de;
mod extension;
mod form;
mod messages;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
mod render;
mod upload;
mod urlencoded;

pub use csrf::{CSRF_SESSION_KEY, Csrf, CsrfConfig, CsrfError, CsrfKeys, CsrfLayer, CsrfMode, CsrfService};
pub use data::{BodyError, FieldValue, FormData};
pub use extension::{FormsConfig, FormsExtension};
pub use form::{FieldErrors, Form, data_required};
pub use messages::Catalog;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
pub use phial_forms_derive::FormFields;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
pub use render::{FieldSpec, FormFields};
pub use upload::{FileAllowed, FileCheck, FileRequired, FileSize, UploadedFile, secure_filename};
