//! [`Multipart`]: `multipart/form-data` bodies for test requests.

use bytes::Bytes;

#[cfg(doc)]
use super::TestRequest;

/// A `multipart/form-data` body for [`TestRequest::multipart`], as an HTML form with file
/// inputs would send it.
///
/// The boundary is chosen so that it does not occur in any part, and is stable from run to
/// run.
///
/// # Examples
///
/// ```
/// use phial_core::testing::Multipart;
///
/// let form = Multipart::new()
///     .text("caption", "a cat")
///     .file("image", "cat.jpg", "image/jpeg", b"\xff\xd8\xff".to_vec());
/// # let _ = form;
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Multipart {
    parts: Vec<MultipartPart>,
}

#[derive(Clone, Debug)]
struct MultipartPart {
    name: String,
    /// File name and content type, for file parts.
    file: Option<(String, String)>,
    data: Bytes,
}

impl Multipart {
    /// Creates an empty form.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::testing::Multipart;
    ///
    /// let form = Multipart::new().text("name", "value");
    /// # let _ = form;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::testing::Multipart;
    ///
    /// let form = Multipart::new().text("title", "Holiday").text("tags", "sea");
    /// # let _ = form;
    /// ```
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let data = Bytes::from(value.into());
        self.parts.push(MultipartPart { name: name.into(), file: None, data });
        self
    }

    /// Adds a file field with its file name and content type.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::testing::Multipart;
    ///
    /// let form = Multipart::new().file("report", "q1.csv", "text/csv", "a,b\n1,2\n");
    /// # let _ = form;
    /// ```
    pub fn file(
        mut self,
        name: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        let file = Some((filename.into(), content_type.into()));
        self.parts.push(MultipartPart { name: name.into(), file, data: bytes.into() });
        self
    }

    /// Returns the boundary and the encoded body.
    pub(super) fn encode(self) -> (String, Vec<u8>) {
        // Parts are few and small in tests, so a linear scan per candidate is cheap.
        let boundary = (0..=u32::MAX)
            .map(|n| format!("phial-test-boundary-{n:08x}"))
            .find(|b| !self.parts.iter().any(|p| contains(&p.data, b.as_bytes())))
            .unwrap_or_else(|| "phial-test-boundary".to_owned());
        let mut body = Vec::new();
        for part in &self.parts {
            let file_headers = part.file.as_ref().map_or_else(String::new, |(filename, content_type)| {
                format!("; filename=\"{}\"\r\nContent-Type: {content_type}", escape_form_name(filename))
            });
            let head = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"{file_headers}\r\n\r\n",
                escape_form_name(&part.name)
            );
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(&part.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (boundary, body)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Escapes a field or file name the way browsers do in `Content-Disposition`.
fn escape_form_name(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}
