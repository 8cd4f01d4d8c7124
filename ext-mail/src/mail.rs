//! [`Mail`]: the handle handlers send with, Flask-Mail's `mail` object; [`Recording`]: the
//! messages sent while it lives, Flask-Mail's `record_messages()`.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use crate::config::MailConfig;
use crate::error::MailError;
use crate::message::{Email, Message};
use crate::queue::{Queue, QueueCounts};
use crate::transport::Transport;

/// Sends mail: a cheap-to-clone handle on the configured transport, the background queue and
/// the test recorders.
///
/// In a phial app, [`MailExtension`](crate::MailExtension) registers it and handlers take it
/// as an extractor. In a bare axum app, build it with [`Mail::new`] and put it in the router
/// state (any state `S` with `Mail: FromRef<S>` works).
///
/// # Examples
///
/// ```
/// use phial_mail::{Mail, MailConfig, Message, TransportKind};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
/// let mut config = MailConfig::default();
/// config.transport = TransportKind::Memory;
/// config.default_sender = Some("App <app@example.com>".into());
/// let mail = Mail::new(config)?;
///
/// mail.send(Message::new("Welcome").to("ada@example.com").body("Hello, Ada.")).await?;
/// assert_eq!(mail.outbox()[0].subject(), "Welcome");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Mail(Arc<MailInner>);

struct MailInner {
    config: MailConfig,
    dispatch: Arc<Dispatch>,
    queue: OnceLock<Queue>,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("transport", &self.0.config.transport)
            .field("server", &self.0.config.server)
            .field("suppress_send", &self.0.dispatch.suppress)
            .finish_non_exhaustive()
    }
}

impl Mail {
    /// A handle for `config`; nothing connects until the first message. Sending is
    /// suppressed only when `config.suppress_send` is `Some(true)` (the extension also
    /// suppresses in the `testing` profile, as Flask-Mail follows `app.testing`).
    ///
    /// # Errors
    ///
    /// [`MailError::Config`] for settings that cannot work (see [`MailConfig::validate`]), or
    /// an unreadable `root_ca`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// # let _ = mail;
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn new(config: MailConfig) -> Result<Self, MailError> {
        config.validate()?;
        let transport = Transport::from_config(&config)?;
        let dispatch =
            Dispatch { transport, suppress: config.suppress_send == Some(true), recorders: Mutex::default() };
        Ok(Self(Arc::new(MailInner { config, dispatch: Arc::new(dispatch), queue: OnceLock::new() })))
    }

    /// The config in use.
    ///
    /// # Examples
    ///
    /// ```
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// assert_eq!(mail.config().port, 25);
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn config(&self) -> &MailConfig {
        &self.0.config
    }

    /// Whether messages are recorded but not delivered (`MAIL_SUPPRESS_SEND`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// assert!(!mail.is_suppressed());
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn is_suppressed(&self) -> bool {
        self.0.dispatch.suppress
    }

    /// Checks and renders a message with this app's defaults (`default_sender`,
    /// `ascii_attachments`).
    ///
    /// # Errors
    ///
    /// As [`Message::prepare`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let mut config = phial_mail::MailConfig::default();
    /// # config.default_sender = Some("app@example.com".into());
    /// let mail = phial_mail::Mail::new(config)?;
    /// let email = mail.prepare(&phial_mail::Message::new("Hi").to("ada@example.com"))?;
    /// assert_eq!(email.from(), "app@example.com");
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn prepare(&self, message: &Message) -> Result<Email, MailError> {
        message.prepare(self.0.config.default_sender.as_deref(), self.0.config.ascii_attachments)
    }

    /// Sends a message now (Flask-Mail's `mail.send`), on a pooled SMTP session. Every step
    /// is bounded by `connect_timeout` / `timeout`.
    ///
    /// # Errors
    ///
    /// A bad message ([`MailError::BadHeader`], ...) before anything is sent; a refusal,
    /// connection failure or timeout from the server.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Memory;
    /// let mail = Mail::new(config)?;
    /// mail.send(Message::new("Hi").sender("app@example.com").to("ada@example.com")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        let email = self.prepare(&message)?;
        self.send_email(&email).await
    }

    /// Sends an already prepared message now.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), without the message checks.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Memory;
    /// let mail = Mail::new(config)?;
    /// let email = Message::new("Hi").to("ada@example.com").prepare(Some("app@example.com"), false)?;
    /// mail.send_email(&email).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_email(&self, email: &Email) -> Result<(), MailError> {
        self.0.dispatch.deliver(email).await
    }

    /// Sends messages in order over one SMTP session, opening a new session every
    /// `max_emails` messages (Flask-Mail's `with mail.connect() as conn` loop). Every message
    /// is checked first, so a bad one means none is sent. Delivery stops at the first failure;
    /// the messages before it were delivered.
    ///
    /// # Errors
    ///
    /// The first bad message, or the first delivery failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Memory;
    /// let mail = Mail::new(config)?;
    /// let news = ["ada@example.com", "bob@example.com"]
    ///     .map(|to| Message::new("News").sender("news@example.com").to(to).body("..."));
    /// mail.send_many(news).await?;
    /// assert_eq!(mail.outbox().len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn send_many(&self, messages: impl IntoIterator<Item = Message>) -> Result<(), MailError> {
        let emails = messages.into_iter().map(|message| self.prepare(&message)).collect::<Result<Vec<_>, _>>()?;
        self.0.dispatch.deliver_many(&emails).await
    }

    /// Queues a message for the background worker, which retries transient failures (4xx
    /// replies, lost connections, timeouts) with exponential backoff (`[mail.queue]`) and
    /// reports permanent ones (5xx) in the log and [`queue_counts`](Self::queue_counts).
    /// Waits while the queue is full.
    ///
    /// # Errors
    ///
    /// A bad message at once (nothing is queued); [`MailError::QueueClosed`] after
    /// [`shutdown`](Self::shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Memory;
    /// let mail = Mail::new(config)?;
    /// mail.enqueue(Message::new("Hi").sender("app@example.com").to("ada@example.com")).await?;
    /// mail.shutdown().await; // delivers what is queued, within queue.drain_timeout
    /// assert_eq!(mail.outbox().len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn enqueue(&self, message: Message) -> Result<(), MailError> {
        let email = self.prepare(&message)?;
        self.enqueue_email(email).await
    }

    /// Queues an already prepared message (see [`enqueue`](Self::enqueue)).
    ///
    /// # Errors
    ///
    /// [`MailError::QueueClosed`] after [`shutdown`](Self::shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Memory;
    /// let mail = Mail::new(config)?;
    /// let email = mail.prepare(&Message::new("Hi").sender("app@example.com").to("ada@example.com"))?;
    /// mail.enqueue_email(email).await?;
    /// # Ok(()) }
    /// ```
    pub async fn enqueue_email(&self, email: Email) -> Result<(), MailError> {
        let queue =
            self.0.queue.get_or_init(|| Queue::start(Arc::clone(&self.0.dispatch), self.0.config.queue.clone()));
        queue.push(email).await
    }

    /// What the queue has done so far.
    ///
    /// # Examples
    ///
    /// ```
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// assert_eq!(mail.queue_counts().sent, 0);
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn queue_counts(&self) -> QueueCounts {
        self.0.queue.get().map(Queue::counts).unwrap_or_default()
    }

    /// Stops the queue, delivering what it holds within `queue.drain_timeout` (what is left
    /// is logged with its Message-IDs), then ends idle SMTP sessions. The extension's shutdown
    /// hook calls it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// mail.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) {
        if let Some(queue) = self.0.queue.get() {
            queue.shutdown().await;
        }
        self.0.dispatch.transport.close().await;
    }

    /// Records every message this handle delivers (or suppresses) while the returned
    /// [`Recording`] lives, whatever the transport: Flask-Mail's `record_messages()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_mail::{Mail, MailConfig, Message, TransportKind};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = MailConfig::default();
    /// # config.transport = TransportKind::Log;
    /// let mail = Mail::new(config)?;
    /// let outbox = mail.record_messages();
    /// mail.send(Message::new("Hi").sender("app@example.com").to("ada@example.com")).await?;
    /// assert_eq!(outbox.len(), 1);
    /// assert_eq!(outbox.emails()[0].subject(), "Hi");
    /// # Ok(()) }
    /// ```
    pub fn record_messages(&self) -> Recording {
        let recording = Recording { emails: Arc::default() };
        let mut recorders = self.0.dispatch.recorders.lock().unwrap_or_else(PoisonError::into_inner);
        recorders.retain(|weak| weak.strong_count() > 0);
        recorders.push(Arc::downgrade(&recording.emails));
        recording
    }

    /// The messages kept by the `memory` transport (empty for the others).
    ///
    /// # Examples
    ///
    /// ```
    /// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
    /// assert!(mail.outbox().is_empty());
    /// # Ok::<(), phial_mail::MailError>(())
    /// ```
    pub fn outbox(&self) -> Vec<Email> {
        self.0
            .dispatch
            .transport
            .memory()
            .map(|outbox| outbox.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .unwrap_or_default()
    }

    /// Whether the transport can deliver: an SMTP `NOOP` (on a pooled session or a new one),
    /// a writable folder. What `/readyz` and `check` report.
    ///
    /// # Errors
    ///
    /// Why the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_mail::MailError> {
    /// # let mut config = phial_mail::MailConfig::default();
    /// # config.transport = phial_mail::TransportKind::Log;
    /// let mail = phial_mail::Mail::new(config)?;
    /// mail.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<(), MailError> {
        self.0.dispatch.transport.ping().await
    }
}

/// Delivery with suppression and recording: shared by the handle and the queue worker.
pub(crate) struct Dispatch {
    pub(crate) transport: Transport,
    pub(crate) suppress: bool,
    recorders: Mutex<Vec<Weak<Mutex<Vec<Email>>>>>,
}

impl Dispatch {
    pub(crate) async fn deliver(&self, email: &Email) -> Result<(), MailError> {
        if !self.suppress {
            self.transport.deliver(email).await?;
        }
        self.record(email);
        Ok(())
    }

    pub(crate) async fn deliver_many(&self, emails: &[Email]) -> Result<(), MailError> {
        if self.suppress {
            for email in emails {
                self.record(email);
            }
            return Ok(());
        }
        self.transport.deliver_many(emails, |email| self.record(email)).await
    }

    fn record(&self, email: &Email) {
        let recorders = self.recorders.lock().unwrap_or_else(PoisonError::into_inner);
        for recorder in recorders.iter().filter_map(Weak::upgrade) {
            recorder.lock().unwrap_or_else(PoisonError::into_inner).push(email.clone());
        }
    }
}

/// Messages delivered (or suppressed) while this lives; see [`Mail::record_messages`].
///
/// # Examples
///
/// ```
/// let mail = phial_mail::Mail::new(phial_mail::MailConfig::default())?;
/// let recording = mail.record_messages();
/// assert!(recording.is_empty());
/// # Ok::<(), phial_mail::MailError>(())
/// ```
#[derive(Debug)]
pub struct Recording {
    emails: Arc<Mutex<Vec<Email>>>,
}

impl Recording {
    /// The messages so far, in delivery order.
    pub fn emails(&self) -> Vec<Email> {
        self.emails.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many messages so far.
    pub fn len(&self) -> usize {
        self.emails.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether none so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

phial_core::handle_extractor!(Mail);
