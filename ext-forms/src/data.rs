//! [`FormData`]: the submitted fields, as the body carried them.

use std::borrow::Cow;

use crate::upload::UploadedFile;

/// One submitted value: text from a urlencoded or multipart body, or a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A value from a urlencoded or multipart body.
    Text(String),
    /// A value of a JSON object's member.
    Json(serde_json::Value),
}

impl FieldValue {
    /// The value as text, the way it is shown back in a re-rendered form: a JSON string without
    /// quotes, other JSON values in JSON notation.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::FieldValue;
    ///
    /// assert_eq!(FieldValue::Text("ada".into()).as_text(), "ada");
    /// assert_eq!(FieldValue::Json(serde_json::json!("ada")).as_text(), "ada");
    /// assert_eq!(FieldValue::Json(serde_json::json!(36)).as_text(), "36");
    /// ```
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Self::Text(text) | Self::Json(serde_json::Value::String(text)) => Cow::Borrowed(text),
            Self::Json(serde_json::Value::Null) => Cow::Borrowed(""),
            Self::Json(other) => Cow::Owned(other.to_string()),
        }
    }
}

/// The fields of a submitted form, in the order they came, repeats kept (a `<select
/// multiple>` or a group of checkboxes sends one name several times).
///
/// # Examples
///
/// ```
/// use phial_forms::FormData;
///
/// let data = FormData::from_urlencoded(b"tag=a&tag=b&name=Ada+L%C3%B6wen");
/// assert_eq!(data.get("name").as_deref(), Some("Ada Löwen"));
/// assert_eq!(data.get_all("tag").count(), 2);
/// assert!(data.get("missing").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormData {
    fields: Vec<(String, FieldValue)>,
    files: Vec<UploadedFile>,
}

/// Why a body could not be read as a form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The JSON body is not valid JSON.
    #[error("The request body is not valid JSON: {0}")]
    Json(serde_json::Error),
    /// The JSON body is valid but not an object of fields.
    #[error("The request body must be a JSON object of fields.")]
    NotAnObject,
}

impl FormData {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads an `application/x-www-form-urlencoded` body (or query string). It never fails:
    /// bytes that are not UTF-8 are replaced, as browsers do.
    pub fn from_urlencoded(body: &[u8]) -> Self {
        // One allocation for the list of a usual form: at most as many fields as `&`s plus one.
        // Capped, so that a body of `&`s reserves nothing for the pairs `parse` skips.
        let mut fields = Vec::with_capacity((memchr::memchr_iter(b'&', body).count() + 1).min(64));
        fields.extend(
            crate::urlencoded::pairs(body)
                .map(|(name, value)| (name.into_owned(), FieldValue::Text(value.into_owned()))),
        );
        Self { fields, files: Vec::new() }
    }

    /// Reads a JSON object: each member is a field; an array member is a repeated field.
    ///
    /// # Errors
    ///
    /// When the body is not JSON, or not an object.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::FormData;
    ///
    /// let data = FormData::from_json(br#"{"name": "Ada", "age": 36}"#).unwrap();
    /// assert_eq!(data.get("age").as_deref(), Some("36"));
    /// assert!(FormData::from_json(b"[1, 2]").is_err());
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        match serde_json::from_slice(body).map_err(BodyError::Json)? {
            serde_json::Value::Object(members) => {
                let fields = members.into_iter().map(|(name, value)| (name, FieldValue::Json(value))).collect();
                Ok(Self { fields, files: Vec::new() })
            }
            _ => Err(BodyError::NotAnObject),
        }
    }

    /// Adds a value to field `name` (after any it has).
    pub fn push(&mut self, name: impl Into<String>, value: FieldValue) {
        self.fields.push((name.into(), value));
    }

    /// Adds an uploaded file.
    pub fn push_file(&mut self, file: UploadedFile) {
        self.files.push(file);
    }

    /// The first file sent in field `name`.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|file| file.field() == name)
    }

    /// Every file sent in field `name` (`<input type="file" multiple>`).
    pub fn files<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a UploadedFile> + 'a {
        self.files.iter().filter(move |file| file.field() == name)
    }

    /// The first value of field `name`, as text.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_text())
    }

    /// Every value of field `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FieldValue> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, value)| value)
    }

    /// Whether field `name` was submitted at all.
    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// Each distinct field name, in the order of first appearance.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &self.fields {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    /// Whether no field was submitted.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}
