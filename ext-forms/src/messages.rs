//! Error messages: WTForms' defaults, word for word, and a catalog per locale to translate them.

use std::borrow::Cow;
use std::collections::HashMap;

use validator::ValidationError;

use crate::de::Kind;

/// `{name}` placeholders of `template` replaced by `args`.
fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Translations of the messages, by their English text (the message id, as gettext has it).
///
/// The English text is the id: `"This field is required."`, and for messages with numbers the
/// text with `{min}`, `{max}`, `{other_name}` placeholders, singular and plural separately
/// (`"Field must be at least {min} character long."` and `"... characters long."`). A message a
/// catalog lacks stays in English.
///
/// # Examples
///
/// ```
/// use phial_forms::Catalog;
///
/// let spanish = Catalog::new("es")
///     .add("This field is required.", "Este campo es obligatorio.")
///     .add("Field must be at least {min} characters long.", "El campo debe tener al menos {min} caracteres.");
/// assert_eq!(spanish.translate("This field is required."), "Este campo es obligatorio.");
/// assert_eq!(spanish.translate("Invalid email address."), "Invalid email address.");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    locale: String,
    entries: HashMap<String, String>,
}

impl Catalog {
    /// An empty catalog for `locale` (e.g. `"es"`, `"pt_BR"`).
    pub fn new(locale: impl Into<String>) -> Self {
        Self { locale: locale.into(), entries: HashMap::new() }
    }

    /// Adds the translation of message id `english`.
    #[must_use]
    pub fn add(mut self, english: impl Into<String>, translated: impl Into<String>) -> Self {
        self.entries.insert(english.into(), translated.into());
        self
    }

    /// The locale this catalog translates to.
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// The translation of `english`, or `english` itself.
    pub fn translate<'a>(&'a self, english: &'a str) -> &'a str {
        self.entries.get(english).map_or(english, String::as_str)
    }
}

/// The message of a field that could not be read as its type.
pub(crate) fn read_failure(kind: Kind, catalog: Option<&Catalog>) -> String {
    let english = match kind {
        Kind::Missing => "This field is required.",
        Kind::Integer => "Not a valid integer value.",
        Kind::Float => "Not a valid float value.",
        Kind::Choice => "Not a valid choice.",
        Kind::Invalid => "Invalid input.",
    };
    translate(catalog, english, &[])
}

fn translate(catalog: Option<&Catalog>, english: &str, args: &[(&str, String)]) -> String {
    fill(catalog.map_or(english, |c| c.translate(english)), args)
}

/// A parameter of a validator error as WTForms prints it: `18`, `1.5`, `password`.
fn param(error: &ValidationError, name: &str) -> Option<String> {
    error.params.get(name).map(|value| match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

/// The message for a validator error on a field: the validator's own `message` when the form
/// set one (translated if the catalog has it), else WTForms' default for the same check.
///
/// `other_name` names the field a `must_match` refers to (validator reports only its value).
pub(crate) fn validation(error: &ValidationError, other_name: Option<&str>, catalog: Option<&Catalog>) -> String {
    if let Some(message) = &error.message {
        return translate(catalog, message, &[]);
    }
    let min = param(error, "min");
    let max = param(error, "max");
    let (english, args): (Cow<'static, str>, Vec<(&str, String)>) = match error.code.as_ref() {
        "length" => {
            let one = |n: &String| n == "1";
            match (min, max, param(error, "equal")) {
                (_, _, Some(equal)) => (
                    plural(
                        one(&equal),
                        "Field must be exactly {max} character long.",
                        "Field must be exactly {max} characters long.",
                    ),
                    vec![("max", equal)],
                ),
                (Some(min), Some(max), None) if min == max => (
                    plural(
                        one(&max),
                        "Field must be exactly {max} character long.",
                        "Field must be exactly {max} characters long.",
                    ),
                    vec![("max", max)],
                ),
                (Some(min), Some(max), None) => {
                    ("Field must be between {min} and {max} characters long.".into(), vec![("min", min), ("max", max)])
                }
                (Some(min), None, None) => (
                    plural(
                        one(&min),
                        "Field must be at least {min} character long.",
                        "Field must be at least {min} characters long.",
                    ),
                    vec![("min", min)],
                ),
                (None, Some(max), None) => (
                    plural(
                        one(&max),
                        "Field cannot be longer than {max} character.",
                        "Field cannot be longer than {max} characters.",
                    ),
                    vec![("max", max)],
                ),
                (None, None, None) => ("Invalid input.".into(), vec![]),
            }
        }
        "range" => {
            let min = min.or_else(|| param(error, "exclusive_min"));
            let max = max.or_else(|| param(error, "exclusive_max"));
            match (min, max) {
                (Some(min), Some(max)) => {
                    ("Number must be between {min} and {max}.".into(), vec![("min", min), ("max", max)])
                }
                (Some(min), None) => ("Number must be at least {min}.".into(), vec![("min", min)]),
                (None, Some(max)) => ("Number must be at most {max}.".into(), vec![("max", max)]),
                (None, None) => ("Invalid input.".into(), vec![]),
            }
        }
        "required" | "data_required" => ("This field is required.".into(), vec![]),
        "email" => ("Invalid email address.".into(), vec![]),
        "url" => ("Invalid URL.".into(), vec![]),
        "ip" | "ipv4" | "ipv6" => ("Invalid IP address.".into(), vec![]),
        "must_match" => (
            "Field must be equal to {other_name}.".into(),
            vec![("other_name", other_name.unwrap_or("the other field").to_owned())],
        ),
        "contains" => (
            "Invalid value, must contain {needle}.".into(),
            vec![("needle", param(error, "needle").unwrap_or_default())],
        ),
        "does_not_contain" => (
            "Invalid value, can't contain {needle}.".into(),
            vec![("needle", param(error, "needle").unwrap_or_default())],
        ),
        "credit_card" => ("Invalid credit card number.".into(), vec![]),
        "non_control_character" => ("Invalid input: control characters are not allowed.".into(), vec![]),
        _ => ("Invalid input.".into(), vec![]),
    };
    translate(catalog, &english, &args)
}

fn plural(one: bool, singular: &'static str, plural: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(if one { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &'static str, params: &[(&'static str, serde_json::Value)]) -> ValidationError {
        let mut error = ValidationError::new(code);
        for (name, value) in params {
            error.add_param((*name).into(), value);
        }
        error
    }

    #[test]
    fn wtforms_wording() {
        use serde_json::json;
        let cases = [
            (error("length", &[("min", json!(3))]), "Field must be at least 3 characters long."),
            (error("length", &[("min", json!(1))]), "Field must be at least 1 character long."),
            (
                error("length", &[("min", json!(1)), ("max", json!(140))]),
                "Field must be between 1 and 140 characters long.",
            ),
            (error("length", &[("max", json!(64))]), "Field cannot be longer than 64 characters."),
            (error("length", &[("equal", json!(6))]), "Field must be exactly 6 characters long."),
            (error("range", &[("min", json!(18))]), "Number must be at least 18."),
            (error("range", &[("max", json!(99))]), "Number must be at most 99."),
            (error("range", &[("min", json!(1)), ("max", json!(5))]), "Number must be between 1 and 5."),
            (error("email", &[]), "Invalid email address."),
            (error("url", &[]), "Invalid URL."),
            (error("required", &[]), "This field is required."),
        ];
        for (error, expected) in cases {
            assert_eq!(validation(&error, None, None), expected);
        }
        assert_eq!(validation(&error("must_match", &[]), Some("password"), None), "Field must be equal to password.");
        assert_eq!(read_failure(Kind::Integer, None), "Not a valid integer value.");
    }

    #[test]
    fn own_messages_win_and_catalogs_translate() {
        let custom = ValidationError::new("length").with_message("Too short!".into());
        assert_eq!(validation(&custom, None, None), "Too short!");
        let spanish = Catalog::new("es")
            .add("Number must be at least {min}.", "El número debe ser al menos {min}.")
            .add("Too short!", "¡Demasiado corto!");
        let mut range = ValidationError::new("range");
        range.add_param("min".into(), &18);
        assert_eq!(validation(&range, None, Some(&spanish)), "El número debe ser al menos 18.");
        assert_eq!(validation(&custom, None, Some(&spanish)), "¡Demasiado corto!");
    }
}
