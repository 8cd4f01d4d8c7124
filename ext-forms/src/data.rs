//! [`FormData`]: the submitted fields, as the body carried them.

use std::borrow::Cow;
use std::ops::Range;

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
#[derive(Clone, Default, PartialEq)]
pub struct FormData {
    /// Every field's name, one after another: one allocation for all of them rather than one
    /// each (a form is read on every submission).
    names: String,
    /// Each field's name (a range of `names`) and value, in the order they came.
    fields: Vec<(Range<usize>, FieldValue)>,
    files: Vec<UploadedFile>,
}

#[expect(clippy::missing_fields_in_debug, reason = "the names buffer is shown split, beside each value")]
impl std::fmt::Debug for FormData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormData")
            .field("fields", &self.pairs().collect::<Vec<_>>())
            .field("files", &self.files)
            .finish()
    }
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
        // Capped, so that a body of `&`s reserves little for the empty pairs the reader skips.
        let fields = Vec::with_capacity((memchr::memchr_iter(b'&', body).count() + 1).min(64));
        // The names take at most the body's length (capped: a large body is mostly values).
        let mut data = Self { names: String::with_capacity(body.len().min(1024)), fields, files: Vec::new() };
        for (name, value) in crate::urlencoded::pairs(body) {
            data.push(name, FieldValue::Text(value.into_owned()));
        }
        data
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
                let mut data = Self::new();
                for (name, value) in members {
                    data.push(name, FieldValue::Json(value));
                }
                Ok(data)
            }
            _ => Err(BodyError::NotAnObject),
        }
    }

    /// Adds a value to field `name` (after any it has).
    pub fn push(&mut self, name: impl AsRef<str>, value: FieldValue) {
        let start = self.names.len();
        self.names.push_str(name.as_ref());
        self.fields.push((start..self.names.len(), value));
    }

    /// Each field's name and value, in order.
    fn pairs(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.fields.iter().map(|(range, value)| (&self.names[range.clone()], value))
    }

    /// The values of the fields called `name`, in order. (Names are compared as bytes: slicing
    /// them out as text would check character boundaries on every comparison.)
    fn values_of<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a FieldValue> + use<'a, 'n> {
        let names = self.names.as_bytes();
        self.fields
            .iter()
            .filter(move |(range, _)| names.get(range.clone()) == Some(name.as_bytes()))
            .map(|(_, value)| value)
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
        self.values_of(name).next().map(FieldValue::as_text)
    }

    /// Every value of field `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FieldValue> + 'a {
        self.values_of(name)
    }

    /// Whether field `name` was submitted at all.
    pub fn contains(&self, name: &str) -> bool {
        self.values_of(name).next().is_some()
    }

    /// Each distinct field name, in the order of first appearance.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in self.pairs() {
            if !names.contains(&name) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_share_one_buffer_and_read_back_by_field() {
        let mut data = FormData::from_urlencoded(b"tag=a&name=Ada&tag=b&caf%C3%A9=1");
        data.push("late", FieldValue::Text("x".into()));
        assert_eq!(data.names(), ["tag", "name", "café", "late"]);
        assert_eq!(data.get_all("tag").map(FieldValue::as_text).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(data.get("café").as_deref(), Some("1"));
        assert_eq!(data.get("late").as_deref(), Some("x"));
        // A name that is a prefix of another, or spans two, is no match.
        assert!(!data.contains("ta"));
        assert!(!data.contains("tagname"));
        assert_eq!(
            format!("{data:?}"),
            r#"FormData { fields: [("tag", Text("a")), ("name", Text("Ada")), ("tag", Text("b")), ("café", Text("1")), ("late", Text("x"))], files: [] }"#
        );
    }
}
