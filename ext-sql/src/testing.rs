//! A fresh, isolated database per test (feature `testing`).

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};

#[cfg(any(feature = "postgres", feature = "mysql"))]
use phial_core::testing::{Service, service_url};

use crate::backend::Backend;
use crate::config::SqlConfig;
use crate::databases::Databases;
use crate::db::Db;
use crate::error::SqlError;
use crate::tx::Pinned;

enum Cleanup {
    Folder(PathBuf),
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    Database {
        admin_url: String,
        name: String,
        backend: Backend,
    },
}

/// A database made for one test and removed afterwards: a temporary SQLite file, or a
/// temporary database on the PostgreSQL or MariaDB server of `PHIAL_TEST_*_URL`.
///
/// Tests running in parallel each get their own, so they never see each other's rows.
///
/// # Examples
///
/// ```no_run
/// use phial_sql::testing::TestDatabase;
///
/// # async fn test() {
/// for database in TestDatabase::available().await {
///     let config = database.config();
///     // build the app with `.set("sql.url", database.url())` and test it
///     # let _ = config;
/// }
/// # }
/// ```
pub struct TestDatabase {
    url: String,
    backend: Backend,
    cleanup: Cleanup,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase").field("backend", &self.backend).finish_non_exhaustive()
    }
}

fn random_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    format!("phial_test_{:016x}", u64::from_le_bytes(bytes))
}

/// `url` with its database (path) replaced by `name`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl TestDatabase {
    /// A temporary SQLite database file.
    ///
    /// # Panics
    ///
    /// When the temporary folder cannot be created.
    pub fn sqlite() -> Self {
        let folder = std::env::temp_dir().join(random_name());
        std::fs::create_dir_all(&folder).expect("temporary folder");
        let url = format!("sqlite:///{}", folder.join("test.db").display());
        // `sqlite:///` + an absolute path = four slashes: absolute, as SQLAlchemy reads it.
        Self { url, backend: Backend::Sqlite, cleanup: Cleanup::Folder(folder) }
    }

    /// A temporary database on the PostgreSQL server, or `None` (test skipped) when it is
    /// unreachable; see [`service_url`].
    ///
    /// # Panics
    ///
    /// When the server is reachable but refuses `CREATE DATABASE`, or is unreachable and
    /// `PHIAL_TEST_REQUIRE_SERVICES=1`.
    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Option<Self> {
        let admin_url = service_url(Service::Postgres)?;
        let name = random_name();
        let mut admin =
            <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        let _ = sqlx::Connection::close(admin).await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            url,
            backend: Backend::Postgres,
            cleanup: Cleanup::Database { admin_url, name, backend: Backend::Postgres },
        })
    }

    /// A temporary database on the MariaDB/MySQL server, or `None` (test skipped) when it is
    /// unreachable; see [`service_url`].
    ///
    /// # Panics
    ///
    /// As [`postgres`](Self::postgres).
    #[cfg(feature = "mysql")]
    pub async fn mysql() -> Option<Self> {
        let admin_url = service_url(Service::MySql)?;
        let name = random_name();
        let mut admin =
            <sqlx::MySqlConnection as sqlx::Connection>::connect(&admin_url).await.expect("connect to MariaDB");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        let _ = sqlx::Connection::close(admin).await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            url,
            backend: Backend::MySql,
            cleanup: Cleanup::Database { admin_url, name, backend: Backend::MySql },
        })
    }

    /// One database per enabled backend whose server is reachable: SQLite always.
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        expect(clippy::unused_async, reason = "async when a server backend is compiled in")
    )]
    pub async fn available() -> Vec<Self> {
        #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), expect(unused_mut, reason = "only SQLite"))]
        let mut all = vec![Self::sqlite()];
        #[cfg(feature = "postgres")]
        all.extend(Self::postgres().await);
        #[cfg(feature = "mysql")]
        all.extend(Self::mysql().await);
        all
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A `[sql]` config pointing at this database.
    pub fn config(&self) -> SqlConfig {
        SqlConfig { url: self.url.clone().into(), ..SqlConfig::default() }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Folder(folder) => {
                let _ = std::fs::remove_dir_all(folder);
            }
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            Cleanup::Database { admin_url, name, backend } => {
                // Drop runs outside async code more often than not; a short-lived runtime on
                // its own thread works from both.
                let (admin_url, owned_name, backend) = (admin_url.clone(), name.clone(), *backend);
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(drop_database(&admin_url, &owned_name, backend))
                })
                .join();
                if !matches!(dropped, Ok(Some(()))) {
                    tracing::warn!(database = %name, "could not drop the test database");
                }
            }
        }
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn drop_database(admin_url: &str, name: &str, backend: Backend) -> Option<()> {
    match backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await.ok()?;
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.ok()?;
            Some(())
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let mut admin = <sqlx::MySqlConnection as sqlx::Connection>::connect(admin_url).await.ok()?;
            // The test's pool may still hold connections (and their metadata locks) whose tasks
            // cannot run while this drop blocks the test's runtime: end them first, and bound
            // the wait, so a leftover lock costs a leaked database rather than a hung test.
            let others: Vec<u64> = sqlx::query_scalar(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
            )
            .bind(name)
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
            for id in others {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}"))).execute(&mut admin).await;
            }
            let _ = sqlx::query("SET SESSION lock_wait_timeout = 10").execute(&mut admin).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                .execute(&mut admin)
                .await
                .ok()?;
            Some(())
        }
        _ => Some(()),
    }
}

/// Transaction-per-test mode: while it is open, every statement on the app's databases (through
/// [`Db`], [`Tx`](crate::Tx), `create_all`, any clone of them) runs inside one transaction
/// per database, and [`rollback`](Self::rollback) (or dropping it) discards all of it.
///
/// Many tests can then share one database with its schema created once, each seeing only its
/// own rows, without paying for a fresh database per test. A request's transaction becomes a
/// savepoint inside the test's, so commit-on-success and rollback-on-error still behave as in
/// production: a handler that fails leaves no row even within the test.
///
/// Limits: the statements of one test share one connection, so send a test's requests one at
/// a time (as awaiting each [`TestClient`](phial_core::testing::TestClient) call does); on
/// MariaDB/MySQL, DDL commits by itself, so create the schema before opening the transaction;
/// on SQLite, a test that writes holds the database's write lock until it ends, so tests
/// sharing one SQLite file wait for each other (give each its own [`TestDatabase`] instead).
///
/// # Examples
///
/// ```
/// use phial_sql::testing::{TestDatabase, TestTransaction};
/// use phial_sql::{Databases, Table};
/// use sea_query::{ColumnDef, Expr, Query};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_sql::SqlError> {
/// let database = TestDatabase::sqlite();
/// let note = Table::new(sea_query::Table::create().table("note").col(ColumnDef::new("body").text()).to_owned());
/// let databases = Databases::connect(&database.config(), std::path::Path::new("."), vec![note]).await?;
/// databases.create_all("default").await?; // the schema, created once for every test
/// let db = databases.default_db();
///
/// let test = TestTransaction::begin(&databases).await?;
/// db.execute(&Query::insert().into_table("note").columns(["body"]).values_panic(["kept?".into()]).to_owned()).await?;
/// let count = Query::select().expr(Expr::cust("COUNT(*)")).from("note").to_owned();
/// assert_eq!(db.fetch_scalar::<i64, _>(&count).await?, 1); // visible inside the test
/// test.rollback().await?;
/// assert_eq!(db.fetch_scalar::<i64, _>(&count).await?, 0); // and gone afterwards
/// # Ok(()) }
/// ```
#[must_use = "the transaction is rolled back when this is dropped"]
pub struct TestTransaction {
    open: Vec<(Db, Arc<Pinned>)>,
}

impl std::fmt::Debug for TestTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let binds: Vec<&str> = self.open.iter().map(|(db, _)| db.name()).collect();
        f.debug_struct("TestTransaction").field("binds", &binds).finish()
    }
}

impl TestTransaction {
    /// Opens a transaction on each database (the default one and every bind).
    ///
    /// # Errors
    ///
    /// When a database is unreachable, or already has a test transaction open.
    pub async fn begin(databases: &Databases) -> Result<Self, SqlError> {
        let mut test = Self { open: Vec::new() };
        for db in databases.all() {
            let pinned = Arc::new(Pinned::begin(&db.inner.pool).await?);
            let mut slot = db.inner.pinned.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.is_some() {
                return Err(SqlError::Config(format!("bind `{}` already has a test transaction open", db.name())));
            }
            *slot = Some(Arc::clone(&pinned));
            drop(slot);
            test.open.push((db.clone(), pinned));
        }
        Ok(test)
    }

    /// Rolls back everything written since [`begin`](Self::begin), and returns the databases
    /// to their pools.
    ///
    /// # Errors
    ///
    /// When a rollback fails (the connection is then closed, which discards the writes too).
    pub async fn rollback(mut self) -> Result<(), SqlError> {
        let mut first_error = None;
        for (db, pinned) in std::mem::take(&mut self.open) {
            unpin(&db);
            if let Some(conn) = pinned.take().await
                && let Err(err) = conn.rollback().await
            {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn unpin(db: &Db) {
    db.inner.pinned.lock().unwrap_or_else(PoisonError::into_inner).take();
}

impl Drop for TestTransaction {
    fn drop(&mut self) {
        // The transactions are dropped with the last handle on them; sqlx rolls a dropped
        // transaction back before its connection returns to the pool.
        for (db, _) in &self.open {
            unpin(db);
        }
    }
}

#[cfg(all(test, any(feature = "postgres", feature = "mysql")))]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@127.0.0.1:3306/x?ssl-mode=disabled"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
