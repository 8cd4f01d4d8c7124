//! [`FormData`]: the submitted fields, as the body carried them.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use crate::upload::UploadedFile;

/// Up to this many fields, distinct names are found by comparing each with the ones before it.
const SCAN_LIMIT: usize = 32;

/// One submitted value, borrowed from its [`FormData`]: text from a urlencoded or multipart
/// body, or a JSON value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A value from a urlencoded or multipart body.
    Text(&'a str),
    /// A value of a JSON object's member.
    Json(&'a serde_json::Value),
}

impl<'a> FieldValue<'a> {
    /// The value as text, the way it is shown back in a re-rendered form: a JSON string without
    /// quotes, other JSON values in JSON notation.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::FieldValue;
    ///
    /// assert_eq!(FieldValue::Text("ada").as_text(), "ada");
    /// assert_eq!(FieldValue::Json(&serde_json::json!("ada")).as_text(), "ada");
    /// assert_eq!(FieldValue::Json(&serde_json::json!(36)).as_text(), "36");
    /// ```
    pub fn as_text(&self) -> Cow<'a, str> {
        match *self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Json(serde_json::Value::String(text)) => Cow::Borrowed(text),
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
#[derive(Clone, Default)]
pub struct FormData {
    /// Every field's name and text value, one after another: one allocation for the whole form
    /// rather than one or two per field (a form is read on every submission).
    text: String,
    /// Each field, in the order they came.
    fields: Vec<Entry>,
    files: Vec<UploadedFile>,
}

/// Equal when the same fields came in the same order, with the same files.
impl PartialEq for FormData {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter()) && self.files == other.files
    }
}

/// One submitted field of a [`FormData`], for the deserializer: its values are found from it on,
/// without searching the fields before it.
#[derive(Clone, Copy)]
pub(crate) struct FieldRef<'a> {
    data: &'a FormData,
    index: usize,
}

impl<'a> FieldRef<'a> {
    pub(crate) fn name(self) -> &'a str {
        &self.data.text[self.data.fields[self.index].name.clone()]
    }

    /// This field's value.
    pub(crate) fn first(self) -> FieldValue<'a> {
        self.data.value(&self.data.fields[self.index])
    }

    /// The values of this field's name from this field on, in order.
    pub(crate) fn values(self) -> impl Iterator<Item = FieldValue<'a>> + 'a {
        let data = self.data;
        data.entries_from(self.index, self.name()).map(move |entry| data.value(entry))
    }
}

/// A field: its name, a range of the text buffer, and its value.
#[derive(Clone)]
struct Entry {
    name: Range<usize>,
    value: Stored,
}

/// A value as the form keeps it.
#[derive(Clone)]
enum Stored {
    /// A range of the text buffer.
    Text(Range<usize>),
    Json(serde_json::Value),
}

#[expect(clippy::missing_fields_in_debug, reason = "the text buffer is shown split, as each field's name and value")]
impl std::fmt::Debug for FormData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormData")
            .field("fields", &self.iter().collect::<Vec<_>>())
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
        // Decoded text is no longer than the body, unless bytes that are not UTF-8 are replaced.
        let mut data = Self { text: String::with_capacity(body.len()), fields, files: Vec::new() };
        let mut decoder = crate::urlencoded::Decoder::new(body);
        for (name, value) in crate::urlencoded::raw_pairs(body) {
            let start = data.text.len();
            decoder.append(&name, &mut data.text);
            let middle = data.text.len();
            decoder.append(&value, &mut data.text);
            data.fields.push(Entry { name: start..middle, value: Stored::Text(middle..data.text.len()) });
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
                    data.push_json(&name, value);
                }
                Ok(data)
            }
            _ => Err(BodyError::NotAnObject),
        }
    }

    /// Adds a text value to field `name` (after any it has).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::{FieldValue, FormData};
    ///
    /// let mut data = FormData::new();
    /// data.push_text("tag", "a");
    /// data.push_text("tag", "b");
    /// assert_eq!(data.get_all("tag").collect::<Vec<_>>(), [FieldValue::Text("a"), FieldValue::Text("b")]);
    /// ```
    pub fn push_text(&mut self, name: &str, value: &str) {
        let name = self.add_text(name);
        let value = Stored::Text(self.add_text(value));
        self.fields.push(Entry { name, value });
    }

    /// Adds a JSON value to field `name` (after any it has).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::FormData;
    ///
    /// let mut data = FormData::new();
    /// data.push_json("age", serde_json::json!(36));
    /// assert_eq!(data.get("age").as_deref(), Some("36"));
    /// ```
    pub fn push_json(&mut self, name: &str, value: serde_json::Value) {
        let name = self.add_text(name);
        self.fields.push(Entry { name, value: Stored::Json(value) });
    }

    fn add_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    /// Each field's name and value, in the order they came, repeats kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::{FieldValue, FormData};
    ///
    /// let data = FormData::from_urlencoded(b"a=1&b=2&a=3");
    /// let fields: Vec<_> = data.iter().collect();
    /// assert_eq!(fields[2], ("a", FieldValue::Text("3")));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, FieldValue<'_>)> {
        self.fields.iter().map(|entry| (&self.text[entry.name.clone()], self.value(entry)))
    }

    fn value<'a>(&'a self, entry: &'a Entry) -> FieldValue<'a> {
        match &entry.value {
            Stored::Text(range) => FieldValue::Text(&self.text[range.clone()]),
            Stored::Json(value) => FieldValue::Json(value),
        }
    }

    /// The fields called `name` from field `start` on, in order. (Names are compared as bytes:
    /// slicing them out as text would check character boundaries on every comparison.)
    fn entries_from<'a, 'n>(&'a self, start: usize, name: &'n str) -> impl Iterator<Item = &'a Entry> + use<'a, 'n> {
        let text = self.text.as_bytes();
        self.fields[start..].iter().filter(move |entry| text.get(entry.name.clone()) == Some(name.as_bytes()))
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
        self.get_all(name).next().map(|value| value.as_text())
    }

    /// Every value of field `name`, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = FieldValue<'a>> + use<'a, 'n> {
        self.entries_from(0, name).map(|entry| self.value(entry))
    }

    /// Whether field `name` was submitted at all.
    pub fn contains(&self, name: &str) -> bool {
        self.entries_from(0, name).next().is_some()
    }

    /// Each distinct field name, in the order of first appearance.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_forms::FormData;
    ///
    /// let data = FormData::from_urlencoded(b"tag=a&name=Ada&tag=b");
    /// assert_eq!(data.names().collect::<Vec<_>>(), ["tag", "name"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.first_fields().map(FieldRef::name)
    }

    /// The first field of each distinct name, in order.
    ///
    /// A usual form's few fields are compared with the ones before them; past
    /// [`SCAN_LIMIT`] fields the names seen go into a set instead, so that a body of a hundred
    /// thousand distinct names (a client may send one) costs linear time, not quadratic.
    pub(crate) fn first_fields(&self) -> impl Iterator<Item = FieldRef<'_>> {
        let text = self.text.as_bytes();
        let mut seen = (self.fields.len() > SCAN_LIMIT).then(|| HashSet::with_capacity(self.fields.len()));
        self.fields.iter().enumerate().filter_map(move |(index, entry)| {
            let name = &text[entry.name.clone()];
            let repeat = match &mut seen {
                Some(seen) => !seen.insert(name),
                None => self.fields[..index].iter().any(|earlier| &text[earlier.name.clone()] == name),
            };
            (!repeat).then_some(FieldRef { data: self, index })
        })
    }

    /// How many values were submitted (a repeated field counts each time).
    pub fn len(&self) -> usize {
        self.fields.len()
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
    fn distinct_names_of_a_large_form_come_in_order_of_first_appearance() {
        // Past the scan limit the names seen go into a set: the same answer as the scan.
        let count = SCAN_LIMIT * 3;
        let body: Vec<String> = (0..count).map(|i| format!("n{}={i}", i % (count / 2))).collect();
        let data = FormData::from_urlencoded(body.join("&").as_bytes());
        let expected: Vec<String> = (0..count / 2).map(|i| format!("n{i}")).collect();
        assert_eq!(data.names().collect::<Vec<_>>(), expected);
        let firsts: Vec<String> = data.first_fields().map(|field| field.first().as_text().into_owned()).collect();
        assert_eq!(firsts, (0..count / 2).map(|i| i.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn names_and_values_share_one_buffer_and_read_back_by_field() {
        let mut data = FormData::from_urlencoded(b"tag=a&name=Ada&tag=b&caf%C3%A9=1");
        data.push_text("late", "x");
        data.push_json("count", serde_json::json!(2));
        assert_eq!(data.names().collect::<Vec<_>>(), ["tag", "name", "café", "late", "count"]);
        assert_eq!(data.get_all("tag").map(|value| value.as_text()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(data.get("count").as_deref(), Some("2"));
        assert_eq!(data.len(), 6);
        assert_eq!(data.get("café").as_deref(), Some("1"));
        assert_eq!(data.get("late").as_deref(), Some("x"));
        // A name that is a prefix of another, or spans two, is no match.
        assert!(!data.contains("ta"));
        assert!(!data.contains("tagname"));
        assert_eq!(
            format!("{data:?}"),
            r#"FormData { fields: [("tag", Text("a")), ("name", Text("Ada")), ("tag", Text("b")), ("café", Text("1")), ("late", Text("x")), ("count", Json(Number(2)))], files: [] }"#
        );
    }
}
