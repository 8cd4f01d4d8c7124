//! The original's forms (`app/auth/forms.py`, `app/main/forms.py`) and how templates draw them.
//!
//! Each form checks its CSRF token itself, as a `FlaskForm` does: a missing or bad token is an
//! error of the form's `csrf_token` field and the page is shown again with 200, rather than
//! the 400 of a global `CSRFProtect` (which the original does not use).

use phial::forms::{Csrf, Form};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::i18n::Locale;

/// `LoginForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct LoginForm {
    /// User name.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub username: String,
    /// Password.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub password: String,
    /// "Remember Me": a checkbox.
    #[serde(default)]
    pub remember_me: bool,
}

/// `RegistrationForm` (its database checks are made by the handler).
#[derive(Debug, Deserialize, Validate)]
pub struct RegistrationForm {
    /// User name.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub username: String,
    /// E-mail address.
    #[validate(custom(function = "phial::forms::data_required"), email)]
    pub email: String,
    /// Password.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub password: String,
    /// "Repeat Password".
    #[validate(custom(function = "phial::forms::data_required"), must_match(other = "password"))]
    pub password2: String,
}

/// `ResetPasswordRequestForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct ResetPasswordRequestForm {
    /// E-mail address.
    #[validate(custom(function = "phial::forms::data_required"), email)]
    pub email: String,
}

/// `ResetPasswordForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct ResetPasswordForm {
    /// The new password.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub password: String,
    /// "Repeat Password".
    #[validate(custom(function = "phial::forms::data_required"), must_match(other = "password"))]
    pub password2: String,
}

/// `EditProfileForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct EditProfileForm {
    /// User name.
    #[validate(custom(function = "phial::forms::data_required"))]
    pub username: String,
    /// "About me", up to 140 characters.
    #[validate(length(min = 0, max = 140))]
    pub about_me: Option<String>,
}

/// `PostForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct PostForm {
    /// "Say something", 1 to 140 characters.
    #[validate(custom(function = "phial::forms::data_required"), length(min = 1, max = 140))]
    pub post: String,
}

/// `MessageForm`.
#[derive(Debug, Deserialize, Validate)]
pub struct MessageForm {
    /// "Message", 1 to 140 characters.
    #[validate(custom(function = "phial::forms::data_required"), length(min = 1, max = 140))]
    pub message: String,
}

/// `EmptyForm`: only the CSRF token and the submit button (follow and unfollow).
#[derive(Debug, Deserialize, Validate)]
pub struct EmptyForm {}

/// `form.validate_on_submit()` with the form's own CSRF check: the value when the form was
/// submitted, carries a good token and passed its checks.
pub fn validate_on_submit<'a, T>(csrf: &Csrf, locale: Locale, form: &'a mut Form<T>) -> Option<&'a T> {
    if !form.is_submitted() {
        return None;
    }
    if let Err(refused) = csrf.check(form.value("csrf_token").as_deref()) {
        form.add_error("csrf_token", locale.gettext(&refused.to_string()).to_owned());
    }
    form.validate_on_submit()
}

/// What kind of input a field is drawn as.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `StringField`.
    Text,
    /// `PasswordField` (never drawn with its value).
    Password,
    /// `BooleanField`.
    Checkbox,
    /// `TextAreaField`.
    Textarea,
}

/// One field as `bootstrap_wtf.html`'s `form_field` macro draws it.
#[derive(Debug, Serialize)]
pub struct FieldView {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    value: String,
    required: bool,
    errors: Vec<String>,
}

/// A form as `quick_form` draws it: its fields, the submit label, and the errors of the hidden
/// CSRF field.
#[derive(Debug, Serialize)]
pub struct FormView {
    fields: Vec<FieldView>,
    submit: &'static str,
    hidden_errors: Vec<String>,
}

impl FormView {
    /// An empty form with this submit label.
    pub fn new(submit: &'static str) -> Self {
        Self { fields: Vec::new(), submit, hidden_errors: Vec::new() }
    }

    /// Adds a field, with the value and errors `form` holds for it.
    pub fn field<T>(
        mut self,
        form: &Form<T>,
        name: &'static str,
        label: &'static str,
        kind: Kind,
        required: bool,
    ) -> Self {
        let value = form.value(name).map(std::borrow::Cow::into_owned).unwrap_or_default();
        self.fields.push(FieldView { name, label, kind, value, required, errors: form.errors_for(name).to_vec() });
        self
    }

    /// Adds the CSRF field's errors.
    pub fn hidden<T>(mut self, form: &Form<T>) -> Self {
        self.hidden_errors = form.errors_for("csrf_token").to_vec();
        self
    }

    /// Sets the value of field `name` (the edit-profile form filled from the user on `GET`).
    pub fn with_value(mut self, name: &str, value: &str) -> Self {
        if let Some(field) = self.fields.iter_mut().find(|field| field.name == name) {
            value.clone_into(&mut field.value);
        }
        self
    }
}
