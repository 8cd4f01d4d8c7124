//! [`MailConfig`]: section `[mail]`, Flask-Mail's `MAIL_*` settings and what they lack.

use std::path::PathBuf;
use std::time::Duration;

use phial_core::Secret;
use serde::{Deserialize, Serialize};

use crate::error::MailError;

/// Section `[mail]` of `phial.toml`. Defaults are Flask-Mail's, except the transport: phial
/// writes mail to a folder until told to use SMTP (`transport = "smtp"`, or a `server` set
/// anywhere, as `MAIL_SERVER` is in a Flask app's environment), so a development app sends
/// nothing by accident (DESIGN: embedded defaults).
///
/// Each Flask-Mail key is named beside its field, and the `MAIL_*` variables of the app's
/// environment are read too (below `PHIAL_MAIL__*`, above `phial.toml`), with Flask's
/// spellings of their values (`MAIL_USE_TLS=True` or `1`, an empty `MAIL_USERNAME=` for none),
/// so a Flask app's environment works unchanged.
///
/// ```toml
/// [mail]
/// transport = "smtp"                   # phial: smtp | file | log | memory
/// server = "smtp.example.com"          # MAIL_SERVER
/// port = 587                           # MAIL_PORT
/// use_tls = true                       # MAIL_USE_TLS (STARTTLS)
/// use_ssl = false                      # MAIL_USE_SSL (implicit TLS, port 465)
/// username = "app"                     # MAIL_USERNAME
/// password = "s3cret"                  # MAIL_PASSWORD
/// default_sender = "App <app@example.com>"  # MAIL_DEFAULT_SENDER
/// max_emails = 100                     # MAIL_MAX_EMAILS
/// connect_timeout = 10.0               # phial: seconds
/// timeout = 30.0                       # phial: seconds per SMTP command
/// ```
///
/// # Examples
///
/// ```
/// use phial_mail::{MailConfig, TransportKind};
///
/// let config = MailConfig::default();
/// assert_eq!((config.server.as_str(), config.port), ("localhost", 25));
/// assert_eq!(config.transport, TransportKind::File);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MailConfig {
    /// Where messages go: `smtp`, `file` (one `.eml` per message in [`folder`](Self::folder),
    /// the default unless [`server`](Self::server) is set, which means `smtp`), `log` (tracing
    /// at `info`), `memory` (kept in [`Mail::outbox`](crate::Mail::outbox)). Flask-Mail has
    /// SMTP only.
    pub transport: TransportKind,
    /// `MAIL_SERVER`: the SMTP host. Default `localhost`.
    pub server: String,
    /// `MAIL_PORT`: the SMTP port. Default 25.
    pub port: u16,
    /// `MAIL_USE_TLS`: upgrade the connection with STARTTLS (required, not opportunistic).
    #[serde(deserialize_with = "flask::boolean")]
    pub use_tls: bool,
    /// `MAIL_USE_SSL`: TLS from the first byte (SMTPS, usually port 465).
    #[serde(deserialize_with = "flask::boolean")]
    pub use_ssl: bool,
    /// `MAIL_USERNAME`: log in (AUTH PLAIN or LOGIN) when set (an empty value is unset).
    #[serde(deserialize_with = "flask::text")]
    pub username: Option<String>,
    /// `MAIL_PASSWORD`; never printed.
    #[serde(deserialize_with = "flask::secret")]
    pub password: Option<Secret>,
    /// `MAIL_DEFAULT_SENDER`: `"addr@host"` or `"Name <addr@host>"`, used when a message has no
    /// sender.
    #[serde(deserialize_with = "flask::text")]
    pub default_sender: Option<String>,
    /// `MAIL_MAX_EMAILS`: messages per SMTP connection before it is closed and opened again
    /// (none: no limit).
    #[serde(deserialize_with = "flask::count")]
    pub max_emails: Option<u32>,
    /// `MAIL_SUPPRESS_SEND`: record messages but deliver none. Unset: suppressed in the
    /// `testing` profile, as Flask-Mail follows `app.testing`.
    #[serde(deserialize_with = "flask::optional_boolean")]
    pub suppress_send: Option<bool>,
    /// `MAIL_ASCII_ATTACHMENTS`: turn attachment file names into plain ASCII.
    #[serde(deserialize_with = "flask::boolean")]
    pub ascii_attachments: bool,
    /// phial: seconds to wait for the TCP connection, TLS and greeting. Default 10.
    pub connect_timeout: f64,
    /// phial: seconds each SMTP command may take (the message data included). Default 30.
    pub timeout: f64,
    /// phial: SMTP connections kept open for reuse by [`Mail::send`](crate::Mail::send).
    /// Default 2.
    pub pool_size: usize,
    /// phial: the name sent with `EHLO`. Default `localhost`: no host name lookup.
    pub hello_name: String,
    /// phial: a PEM file of extra root certificates to trust (a private CA, a test server).
    pub root_ca: Option<PathBuf>,
    /// phial: the folder of the `file` transport. Default `mail`.
    pub folder: PathBuf,
    /// phial: the background queue ([`Mail::enqueue`](crate::Mail::enqueue)).
    pub queue: QueueConfig,
    /// phial: the transactional outbox (feature `sql`).
    pub outbox: OutboxConfig,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: TransportKind::File,
            server: "localhost".to_owned(),
            port: 25,
            use_tls: false,
            use_ssl: false,
            username: None,
            password: None,
            default_sender: None,
            max_emails: None,
            suppress_send: None,
            ascii_attachments: false,
            connect_timeout: 10.0,
            timeout: 30.0,
            pool_size: 2,
            hello_name: "localhost".to_owned(),
            root_ca: None,
            folder: PathBuf::from("mail"),
            queue: QueueConfig::default(),
            outbox: OutboxConfig::default(),
        }
    }
}

/// Where messages go. See [`MailConfig::transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TransportKind {
    /// An SMTP server ([`MailConfig::server`]).
    Smtp,
    /// One `.eml` file per message in [`MailConfig::folder`].
    File,
    /// A `tracing` event per message.
    Log,
    /// Kept in memory, read with [`Mail::outbox`](crate::Mail::outbox).
    Memory,
}

/// `[mail.queue]`: the background queue that retries transient failures.
///
/// # Examples
///
/// ```
/// let queue = phial_mail::QueueConfig::default();
/// assert_eq!(queue.max_attempts, 5);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct QueueConfig {
    /// Messages waiting at most; [`Mail::enqueue`](crate::Mail::enqueue) waits for room beyond.
    pub capacity: usize,
    /// Attempts per message (the first one included) before it is reported as failed.
    pub max_attempts: u32,
    /// Seconds before the first retry; doubled for each next one.
    pub backoff: f64,
    /// Seconds the backoff never exceeds.
    pub max_backoff: f64,
    /// Seconds the shutdown hook spends delivering what is queued.
    pub drain_timeout: f64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self { capacity: 1000, max_attempts: 5, backoff: 1.0, max_backoff: 300.0, drain_timeout: 5.0 }
    }
}

/// `[mail.outbox]`: the transactional outbox table and its worker (feature `sql`).
///
/// # Examples
///
/// ```
/// let outbox = phial_mail::OutboxConfig::default();
/// assert_eq!(outbox.table, "phial_mail_outbox");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OutboxConfig {
    /// The table (created at start when missing).
    pub table: String,
    /// The database bind of phial-sql (empty: the default database).
    pub bind: String,
    /// Seconds between polls of the table when no commit woke the worker.
    pub poll_interval: f64,
    /// Rows sent per poll.
    pub batch_size: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { table: "phial_mail_outbox".to_owned(), bind: String::new(), poll_interval: 1.0, batch_size: 50 }
    }
}

impl MailConfig {
    /// The Flask-Mail environment variables this config reads, and the field each sets.
    pub const FLASK_ENV: [(&'static str, &'static str); 10] = [
        ("MAIL_SERVER", "server"),
        ("MAIL_PORT", "port"),
        ("MAIL_USE_TLS", "use_tls"),
        ("MAIL_USE_SSL", "use_ssl"),
        ("MAIL_USERNAME", "username"),
        ("MAIL_PASSWORD", "password"),
        ("MAIL_DEFAULT_SENDER", "default_sender"),
        ("MAIL_MAX_EMAILS", "max_emails"),
        ("MAIL_SUPPRESS_SEND", "suppress_send"),
        ("MAIL_ASCII_ATTACHMENTS", "ascii_attachments"),
    ];

    /// Sets the field of one Flask-Mail variable (`MAIL_PORT=587`, `MAIL_USE_TLS=true`).
    /// Booleans accept `1/0`, `true/false`, `yes/no`, `on/off`. Returns whether `name` is a
    /// Flask-Mail variable.
    ///
    /// # Errors
    ///
    /// [`MailError::Config`] when the value does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = phial_mail::MailConfig::default();
    /// config.apply_flask_var("MAIL_PORT", "587")?;
    /// config.apply_flask_var("MAIL_USE_TLS", "True")?;
    /// assert_eq!((config.port, config.use_tls), (587, true));
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn apply_flask_var(&mut self, name: &str, value: &str) -> Result<bool, MailError> {
        let bad = |what: &str| MailError::Config(format!("{name}={value:?} is not {what}"));
        let value = value.trim();
        let flag = || parse_bool(value).ok_or_else(|| bad("a boolean"));
        let text = || (!value.is_empty()).then(|| value.to_owned());
        match name {
            "MAIL_SERVER" => value.clone_into(&mut self.server),
            "MAIL_PORT" => self.port = value.parse().map_err(|_| bad("a port"))?,
            "MAIL_USE_TLS" => self.use_tls = flag()?,
            "MAIL_USE_SSL" => self.use_ssl = flag()?,
            "MAIL_USERNAME" => self.username = text(),
            "MAIL_PASSWORD" => self.password = text().map(Secret::new),
            "MAIL_DEFAULT_SENDER" => self.default_sender = text(),
            "MAIL_MAX_EMAILS" => {
                self.max_emails = match text() {
                    None => None,
                    Some(n) => Some(n.parse().map_err(|_| bad("a number"))?),
                };
            }
            "MAIL_SUPPRESS_SEND" => self.suppress_send = Some(flag()?),
            "MAIL_ASCII_ATTACHMENTS" => self.ascii_attachments = flag()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks settings that cannot work together.
    ///
    /// # Errors
    ///
    /// [`MailError::Config`] naming the setting.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = phial_mail::MailConfig::default();
    /// config.use_tls = true;
    /// config.use_ssl = true;
    /// assert!(config.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), MailError> {
        if self.use_tls && self.use_ssl {
            return Err(MailError::Config(
                "mail.use_tls (STARTTLS) and mail.use_ssl (implicit TLS) exclude each other; set one".to_owned(),
            ));
        }
        if self.max_emails == Some(0) {
            return Err(MailError::Config("mail.max_emails must be at least 1 (or unset)".to_owned()));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(MailError::Config("mail.username and mail.password go together".to_owned()));
        }
        for (key, seconds) in [
            ("connect_timeout", self.connect_timeout),
            ("timeout", self.timeout),
            ("queue.backoff", self.queue.backoff),
            ("queue.max_backoff", self.queue.max_backoff),
            ("queue.drain_timeout", self.queue.drain_timeout),
            ("outbox.poll_interval", self.outbox.poll_interval),
        ] {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(MailError::Config(format!("mail.{key} must be a positive number of seconds")));
            }
        }
        if let Some(sender) = &self.default_sender {
            crate::message::parse_mailbox("default_sender", sender)?;
        }
        Ok(())
    }

    /// [`connect_timeout`](Self::connect_timeout) as a [`Duration`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_mail::MailConfig::default().connect_timeout_duration().as_secs(), 10);
    /// ```
    #[must_use]
    pub fn connect_timeout_duration(&self) -> Duration {
        seconds(self.connect_timeout)
    }

    /// [`timeout`](Self::timeout) as a [`Duration`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_mail::MailConfig::default().timeout_duration().as_secs(), 30);
    /// ```
    #[must_use]
    pub fn timeout_duration(&self) -> Duration {
        seconds(self.timeout)
    }
}

/// Seconds as a [`Duration`], at least 1 ms (a bad value was refused by `validate`).
pub(crate) fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(1))
}

/// Deserializers that read a field from TOML's types or from the text of a Flask variable
/// (`MAIL_USE_TLS=True`, `MAIL_PORT=587`, `MAIL_USERNAME=` for none), as Flask apps set them.
mod flask {
    use std::fmt;

    use phial_core::Secret;
    use serde::de::{self, Deserializer, Visitor};

    struct Flexible;

    /// What one value turned out to be.
    enum Given {
        Bool(bool),
        Int(i128),
        Text(String),
        Nothing,
    }

    impl<'de> Visitor<'de> for Flexible {
        type Value = Given;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean, a number or text")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Given, E> {
            Ok(Given::Bool(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Given, E> {
            Ok(Given::Int(v.into()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Given, E> {
            Ok(Given::Int(v.into()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Given, E> {
            Ok(Given::Text(v.trim().to_owned()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Given, E> {
            Ok(Given::Nothing)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Given, E> {
            Ok(Given::Nothing)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Given, D::Error> {
            d.deserialize_any(Self)
        }
    }

    fn given<'de, D: Deserializer<'de>>(d: D) -> Result<Given, D::Error> {
        d.deserialize_any(Flexible)
    }

    fn to_bool<E: de::Error>(given: Given) -> Result<Option<bool>, E> {
        match given {
            Given::Bool(b) => Ok(Some(b)),
            Given::Int(0) => Ok(Some(false)),
            Given::Int(1) => Ok(Some(true)),
            Given::Text(text) if text.is_empty() => Ok(None),
            Given::Text(text) => super::parse_bool(&text)
                .map(Some)
                .ok_or_else(|| E::custom(format!("{text:?} is not a boolean (true/false, 1/0, yes/no, on/off)"))),
            Given::Int(n) => Err(E::custom(format!("{n} is not a boolean"))),
            Given::Nothing => Ok(None),
        }
    }

    pub(super) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(to_bool(given(d)?)?.unwrap_or(false))
    }

    pub(super) fn optional_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        to_bool(given(d)?)
    }

    pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match given(d)? {
            Given::Text(text) if text.is_empty() => None,
            Given::Text(text) => Some(text),
            Given::Int(n) => Some(n.to_string()),
            Given::Bool(b) => Some(b.to_string()),
            Given::Nothing => None,
        })
    }

    pub(super) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        text(d).map(|text| text.map(Secret::new))
    }

    pub(super) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match given(d)? {
            Given::Int(n) => u32::try_from(n).map(Some).map_err(|_| de::Error::custom(format!("{n} is not a count"))),
            Given::Text(text) if text.is_empty() => Ok(None),
            Given::Text(text) => {
                text.parse().map(Some).map_err(|_| de::Error::custom(format!("{text:?} is not a count")))
            }
            Given::Nothing => Ok(None),
            Given::Bool(b) => Err(de::Error::custom(format!("{b} is not a count"))),
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_variables_set_their_fields() {
        let mut config = MailConfig::default();
        for (name, value) in [
            ("MAIL_SERVER", "smtp.example.com"),
            ("MAIL_PORT", "465"),
            ("MAIL_USE_SSL", "1"),
            ("MAIL_USERNAME", "app"),
            ("MAIL_PASSWORD", "pw"),
            ("MAIL_DEFAULT_SENDER", "App <app@example.com>"),
            ("MAIL_MAX_EMAILS", "10"),
            ("MAIL_SUPPRESS_SEND", "false"),
            ("MAIL_ASCII_ATTACHMENTS", "on"),
        ] {
            assert!(config.apply_flask_var(name, value).unwrap());
        }
        assert_eq!(config.server, "smtp.example.com");
        assert_eq!(config.port, 465);
        assert!(config.use_ssl && config.ascii_attachments);
        assert_eq!(config.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(config.max_emails, Some(10));
        assert_eq!(config.suppress_send, Some(false));
        assert!(config.validate().is_ok());
        assert!(!config.apply_flask_var("HOME", "/root").unwrap());
    }

    #[test]
    fn bad_flask_values_are_config_errors() {
        let mut config = MailConfig::default();
        assert!(matches!(config.apply_flask_var("MAIL_PORT", "smtp"), Err(MailError::Config(_))));
        assert!(matches!(config.apply_flask_var("MAIL_USE_TLS", "maybe"), Err(MailError::Config(_))));
    }

    #[test]
    fn password_is_masked_in_debug() {
        let config = MailConfig { password: Some(Secret::new("hunter2")), ..MailConfig::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
