//! Offline mode (`upgrade --sql`, `downgrade --sql FROM:TO`): the SQL a run would execute,
//! printed instead of executed, for a DBA to review and run. Nothing connects to a database:
//! the dialect comes from `--dialect` or the URL's scheme, and the starting point from the
//! range, since there is no version table to read it from.

use std::fmt::Write as _;

use crate::config::validate_table_name;
use crate::error::MigrateError;
use crate::graph::Migrations;
use crate::revision::Revision;
use crate::runner::Direction;
use crate::split::{Dialect, Statement};
use crate::table::{COLUMNS, create_table_sql};
use crate::target::Target;

impl Migrations {
    /// The SQL script of an upgrade or downgrade over `range`, in `dialect`, with the
    /// version-table statements that record it: what `upgrade --sql` and `downgrade --sql`
    /// print.
    ///
    /// `range` is `FROM:TO`; for an upgrade, a lone `TO` starts from `base`. Each revision is
    /// wrapped in `BEGIN`/`COMMIT` where it would run in a transaction (PostgreSQL and SQLite,
    /// unless `-- no-transaction`); on MariaDB/MySQL DDL commits itself, so there is none.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Usage`] for a downgrade without `FROM:TO` or a malformed range,
    /// [`MigrateError::Target`] for a range naming no revision, [`MigrateError::Irreversible`]
    /// for a revision without a down section, [`MigrateError::Parse`] for a malformed body,
    /// [`MigrateError::Config`] for a bad table name.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{Dialect, Direction, Migrations, Revision};
    ///
    /// let text = "-- revision: a1\n-- down_revision:\n-- message: users\n-- +up\nCREATE TABLE users (id INT);\n-- +down\nDROP TABLE users;\n";
    /// let migrations = Migrations::new("m", vec![Revision::parse("m/a1.sql", text.as_bytes())?])?;
    /// let sql = migrations.offline_sql(Direction::Upgrade, "head", Dialect::Postgres, "phial_migrations")?;
    /// assert!(sql.contains("BEGIN;\n\nCREATE TABLE users (id INT);\n"));
    /// assert!(sql.contains("INSERT INTO phial_migrations"));
    /// let down = migrations.offline_sql(Direction::Downgrade, "a1:base", Dialect::MySql, "phial_migrations")?;
    /// assert!(down.contains("DROP TABLE users;") && !down.contains("BEGIN;"));
    /// # Ok::<(), phial_migrate::MigrateError>(())
    /// ```
    pub fn offline_sql(
        &self,
        direction: Direction,
        range: &str,
        dialect: Dialect,
        version_table: &str,
    ) -> Result<String, MigrateError> {
        validate_table_name(version_table)?;
        let (from, to) = match (range.split_once(':'), direction) {
            (Some((from, to)), _) => (if from.is_empty() { "base" } else { from }, to),
            (None, Direction::Upgrade) => ("base", range),
            (None, Direction::Downgrade) => {
                return Err(MigrateError::Usage(format!(
                    "`downgrade --sql` needs FROM:TO (e.g. `head:base`, or `{range}` after a colon), since there is \
                     no database to read the current revision from"
                )));
            }
        };
        let to: Target = if to.is_empty() { Target::Head } else { to.parse()? };
        let applied = self.applied_up_to(from)?;
        let script = Script { dialect, table: version_table };
        let mut out = format!(
            "-- phial-migrate {} {from}:{to} ({}), offline: review, then run as one script\n\n",
            direction.as_str(),
            dialect_name(dialect)
        );
        match direction {
            Direction::Upgrade => {
                let pending = self.pending_upgrade(&to, &applied, true)?;
                let _ = writeln!(out, "{};\n", create_table_sql(dialect, version_table));
                for i in pending {
                    let revision = self.at(i);
                    script.revision(&mut out, revision, &revision.up_statements(dialect)?, direction);
                }
            }
            Direction::Downgrade => {
                for i in self.pending_downgrade(&to, &applied)? {
                    let revision = self.at(i);
                    let Some(statements) = revision.down_statements(dialect)? else {
                        return Err(MigrateError::Irreversible {
                            revision: revision.id().to_owned(),
                            path: revision.path().to_path_buf(),
                        });
                    };
                    script.revision(&mut out, revision, &statements, direction);
                }
            }
        }
        Ok(out)
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    }
}

struct Script<'a> {
    dialect: Dialect,
    table: &'a str,
}

impl Script<'_> {
    fn revision(&self, out: &mut String, revision: &Revision, statements: &[Statement], direction: Direction) {
        let transactional = self.dialect != Dialect::MySql && revision.is_transactional();
        let message = if revision.message().is_empty() { String::new() } else { format!(": {}", revision.message()) };
        let _ = writeln!(out, "-- {} {} ({}){message}", direction.as_str(), revision.id(), revision.path().display());
        if transactional {
            out.push_str("BEGIN;\n\n");
        }
        for statement in statements {
            self.statement(out, &statement.sql);
        }
        let record = match direction {
            Direction::Upgrade => format!(
                "INSERT INTO {} ({COLUMNS}) VALUES ({}, {}, {}, {}, 0, {}, {}, 'upgrade')",
                self.table,
                self.literal(revision.id()),
                self.literal(revision.checksum()),
                self.literal(revision.message()),
                self.now(),
                if self.dialect == Dialect::Sqlite { "0" } else { "FALSE" },
                statements.len()
            ),
            Direction::Downgrade => {
                format!("DELETE FROM {} WHERE revision = {}", self.table, self.literal(revision.id()))
            }
        };
        self.statement(out, &record);
        if transactional {
            out.push_str("COMMIT;\n\n");
        }
    }

    /// A statement and its `;`; on MySQL a body with semicolons inside (a trigger) is
    /// delimited the way the `mysql` client needs.
    fn statement(&self, out: &mut String, sql: &str) {
        if self.dialect == Dialect::MySql && sql.contains(';') {
            let _ = writeln!(out, "DELIMITER //\n{sql} //\nDELIMITER ;\n");
        } else {
            let _ = writeln!(out, "{sql};\n");
        }
    }

    fn literal(&self, text: &str) -> String {
        let mut quoted = text.replace('\'', "''");
        if self.dialect == Dialect::MySql {
            quoted = quoted.replace('\\', "\\\\");
        }
        format!("'{quoted}'")
    }

    /// The current time, in the form each backend's `applied_at` column reads back.
    fn now(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "CURRENT_TIMESTAMP",
            Dialect::MySql => "UTC_TIMESTAMP(6)",
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::graph;

    #[test]
    fn upgrade_script_wraps_each_revision_and_records_it() {
        let chain = graph(&[("a", ""), ("b", "a")]);
        let sql = chain.offline_sql(Direction::Upgrade, "a:head", Dialect::Sqlite, "versions").unwrap();
        assert!(sql.starts_with("-- phial-migrate upgrade a:head (sqlite)"), "{sql}");
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS versions"), "{sql}");
        assert!(!sql.contains("-- upgrade a "), "a is the starting point: {sql}");
        assert!(sql.contains("-- upgrade b (m/b.sql)\nBEGIN;\n\nSELECT 1;\n\nINSERT INTO versions"), "{sql}");
        assert!(sql.trim_end().ends_with("COMMIT;"), "{sql}");
    }

    #[test]
    fn downgrade_needs_an_explicit_range() {
        let chain = graph(&[("a", ""), ("b", "a")]);
        let err = chain.offline_sql(Direction::Downgrade, "-1", Dialect::Postgres, "v").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("needs FROM:TO"), "{err}");
        let sql = chain.offline_sql(Direction::Downgrade, "b:base", Dialect::Postgres, "v").unwrap();
        let b = sql.find("-- downgrade b").unwrap();
        let a = sql.find("-- downgrade a").unwrap();
        assert!(b < a, "newest first: {sql}");
        assert!(sql.contains("DELETE FROM v WHERE revision = 'a'"), "{sql}");
    }

    #[test]
    fn literals_are_escaped_per_dialect() {
        let script = Script { dialect: Dialect::MySql, table: "v" };
        assert_eq!(script.literal("it's \\ here"), "'it''s \\\\ here'");
        let script = Script { dialect: Dialect::Postgres, table: "v" };
        assert_eq!(script.literal("it's \\ here"), "'it''s \\ here'");
    }
}
