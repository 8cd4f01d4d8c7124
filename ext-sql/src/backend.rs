//! Backends: reading URLs the way Flask-SQLAlchemy users write them, and connecting with safe
//! defaults (SQLite WAL and foreign keys, statement timeouts, rustls).

use std::path::Path;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::time::Duration;

use crate::config::PoolConfig;
use crate::error::SqlError;

/// Which database a URL points at.
///
/// # Examples
///
/// ```
/// use phial_sql::Backend;
///
/// assert_eq!(Backend::from_url("postgresql://localhost/app")?, Backend::Postgres);
/// assert_eq!(Backend::from_url("sqlite:///app.db")?, Backend::Sqlite);
/// assert_eq!(Backend::from_url("mariadb://localhost/app")?, Backend::MySql);
/// # Ok::<(), phial_sql::SqlError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (feature `sqlite`).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
    /// MariaDB or MySQL (feature `mysql`).
    MySql,
}

impl Backend {
    /// The backend of `url`, by scheme.
    ///
    /// # Errors
    ///
    /// [`SqlError::Config`] for an unknown scheme.
    pub fn from_url(url: &str) -> Result<Self, SqlError> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        // SQLAlchemy URLs may name a driver: `postgresql+psycopg2://`, `mysql+pymysql://`.
        let scheme = scheme.split('+').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(SqlError::Config(format!(
                "unsupported database URL scheme `{scheme}`; use sqlite://, postgres:// or mysql://"
            ))),
        }
    }

    /// The backend's name as used in features and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    fn feature_enabled(self) -> bool {
        match self {
            Self::Sqlite => cfg!(feature = "sqlite"),
            Self::Postgres => cfg!(feature = "postgres"),
            Self::MySql => cfg!(feature = "mysql"),
        }
    }
}

/// Where an SQLite URL points.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteTarget {
    Memory,
    File(PathBuf),
}

/// Reads an SQLite URL with SQLAlchemy's rules; relative paths resolve against `instance`.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_target(url: &str, instance: &Path) -> SqliteTarget {
    let rest = url.split_once(':').map_or("", |(_, rest)| rest);
    let rest = rest.split('?').next().unwrap_or_default();
    let path = if let Some(abs) = rest.strip_prefix("////") {
        return SqliteTarget::File(PathBuf::from(format!("/{abs}")));
    } else if let Some(rel) = rest.strip_prefix("///") {
        rel
    } else if let Some(rel) = rest.strip_prefix("//") {
        rel
    } else {
        rest
    };
    if path.is_empty() || path == ":memory:" { SqliteTarget::Memory } else { SqliteTarget::File(instance.join(path)) }
}

fn secs(value: f64) -> Option<Duration> {
    (value > 0.0).then(|| Duration::from_secs_f64(value))
}

/// A connected pool of one backend.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// What connecting produced: the pool and, for in-memory SQLite, the connection that keeps
/// the database alive while the pool's own connections come and go.
pub(crate) struct Connected {
    pub(crate) pool: Pool,
    #[cfg(feature = "sqlite")]
    pub(crate) keepalive: Option<std::sync::Mutex<sqlx::SqliteConnection>>,
    pub(crate) description: String,
}

/// The pool options every backend shares. No ping when a connection is taken out: a SQLite
/// connection is a file handle in this process that no server or network can close (and sqlx
/// answers its ping on the connection's worker thread, which doubled every statement's thread
/// round trips); servers get [`network_pool_options`].
fn pool_options<DB: sqlx::Database>(config: &PoolConfig) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(config.pool_size.max(1))
        .min_connections(config.min_idle)
        .acquire_timeout(secs(config.acquire_timeout).unwrap_or(Duration::from_secs(5)))
        .idle_timeout(secs(config.idle_timeout))
        .max_lifetime(secs(config.max_lifetime))
        .test_before_acquire(false)
}

/// [`pool_options`] for a server over the network: a connection idle for more than
/// `pre_ping_after` is pinged when taken out, and replaced when the ping fails (the hook's
/// error makes sqlx close it and take or open another). sqlx's own `test_before_acquire`
/// pings every time, which cost every statement a second round trip to the server.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn network_pool_options<DB: sqlx::Database>(config: &PoolConfig) -> sqlx::pool::PoolOptions<DB> {
    let after = Duration::try_from_secs_f64(config.pre_ping_after).unwrap_or(Duration::ZERO);
    pool_options(config).before_acquire(move |conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= after {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

/// Connects to `url`, waiting at most the acquire timeout.
pub(crate) async fn connect(url: &str, config: &PoolConfig, instance: &Path) -> Result<Connected, SqlError> {
    let backend = Backend::from_url(url)?;
    if !backend.feature_enabled() {
        return Err(SqlError::Config(format!(
            "the URL is for {0}, but phial-sql was built without feature `{0}`; enable `phial/{0}`",
            backend.name()
        )));
    }
    let bound = secs(config.acquire_timeout).unwrap_or(Duration::from_secs(5)) + Duration::from_secs(1);
    let connecting = connect_backend(backend, url, config, instance);
    tokio::time::timeout(bound, connecting).await.map_err(|_| {
        SqlError::Unavailable(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {}s", bound.as_secs_f64()),
        )))
    })?
}

#[cfg_attr(not(feature = "sqlite"), expect(unused_variables, reason = "only SQLite reads `instance`"))]
async fn connect_backend(
    backend: Backend,
    url: &str,
    config: &PoolConfig,
    instance: &Path,
) -> Result<Connected, SqlError> {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => connect_sqlite(url, config, instance).await,
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            use std::str::FromStr;
            let mut options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(SqlError::from)?;
            if let Some(timeout) = secs(config.statement_timeout) {
                options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
            }
            let description = format!(
                "postgres {}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("")
            );
            let pool = network_pool_options(config).connect_with(options).await?;
            Ok(Connected {
                pool: Pool::Postgres(pool),
                #[cfg(feature = "sqlite")]
                keepalive: None,
                description,
            })
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            use std::str::FromStr;
            let url = url.replacen("mariadb://", "mysql://", 1);
            let options = sqlx::mysql::MySqlConnectOptions::from_str(&url).map_err(SqlError::from)?.charset("utf8mb4");
            let description =
                format!("mysql {}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""));
            let timeout = secs(config.statement_timeout);
            let pool = network_pool_options(config)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if let Some(timeout) = timeout {
                            set_mysql_statement_timeout(conn, timeout).await;
                        }
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Connected {
                pool: Pool::MySql(pool),
                #[cfg(feature = "sqlite")]
                keepalive: None,
                description,
            })
        }
        #[cfg_attr(
            all(feature = "sqlite", feature = "postgres", feature = "mysql"),
            expect(unreachable_patterns, reason = "reachable only when a backend feature is off")
        )]
        _ => Err(SqlError::Config(format!("backend {} is not compiled in", backend.name()))),
    }
}

/// MariaDB names the limit `max_statement_time` (seconds), MySQL `max_execution_time`
/// (milliseconds, SELECT only); set whichever the server knows.
#[cfg(feature = "mysql")]
async fn set_mysql_statement_timeout(conn: &mut sqlx::MySqlConnection, timeout: Duration) {
    let mariadb = format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64());
    if sqlx::query(sqlx::AssertSqlSafe(mariadb)).execute(&mut *conn).await.is_err() {
        let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
        let _ = sqlx::query(sqlx::AssertSqlSafe(mysql)).execute(&mut *conn).await;
    }
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str, config: &PoolConfig, instance: &Path) -> Result<Connected, SqlError> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let busy = secs(config.busy_timeout).unwrap_or(Duration::from_secs(5));
    match sqlite_target(url, instance) {
        SqliteTarget::File(path) => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|err| SqlError::Unavailable(sqlx::Error::Io(err)))?;
            }
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(busy)
                .foreign_keys(true);
            let pool = pool_options(config).connect_with(options).await?;
            Ok(Connected {
                pool: Pool::Sqlite(pool),
                keepalive: None,
                description: format!("sqlite {}", path.display()),
            })
        }
        SqliteTarget::Memory => {
            // Every connection to a plain `:memory:` database gets its own empty database. A
            // named shared-cache database is shared by the pool's connections, and lives as
            // long as one of them is open: the keepalive connection, held for the pool's life.
            let mut name = [0u8; 8];
            getrandom::fill(&mut name)
                .map_err(|err| SqlError::Config(format!("no randomness for a database name: {err}")))?;
            // The `file:` form is what makes SQLite treat the name as a URI for a shared cache.
            let name = format!("file:phial-memory-{}", u64::from_le_bytes(name));
            let options = SqliteConnectOptions::new()
                .filename(&name)
                .in_memory(true)
                .shared_cache(true)
                .busy_timeout(busy)
                .foreign_keys(true);
            let keepalive = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await?;
            let pool = pool_options(config).idle_timeout(None).max_lifetime(None).connect_with(options).await?;
            Ok(Connected {
                pool: Pool::Sqlite(pool),
                keepalive: Some(std::sync::Mutex::new(keepalive)),
                description: "sqlite in memory".to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "sqlite")]
    fn sqlite_urls_follow_sqlalchemy() {
        let instance = Path::new("/srv/app/instance");
        assert_eq!(sqlite_target("sqlite:///app.db", instance), SqliteTarget::File(instance.join("app.db")));
        assert_eq!(sqlite_target("sqlite:////var/db/app.db", instance), SqliteTarget::File("/var/db/app.db".into()));
        assert_eq!(sqlite_target("sqlite://", instance), SqliteTarget::Memory);
        assert_eq!(sqlite_target("sqlite::memory:", instance), SqliteTarget::Memory);
        assert_eq!(sqlite_target("sqlite:///:memory:", instance), SqliteTarget::Memory);
        assert_eq!(
            sqlite_target("sqlite:data/app.db?mode=rwc", instance),
            SqliteTarget::File(instance.join("data/app.db"))
        );
    }

    #[test]
    fn unknown_scheme_is_a_config_error() {
        let err = Backend::from_url("oracle://x").unwrap_err().to_string();
        assert!(err.contains("oracle"), "{err}");
    }
}
