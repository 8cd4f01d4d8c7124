//! [`Form`]: the extractor that reads, validates and keeps a submitted form.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use phial_core::axum::RequestExt as _;
use phial_core::axum::extract::{FromRequest, Multipart, Request};
use phial_core::axum::response::{IntoResponse, Response};
use phial_core::{HttpError, axum};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::data::{FieldRef, FormData};
use crate::messages::{self, Catalog};
use crate::upload::{FileCheck, UploadedFile};

/// Error messages by field name, in field-name order. A message that is not a field's (a
/// body that could not be read at all) is under the empty name `""`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A submitted form: Flask-WTF's `FlaskForm` as an extractor.
///
/// On `POST`, `PUT`, `PATCH` and `DELETE` it reads the body (urlencoded, multipart or JSON)
/// into `T`, reports every field that does not fit its type (`"Not a valid integer value."`),
/// then runs `T`'s `validator` checks with WTForms' messages (`"This field is required."`,
/// `"Field must be between 1 and 140 characters long."`). The handler decides what to do:
/// [`validate_on_submit`](Self::validate_on_submit) gives the value when the form was
/// submitted and is valid; otherwise the form keeps the submitted text and the errors for the
/// template to show again, with a 200, the way Flask apps do it.
///
/// For JSON clients (a JSON body, or `Accept: application/json`) an invalid form is answered
/// by the extractor itself: 422 with `{"error", "message", "errors": {field: [messages]}}`.
/// A body that is not a form at all is a 400 (bad JSON) or 415 (another content type).
///
/// On `GET` and other safe methods the form is not submitted and has no errors.
///
/// # Examples
///
/// ```
/// use phial_core::axum::http::StatusCode;
/// use phial_core::axum::response::{IntoResponse, Redirect, Response};
/// use phial_forms::Form;
/// use serde::Deserialize;
/// use validator::Validate;
///
/// #[derive(Deserialize, Validate)]
/// struct Post {
///     #[validate(custom(function = "phial_forms::data_required"), length(min = 1, max = 140))]
///     body: String,
/// }
///
/// async fn new_post(form: Form<Post>) -> Response {
///     if let Some(post) = form.validate_on_submit() {
///         // save `post.body` ...
///         # let _ = post;
///         return Redirect::to("/").into_response();
///     }
///     // Render the page again with the form: `form.value("body")`, `form.errors_for("body")`.
///     (StatusCode::OK, form.errors_for("body").join(" ")).into_response()
/// }
/// ```
#[derive(Debug)]
pub struct Form<T> {
    data: FormData,
    value: Option<T>,
    errors: FieldErrors,
    submitted: bool,
}

impl<T> Form<T> {
    /// A form that was not submitted (what a `GET` gets), for rendering an empty form.
    pub fn empty() -> Self {
        Self { data: FormData::new(), value: None, errors: FieldErrors::new(), submitted: false }
    }

    /// Whether the request submitted the form (an unsafe method with a form body).
    pub fn is_submitted(&self) -> bool {
        self.submitted
    }

    /// Whether the form was submitted and has no errors.
    pub fn is_valid(&self) -> bool {
        self.submitted && self.errors.is_empty() && self.value.is_some()
    }

    /// The value, when the form was submitted and is valid: Flask-WTF's
    /// `form.validate_on_submit()`.
    pub fn validate_on_submit(&self) -> Option<&T> {
        if self.is_valid() { self.value.as_ref() } else { None }
    }

    /// The value when valid, or the form back (with its errors) when not.
    ///
    /// # Errors
    ///
    /// The form itself, when it was not submitted or is not valid.
    pub fn into_valid(self) -> Result<T, Self> {
        if self.is_valid() {
            match self.value {
                Some(value) => Ok(value),
                None => Err(Self { value: None, ..self }),
            }
        } else {
            Err(self)
        }
    }

    /// Every error, by field: Flask-WTF's `form.errors`.
    pub fn errors(&self) -> &FieldErrors {
        &self.errors
    }

    /// The errors of field `name` (none: an empty slice): `form.<name>.errors`.
    pub fn errors_for(&self, name: &str) -> &[String] {
        self.errors.get(name).map_or(&[], Vec::as_slice)
    }

    /// Adds an error to field `name`, for checks the handler makes itself, such as an async
    /// "username already taken" against the database; the form is then invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::Form;
    ///
    /// # #[derive(serde::Deserialize, validator::Validate)] struct Signup { username: String }
    /// async fn taken(name: &str) -> bool { name == "admin" }
    ///
    /// async fn check(mut form: Form<Signup>) -> Form<Signup> {
    ///     if let Some(signup) = form.validate_on_submit() {
    ///         if taken(&signup.username).await {
    ///             form.add_error("username", "Please use a different username.");
    ///         }
    ///     }
    ///     form
    /// }
    /// ```
    pub fn add_error(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.errors.entry(name.into()).or_default().push(message.into());
    }

    /// The submitted text of field `name`, to show again in the re-rendered form.
    pub fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        self.data.get(name)
    }

    /// The first file sent in field `name`.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.data.file(name)
    }

    /// Runs file checks on field `name` in order (a failing [`FileRequired`] or [`FileAllowed`]
    /// stops the rest, as in WTForms), adding their messages to the field's errors; returns
    /// whether all passed. Does nothing for a form that was not submitted.
    ///
    /// [`FileRequired`]: crate::FileRequired
    /// [`FileAllowed`]: crate::FileAllowed
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::{FileAllowed, FileRequired, FileSize, Form};
    ///
    /// # #[derive(serde::Deserialize, validator::Validate)] struct Avatar {}
    /// async fn upload(mut form: Form<Avatar>) -> String {
    ///     form.check_file("photo", &[&FileRequired::new(), &FileAllowed::new(["jpg", "png"]), &FileSize::new(1 << 20)]);
    ///     match form.validate_on_submit().and(form.file("photo")) {
    ///         Some(photo) => format!("saved as {}", photo.safe_filename()),
    ///         None => format!("{:?}", form.errors_for("photo")),
    ///     }
    /// }
    /// ```
    pub fn check_file(&mut self, name: &str, checks: &[&dyn FileCheck]) -> bool {
        if !self.submitted {
            return true;
        }
        let mut passed = true;
        for check in checks {
            if let Err(message) = check.check(self.data.file(name)) {
                passed = false;
                self.add_error(name, message);
                if check.stops() {
                    break;
                }
            }
        }
        passed
    }

    /// The submitted fields.
    pub fn data(&self) -> &FormData {
        &self.data
    }

    /// Reads and validates `data` as a submitted form, with messages from `catalog` (English
    /// without one). The extractor does this with the request's body.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::{Form, FormData};
    /// use validator::Validate;
    ///
    /// #[derive(serde::Deserialize, Validate)]
    /// struct Age { #[validate(range(min = 18))] age: u32 }
    ///
    /// let form = Form::<Age>::submit(FormData::from_urlencoded(b"age=12"), None);
    /// assert_eq!(form.errors_for("age"), ["Number must be at least 18."]);
    /// let form = Form::<Age>::submit(FormData::from_urlencoded(b"age=twelve"), None);
    /// assert_eq!(form.errors_for("age"), ["Not a valid integer value."]);
    /// assert_eq!(form.value("age").as_deref(), Some("twelve"));
    /// ```
    pub fn submit(data: FormData, catalog: Option<&Catalog>) -> Self
    where
        T: DeserializeOwned + Validate,
    {
        let (value, failures) = crate::de::read::<T>(&data);
        let mut errors = FieldErrors::new();
        for failure in &failures {
            errors.entry(failure.field.clone()).or_default().push(messages::read_failure(failure.kind, catalog));
        }
        if let Some(value) = &value
            && let Err(invalid) = value.validate()
        {
            collect(&invalid, "", &data, catalog, &mut errors, &|field| {
                failures.iter().any(|failure| failure.field == field)
            });
        }
        Self { data, value, errors, submitted: true }
    }
}

/// Flattens validator's nested errors into `errors` (`address.city`, `items-0.name`, as
/// WTForms names subfields), skipping fields `skip` says already failed to read.
fn collect(
    invalid: &ValidationErrors,
    prefix: &str,
    data: &FormData,
    catalog: Option<&Catalog>,
    errors: &mut FieldErrors,
    skip: &dyn Fn(&str) -> bool,
) {
    for (field, kind) in invalid.errors() {
        let name = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        if skip(&name) {
            continue;
        }
        match kind {
            ValidationErrorsKind::Field(list) => {
                // WTForms' required checks stop a field's chain: its other checks do not report.
                let required = list.iter().find(|error| matches!(error.code.as_ref(), "required" | "data_required"));
                for error in required.map_or(list.as_slice(), std::slice::from_ref) {
                    let other = other_field_name(error, &name, data);
                    errors.entry(name.clone()).or_default().push(messages::validation(error, other, catalog));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &name, data, catalog, errors, skip),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{name}-{index}"), data, catalog, errors, skip);
                }
            }
        }
    }
}

/// For a `must_match` error: the other field's name. validator reports the other field's
/// value, not its name, so it is the submitted field (other than this one) holding that value.
fn other_field_name<'a>(error: &validator::ValidationError, this: &str, data: &'a FormData) -> Option<&'a str> {
    if error.code != "must_match" {
        return None;
    }
    let other = error.params.get("other")?;
    let other = match other {
        serde_json::Value::String(text) => Cow::Borrowed(text.as_str()),
        value => Cow::Owned(value.to_string()),
    };
    // Each name's first value, as `get` gives it, without searching the form for each name.
    data.first_fields().find(|field| field.name() != this && field.first().as_text() == other).map(FieldRef::name)
}

/// Whether the client wants JSON: a JSON body (`kind`), or an `Accept` header that prefers it
/// (a form posted without `Accept`, as by `curl`, is answered like a browser's).
fn wants_json(kind: BodyKind, headers: &http::HeaderMap) -> bool {
    kind == BodyKind::Json
        || headers
            .get(ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| phial_core::middleware::prefers_json(Some(accept)))
}

/// The `Content-Type` of a request with `headers`; empty when there is none (or it is not text).
pub(crate) fn content_type(headers: &http::HeaderMap) -> &str {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// What a form body is, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No `Content-Type`.
    Unnamed,
    Urlencoded,
    Multipart,
    /// `application/json` or any `+json` type.
    Json,
    Other,
}

/// The kind of `content_type`, told by its media type (parameters dropped) in any case, without
/// allocating: it is read on every form request, twice with CSRF protection.
pub(crate) fn body_kind(content_type: &str) -> BodyKind {
    // What browsers send for a form, compared whole first: the general reading below trims and
    // folds case byte by byte, hundreds of instructions on every form request.
    if content_type == "application/x-www-form-urlencoded" {
        return BodyKind::Urlencoded;
    }
    let essence = essence(content_type);
    let ends_with = |suffix: &str| {
        essence.len() >= suffix.len()
            && essence.as_bytes()[essence.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if essence.is_empty() {
        BodyKind::Unnamed
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        BodyKind::Urlencoded
    } else if essence.eq_ignore_ascii_case("multipart/form-data") {
        BodyKind::Multipart
    } else if essence.eq_ignore_ascii_case("application/json") || ends_with("+json") {
        BodyKind::Json
    } else {
        BodyKind::Other
    }
}

fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

/// Reads the body of `request`, of `kind`, as form fields.
async fn read_body(request: Request, kind: BodyKind) -> Result<FormData, HttpError> {
    match kind {
        BodyKind::Urlencoded | BodyKind::Unnamed | BodyKind::Json => {}
        // Boxed: multer's parser is kilobytes of future state that every other form would
        // otherwise carry in the handler's (boxed, copied) future.
        BodyKind::Multipart => return Box::pin(read_multipart(request)).await,
        BodyKind::Other => {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "A form must be sent as application/x-www-form-urlencoded, multipart/form-data or application/json, not {}.",
                    essence(content_type(request.headers())).to_ascii_lowercase()
                ),
            ));
        }
    }
    // Within axum's body limit (`DefaultBodyLimit`, which phial's `app.body_limit` sets).
    let body = crate::body::read_whole(request.with_limited_body().into_body(), usize::MAX)
        .await
        .map_err(|err| err.into_http("The request body is too large."))?;
    if kind == BodyKind::Json {
        FormData::from_json(&body).map_err(|err| HttpError::bad_request(err.to_string()))
    } else {
        Ok(FormData::from_urlencoded(&body))
    }
}

async fn read_multipart(request: Request) -> Result<FormData, HttpError> {
    let bad = |err: axum::extract::multipart::MultipartError| HttpError::new(err.status(), err.body_text());
    // Read whole first, within the body limit (a larger body stops there with 413): multer
    // searches all it has buffered for the next boundary each time more of the body arrives,
    // so a body trickled in small pieces would cost time quadratic in its length.
    let (parts, body) = request.with_limited_body().into_parts();
    let body = crate::body::read_whole(body, usize::MAX)
        .await
        .map_err(|err| err.into_http("The request body is too large."))?;
    let request = Request::from_parts(parts, axum::body::Body::from(body));
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| HttpError::new(rejection.status(), rejection.body_text()))?;
    let mut data = FormData::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let Some(name) = field.name().map(str::to_owned) else { continue };
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let content_type = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(bad)?;
            data.push_text(&name, &file_name);
            data.push_file(UploadedFile::new(name, file_name, content_type.as_deref(), bytes));
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        data.push_text(&name, &text);
    }
    Ok(data)
}

/// The 422 answer to a JSON client whose form is invalid.
fn unprocessable(errors: &FieldErrors) -> Response {
    let body = serde_json::json!({
        "error": "Unprocessable Entity",
        "message": "The submitted form has errors.",
        "errors": errors,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// Messages in the request's language: a [`Catalog`] a layer put into the request (the
/// `FormsExtension` does, from `Accept-Language`), or English.
fn catalog(extensions: &http::Extensions) -> Option<Arc<Catalog>> {
    extensions.get::<Arc<Catalog>>().cloned()
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned + Validate + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Response> {
        if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
            return Ok(Self::empty());
        }
        let kind = body_kind(content_type(request.headers()));
        let json = wants_json(kind, request.headers());
        let catalog = catalog(request.extensions());
        let csrf_failed = request.extensions().get::<crate::csrf::CsrfFailed>().cloned();
        // Boxed: reading a body is most of this future, and the handler's future (which the
        // router boxes) holds it: together they would pass 1 KiB, past the allocator's fast
        // sizes, on every form request.
        let data = Box::pin(read_body(request, kind)).await.map_err(IntoResponse::into_response)?;
        let mut form = Self::submit(data, catalog.as_deref());
        if let Some(failed) = csrf_failed {
            // `CsrfMode::Form`: the token's failure is the form's, as in Flask-WTF's FlaskForm.
            form.add_error(failed.field, failed.error.to_string());
        }
        if json && !form.errors.is_empty() {
            return Err(unprocessable(&form.errors));
        }
        Ok(form)
    }
}

/// A custom validator for text fields: WTForms' `DataRequired` ("This field is required.")
/// for text that is empty or only whitespace. (validator's own `required` is for `Option`s.)
///
/// # Examples
///
/// ```
/// use validator::Validate;
///
/// #[derive(serde::Deserialize, Validate)]
/// struct Login {
///     #[validate(custom(function = "phial_forms::data_required"))]
///     username: String,
/// }
///
/// assert!(Login { username: "  ".into() }.validate().is_err());
/// assert!(Login { username: "ada".into() }.validate().is_ok());
/// ```
///
/// # Errors
///
/// A `data_required` error when `value` holds no data.
pub fn data_required(value: &str) -> Result<(), validator::ValidationError> {
    if value.trim().is_empty() { Err(validator::ValidationError::new("data_required")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_kinds_are_told_by_media_type_in_any_case() {
        let cases = [
            ("", BodyKind::Unnamed),
            ("  ", BodyKind::Unnamed),
            ("application/x-www-form-urlencoded", BodyKind::Urlencoded),
            ("Application/X-WWW-Form-Urlencoded; charset=utf-8", BodyKind::Urlencoded),
            ("multipart/form-data; boundary=x", BodyKind::Multipart),
            ("application/json", BodyKind::Json),
            (" APPLICATION/JSON ; charset=utf-8", BodyKind::Json),
            ("application/vnd.api+JSON", BodyKind::Json),
            ("json", BodyKind::Other),
            ("text/plain", BodyKind::Other),
            ("application/jsonx", BodyKind::Other),
        ];
        for (content_type, kind) in cases {
            assert_eq!(body_kind(content_type), kind, "{content_type:?}");
        }
    }

    /// Futures that every form request allocates stay under 1 KiB: glibc serves larger blocks
    /// from its large bins (consolidating its fast bins first), a measured cost on every form
    /// POST. The extractor's future sits inside each handler's boxed future; its body read is
    /// boxed on its own.
    #[test]
    fn form_request_futures_stay_under_one_kibibyte() {
        #[derive(serde::Deserialize, Validate)]
        struct Probe {
            #[expect(dead_code, reason = "only its size matters")]
            name: String,
        }
        let request = || Request::new(axum::body::Body::empty());
        let extract = Form::<Probe>::from_request(request(), &());
        assert!(size_of_val(&extract) < 1024, "Form::from_request: {} bytes", size_of_val(&extract));
        let read = read_body(request(), BodyKind::Urlencoded);
        assert!(size_of_val(&read) < 1024, "read_body: {} bytes", size_of_val(&read));
    }
}
