//! [`MailError`]: everything that can go wrong composing or delivering mail.

use phial_core::HttpError;
use phial_core::axum::http::StatusCode;

/// An error of phial-mail, with the HTTP status a handler that returns it answers.
///
/// [`is_transient`](Self::is_transient) tells the queue which failures are worth another
/// attempt: 4xx replies, connection loss and timeouts.
///
/// # Examples
///
/// ```
/// use phial_mail::{MailError, Message};
///
/// let err = Message::new("Hi\r\nBcc: victim@example.com").to("a@example.com").body("x")
///     .prepare(Some("app@example.com"), false)
///     .unwrap_err();
/// assert!(matches!(err, MailError::BadHeader { .. }));
/// assert_eq!(err.status().as_u16(), 400);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A CR or LF in a header value (subject, address, extra header, file name): Flask-Mail's
    /// `BadHeaderError`. Nothing was sent.
    #[error("bad header in {field}: header values may not contain CR or LF")]
    BadHeader {
        /// The field: `subject`, `to`, `extra header X-Tag`, ...
        field: String,
    },
    /// An address that does not parse.
    #[error("invalid address in {field}: {address:?} ({reason})")]
    InvalidAddress {
        /// The field: `sender`, `to`, `cc`, `bcc`, `reply_to`, `default_sender`.
        field: &'static str,
        /// The address as given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// Neither the message nor `mail.default_sender` names a sender.
    #[error("the message has no sender: set one, or mail.default_sender (MAIL_DEFAULT_SENDER)")]
    NoSender,
    /// No recipient in `to`, `cc` or `bcc`.
    #[error("the message has no recipients")]
    NoRecipients,
    /// A message that cannot be built (an unknown charset, a bad content type, ...).
    #[error("invalid message: {0}")]
    Message(String),
    /// The SMTP server refused (a 4xx reply is transient, a 5xx one permanent).
    #[error("the SMTP server replied {code}: {message}")]
    Rejected {
        /// The reply code.
        code: u16,
        /// The reply text.
        message: String,
    },
    /// The connection failed or was lost.
    #[error("SMTP connection failed: {0}")]
    Connection(String),
    /// A step took longer than its timeout.
    #[error("SMTP {stage} timed out after {seconds}s")]
    Timeout {
        /// `connect`, `command`, ...
        stage: &'static str,
        /// The timeout.
        seconds: f64,
    },
    /// TLS could not be set up (certificate, protocol).
    #[error("TLS with the SMTP server failed: {0}")]
    Tls(String),
    /// A body template failed to render (feature `templates`).
    #[error("mail template: {0}")]
    Template(String),
    /// Writing a message file (transport `file`) failed.
    #[error("writing the message failed: {0}")]
    Io(#[from] std::io::Error),
    /// Settings that cannot work.
    #[error("mail config: {0}")]
    Config(String),
    /// The background queue is stopped.
    #[error("the mail queue is stopped")]
    QueueClosed,
    /// The outbox table could not be read or written (feature `sql`).
    #[cfg(feature = "sql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
    #[error("mail outbox: {0}")]
    Sql(#[from] phial_sql::SqlError),
}

impl MailError {
    /// Whether another attempt later may succeed: a 4xx reply, a lost or refused connection,
    /// a timeout. Permanent failures (5xx replies, bad messages, TLS and config errors) are not.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_mail::MailError;
    ///
    /// assert!(MailError::Rejected { code: 451, message: "try later".into() }.is_transient());
    /// assert!(!MailError::Rejected { code: 550, message: "no such user".into() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rejected { code, .. } => (400..500).contains(code),
            Self::Connection(_) | Self::Timeout { .. } | Self::Io(_) => true,
            #[cfg(feature = "sql")]
            Self::Sql(_) => true,
            _ => false,
        }
    }

    /// The HTTP status of a handler that fails with this error: 400 for a message built from
    /// bad input, 502 for a refusal, 503 when the server is unreachable, 504 on a timeout,
    /// 500 otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_mail::MailError;
    ///
    /// assert_eq!(MailError::Connection("refused".into()).status().as_u16(), 503);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadHeader { .. } | Self::InvalidAddress { .. } | Self::NoRecipients => StatusCode::BAD_REQUEST,
            Self::Rejected { .. } => StatusCode::BAD_GATEWAY,
            Self::Connection(_) | Self::QueueClosed => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            #[cfg(feature = "sql")]
            Self::Sql(err) => err.status(),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// From a lettre SMTP error: replies keep their code; the rest is a connection or TLS
    /// failure.
    pub(crate) fn from_smtp(err: &lettre::transport::smtp::Error) -> Self {
        if let Some(code) = err.status() {
            let code = u16::from(code.severity as u8) * 100
                + u16::from(code.category as u8) * 10
                + u16::from(code.detail as u8);
            return Self::Rejected { code, message: err.to_string() };
        }
        if err.is_tls() {
            return Self::Tls(error_chain(err));
        }
        Self::Connection(error_chain(err))
    }
}

/// An error with its sources, for messages that name the root cause.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    phial_core::error::error_chain(err, ": ")
}

impl From<MailError> for HttpError {
    fn from(err: MailError) -> Self {
        let status = err.status();
        if status.is_client_error() {
            HttpError::new(status, err.to_string())
        } else {
            // Server-side details (hosts, replies) are logged, never shown to the client.
            tracing::error!(error = %err, "mail failed");
            HttpError::status_only(status).with_source(err)
        }
    }
}
