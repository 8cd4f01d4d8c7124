//! [`Databases`]: the default database and its binds, and the tables declared on them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use phial_core::{AppState, axum};

use crate::backend::connect;
use crate::config::{PoolConfig, SqlConfig};
use crate::db::{Db, DbInner};
use crate::error::SqlError;
use crate::schema::Table;

/// The name of the default database among the binds.
pub const DEFAULT_BIND: &str = "default";

struct Inner {
    default: Db,
    binds: BTreeMap<String, Db>,
    tables: Vec<Table>,
    config: SqlConfig,
}

/// Every configured database: the default one and the named binds (`[sql.binds.<name>]`).
///
/// The state [`SqlExtension`](crate::SqlExtension) provides; in a bare axum app, connect it
/// with [`Databases::connect`] and put it in the router state.
///
/// # Examples
///
/// ```
/// use phial_sql::{Databases, SqlConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), phial_sql::SqlError> {
/// let mut config = SqlConfig::default();
/// config.url = "sqlite://".into();
/// let databases = Databases::connect(&config, std::path::Path::new("instance"), Vec::new()).await?;
/// assert_eq!(databases.default_db().name(), "default");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Databases(Arc<Inner>);

impl fmt::Debug for Databases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Databases")
            .field("default", &self.0.default)
            .field("binds", &self.0.binds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Databases {
    /// Connects the default database and every bind, each bounded by its acquire timeout.
    /// Relative SQLite paths resolve against `instance`.
    ///
    /// # Errors
    ///
    /// A missing or unsupported URL, or a database that does not answer in time.
    pub async fn connect(config: &SqlConfig, instance: &Path, tables: Vec<Table>) -> Result<Self, SqlError> {
        if config.url.is_empty() {
            return Err(SqlError::Config(
                "no database URL configured: set `sql.url` in phial.toml (Flask: SQLALCHEMY_DATABASE_URI), \
                 or the DATABASE_URL or PHIAL_SQL__URL environment variable"
                    .to_owned(),
            ));
        }
        let default = open(DEFAULT_BIND, config.url.expose(), &config.pool, config, instance).await?;
        let mut binds = BTreeMap::new();
        for (name, bind) in &config.binds {
            if bind.url.is_empty() {
                return Err(SqlError::Config(format!("bind `{name}` has no URL: set `sql.binds.{name}.url`")));
            }
            binds.insert(name.clone(), open(name, bind.url.expose(), &bind.pool, config, instance).await?);
        }
        for table in &tables {
            if let Some(bind) = table.bind_name()
                && !binds.contains_key(bind)
            {
                return Err(SqlError::UnknownBind(bind.to_owned()));
            }
        }
        Ok(Self(Arc::new(Inner { default, binds, tables, config: config.clone() })))
    }

    /// The default database.
    pub fn default_db(&self) -> &Db {
        &self.0.default
    }

    /// The bind named `name` (`"default"` is the default database).
    ///
    /// # Errors
    ///
    /// [`SqlError::UnknownBind`] when no such bind is configured.
    pub fn bind(&self, name: &str) -> Result<&Db, SqlError> {
        if name == DEFAULT_BIND {
            return Ok(&self.0.default);
        }
        self.0.binds.get(name).ok_or_else(|| SqlError::UnknownBind(name.to_owned()))
    }

    /// Every database, the default first.
    pub fn all(&self) -> impl Iterator<Item = &Db> {
        std::iter::once(&self.0.default).chain(self.0.binds.values())
    }

    /// The tables declared with [`SqlExtension::table`](crate::SqlExtension::table).
    pub fn tables(&self) -> &[Table] {
        &self.0.tables
    }

    /// The `[sql]` config.
    pub fn config(&self) -> &SqlConfig {
        &self.0.config
    }

    /// Creates the declared tables of bind `bind` that do not exist yet (Flask-SQLAlchemy's
    /// `db.create_all(bind_key=...)`). Existing tables are never altered; use migrations.
    ///
    /// # Errors
    ///
    /// An unknown bind, or a failing `CREATE TABLE`.
    pub async fn create_all(&self, bind: &str) -> Result<(), SqlError> {
        let db = self.bind(bind)?;
        for table in self.0.tables.iter().filter(|t| t.bind_name().unwrap_or(DEFAULT_BIND) == bind) {
            table.create(db).await?;
        }
        Ok(())
    }

    /// Drops the declared tables of bind `bind`, in reverse declaration order (Flask-SQLAlchemy's
    /// `db.drop_all(bind_key=...)`).
    ///
    /// # Errors
    ///
    /// An unknown bind, or a failing `DROP TABLE`.
    pub async fn drop_all(&self, bind: &str) -> Result<(), SqlError> {
        let db = self.bind(bind)?;
        for table in self.0.tables.iter().rev().filter(|t| t.bind_name().unwrap_or(DEFAULT_BIND) == bind) {
            table.drop(db).await?;
        }
        Ok(())
    }

    /// Closes every pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        for db in self.all() {
            db.close().await;
        }
    }
}

async fn open(name: &str, url: &str, pool: &PoolConfig, config: &SqlConfig, instance: &Path) -> Result<Db, SqlError> {
    let connected = connect(url, pool, instance).await?;
    tracing::info!(bind = name, database = %connected.description, "database connected");
    let inner = DbInner {
        name: name.to_owned(),
        backend: crate::Backend::from_url(url)?,
        pool: connected.pool,
        echo: config.echo,
        slow: (config.slow_query_threshold > 0.0)
            .then(|| std::time::Duration::from_secs_f64(config.slow_query_threshold)),
        description: connected.description,
        #[cfg(feature = "sqlite")]
        _keepalive: connected.keepalive,
        #[cfg(feature = "sqlite")]
        writer: tokio::sync::Mutex::new(()),
        #[cfg(feature = "testing")]
        pinned: std::sync::Mutex::default(),
    };
    Ok(Db { inner: Arc::new(inner), log: None })
}

impl FromRef<AppState> for Databases {
    fn from_ref(state: &AppState) -> Self {
        state.require::<Databases>().clone()
    }
}

/// A bind's name as a type, for the [`Bind`] extractor.
///
/// # Examples
///
/// ```
/// use phial_sql::{Bind, BindName, Db};
///
/// struct Analytics;
/// impl BindName for Analytics {
///     const NAME: &'static str = "analytics";
/// }
///
/// async fn report(Bind(db, ..): Bind<Analytics>) -> String {
///     db.name().to_owned()
/// }
/// ```
pub trait BindName: Send + Sync + 'static {
    /// The name under `[sql.binds]`.
    const NAME: &'static str;
}

/// Extracts the [`Db`] of bind `B`.
pub struct Bind<B: BindName>(pub Db, pub std::marker::PhantomData<B>);

impl<B: BindName> std::ops::Deref for Bind<B> {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.0
    }
}

impl<B: BindName, S> FromRequestParts<S> for Bind<B>
where
    Databases: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = SqlError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SqlError> {
        let db = Databases::from_ref(state).bind(B::NAME)?.clone();
        let db = match parts.extensions.get::<crate::tx::RequestScope>().and_then(|s| s.log.clone()) {
            Some(log) => db.with_log(log),
            None => db,
        };
        Ok(Self(db, std::marker::PhantomData))
    }
}
