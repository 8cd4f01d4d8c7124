//! [`MigrateError`]: everything that can stop a migration command, each with what to do next.

use std::path::PathBuf;
use std::time::Duration;

/// An error from phial-migrate. Each message names the revision and file involved and says
/// how to recover.
///
/// The binary exits with [`exit_code`](Self::exit_code): `2` for a malformed command line
/// (including a target such as `+x`), `1` for everything else.
///
/// # Examples
///
/// ```
/// use phial_migrate::MigrateError;
///
/// let err = MigrateError::Usage("`+x` is not a target".into());
/// assert_eq!(err.exit_code(), 2);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A file or folder could not be read or written.
    #[error("{}: {error}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error (part of the message, so not repeated as a source).
        error: std::io::Error,
    },
    /// A revision file is malformed.
    #[error("{}:{line}: {message}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The revision files do not form a valid graph: a duplicate id, a missing parent, a cycle,
    /// a duplicate branch label.
    #[error("{0}")]
    Graph(String),
    /// A target or revision that names nothing, or names several revisions.
    #[error("{0}")]
    Target(String),
    /// `upgrade head` (or `revision` without `--head`) with several heads.
    #[error(
        "several heads: {}; upgrade one of them by name, or `heads` to apply every branch; or merge them with \
         `merge heads -m \"merge\"` (or `revision -m \"merge\" {}`)",
        .0.join(", "),
        .0.iter().map(|h| format!("--head {}", h.split(' ').next().unwrap_or(h))).collect::<Vec<_>>().join(" ")
    )]
    MultipleHeads(Vec<String>),
    /// Applied revisions whose files changed since they were applied.
    #[error(
        "{} modified after it was applied; nothing was run. Restore the applied version, or review the change and \
         accept it with `repair {}`",
        .0.join(", "),
        .0.first().and_then(|r| r.split(' ').next()).unwrap_or("REV")
    )]
    Modified(Vec<String>),
    /// Applied revisions that no file defines any more.
    #[error(
        "applied revision {} has no file in {}; restore it, or `repair {}` to forget that it was applied \
         (its schema changes stay in the database)",
        .revisions.join(", "),
        .directory.display(),
        .revisions.first().map_or("REV", String::as_str)
    )]
    MissingFile {
        /// The revision ids.
        revisions: Vec<String>,
        /// The migrations folder.
        directory: PathBuf,
    },
    /// A revision that failed part-way with statements committed (MariaDB, or
    /// `-- no-transaction`), so the schema is between two revisions.
    #[error(
        "{revision} is dirty: its {operation} stopped (failed, or its process died) after {statements_applied} \
         statement(s) had committed, so the database may be part-way through it; nothing was run. Finish or \
         undo those statements by hand, then record the result: `stamp {revision}` if the revision is now fully applied, `stamp {revision}-1` if it is fully undone, \
         or `repair {revision}` to clear the mark and run its {operation} again from its first statement"
    )]
    Dirty {
        /// The revision id.
        revision: String,
        /// `upgrade` or `downgrade`.
        operation: String,
        /// How many statements had committed.
        statements_applied: i64,
    },
    /// Unapplied revisions older than applied ones on the same branch.
    #[error(
        "out of order: {} not applied, but later revisions on the same branch are; run with \
         `--allow-out-of-order` to apply them now",
        .0.join(", ")
    )]
    OutOfOrder(Vec<String>),
    /// A revision without a `-- +down` section cannot be downgraded.
    #[error("{revision} ({}) has no `-- +down` section, so it cannot be downgraded", .path.display())]
    Irreversible {
        /// The revision id.
        revision: String,
        /// Its file.
        path: PathBuf,
    },
    /// Another runner held the migration lock for longer than the lock timeout.
    #[error(
        "could not take the migration lock within {:.0} s: another runner is migrating this database. \
         The lock is released when that runner finishes or its connection closes; retry, or raise \
         `--lock-timeout` (`migrate.lock_timeout`)",
        .0.as_secs_f64()
    )]
    LockTimeout(Duration),
    /// A statement of a revision failed. What committed before it is in the message.
    #[error("{0}")]
    Failed(Box<Failure>),
    /// The version table or the lock could not be read or written.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Connecting failed, or the URL is unsupported.
    #[error(transparent)]
    Sql(#[from] phial_sql::SqlError),
    /// A configuration problem: a bad version-table name, no database URL.
    #[error("{0}")]
    Config(String),
    /// `check`: the database differs from the declared tables; the operations that would
    /// make them equal.
    #[error(
        "the database differs from the declared tables: {}; write a revision with `revision --autogenerate -m MSG`",
        .0.join("; ")
    )]
    SchemaDiffers(Vec<String>),
    /// A malformed command line, e.g. a target that is not one.
    #[error("{0}")]
    Usage(String),
}

/// A revision statement that failed: which, where, and what had committed before it.
///
/// # Examples
///
/// ```
/// # fn check(err: phial_migrate::MigrateError) {
/// if let phial_migrate::MigrateError::Failed(failure) = &err {
///     eprintln!("{} failed at {}:{}", failure.revision, failure.path.display(), failure.line);
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error(
    "{revision} ({}:{line}) failed at statement {statement} of its {operation}: {error}{}",
    .path.display(),
    match .committed {
        None => String::from("; its transaction was rolled back, so nothing of it was applied"),
        Some(0) => String::from("; no earlier statement of it had committed"),
        Some(n) => format!("; {n} earlier statement(s) had committed, so it is marked dirty"),
    }
)]
#[non_exhaustive]
pub struct Failure {
    /// The revision id.
    pub revision: String,
    /// Its file.
    pub path: PathBuf,
    /// `upgrade` or `downgrade`.
    pub operation: String,
    /// The 1-based statement number.
    pub statement: usize,
    /// The statement's line in the file.
    pub line: usize,
    /// Statements committed before the failure (`None`: the revision ran in a transaction).
    pub committed: Option<usize>,
    /// The database's error (part of the message, so not repeated as a source).
    pub error: sqlx::Error,
}

impl MigrateError {
    /// The exit code the binary uses: `2` for [`Usage`](Self::Usage), `1` otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            _ => 1,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io { path: path.into(), error }
    }
}

impl From<sqlx::Error> for MigrateError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_heads_suggest_a_merge_revision() {
        let err = MigrateError::MultipleHeads(vec!["aaa (a.sql)".into(), "bbb (b.sql)".into()]).to_string();
        assert!(err.contains("aaa (a.sql), bbb (b.sql)"), "{err}");
        assert!(err.contains("--head aaa --head bbb"), "{err}");
        assert!(err.contains("merge heads -m"), "{err}");
    }

    #[test]
    fn failed_says_what_committed() {
        let failed = |committed| {
            MigrateError::Failed(Box::new(Failure {
                revision: "abc".into(),
                path: "m/abc.sql".into(),
                operation: "upgrade".into(),
                statement: 2,
                line: 9,
                committed,
                error: sqlx::Error::Protocol("boom".into()),
            }))
        };
        assert!(failed(None).to_string().contains("nothing of it was applied"));
        assert!(failed(Some(0)).to_string().contains("no earlier statement"));
        assert!(failed(Some(1)).to_string().contains("1 earlier statement(s) had committed"));
        assert!(failed(None).to_string().starts_with("abc (m/abc.sql:9) failed at statement 2"));
    }
}
