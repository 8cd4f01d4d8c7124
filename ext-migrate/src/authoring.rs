//! The commands that write files: `init`, `revision` and `merge` (and the file autogenerate
//! writes).

use std::path::{Path, PathBuf};

use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::revision::{NewRevision, valid_name};
use crate::target::Target;

pub(crate) async fn init(directory: &Path) -> Result<(), MigrateError> {
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
    created.await.map_err(|join| MigrateError::io(directory, std::io::Error::other(join.to_string())))?
}

const README: &str = "# Migrations\n\nOne SQL file per revision, managed with `phial-migrate` or `<app> db`:\n\n\
    ```sql\n-- revision: 3f2a9c1b7d4e\n-- down_revision: 1a2b3c4d5e6f\n-- branch_labels:\n-- message: add the user table\n\n\
    -- +up\nCREATE TABLE users (id BIGINT PRIMARY KEY);\n\n-- +down\nDROP TABLE users;\n```\n\n\
    Commands: `revision -m MSG [--autogenerate]`, `upgrade`, `downgrade`, `current`, `history`, `heads`, \
    `branches`, `merge heads -m MSG`, `show REV`, `plan`, `stamp REV`, `repair REV`, `check`.\n\
    Do not edit a revision once it is applied somewhere: add a new one.\n";

/// A revision file to write.
pub(crate) struct RevisionRequest<'a> {
    pub(crate) message: &'a str,
    pub(crate) parents: Vec<String>,
    pub(crate) branch_labels: &'a [String],
    pub(crate) rev_id: Option<&'a str>,
    pub(crate) up: &'a str,
    pub(crate) down: &'a str,
}

/// Writes a new revision file into `migrations`' folder; returns its path.
pub(crate) async fn write_revision(
    migrations: &Migrations,
    request: &RevisionRequest<'_>,
) -> Result<PathBuf, MigrateError> {
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
        parents: &request.parents,
        branch_labels: request.branch_labels,
        message: request.message,
        created: &created,
        up: request.up,
        down: request.down,
    };
    let path = migrations.directory().join(new.file_name());
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
    Ok(path)
}

/// The new revision's parents: `--head` values, or the single head.
pub(crate) fn parents_of(migrations: &Migrations, heads: &[String]) -> Result<Vec<String>, MigrateError> {
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

/// The parents of a `merge` revision: the named revisions, or every head for `heads`. Merging
/// needs two revisions at least, none of which descends from another.
pub(crate) fn merge_parents(migrations: &Migrations, specs: &[String]) -> Result<Vec<String>, MigrateError> {
    let mut parents: Vec<usize> = Vec::new();
    for spec in specs {
        let found = if spec == "heads" { migrations.head_indexes() } else { vec![migrations.find_index(spec)?] };
        for i in found {
            if !parents.contains(&i) {
                parents.push(i);
            }
        }
    }
    if parents.len() < 2 {
        let only = parents.first().map_or_else(|| "no revision".to_owned(), |&i| migrations.describe(i));
        return Err(MigrateError::Usage(format!("nothing to merge: only {only}; name two heads or more, or `heads`")));
    }
    for &a in &parents {
        for &b in &parents {
            if a != b && migrations.ancestors_inclusive([b]).contains(&a) {
                return Err(MigrateError::Usage(format!(
                    "{} is an ancestor of {}: merge revisions join branches, not a revision and its descendant",
                    migrations.at(a).id(),
                    migrations.at(b).id()
                )));
            }
        }
    }
    Ok(parents.into_iter().map(|i| migrations.at(i).id().to_owned()).collect())
}

fn random_id() -> Result<String, MigrateError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|err| MigrateError::Config(format!("no randomness for a revision id: {err}; pass --rev-id")))?;
    Ok(crate::revision::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::graph;

    #[test]
    fn merge_takes_every_head_or_named_branches() {
        let split = graph(&[("a", ""), ("b1", "a"), ("b2", "a")]);
        assert_eq!(merge_parents(&split, &["heads".to_owned()]).unwrap(), ["b1", "b2"]);
        assert_eq!(merge_parents(&split, &["b2".to_owned(), "b1".to_owned()]).unwrap(), ["b2", "b1"]);
        let chain = graph(&[("a", ""), ("b", "a")]);
        let err = merge_parents(&chain, &["heads".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("nothing to merge: only b"), "{err}");
        let err = merge_parents(&chain, &["a".to_owned(), "b".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("a is an ancestor of b"), "{err}");
    }
}
