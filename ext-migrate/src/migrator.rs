//! [`Migrator`]: the library API behind every command that touches the database.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use phial_sql::{Backend, Db};

use crate::config::MigrateConfig;
use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::plan::{Plan, planned};
use crate::revision::Revision;
use crate::runner::{Repair, Run, RunReport, StampReport, State, StepReport};
use crate::session::Session;
use crate::split::Dialect;
use crate::table::AppliedRevision;
use crate::target::Target;

type OnStep = Arc<dyn Fn(&StepReport) + Send + Sync>;

/// Runs migrations against one database: the revision files of a folder, the version table,
/// and the migration lock.
///
/// Every command that changes the database takes the lock first (see the crate docs), checks
/// the version table against the files, and refuses before running anything when a revision
/// is dirty, modified or missing, or when the plan would run out of order.
///
/// # Examples
///
/// ```
/// use phial_migrate::{MigrateConfig, Migrator, Target};
/// use phial_sql::{Databases, SqlConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let folder = tempfile::tempdir()?;
/// std::fs::write(
///     folder.path().join("a1_users.sql"),
///     "-- revision: a1\n-- down_revision:\n-- +up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- +down\nDROP TABLE users;\n",
/// )?;
/// let mut sql = SqlConfig::default();
/// sql.url = "sqlite://".into();
/// let databases = Databases::connect(&sql, folder.path(), Vec::new()).await?;
///
/// let mut config = MigrateConfig::default();
/// config.directory = folder.path().to_path_buf();
/// let migrator = Migrator::new(databases.default_db().clone(), &config)?;
/// let report = migrator.upgrade(&Target::Head).await?;
/// assert_eq!(report.current, ["a1"]);
/// migrator.downgrade(&Target::Base).await?;
/// assert!(migrator.status().await?.current().is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Migrator {
    db: Db,
    config: MigrateConfig,
    on_step: Option<OnStep>,
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrator").field("db", &self.db).field("config", &self.config).finish_non_exhaustive()
    }
}

impl Migrator {
    /// A migrator for `db` with `config` (folder, version table, lock timeout).
    ///
    /// # Errors
    ///
    /// [`MigrateError::Config`] for an invalid config (see [`MigrateConfig::validate`]).
    pub fn new(db: Db, config: &MigrateConfig) -> Result<Self, MigrateError> {
        config.validate()?;
        Ok(Self { db, config: config.clone(), on_step: None })
    }

    /// Calls `on_step` after each revision runs, e.g. to print progress.
    #[must_use]
    pub fn on_step(mut self, on_step: impl Fn(&StepReport) + Send + Sync + 'static) -> Self {
        self.on_step = Some(Arc::new(on_step));
        self
    }

    /// Applies unapplied revisions older than applied ones instead of refusing.
    #[must_use]
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.config.allow_out_of_order = allow;
        self
    }

    /// Waits at most `timeout` for the migration lock.
    #[must_use]
    pub fn lock_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.lock_timeout = timeout.as_secs_f64();
        self
    }

    pub(crate) fn config_ref(&self) -> &MigrateConfig {
        &self.config
    }

    pub(crate) fn db_ref(&self) -> &Db {
        &self.db
    }

    /// The migrations folder.
    pub fn directory(&self) -> &Path {
        &self.config.directory
    }

    /// The database's backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Reads and validates the revision files (on a blocking thread).
    ///
    /// # Errors
    ///
    /// As [`Migrations::load`].
    pub async fn migrations(&self) -> Result<Migrations, MigrateError> {
        load(self.config.directory.clone()).await
    }

    /// The files and the version table, for `current` and `history`. Takes no lock and
    /// creates nothing.
    ///
    /// # Errors
    ///
    /// A file or graph error, or a database error.
    pub async fn status(&self) -> Result<Status, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = Session::open(&self.db, &self.config.version_table, self.config.lock_timeout()).await?;
        let rows = match session.table_exists().await {
            Ok(true) => session.read_rows().await,
            Ok(false) => Ok(Vec::new()),
            Err(err) => Err(err),
        };
        session.close().await;
        Ok(Status::new(migrations, rows?))
    }

    /// What `upgrade target` would do, without taking the lock or changing anything: per
    /// revision, whether it runs in a transaction, its statement count, its destructive
    /// statements and checksum; the applied revisions whose files changed; and the refusal
    /// `upgrade` would return.
    ///
    /// # Errors
    ///
    /// A file or graph error, a target that names nothing, or a database error. A refusal of
    /// the upgrade itself (several heads, a dirty or modified revision) is not an error here:
    /// it is [`Plan::refusal`].
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{MigrateConfig, Migrator, Target};
    /// use phial_sql::{Databases, SqlConfig};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let folder = tempfile::tempdir()?;
    /// std::fs::write(folder.path().join("a1.sql"), "-- revision: a1\n-- down_revision:\n-- +up\nCREATE TABLE t (x INT);\nDROP TABLE old;\n")?;
    /// let mut sql = SqlConfig::default();
    /// sql.url = "sqlite://".into();
    /// let databases = Databases::connect(&sql, folder.path(), Vec::new()).await?;
    /// let mut config = MigrateConfig::default();
    /// config.directory = folder.path().to_path_buf();
    ///
    /// let plan = Migrator::new(databases.default_db().clone(), &config)?.plan(&Target::Head).await?;
    /// assert_eq!(plan.steps[0].revision, "a1");
    /// assert_eq!(plan.steps[0].destructive[0].kind, "DROP TABLE");
    /// assert!(plan.refusal.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn plan(&self, target: &Target) -> Result<Plan, MigrateError> {
        let status = self.status().await?;
        let migrations = status.migrations();
        let state = State::new(migrations, status.rows().to_vec());
        let mut refusal = state.refuse_unsafe(migrations).err();
        let steps = match migrations.pending_upgrade(target, &state.applied, self.config.allow_out_of_order) {
            Ok(pending) => planned(migrations, &pending, Dialect::from(self.db.backend()))?,
            Err(err @ (MigrateError::Target(_) | MigrateError::Usage(_))) => return Err(err),
            Err(err) => {
                refusal = refusal.or(Some(err));
                Vec::new()
            }
        };
        let modified: Vec<String> = migrations
            .revisions()
            .iter()
            .filter(|r| status.state(r) == RevisionState::Modified)
            .map(|r| r.id().to_owned())
            .collect();
        let verified = migrations.revisions().iter().filter(|r| status.state(r) == RevisionState::Applied).count();
        Ok(Plan { target: target.to_string(), steps, verified, modified, refusal })
    }

    /// Applies every revision `target` needs, each in its own transaction where the backend
    /// allows; see [`Target`].
    ///
    /// # Errors
    ///
    /// Refusals before anything runs ([`MigrateError::Dirty`], [`MissingFile`],
    /// [`Modified`], [`MultipleHeads`], [`OutOfOrder`]), [`LockTimeout`], or the
    /// [`Failed`] revision (earlier ones stay applied).
    ///
    /// [`MissingFile`]: MigrateError::MissingFile
    /// [`Modified`]: MigrateError::Modified
    /// [`MultipleHeads`]: MigrateError::MultipleHeads
    /// [`OutOfOrder`]: MigrateError::OutOfOrder
    /// [`LockTimeout`]: MigrateError::LockTimeout
    /// [`Failed`]: MigrateError::Failed
    pub async fn upgrade(&self, target: &Target) -> Result<RunReport, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = self.locked_session().await?;
        let runner = self.runner(&migrations);
        let result = match self.adopt_alembic(&runner, &mut session).await {
            Ok(()) => runner.upgrade(&mut session, target).await,
            Err(err) => Err(err),
        };
        session.close().await;
        result
    }

    /// [`MigrateConfig::adopt_alembic`]: stamps what `alembic_version` names into an empty
    /// history, under the lock the upgrade holds.
    async fn adopt_alembic(&self, runner: &Run<'_>, session: &mut Session) -> Result<(), MigrateError> {
        if !self.config.adopt_alembic
            || !session.read_rows().await?.is_empty()
            || !session.has_table(crate::alembic::ALEMBIC_TABLE).await?
        {
            return Ok(());
        }
        let report = runner.stamp_alembic(session, false).await?;
        tracing::info!(marked = ?report.marked, "migrate: took over the revisions Flask-Migrate recorded in alembic_version");
        Ok(())
    }

    /// Reverts every applied revision above `target` (`-1` is one step down), newest first.
    ///
    /// # Errors
    ///
    /// As [`upgrade`](Self::upgrade), and [`MigrateError::Irreversible`] for a revision
    /// without a down section.
    pub async fn downgrade(&self, target: &Target) -> Result<RunReport, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = self.locked_session().await?;
        let result = self.runner(&migrations).downgrade(&mut session, target).await;
        session.close().await;
        result
    }

    /// Records the database as being at `target` without running any SQL: revisions up to it
    /// are marked applied (a dirty mark on them is cleared), revisions above it unmarked.
    /// With `purge`, every row is removed first, including rows without a file.
    ///
    /// # Errors
    ///
    /// A target error, [`MigrateError::LockTimeout`], or a database error.
    pub async fn stamp(&self, target: &Target, purge: bool) -> Result<StampReport, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = self.locked_session().await?;
        let result = self.runner(&migrations).stamp(&mut session, target, purge).await;
        session.close().await;
        result
    }

    /// Repairs one applied revision after review: accepts its edited file, clears a failed
    /// statement-by-statement run, or forgets a revision whose file is gone.
    ///
    /// # Errors
    ///
    /// A revision that is not applied or not found, [`MigrateError::LockTimeout`], or a
    /// database error.
    pub async fn repair(&self, revision: &str) -> Result<Repair, MigrateError> {
        let migrations = self.migrations().await?;
        let mut session = self.locked_session().await?;
        let result = self.runner(&migrations).repair(&mut session, revision).await;
        session.close().await;
        result
    }

    /// A dedicated connection holding the lock, with the version table in place.
    pub(crate) async fn locked_session(&self) -> Result<Session, MigrateError> {
        let mut session = Session::open(&self.db, &self.config.version_table, self.config.lock_timeout()).await?;
        let ready = match session.lock().await {
            Ok(()) => session.ensure_table().await,
            Err(err) => Err(err),
        };
        match ready {
            Ok(()) => Ok(session),
            Err(err) => {
                session.close().await;
                Err(err)
            }
        }
    }

    pub(crate) fn runner<'a>(&'a self, migrations: &'a Migrations) -> Run<'a> {
        fn ignore(_: &StepReport) {}
        Run {
            migrations,
            dialect: Dialect::from(self.db.backend()),
            allow_out_of_order: self.config.allow_out_of_order,
            on_step: match &self.on_step {
                Some(on_step) => on_step.as_ref(),
                None => &ignore,
            },
        }
    }
}

/// Reads the folder on a blocking thread: file IO stays off the runtime's threads.
pub(crate) async fn load(directory: PathBuf) -> Result<Migrations, MigrateError> {
    let shown = directory.clone();
    tokio::task::spawn_blocking(move || Migrations::load(directory)).await.map_err(|join| {
        MigrateError::io(shown, std::io::Error::other(format!("reading the migrations folder failed: {join}")))
    })?
}

/// Where a revision stands in the database.
///
/// # Examples
///
/// ```
/// use phial_migrate::RevisionState;
///
/// assert_eq!(RevisionState::Modified.as_str(), "modified");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevisionState {
    /// Not applied.
    Pending,
    /// Applied, and the file is unchanged.
    Applied,
    /// Applied, but the file changed since.
    Modified,
    /// A statement-by-statement run of it stopped part-way.
    Dirty,
}

impl RevisionState {
    /// `pending`, `applied`, `modified` or `dirty`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Applied => "applied",
            Self::Modified => "modified",
            Self::Dirty => "dirty",
        }
    }
}

/// The revision files next to the version table: what `current` and `history` show.
///
/// # Examples
///
/// ```
/// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let status = migrator.status().await?;
/// for revision in status.current() {
///     println!("at {} ({})", revision.id(), status.state(revision).as_str());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Status {
    migrations: Migrations,
    rows: Vec<AppliedRevision>,
}

impl Status {
    pub(crate) fn new(migrations: Migrations, rows: Vec<AppliedRevision>) -> Self {
        Self { migrations, rows }
    }

    /// The revision files.
    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    /// The version table's rows, oldest first.
    pub fn rows(&self) -> &[AppliedRevision] {
        &self.rows
    }

    /// The row of revision `id`, if applied.
    pub fn row(&self, id: &str) -> Option<&AppliedRevision> {
        self.rows.iter().find(|r| r.revision == id)
    }

    /// Where `revision` stands.
    pub fn state(&self, revision: &Revision) -> RevisionState {
        match self.row(revision.id()) {
            None => RevisionState::Pending,
            Some(row) if row.dirty => RevisionState::Dirty,
            Some(row) if row.checksum != revision.checksum() => RevisionState::Modified,
            Some(_) => RevisionState::Applied,
        }
    }

    /// The applied revisions with no applied child: where the database is.
    pub fn current(&self) -> Vec<&Revision> {
        let state = State::new(&self.migrations, self.rows.clone());
        self.migrations.current_heads(&state.applied).into_iter().map(|i| self.migrations.at(i)).collect()
    }

    /// Rows whose revision has no file.
    pub fn orphans(&self) -> Vec<&AppliedRevision> {
        self.rows.iter().filter(|r| self.migrations.get(&r.revision).is_none()).collect()
    }
}
