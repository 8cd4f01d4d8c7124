//! [`SqlSessionStore`]: server-side sessions in a SQL table.

use std::time::Duration;

use futures_util::future::BoxFuture;
use phial_core::BoxError;
use phial_core::session::{Record, SessionId, SessionStore};
use sea_query::{ColumnDef, Expr, ExprTrait, Index, OnConflict, Query};
use time::OffsetDateTime;

use crate::db::Db;
use crate::error::SqlError;
use crate::schema::Table;

/// Server-side sessions in the table `phial_session` of a [`Db`]: Flask-Session's
/// `SESSION_TYPE = "sqlalchemy"`, on SQLite, PostgreSQL and MariaDB/MySQL.
///
/// One row per session: the id, the [`Record`] as JSON text, and the expiry as Unix time in
/// milliseconds (an integer rather than a timestamp type, so that comparisons mean the same
/// on every backend and no time zone setting can shift them). Loads ignore expired rows;
/// [`cleanup_expired`](SessionStore::cleanup_expired) deletes them, and
/// [`SqlExtension::session_store`](crate::SqlExtension::session_store) runs it every
/// `sql.session_cleanup_interval` seconds.
///
/// # The table
///
/// [`SqlSessionStore::table`] declares it, so `create_all` creates it and phial-migrate's
/// `revision --autogenerate` writes it into a revision. Written by hand, the migration is the
/// same on all three backends:
///
/// ```sql
/// CREATE TABLE phial_session (
///     id VARCHAR(64) NOT NULL PRIMARY KEY,
///     data TEXT NOT NULL,
///     expires_at BIGINT NOT NULL
/// );
/// CREATE INDEX ix_phial_session_expires_at ON phial_session (expires_at);
/// -- downgrade: DROP TABLE phial_session;
/// ```
///
/// MariaDB/MySQL's `TEXT` holds 64 kilobytes; a larger session fails to save (500). Sessions that
/// big belong in the database as rows of their own.
///
/// # Examples
///
/// In a phial app, turn it on with one builder call and select it in config:
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_sql::SqlExtension;
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .config_toml("[sql]\nurl = \"sqlite:///app.db\"\n[app.session]\nstore = \"sql\"\n")
///     .extension(SqlExtension::new().session_store())
///     .run()
///     .await
/// # }
/// ```
///
/// On its own, with any [`Db`]:
///
/// ```
/// use phial_core::session::{Record, SessionId, SessionStore};
/// use phial_sql::{Databases, SqlConfig, SqlSessionStore};
///
/// # #[tokio::main] async fn main() -> Result<(), phial_core::BoxError> {
/// let mut config = SqlConfig::default();
/// config.url = "sqlite://".into();
/// let databases = Databases::connect(&config, std::path::Path::new("."), vec![SqlSessionStore::table()]).await?;
/// databases.create_all("default").await?;
/// let store = SqlSessionStore::new(databases.default_db().clone());
///
/// let id = SessionId::generate()?;
/// let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
/// store.save(&id, &Record::default(), later).await?;
/// assert_eq!(store.load(&id).await?, Some(Record::default()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqlSessionStore {
    db: Db,
}

#[derive(sqlx::FromRow)]
struct DataRow {
    data: String,
}

impl SqlSessionStore {
    /// The table's name.
    pub const TABLE: &'static str = "phial_session";

    /// A store on `db`, whose table must exist (see [`table`](Self::table)).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_sql::{Db, SqlSessionStore};
    ///
    /// fn store(db: Db) -> SqlSessionStore {
    ///     SqlSessionStore::new(db)
    /// }
    /// ```
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The declaration of table `phial_session` and its index on `expires_at`, for
    /// [`SqlExtension::table`](crate::SqlExtension::table) (which
    /// [`session_store`](crate::SqlExtension::session_store) calls for you).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_sql::SqlSessionStore;
    ///
    /// let table = SqlSessionStore::table();
    /// assert_eq!(table.name(), "phial_session");
    /// assert_eq!(table.indexes().len(), 1);
    /// ```
    #[must_use]
    pub fn table() -> Table {
        Table::new(
            sea_query::Table::create()
                .table(Self::TABLE)
                .col(ColumnDef::new("id").string_len(64).not_null().primary_key())
                .col(ColumnDef::new("data").text().not_null())
                .col(ColumnDef::new("expires_at").big_integer().not_null())
                .to_owned(),
        )
        .index(Index::create().name("ix_phial_session_expires_at").table(Self::TABLE).col("expires_at").to_owned())
    }

    /// The database the sessions live in.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn run(store: phial_sql::SqlSessionStore) {
    /// println!("sessions on bind {}", store.db().name());
    /// # }
    /// ```
    #[must_use]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Deletes expired rows every `interval`, forever; logs what it removed and any failure.
    /// [`SqlExtension::session_store`](crate::SqlExtension::session_store) runs it as a
    /// background task that stops at shutdown; a bare axum app spawns it itself.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # fn run(store: phial_sql::SqlSessionStore) {
    /// tokio::spawn(async move { store.cleanup_every(Duration::from_secs(600)).await });
    /// # }
    /// ```
    pub async fn cleanup_every(&self, interval: Duration) {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick completes at once: skip it, so that startup does not delete.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match self.delete_expired().await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "expired sessions deleted"),
                Err(err) => tracing::warn!(error = %err, "deleting expired sessions failed; will retry"),
            }
        }
    }

    async fn delete_expired(&self) -> Result<u64, SqlError> {
        let delete = Query::delete()
            .from_table(Self::TABLE)
            .and_where(Expr::col("expires_at").lte(unix_ms(OffsetDateTime::now_utc())))
            .to_owned();
        self.db.execute(&delete).await
    }
}

/// Unix time in milliseconds, saturating far outside the range sessions use.
fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl SessionStore for SqlSessionStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>> {
        Box::pin(async move {
            let select = Query::select()
                .column("data")
                .from(Self::TABLE)
                .and_where(Expr::col("id").eq(id.as_str()))
                .and_where(Expr::col("expires_at").gt(unix_ms(OffsetDateTime::now_utc())))
                .to_owned();
            let Some(row) = self.db.fetch_optional::<DataRow, _>(&select).await? else { return Ok(None) };
            match serde_json::from_str(&row.data) {
                Ok(record) => Ok(Some(record)),
                Err(err) => {
                    // A row another program wrote: start afresh rather than failing every
                    // request of this user until the row expires.
                    tracing::warn!(error = %err, "a session row is not valid JSON; ignoring it");
                    Ok(None)
                }
            }
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let data = serde_json::to_string(record)?;
            let insert = Query::insert()
                .into_table(Self::TABLE)
                .columns(["id", "data", "expires_at"])
                .values_panic([id.as_str().into(), data.into(), unix_ms(expires_at).into()])
                .on_conflict(OnConflict::column("id").update_columns(["data", "expires_at"]).to_owned())
                .to_owned();
            self.db.execute(&insert).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let delete = Query::delete().from_table(Self::TABLE).and_where(Expr::col("id").eq(id.as_str())).to_owned();
            self.db.execute(&delete).await?;
            Ok(())
        })
    }

    fn cleanup_expired(&self) -> BoxFuture<'_, Result<u64, BoxError>> {
        Box::pin(async move { Ok(self.delete_expired().await?) })
    }
}
