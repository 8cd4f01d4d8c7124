//! What the read-only commands print (`current`, `history`, `heads`, `branches`, `show`,
//! `plan`), as text in Alembic's shapes, or as JSON with `--json`.

use std::collections::BTreeSet;

use phial_core::cli::Output;
use serde_json::{Value, json};

use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::migrator::{RevisionState, Status};
use crate::plan::Plan;
use crate::revision::Revision;
use crate::split::Dialect;

/// `text` in an ANSI colour (`31` red, `32` green, `33` yellow) when `colour` is on.
pub(crate) fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

/// `parents -> id (head) (label), message`, as Alembic prints revisions.
pub(crate) fn describe(migrations: &Migrations, revision: &Revision) -> String {
    let mut text = format!("{} -> {}", parents_text(revision), revision.id());
    if migrations.is_head(revision.id()) {
        text.push_str(" (head)");
    }
    if migrations.children_of(revision.id()).len() > 1 {
        text.push_str(" (branchpoint)");
    }
    if revision.parents().len() > 1 {
        text.push_str(" (mergepoint)");
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

fn parents_text(revision: &Revision) -> String {
    if revision.parents().is_empty() { "<base>".to_owned() } else { revision.parents().join(", ") }
}

pub(crate) fn list(ids: &[String]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
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

/// One revision as JSON; `state` and `applied_at` when a database was read.
fn revision_json(migrations: &Migrations, status: Option<&Status>, revision: &Revision) -> Value {
    let children: Vec<&str> = migrations.children_of(revision.id()).iter().map(|r| r.id()).collect();
    let mut value = json!({
        "revision": revision.id(),
        "parents": revision.parents(),
        "children": children,
        "branch_labels": revision.branch_labels(),
        "message": revision.message(),
        "head": migrations.is_head(revision.id()),
        "path": revision.path().display().to_string(),
        "created": revision.created(),
        "checksum": revision.checksum(),
        "transactional": revision.is_transactional(),
    });
    if let Some(status) = status {
        value["state"] = json!(status.state(revision).as_str());
        value["applied_at"] = json!(status.row(revision.id()).map(|row| applied_at(row.applied_at)));
    }
    value
}

pub(crate) fn current(status: &Status, alembic: Option<&[String]>, json: bool, out: &Output) {
    let migrations = status.migrations();
    let modified: Vec<&str> = migrations
        .revisions()
        .iter()
        .filter(|r| status.state(r) == RevisionState::Modified)
        .map(Revision::id)
        .collect();
    if json {
        let current: Vec<Value> = status.current().iter().map(|r| revision_json(migrations, Some(status), r)).collect();
        let orphans: Vec<&str> = status.orphans().iter().map(|r| r.revision.as_str()).collect();
        let dirty: Vec<Value> = status
            .rows()
            .iter()
            .filter(|r| r.dirty)
            .map(|r| json!({"revision": r.revision, "operation": r.operation, "statements_applied": r.statements_applied}))
            .collect();
        let mut value = json!({"current": current, "missing_files": orphans, "modified": modified, "dirty": dirty});
        if let Some(alembic) = alembic {
            value["alembic_version"] = json!(alembic);
        }
        out.line(value);
        return;
    }
    let current = status.current();
    if current.is_empty() && status.orphans().is_empty() {
        out.line("no revision applied (base)");
    }
    for revision in current {
        out.line(format!("{}  [{}]", describe(migrations, revision), state_text(status, revision)));
    }
    if let Some(alembic) = alembic {
        out.line(format!(
            "alembic_version: {}",
            if alembic.is_empty() { "empty".to_owned() } else { alembic.join(", ") }
        ));
    }
    for orphan in status.orphans() {
        out.line(format!("{} (no file)  [applied {}]", orphan.revision, applied_at(orphan.applied_at)));
    }
    for id in modified {
        out.line(format!("{id} modified after it was applied; see `repair`"));
    }
    for row in status.rows().iter().filter(|r| r.dirty) {
        out.line(format!(
            "{} is dirty: its {} stopped after {} statement(s); see `repair` and `stamp`",
            row.revision, row.operation, row.statements_applied
        ));
    }
}

/// How `history` prints.
pub(crate) struct HistoryOptions<'a> {
    pub(crate) range: Option<&'a str>,
    pub(crate) verbose: bool,
    pub(crate) json: bool,
}

pub(crate) fn history(
    migrations: &Migrations,
    status: Option<&Status>,
    options: &HistoryOptions<'_>,
    out: &Output,
) -> Result<(), MigrateError> {
    let shown = match options.range {
        Some(range) => in_range(migrations, range, status)?,
        None => (0..migrations.len()).collect(),
    };
    let revisions = shown.iter().rev().map(|&i| migrations.at(i));
    if options.json {
        let list: Vec<Value> = revisions.map(|r| revision_json(migrations, status, r)).collect();
        out.line(json!({ "revisions": list }));
        return Ok(());
    }
    for revision in revisions {
        if options.verbose {
            verbose(migrations, status, revision, out);
            continue;
        }
        let line = describe(migrations, revision);
        match status {
            Some(status) => out.line(format!("{line}  [{}]", state_text(status, revision))),
            None => out.line(line),
        }
    }
    Ok(())
}

/// `A:B`: revisions descending from A (inclusive) and leading to B (inclusive); an empty side,
/// `base` or `heads` leaves that end open; `current` is where the database is.
fn in_range(migrations: &Migrations, range: &str, status: Option<&Status>) -> Result<BTreeSet<usize>, MigrateError> {
    let Some((lower, upper)) = range.split_once(':') else {
        return Err(MigrateError::Usage(format!(
            "`-r {range}` is not a range; write A:B, e.g. base:head, current:, ae10:current"
        )));
    };
    let resolve = |spec: &str| -> Result<Vec<usize>, MigrateError> {
        if spec != "current" {
            return migrations.find_index(spec).map(|i| vec![i]);
        }
        let status = status.ok_or_else(|| {
            MigrateError::Config("`current` in a history range needs a database; pass --database-url".to_owned())
        })?;
        Ok(status.current().iter().filter_map(|r| migrations.index_of(r.id())).collect())
    };
    let all: BTreeSet<usize> = (0..migrations.len()).collect();
    let from = match lower {
        "" | "base" => all.clone(),
        spec => migrations.descendants_inclusive(resolve(spec)?),
    };
    let to = match upper {
        "" | "head" | "heads" => all,
        spec => migrations.ancestors_inclusive(resolve(spec)?),
    };
    Ok(from.intersection(&to).copied().collect())
}

fn verbose(migrations: &Migrations, status: Option<&Status>, revision: &Revision, out: &Output) {
    let head = if migrations.is_head(revision.id()) { " (head)" } else { "" };
    out.line(format!("Rev: {}{head}", revision.id()));
    out.line(format!("Parent: {}", parents_text(revision)));
    let children: Vec<String> = migrations.children_of(revision.id()).iter().map(|r| r.id().to_owned()).collect();
    if children.len() > 1 {
        out.line(format!("Branches into: {}", children.join(", ")));
    }
    if revision.parents().len() > 1 {
        out.line(format!("Merges: {}", revision.parents().join(", ")));
    }
    if !revision.branch_labels().is_empty() {
        out.line(format!("Branch names: {}", revision.branch_labels().join(", ")));
    }
    out.line(format!("Path: {}", revision.path().display()));
    if let Some(created) = revision.created() {
        out.line(format!("Created: {created}"));
    }
    if let Some(status) = status {
        out.line(format!("State: {}", state_text(status, revision)));
    }
    out.line("");
    out.line(format!("    {}", if revision.message().is_empty() { "(no message)" } else { revision.message() }));
    out.line("");
}

pub(crate) fn heads(migrations: &Migrations, json: bool, out: &Output) {
    if json {
        let heads: Vec<Value> = migrations.heads().iter().map(|r| revision_json(migrations, None, r)).collect();
        out.line(json!({ "heads": heads }));
        return;
    }
    for head in migrations.heads() {
        out.line(describe(migrations, head));
    }
}

/// Revisions with more than one child, and the children, as Alembic's `branches` prints them.
pub(crate) fn branches(migrations: &Migrations, json: bool, out: &Output) {
    let points: Vec<&Revision> =
        migrations.revisions().iter().filter(|r| migrations.children_of(r.id()).len() > 1).collect();
    if json {
        let list: Vec<Value> = points
            .iter()
            .map(|r| {
                let mut value = revision_json(migrations, None, r);
                value["children"] = migrations
                    .children_of(r.id())
                    .iter()
                    .map(|c| revision_json(migrations, None, c))
                    .collect::<Vec<_>>()
                    .into();
                value
            })
            .collect();
        out.line(json!({ "branches": list }));
        return;
    }
    for point in points {
        out.line(describe(migrations, point));
        for child in migrations.children_of(point.id()) {
            out.line(format!("    -> {}", describe(migrations, child).split_once(" -> ").map_or("", |(_, rest)| rest)));
        }
    }
}

pub(crate) fn show(
    migrations: &Migrations,
    status: Option<&Status>,
    revision: &Revision,
    dialect: Dialect,
    json: bool,
    out: &Output,
) -> Result<(), MigrateError> {
    let up = revision.up_statements(dialect)?.len();
    let down = revision.down_statements(dialect)?.map(|d| d.len());
    if json {
        let mut value = revision_json(migrations, status, revision);
        value["up_statements"] = json!(up);
        value["down_statements"] = json!(down);
        out.line(value);
        return Ok(());
    }
    let children: Vec<String> = migrations.children_of(revision.id()).iter().map(|r| r.id().to_owned()).collect();
    let head = if migrations.is_head(revision.id()) { " (head)" } else { "" };
    out.line(format!("Revision: {}{head}", revision.id()));
    out.line(format!("Parents: {}", parents_text(revision)));
    out.line(format!("Children: {}", list(&children)));
    out.line(format!("Branch labels: {}", list(revision.branch_labels())));
    out.line(format!("Message: {}", revision.message()));
    out.line(format!("Path: {}", revision.path().display()));
    out.line(format!("Checksum: {}", revision.checksum()));
    out.line(format!("Transaction: {}", if revision.is_transactional() { "yes" } else { "no (-- no-transaction)" }));
    let down = down.map_or_else(|| "none (irreversible)".to_owned(), |d| d.to_string());
    out.line(format!("Statements: {up} up, {down} down"));
    if let Some(status) = status {
        out.line(format!("State: {}", state_text(status, revision)));
    }
    Ok(())
}

pub(crate) fn plan(plan: &Plan, json: bool, colour: bool, out: &Output) {
    if json {
        let steps: Vec<Value> = plan
            .steps
            .iter()
            .map(|s| {
                let destructive: Vec<Value> =
                    s.destructive.iter().map(|d| json!({"line": d.line, "kind": d.kind, "sql": d.sql})).collect();
                json!({
                    "revision": s.revision,
                    "message": s.message,
                    "path": s.path.display().to_string(),
                    "transactional": s.transactional,
                    "statements": s.statements,
                    "destructive": destructive,
                    "checksum": s.checksum,
                })
            })
            .collect();
        out.line(json!({
            "target": plan.target,
            "steps": steps,
            "applied_verified": plan.verified,
            "modified": plan.modified,
            "refusal": plan.refusal.as_ref().map(ToString::to_string),
        }));
        return;
    }
    if plan.steps.is_empty() && plan.refusal.is_none() {
        out.line(format!("nothing to upgrade to {}", plan.target));
    }
    for step in &plan.steps {
        let mode = if step.transactional { "transaction" } else { "no transaction" };
        out.line(format!(
            "would apply {}  {}  ({mode}, {} statement(s), checksum {})",
            step.revision,
            step.message,
            step.statements,
            &step.checksum[..12]
        ));
        for statement in &step.destructive {
            out.line(format!(
                "    {} {} at {}:{}: {}",
                paint(colour, "31", "DESTRUCTIVE"),
                statement.kind,
                step.path.display(),
                statement.line,
                statement.sql
            ));
        }
    }
    let modified = if plan.modified.is_empty() {
        String::new()
    } else {
        format!("; modified since applied: {}", plan.modified.join(", "))
    };
    out.line(format!("checksums: {} applied revision(s) verified{modified}", plan.verified));
    if let Some(refusal) = &plan.refusal {
        out.line(format!("{} {refusal}", paint(colour, "31", "upgrade would refuse:")));
    }
}
