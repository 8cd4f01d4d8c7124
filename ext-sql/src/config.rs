//! [`SqlConfig`]: section `[sql]`, with Flask-SQLAlchemy's keys beside each field.

use std::collections::BTreeMap;

use phial_core::Secret;
use serde::{Deserialize, Serialize};

/// Section `[sql]` of `phial.toml`.
///
/// # Examples
///
/// ```toml
/// [sql]
/// url = "sqlite:///app.db"          # SQLALCHEMY_DATABASE_URI (also env DATABASE_URL)
/// pool_size = 10
/// echo = false                      # SQLALCHEMY_ECHO
///
/// [sql.binds.analytics]             # SQLALCHEMY_BINDS
/// url = "postgres://localhost/analytics"
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SqlConfig {
    /// The default database. Flask: `SQLALCHEMY_DATABASE_URI`; the env var `DATABASE_URL` is
    /// honoured. SQLite URLs follow SQLAlchemy: `sqlite:///app.db` is relative to
    /// `app.instance_path`, `sqlite:////abs/app.db` absolute, `sqlite://` or
    /// `sqlite::memory:` in memory. Postgres: `postgres://user:pw@host/db`; MariaDB/MySQL:
    /// `mysql://user:pw@host/db`. A secret because URLs carry passwords.
    pub url: Secret,
    /// Pool options of the default database (binds have their own).
    #[serde(flatten)]
    pub pool: PoolConfig,
    /// Log every statement at `info`. Flask: `SQLALCHEMY_ECHO`.
    pub echo: bool,
    /// Record each request's statements (SQL, parameter count, duration, caller) for
    /// [`RecordedQueries`](crate::RecordedQueries). Flask: `SQLALCHEMY_RECORD_QUERIES`.
    pub record_queries: bool,
    /// Statements slower than this many seconds are logged as warnings (`0` disables).
    pub slow_query_threshold: f64,
    /// Extra named databases. Flask: `SQLALCHEMY_BINDS`.
    pub binds: BTreeMap<String, BindConfig>,
    /// Default `per_page` of [`PageRequest`](crate::PageRequest) (Flask-SQLAlchemy: 20).
    pub per_page: u64,
    /// The cap on `per_page`, applied on every path (Flask-SQLAlchemy: `max_per_page`, 100).
    pub max_per_page: u64,
    /// Bad or out-of-range `page`/`per_page` → 404 (Flask-SQLAlchemy's `error_out=True`);
    /// `false` clamps them instead.
    pub error_out: bool,
    /// Seconds between deletions of expired sessions when
    /// [`SqlExtension::session_store`](crate::SqlExtension::session_store) is on (`0` never
    /// deletes; expired sessions are ignored either way). Default 600. Flask-Session:
    /// `SESSION_CLEANUP_N_REQUESTS`, which cleans up on a share of requests instead.
    pub session_cleanup_interval: f64,
}

impl Default for SqlConfig {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            pool: PoolConfig::default(),
            echo: false,
            record_queries: false,
            slow_query_threshold: 0.5,
            binds: BTreeMap::new(),
            per_page: 20,
            max_per_page: 100,
            error_out: true,
            session_cleanup_interval: 600.0,
        }
    }
}

/// One extra database under `[sql.binds.<name>]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BindConfig {
    /// The bind's URL (same forms as [`SqlConfig::url`]).
    pub url: Secret,
    /// Its pool options.
    #[serde(flatten)]
    pub pool: PoolConfig,
}

/// Pool options, with SQLAlchemy's engine options they replace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most connections open at once. SQLAlchemy: `pool_size` + `max_overflow`.
    pub pool_size: u32,
    /// Connections kept open when idle.
    pub min_idle: u32,
    /// Seconds to wait for a connection (and for connecting) before failing with 503.
    /// SQLAlchemy: `pool_timeout`.
    pub acquire_timeout: f64,
    /// Seconds an idle connection is kept (`0` keeps it).
    pub idle_timeout: f64,
    /// Seconds before a connection is replaced (`0` never). SQLAlchemy: `pool_recycle`.
    pub max_lifetime: f64,
    /// Seconds a statement may run (Postgres `statement_timeout`, MariaDB
    /// `max_statement_time`, MySQL `max_execution_time`; `0` unlimited; SQLite has none).
    pub statement_timeout: f64,
    /// Seconds SQLite waits on a locked database before failing.
    pub busy_timeout: f64,
    /// Seconds a PostgreSQL or MariaDB connection may sit idle in the pool before it is
    /// pinged when taken out: one the server or the network closed meanwhile (a restart, a
    /// failover, an idle timeout) is then replaced instead of failing a request. A connection
    /// that was busy moments ago is used without the extra round trip; `0` pings every time.
    /// SQLAlchemy: `pool_pre_ping` (every time). SQLite connections are never pinged.
    pub pre_ping_after: f64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            pool_size: 10,
            min_idle: 0,
            acquire_timeout: 5.0,
            idle_timeout: 600.0,
            max_lifetime: 1800.0,
            statement_timeout: 30.0,
            busy_timeout: 5.0,
            pre_ping_after: 1.0,
        }
    }
}
