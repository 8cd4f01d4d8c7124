//! Uploaded files: what a multipart form carried, and Flask-WTF's file checks, with content
//! sniffing on top.

use bytes::Bytes;

/// A file from a multipart form.
///
/// Its size is bounded by the app's body limit (`app.body_limit`, Flask's
/// `MAX_CONTENT_LENGTH`): a larger body is refused with 413 while it is being read.
///
/// # Examples
///
/// ```
/// use phial_forms::UploadedFile;
///
/// let file = UploadedFile::new("avatar", "../../etc/My Photo.JPG", Some("image/jpeg"), &b"\xff\xd8\xff\xe0"[..]);
/// assert_eq!(file.safe_filename(), "etc_My_Photo.JPG");
/// assert_eq!(file.extension().as_deref(), Some("jpg"));
/// assert_eq!(file.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedFile {
    field: String,
    filename: String,
    content_type: Option<String>,
    data: Bytes,
}

impl UploadedFile {
    /// A file as field `field` sent it.
    pub fn new(
        field: impl Into<String>,
        filename: impl Into<String>,
        content_type: Option<&str>,
        data: impl Into<Bytes>,
    ) -> Self {
        Self {
            field: field.into(),
            filename: filename.into(),
            content_type: content_type.map(str::to_owned),
            data: data.into(),
        }
    }

    /// The form field it came in.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The file name as the client sent it: never use it as a path; see
    /// [`safe_filename`](Self::safe_filename).
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file name made safe to store: Werkzeug's `secure_filename`.
    pub fn safe_filename(&self) -> String {
        secure_filename(&self.filename)
    }

    /// The lower-case extension of the file name, without the dot.
    pub fn extension(&self) -> Option<String> {
        let name = self.filename.rsplit(['/', '\\']).next().unwrap_or_default();
        let (stem, extension) = name.rsplit_once('.')?;
        (!stem.is_empty() && !extension.is_empty()).then(|| extension.to_ascii_lowercase())
    }

    /// The content type the client claimed (not checked; see [`FileAllowed`]).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The content.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the file is empty (a file input left empty sends an empty, nameless part).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// A file name safe to store: Werkzeug's `secure_filename`. Path separators become spaces,
/// runs of whitespace one `_`, characters other than ASCII letters, digits, `_`, `.` and `-`
/// are dropped, leading and trailing `.` and `_` too, and Windows device names get a `_` in
/// front. The result may be empty: pick a name yourself then.
///
/// # Examples
///
/// ```
/// use phial_forms::secure_filename;
///
/// assert_eq!(secure_filename("My cool movie.mov"), "My_cool_movie.mov");
/// assert_eq!(secure_filename("../../../etc/passwd"), "etc_passwd");
/// assert_eq!(secure_filename("i contain cool \u{fc}ml\u{e4}uts.txt"), "i_contain_cool_mluts.txt");
/// assert_eq!(secure_filename("CON.txt"), "_CON.txt");
/// assert_eq!(secure_filename("..."), "");
/// ```
pub fn secure_filename(name: &str) -> String {
    const DEVICES: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1",
        "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];

    let spaced: String = name.chars().map(|c| if c == '/' || c == '\\' { ' ' } else { c }).collect();
    let joined = spaced.split_whitespace().collect::<Vec<_>>().join("_");
    let kept: String = joined.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
    let trimmed = kept.trim_matches(['.', '_']).to_owned();
    let stem = trimmed.split('.').next().unwrap_or_default();
    if DEVICES.iter().any(|device| device.eq_ignore_ascii_case(stem)) { format!("_{trimmed}") } else { trimmed }
}

/// A check on a file field: Flask-WTF's `FileRequired`, `FileAllowed`, `FileSize`.
pub trait FileCheck: Send + Sync {
    /// `Ok` when `file` passes, else the message. `None`: the field sent no file.
    ///
    /// # Errors
    ///
    /// The message to show for the field.
    fn check(&self, file: Option<&UploadedFile>) -> Result<(), String>;

    /// Whether a failure stops the field's later checks (WTForms' `StopValidation`).
    fn stops(&self) -> bool {
        false
    }
}

/// A file must be sent: "This field is required."
#[derive(Debug, Clone, Default)]
pub struct FileRequired {
    message: Option<String>,
}

impl FileRequired {
    /// The check with Flask-WTF's message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The check with `message` instead.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl FileCheck for FileRequired {
    fn check(&self, file: Option<&UploadedFile>) -> Result<(), String> {
        match file {
            Some(file) if !file.filename().is_empty() => Ok(()),
            _ => Err(self.message.clone().unwrap_or_else(|| "This field is required.".into())),
        }
    }

    fn stops(&self) -> bool {
        true
    }
}

/// The file name must have one of the extensions (case-insensitive) **and** the content must
/// look like it: for the types whose signature this crate knows (`jpg`/`jpeg`, `png`, `gif`,
/// `webp`, `pdf`, `zip`, `txt`, `csv`), the first bytes must match, so `evil.JPG` holding HTML is
/// refused. Other extensions are checked by name only.
///
/// # Examples
///
/// ```
/// use phial_forms::{FileAllowed, FileCheck, UploadedFile};
///
/// let images = FileAllowed::new(["jpg", "png"]);
/// let photo = UploadedFile::new("f", "cat.JPG", None, &b"\xff\xd8\xff\xe0rest"[..]);
/// assert!(images.check(Some(&photo)).is_ok());
/// let disguised = UploadedFile::new("f", "evil.JPG", None, &b"<html><script>alert(1)</script>"[..]);
/// assert_eq!(images.check(Some(&disguised)).unwrap_err(), "File content does not match its extension.");
/// let script = UploadedFile::new("f", "x.svg", None, &b"<svg/>"[..]);
/// assert_eq!(images.check(Some(&script)).unwrap_err(), "File does not have an approved extension: jpg, png");
/// ```
#[derive(Debug, Clone)]
pub struct FileAllowed {
    extensions: Vec<String>,
    message: Option<String>,
}

impl FileAllowed {
    /// Files with one of `extensions` (without the dot).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(extensions: I) -> Self {
        Self { extensions: extensions.into_iter().map(|e| e.into().to_ascii_lowercase()).collect(), message: None }
    }

    /// The check with `message` instead of Flask-WTF's.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl FileCheck for FileAllowed {
    fn check(&self, file: Option<&UploadedFile>) -> Result<(), String> {
        let Some(file) = file.filter(|file| !file.filename().is_empty()) else { return Ok(()) };
        let extension = file.extension().unwrap_or_default();
        if !self.extensions.contains(&extension) {
            return Err(self.message.clone().unwrap_or_else(|| {
                format!("File does not have an approved extension: {}", self.extensions.join(", "))
            }));
        }
        if content_matches(&extension, file.bytes()) {
            Ok(())
        } else {
            Err(self.message.clone().unwrap_or_else(|| "File content does not match its extension.".into()))
        }
    }

    fn stops(&self) -> bool {
        true
    }
}

/// Whether `data` starts the way files with `extension` do; unknown extensions pass.
fn content_matches(extension: &str, data: &[u8]) -> bool {
    match extension {
        "jpg" | "jpeg" => data.starts_with(b"\xff\xd8\xff"),
        "png" => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        "gif" => data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a"),
        "webp" => data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP",
        "pdf" => data.starts_with(b"%PDF-"),
        "zip" => data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06"),
        "txt" | "csv" => std::str::from_utf8(data).is_ok_and(|text| !text.contains('\0') && !looks_like_markup(text)),
        _ => true,
    }
}

/// Text that a browser could sniff as HTML.
fn looks_like_markup(text: &str) -> bool {
    let start = text.trim_start().get(..16).unwrap_or(text.trim_start()).to_ascii_lowercase();
    ["<!doctype", "<html", "<script", "<svg", "<?xml", "<body", "<iframe"].iter().any(|tag| start.starts_with(tag))
}

/// The file's size must be within `min..=max` bytes: "File must be between 0 and 10 bytes."
///
/// # Examples
///
/// ```
/// use phial_forms::{FileCheck, FileSize, UploadedFile};
///
/// let small = FileSize::new(10);
/// let file = UploadedFile::new("f", "a.txt", None, &b"eleven byte"[..]);
/// assert_eq!(small.check(Some(&file)).unwrap_err(), "File must be between 0 and 10 bytes.");
/// ```
#[derive(Debug, Clone)]
pub struct FileSize {
    min: u64,
    max: u64,
    message: Option<String>,
}

impl FileSize {
    /// At most `max` bytes.
    pub fn new(max: u64) -> Self {
        Self { min: 0, max, message: None }
    }

    /// At least `min` bytes as well.
    #[must_use]
    pub fn min(mut self, min: u64) -> Self {
        self.min = min;
        self
    }

    /// The check with `message` instead of Flask-WTF's.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl FileCheck for FileSize {
    fn check(&self, file: Option<&UploadedFile>) -> Result<(), String> {
        let Some(file) = file.filter(|file| !file.filename().is_empty()) else { return Ok(()) };
        let size = file.len() as u64;
        if (self.min..=self.max).contains(&size) {
            Ok(())
        } else {
            Err(self
                .message
                .clone()
                .unwrap_or_else(|| format!("File must be between {} and {} bytes.", self.min, self.max)))
        }
    }
}
