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
#![cfg_attr(docsrs, feature(doc_cfg))]

mod data;
mod de;
mod form;
mod messages;

pub use data::{BodyError, FieldValue, FormData};
pub use form::{FieldErrors, Form, data_required};
pub use messages::Catalog;
