//! [`SqlRememberStore`]: remember-me tokens and epochs in SQL tables (feature `sql`).

use futures_util::future::BoxFuture;
use phial_core::BoxError;
use phial_sql::{Db, Table};
use sea_query::{ColumnDef, Expr, ExprTrait, Index, OnConflict, Query};
use time::OffsetDateTime;

use crate::remember::{RememberRecord, RememberStore};

/// Remember-me tokens and per-user epochs in two tables of a phial-sql [`Db`], on SQLite,
/// PostgreSQL and MariaDB/MySQL: for apps that run as several instances on one database
/// without Redis.
///
/// Select it with `login.remember_store = "sql"` and declare its tables with phial-sql, which
/// then creates them (`create_all`) or writes them into a migration (phial-migrate's
/// `revision --autogenerate`):
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, LoginExtension, SqlRememberStore};
/// use phial_sql::SqlExtension;
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User {
///     fn auth_id(&self) -> String { self.0.clone() }
/// }
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .config_toml("[sql]\nurl = \"sqlite:///app.db\"\n[login]\nremember_store = \"sql\"\n")
///     .extension(SqlExtension::new().tables(SqlRememberStore::tables()))
///     .extension(LoginExtension::new(|id: String| async move { Ok(Some(User(id))) }))
///     .run()
///     .await
/// # }
/// ```
///
/// # The tables
///
/// Written by hand, the migration is the same on all three backends:
///
/// ```sql
/// CREATE TABLE phial_remember_token (
///     selector VARCHAR(64) NOT NULL PRIMARY KEY,
///     data TEXT NOT NULL,
///     expires_at BIGINT NOT NULL
/// );
/// CREATE INDEX ix_phial_remember_token_expires_at ON phial_remember_token (expires_at);
/// CREATE TABLE phial_login_epoch (
///     user_id VARCHAR(255) NOT NULL PRIMARY KEY,
///     epoch BIGINT NOT NULL
/// );
/// ```
///
/// A token row holds the [`RememberRecord`] as JSON (the validator only as its SHA-256) and its
/// expiry as Unix milliseconds; loads ignore expired rows and [`delete_expired`](Self::delete_expired)
/// removes them.
#[derive(Debug, Clone)]
pub struct SqlRememberStore {
    db: Db,
}

impl SqlRememberStore {
    /// The tokens' table.
    pub const TOKENS: &'static str = "phial_remember_token";
    /// The epochs' table.
    pub const EPOCHS: &'static str = "phial_login_epoch";

    /// A store on `db`, whose tables must exist (see [`tables`](Self::tables)).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::SqlRememberStore;
    ///
    /// fn store(db: phial_sql::Db) -> SqlRememberStore {
    ///     SqlRememberStore::new(db)
    /// }
    /// ```
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The declarations of both tables, for `SqlExtension::tables`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::SqlRememberStore;
    ///
    /// let names: Vec<_> = SqlRememberStore::tables().iter().map(|t| t.name().to_owned()).collect();
    /// assert_eq!(names, ["phial_remember_token", "phial_login_epoch"]);
    /// ```
    #[must_use]
    pub fn tables() -> Vec<Table> {
        let tokens = Table::new(
            sea_query::Table::create()
                .table(Self::TOKENS)
                .col(ColumnDef::new("selector").string_len(64).not_null().primary_key())
                .col(ColumnDef::new("data").text().not_null())
                .col(ColumnDef::new("expires_at").big_integer().not_null())
                .to_owned(),
        )
        .index(
            Index::create().name("ix_phial_remember_token_expires_at").table(Self::TOKENS).col("expires_at").to_owned(),
        );
        let epochs = Table::new(
            sea_query::Table::create()
                .table(Self::EPOCHS)
                .col(ColumnDef::new("user_id").string_len(255).not_null().primary_key())
                .col(ColumnDef::new("epoch").big_integer().not_null())
                .to_owned(),
        );
        vec![tokens, epochs]
    }

    /// Deletes expired tokens; returns how many.
    ///
    /// # Errors
    ///
    /// The database's error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(store: phial_login::SqlRememberStore) -> Result<(), phial_sql::SqlError> {
    /// let removed = store.delete_expired().await?;
    /// # let _ = removed; Ok(()) }
    /// ```
    pub async fn delete_expired(&self) -> Result<u64, phial_sql::SqlError> {
        let delete = Query::delete()
            .from_table(Self::TOKENS)
            .and_where(Expr::col("expires_at").lte(unix_ms(OffsetDateTime::now_utc())))
            .to_owned();
        self.db.execute(&delete).await
    }
}

/// Unix time in milliseconds, saturating far outside the range tokens use.
fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl RememberStore for SqlRememberStore {
    fn load<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<Option<RememberRecord>, BoxError>> {
        Box::pin(async move {
            let select = Query::select()
                .column("data")
                .from(Self::TOKENS)
                .and_where(Expr::col("selector").eq(selector))
                .and_where(Expr::col("expires_at").gt(unix_ms(OffsetDateTime::now_utc())))
                .to_owned();
            let Some((data,)) = self.db.fetch_optional::<(String,), _>(&select).await? else { return Ok(None) };
            Ok(Some(serde_json::from_str(&data)?))
        })
    }

    fn save<'a>(&'a self, selector: &'a str, record: &'a RememberRecord) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let data = serde_json::to_string(record)?;
            let insert = Query::insert()
                .into_table(Self::TOKENS)
                .columns(["selector", "data", "expires_at"])
                .values_panic([selector.into(), data.into(), unix_ms(record.expires_at).into()])
                .on_conflict(OnConflict::column("selector").update_columns(["data", "expires_at"]).to_owned())
                .to_owned();
            self.db.execute(&insert).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let delete =
                Query::delete().from_table(Self::TOKENS).and_where(Expr::col("selector").eq(selector)).to_owned();
            self.db.execute(&delete).await?;
            Ok(())
        })
    }

    fn epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(async move {
            let select = Query::select()
                .column("epoch")
                .from(Self::EPOCHS)
                .and_where(Expr::col("user_id").eq(user_id))
                .to_owned();
            let epoch = self.db.fetch_optional::<(i64,), _>(&select).await?.map_or(0, |(epoch,)| epoch);
            Ok(u64::try_from(epoch)?)
        })
    }

    fn bump_epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(async move {
            // One atomic statement on every backend: concurrent bumps each count.
            let upsert = Query::insert()
                .into_table(Self::EPOCHS)
                .columns(["user_id", "epoch"])
                .values_panic([user_id.into(), 1_i64.into()])
                .on_conflict(
                    OnConflict::column("user_id").value("epoch", Expr::col((Self::EPOCHS, "epoch")).add(1)).to_owned(),
                )
                .to_owned();
            self.db.execute(&upsert).await?;
            // Read back: another bump in between can only make the value larger, and a larger
            // epoch still ends every session made before this call.
            self.epoch(user_id).await
        })
    }
}
