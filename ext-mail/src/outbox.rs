//! [`Outbox`]: the transactional outbox. Messages are rows written in the request's SQL
//! transaction, so a message exists if and only if the transaction commits; a worker sends
//! the rows and marks them, and rows outlive restarts.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use phial_core::tasks::StopSignal;
use phial_sql::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Index, Order, Query};
use phial_sql::{Backend, Db, Table, Tx};

use crate::config::seconds;
use crate::error::MailError;
use crate::mail::Mail;
use crate::message::{Email, Message};

/// How long a claimed row is left alone by other workers: a worker that died mid-send
/// leaves its rows to be sent again after this.
const LEASE: Duration = Duration::from_mins(5);

const PENDING: &str = "pending";
const SENT: &str = "sent";
const FAILED: &str = "failed";

/// The transactional outbox (feature `sql`): [`add`](Self::add) writes a message into the
/// request's [`Tx`]; the worker ([`run`](Self::run), started by
/// [`MailExtension::outbox`](crate::MailExtension::outbox)) sends committed rows with the
/// queue's retry policy (`[mail.queue]`) and marks them `sent` or `failed`.
///
/// Delivery is exactly once as long as the worker is not killed between the server's
/// acceptance and the row's update; a worker that dies mid-send leaves the row to be sent
/// again after a lease of five minutes (at least once, never zero times). Several app
/// instances may run workers on one database: each row is claimed by one.
///
/// # Examples
///
/// ```no_run
/// use phial_core::axum::http::StatusCode;
/// use phial_core::prelude::*;
/// use phial_mail::{Message, Outbox};
/// use phial_sql::Tx;
/// use phial_sql::sea_query::Query;
///
/// async fn register(tx: Tx, outbox: Outbox) -> Result<StatusCode, HttpError> {
///     let user = Query::insert().into_table("users").columns(["email"]).values_panic(["ada@example.com".into()]).to_owned();
///     tx.execute(&user).await?;
///     // Sent if and only if the user row commits.
///     outbox.add(&tx, Message::new("Welcome").to("ada@example.com").body("Hello!")).await?;
///     Ok(StatusCode::CREATED)
/// }
/// ```
#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    mail: Mail,
    db: Db,
    table: String,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("table", &self.0.table).field("db", &self.0.db.name()).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    message_id: String,
    sender: String,
    recipients: String,
    subject: String,
    raw_message: String,
    attempts: i32,
}

#[derive(sqlx::FromRow)]
struct StatusCount {
    status: String,
    n: i64,
}

/// Rows of the outbox by status: see [`Outbox::counts`].
///
/// # Examples
///
/// ```
/// let counts = phial_mail::OutboxCounts::default();
/// assert_eq!(counts.pending + counts.sent + counts.failed, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxCounts {
    /// Waiting to be sent (or retried).
    pub pending: i64,
    /// Delivered.
    pub sent: i64,
    /// Given up: a permanent failure or too many attempts.
    pub failed: i64,
}

impl Outbox {
    /// An outbox on `db`, in table `mail.outbox.table`, sending with `mail`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn run(mail: phial_mail::Mail, db: phial_sql::Db) {
    /// let outbox = phial_mail::Outbox::new(mail, db);
    /// # let _ = outbox;
    /// # }
    /// ```
    pub fn new(mail: Mail, db: Db) -> Self {
        let table = mail.config().outbox.table.clone();
        Self(Arc::new(Inner { mail, db, table }))
    }

    /// The table's declaration for `backend`, for `SqlExtension::table` (so `create_all` and
    /// migrations see it). The message is `text` (`longtext` on MariaDB, whose `text` stops at
    /// 64 KiB).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = phial_mail::Outbox::table("phial_mail_outbox", phial_sql::Backend::Sqlite);
    /// assert_eq!(table.name(), "phial_mail_outbox");
    /// ```
    pub fn table(name: &str, backend: Backend) -> Table {
        let mut raw = ColumnDef::new("raw_message");
        if backend == Backend::MySql {
            raw.custom(Alias::new("longtext"));
        } else {
            raw.text();
        }
        let index = Index::create()
            .name(format!("ix_{name}_status_next"))
            .table(Alias::new(name))
            .col("status")
            .col("next_attempt_at")
            .to_owned();
        let mut create = phial_sql::sea_query::Table::create();
        create
            .table(Alias::new(name))
            .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
            .col(ColumnDef::new("message_id").string_len(255).not_null())
            .col(ColumnDef::new("sender").string_len(320).not_null())
            .col(ColumnDef::new("recipients").text().not_null())
            .col(ColumnDef::new("subject").text().not_null())
            .col(raw.not_null())
            .col(ColumnDef::new("status").string_len(16).not_null())
            .col(ColumnDef::new("attempts").integer().not_null())
            .col(ColumnDef::new("next_attempt_at").big_integer().not_null())
            .col(ColumnDef::new("created_at").big_integer().not_null())
            .col(ColumnDef::new("sent_at").big_integer().null())
            .col(ColumnDef::new("last_error").text().null());
        if backend == Backend::MySql {
            // MariaDB has no `CREATE INDEX IF NOT EXISTS`: the index goes inside
            // `CREATE TABLE IF NOT EXISTS`, so creating the table again is harmless.
            Table::new(create.index(&mut index.clone()).to_owned())
        } else {
            Table::new(create).index(index)
        }
    }

    /// Creates the table and its index when missing.
    ///
    /// # Errors
    ///
    /// [`MailError::Sql`] when the statement fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(outbox: phial_mail::Outbox) -> Result<(), phial_mail::MailError> {
    /// outbox.create_table().await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_table(&self) -> Result<(), MailError> {
        Self::table(&self.0.table, self.0.db.backend()).create(&self.0.db).await?;
        Ok(())
    }

    /// Writes `message` into the request's transaction: it is sent after the transaction
    /// commits, and never if it rolls back. Returns the row's id.
    ///
    /// # Errors
    ///
    /// A bad message (as [`Message::prepare`]), or [`MailError::Sql`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(tx: phial_sql::Tx, outbox: phial_mail::Outbox) -> Result<(), phial_mail::MailError> {
    /// outbox.add(&tx, phial_mail::Message::new("Receipt").to("ada@example.com").body("Thanks!")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, tx: &Tx, message: Message) -> Result<i64, MailError> {
        let email = self.0.mail.prepare(&message)?;
        self.add_email(tx, &email).await
    }

    /// Writes an already prepared message into the transaction (see [`add`](Self::add)).
    ///
    /// # Errors
    ///
    /// [`MailError::Sql`], or [`MailError::Message`] for a message that is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(tx: phial_sql::Tx, outbox: phial_mail::Outbox, email: phial_mail::Email) -> Result<(), phial_mail::MailError> {
    /// outbox.add_email(&tx, &email).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_email(&self, tx: &Tx, email: &Email) -> Result<i64, MailError> {
        let raw = String::from_utf8(email.raw().to_vec())
            .map_err(|_| MailError::Message("the rendered message is not UTF-8".to_owned()))?;
        let recipients = serde_json::to_string(email.to()).map_err(|err| MailError::Message(err.to_string()))?;
        let now = now_ms();
        let insert = Query::insert()
            .into_table(Alias::new(self.0.table.as_str()))
            .columns([
                "message_id",
                "sender",
                "recipients",
                "subject",
                "raw_message",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ])
            .values_panic([
                email.message_id().into(),
                email.from().into(),
                recipients.into(),
                email.subject().into(),
                raw.into(),
                PENDING.into(),
                0i32.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        Ok(tx.insert(&insert, "id").await?)
    }

    /// Sends the rows that are due (at most `mail.outbox.batch_size`), marking each `sent`,
    /// scheduled again (transient failure) or `failed`. Returns how many were sent.
    ///
    /// # Errors
    ///
    /// [`MailError::Sql`] when the table cannot be read; delivery failures are recorded in
    /// the rows, not returned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(outbox: phial_mail::Outbox) -> Result<(), phial_mail::MailError> {
    /// let sent = outbox.deliver_due().await?;
    /// # let _ = sent; Ok(()) }
    /// ```
    pub async fn deliver_due(&self) -> Result<usize, MailError> {
        let now = now_ms();
        let select = Query::select()
            .columns(["id", "message_id", "sender", "recipients", "subject", "raw_message", "attempts"])
            .from(Alias::new(self.0.table.as_str()))
            .and_where(Expr::col("status").eq(PENDING))
            .and_where(Expr::col("next_attempt_at").lte(now))
            .order_by("id", Order::Asc)
            .limit(u64::from(Ord::max(self.0.mail.config().outbox.batch_size, 1)))
            .to_owned();
        let rows: Vec<Row> = self.0.db.fetch_all(&select).await?;
        let mut sent = 0;
        for row in rows {
            if self.claim(&row, now).await? && self.deliver(row).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Takes the row for this worker for [`LEASE`]; false when another worker took it.
    async fn claim(&self, row: &Row, now: i64) -> Result<bool, MailError> {
        let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let update = Query::update()
            .table(Alias::new(self.0.table.as_str()))
            .value("next_attempt_at", now.saturating_add(lease))
            .value("attempts", Expr::col("attempts").add(1))
            .and_where(Expr::col("id").eq(row.id))
            .and_where(Expr::col("status").eq(PENDING))
            .and_where(Expr::col("next_attempt_at").lte(now))
            .to_owned();
        Ok(self.0.db.execute(&update).await? == 1)
    }

    /// Sends one claimed row and records the outcome; true when delivered.
    async fn deliver(&self, row: Row) -> Result<bool, MailError> {
        let attempt = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
        let recipients: Vec<String> = serde_json::from_str(&row.recipients).unwrap_or_default();
        let email =
            Email::from_parts(row.sender, recipients, row.subject, row.message_id, row.raw_message.into_bytes());
        let table = Alias::new(self.0.table.as_str());
        let (update, delivered) = match self.0.mail.send_email(&email).await {
            Ok(()) => {
                let update = Query::update()
                    .table(table)
                    .value("status", SENT)
                    .value("sent_at", now_ms())
                    .value("last_error", Option::<String>::None)
                    .and_where(Expr::col("id").eq(row.id))
                    .to_owned();
                (update, true)
            }
            Err(err) => {
                let queue = &self.0.mail.config().queue;
                let retry = err.is_transient() && attempt < queue.max_attempts;
                let mut update = Query::update();
                update.table(table).value("last_error", err.to_string()).and_where(Expr::col("id").eq(row.id));
                if retry {
                    let delay = crate::queue::backoff(queue, attempt);
                    let due = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                    update.value("next_attempt_at", due);
                    tracing::warn!(message_id = %email.message_id(), attempt, error = %err, "outbox delivery failed; retrying");
                } else {
                    update.value("status", FAILED);
                    tracing::error!(message_id = %email.message_id(), attempt, error = %err, "outbox delivery failed; giving up");
                }
                (update, false)
            }
        };
        if let Err(err) = self.0.db.execute(&update).await {
            // When the message went out, the row still says pending: it is sent again after
            // the lease. Say so loudly.
            tracing::error!(message_id = %email.message_id(), delivered, error = %err, "outbox row could not be updated");
            return Err(err.into());
        }
        Ok(delivered)
    }

    /// Rows by status.
    ///
    /// # Errors
    ///
    /// [`MailError::Sql`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(outbox: phial_mail::Outbox) -> Result<(), phial_mail::MailError> {
    /// println!("{} waiting", outbox.counts().await?.pending);
    /// # Ok(()) }
    /// ```
    pub async fn counts(&self) -> Result<OutboxCounts, MailError> {
        // One statement, so that a row moving from pending to sent is counted once.
        let select = Query::select()
            .column("status")
            .expr_as(Expr::col("id").count(), Alias::new("n"))
            .from(Alias::new(self.0.table.as_str()))
            .group_by_col("status")
            .to_owned();
        let rows: Vec<StatusCount> = self.0.db.fetch_all(&select).await?;
        let mut counts = OutboxCounts::default();
        for row in rows {
            match row.status.as_str() {
                PENDING => counts.pending = row.n,
                SENT => counts.sent = row.n,
                FAILED => counts.failed = row.n,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Sends due rows every `mail.outbox.poll_interval` seconds until `stop`; database errors
    /// are logged and retried on the next poll. The extension runs it as a background task.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(outbox: phial_mail::Outbox, stop: phial_core::tasks::StopSignal) {
    /// tokio::spawn(async move { outbox.run(stop).await });
    /// # }
    /// ```
    pub async fn run(&self, mut stop: StopSignal) {
        let interval = seconds(self.0.mail.config().outbox.poll_interval);
        loop {
            let more = match self.deliver_due().await {
                Ok(sent) => sent > 0,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox poll failed; will retry");
                    false
                }
            };
            if stop.is_stopped() {
                break;
            }
            if !more {
                tokio::select! {
                    () = stop.stopped() => break,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

phial_core::handle_extractor!(Outbox);
