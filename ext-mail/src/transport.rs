//! Where prepared messages go: SMTP, a folder, the log, or memory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::{MailConfig, TransportKind};
use crate::error::MailError;
use crate::message::Email;
use crate::smtp::{SmtpPool, SmtpSettings};

pub(crate) enum Transport {
    Smtp(Box<SmtpPool>),
    File(PathBuf),
    Log,
    Memory(Arc<Mutex<Vec<Email>>>),
}

impl Transport {
    pub(crate) fn from_config(config: &MailConfig) -> Result<Self, MailError> {
        Ok(match config.transport {
            TransportKind::Smtp => {
                Self::Smtp(Box::new(SmtpPool::new(SmtpSettings::from_config(config)?, config.pool_size)))
            }
            TransportKind::File => Self::File(config.folder.clone()),
            TransportKind::Log => Self::Log,
            TransportKind::Memory => Self::Memory(Arc::default()),
        })
    }

    pub(crate) async fn deliver(&self, email: &Email) -> Result<(), MailError> {
        match self {
            Self::Smtp(pool) => pool.send(email).await,
            Self::File(folder) => write_file(folder.clone(), email.clone()).await,
            Self::Log => {
                log(email);
                Ok(())
            }
            Self::Memory(outbox) => {
                outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(email.clone());
                Ok(())
            }
        }
    }

    pub(crate) async fn deliver_many(
        &self,
        emails: &[Email],
        mut on_sent: impl FnMut(&Email),
    ) -> Result<(), MailError> {
        if let Self::Smtp(pool) = self {
            return pool.send_many(emails, on_sent).await;
        }
        for email in emails {
            self.deliver(email).await?;
            on_sent(email);
        }
        Ok(())
    }

    pub(crate) async fn ping(&self) -> Result<(), MailError> {
        match self {
            Self::Smtp(pool) => pool.ping().await,
            Self::File(folder) => {
                let folder = folder.clone();
                tokio::task::spawn_blocking(move || std::fs::create_dir_all(folder))
                    .await
                    .map_err(|err| MailError::Io(std::io::Error::other(err)))??;
                Ok(())
            }
            Self::Log | Self::Memory(_) => Ok(()),
        }
    }

    pub(crate) fn memory(&self) -> Option<&Arc<Mutex<Vec<Email>>>> {
        match self {
            Self::Memory(outbox) => Some(outbox),
            _ => None,
        }
    }

    pub(crate) async fn close(&self) {
        if let Self::Smtp(pool) = self {
            pool.close().await;
        }
    }
}

/// Writes `<time>-<id>.eml`; the folder is created when missing. The name sorts by time, and
/// the file appears whole (written aside, then renamed).
async fn write_file(folder: PathBuf, email: Email) -> Result<(), MailError> {
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&folder)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let id: String = email.message_id().chars().filter(char::is_ascii_alphanumeric).take(32).collect();
        let name = format!("{}{:06}-{id}.eml", now.as_secs(), now.subsec_micros());
        let partial = folder.join(format!(".{name}.part"));
        std::fs::write(&partial, email.raw())?;
        std::fs::rename(&partial, folder.join(&name))?;
        tracing::info!(file = %folder.join(&name).display(), subject = %email.subject(), "mail written to a file");
        Ok(())
    })
    .await
    .map_err(|err| MailError::Io(std::io::Error::other(err)))?
}

fn log(email: &Email) {
    tracing::info!(
        from = %email.from(),
        to = ?email.to(),
        subject = %email.subject(),
        message_id = %email.message_id(),
        "mail (log transport, not sent)"
    );
    tracing::debug!(message = %email.as_text(), "mail content");
}
