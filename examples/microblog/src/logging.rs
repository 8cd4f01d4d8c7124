//! Logging as the original sets it up outside debug mode (`app/__init__.py`): errors mailed to
//! `ADMINS` when `MAIL_SERVER` is set (its `SMTPHandler`, here through phial-mail's queue),
//! and the log on stdout with `LOG_TO_STDOUT`, else in `logs/microblog.log` (rotated at 10 KiB,
//! ten old files kept, as its `RotatingFileHandler`).
//!
//! The binary installs the subscriber ([`init`]) before the app starts; the app's
//! [`ErrorMailExtension`] arms the mail once phial-mail is configured. One app per process
//! sends error mail (the last one started with it on).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use phial::mail::{Mail, Message, TransportKind};
use phial::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::MicroblogConfig;

/// Where error mail goes, once armed.
#[derive(Debug, Clone)]
struct ErrorMailer {
    mail: Mail,
    sender: String,
    admins: Vec<String>,
}

static ERROR_MAILER: RwLock<Option<ErrorMailer>> = RwLock::new(None);

/// Mails each `ERROR` event to the admins (subject "Microblog Failure"), once
/// [`ErrorMailExtension`] has armed it. Events of phial-mail and lettre are left out, so a
/// failing mail server does not make more mail.
#[derive(Debug, Default, Clone, Copy)]
pub struct ErrorMailLayer;

impl<S: Subscriber> Layer<S> for ErrorMailLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() != Level::ERROR
            || metadata.target().starts_with("phial_mail")
            || metadata.target().starts_with("lettre")
        {
            return;
        }
        let Some(mailer) = ERROR_MAILER.read().unwrap_or_else(PoisonError::into_inner).clone() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let mut text = EventText::default();
        event.record(&mut text);
        let body = format!("{} ERROR: {}{}\n[in {}]\n", metadata.target(), text.message, text.fields, location(event));
        runtime.spawn(async move {
            let message =
                Message::new("Microblog Failure").sender(&mailer.sender).recipients(&mailer.admins).body(body);
            if let Err(err) = mailer.mail.enqueue(message).await {
                // Logged under phial_mail's target is not possible here; a warning does not mail.
                tracing::warn!(error = %err, "the error mail was not queued");
            }
        });
    }
}

fn location(event: &Event<'_>) -> String {
    let metadata = event.metadata();
    format!("{}:{}", metadata.file().unwrap_or("?"), metadata.line().unwrap_or(0))
}

/// The message and fields of an event, as text.
#[derive(Default)]
struct EventText {
    message: String,
    fields: String,
}

impl Visit for EventText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

/// Arms [`ErrorMailLayer`] at start when `[microblog] error_mail` says so (by default: in
/// production with `MAIL_SERVER` set, as the original), from `no-reply@<MAIL_SERVER>` to
/// `[microblog] admins`.
#[derive(Debug, Default)]
pub struct ErrorMailExtension;

impl Extension for ErrorMailExtension {
    const NAME: &'static str = "error_mail";
    type Config = ();

    fn deps(&self) -> Deps {
        Deps::none().requires("mail")
    }

    fn build(&self, _config: &(), _ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        Ok(())
    }

    async fn start(&self, _config: &(), ctx: &mut StartCtx) -> Result<(), Error> {
        let config: MicroblogConfig = ctx.config().extract_section("microblog")?;
        let mail = ctx.require::<Mail>()?.clone();
        let smtp = mail.config().transport == TransportKind::Smtp;
        if !config.error_mail.unwrap_or(ctx.profile() == Profile::Production && smtp) {
            return Ok(());
        }
        let sender = format!("no-reply@{}", mail.config().server);
        tracing::info!(admins = ?config.admins, "errors are mailed to the admins");
        let mailer = ErrorMailer { mail, sender, admins: config.admins };
        *ERROR_MAILER.write().unwrap_or_else(PoisonError::into_inner) = Some(mailer);
        Ok(())
    }
}

/// Installs the binary's subscriber from its environment: `RUST_LOG` (default `info`); in
/// production (`PHIAL_PROFILE=production`) the log goes to stdout with `LOG_TO_STDOUT`, else
/// to `logs/microblog.log`; in development to stderr, as phial logs. Error mail is a layer of
/// it in every case (armed by [`ErrorMailExtension`]).
///
/// # Errors
///
/// The `logs` folder cannot be made.
pub fn init(env: &[(String, String)]) -> io::Result<()> {
    let var = |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let filter = tracing_subscriber::EnvFilter::try_new(var("RUST_LOG").unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter).with(ErrorMailLayer);
    let production = var("PHIAL_PROFILE") == Some("production");
    let to_stdout = var("LOG_TO_STDOUT").is_some_and(|value| !value.is_empty());
    if production && to_stdout {
        let _ = registry.with(tracing_subscriber::fmt::layer().with_writer(io::stdout)).try_init();
    } else if production {
        std::fs::create_dir_all("logs")?;
        let file = RotatingFile::new("logs/microblog.log", 10_240, 10);
        let _ = registry.with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file)).try_init();
    } else {
        let _ = registry.with(tracing_subscriber::fmt::layer().with_writer(io::stderr)).try_init();
    }
    if production {
        tracing::info!("Microblog startup");
    }
    Ok(())
}

/// A log file rotated by size, as Python's `RotatingFileHandler`: when a record would take
/// the file past `max_bytes`, `name.9` becomes `name.10` (the oldest beyond `backups` is
/// dropped), ..., `name` becomes `name.1`, and a new file starts.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: u32,
    open: Mutex<Option<(File, u64)>>,
}

impl RotatingFile {
    /// The file at `path`, opened for appending at the first record.
    pub fn new(path: impl AsRef<Path>, max_bytes: u64, backups: u32) -> Self {
        Self { path: path.as_ref().to_owned(), max_bytes, backups, open: Mutex::new(None) }
    }

    fn write_record(&self, record: &[u8]) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.is_none() {
            let file = File::options().create(true).append(true).open(&self.path)?;
            let size = file.metadata()?.len();
            *open = Some((file, size));
        }
        let size = open.as_ref().map_or(0, |(_, size)| *size);
        if size > 0 && size + record.len() as u64 > self.max_bytes {
            *open = None;
            self.rotate()?;
            *open = Some((File::options().create(true).append(true).open(&self.path)?, 0));
        }
        if let Some((file, size)) = open.as_mut() {
            file.write_all(record)?;
            *size += record.len() as u64;
        }
        Ok(())
    }

    fn rotate(&self) -> io::Result<()> {
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..self.backups).rev() {
            if numbered(n).exists() {
                std::fs::rename(numbered(n), numbered(n + 1))?;
            }
        }
        if self.backups == 0 {
            return std::fs::remove_file(&self.path);
        }
        std::fs::rename(&self.path, numbered(1))
    }
}

/// One record's writer; see [`RotatingFile`].
#[derive(Debug)]
pub struct RotatingWriter<'a>(&'a RotatingFile);

impl io::Write for RotatingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_record(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RotatingWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        RotatingWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_rotates_by_size_and_keeps_the_newest_backups() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let path = dir.path().join("microblog.log");
        let file = RotatingFile::new(&path, 10, 2);
        for record in ["aaaaaa\n", "bbbbbb\n", "cccccc\n", "dddddd\n"] {
            file.make_writer().write_all(record.as_bytes()).unwrap_or_else(|_| unreachable!());
        }
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        assert_eq!(read(&path), "dddddd\n");
        assert_eq!(read(&dir.path().join("microblog.log.1")), "cccccc\n");
        assert_eq!(read(&dir.path().join("microblog.log.2")), "bbbbbb\n");
        assert!(!dir.path().join("microblog.log.3").exists(), "two backups kept");
    }
}
