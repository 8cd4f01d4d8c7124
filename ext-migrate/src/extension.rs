//! [`MigrateExtension`]: `<app> db ...`, and `upgrade head` at startup when configured.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use phial_core::prelude::*;
use phial_sql::Databases;

use crate::commands::{Context, DbArgs};
use crate::config::MigrateConfig;
use crate::error::MigrateError;
use crate::migrator::Migrator;
use crate::target::Target;

/// The phial extension for migrations: Flask-Migrate's `Migrate(app, db)`.
///
/// At build it checks `[migrate]` and adds the `db` command (`<app> db upgrade`, ...); with
/// `upgrade_on_start` it also reads the revision files, so a malformed file stops the build.
/// At start, with `upgrade_on_start`, it runs `upgrade head` under the migration lock before
/// the app serves: several instances starting at once apply each revision once, the others
/// wait for the lock and find nothing left to do. It requires
/// [`SqlExtension`](phial_sql::SqlExtension) and migrates its bind `migrate.bind`.
///
/// # Examples
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_migrate::MigrateExtension;
/// use phial_sql::SqlExtension;
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .extension(SqlExtension::new())
///     .extension(MigrateExtension::new()) // `<app> db upgrade`, `<app> db revision -m ...`
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MigrateExtension;

impl MigrateExtension {
    /// The extension; everything else comes from `[migrate]`.
    pub fn new() -> Self {
        Self
    }
}

/// Config errors already name their key (`migrate.lock_timeout ...`).
fn config_error(err: &MigrateError) -> Error {
    Error::config("migrate", err.to_string())
}

impl Extension for MigrateExtension {
    const NAME: &'static str = "migrate";
    type Config = MigrateConfig;

    fn deps(&self) -> Deps {
        Deps::none().requires("sql")
    }

    fn build(&self, config: &MigrateConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        config.validate().map_err(|err| config_error(&err))?;
        if config.upgrade_on_start {
            // Fail the build on a malformed file rather than on the first start.
            crate::graph::Migrations::load(&config.directory).map_err(Error::other)?;
        }
        ctx.command(db_command(config.clone()));
        Ok(())
    }

    async fn start(&self, config: &MigrateConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        if !config.upgrade_on_start {
            return Ok(());
        }
        let db = ctx.require::<Databases>()?.bind(&config.bind).map_err(Error::other)?.clone();
        let migrator = Migrator::new(db, config).map_err(|err| config_error(&err))?.on_step(|step| {
            tracing::info!(
                revision = %step.revision,
                message = %step.message,
                duration_ms = step.duration.as_secs_f64() * 1000.0,
                "migration applied"
            );
        });
        let report = migrator.upgrade(&Target::Head).await.map_err(Error::other)?;
        tracing::info!(applied = report.steps.len(), at = %report.current.join(", "), "database upgraded at start");
        Ok(())
    }
}

/// `<app> db ...`.
fn db_command(config: MigrateConfig) -> CliCommand {
    CliCommand::new(DbArgs::command(), move |args| {
        let config = config.clone();
        Box::pin(async move {
            let parsed = DbArgs::from_arg_matches(&args.matches).map_err(|err| Error::msg(err.to_string()))?;
            let databases = args
                .state
                .get::<Databases>()
                .ok_or_else(|| Error::msg("the `sql` extension has not started; `db` needs it"))?;
            let db = databases.bind(&config.bind).map_err(Error::other)?.clone();
            // Autogenerate and `check` compare these with the database.
            let tables = databases.tables().to_vec();
            Context::new(config, Some(db))
                .with_tables(tables)
                .execute(&parsed.command, &parsed.options, &args.out)
                .await
                .map_err(Error::other)?;
            Ok(ExitCode::SUCCESS)
        })
    })
}
