//! `phial-migrate`: the migration commands without the app.
//!
//! The database URL comes from `--database-url`, then `PHIAL_SQL__URL`, then `DATABASE_URL`,
//! then `[sql] url` in `phial.<profile>.toml` and `phial.toml` (in `--config-dir`, default the
//! working directory); `[migrate]` and `PHIAL_MIGRATE__*` give the folder, the version table
//! and the lock timeout, unless flags say otherwise. Exit codes: 0 success, 1 refused or
//! failed, 2 malformed command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use phial_core::cli::Output;
use phial_migrate::{CommonOptions, Context, Dialect, MigrateCommand, MigrateConfig, MigrateError};
use phial_sql::{Databases, SqlConfig};

// No `Debug`: the URL may hold a password.
#[derive(Parser)]
#[command(
    name = "phial-migrate",
    version,
    about = "Database migrations for phial apps (Flask-Migrate's `flask db`, without the app)",
    after_help = "Exit codes: 0 success (also when there is nothing to do), 1 refused or failed, \
                  2 malformed command line."
)]
struct Cli {
    /// The database URL [default: `PHIAL_SQL__URL`, `DATABASE_URL`, or `[sql] url` in phial.toml].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// The folder of phial.toml and phial.<profile>.toml [default: the working directory].
    #[arg(long, global = true, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// The version table [default: `migrate.version_table`, `phial_migrations`].
    #[arg(long, global = true, value_name = "NAME")]
    version_table: Option<String>,
    #[command(flatten)]
    options: CommonOptions,
    #[command(subcommand)]
    command: MigrateCommand,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Concise by default: the commands print their own lines, and only warnings and the wait
    // for another runner's lock go to stderr (sqlx's slow-statement warnings are expected
    // here: migrations are slow). RUST_LOG replaces this filter.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error,phial_migrate=info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour).try_init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = err.downcast_ref::<MigrateError>().map_or(1, MigrateError::exit_code);
            #[expect(clippy::print_stderr, reason = "the binary reports its own failure")]
            {
                let red =
                    std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
                let label = if red { "\x1b[1;31merror:\x1b[0m" } else { "error:" };
                eprintln!("{label} {err:#}");
            }
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = cli.config_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let settings = settings(&dir)?;
    let mut config: MigrateConfig = match settings.find_value("migrate") {
        Ok(_) => settings.extract_inner("migrate").context("reading [migrate]")?,
        Err(_) => MigrateConfig::default(),
    };
    if let Some(table) = &cli.version_table {
        config.version_table.clone_from(table);
    }
    let url =
        cli.database_url.clone().or_else(|| settings.extract_inner::<String>("sql.url").ok()).filter(|u| !u.is_empty());
    // `--sql` reads the dialect from the URL's scheme and never connects.
    let dialect = url.as_deref().and_then(|u| u.parse::<Dialect>().ok());
    let databases = match url {
        Some(url) if cli.command.uses_database() => {
            let instance: PathBuf =
                settings.extract_inner("app.instance_path").unwrap_or_else(|_| PathBuf::from("instance"));
            Some(connect(&url, &instance).await?)
        }
        _ => None,
    };
    let db = databases.as_ref().map(|d| d.default_db().clone());
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
    let context = Context::new(config, db).with_dialect(dialect).with_colour(colour);
    let result = context.execute(&cli.command, &cli.options, &Output::stdout()).await;
    if let Some(databases) = databases {
        databases.close().await;
    }
    Ok(result?)
}

/// `phial.toml`, `phial.<profile>.toml`, `DATABASE_URL`, then `PHIAL_<SECTION>__<KEY>`: the
/// app's own order (see phial-core's config docs), without its strictness about sections the
/// binary does not know.
fn settings(dir: &Path) -> anyhow::Result<Figment> {
    let profile = std::env::var("PHIAL_PROFILE").unwrap_or_else(|_| "development".to_owned()).to_ascii_lowercase();
    let mut figment = Figment::new();
    for file in [dir.join("phial.toml"), dir.join(format!("phial.{profile}.toml"))] {
        if file.is_file() {
            figment = figment.merge(Toml::file_exact(file));
        }
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        figment = figment.merge(Serialized::default("sql.url", url));
    }
    // `PHIAL_PROFILE` and `PHIAL_TEST_*` have no `__` and are not config keys.
    let env = Env::prefixed("PHIAL_").filter(|key| key.as_str().contains("__")).split("__");
    figment = figment.merge(env);
    // Fail on a malformed file now, with its name, rather than as a missing value later.
    figment.extract::<figment::value::Value>().context("reading phial.toml")?;
    Ok(figment)
}

async fn connect(url: &str, instance: &Path) -> anyhow::Result<Databases> {
    let mut config = SqlConfig::default();
    config.url = url.into();
    config.pool.pool_size = 2;
    config.slow_query_threshold = 0.0;
    Ok(Databases::connect(&config, instance, Vec::new()).await.map_err(MigrateError::from)?)
}
