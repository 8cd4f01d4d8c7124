//! phial-mail: e-mail for phial apps, in the role of Flask-Mail, on [lettre] over rustls.
//!
//! Build a [`Message`], then [`Mail::send`] it now, [`Mail::send_many`] over one SMTP
//! session, or [`Mail::enqueue`] it for a background worker that retries transient failures.
//! Header injection (a CR or LF in the subject, an address, an extra header) is refused
//! before anything is sent, Bcc recipients never appear in a header, and every network step
//! has a timeout.
//!
//! ```no_run
//! use phial_core::axum::routing::post;
//! use phial_core::prelude::*;
//! use phial_mail::{Mail, MailExtension, Message};
//!
//! async fn welcome(mail: Mail) -> Result<&'static str, HttpError> {
//!     let message = Message::new("Welcome!")
//!         .to("ada@example.com")
//!         .body("Hello, Ada.")
//!         .html("<p>Hello, <b>Ada</b>.</p>");
//!     mail.send(message).await?;
//!     Ok("sent")
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         // [mail] transport = "smtp", server = ..., or MAIL_SERVER=... as in Flask
//!         .extension(MailExtension::new())
//!         .endpoint("welcome", "/welcome", post(welcome))
//!         .run()
//!         .await
//! }
//! ```
//!
//! # Transports
//!
//! `mail.transport` picks where messages go: `smtp` (also chosen by setting `mail.server` or
//! `MAIL_SERVER`); `file` (the default: one `.eml` per
//! message in `mail.folder`, so a development app never mails anyone by accident); `log`; or
//! `memory` ([`Mail::outbox`]). Whatever the transport, [`Mail::record_messages`] captures
//! what is sent, for tests; in the `testing` profile sending is suppressed unless
//! `mail.suppress_send = false`, as with Flask-Mail.
//!
//! # Delivery: now, in the background, or with the database
//!
//! | | call | if the server is down | if the app stops |
//! |---|---|---|---|
//! | now | [`Mail::send`], [`Mail::send_many`] | the error, within `connect_timeout` | — |
//! | background queue | [`Mail::enqueue`] | retried with exponential backoff (`[mail.queue]`); 5xx refusals are logged and counted ([`Mail::queue_counts`]), not retried | delivered within `queue.drain_timeout`; what is left is logged, not kept |
//! | transactional outbox (feature `sql`) | `Outbox::add(&tx, message)` | the row waits and is retried | the row waits for the next start |
//!
//! The outbox writes the message in the request's SQL transaction, so it is sent if and only
//! if the request's writes commit; a worker sends committed rows and marks them `sent` or
//! `failed`. Enable it with `MailExtension::new().outbox()` beside phial-sql's
//! `SqlExtension`, and take `Outbox` as an extractor.
//!
//! Every SMTP step is bounded: `connect_timeout` for the connection, TLS, greeting and login,
//! `timeout` for each command. A session that failed or timed out is never reused.
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `templates` | `Message::render_body` / `render_html` and the `Renderer` trait: bodies from the app's minijinja templates, with the request's context |
//! | `sql` | `Outbox`, the transactional outbox: messages stored in the request's SQL transaction (phial-sql), sent by a worker |
//!
//! # Coming from Flask-Mail
//!
//! | Flask-Mail | phial |
//! |---|---|
//! | `mail = Mail(app)` | `.extension(MailExtension::new())` |
//! | `MAIL_SERVER`, `MAIL_PORT` | `[mail] server`, `port` (env `MAIL_SERVER`, `MAIL_PORT` too) |
//! | `MAIL_USE_TLS` / `MAIL_USE_SSL` | `use_tls` (STARTTLS, required) / `use_ssl` (implicit TLS) |
//! | `MAIL_USERNAME`, `MAIL_PASSWORD` | `username`, `password` (a [`Secret`](phial_core::Secret), never logged) |
//! | `MAIL_DEFAULT_SENDER` | `default_sender` |
//! | `MAIL_MAX_EMAILS` | `max_emails`: a new SMTP session every N messages, in `send_many` and the pool |
//! | `MAIL_SUPPRESS_SEND` (default `app.testing`) | `suppress_send` (default: the `testing` profile) |
//! | `MAIL_ASCII_ATTACHMENTS` | `ascii_attachments` |
//! | — | `connect_timeout`, `timeout`, `pool_size`, `transport`, `root_ca`, `[mail.queue]`, `[mail.outbox]` |
//! | `Message(subject, recipients, body, html, sender, cc, bcc, reply_to, date, charset, extra_headers)` | [`Message::new`] and its builder methods |
//! | `msg.attach(filename, content_type, data, disposition="inline", headers={"Content-ID": ...})` | [`Attachment::new`] (type guessed from the name), [`Attachment::inline`] |
//! | `msg.body = render_template("welcome.txt", **ctx)` | `.render_body(&template, "welcome.txt", ctx)?` (feature `templates`) |
//! | `mail.send(msg)` | [`Mail::send`] (async, bounded by timeouts) |
//! | `with mail.connect() as conn: conn.send(msg)` | [`Mail::send_many`] |
//! | `mail.send_message(...)` | `mail.send(Message::new(...)...)` |
//! | `BadHeaderError` | [`MailError::BadHeader`], also for `extra_headers`, which Flask-Mail does not check |
//! | `with mail.record_messages() as outbox:` | `let outbox = mail.record_messages();` ([`Recording`]) |
//! | `email_dispatched` signal | [`Recording`], the `tracing` events |
//! | a thread per message / Celery for background mail | [`Mail::enqueue`]: retries with backoff, drains at shutdown |
//! | `make_msgid()` (a slow `getfqdn()` per message) | a random Message-ID at the sender's domain, no lookup |
//!
//! Differences worth knowing: bodies are always UTF-8 (`charset` accepts `utf-8` and
//! `us-ascii`); an extra `Bcc` header is refused (Bcc recipients go in the envelope only);
//! `send_many` checks every message before sending any.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod extension;
mod mail;
mod message;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
mod outbox;
mod queue;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
mod render;
mod smtp;
mod transport;

pub use config::{MailConfig, OutboxConfig, QueueConfig, TransportKind};
pub use error::MailError;
pub use extension::MailExtension;
pub use mail::{Mail, Recording};
pub use message::{Attachment, Email, Message};
#[cfg(feature = "sql")]
pub use outbox::{Outbox, OutboxCounts};
pub use queue::QueueCounts;
#[cfg(feature = "templates")]
pub use render::Renderer;
