//! Integration tests of phial-mail against a real SMTP server (aiosmtpd, `tests/smtp_server.py`).

mod app;
mod delivery;
mod faults;
#[cfg(feature = "sql")]
mod outbox;
mod server;
#[cfg(feature = "templates")]
mod templates;
mod tls;
