//! [`Session`]: the one dedicated connection a command runs on, the migration lock it holds,
//! and the transaction boundaries of each backend.
//!
//! The connection is taken from phial-sql's pool and detached from it, so it is never shared
//! with requests and never handed back: closing it (or the process dying) ends the session,
//! and with it the session-scoped lock.
//!
//! | backend | lock | a revision runs in |
//! |---|---|---|
//! | PostgreSQL | `pg_try_advisory_lock`, polled until the lock timeout | `BEGIN` ... `COMMIT` |
//! | MariaDB/MySQL | `GET_LOCK(name, timeout)` | no transaction (DDL commits itself): statement by statement, progress recorded |
//! | SQLite | `BEGIN IMMEDIATE` with the busy timeout set to the lock timeout, held for the whole run | `SAVEPOINT` ... `RELEASE` |

use std::time::Duration;

use phial_sql::{Backend, Db};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sha2::{Digest, Sha256};

use crate::error::MigrateError;

/// The dedicated connection of one backend.
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlConnection),
}

/// Runs `$body` with `$c` bound to the backend's `&mut` connection; the body is compiled once
/// per enabled backend, so sqlx types stay concrete.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::session::Conn::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::session::Conn::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::session::Conn::MySql($c) => $body,
        }
    };
}
pub(crate) use on_conn;

/// How the migration lock is held, to release it the same way.
enum Lock {
    #[cfg(feature = "postgres")]
    Advisory(i64),
    #[cfg(feature = "mysql")]
    Named(String),
    #[cfg(feature = "sqlite")]
    Immediate,
}

/// One dedicated connection, with the migration lock once [`lock`](Self::lock) succeeded.
pub(crate) struct Session {
    pub(crate) conn: Conn,
    pub(crate) backend: Backend,
    pub(crate) table: String,
    lock: Option<Lock>,
    lock_timeout: Duration,
}

fn unavailable(backend: Backend) -> MigrateError {
    MigrateError::Config(format!(
        "the database is {0}, but phial-migrate was built without feature `{0}`; enable `phial/{0}`",
        backend.name()
    ))
}

#[cfg(feature = "postgres")]
async fn detach_postgres(db: &Db) -> Result<Conn, MigrateError> {
    let pool = db.postgres_pool().ok_or_else(|| unavailable(db.backend()))?;
    let mut conn = pool.acquire().await.map_err(phial_sql::SqlError::from)?.detach();
    // Migrations may run long (an index on a big table); the app's statement timeout is for
    // requests.
    sqlx::raw_sql("SET statement_timeout = 0").execute(&mut conn).await?;
    Ok(Conn::Postgres(conn))
}

#[cfg(feature = "mysql")]
async fn detach_mysql(db: &Db) -> Result<Conn, MigrateError> {
    let pool = db.mysql_pool().ok_or_else(|| unavailable(db.backend()))?;
    let mut conn = pool.acquire().await.map_err(phial_sql::SqlError::from)?.detach();
    // MariaDB names the limit max_statement_time, MySQL max_execution_time.
    if sqlx::raw_sql("SET SESSION max_statement_time = 0").execute(&mut conn).await.is_err() {
        let _ = sqlx::raw_sql("SET SESSION max_execution_time = 0").execute(&mut conn).await;
    }
    Ok(Conn::MySql(conn))
}

#[cfg(feature = "sqlite")]
async fn detach_sqlite(db: &Db) -> Result<Conn, MigrateError> {
    let pool = db.sqlite_pool().ok_or_else(|| unavailable(db.backend()))?;
    Ok(Conn::Sqlite(pool.acquire().await.map_err(phial_sql::SqlError::from)?.detach()))
}

impl Session {
    /// Takes a connection out of `db`'s pool for this command alone.
    pub(crate) async fn open(db: &Db, table: &str, lock_timeout: Duration) -> Result<Self, MigrateError> {
        let backend = db.backend();
        let conn = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => detach_sqlite(db).await?,
            #[cfg(feature = "postgres")]
            Backend::Postgres => detach_postgres(db).await?,
            #[cfg(feature = "mysql")]
            Backend::MySql => detach_mysql(db).await?,
            // `Backend` is non-exhaustive, and backends can be compiled out.
            _ => return Err(unavailable(backend)),
        };
        Ok(Self { conn, backend, table: table.to_owned(), lock: None, lock_timeout })
    }

    /// Takes the migration lock, waiting at most the lock timeout.
    pub(crate) async fn lock(&mut self) -> Result<(), MigrateError> {
        let timeout = self.lock_timeout;
        let lock = match &mut self.conn {
            #[cfg(feature = "postgres")]
            Conn::Postgres(conn) => {
                let key = advisory_key(&self.table);
                poll_advisory(conn, key, timeout).await?;
                Lock::Advisory(key)
            }
            #[cfg(feature = "mysql")]
            Conn::MySql(conn) => Lock::Named(named_lock(conn, &self.table, timeout).await?),
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(conn) => {
                let busy = format!("PRAGMA busy_timeout = {}", timeout.as_millis());
                sqlx::raw_sql(sqlx::AssertSqlSafe(busy)).execute(&mut *conn).await?;
                begin_immediate(conn, timeout).await?;
                Lock::Immediate
            }
        };
        self.lock = Some(lock);
        Ok(())
    }

    /// SQLite only: leaves the locking transaction (committing what it holds) so that a
    /// `-- no-transaction` revision can run, e.g. `VACUUM`. Other backends keep their lock.
    #[cfg_attr(not(feature = "sqlite"), expect(clippy::unused_async, reason = "only SQLite has work to do"))]
    pub(crate) async fn suspend_sqlite_lock(&mut self) -> Result<bool, MigrateError> {
        #[cfg(feature = "sqlite")]
        if matches!(self.lock, Some(Lock::Immediate)) {
            self.raw("COMMIT").await?;
            self.lock = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Releases the lock. On SQLite this commits the revisions applied under it: a failed
    /// revision was already rolled back to its savepoint.
    pub(crate) async fn unlock(&mut self) -> Result<(), MigrateError> {
        match self.lock.take() {
            None => Ok(()),
            #[cfg(feature = "sqlite")]
            Some(Lock::Immediate) => self.raw("COMMIT").await,
            #[cfg(feature = "postgres")]
            Some(Lock::Advisory(key)) => {
                let sql = format!("SELECT pg_advisory_unlock({key})");
                self.raw(&sql).await
            }
            #[cfg(feature = "mysql")]
            Some(Lock::Named(name)) => {
                let sql = format!("SELECT RELEASE_LOCK('{name}')");
                self.raw(&sql).await
            }
        }
    }

    /// Releases the lock if held and closes the connection, which ends anything left.
    pub(crate) async fn close(mut self) {
        if let Err(err) = self.unlock().await {
            tracing::warn!(error = %err, "releasing the migration lock failed; closing its connection releases it");
        }
        let _ = on_conn!(self.conn, |c| sqlx::Connection::close(c).await);
    }

    /// Runs SQL with no parameters, unprepared (some DDL cannot be prepared on MySQL).
    pub(crate) async fn raw(&mut self, sql: &str) -> Result<(), MigrateError> {
        self.execute(sql).await.map_err(MigrateError::from)
    }

    /// Like [`raw`](Self::raw), keeping the driver's error for the caller to wrap.
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        on_conn!(&mut self.conn, |c| sqlx::raw_sql(sql).execute(&mut *c).await.map(|_| ()))
    }

    /// Whether revisions can run inside a transaction here (not on MariaDB/MySQL, whose DDL
    /// commits itself).
    pub(crate) fn transactional_ddl(&self) -> bool {
        self.backend != Backend::MySql
    }

    /// Opens the transaction of one revision.
    pub(crate) async fn begin_revision(&mut self) -> Result<(), MigrateError> {
        if self.is_sqlite() { self.raw("SAVEPOINT phial_migrate_revision").await } else { self.raw("BEGIN").await }
    }

    /// Commits the transaction of one revision.
    pub(crate) async fn commit_revision(&mut self) -> Result<(), MigrateError> {
        if self.is_sqlite() {
            self.raw("RELEASE SAVEPOINT phial_migrate_revision").await
        } else {
            self.raw("COMMIT").await
        }
    }

    /// Rolls the transaction of one revision back; failures are logged, and closing the
    /// connection afterwards discards whatever is left.
    pub(crate) async fn rollback_revision(&mut self) {
        let result = if self.is_sqlite() {
            match self.raw("ROLLBACK TO SAVEPOINT phial_migrate_revision").await {
                Ok(()) => self.raw("RELEASE SAVEPOINT phial_migrate_revision").await,
                Err(err) => Err(err),
            }
        } else {
            self.raw("ROLLBACK").await
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "rolling back the failed revision failed; its connection will be closed");
        }
    }

    fn is_sqlite(&self) -> bool {
        self.backend == Backend::Sqlite
    }
}

/// A stable 64-bit key per version table (advisory locks are per database already).
#[cfg(feature = "postgres")]
fn advisory_key(table: &str) -> i64 {
    let digest = Sha256::digest(format!("phial-migrate:{table}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Polls `pg_try_advisory_lock` rather than blocking in `pg_advisory_lock`, so the wait is
/// bounded by us and needs no server-side timeout setting.
#[cfg(feature = "postgres")]
async fn poll_advisory(conn: &mut sqlx::PgConnection, key: i64, timeout: Duration) -> Result<(), MigrateError> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    let mut told = false;
    loop {
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?;
        if locked {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(MigrateError::LockTimeout(timeout));
        }
        if !told {
            tracing::info!(timeout_s = timeout.as_secs_f64(), "waiting for the migration lock held by another runner");
            told = true;
        }
        tokio::time::sleep(pause.min(timeout.saturating_sub(started.elapsed()))).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// `GET_LOCK` names are server-wide, so the name includes the database; it is hashed to stay
/// within MySQL's 64 characters.
#[cfg(feature = "mysql")]
async fn named_lock(conn: &mut sqlx::MySqlConnection, table: &str, timeout: Duration) -> Result<String, MigrateError> {
    let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()").fetch_one(&mut *conn).await?;
    let digest = Sha256::digest(format!("{}.{table}", database.unwrap_or_default()).as_bytes());
    let hex = crate::revision::hex(&digest[..20]);
    let name = format!("phial-migrate:{hex}");
    let seconds = i64::try_from(timeout.as_secs().max(1)).unwrap_or(i64::MAX);
    // The server waits at most `seconds`; the client-side bound covers a server that stops
    // answering.
    let query = sqlx::query_scalar::<_, Option<i64>>("SELECT GET_LOCK(?, ?)").bind(&name).bind(seconds);
    let got = tokio::time::timeout(timeout + Duration::from_secs(10), query.fetch_one(&mut *conn))
        .await
        .map_err(|_| MigrateError::LockTimeout(timeout))??;
    match got {
        Some(1) => Ok(name),
        Some(_) => Err(MigrateError::LockTimeout(timeout)),
        None => Err(MigrateError::Config("GET_LOCK failed (returned NULL); is the server out of memory?".to_owned())),
    }
}

#[cfg(feature = "sqlite")]
async fn begin_immediate(conn: &mut sqlx::SqliteConnection, timeout: Duration) -> Result<(), MigrateError> {
    let begin = sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn);
    match tokio::time::timeout(timeout + Duration::from_secs(5), begin).await {
        Err(_) => Err(MigrateError::LockTimeout(timeout)),
        Ok(Ok(_)) => Ok(()),
        // SQLITE_BUSY (5, or an extended code of it) once the busy timeout ran out: another
        // writer holds the database.
        Ok(Err(sqlx::Error::Database(err)))
            if err.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5) =>
        {
            Err(MigrateError::LockTimeout(timeout))
        }
        Ok(Err(err)) => Err(err.into()),
    }
}

/// Re-takes the SQLite lock after a `-- no-transaction` revision.
pub(crate) async fn resume_sqlite_lock(session: &mut Session) -> Result<(), MigrateError> {
    #[cfg(feature = "sqlite")]
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        expect(irrefutable_let_patterns, reason = "the only backend compiled in")
    )]
    if let Conn::Sqlite(conn) = &mut session.conn {
        begin_immediate(conn, session.lock_timeout).await?;
        session.lock = Some(Lock::Immediate);
    }
    #[cfg(not(feature = "sqlite"))]
    let _ = session;
    Ok(())
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_differ_per_table_and_are_stable() {
        assert_eq!(advisory_key("phial_migrations"), advisory_key("phial_migrations"));
        assert_ne!(advisory_key("phial_migrations"), advisory_key("other"));
    }
}
