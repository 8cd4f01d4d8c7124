//! Which revisions a run would apply or revert, computed from the graph and the applied set
//! alone, so that `upgrade`, `plan` and the offline `--sql` mode agree; and [`Plan`], what
//! `plan` reports.

use std::collections::BTreeSet;

use crate::destructive::destructive;
use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::split::Dialect;
use crate::target::Target;

impl Migrations {
    /// The revisions `upgrade target` applies from `applied`, in order. Unapplied revisions
    /// older than an applied descendant refuse unless `allow_out_of_order`.
    pub(crate) fn pending_upgrade(
        &self,
        target: &Target,
        applied: &BTreeSet<usize>,
        allow_out_of_order: bool,
    ) -> Result<Vec<usize>, MigrateError> {
        let goals = self.upgrade_goals(target, applied)?;
        let pending: Vec<usize> =
            self.ancestors_inclusive(goals).into_iter().filter(|i| !applied.contains(i)).collect();
        if !allow_out_of_order {
            let late: Vec<String> = pending
                .iter()
                .filter(|&&i| self.descendants_inclusive([i]).iter().any(|d| applied.contains(d)))
                .map(|&i| self.describe(i))
                .collect();
            if !late.is_empty() {
                return Err(MigrateError::OutOfOrder(late));
            }
        }
        Ok(pending)
    }

    /// The revisions `downgrade target` reverts from `applied`, newest first.
    pub(crate) fn pending_downgrade(
        &self,
        target: &Target,
        applied: &BTreeSet<usize>,
    ) -> Result<Vec<usize>, MigrateError> {
        let keep = self.downgrade_keep(target, applied)?;
        let above: BTreeSet<usize> = match keep {
            Some(k) => self.descendants_inclusive([k]).into_iter().filter(|&i| i != k).collect(),
            None => (0..self.len()).collect(),
        };
        let revert: Vec<usize> = above.into_iter().rev().filter(|i| applied.contains(i)).collect();
        if revert.is_empty()
            && let Some(k) = keep
            && !applied.contains(&k)
        {
            return Err(MigrateError::Target(format!(
                "{} is not applied: `downgrade` only goes down; use `upgrade {target}`",
                self.describe(k)
            )));
        }
        Ok(revert)
    }

    /// `spec` and everything below it: `base` is nothing.
    pub(crate) fn applied_up_to(&self, spec: &str) -> Result<BTreeSet<usize>, MigrateError> {
        if spec == "base" {
            return Ok(BTreeSet::new());
        }
        let goals = self.upgrade_goals(&spec.parse()?, &BTreeSet::new())?;
        Ok(self.ancestors_inclusive(goals))
    }
}

/// What `upgrade` would do, without doing it: see [`Migrator::plan`](crate::Migrator::plan).
///
/// # Examples
///
/// ```
/// # async fn run(migrator: phial_migrate::Migrator) -> Result<(), phial_migrate::MigrateError> {
/// let plan = migrator.plan(&phial_migrate::Target::Head).await?;
/// for step in &plan.steps {
///     let mode = if step.transactional { "transaction" } else { "no transaction" };
///     println!("{} ({mode}): {} statement(s)", step.revision, step.statements);
///     for statement in &step.destructive {
///         println!("  line {}: {}", statement.line, statement.kind);
///     }
/// }
/// if let Some(refusal) = plan.refusal {
///     return Err(refusal);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Plan {
    /// The target as given.
    pub target: String,
    /// The revisions `upgrade` would apply, in order.
    pub steps: Vec<PlannedRevision>,
    /// Applied revisions whose files still match their recorded checksums.
    pub verified: usize,
    /// Applied revisions whose files changed since (`upgrade` refuses until `repair`).
    pub modified: Vec<String>,
    /// Why `upgrade` would refuse to run, if it would: the same error it would return.
    pub refusal: Option<MigrateError>,
}

/// One revision in a [`Plan`].
///
/// # Examples
///
/// ```
/// # fn show(step: &phial_migrate::PlannedRevision) {
/// println!("{} {} checksum {}", step.revision, step.message, &step.checksum[..12]);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedRevision {
    /// The revision id.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// Whether it would run in a transaction (not on MariaDB, nor with `-- no-transaction`).
    pub transactional: bool,
    /// How many statements its up section has.
    pub statements: usize,
    /// Its statements that destroy data.
    pub destructive: Vec<DestructiveStatement>,
    /// The file's checksum, which the version table will record.
    pub checksum: String,
}

/// A statement that destroys data: `DROP TABLE`, `DROP COLUMN`, `TRUNCATE`, `DELETE` or
/// `UPDATE` without `WHERE`, `DROP SCHEMA`.
///
/// # Examples
///
/// ```
/// # fn show(statement: &phial_migrate::DestructiveStatement) {
/// println!("line {}: {} ({})", statement.line, statement.kind, statement.sql);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestructiveStatement {
    /// Its line in the file.
    pub line: usize,
    /// What it does, e.g. `DROP TABLE`.
    pub kind: &'static str,
    /// The statement, on one line, shortened to 80 characters.
    pub sql: String,
}

/// The plan of `pending` revisions; a malformed body is an error, as it would be for `upgrade`.
pub(crate) fn planned(
    migrations: &Migrations,
    pending: &[usize],
    dialect: Dialect,
) -> Result<Vec<PlannedRevision>, MigrateError> {
    let mut steps = Vec::with_capacity(pending.len());
    for &i in pending {
        let revision = migrations.at(i);
        let statements = revision.up_statements(dialect)?;
        let destructive = statements
            .iter()
            .filter_map(|s| {
                destructive(&s.sql).map(|kind| DestructiveStatement { line: s.line, kind, sql: one_line(&s.sql) })
            })
            .collect();
        steps.push(PlannedRevision {
            revision: revision.id().to_owned(),
            message: revision.message().to_owned(),
            path: revision.path().to_path_buf(),
            transactional: dialect != Dialect::MySql && revision.is_transactional(),
            statements: statements.len(),
            destructive,
            checksum: revision.checksum().to_owned(),
        });
    }
    Ok(steps)
}

fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 { format!("{}...", flat.chars().take(77).collect::<String>()) } else { flat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::graph;

    fn ids(migrations: &Migrations, indexes: &[usize]) -> Vec<String> {
        indexes.iter().map(|&i| migrations.at(i).id().to_owned()).collect()
    }

    #[test]
    fn pending_revisions_follow_the_graph() {
        let chain = graph(&[("a", ""), ("b", "a"), ("c", "b")]);
        let none = BTreeSet::new();
        assert_eq!(ids(&chain, &chain.pending_upgrade(&Target::Head, &none, false).unwrap()), ["a", "b", "c"]);
        let at_b = chain.applied_up_to("b").unwrap();
        assert_eq!(ids(&chain, &chain.pending_upgrade(&Target::Head, &at_b, false).unwrap()), ["c"]);
        assert_eq!(ids(&chain, &chain.pending_downgrade(&Target::Base, &at_b).unwrap()), ["b", "a"]);
        let only_c = [chain.index_of("c").unwrap()].into_iter().collect();
        let err = chain.pending_upgrade(&Target::Head, &only_c, false).unwrap_err();
        assert!(matches!(err, MigrateError::OutOfOrder(_)), "{err}");
        assert!(chain.applied_up_to("base").unwrap().is_empty());
    }
}
