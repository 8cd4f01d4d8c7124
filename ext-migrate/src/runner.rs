//! What `upgrade`, `downgrade`, `stamp` and `repair` do once the lock is held: read the
//! version table, refuse what is unsafe before running anything, then run each revision the
//! way its backend allows.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::error::{Failure, MigrateError};
use crate::graph::Migrations;
use crate::revision::Revision;
use crate::session::{Session, resume_sqlite_lock};
use crate::split::{Dialect, Statement};
use crate::table::AppliedRevision;
use crate::target::Target;

/// Which way a revision ran.
///
/// # Examples
///
/// ```
/// use phial_migrate::Direction;
///
/// assert_eq!(Direction::Upgrade.as_str(), "upgrade");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// Its `-- +up` section ran.
    Upgrade,
    /// Its `-- +down` section ran.
    Downgrade,
}

impl Direction {
    /// `upgrade` or `downgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upgrade => "upgrade",
            Self::Downgrade => "downgrade",
        }
    }
}

/// One revision that ran.
///
/// # Examples
///
/// ```
/// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let report = migrator.upgrade(&phial_migrate::Target::Head).await?;
/// for step in &report.steps {
///     println!("{} {} in {:?}", step.direction.as_str(), step.revision, step.duration);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepReport {
    /// The revision id.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Up or down.
    pub direction: Direction,
    /// How long its statements took.
    pub duration: Duration,
    /// How many statements ran.
    pub statements: usize,
    /// Whether it ran in a transaction.
    pub transactional: bool,
}

/// What an `upgrade` or `downgrade` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// The revisions that ran, in order.
    pub steps: Vec<StepReport>,
    /// The current revisions afterwards (applied, with no applied child).
    pub current: Vec<String>,
}

/// The applied revisions, matched against the files.
pub(crate) struct State {
    pub(crate) rows: HashMap<String, AppliedRevision>,
    /// Graph indexes of applied revisions that have a file.
    pub(crate) applied: BTreeSet<usize>,
    /// Applied revisions without a file.
    pub(crate) orphans: Vec<String>,
}

impl State {
    pub(crate) fn new(migrations: &Migrations, rows: Vec<AppliedRevision>) -> Self {
        let mut applied = BTreeSet::new();
        let mut orphans = Vec::new();
        for row in &rows {
            match migrations.index_of(&row.revision) {
                Some(i) => {
                    applied.insert(i);
                }
                None => orphans.push(row.revision.clone()),
            }
        }
        let rows = rows.into_iter().map(|r| (r.revision.clone(), r)).collect();
        Self { rows, applied, orphans }
    }

    /// Dirty revisions, then applied revisions without a file, then modified files: each
    /// refuses the run before anything is executed.
    pub(crate) fn refuse_unsafe(&self, migrations: &Migrations) -> Result<(), MigrateError> {
        let mut dirty: Vec<&AppliedRevision> = self.rows.values().filter(|r| r.dirty).collect();
        dirty.sort_by(|a, b| a.revision.cmp(&b.revision));
        if let Some(row) = dirty.first() {
            return Err(MigrateError::Dirty {
                revision: row.revision.clone(),
                operation: row.operation.clone(),
                statements_applied: row.statements_applied,
            });
        }
        if !self.orphans.is_empty() {
            return Err(MigrateError::MissingFile {
                revisions: self.orphans.clone(),
                directory: migrations.directory().to_path_buf(),
            });
        }
        let modified: Vec<String> = self
            .applied
            .iter()
            .filter(|&&i| {
                self.rows.get(migrations.at(i).id()).is_some_and(|r| r.checksum != migrations.at(i).checksum())
            })
            .map(|&i| migrations.describe(i))
            .collect();
        if modified.is_empty() { Ok(()) } else { Err(MigrateError::Modified(modified)) }
    }
}

/// Everything a run needs besides the session.
pub(crate) struct Run<'a> {
    pub(crate) migrations: &'a Migrations,
    pub(crate) dialect: Dialect,
    pub(crate) allow_out_of_order: bool,
    pub(crate) on_step: &'a (dyn Fn(&StepReport) + Send + Sync),
}

impl Run<'_> {
    async fn state(&self, session: &mut Session) -> Result<State, MigrateError> {
        Ok(State::new(self.migrations, session.read_rows().await?))
    }

    pub(crate) async fn upgrade(&self, session: &mut Session, target: &Target) -> Result<RunReport, MigrateError> {
        let migrations = self.migrations;
        let mut state = self.state(session).await?;
        state.refuse_unsafe(migrations)?;
        let pending = migrations.pending_upgrade(target, &state.applied, self.allow_out_of_order)?;
        // Split everything first: a malformed body refuses the run before any revision runs.
        let bodies: Vec<Vec<Statement>> =
            pending.iter().map(|&i| migrations.at(i).up_statements(self.dialect)).collect::<Result<_, _>>()?;
        let mut report = RunReport::default();
        for (&i, statements) in pending.iter().zip(&bodies) {
            if state.applied.contains(&i) {
                continue; // applied by another runner while a `-- no-transaction` revision ran
            }
            let (step, relocked) = self.run_revision(session, migrations.at(i), statements, Direction::Upgrade).await?;
            (self.on_step)(&step);
            report.steps.push(step);
            if relocked {
                state = self.state(session).await?;
                state.refuse_unsafe(migrations)?;
            } else {
                state.applied.insert(i);
            }
        }
        report.current = self.current(session).await?;
        Ok(report)
    }

    pub(crate) async fn downgrade(&self, session: &mut Session, target: &Target) -> Result<RunReport, MigrateError> {
        let migrations = self.migrations;
        let mut state = self.state(session).await?;
        state.refuse_unsafe(migrations)?;
        let revert = migrations.pending_downgrade(target, &state.applied)?;
        let mut bodies = Vec::with_capacity(revert.len());
        for &i in &revert {
            let revision = migrations.at(i);
            match revision.down_statements(self.dialect)? {
                Some(statements) => bodies.push(statements),
                None => {
                    return Err(MigrateError::Irreversible {
                        revision: revision.id().to_owned(),
                        path: revision.path().to_path_buf(),
                    });
                }
            }
        }
        let mut report = RunReport::default();
        for (&i, statements) in revert.iter().zip(&bodies) {
            if !state.applied.contains(&i) {
                continue;
            }
            let (step, relocked) =
                self.run_revision(session, migrations.at(i), statements, Direction::Downgrade).await?;
            (self.on_step)(&step);
            report.steps.push(step);
            if relocked {
                state = self.state(session).await?;
                state.refuse_unsafe(migrations)?;
            } else {
                state.applied.remove(&i);
            }
        }
        report.current = self.current(session).await?;
        Ok(report)
    }

    async fn current(&self, session: &mut Session) -> Result<Vec<String>, MigrateError> {
        let state = self.state(session).await?;
        Ok(self
            .migrations
            .current_heads(&state.applied)
            .into_iter()
            .map(|i| self.migrations.at(i).id().to_owned())
            .collect())
    }

    /// Runs one revision; the flag says whether the SQLite lock was let go and re-taken (so
    /// another runner may have moved on meanwhile).
    async fn run_revision(
        &self,
        session: &mut Session,
        revision: &Revision,
        statements: &[Statement],
        direction: Direction,
    ) -> Result<(StepReport, bool), MigrateError> {
        let transactional = session.transactional_ddl() && revision.is_transactional();
        tracing::debug!(revision = revision.id(), direction = direction.as_str(), transactional, "running revision");
        let started = Instant::now();
        let relocked = if transactional {
            in_transaction(session, revision, statements, direction).await?;
            false
        } else {
            tracked(session, revision, statements, direction).await?
        };
        let step = StepReport {
            revision: revision.id().to_owned(),
            message: revision.message().to_owned(),
            direction,
            duration: started.elapsed(),
            statements: statements.len(),
            transactional,
        };
        Ok((step, relocked))
    }
}

fn failed(
    revision: &Revision,
    direction: Direction,
    index: usize,
    statement: &Statement,
    committed: Option<usize>,
    error: sqlx::Error,
) -> MigrateError {
    MigrateError::Failed(Box::new(Failure {
        revision: revision.id().to_owned(),
        path: revision.path().to_path_buf(),
        operation: direction.as_str().to_owned(),
        statement: index + 1,
        line: statement.line,
        committed,
        error,
    }))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// PostgreSQL and SQLite: the statements and the version-table row commit together, or not
/// at all.
async fn in_transaction(
    session: &mut Session,
    revision: &Revision,
    statements: &[Statement],
    direction: Direction,
) -> Result<(), MigrateError> {
    let started = Instant::now();
    session.begin_revision().await?;
    for (index, statement) in statements.iter().enumerate() {
        if let Err(source) = session.execute(&statement.sql).await {
            session.rollback_revision().await;
            return Err(failed(revision, direction, index, statement, None, source));
        }
    }
    let recorded = match direction {
        Direction::Upgrade => {
            let mut row = AppliedRevision::now(revision, false, "upgrade");
            row.execution_ms = millis(started.elapsed());
            row.statements_applied = i64::try_from(statements.len()).unwrap_or(i64::MAX);
            session.insert_row(&row).await
        }
        Direction::Downgrade => session.delete_row(revision.id()).await,
    };
    if let Err(err) = recorded {
        session.rollback_revision().await;
        return Err(err);
    }
    session.commit_revision().await
}

/// MariaDB (and `-- no-transaction` revisions): each statement commits on its own, so the
/// row is marked dirty first and the count of committed statements is kept up to date. A
/// failure on the first statement leaves nothing behind, so the mark is taken back; a later
/// failure leaves the revision dirty.
async fn tracked(
    session: &mut Session,
    revision: &Revision,
    statements: &[Statement],
    direction: Direction,
) -> Result<bool, MigrateError> {
    let relock = session.suspend_sqlite_lock().await?;
    let id = revision.id();
    let operation = direction.as_str();
    match direction {
        Direction::Upgrade => session.insert_row(&AppliedRevision::now(revision, true, operation)).await?,
        Direction::Downgrade => session.set_progress(id, true, 0, operation).await?,
    }
    let started = Instant::now();
    for (index, statement) in statements.iter().enumerate() {
        if let Err(source) = session.execute(&statement.sql).await {
            if index == 0 {
                let undone = match direction {
                    Direction::Upgrade => session.delete_row(id).await,
                    Direction::Downgrade => session.set_progress(id, false, 0, "upgrade").await,
                };
                if let Err(err) = undone {
                    tracing::warn!(revision = id, error = %err, "could not take back the dirty mark");
                }
            }
            return Err(failed(revision, direction, index, statement, Some(index), source));
        }
        let done = i64::try_from(index + 1).unwrap_or(i64::MAX);
        session.set_progress(id, true, done, operation).await?;
    }
    let count = i64::try_from(statements.len()).unwrap_or(i64::MAX);
    match direction {
        Direction::Upgrade => session.mark_applied(id, revision.checksum(), count, millis(started.elapsed())).await?,
        Direction::Downgrade => session.delete_row(id).await?,
    }
    if relock {
        resume_sqlite_lock(session).await?;
    }
    Ok(relock)
}

/// What `stamp` changed in the version table.
///
/// # Examples
///
/// ```
/// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let report = migrator.stamp(&"head".parse()?, false).await?;
/// println!("marked applied: {:?}, unmarked: {:?}", report.marked, report.unmarked);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StampReport {
    /// Revisions now recorded as applied (or cleaned of a dirty mark).
    pub marked: Vec<String>,
    /// Revisions no longer recorded as applied.
    pub unmarked: Vec<String>,
}

impl Run<'_> {
    pub(crate) async fn stamp(
        &self,
        session: &mut Session,
        target: &Target,
        purge: bool,
    ) -> Result<StampReport, MigrateError> {
        let migrations = self.migrations;
        let state = self.state(session).await?;
        let goals: Vec<usize> = match target {
            Target::Base => Vec::new(),
            Target::Relative(n) | Target::Revision { offset: n, .. } if *n < 0 => {
                migrations.downgrade_keep(target, &state.applied)?.into_iter().collect()
            }
            _ => migrations.upgrade_goals(target, &state.applied)?,
        };
        self.stamp_goals(session, &state, &goals, purge).await
    }

    /// Marks `goals` and everything below them applied, and what is above them not.
    pub(crate) async fn stamp_goals(
        &self,
        session: &mut Session,
        state: &State,
        goals: &[usize],
        purge: bool,
    ) -> Result<StampReport, MigrateError> {
        let migrations = self.migrations;
        let keep = migrations.ancestors_inclusive(goals.iter().copied());
        let keep_ids: BTreeSet<&str> = keep.iter().map(|&i| migrations.at(i).id()).collect();
        let mut report = StampReport::default();
        if purge || goals.is_empty() {
            session.delete_all_rows().await?;
            report.unmarked = state.rows.keys().filter(|id| !keep_ids.contains(id.as_str())).cloned().collect();
        } else {
            let above = migrations.descendants_inclusive(goals.iter().copied());
            for &i in state.applied.iter().filter(|i| above.contains(i) && !keep.contains(i)) {
                session.delete_row(migrations.at(i).id()).await?;
                report.unmarked.push(migrations.at(i).id().to_owned());
            }
        }
        for &i in &keep {
            let revision = migrations.at(i);
            let previous = state.rows.get(revision.id());
            match previous {
                _ if purge => session.insert_row(&AppliedRevision::now(revision, false, "upgrade")).await?,
                None => session.insert_row(&AppliedRevision::now(revision, false, "upgrade")).await?,
                Some(row) if row.dirty => {
                    let (count, ms) = (row.statements_applied, row.execution_ms);
                    session.mark_applied(revision.id(), revision.checksum(), count, ms).await?;
                }
                Some(_) => {}
            }
            if previous.is_none_or(|row| row.dirty) {
                report.marked.push(revision.id().to_owned());
            }
        }
        report.unmarked.sort();
        Ok(report)
    }
}

/// What `repair` did.
///
/// # Examples
///
/// ```
/// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let repair = migrator.repair("3f2a").await?;
/// println!("{repair}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// The edited file's checksum is now the applied one.
    ChecksumAccepted {
        /// The revision id.
        revision: String,
        /// The checksum recorded before.
        old: String,
        /// The file's checksum, now recorded.
        new: String,
    },
    /// A failed statement-by-statement upgrade was forgotten: `upgrade` runs it again.
    FailedUpgradeCleared {
        /// The revision id.
        revision: String,
    },
    /// A failed statement-by-statement downgrade was forgotten: the revision counts as applied.
    FailedDowngradeCleared {
        /// The revision id.
        revision: String,
    },
    /// An applied revision whose file is gone is no longer recorded.
    Forgotten {
        /// The revision id.
        revision: String,
    },
    /// Nothing was wrong.
    NothingToRepair {
        /// The revision id.
        revision: String,
    },
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ChecksumAccepted { revision, old, new } => write!(
                f,
                "{revision}: accepted the edited file (checksum {} -> {})",
                &old[..old.len().min(12)],
                &new[..new.len().min(12)]
            ),
            Self::FailedUpgradeCleared { revision } => {
                write!(f, "{revision}: cleared the failed upgrade; `upgrade` runs it again from its first statement")
            }
            Self::FailedDowngradeCleared { revision } => {
                write!(f, "{revision}: cleared the failed downgrade; it counts as applied again")
            }
            Self::Forgotten { revision } => write!(f, "{revision}: forgotten (its file is gone)"),
            Self::NothingToRepair { revision } => write!(f, "{revision}: nothing to repair"),
        }
    }
}

impl Run<'_> {
    pub(crate) async fn repair(&self, session: &mut Session, spec: &str) -> Result<Repair, MigrateError> {
        let state = self.state(session).await?;
        let revision = match self.migrations.find_index(spec) {
            Ok(i) => self.migrations.at(i),
            Err(not_found) => return self.forget_orphan(session, &state, spec, not_found).await,
        };
        let id = revision.id().to_owned();
        let Some(row) = state.rows.get(&id) else {
            return Err(MigrateError::Target(format!("{id} is not applied; there is nothing to repair")));
        };
        if row.dirty {
            if row.operation == "downgrade" {
                session.set_progress(&id, false, 0, "upgrade").await?;
                session.set_checksum(&id, revision.checksum()).await?;
                return Ok(Repair::FailedDowngradeCleared { revision: id });
            }
            session.delete_row(&id).await?;
            return Ok(Repair::FailedUpgradeCleared { revision: id });
        }
        if row.checksum != revision.checksum() {
            session.set_checksum(&id, revision.checksum()).await?;
            return Ok(Repair::ChecksumAccepted {
                revision: id,
                old: row.checksum.clone(),
                new: revision.checksum().to_owned(),
            });
        }
        Ok(Repair::NothingToRepair { revision: id })
    }

    async fn forget_orphan(
        &self,
        session: &mut Session,
        state: &State,
        spec: &str,
        not_found: MigrateError,
    ) -> Result<Repair, MigrateError> {
        let matches: Vec<&String> =
            state.orphans.iter().filter(|o| o.as_str() == spec || o.starts_with(spec)).collect();
        match matches.as_slice() {
            [one] => {
                session.delete_row(one).await?;
                Ok(Repair::Forgotten { revision: (*one).clone() })
            }
            _ => Err(not_found),
        }
    }
}
