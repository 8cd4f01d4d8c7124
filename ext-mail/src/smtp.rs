//! SMTP delivery on lettre's connection: TLS modes, timeouts on every step, a small pool, and
//! sessions that end after `max_emails` messages.
//!
//! lettre's pooled `AsyncSmtpTransport` is not used because it cannot end a session after N
//! messages (`MAIL_MAX_EMAILS`), its async transport bounds the TCP connect only (a server that
//! stops answering would hang a send), and it tests every pooled connection with a `NOOP`
//! round trip; here a connection used within the last second is reused directly.
//!
//! The message transaction (`MAIL`, `RCPT`, `DATA`, the data) is driven here too, with
//! lettre's commands: lettre writes the data and its `<CRLF>.<CRLF>` terminator in two
//! writes on a socket without `TCP_NODELAY`, so Nagle's algorithm holds the terminator until
//! the server's delayed ACK, about 40 ms per message on Linux. Here the dot-stuffed data and
//! the terminator go out in one write.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::sync::Semaphore;

use crate::config::MailConfig;
use crate::error::MailError;
use crate::message::Email;

/// Connections idle longer than this are tested with `NOOP` before reuse.
const FRESH: Duration = Duration::from_secs(1);

enum TlsMode {
    Plain,
    StartTls(TlsParameters),
    Implicit(TlsParameters),
}

/// How to reach and log in to the server.
pub(crate) struct SmtpSettings {
    server: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    hello: ClientId,
    connect_timeout: Duration,
    timeout: Duration,
    max_emails: Option<u32>,
}

impl SmtpSettings {
    /// Reads the settings; a root CA file that cannot be read or parsed is an error.
    pub(crate) fn from_config(config: &MailConfig) -> Result<Self, MailError> {
        let tls = if config.use_tls || config.use_ssl {
            let mut builder = TlsParameters::builder(config.server.clone());
            if let Some(path) = &config.root_ca {
                let pem = std::fs::read(path)
                    .map_err(|err| MailError::Config(format!("mail.root_ca {}: {err}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|err| MailError::Config(format!("mail.root_ca {}: {err}", path.display())))?;
                builder = builder.add_root_certificate(cert);
            }
            let params = builder.build_rustls().map_err(|err| MailError::Tls(err.to_string()))?;
            if config.use_ssl { TlsMode::Implicit(params) } else { TlsMode::StartTls(params) }
        } else {
            TlsMode::Plain
        };
        let credentials = match (&config.username, &config.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.expose().to_owned())),
            _ => None,
        };
        Ok(Self {
            server: config.server.clone(),
            port: config.port,
            tls,
            credentials,
            hello: ClientId::Domain(config.hello_name.clone()),
            connect_timeout: config.connect_timeout_duration(),
            timeout: config.timeout_duration(),
            max_emails: config.max_emails,
        })
    }

    /// Opens a session: TCP (+ TLS), greeting, `EHLO`, `STARTTLS`, `AUTH`, all within
    /// `connect_timeout`.
    pub(crate) async fn connect(&self) -> Result<SmtpConn, MailError> {
        let open = async {
            let mut conn = if let TlsMode::Implicit(params) = &self.tls {
                AsyncSmtpConnection::connect_tokio1(
                    (self.server.as_str(), self.port),
                    Some(self.connect_timeout),
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await
                .map_err(|err| MailError::from_smtp(&err))?
            } else {
                // Our own socket, to turn Nagle's algorithm off (lettre 0.11.23 leaves it on).
                let socket = tokio::net::TcpStream::connect((self.server.as_str(), self.port))
                    .await
                    .map_err(|err| MailError::Connection(format!("{}:{}: {err}", self.server, self.port)))?;
                socket.set_nodelay(true).map_err(|err| MailError::Connection(err.to_string()))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello)
                    .await
                    .map_err(|err| MailError::from_smtp(&err))?
            };
            if let TlsMode::StartTls(params) = &self.tls {
                conn.starttls(params.clone(), &self.hello).await.map_err(|err| MailError::from_smtp(&err))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|err| MailError::from_smtp(&err))?;
            }
            Ok::<_, MailError>(conn)
        };
        let conn = tokio::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| MailError::Timeout { stage: "connect", seconds: self.connect_timeout.as_secs_f64() })??;
        tracing::debug!(server = %self.server, port = self.port, "SMTP session opened");
        Ok(SmtpConn { inner: conn, sent: 0, last_used: Instant::now(), broken: false })
    }

    fn session_full(&self, conn: &SmtpConn) -> bool {
        self.max_emails.is_some_and(|max| conn.sent >= max)
    }

    /// The timeout of one whole message transaction: each command may take `timeout`.
    fn transaction_timeout(&self, envelope: &Envelope) -> Duration {
        let commands = u32::try_from(envelope.to().len()).unwrap_or(u32::MAX).saturating_add(3);
        self.timeout.saturating_mul(commands)
    }
}

/// One open SMTP session.
pub(crate) struct SmtpConn {
    inner: AsyncSmtpConnection,
    sent: u32,
    last_used: Instant,
    /// Failed or timed out: never reused.
    broken: bool,
}

impl SmtpConn {
    async fn send(&mut self, settings: &SmtpSettings, email: &Email) -> Result<(), MailError> {
        let envelope = email.envelope()?;
        let limit = settings.transaction_timeout(&envelope);
        let result = tokio::time::timeout(limit, self.transaction(&envelope, email.raw())).await;
        self.last_used = Instant::now();
        match result {
            Ok(Ok(())) => {
                self.sent += 1;
                Ok(())
            }
            Ok(Err(err)) => {
                // A refusal mid-transaction leaves the session in an unknown state: end it
                // (QUIT, bounded: the server may be the problem).
                self.broken = true;
                let _ = tokio::time::timeout(settings.timeout, self.inner.abort()).await;
                Err(err)
            }
            Err(_) => {
                // A server that stopped answering gets no QUIT: the socket closes on drop.
                self.broken = true;
                Err(MailError::Timeout { stage: "message transaction", seconds: limit.as_secs_f64() })
            }
        }
    }

    /// `MAIL FROM`, `RCPT TO` for each recipient, `DATA`, then the data in one write.
    async fn transaction(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<(), MailError> {
        let smtp = |err: lettre::transport::smtp::Error| MailError::from_smtp(&err);
        let info = self.inner.server_info();
        let mut parameters = Vec::new();
        if envelope.from().into_iter().chain(envelope.to()).any(|address| !AsRef::<str>::as_ref(address).is_ascii()) {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(MailError::Message("the server does not accept non-ASCII addresses (SMTPUTF8)".to_owned()));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(MailError::Message("the server does not accept 8-bit messages (8BITMIME)".to_owned()));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        self.inner.command(Mail::new(envelope.from().cloned(), parameters)).await.map_err(smtp)?;
        for to in envelope.to() {
            self.inner.command(Rcpt::new(to.clone(), Vec::new())).await.map_err(smtp)?;
        }
        self.inner.command(Data).await.map_err(smtp)?;
        match std::str::from_utf8(raw) {
            Ok(text) => self.inner.command(DotStuffed(text)).await.map_err(smtp)?,
            // Not reachable with messages built by `Message`; lettre's own writer copes.
            Err(_) => self.inner.message(raw).await.map_err(smtp)?,
        };
        Ok(())
    }

    async fn noop(&mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.inner.test_connected()).await.unwrap_or(false)
    }

    async fn quit(mut self, timeout: Duration) {
        if self.broken {
            return;
        }
        if tokio::time::timeout(timeout, self.inner.quit()).await.is_err() {
            tracing::debug!("SMTP QUIT timed out");
        }
    }

    fn usable(&self) -> bool {
        !self.broken && !self.inner.has_broken()
    }
}

/// Message data as sent after `DATA`: a dot doubled at the start of each line, then the
/// `.` line that ends it (RFC 5321 §4.5.2), so that lettre's `command` writes it all at once.
struct DotStuffed<'a>(&'a str);

impl std::fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut line_start = true;
        for chunk in self.0.split_inclusive('\n') {
            if line_start && chunk.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(chunk)?;
            line_start = chunk.ends_with('\n');
        }
        if self.0.ends_with("\r\n") { f.write_str(".\r\n") } else { f.write_str("\r\n.\r\n") }
    }
}

/// The SMTP transport: at most `pool_size` sessions at once, idle ones kept for reuse.
pub(crate) struct SmtpPool {
    settings: SmtpSettings,
    idle: Mutex<Vec<SmtpConn>>,
    permits: Semaphore,
    size: usize,
}

impl SmtpPool {
    pub(crate) fn new(settings: SmtpSettings, size: usize) -> Self {
        let size = size.max(1);
        Self { settings, idle: Mutex::new(Vec::new()), permits: Semaphore::new(size), size }
    }

    fn take_idle(&self) -> Option<SmtpConn> {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop()
    }

    /// A session: an idle one that still answers, or a new one.
    async fn checkout(&self) -> Result<SmtpConn, MailError> {
        while let Some(mut conn) = self.take_idle() {
            if conn.last_used.elapsed() < FRESH || conn.noop(self.settings.timeout).await {
                return Ok(conn);
            }
            tracing::debug!("dropping an SMTP session that no longer answers");
        }
        self.settings.connect().await
    }

    /// Puts a session back, or ends it when it is broken, full (`max_emails`) or not needed.
    async fn checkin(&self, conn: SmtpConn) {
        if !conn.usable() {
            return;
        }
        if self.settings.session_full(&conn) {
            conn.quit(self.settings.timeout).await;
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < self.size {
            idle.push(conn);
        }
    }

    /// Sends one message on a pooled session.
    pub(crate) async fn send(&self, email: &Email) -> Result<(), MailError> {
        let _permit = self.permits.acquire().await.map_err(|_| MailError::QueueClosed)?;
        let mut conn = self.checkout().await?;
        let result = conn.send(&self.settings, email).await;
        self.checkin(conn).await;
        result
    }

    /// Sends messages in order on one session, opening a new one every `max_emails`
    /// messages; stops at the first failure.
    pub(crate) async fn send_many(&self, emails: &[Email], mut on_sent: impl FnMut(&Email)) -> Result<(), MailError> {
        let _permit = self.permits.acquire().await.map_err(|_| MailError::QueueClosed)?;
        let mut conn: Option<SmtpConn> = None;
        for email in emails {
            let mut session = match conn.take() {
                Some(session) if session.usable() && !self.settings.session_full(&session) => session,
                Some(full) => {
                    full.quit(self.settings.timeout).await;
                    self.settings.connect().await?
                }
                None => self.checkout().await?,
            };
            session.send(&self.settings, email).await?;
            on_sent(email);
            conn = Some(session);
        }
        if let Some(session) = conn {
            self.checkin(session).await;
        }
        Ok(())
    }

    /// `NOOP` on a session: the health check.
    pub(crate) async fn ping(&self) -> Result<(), MailError> {
        let _permit = self.permits.acquire().await.map_err(|_| MailError::QueueClosed)?;
        let mut conn = match self.take_idle() {
            Some(conn) => conn,
            None => self.settings.connect().await?,
        };
        if conn.noop(self.settings.timeout).await {
            self.checkin(conn).await;
            Ok(())
        } else {
            Err(MailError::Connection("the server did not answer NOOP".to_owned()))
        }
    }

    /// Ends the idle sessions politely.
    pub(crate) async fn close(&self) {
        let idle: Vec<SmtpConn> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for conn in idle {
            conn.quit(self.settings.timeout).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DotStuffed;

    #[test]
    fn dots_at_line_starts_are_doubled_and_the_data_ends_with_a_dot_line() {
        assert_eq!(DotStuffed(".a\r\nb.\r\n.\r\n..c").to_string(), "..a\r\nb.\r\n..\r\n...c\r\n.\r\n");
        assert_eq!(DotStuffed("x\r\n").to_string(), "x\r\n.\r\n");
        assert_eq!(DotStuffed("").to_string(), "\r\n.\r\n");
    }
}
