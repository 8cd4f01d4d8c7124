//! [`SqlExtension`]: reads `[sql]`, connects at start, adds the transaction layer and `sql check`.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use phial_core::prelude::*;
use phial_core::{CliCommand, clap};

use crate::config::SqlConfig;
use crate::databases::Databases;
use crate::error::SqlError;
use crate::schema::Table;
use crate::session::SqlSessionStore;
use crate::tx::SqlLayer;

/// The phial extension for SQL databases: Flask-SQLAlchemy's `SQLAlchemy(app)`.
///
/// At build it adds [`SqlLayer`] (stage `Outer`, so every later layer can share the request's
/// transaction) and the `sql check` command; at start it connects the default database and
/// every bind, failing startup with a clear message when a URL is missing or a database does
/// not answer within its acquire timeout; at shutdown it closes the pools. With
/// [`session_store`](Self::session_store) it also keeps server-side sessions.
///
/// # Examples
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_sql::{SqlExtension, Table};
///
/// # async fn run(users: Table) -> std::process::ExitCode {
/// App::builder()
///     .extension(SqlExtension::new().table(users).create_all_on_start())
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SqlExtension {
    tables: Vec<Table>,
    create_all: bool,
    session_store: bool,
    /// Filled in `start`; the layer added in `build` reads it.
    databases: Arc<OnceLock<Databases>>,
}

impl SqlExtension {
    /// The extension with no declared tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a table (for `create_all`, `drop_all` and migrations).
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }

    /// Declares several tables, e.g. those another extension keeps its data in
    /// (`SqlRememberStore::tables()` of phial-login).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_sql::{SqlExtension, SqlSessionStore};
    ///
    /// let sql = SqlExtension::new().tables([SqlSessionStore::table()]);
    /// # let _ = sql;
    /// ```
    pub fn tables(mut self, tables: impl IntoIterator<Item = Table>) -> Self {
        self.tables.extend(tables);
        self
    }

    /// Creates missing declared tables on every bind at start (Flask's `db.create_all()` in
    /// `create_app`). Handy for development and tests; use migrations in production.
    pub fn create_all_on_start(mut self) -> Self {
        self.create_all = true;
        self
    }

    /// Keeps server-side sessions in the default database: declares the table
    /// [`SqlSessionStore::table`] (so `create_all` and migrations see it), offers the session
    /// store `sql` that `app.session.store = "sql"` selects, and deletes expired sessions every
    /// `sql.session_cleanup_interval` seconds in a background task.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::prelude::*;
    /// use phial_sql::SqlExtension;
    ///
    /// # async fn run() -> std::process::ExitCode {
    /// App::builder()
    ///     .config_toml("[sql]\nurl = \"postgres://localhost/app\"\n[app.session]\nstore = \"sql\"\n")
    ///     .extension(SqlExtension::new().session_store())
    ///     .run()
    ///     .await
    /// # }
    /// ```
    pub fn session_store(mut self) -> Self {
        if !self.session_store {
            self.session_store = true;
            self.tables.push(SqlSessionStore::table());
        }
        self
    }
}

impl Extension for SqlExtension {
    const NAME: &'static str = "sql";
    type Config = SqlConfig;

    fn build(&self, config: &SqlConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        if config.url.is_empty() {
            return Err(Error::config(
                "sql.url",
                "no database URL configured: set `url` under [sql] in phial.toml (Flask: SQLALCHEMY_DATABASE_URI), \
                 or the DATABASE_URL or PHIAL_SQL__URL environment variable",
            ));
        }
        if config.max_per_page == 0 || config.per_page == 0 {
            return Err(Error::config("sql.per_page", "`per_page` and `max_per_page` must be at least 1"));
        }
        ctx.promise::<Databases>();
        ctx.layer(
            Stage::Outer,
            "sql-transaction",
            SqlLayer::deferred(Arc::clone(&self.databases), config.record_queries),
        );
        ctx.command(check_command());
        Ok(())
    }

    async fn start(&self, config: &SqlConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        let instance = ctx.app_config().instance_path.clone();
        let databases = Databases::connect(config, &instance, self.tables.clone()).await.map_err(startup_error)?;
        if self.create_all {
            for db in databases.all() {
                databases.create_all(db.name()).await.map_err(startup_error)?;
            }
        }
        if self.session_store {
            offer_session_store(config, ctx, databases.default_db().clone());
        }
        // A second start of the same extension value would be a bug; the first databases stay.
        let _ = self.databases.set(databases.clone());
        ctx.provide(databases);
        Ok(())
    }

    async fn shutdown(&self, state: &AppState) {
        if let Some(databases) = state.get::<Databases>() {
            databases.close().await;
        }
    }

    async fn health(&self, state: &AppState) -> Health {
        let Some(databases) = state.get::<Databases>() else { return Health::unhealthy("not started") };
        let mut failures = Vec::new();
        for db in databases.all() {
            if let Err(err) = db.ping().await {
                failures.push(format!("{}: {err}", db.name()));
            }
        }
        if failures.is_empty() { Health::Healthy } else { Health::unhealthy(failures.join("; ")) }
    }
}

/// Offers the `sql` session store and starts its cleanup task.
fn offer_session_store(config: &SqlConfig, ctx: &mut StartCtx, db: crate::Db) {
    let store = Arc::new(SqlSessionStore::new(db));
    ctx.session_store("sql", store.clone());
    let Ok(interval) = Duration::try_from_secs_f64(config.session_cleanup_interval) else { return };
    if interval.is_zero() {
        return;
    }
    ctx.spawn("sql-session-cleanup", move |mut stop| async move {
        tokio::select! {
            () = stop.stopped() => {}
            () = store.cleanup_every(interval) => {}
        }
    });
}

fn startup_error(err: SqlError) -> Error {
    match err {
        SqlError::Config(message) => Error::config("sql.url", message),
        SqlError::UnknownBind(bind) => {
            Error::config(format!("sql.binds.{bind}"), "a table is declared on this bind, but it is not configured")
        }
        other => Error::other(other),
    }
}

/// `<app> sql check`: `SELECT 1` on every bind, with its latency; exit 1 when one fails.
fn check_command() -> CliCommand {
    CliCommand::new(
        clap::Command::new("sql")
            .about("SQL databases")
            .subcommand_required(true)
            .subcommand(clap::Command::new("check").about("Run SELECT 1 on every bind and print its latency")),
        |args| {
            Box::pin(async move {
                let databases = args.state.require::<Databases>().clone();
                let mut ok = true;
                for db in databases.all() {
                    match db.ping().await {
                        Ok(latency) => args.out.line(format!(
                            "{} ({}) ok in {:.1} ms",
                            db.name(),
                            db.backend().name(),
                            latency.as_secs_f64() * 1000.0
                        )),
                        Err(err) => {
                            ok = false;
                            args.out.line(format!("{} ({}) FAILED: {err}", db.name(), db.backend().name()));
                        }
                    }
                }
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            })
        },
    )
}
