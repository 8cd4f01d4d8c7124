//! The commands, shared by `<app> db ...` and the `phial-migrate` binary: their arguments
//! (clap), and the dispatch to the library.
//!
//! Output is one line per revision with its timing, then a summary; `--quiet` prints nothing
//! on success (errors still reach stderr). The listing commands (`current`, `history`,
//! `heads`, `branches`, `show`, `plan`) always print: that is their output. `--json` prints
//! one JSON document instead, for scripts.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use phial_core::cli::Output;
use phial_sql::Db;
use serde_json::json;

use crate::authoring::{RevisionRequest, init, merge_parents, parents_of, write_revision};
use crate::autogenerate::SchemaDiff;
use crate::config::MigrateConfig;
use crate::error::MigrateError;
use crate::listing::{self, HistoryOptions};
use crate::migrator::{Migrator, Status, load};
use crate::runner::{Direction, RunReport, StepReport};
use crate::split::Dialect;
use crate::target::Target;

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
#[non_exhaustive]
pub struct CommonOptions {
    /// Print nothing on success (errors still go to stderr).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print one JSON document instead of text (current, history, heads, branches, show,
    /// plan, upgrade, downgrade, check, stamp, revision, merge).
    #[arg(long, global = true)]
    pub json: bool,
    /// The migrations folder [default: `migrate.directory`, `migrations`].
    #[arg(short = 'd', long, global = true, value_name = "DIR")]
    pub directory: Option<std::path::PathBuf>,
    /// Seconds to wait for the migration lock held by another runner [default: 60].
    #[arg(long, global = true, value_name = "SECONDS")]
    pub lock_timeout: Option<f64>,
}

impl CommonOptions {
    /// `config` with these options applied on top.
    pub fn apply(&self, mut config: MigrateConfig) -> MigrateConfig {
        if let Some(directory) = &self.directory {
            config.directory.clone_from(directory);
        }
        if let Some(timeout) = self.lock_timeout {
            config.lock_timeout = timeout;
        }
        config
    }
}

/// `--sql` and `--dialect` of `upgrade` and `downgrade`.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use phial_migrate::{DbArgs, Dialect, MigrateCommand};
///
/// let args = DbArgs::try_parse_from(["db", "downgrade", "--sql", "--dialect", "mysql", "head:base"])?;
/// let MigrateCommand::Downgrade { target, offline } = &args.command else { unreachable!() };
/// assert_eq!(target, "head:base");
/// assert!(offline.sql && offline.dialect == Some(Dialect::MySql));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Debug, Clone, Default, Args)]
#[non_exhaustive]
pub struct OfflineOptions {
    /// Print the SQL instead of running it (offline mode); no database is contacted.
    #[arg(long)]
    pub sql: bool,
    /// The SQL dialect of `--sql`: sqlite, postgres or mysql [default: the database URL's scheme].
    #[arg(long, value_name = "DIALECT", requires = "sql")]
    pub dialect: Option<Dialect>,
}

/// A migration command, as `<app> db <command>` and `phial-migrate <command>` take it.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum MigrateCommand {
    /// Create the migrations folder.
    Init,
    /// Create a revision file: empty, or with `--autogenerate` the SQL that brings the
    /// database to the declared tables.
    Revision {
        /// The revision's message.
        #[arg(short, long)]
        message: String,
        /// The parent revision(s) [default: the head]; repeat to write a merge revision, or
        /// `base` to start a new branch.
        #[arg(long = "head", value_name = "REV")]
        heads: Vec<String>,
        /// A branch label for the new revision (repeatable).
        #[arg(long = "branch-label", value_name = "LABEL")]
        branch_labels: Vec<String>,
        /// The revision id [default: 12 random hex digits].
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
        /// Compare the tables the app declares with the database and write the difference.
        #[arg(long)]
        autogenerate: bool,
    },
    /// Write a revision that merges REVS (or every head: `heads`) into one.
    Merge {
        /// The revisions to merge, or `heads`.
        #[arg(required = true, value_name = "REVS")]
        revisions: Vec<String>,
        /// The revision's message.
        #[arg(short, long)]
        message: String,
        /// A branch label for the new revision (repeatable).
        #[arg(long = "branch-label", value_name = "LABEL")]
        branch_labels: Vec<String>,
        /// The revision id [default: 12 random hex digits].
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
    },
    /// Apply revisions up to TARGET.
    Upgrade {
        /// head, heads, a revision or prefix, label@head, +N, REV+N; with `--sql`, also FROM:TO.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Apply unapplied revisions older than applied ones instead of refusing.
        #[arg(long)]
        allow_out_of_order: bool,
        /// Offline mode.
        #[command(flatten)]
        offline: OfflineOptions,
    },
    /// Revert revisions down to TARGET.
    #[command(allow_negative_numbers = true)]
    Downgrade {
        /// -N, a revision or prefix, REV-N, or base; with `--sql`, FROM:TO (required).
        #[arg(default_value = "-1", allow_hyphen_values = true)]
        target: String,
        /// Offline mode.
        #[command(flatten)]
        offline: OfflineOptions,
    },
    /// Show what `upgrade TARGET` would run: per revision, transactional or not, statements,
    /// destructive ones, checksums; exit 1 when `upgrade` would refuse.
    Plan {
        /// As for `upgrade`.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Plan unapplied revisions older than applied ones instead of refusing.
        #[arg(long)]
        allow_out_of_order: bool,
    },
    /// Show the revisions the database is at.
    Current {
        /// Also show the revisions Flask-Migrate's `alembic_version` table records.
        #[arg(long)]
        alembic: bool,
    },
    /// List revisions, newest first, with their state when a database is configured.
    History {
        /// Only revisions from A to B (inclusive): `base:head`, `ae10:`, `current:`, `:ae10`.
        #[arg(short = 'r', long = "rev-range", value_name = "A:B", allow_hyphen_values = true)]
        range: Option<String>,
        /// Show every detail of each revision.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the heads.
    Heads,
    /// List the branch points and their branches.
    Branches,
    /// Show one revision.
    Show {
        /// A revision id, prefix or branch label.
        revision: String,
    },
    /// Record the database as being at TARGET without running SQL; with `--alembic`, at the
    /// revisions Flask-Migrate's `alembic_version` table names.
    #[command(allow_negative_numbers = true)]
    Stamp {
        /// head, heads, a revision or prefix, label@head, REV-N, base.
        #[arg(allow_hyphen_values = true, required_unless_present = "alembic", conflicts_with = "alembic")]
        target: Option<String>,
        /// Remove every row of the version table first, including revisions without a file.
        #[arg(long)]
        purge: bool,
        /// Stamp the revisions `alembic_version` records (adopting a Flask-Migrate database).
        #[arg(long)]
        alembic: bool,
    },
    /// Accept an applied revision's edited file, clear a failed run, or forget a revision
    /// whose file is gone.
    Repair {
        /// A revision id or prefix.
        revision: String,
    },
    /// Compare the declared tables with the database: exit 1 naming the differences, 0 when
    /// they match.
    Check,
}

impl MigrateCommand {
    /// Whether the command needs a database connection when one is configured: not `init`,
    /// `revision` (without `--autogenerate`), `merge`, `heads`, `branches`, nor the offline
    /// `--sql` mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use clap::Parser;
    /// use phial_migrate::DbArgs;
    ///
    /// let args = DbArgs::try_parse_from(["db", "upgrade", "--sql", "--dialect", "postgres"])?;
    /// assert!(!args.command.uses_database());
    /// let args = DbArgs::try_parse_from(["db", "upgrade"])?;
    /// assert!(args.command.uses_database());
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn uses_database(&self) -> bool {
        match self {
            Self::Init | Self::Merge { .. } | Self::Heads | Self::Branches => false,
            Self::Revision { autogenerate, .. } => *autogenerate,
            Self::Upgrade { offline, .. } | Self::Downgrade { offline, .. } => !offline.sql,
            _ => true,
        }
    }
}

/// `<app> db`: the commands under the app's CLI.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use phial_migrate::{DbArgs, MigrateCommand};
///
/// // `-1` is a target, not a flag: no `--` needed.
/// let args = DbArgs::try_parse_from(["db", "downgrade", "-1", "--quiet"])?;
/// assert!(matches!(&args.command, MigrateCommand::Downgrade { target, .. } if target == "-1"));
/// assert!(args.options.quiet);
/// let args = DbArgs::try_parse_from(["db", "upgrade"])?;
/// assert!(matches!(&args.command, MigrateCommand::Upgrade { target, .. } if target == "head"));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Debug, Clone, Parser)]
#[command(name = "db", about = "Database migrations (Flask-Migrate's `flask db`)")]
#[non_exhaustive]
pub struct DbArgs {
    /// Options every command takes.
    #[command(flatten)]
    pub options: CommonOptions,
    /// The command.
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// What a command runs against: the config, the database when one is configured (the
/// commands that only read files run without one), and the tables the app declares (for
/// autogenerate and `check`).
///
/// # Examples
///
/// ```
/// use phial_core::cli::Output;
/// use phial_migrate::{Context, MigrateCommand, MigrateConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), phial_migrate::MigrateError> {
/// let folder = tempfile::tempdir().unwrap();
/// let mut config = MigrateConfig::default();
/// config.directory = folder.path().join("migrations");
/// let (out, text) = Output::buffer();
/// Context::new(config, None).execute(&MigrateCommand::Init, &Default::default(), &out).await?;
/// assert!(text.text().starts_with("created "));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    config: MigrateConfig,
    db: Option<Db>,
    dialect: Option<Dialect>,
    tables: Option<Vec<phial_sql::Table>>,
    colour: bool,
}

impl Context {
    /// A context with `config`, on `db` when there is one.
    pub fn new(config: MigrateConfig, db: Option<Db>) -> Self {
        Self { config, db, dialect: None, tables: None, colour: false }
    }

    /// The dialect of `--sql` when neither `--dialect` nor a database says it (the binary
    /// passes its URL's scheme, without connecting).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{Context, Dialect, MigrateConfig};
    ///
    /// let url = "postgres://app@db.internal/app"; // never contacted by `--sql`
    /// let context = Context::new(MigrateConfig::default(), None).with_dialect(url.parse::<Dialect>().ok());
    /// # let _ = context;
    /// ```
    #[must_use]
    pub fn with_dialect(mut self, dialect: Option<Dialect>) -> Self {
        self.dialect = dialect;
        self
    }

    /// The tables the app declares (phial-sql's [`Databases::tables`](phial_sql::Databases::tables)
    /// of the migrated bind), which autogenerate and `check` compare with the database.
    /// Without them, both refuse and say why.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{Context, MigrateConfig};
    /// use phial_sql::Table;
    /// use phial_sql::sea_query::ColumnDef;
    ///
    /// let users = Table::new(
    ///     phial_sql::sea_query::Table::create()
    ///         .table("users")
    ///         .col(ColumnDef::new("id").big_integer().not_null().primary_key())
    ///         .to_owned(),
    /// );
    /// let context = Context::new(MigrateConfig::default(), None).with_tables(vec![users]);
    /// # let _ = context;
    /// ```
    #[must_use]
    pub fn with_tables(mut self, tables: Vec<phial_sql::Table>) -> Self {
        self.tables = Some(tables);
        self
    }

    /// Colours the output (ANSI): applied revisions green, reverted ones yellow, destructive
    /// statements and refusals red. Off by default; the binary turns it on when stdout is a
    /// terminal and `NO_COLOR` is unset.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IsTerminal;
    /// use phial_migrate::{Context, MigrateConfig};
    ///
    /// let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    /// let context = Context::new(MigrateConfig::default(), None).with_colour(colour);
    /// # let _ = context;
    /// ```
    #[must_use]
    pub fn with_colour(mut self, colour: bool) -> Self {
        self.colour = colour;
        self
    }

    /// Runs `command`, printing to `out`.
    ///
    /// # Errors
    ///
    /// Whatever the command refused or failed with; see [`MigrateError::exit_code`].
    pub async fn execute(
        &self,
        command: &MigrateCommand,
        options: &CommonOptions,
        out: &Output,
    ) -> Result<(), MigrateError> {
        let config = options.apply(self.config.clone());
        let print = Printer { out, quiet: options.quiet, json: options.json, colour: self.colour };
        match command {
            MigrateCommand::Init | MigrateCommand::Revision { .. } | MigrateCommand::Merge { .. } => {
                self.author(&config, command, &print).await
            }
            MigrateCommand::Current { .. }
            | MigrateCommand::History { .. }
            | MigrateCommand::Heads
            | MigrateCommand::Branches
            | MigrateCommand::Show { .. } => self.list(&config, command, &print).await,
            MigrateCommand::Check => self.check(&config, &print).await,
            _ => self.migrate(&config, command, &print).await,
        }
    }

    /// `init`, `revision`, `merge`.
    async fn author(
        &self,
        config: &MigrateConfig,
        command: &MigrateCommand,
        print: &Printer<'_>,
    ) -> Result<(), MigrateError> {
        match command {
            MigrateCommand::Init => {
                init(&config.directory).await?;
                print.line(format!(
                    "created {} (add a revision with `revision -m MESSAGE`)",
                    config.directory.display()
                ));
                Ok(())
            }
            MigrateCommand::Revision { message, heads, branch_labels, rev_id, autogenerate } => {
                if *autogenerate {
                    return self.autogenerate(config, command, print).await;
                }
                let migrations = load(config.directory.clone()).await?;
                let parents = parents_of(&migrations, heads)?;
                let request =
                    RevisionRequest { message, parents, branch_labels, rev_id: rev_id.as_deref(), up: "", down: "" };
                let path = write_revision(&migrations, &request).await?;
                print.created(&path, &request.parents, &[], &format!("created {}", path.display()));
                Ok(())
            }
            MigrateCommand::Merge { revisions, message, branch_labels, rev_id } => {
                let migrations = load(config.directory.clone()).await?;
                let parents = merge_parents(&migrations, revisions)?;
                let joined = parents.join(", ");
                let request =
                    RevisionRequest { message, parents, branch_labels, rev_id: rev_id.as_deref(), up: "", down: "" };
                let path = write_revision(&migrations, &request).await?;
                print.created(&path, &request.parents, &[], &format!("created {} (merges {joined})", path.display()));
                Ok(())
            }
            // `execute` routes only the commands above here.
            _ => Ok(()),
        }
    }

    /// The commands that run or plan migrations, or change the version table.
    async fn migrate(
        &self,
        config: &MigrateConfig,
        command: &MigrateCommand,
        print: &Printer<'_>,
    ) -> Result<(), MigrateError> {
        let out = print.out;
        match command {
            MigrateCommand::Upgrade { target, offline, .. } | MigrateCommand::Downgrade { target, offline }
                if offline.sql =>
            {
                let direction = if matches!(command, MigrateCommand::Upgrade { .. }) {
                    Direction::Upgrade
                } else {
                    Direction::Downgrade
                };
                let dialect = self.offline_dialect(offline)?;
                let migrations = load(config.directory.clone()).await?;
                out.line(migrations.offline_sql(direction, target, dialect, &config.version_table)?.trim_end());
                Ok(())
            }
            MigrateCommand::Upgrade { target, allow_out_of_order, .. } => {
                let target: Target = target.parse()?;
                let migrator = self.migrator(config, print)?.allow_out_of_order(*allow_out_of_order);
                let report = migrator.upgrade(&target).await?;
                print.summary(&report, Direction::Upgrade);
                Ok(())
            }
            MigrateCommand::Downgrade { target, .. } => {
                let target: Target = target.parse()?;
                let report = self.migrator(config, print)?.downgrade(&target).await?;
                print.summary(&report, Direction::Downgrade);
                Ok(())
            }
            MigrateCommand::Plan { target, allow_out_of_order } => {
                let target: Target = target.parse()?;
                let plan = self.migrator(config, print)?.allow_out_of_order(*allow_out_of_order).plan(&target).await?;
                listing::plan(&plan, print.json, print.colour, out);
                plan.refusal.map_or(Ok(()), Err)
            }
            MigrateCommand::Stamp { target, purge, alembic } => {
                let migrator = self.migrator(config, print)?;
                let (report, target) = match target {
                    Some(target) if !*alembic => (migrator.stamp(&target.parse()?, *purge).await?, target.clone()),
                    _ => (migrator.stamp_alembic(*purge).await?, "alembic_version's revisions".to_owned()),
                };
                if print.json {
                    out.line(json!({"marked": report.marked, "unmarked": report.unmarked}));
                } else if report.marked.is_empty() && report.unmarked.is_empty() {
                    print.line(format!("nothing to stamp: the version table already says {target}"));
                } else {
                    print.line(format!(
                        "stamped {target}: marked {}; unmarked {}",
                        listing::list(&report.marked),
                        listing::list(&report.unmarked)
                    ));
                }
                Ok(())
            }
            MigrateCommand::Repair { revision } => {
                let repair = self.migrator(config, print)?.repair(revision).await?;
                print.line(repair);
                Ok(())
            }
            // `execute` routes only the commands above here.
            _ => Ok(()),
        }
    }

    /// The listing commands.
    async fn list(
        &self,
        config: &MigrateConfig,
        command: &MigrateCommand,
        print: &Printer<'_>,
    ) -> Result<(), MigrateError> {
        let (out, json) = (print.out, print.json);
        match command {
            MigrateCommand::Current { alembic } => {
                let migrator = self.migrator(config, print)?;
                let status = migrator.status().await?;
                let alembic = if *alembic { Some(migrator.alembic_heads().await?) } else { None };
                listing::current(&status, alembic.as_deref(), json, out);
                Ok(())
            }
            MigrateCommand::History { range, verbose } => {
                let status = self.optional_status(config, print).await?;
                let migrations = match &status {
                    Some(status) => status.migrations().clone(),
                    None => load(config.directory.clone()).await?,
                };
                let history = HistoryOptions { range: range.as_deref(), verbose: *verbose, json };
                listing::history(&migrations, status.as_ref(), &history, out)
            }
            MigrateCommand::Heads => {
                listing::heads(&load(config.directory.clone()).await?, json, out);
                Ok(())
            }
            MigrateCommand::Branches => {
                listing::branches(&load(config.directory.clone()).await?, json, out);
                Ok(())
            }
            MigrateCommand::Show { revision } => {
                let status = self.optional_status(config, print).await?;
                let migrations = match &status {
                    Some(status) => status.migrations().clone(),
                    None => load(config.directory.clone()).await?,
                };
                let found = migrations.find(revision)?;
                listing::show(&migrations, status.as_ref(), found, self.dialect(), json, out)
            }
            // `execute` routes only the commands above here.
            _ => Ok(()),
        }
    }

    async fn optional_status(
        &self,
        config: &MigrateConfig,
        print: &Printer<'_>,
    ) -> Result<Option<Status>, MigrateError> {
        match &self.db {
            Some(_) => Ok(Some(self.migrator(config, print)?.status().await?)),
            None => Ok(None),
        }
    }

    fn dialect(&self) -> Dialect {
        self.db.as_ref().map_or(self.dialect.unwrap_or(Dialect::Postgres), |db| Dialect::from(db.backend()))
    }

    /// `--dialect`, else the database's, else the URL's scheme.
    fn offline_dialect(&self, offline: &OfflineOptions) -> Result<Dialect, MigrateError> {
        if let Some(dialect) = offline.dialect {
            return Ok(dialect);
        }
        if let Some(db) = &self.db {
            return Ok(Dialect::from(db.backend()));
        }
        self.dialect.ok_or_else(|| {
            MigrateError::Usage(
                "`--sql` needs a dialect: pass --dialect sqlite|postgres|mysql, or a database URL (it is not contacted)"
                    .to_owned(),
            )
        })
    }

    fn migrator(&self, config: &MigrateConfig, print: &Printer<'_>) -> Result<Migrator, MigrateError> {
        let Some(db) = &self.db else {
            return Err(MigrateError::Config(
                "no database URL: pass --database-url, or set DATABASE_URL, or `url` under [sql] in phial.toml"
                    .to_owned(),
            ));
        };
        let migrator = Migrator::new(db.clone(), config)?;
        Ok(if print.quiet || print.json {
            migrator
        } else {
            let out = print.out.clone();
            // Every MariaDB revision runs outside a transaction; say so only where it is a choice.
            let mark = db.backend() != phial_sql::Backend::MySql;
            let colour = print.colour;
            migrator.on_step(move |step| out.line(step_line(step, mark, colour)))
        })
    }
}

struct Printer<'a> {
    out: &'a Output,
    quiet: bool,
    json: bool,
    colour: bool,
}

impl Printer<'_> {
    fn line(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            self.out.line(text);
        }
    }

    /// A new revision file: `text`, or with `--json` its path, parents and operations.
    fn created(&self, path: &std::path::Path, parents: &[String], operations: &[String], text: &str) {
        if self.json {
            let created = path.display().to_string();
            self.out.line(json!({"created": created, "parents": parents, "operations": operations}));
        } else {
            self.line(text);
        }
    }

    fn summary(&self, report: &RunReport, direction: Direction) {
        if self.json {
            let steps: Vec<serde_json::Value> = report
                .steps
                .iter()
                .map(|s| {
                    json!({
                        "revision": s.revision,
                        "message": s.message,
                        "duration_ms": s.duration.as_secs_f64() * 1000.0,
                        "statements": s.statements,
                        "transactional": s.transactional,
                    })
                })
                .collect();
            self.out.line(json!({"direction": direction.as_str(), "steps": steps, "current": report.current}));
            return;
        }
        let at = if report.current.is_empty() { "base".to_owned() } else { report.current.join(", ") };
        if report.steps.is_empty() {
            self.line(format!("nothing to {}: at {at}", direction.as_str()));
            return;
        }
        let total: Duration = report.steps.iter().map(|s| s.duration).sum();
        let verb = if direction == Direction::Upgrade { "upgraded" } else { "downgraded" };
        self.line(format!("{verb} {} revision(s) in {}; now at {at}", report.steps.len(), timing(total)));
    }
}

fn step_line(step: &StepReport, mark_no_transaction: bool, colour: bool) -> String {
    let verb = if step.direction == Direction::Upgrade {
        listing::paint(colour, "32", "applied ")
    } else {
        listing::paint(colour, "33", "reverted")
    };
    let mode = if step.transactional || !mark_no_transaction { "" } else { " (no transaction)" };
    format!("{verb} {}  {}  {}{mode}", step.revision, step.message, timing(step.duration))
}

fn timing(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

impl Context {
    /// The declared tables, or why there are none.
    fn declared_tables(&self) -> Result<&[phial_sql::Table], MigrateError> {
        self.tables.as_deref().ok_or_else(|| {
            MigrateError::Config(
                "no declared tables here: the phial-migrate binary does not know the app's tables. Run                  `<app> db revision --autogenerate` (or `<app> db check`) from the app, where MigrateExtension                  reads the tables declared with SqlExtension::table"
                    .to_owned(),
            )
        })
    }

    /// Compares after checking that the database is at the head: a revision generated
    /// against an older schema would repeat what pending revisions do.
    async fn compare(&self, config: &MigrateConfig, print: &Printer<'_>) -> Result<SchemaDiff, MigrateError> {
        let tables = self.declared_tables()?;
        let migrator = self.migrator(config, print)?;
        let status = migrator.status().await?;
        let migrations = status.migrations();
        let state = crate::runner::State::new(migrations, status.rows().to_vec());
        let pending = migrations.pending_upgrade(&Target::Heads, &state.applied, true)?;
        if !pending.is_empty() {
            let ids: Vec<&str> = pending.iter().map(|&i| migrations.at(i).id()).collect();
            return Err(MigrateError::Target(format!(
                "the database is not up to date: {} not applied; run `upgrade` first, so that the comparison starts \
                 from the schema the revisions make",
                ids.join(", ")
            )));
        }
        migrator.compare(tables).await
    }

    async fn autogenerate(
        &self,
        config: &MigrateConfig,
        command: &MigrateCommand,
        print: &Printer<'_>,
    ) -> Result<(), MigrateError> {
        let MigrateCommand::Revision { message, heads, branch_labels, rev_id, .. } = command else {
            return Ok(());
        };
        let migrations = load(config.directory.clone()).await?;
        let parents = parents_of(&migrations, heads)?;
        let diff = self.compare(config, print).await?;
        if diff.is_empty() {
            if print.json {
                print.out.line(json!({"created": null, "parents": parents, "operations": []}));
            } else {
                print.line("No changes in schema detected");
            }
            return Ok(());
        }
        let up =
            format!("-- Generated by autogenerate from the declared tables: review before applying.\n\n{}", diff.up);
        let request =
            RevisionRequest { message, parents, branch_labels, rev_id: rev_id.as_deref(), up: &up, down: &diff.down };
        let path = write_revision(&migrations, &request).await?;
        if !print.json {
            for operation in &diff.operations {
                print.line(format!("detected {operation}"));
            }
            if !diff.destructive.is_empty() {
                print.line(format!("destructive: {}; review the file", diff.destructive.join(", ")));
            }
        }
        print.created(&path, &request.parents, &diff.operations, &format!("created {}", path.display()));
        Ok(())
    }

    async fn check(&self, config: &MigrateConfig, print: &Printer<'_>) -> Result<(), MigrateError> {
        let diff = self.compare(config, print).await?;
        if print.json {
            print.out.line(json!({"changes": diff.operations, "destructive": diff.destructive}));
        } else if diff.is_empty() {
            print.line("No changes in schema detected");
        } else {
            for operation in &diff.operations {
                print.out.line(format!("- {}", listing::paint(print.colour, "33", operation)));
            }
        }
        if diff.is_empty() { Ok(()) } else { Err(MigrateError::SchemaDiffers(diff.operations)) }
    }
}
