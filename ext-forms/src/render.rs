//! Rendering a form's fields in templates, the way WTForms does: `{{ form.username.label }}`,
//! `{{ form.username(size=32) }}`, `{{ form.username.errors }}` (feature `templates`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use phial_core::middleware::escape_html;
use phial_core::minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, from_args};
use phial_core::minijinja::{Error, ErrorKind, State, Value};

use crate::form::Form;

/// What a template needs to render one field: its name, label, input type and the
/// constraints its validators imply. Made by `#[derive(FormFields)]`.
///
/// # Examples
///
/// ```
/// use phial_forms::FieldSpec;
///
/// const USERNAME: FieldSpec = FieldSpec::new("username", "Username", "text").required(true).max_length(64);
/// assert_eq!(USERNAME.max_length, Some(64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FieldSpec {
    /// The field's name in the body (and its `id`).
    pub name: &'static str,
    /// The label's text: WTForms' default is the name with `_` as spaces, words capitalised.
    pub label: &'static str,
    /// The input type (`text`, `password`, `email`, `number`, `checkbox`, `textarea`,
    /// `hidden`, `submit`, ...): from `#[field(kind = "...")]`, else from the Rust type.
    pub kind: &'static str,
    /// Whether the input carries `required`.
    pub required: bool,
    /// `minlength`, from `#[validate(length(min = ...))]`.
    pub min_length: Option<u64>,
    /// `maxlength`, from `#[validate(length(max = ...))]`.
    pub max_length: Option<u64>,
    /// `min`, from `#[validate(range(min = ...))]`.
    pub min: Option<f64>,
    /// `max`, from `#[validate(range(max = ...))]`.
    pub max: Option<f64>,
}

impl FieldSpec {
    /// A field with no constraints.
    pub const fn new(name: &'static str, label: &'static str, kind: &'static str) -> Self {
        Self { name, label, kind, required: false, min_length: None, max_length: None, min: None, max: None }
    }

    /// Sets [`required`](Self::required).
    #[must_use]
    pub const fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets [`min_length`](Self::min_length).
    #[must_use]
    pub const fn min_length(mut self, n: u64) -> Self {
        self.min_length = Some(n);
        self
    }

    /// Sets [`max_length`](Self::max_length).
    #[must_use]
    pub const fn max_length(mut self, n: u64) -> Self {
        self.max_length = Some(n);
        self
    }

    /// Sets [`min`](Self::min).
    #[must_use]
    pub const fn min(mut self, n: f64) -> Self {
        self.min = Some(n);
        self
    }

    /// Sets [`max`](Self::max).
    #[must_use]
    pub const fn max(mut self, n: f64) -> Self {
        self.max = Some(n);
        self
    }
}

/// A form struct whose fields templates can render; derive it.
///
/// `#[derive(FormFields)]` reads each field's name (and `#[serde(rename)]`), its type (`bool`
/// is a checkbox, numbers are `number` inputs, `Option` is not required) and validator's
/// `length(min, max, equal)`, `range(min, max)`, `required` and `custom(function =
/// "data_required")`. `#[field(label = "...", kind = "password", required, optional)]`
/// overrides; `#[form(crate = "phial::forms")]` on the struct names this crate when the app
/// reaches it through the facade.
///
/// Then [`Form::view`] gives templates `form.<field>` (call it to render the input, with
/// attributes as keyword arguments), `form.<field>.label`, `.errors`, `.data`, and
/// `form.hidden_tag()`. Inputs carry Bootstrap's classes (`form-control`, `is-invalid` when
/// the field has errors; `form-check-input` for checkboxes; `btn btn-primary` for submit).
///
/// # Examples
///
/// ```
/// use phial_core::minijinja::{Environment, context};
/// use phial_forms::{Form, FormData, FormFields};
/// use serde::Deserialize;
/// use validator::Validate;
///
/// #[derive(Deserialize, Validate, FormFields)]
/// struct Login {
///     #[validate(length(min = 3, max = 64))]
///     username: String,
///     #[field(kind = "password")]
///     password: String,
///     remember_me: bool,
///     #[field(kind = "submit", label = "Sign In")]
///     submit: Option<String>,
/// }
///
/// let form: Form<Login> = Form::submit(FormData::from_urlencoded(b"username=al&password=x"), None);
/// let mut env = Environment::new();
/// env.add_template("login.html", "{{ form.username.label }} {{ form.username(size=32) }}\n{{ form.username.errors[0] }}")?;
/// let html = env.get_template("login.html")?.render(context! { form => form.view() })?;
/// assert_eq!(html, concat!(
///     r#"<label for="username">Username</label> "#,
///     r#"<input class="form-control is-invalid" id="username" name="username" type="text" value="al" required minlength="3" maxlength="64" size="32">"#,
///     "\nField must be between 3 and 64 characters long.",
/// ));
/// # Ok::<(), phial_core::minijinja::Error>(())
/// ```
pub trait FormFields {
    /// The fields, in declaration order.
    fn fields() -> &'static [FieldSpec];
}

impl<T: FormFields> Form<T> {
    /// The form for a template: its fields with their submitted values and errors (see
    /// [`FormFields`]).
    pub fn view(&self) -> Value {
        let fields = T::fields()
            .iter()
            .map(|spec| {
                let field = FieldView {
                    spec: *spec,
                    data: self.value(spec.name).map(std::borrow::Cow::into_owned),
                    errors: self.errors_for(spec.name).to_vec(),
                };
                (spec.name, Value::from_object(field))
            })
            .collect();
        Value::from_object(FormView { fields, errors: self.errors().clone() })
    }
}

#[derive(Debug)]
struct FormView {
    fields: BTreeMap<&'static str, Value>,
    errors: crate::FieldErrors,
}

impl Object for FormView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if key == "errors" {
            return Some(Value::from_serialize(&self.errors));
        }
        self.fields.get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.fields.keys().map(|name| Value::from(*name)).collect())
    }

    fn call_method(self: &Arc<Self>, state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            // The CSRF field, from the `hidden_tag()` that `FormsExtension` gives templates.
            "hidden_tag" => match state.lookup("hidden_tag") {
                Some(global) => global.call(state, args),
                None => Err(Error::new(
                    ErrorKind::UnknownFunction,
                    "hidden_tag() needs phial-forms' FormsExtension in the app",
                )),
            },
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[derive(Debug)]
struct FieldView {
    spec: FieldSpec,
    data: Option<String>,
    errors: Vec<String>,
}

impl Object for FieldView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "name" | "id" => Value::from(self.spec.name),
            "label" => Value::from_safe_string(format!(
                r#"<label for="{}">{}</label>"#,
                escape_html(self.spec.name),
                escape_html(self.spec.label)
            )),
            "errors" => Value::from_serialize(&self.errors),
            "data" => self.data.clone().map_or(Value::from(()), Value::from),
            "type" => Value::from(self.spec.kind),
            "required" => Value::from(self.spec.required),
            _ => return None,
        })
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let kwargs: Kwargs = if args.is_empty() {
            std::iter::empty::<(&str, Value)>().collect::<Kwargs>()
        } else {
            from_args::<(Kwargs,)>(args)?.0
        };
        Ok(Value::from_safe_string(self.html(&kwargs)?))
    }
}

impl FieldView {
    /// The field's HTML, with `kwargs` as extra attributes (`class`/`class_` add classes).
    fn html(&self, kwargs: &Kwargs) -> Result<String, Error> {
        let spec = &self.spec;
        let mut classes = match spec.kind {
            "checkbox" | "radio" => "form-check-input".to_owned(),
            "submit" => "btn btn-primary".to_owned(),
            "hidden" => String::new(),
            _ => "form-control".to_owned(),
        };
        if !self.errors.is_empty() && !classes.is_empty() {
            classes.push_str(" is-invalid");
        }
        let mut extra = String::new();
        // Sorted, as WTForms' `html_params` writes them: the same HTML for the same call.
        let mut keys: Vec<&str> = kwargs.args().collect();
        keys.sort_unstable();
        for key in keys {
            let value: Value = kwargs.get(key)?;
            if key == "class" || key == "class_" {
                if !classes.is_empty() {
                    classes.push(' ');
                }
                classes.push_str(&value.to_string());
                continue;
            }
            // WTForms writes `data_toggle=...` as `data-toggle`.
            let name = key.trim_end_matches('_').replace('_', "-");
            if value.is_true() && value.kind() == phial_core::minijinja::value::ValueKind::Bool {
                let _ = write!(extra, " {}", escape_html(&name));
            } else if !value.is_undefined()
                && !value.is_none()
                && value.kind() != phial_core::minijinja::value::ValueKind::Bool
            {
                let _ = write!(extra, r#" {}="{}""#, escape_html(&name), escape_html(&value.to_string()));
            }
        }
        let mut html = String::with_capacity(128);
        let class = if classes.is_empty() { String::new() } else { format!(r#"class="{}" "#, escape_html(&classes)) };
        let name = escape_html(spec.name);
        let data = self.data.as_deref().unwrap_or_default();
        match spec.kind {
            "textarea" => {
                let _ = write!(
                    html,
                    r#"<textarea {class}id="{name}" name="{name}"{}{extra}>{}</textarea>"#,
                    self.constraints(),
                    escape_html(data)
                );
            }
            "checkbox" => {
                let checked = if matches!(data, "" | "false") { "" } else { " checked" };
                let _ = write!(
                    html,
                    r#"<input {class}id="{name}" name="{name}" type="checkbox" value="y"{checked}{extra}>"#
                );
            }
            "submit" => {
                let _ = write!(
                    html,
                    r#"<input {class}id="{name}" name="{name}" type="submit" value="{}"{extra}>"#,
                    escape_html(spec.label)
                );
            }
            kind => {
                // A password is never sent back to the browser, as WTForms' PasswordField.
                let value =
                    if kind == "password" { String::new() } else { format!(r#" value="{}""#, escape_html(data)) };
                let _ = write!(
                    html,
                    r#"<input {class}id="{name}" name="{name}" type="{}"{value}{}{extra}>"#,
                    escape_html(kind),
                    self.constraints()
                );
            }
        }
        Ok(html)
    }

    fn constraints(&self) -> String {
        let spec = &self.spec;
        let mut out = String::new();
        if spec.required {
            out.push_str(" required");
        }
        if let Some(n) = spec.min_length {
            let _ = write!(out, r#" minlength="{n}""#);
        }
        if let Some(n) = spec.max_length {
            let _ = write!(out, r#" maxlength="{n}""#);
        }
        if let Some(n) = spec.min {
            let _ = write!(out, r#" min="{n}""#);
        }
        if let Some(n) = spec.max {
            let _ = write!(out, r#" max="{n}""#);
        }
        out
    }
}
