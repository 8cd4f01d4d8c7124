//! The commands, shared by `<app> db ...` and the `phial-migrate` binary: their arguments
//! (clap) and what they print.
//!
//! Output is one line per revision with its timing, then a summary; `--quiet` prints nothing
//! on success (errors still reach stderr). The listing commands (`current`, `history`,
//! `heads`, `show`) always print: that is their output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use phial_core::cli::Output;
use phial_sql::Db;

use crate::config::MigrateConfig;
use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::migrator::{Migrator, RevisionState, Status, load};
use crate::revision::{NewRevision, Revision, valid_name};
use crate::runner::{Direction, RunReport, StepReport};
use crate::target::Target;

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
#[non_exhaustive]
pub struct CommonOptions {
    /// Print nothing on success (errors still go to stderr).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The migrations folder [default: `migrate.directory`, `migrations`].
    #[arg(short = 'd', long, global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
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

/// A migration command, as `<app> db <command>` and `phial-migrate <command>` take it.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum MigrateCommand {
    /// Create the migrations folder.
    Init,
    /// Create a revision file with empty up and down sections.
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
    },
    /// Apply revisions up to TARGET.
    Upgrade {
        /// head, heads, a revision or prefix, label@head, +N, REV+N.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Apply unapplied revisions older than applied ones instead of refusing.
        #[arg(long)]
        allow_out_of_order: bool,
    },
    /// Revert revisions down to TARGET.
    #[command(allow_negative_numbers = true)]
    Downgrade {
        /// -N, a revision or prefix, REV-N, or base.
        #[arg(default_value = "-1", allow_hyphen_values = true)]
        target: String,
    },
    /// Show the revisions the database is at.
    Current,
    /// List revisions, newest first, with their state when a database is configured.
    History,
    /// List the heads.
    Heads,
    /// Show one revision.
    Show {
        /// A revision id, prefix or branch label.
        revision: String,
    },
    /// Record the database as being at TARGET without running SQL.
    #[command(allow_negative_numbers = true)]
    Stamp {
        /// head, heads, a revision or prefix, label@head, REV-N, base.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Remove every row of the version table first, including revisions without a file.
        #[arg(long)]
        purge: bool,
    },
    /// Accept an applied revision's edited file, clear a failed run, or forget a revision
    /// whose file is gone.
    Repair {
        /// A revision id or prefix.
        revision: String,
    },
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
/// assert!(matches!(&args.command, MigrateCommand::Downgrade { target } if target == "-1"));
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

/// What a command runs against: the config, and the database when one is configured (the
/// commands that only read files run without one).
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
}

impl Context {
    /// A context with `config`, on `db` when there is one.
    pub fn new(config: MigrateConfig, db: Option<Db>) -> Self {
        Self { config, db }
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
        let print = Printer { out, quiet: options.quiet };
        match command {
            MigrateCommand::Init => init(&config.directory, &print).await,
            MigrateCommand::Revision { message, heads, branch_labels, rev_id } => {
                let request = RevisionRequest { message, heads, branch_labels, rev_id: rev_id.as_deref() };
                revision(&config.directory, &request, &print).await
            }
            MigrateCommand::Upgrade { target, allow_out_of_order } => {
                let target: Target = target.parse()?;
                let migrator = self.migrator(&config, &print)?.allow_out_of_order(*allow_out_of_order);
                let report = migrator.upgrade(&target).await?;
                print.summary(&report, Direction::Upgrade);
                Ok(())
            }
            MigrateCommand::Downgrade { target } => {
                let target: Target = target.parse()?;
                let report = self.migrator(&config, &print)?.downgrade(&target).await?;
                print.summary(&report, Direction::Downgrade);
                Ok(())
            }
            MigrateCommand::Current => {
                let status = self.migrator(&config, &print)?.status().await?;
                current(&status, out);
                Ok(())
            }
            MigrateCommand::History => {
                let status = match &self.db {
                    Some(_) => Some(self.migrator(&config, &print)?.status().await?),
                    None => None,
                };
                let migrations = match &status {
                    Some(status) => status.migrations().clone(),
                    None => load(config.directory.clone()).await?,
                };
                history(&migrations, status.as_ref(), out);
                Ok(())
            }
            MigrateCommand::Heads => {
                let migrations = load(config.directory.clone()).await?;
                for head in migrations.heads() {
                    out.line(describe(&migrations, head));
                }
                Ok(())
            }
            MigrateCommand::Show { revision } => {
                let status = match &self.db {
                    Some(_) => Some(self.migrator(&config, &print)?.status().await?),
                    None => None,
                };
                let migrations = match &status {
                    Some(status) => status.migrations().clone(),
                    None => load(config.directory.clone()).await?,
                };
                show(&migrations, status.as_ref(), migrations.find(revision)?, self.dialect(), out)
            }
            MigrateCommand::Stamp { target, purge } => {
                let report = self.migrator(&config, &print)?.stamp(&target.parse()?, *purge).await?;
                if report.marked.is_empty() && report.unmarked.is_empty() {
                    print.line(format!("nothing to stamp: the version table already says {target}"));
                } else {
                    print.line(format!(
                        "stamped {target}: marked {}; unmarked {}",
                        list(&report.marked),
                        list(&report.unmarked)
                    ));
                }
                Ok(())
            }
            MigrateCommand::Repair { revision } => {
                let repair = self.migrator(&config, &print)?.repair(revision).await?;
                print.line(repair);
                Ok(())
            }
        }
    }

    fn dialect(&self) -> crate::Dialect {
        self.db.as_ref().map_or(crate::Dialect::Postgres, |db| crate::Dialect::from(db.backend()))
    }

    fn migrator(&self, config: &MigrateConfig, print: &Printer<'_>) -> Result<Migrator, MigrateError> {
        let Some(db) = &self.db else {
            return Err(MigrateError::Config(
                "no database URL: pass --database-url, or set DATABASE_URL, or `url` under [sql] in phial.toml"
                    .to_owned(),
            ));
        };
        let migrator = Migrator::new(db.clone(), config)?;
        Ok(if print.quiet {
            migrator
        } else {
            let out = print.out.clone();
            // Every MariaDB revision runs outside a transaction; say so only where it is a choice.
            let mark = db.backend() != phial_sql::Backend::MySql;
            migrator.on_step(move |step| out.line(step_line(step, mark)))
        })
    }
}

struct Printer<'a> {
    out: &'a Output,
    quiet: bool,
}

impl Printer<'_> {
    fn line(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            self.out.line(text);
        }
    }

    fn summary(&self, report: &RunReport, direction: Direction) {
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

fn step_line(step: &StepReport, mark_no_transaction: bool) -> String {
    let verb = if step.direction == Direction::Upgrade { "applied " } else { "reverted" };
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

fn list(ids: &[String]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
}

/// `parents -> id (head) (label), message`, as Alembic prints revisions.
fn describe(migrations: &Migrations, revision: &Revision) -> String {
    let parents = if revision.parents().is_empty() { "<base>".to_owned() } else { revision.parents().join(", ") };
    let mut text = format!("{parents} -> {}", revision.id());
    if migrations.is_head(revision.id()) {
        text.push_str(" (head)");
    }
    for label in revision.branch_labels() {
        text.push_str(" (");
        text.push_str(label);
        text.push(')');
    }
    if !revision.message().is_empty() {
        text.push_str(", ");
        text.push_str(revision.message());
    }
    text
}

fn state_text(status: &Status, revision: &Revision) -> String {
    let state = status.state(revision);
    match (state, status.row(revision.id())) {
        (RevisionState::Pending, _) | (_, None) => state.as_str().to_owned(),
        (_, Some(row)) => format!("{} {}", state.as_str(), applied_at(row.applied_at)),
    }
}

fn applied_at(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

fn current(status: &Status, out: &Output) {
    let current = status.current();
    if current.is_empty() && status.orphans().is_empty() {
        out.line("no revision applied (base)");
    }
    for revision in current {
        out.line(format!("{}  [{}]", describe(status.migrations(), revision), state_text(status, revision)));
    }
    for orphan in status.orphans() {
        out.line(format!("{} (no file)  [applied {}]", orphan.revision, applied_at(orphan.applied_at)));
    }
    for revision in status.migrations().revisions() {
        if status.state(revision) == RevisionState::Modified {
            out.line(format!("{} modified after it was applied; see `repair`", revision.id()));
        }
    }
    for row in status.rows().iter().filter(|r| r.dirty) {
        out.line(format!(
            "{} is dirty: its {} stopped after {} statement(s); see `repair` and `stamp`",
            row.revision, row.operation, row.statements_applied
        ));
    }
}

fn history(migrations: &Migrations, status: Option<&Status>, out: &Output) {
    for revision in migrations.revisions().iter().rev() {
        let line = describe(migrations, revision);
        match status {
            Some(status) => out.line(format!("{line}  [{}]", state_text(status, revision))),
            None => out.line(line),
        }
    }
}

fn show(
    migrations: &Migrations,
    status: Option<&Status>,
    revision: &Revision,
    dialect: crate::Dialect,
    out: &Output,
) -> Result<(), MigrateError> {
    let children: Vec<String> = migrations.children_of(revision.id()).iter().map(|r| r.id().to_owned()).collect();
    let head = if migrations.is_head(revision.id()) { " (head)" } else { "" };
    out.line(format!("Revision: {}{head}", revision.id()));
    out.line(format!(
        "Parents: {}",
        if revision.parents().is_empty() { "<base>".to_owned() } else { revision.parents().join(", ") }
    ));
    out.line(format!("Children: {}", list(&children)));
    out.line(format!("Branch labels: {}", list(revision.branch_labels())));
    out.line(format!("Message: {}", revision.message()));
    out.line(format!("Path: {}", revision.path().display()));
    out.line(format!("Checksum: {}", revision.checksum()));
    out.line(format!("Transaction: {}", if revision.is_transactional() { "yes" } else { "no (-- no-transaction)" }));
    let up = revision.up_statements(dialect)?.len();
    let down =
        revision.down_statements(dialect)?.map_or_else(|| "none (irreversible)".to_owned(), |d| d.len().to_string());
    out.line(format!("Statements: {up} up, {down} down"));
    if let Some(status) = status {
        out.line(format!("State: {}", state_text(status, revision)));
    }
    Ok(())
}

async fn init(directory: &Path, print: &Printer<'_>) -> Result<(), MigrateError> {
    let folder = directory.to_path_buf();
    let created = tokio::task::spawn_blocking(move || -> Result<(), MigrateError> {
        if folder.exists() && std::fs::read_dir(&folder).map_err(|e| MigrateError::io(&folder, e))?.next().is_some() {
            return Err(MigrateError::io(
                &folder,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists and is not empty"),
            ));
        }
        std::fs::create_dir_all(&folder).map_err(|e| MigrateError::io(&folder, e))?;
        std::fs::write(folder.join("README.md"), README).map_err(|e| MigrateError::io(folder.join("README.md"), e))
    });
    created.await.map_err(|join| MigrateError::io(directory, std::io::Error::other(join.to_string())))??;
    print.line(format!("created {} (add a revision with `revision -m MESSAGE`)", directory.display()));
    Ok(())
}

const README: &str = "# Migrations\n\nOne SQL file per revision, managed with `phial-migrate` or `<app> db`:\n\n\
    ```sql\n-- revision: 3f2a9c1b7d4e\n-- down_revision: 1a2b3c4d5e6f\n-- branch_labels:\n-- message: add the user table\n\n\
    -- +up\nCREATE TABLE users (id BIGINT PRIMARY KEY);\n\n-- +down\nDROP TABLE users;\n```\n\n\
    Commands: `revision -m MSG`, `upgrade`, `downgrade`, `current`, `history`, `heads`, `show REV`, `stamp REV`, \
    `repair REV`.\nDo not edit a revision once it is applied somewhere: add a new one.\n";

struct RevisionRequest<'a> {
    message: &'a str,
    heads: &'a [String],
    branch_labels: &'a [String],
    rev_id: Option<&'a str>,
}

async fn revision(directory: &Path, request: &RevisionRequest<'_>, print: &Printer<'_>) -> Result<(), MigrateError> {
    let migrations = load(directory.to_path_buf()).await?;
    let parents = parents_of(&migrations, request.heads)?;
    let id = match request.rev_id {
        Some(id) => id.to_owned(),
        None => random_id()?,
    };
    valid_name(&id).map_err(MigrateError::Usage)?;
    if migrations.get(&id).is_some() {
        return Err(MigrateError::Usage(format!("revision {id} already exists; choose another --rev-id")));
    }
    for label in request.branch_labels {
        valid_name(label).map_err(MigrateError::Usage)?;
        if migrations.revisions().iter().any(|r| r.branch_labels().contains(label) || r.id() == label) {
            return Err(MigrateError::Usage(format!("branch label `{label}` is already used")));
        }
    }
    let created = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let new = NewRevision {
        id: &id,
        parents: &parents,
        branch_labels: request.branch_labels,
        message: request.message,
        created: &created,
    };
    let path = directory.join(new.file_name());
    let text = new.render();
    let file = path.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut handle = std::fs::OpenOptions::new().write(true).create_new(true).open(&file)?;
        handle.write_all(text.as_bytes())
    })
    .await
    .map_err(|join| MigrateError::io(&path, std::io::Error::other(join.to_string())))?
    .map_err(|err| MigrateError::io(&path, err))?;
    print.line(format!("created {}", path.display()));
    Ok(())
}

/// The new revision's parents: `--head` values, or the single head.
fn parents_of(migrations: &Migrations, heads: &[String]) -> Result<Vec<String>, MigrateError> {
    if heads.is_empty() {
        let all = migrations.heads();
        return match all.as_slice() {
            [] => Ok(Vec::new()),
            [one] => Ok(vec![one.id().to_owned()]),
            several => Err(MigrateError::MultipleHeads(
                several.iter().map(|r| format!("{} ({})", r.id(), r.path().display())).collect(),
            )),
        };
    }
    if heads.iter().any(|h| h == "base") {
        return if heads.len() == 1 {
            Ok(Vec::new())
        } else {
            Err(MigrateError::Usage("`--head base` starts a new branch and cannot be combined".to_owned()))
        };
    }
    let mut parents: Vec<String> = Vec::new();
    for head in heads {
        let id = if head == "head" {
            match migrations.upgrade_goals(&Target::Head, &std::collections::BTreeSet::new())?.first() {
                Some(&i) => migrations.at(i).id().to_owned(),
                None => continue,
            }
        } else {
            migrations.find(head)?.id().to_owned()
        };
        if !parents.contains(&id) {
            parents.push(id);
        }
    }
    Ok(parents)
}

fn random_id() -> Result<String, MigrateError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|err| MigrateError::Config(format!("no randomness for a revision id: {err}; pass --rev-id")))?;
    Ok(crate::revision::hex(&bytes))
}
