//! The version table: one row per applied revision, with its checksum, when it was applied,
//! how long it took, and the progress of a revision that failed part-way.
//!
//! Created on first use, per backend:
//!
//! | column | meaning |
//! |---|---|
//! | `revision` (primary key) | the revision id |
//! | `checksum` | SHA-256 of the file as applied (CRLF and BOM normalized) |
//! | `message` | the revision's message |
//! | `applied_at` | when (UTC) |
//! | `execution_ms` | how long its statements took |
//! | `dirty` | `true` while a statement-by-statement run is under way or after it failed part-way |
//! | `statements_applied` | statements committed by the last such run |
//! | `operation` | `upgrade` or `downgrade`: what the dirty run was doing |

use phial_sql::Backend;
use sqlx::Row;
use time::OffsetDateTime;

use crate::error::MigrateError;
use crate::session::{Session, on_conn};
use crate::split::Dialect;

/// One row of the version table.
///
/// # Examples
///
/// ```
/// # async fn show(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let status = migrator.status().await?;
/// for row in status.rows() {
///     println!("{} applied at {} in {} ms", row.revision, row.applied_at, row.execution_ms);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedRevision {
    /// The revision id.
    pub revision: String,
    /// The file's checksum when it was applied (or last repaired).
    pub checksum: String,
    /// The revision's message.
    pub message: String,
    /// When it was applied.
    pub applied_at: OffsetDateTime,
    /// How long its statements took, in milliseconds.
    pub execution_ms: i64,
    /// Whether a statement-by-statement run of it failed part-way (or is under way).
    pub dirty: bool,
    /// Statements committed by its last statement-by-statement run.
    pub statements_applied: i64,
    /// `upgrade` or `downgrade`: what its last run was doing.
    pub operation: String,
}

/// The version table's `CREATE TABLE IF NOT EXISTS` in `dialect`.
pub(crate) fn create_table_sql(dialect: Dialect, t: &str) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS {t} (revision VARCHAR(64) PRIMARY KEY, checksum VARCHAR(64) NOT NULL, \
             message TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL, execution_ms BIGINT NOT NULL, \
             dirty BOOLEAN NOT NULL, statements_applied BIGINT NOT NULL, operation VARCHAR(16) NOT NULL)"
        ),
        Dialect::MySql => format!(
            "CREATE TABLE IF NOT EXISTS {t} (revision VARCHAR(64) NOT NULL PRIMARY KEY, checksum VARCHAR(64) NOT \
             NULL, message TEXT NOT NULL, applied_at DATETIME(6) NOT NULL, execution_ms BIGINT NOT NULL, \
             dirty BOOLEAN NOT NULL, statements_applied BIGINT NOT NULL, operation VARCHAR(16) NOT NULL) \
             CHARACTER SET utf8mb4"
        ),
        Dialect::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS {t} (revision TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, \
             message TEXT NOT NULL, applied_at TEXT NOT NULL, execution_ms INTEGER NOT NULL, \
             dirty BOOLEAN NOT NULL, statements_applied INTEGER NOT NULL, operation TEXT NOT NULL)"
        ),
    }
}

/// The column list of the version table, in the order of its `INSERT`s.
pub(crate) const COLUMNS: &str =
    "revision, checksum, message, applied_at, execution_ms, dirty, statements_applied, operation";

/// A value bound to a version-table statement.
enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
    Time(OffsetDateTime),
}

impl Session {
    /// `?` on SQLite and MySQL, `$n` on PostgreSQL.
    fn placeholder(&self, n: usize) -> String {
        if self.backend == Backend::Postgres { format!("${n}") } else { "?".to_owned() }
    }

    async fn bound(&mut self, sql: String, values: Vec<Value>) -> Result<u64, MigrateError> {
        let sql = sqlx::AssertSqlSafe(sql);
        on_conn!(&mut self.conn, |c| {
            let mut query = sqlx::query(sql);
            for value in values {
                query = match value {
                    Value::Text(v) => query.bind(v),
                    Value::Int(v) => query.bind(v),
                    Value::Bool(v) => query.bind(v),
                    Value::Time(v) => query.bind(v),
                };
            }
            Ok(query.execute(&mut *c).await?.rows_affected())
        })
    }

    /// Creates the version table if it does not exist.
    pub(crate) async fn ensure_table(&mut self) -> Result<(), MigrateError> {
        let sql = create_table_sql(Dialect::from(self.backend), &self.table);
        self.raw(&sql).await
    }

    /// Whether the version table exists (read-only commands do not create it).
    pub(crate) async fn table_exists(&mut self) -> Result<bool, MigrateError> {
        let table = self.table.clone();
        self.has_table(&table).await
    }

    /// Whether table `table` exists in the connection's schema.
    pub(crate) async fn has_table(&mut self, table: &str) -> Result<bool, MigrateError> {
        let table = table.to_owned();
        let count: i64 = on_conn!(&mut self.conn, |c| {
            let sql = match self.backend {
                Backend::Postgres => {
                    "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))"
                }
                Backend::MySql => {
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
                }
                _ => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            };
            sqlx::query_scalar(sql).bind(table).fetch_one(&mut *c).await?
        });
        Ok(count > 0)
    }

    /// Every row, oldest first.
    pub(crate) async fn read_rows(&mut self) -> Result<Vec<AppliedRevision>, MigrateError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {} ORDER BY applied_at, revision", self.table));
        on_conn!(&mut self.conn, |c| {
            let rows = sqlx::query(sql).fetch_all(&mut *c).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(AppliedRevision {
                    revision: row.try_get("revision")?,
                    checksum: row.try_get("checksum")?,
                    message: row.try_get("message")?,
                    applied_at: row.try_get("applied_at")?,
                    execution_ms: row.try_get("execution_ms")?,
                    dirty: row.try_get("dirty")?,
                    statements_applied: row.try_get("statements_applied")?,
                    operation: row.try_get("operation")?,
                });
            }
            Ok(out)
        })
    }

    /// Adds a row: clean after a transactional run, dirty at the start of a tracked one.
    pub(crate) async fn insert_row(&mut self, row: &AppliedRevision) -> Result<(), MigrateError> {
        let places: Vec<String> = (1..=8).map(|n| self.placeholder(n)).collect();
        let sql = format!("INSERT INTO {} ({COLUMNS}) VALUES ({})", self.table, places.join(", "));
        let values = vec![
            Value::Text(row.revision.clone()),
            Value::Text(row.checksum.clone()),
            Value::Text(row.message.clone()),
            Value::Time(row.applied_at),
            Value::Int(row.execution_ms),
            Value::Bool(row.dirty),
            Value::Int(row.statements_applied),
            Value::Text(row.operation.clone()),
        ];
        self.bound(sql, values).await.map(|_| ())
    }

    /// Records progress of a tracked run: `dirty`, how many statements committed, and which way.
    pub(crate) async fn set_progress(
        &mut self,
        revision: &str,
        dirty: bool,
        statements: i64,
        operation: &str,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET dirty = {}, statements_applied = {}, operation = {} WHERE revision = {}",
            self.table,
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3),
            self.placeholder(4)
        );
        let values = vec![
            Value::Bool(dirty),
            Value::Int(statements),
            Value::Text(operation.to_owned()),
            Value::Text(revision.to_owned()),
        ];
        self.bound(sql, values).await.map(|_| ())
    }

    /// Marks a row clean and applied now, with the file's current checksum.
    pub(crate) async fn mark_applied(
        &mut self,
        revision: &str,
        checksum: &str,
        statements: i64,
        execution_ms: i64,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET dirty = {}, statements_applied = {}, execution_ms = {}, applied_at = {}, checksum = {}, \
             operation = 'upgrade' WHERE revision = {}",
            self.table,
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3),
            self.placeholder(4),
            self.placeholder(5),
            self.placeholder(6)
        );
        let values = vec![
            Value::Bool(false),
            Value::Int(statements),
            Value::Int(execution_ms),
            Value::Time(now_micros()),
            Value::Text(checksum.to_owned()),
            Value::Text(revision.to_owned()),
        ];
        self.bound(sql, values).await.map(|_| ())
    }

    /// Accepts the file's current checksum for an applied revision.
    pub(crate) async fn set_checksum(&mut self, revision: &str, checksum: &str) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET checksum = {} WHERE revision = {}",
            self.table,
            self.placeholder(1),
            self.placeholder(2)
        );
        self.bound(sql, vec![Value::Text(checksum.to_owned()), Value::Text(revision.to_owned())]).await.map(|_| ())
    }

    /// Removes a revision's row.
    pub(crate) async fn delete_row(&mut self, revision: &str) -> Result<(), MigrateError> {
        let sql = format!("DELETE FROM {} WHERE revision = {}", self.table, self.placeholder(1));
        self.bound(sql, vec![Value::Text(revision.to_owned())]).await.map(|_| ())
    }

    /// Removes every row (`stamp --purge`).
    pub(crate) async fn delete_all_rows(&mut self) -> Result<(), MigrateError> {
        let sql = format!("DELETE FROM {}", self.table);
        self.raw(&sql).await
    }
}

/// Now, in whole microseconds: what every backend stores.
fn now_micros() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.microsecond() * 1000).unwrap_or(now)
}

impl AppliedRevision {
    /// A row for `revision` as applied now.
    pub(crate) fn now(revision: &crate::Revision, dirty: bool, operation: &str) -> Self {
        Self {
            revision: revision.id().to_owned(),
            checksum: revision.checksum().to_owned(),
            message: revision.message().to_owned(),
            applied_at: now_micros(),
            execution_ms: 0,
            dirty,
            statements_applied: 0,
            operation: operation.to_owned(),
        }
    }
}
