//! [`Message`]: what to send, Flask-Mail's `Message`; [`Email`]: the same, checked and
//! rendered to the bytes and envelope a transport delivers.

use std::fmt;
use std::time::SystemTime;

use lettre::Address;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

use crate::error::MailError;

/// An e-mail to send: Flask-Mail's `Message`, as a builder.
///
/// Nothing is checked until the message is sent (or [`prepare`](Self::prepare)d): then a CR
/// or LF in the subject, an address, an extra header or a file name is a
/// [`MailError::BadHeader`], and a malformed address a [`MailError::InvalidAddress`], before
/// any byte goes out. Bcc recipients are in the SMTP envelope only, never in a header.
///
/// # Examples
///
/// ```
/// use phial_mail::{Attachment, Message};
///
/// let message = Message::new("Your report")
///     .sender_named("Reports", "reports@example.com")
///     .to("ada@example.com")
///     .bcc("audit@example.com")
///     .body("The report is attached.")
///     .html("<p>The report is <b>attached</b>.</p>")
///     .attach(Attachment::new("report.csv", b"day,visits\n1,10\n".to_vec()));
/// let email = message.prepare(None, false)?;
/// assert_eq!(email.to(), ["ada@example.com", "audit@example.com"]);
/// assert!(email.header("Bcc").is_none());
/// # Ok::<(), phial_mail::MailError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Message {
    subject: String,
    sender: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Option<String>,
    body: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
    headers: Vec<(String, String)>,
    date: Option<SystemTime>,
    charset: Option<String>,
    id: Option<String>,
}

impl Message {
    /// A message with this subject.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hello").to("ada@example.com").body("Hi!");
    /// # let _ = message;
    /// ```
    pub fn new(subject: impl Into<String>) -> Self {
        Self { subject: subject.into(), ..Self::default() }
    }

    /// The sender, `"addr@host"` or `"Name <addr@host>"` (default: `mail.default_sender`).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").sender("Ada <ada@example.com>");
    /// # let _ = message;
    /// ```
    pub fn sender(mut self, sender: impl Into<String>) -> Self {
        self.sender = Some(sender.into());
        self
    }

    /// The sender as a name and an address (Flask-Mail's `sender=("Name", "addr")`).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").sender_named("Ada Lovelace", "ada@example.com");
    /// # let _ = message;
    /// ```
    pub fn sender_named(mut self, name: &str, address: &str) -> Self {
        self.sender = Some(format!("{} <{address}>", quote_name(name)));
        self
    }

    /// Adds a recipient (Flask-Mail's `add_recipient`).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").to("ada@example.com").to("Bob <bob@example.com>");
    /// # let _ = message;
    /// ```
    pub fn to(mut self, recipient: impl Into<String>) -> Self {
        self.to.push(recipient.into());
        self
    }

    /// Adds several recipients (Flask-Mail's `recipients=[...]`).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").recipients(["ada@example.com", "bob@example.com"]);
    /// # let _ = message;
    /// ```
    pub fn recipients<I: IntoIterator<Item = S>, S: Into<String>>(mut self, recipients: I) -> Self {
        self.to.extend(recipients.into_iter().map(Into::into));
        self
    }

    /// Adds a carbon-copy recipient (a `Cc` header and the envelope).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").to("ada@example.com").cc("bob@example.com");
    /// # let _ = message;
    /// ```
    pub fn cc(mut self, recipient: impl Into<String>) -> Self {
        self.cc.push(recipient.into());
        self
    }

    /// Adds a blind-copy recipient: in the SMTP envelope only, never in a header.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").to("ada@example.com").bcc("audit@example.com");
    /// # let _ = message;
    /// ```
    pub fn bcc(mut self, recipient: impl Into<String>) -> Self {
        self.bcc.push(recipient.into());
        self
    }

    /// The `Reply-To` address.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").reply_to("support@example.com");
    /// # let _ = message;
    /// ```
    pub fn reply_to(mut self, address: impl Into<String>) -> Self {
        self.reply_to = Some(address.into());
        self
    }

    /// The plain-text body.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").body("Hello, Ada.");
    /// # let _ = message;
    /// ```
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(text.into());
        self
    }

    /// The HTML body; with a text body too, the message is `multipart/alternative`.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").body("Hello").html("<p>Hello</p>");
    /// # let _ = message;
    /// ```
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Adds an attachment (Flask-Mail's `attach`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_mail::{Attachment, Message};
    /// let message = Message::new("Hi").attach(Attachment::new("notes.txt", b"notes".to_vec()));
    /// # let _ = message;
    /// ```
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Adds a header (Flask-Mail's `extra_headers`). Its name and value are checked like every
    /// other header: a CR or LF is a [`MailError::BadHeader`], and so is a `Bcc` header.
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").header("X-Campaign", "spring");
    /// # let _ = message;
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `Date` header (default: when the message is prepared).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").date(std::time::SystemTime::UNIX_EPOCH);
    /// # let _ = message;
    /// ```
    pub fn date(mut self, date: SystemTime) -> Self {
        self.date = Some(date);
        self
    }

    /// The charset of the bodies. phial writes UTF-8 (Flask-Mail's default); `utf-8` and
    /// `us-ascii` (for bodies that are ASCII) are accepted, others are a
    /// [`MailError::Message`].
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").charset("utf-8");
    /// # let _ = message;
    /// ```
    pub fn charset(mut self, charset: impl Into<String>) -> Self {
        self.charset = Some(charset.into());
        self
    }

    /// The `Message-ID` (default: a random one at the sender's domain, with no host name
    /// lookup, unlike Python's `make_msgid`).
    ///
    /// # Examples
    ///
    /// ```
    /// let message = phial_mail::Message::new("Hi").message_id("<welcome-42@example.com>");
    /// # let _ = message;
    /// ```
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The subject.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_mail::Message::new("Hi").subject(), "Hi");
    /// ```
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Checks the message and renders it: the envelope and the bytes a transport sends.
    /// `default_sender` stands in when the message has none; `ascii_attachments` turns file
    /// names into ASCII (Flask-Mail's `MAIL_ASCII_ATTACHMENTS`).
    ///
    /// # Errors
    ///
    /// [`MailError::BadHeader`] (CR/LF in a header), [`MailError::InvalidAddress`],
    /// [`MailError::NoSender`], [`MailError::NoRecipients`], [`MailError::Message`].
    ///
    /// # Examples
    ///
    /// ```
    /// let email = phial_mail::Message::new("Hi").to("ada@example.com").body("Hello")
    ///     .prepare(Some("app@example.com"), false)?;
    /// assert_eq!(email.from(), "app@example.com");
    /// assert!(email.message_id().ends_with("@example.com>"));
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn prepare(&self, default_sender: Option<&str>, ascii_attachments: bool) -> Result<Email, MailError> {
        self.check_headers()?;
        let sender = self.sender.as_deref().or(default_sender).ok_or(MailError::NoSender)?;
        let from = parse_mailbox("sender", sender)?;
        let to = parse_all("to", &self.to)?;
        let cc = parse_all("cc", &self.cc)?;
        let bcc = parse_all("bcc", &self.bcc)?;
        let mut rcpt: Vec<Address> = Vec::new();
        for mailbox in to.iter().chain(&cc).chain(&bcc) {
            if !rcpt.contains(&mailbox.email) {
                rcpt.push(mailbox.email.clone());
            }
        }
        if rcpt.is_empty() {
            return Err(MailError::NoRecipients);
        }
        let envelope =
            Envelope::new(Some(from.email.clone()), rcpt.clone()).map_err(|err| MailError::Message(err.to_string()))?;
        let message_id =
            self.id.clone().unwrap_or_else(|| format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain()));
        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .subject(self.subject.clone())
            .date(self.date.unwrap_or_else(SystemTime::now))
            .message_id(Some(message_id.clone()))
            .envelope(envelope);
        for mailbox in to {
            builder = builder.to(mailbox);
        }
        for mailbox in cc {
            builder = builder.cc(mailbox);
        }
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(parse_mailbox("reply_to", reply_to)?);
        }
        for (name, value) in &self.headers {
            let header =
                HeaderName::new_from_ascii(name.clone()).map_err(|_| bad_header(&format!("extra header {name}")))?;
            builder = builder.raw_header(HeaderValue::new(header, value.clone()));
        }
        let message = builder.multipart_or_single(self.content(ascii_attachments)?)?;
        Ok(Email {
            from: from.email.to_string(),
            to: rcpt.iter().map(ToString::to_string).collect(),
            subject: self.subject.clone(),
            message_id,
            raw: message.formatted(),
        })
    }

    fn check_headers(&self) -> Result<(), MailError> {
        check_value("subject", &self.subject)?;
        for (field, values) in [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)] {
            for value in values {
                check_value(field, value)?;
            }
        }
        for (field, value) in [("sender", &self.sender), ("reply_to", &self.reply_to), ("message_id", &self.id)] {
            if let Some(value) = value {
                check_value(field, value)?;
            }
        }
        for (name, value) in &self.headers {
            let field = format!("extra header {}", name.escape_debug());
            let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if !valid_name || name.eq_ignore_ascii_case("bcc") {
                return Err(MailError::BadHeader { field });
            }
            check_value(&field, value)?;
        }
        for attachment in &self.attachments {
            attachment.check()?;
        }
        Ok(())
    }

    fn content(&self, ascii_attachments: bool) -> Result<Part, MailError> {
        match self.charset.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("utf-8" | "utf8") => {}
            Some("us-ascii" | "ascii") => {
                if !self.body.iter().chain(&self.html).all(|text| text.is_ascii()) {
                    return Err(MailError::Message("charset us-ascii, but a body is not ASCII".to_owned()));
                }
            }
            Some(other) => {
                return Err(MailError::Message(format!("charset {other:?} is not supported; phial writes UTF-8")));
            }
        }
        let text = self.body.clone().map(SinglePart::plain);
        let html = self.html.clone().map(SinglePart::html);
        let mut content = match (text, html) {
            (Some(text), Some(html)) => Part::Multi(MultiPart::alternative().singlepart(text).singlepart(html)),
            (None, Some(html)) => Part::Single(html),
            (Some(text), None) => Part::Single(text),
            (None, None) => Part::Single(SinglePart::plain(String::new())),
        };
        let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) =
            self.attachments.iter().partition(|a| a.content_id.is_some());
        if !inline.is_empty() {
            let mut related = content.into_related();
            for attachment in inline {
                related = related.singlepart(attachment.part(ascii_attachments)?);
            }
            content = Part::Multi(related);
        }
        if !attached.is_empty() {
            let mut mixed = content.into_mixed();
            for attachment in attached {
                mixed = mixed.singlepart(attachment.part(ascii_attachments)?);
            }
            content = Part::Multi(mixed);
        }
        Ok(content)
    }
}

/// A body part being assembled.
enum Part {
    Single(SinglePart),
    Multi(MultiPart),
}

impl Part {
    fn into_related(self) -> MultiPart {
        match self {
            Self::Single(part) => MultiPart::related().singlepart(part),
            Self::Multi(part) => MultiPart::related().multipart(part),
        }
    }

    fn into_mixed(self) -> MultiPart {
        match self {
            Self::Single(part) => MultiPart::mixed().singlepart(part),
            Self::Multi(part) => MultiPart::mixed().multipart(part),
        }
    }
}

trait BuildPart {
    fn multipart_or_single(self, part: Part) -> Result<lettre::Message, MailError>;
}

impl BuildPart for lettre::message::MessageBuilder {
    fn multipart_or_single(self, part: Part) -> Result<lettre::Message, MailError> {
        match part {
            Part::Single(single) => self.singlepart(single),
            Part::Multi(multi) => self.multipart(multi),
        }
        .map_err(|err| MailError::Message(err.to_string()))
    }
}

/// A file attached to a [`Message`]; its content type is guessed from the file name unless
/// given. [`inline`](Self::inline) makes it a part that HTML refers to as `cid:<id>`.
///
/// # Examples
///
/// ```
/// use phial_mail::Attachment;
///
/// let logo = Attachment::new("logo.png", vec![0x89, b'P', b'N', b'G']).inline("logo");
/// assert_eq!(logo.content_type(), "image/png");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Attachment {
    filename: String,
    content_type: String,
    data: Vec<u8>,
    content_id: Option<String>,
}

impl Attachment {
    /// An attachment named `filename` with these bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let report = phial_mail::Attachment::new("report.pdf", Vec::new());
    /// assert_eq!(report.content_type(), "application/pdf");
    /// ```
    pub fn new(filename: impl Into<String>, data: Vec<u8>) -> Self {
        let filename = filename.into();
        let content_type = mime_guess::from_path(&filename).first_or_octet_stream().essence_str().to_owned();
        Self { filename, content_type, data, content_id: None }
    }

    /// Sets the content type (`"text/calendar; method=REQUEST"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let invite = phial_mail::Attachment::new("invite", Vec::new()).with_content_type("text/calendar");
    /// assert_eq!(invite.content_type(), "text/calendar");
    /// ```
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Makes the attachment inline with this `Content-ID` (without angle brackets), for
    /// `<img src="cid:logo">` in the HTML body.
    ///
    /// # Examples
    ///
    /// ```
    /// let logo = phial_mail::Attachment::new("logo.png", Vec::new()).inline("logo");
    /// # let _ = logo;
    /// ```
    pub fn inline(mut self, content_id: impl Into<String>) -> Self {
        self.content_id = Some(content_id.into());
        self
    }

    /// The content type.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_mail::Attachment::new("a.txt", Vec::new()).content_type(), "text/plain");
    /// ```
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    fn check(&self) -> Result<(), MailError> {
        check_value("attachment file name", &self.filename)?;
        check_value("attachment content type", &self.content_type)?;
        if let Some(id) = &self.content_id {
            check_value("attachment content id", id)?;
        }
        Ok(())
    }

    fn part(&self, ascii: bool) -> Result<SinglePart, MailError> {
        let content_type = ContentType::parse(&self.content_type)
            .map_err(|err| MailError::Message(format!("content type {:?}: {err}", self.content_type)))?;
        let filename = if ascii { ascii_filename(&self.filename) } else { self.filename.clone() };
        let attachment = match &self.content_id {
            Some(id) => lettre::message::Attachment::new_inline_with_name(id.clone(), filename),
            None => lettre::message::Attachment::new(filename),
        };
        Ok(attachment.body(self.data.clone(), content_type))
    }
}

/// A message checked and rendered: the envelope and the bytes that go over the wire. What
/// transports deliver, the queue and outbox store, and [recordings](crate::Recording) hold.
///
/// # Examples
///
/// ```
/// let email = phial_mail::Message::new("Hi").to("ada@example.com").body("Hello")
///     .prepare(Some("App <app@example.com>"), false)?;
/// assert_eq!(email.subject(), "Hi");
/// assert_eq!(email.header("To").as_deref(), Some("ada@example.com"));
/// assert!(email.as_text().contains("Hello"));
/// # Ok::<(), phial_mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    from: String,
    to: Vec<String>,
    subject: String,
    message_id: String,
    raw: Vec<u8>,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("message_id", &self.message_id)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

impl Email {
    /// The envelope sender (`MAIL FROM`).
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The envelope recipients (`RCPT TO`): to, cc and bcc, each once.
    pub fn to(&self) -> &[String] {
        &self.to
    }

    /// The subject as given.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The `Message-ID` header, with its angle brackets.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The message as sent (RFC 5322, CRLF line ends).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The message as text (lossy for non-UTF-8 bytes).
    pub fn as_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first top-level header called `name` (case-insensitive), unfolded, as encoded on
    /// the wire.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.as_text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim_start().to_owned());
            }
        }
        found
    }

    /// An email from its stored parts (the outbox keeps these).
    #[cfg(feature = "sql")]
    pub(crate) fn from_parts(from: String, to: Vec<String>, subject: String, message_id: String, raw: Vec<u8>) -> Self {
        Self { from, to, subject, message_id, raw }
    }

    /// The lettre envelope.
    pub(crate) fn envelope(&self) -> Result<Envelope, MailError> {
        let parse = |field: &'static str, value: &str| {
            value.parse::<Address>().map_err(|err| MailError::InvalidAddress {
                field,
                address: value.to_owned(),
                reason: err.to_string(),
            })
        };
        let to = self.to.iter().map(|a| parse("to", a)).collect::<Result<Vec<_>, _>>()?;
        Envelope::new(Some(parse("sender", &self.from)?), to).map_err(|err| MailError::Message(err.to_string()))
    }
}

fn bad_header(field: &str) -> MailError {
    MailError::BadHeader { field: field.to_owned() }
}

fn check_value(field: &str, value: &str) -> Result<(), MailError> {
    if value.contains(['\r', '\n']) { Err(bad_header(field)) } else { Ok(()) }
}

/// Parses `"addr"` or `"Name <addr>"`.
pub(crate) fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, MailError> {
    check_value(field, value)?;
    value.trim().parse::<Mailbox>().map_err(|err| MailError::InvalidAddress {
        field,
        address: value.to_owned(),
        reason: err.to_string(),
    })
}

fn parse_all(field: &'static str, values: &[String]) -> Result<Vec<Mailbox>, MailError> {
    values.iter().map(|value| parse_mailbox(field, value)).collect()
}

/// A display name quoted when it holds characters that would end it.
fn quote_name(name: &str) -> String {
    if name.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '\'') {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A file name in ASCII: accented Latin letters lose their accents, other characters go.
/// Flask-Mail normalises with NFKD and drops what is not ASCII; this folds the common Latin
/// letters the same way without a Unicode table.
fn ascii_filename(name: &str) -> String {
    const FOLDS: [(&str, char); 13] = [
        ("àáâãäåā", 'a'),
        ("çćč", 'c'),
        ("èéêëēę", 'e'),
        ("ìíîïī", 'i'),
        ("ñń", 'n'),
        ("òóôõöøō", 'o'),
        ("ùúûüū", 'u'),
        ("ýÿ", 'y'),
        ("śš", 's'),
        ("źżž", 'z'),
        ("ł", 'l'),
        ("ď", 'd'),
        ("ř", 'r'),
    ];
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let lower = c.to_lowercase().next().unwrap_or(c);
        if let Some((_, base)) = FOLDS.iter().find(|(set, _)| set.contains(lower)) {
            out.push(if c.is_uppercase() { base.to_ascii_uppercase() } else { *base });
        } else if lower == 'ß' {
            out.push_str("ss");
        }
    }
    if out.trim().is_empty() { "attachment".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(message: &Message) -> Result<Email, MailError> {
        message.prepare(Some("App <app@example.com>"), false)
    }

    #[test]
    fn crlf_in_any_header_field_is_a_bad_header() {
        let base = || Message::new("Hi").to("ada@example.com").body("x");
        let cases = [
            Message::new("Hi\r\nBcc: x@example.com").to("ada@example.com"),
            Message::new("Hi\nX: y").to("ada@example.com"),
            base().sender("app@example.com\r\nBcc: x@example.com"),
            base().to("bob@example.com\nBcc: x@example.com"),
            base().cc("bob@example.com\r\n"),
            base().bcc("bob@example.com\r\nX: y"),
            base().reply_to("r@example.com\r\nBcc: x@example.com"),
            base().header("X-Tag", "a\r\nBcc: x@example.com"),
            base().header("X-Tag\r\nBcc", "x@example.com"),
            base().header("Bcc", "x@example.com"),
            base().attach(Attachment::new("a.txt\r\nX: y", Vec::new())),
        ];
        for message in cases {
            assert!(matches!(prepare(&message), Err(MailError::BadHeader { .. })), "{message:?}");
        }
    }

    #[test]
    fn bcc_is_in_the_envelope_only() {
        // The Bcc address's domain is one nothing else in the message uses: the random
        // Message-ID ends in the sender's domain, and `...c@example.com` could appear there.
        let message = Message::new("Hi").to("a@example.com").cc("b@example.com").bcc("hidden@bcc.example.net");
        let email = prepare(&message).unwrap();
        assert_eq!(email.to(), ["a@example.com", "b@example.com", "hidden@bcc.example.net"]);
        assert_eq!(email.header("Cc").as_deref(), Some("b@example.com"));
        assert!(email.header("Bcc").is_none());
        assert!(!email.as_text().contains("bcc.example.net"));
    }

    #[test]
    fn message_id_uses_the_sender_domain() {
        let email = prepare(&Message::new("Hi").to("a@example.org")).unwrap();
        assert!(email.message_id().starts_with('<') && email.message_id().ends_with("@example.com>"));
        assert_eq!(email.header("Message-ID").as_deref(), Some(email.message_id()));
    }

    #[test]
    fn missing_sender_and_recipients_are_errors() {
        assert!(matches!(Message::new("Hi").to("a@example.com").prepare(None, false), Err(MailError::NoSender)));
        assert!(matches!(prepare(&Message::new("Hi")), Err(MailError::NoRecipients)));
        assert!(matches!(prepare(&Message::new("Hi").to("not an address")), Err(MailError::InvalidAddress { .. })));
    }

    #[test]
    fn attachment_types_come_from_file_names() {
        assert_eq!(Attachment::new("a.png", Vec::new()).content_type(), "image/png");
        assert_eq!(Attachment::new("a.csv", Vec::new()).content_type(), "text/csv");
        assert_eq!(Attachment::new("noext", Vec::new()).content_type(), "application/octet-stream");
    }

    #[test]
    fn ascii_file_names_fold_accents() {
        assert_eq!(ascii_filename("Résumé Ünïcode.pdf"), "Resume Unicode.pdf");
        assert_eq!(ascii_filename("日本.txt"), ".txt");
        assert_eq!(ascii_filename("日本"), "attachment");
    }

    #[test]
    fn unsupported_charset_is_refused() {
        assert!(matches!(
            prepare(&Message::new("Hi").to("a@example.com").charset("koi8-r")),
            Err(MailError::Message(_))
        ));
        assert!(prepare(&Message::new("Hi").to("a@example.com").body("plain").charset("US-ASCII")).is_ok());
    }

    #[test]
    fn names_with_specials_are_quoted() {
        let email =
            prepare(&Message::new("Hi").sender_named("Doe, Jane", "jane@example.com").to("a@example.com")).unwrap();
        assert_eq!(email.from(), "jane@example.com");
        // One mailbox whose name lettre encodes (RFC 2047: base64 of "Doe, Jane").
        assert_eq!(email.header("From").as_deref(), Some("=?utf-8?b?RG9lLCBKYW5l?= <jane@example.com>"));
    }
}
