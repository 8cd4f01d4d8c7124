//! Writing [`Op`]s as SQL of one dialect, each preceded by a comment saying what it does;
//! destructive ones and likely renames carry a mark for the reviewer.

use std::fmt::Write as _;

use super::diff::Op;
use super::{Column, ForeignKey, Index, TableModel};
use crate::split::Dialect;

/// The SQL of `ops`, ready for a revision section.
pub(crate) fn render(ops: &[Op], dialect: Dialect) -> String {
    let sql = Sql { dialect };
    let mut out = String::new();
    for op in ops {
        let _ = writeln!(out, "-- {}", op.describe());
        if op.destructive() {
            out.push_str("-- DESTRUCTIVE: this loses data; check that it is intended\n");
        }
        if let Op::RenameColumn { table, from, to } = op {
            let _ = writeln!(
                out,
                "-- REVIEW: {table}.{from} was dropped and {table}.{to} added with the same type, so this is \
                 written as a rename, which keeps the data. If it is not a rename, replace it with a DROP COLUMN \
                 and an ADD COLUMN."
            );
        }
        for statement in sql.op(op) {
            let _ = writeln!(out, "{statement};");
        }
        out.push('\n');
    }
    out
}

struct Sql {
    dialect: Dialect,
}

impl Sql {
    fn id(&self, name: &str) -> String {
        match self.dialect {
            Dialect::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    fn ids(&self, names: &[String]) -> String {
        names.iter().map(|n| self.id(n)).collect::<Vec<_>>().join(", ")
    }

    fn op(&self, op: &Op) -> Vec<String> {
        match op {
            Op::CreateTable(table) => self.create_table(table),
            Op::DropTable(table) => vec![format!("DROP TABLE {}", self.id(&table.name))],
            Op::AddColumn { table, column } => {
                vec![format!("ALTER TABLE {} ADD COLUMN {}", self.id(table), self.column(column))]
            }
            Op::DropColumn { table, column } => {
                vec![format!("ALTER TABLE {} DROP COLUMN {}", self.id(table), self.id(&column.name))]
            }
            Op::RenameColumn { table, from, to } => {
                vec![format!("ALTER TABLE {} RENAME COLUMN {} TO {}", self.id(table), self.id(from), self.id(to))]
            }
            Op::AlterColumn { table, from, to } => self.alter_column(table, from, to),
            Op::CreateIndex { table, index } => vec![self.create_index(table, index)],
            Op::DropIndex { table, index } => vec![match self.dialect {
                Dialect::Postgres if index.constraint => {
                    format!("ALTER TABLE {} DROP CONSTRAINT {}", self.id(table), self.id(&index.name))
                }
                Dialect::MySql => format!("DROP INDEX {} ON {}", self.id(&index.name), self.id(table)),
                _ => format!("DROP INDEX {}", self.id(&index.name)),
            }],
            Op::AddForeignKey { table, key } => {
                vec![format!("ALTER TABLE {} ADD {}", self.id(table), self.foreign_key(table, key))]
            }
            Op::DropForeignKey { table, key } => {
                let name = self.id(&foreign_key_name(table, key));
                if self.dialect != Dialect::MySql {
                    return vec![format!("ALTER TABLE {} DROP CONSTRAINT {name}", self.id(table))];
                }
                let mut statements = vec![format!("ALTER TABLE {} DROP FOREIGN KEY {name}", self.id(table))];
                if key.implicit_index {
                    statements.push(format!("DROP INDEX {name} ON {}", self.id(table)));
                }
                statements
            }
            Op::RebuildTable { from, to, renamed, .. } => self.rebuild(from, to, renamed),
        }
    }

    fn column(&self, column: &Column) -> String {
        let mut sql_type = column.sql_type.clone();
        let mut default = column.default.clone();
        // A serial's default names its sequence, which exists only once the column does.
        if self.dialect == Dialect::Postgres && default.as_deref().is_some_and(|d| d.starts_with("nextval(")) {
            let serial = match sql_type.as_str() {
                "bigint" => Some("bigserial"),
                "integer" => Some("serial"),
                "smallint" => Some("smallserial"),
                _ => None,
            };
            if let Some(serial) = serial {
                serial.clone_into(&mut sql_type);
                default = None;
            }
        }
        let mut text = format!("{} {sql_type}", self.id(&column.name));
        if !column.nullable {
            text.push_str(" NOT NULL");
        }
        if let Some(default) = default {
            let _ = write!(text, " DEFAULT {default}");
        }
        if let Some(generated) = &column.generated {
            let _ = write!(text, " {generated}");
        }
        text
    }

    fn create_table(&self, table: &TableModel) -> Vec<String> {
        if self.dialect == Dialect::Sqlite
            && let Some(sql) = &table.sql
        {
            let mut statements = vec![sql.clone()];
            statements
                .extend(table.indexes.iter().filter(|i| !i.constraint).map(|i| self.create_index(&table.name, i)));
            return statements;
        }
        let mut parts: Vec<String> = table.columns.iter().map(|c| self.column(c)).collect();
        if !table.primary_key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", self.ids(&table.primary_key)));
        }
        for index in table.indexes.iter().filter(|i| i.constraint) {
            parts.push(format!("CONSTRAINT {} UNIQUE ({})", self.id(&index.name), self.ids(&index.columns)));
        }
        for key in &table.foreign_keys {
            parts.push(self.foreign_key(&table.name, key));
        }
        let mut statements = vec![format!("CREATE TABLE {} (\n    {}\n)", self.id(&table.name), parts.join(",\n    "))];
        statements.extend(table.indexes.iter().filter(|i| !i.constraint).map(|i| self.create_index(&table.name, i)));
        statements
    }

    fn create_index(&self, table: &str, index: &Index) -> String {
        if self.dialect == Dialect::Postgres && index.constraint {
            return format!(
                "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})",
                self.id(table),
                self.id(&index.name),
                self.ids(&index.columns)
            );
        }
        // SQLite reserves `sqlite_` names (its autoindexes): a unique constraint added later
        // becomes a unique index of our naming.
        let name = if index.name.starts_with("sqlite_") {
            format!("uq_{table}_{}", index.columns.join("_"))
        } else {
            index.name.clone()
        };
        let unique = if index.unique { "UNIQUE " } else { "" };
        format!("CREATE {unique}INDEX {} ON {} ({})", self.id(&name), self.id(table), self.ids(&index.columns))
    }

    fn foreign_key(&self, table: &str, key: &ForeignKey) -> String {
        let mut text = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            self.id(&foreign_key_name(table, key)),
            self.ids(&key.columns),
            self.id(&key.ref_table),
            self.ids(&key.ref_columns)
        );
        if key.on_delete != "NO ACTION" {
            let _ = write!(text, " ON DELETE {}", key.on_delete);
        }
        if key.on_update != "NO ACTION" {
            let _ = write!(text, " ON UPDATE {}", key.on_update);
        }
        text
    }

    fn alter_column(&self, table: &str, from: &Column, to: &Column) -> Vec<String> {
        let t = self.id(table);
        let c = self.id(&to.name);
        if self.dialect == Dialect::MySql {
            return vec![format!("ALTER TABLE {t} MODIFY COLUMN {}", self.column(to))];
        }
        let mut statements = Vec::new();
        if from.sql_type != to.sql_type {
            statements.push(format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE {0} USING {c}::{0}", to.sql_type));
        }
        if from.nullable != to.nullable {
            let change = if to.nullable { "DROP NOT NULL" } else { "SET NOT NULL" };
            statements.push(format!("ALTER TABLE {t} ALTER COLUMN {c} {change}"));
        }
        if from.default_key() != to.default_key() {
            statements.push(match &to.default {
                Some(default) => format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}"),
                None => format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
            });
        }
        statements
    }

    /// SQLite's copy-table recipe: a new table of the target shape, the rows copied over, the
    /// old table dropped, the new one renamed, its indexes made again. Foreign keys are checked
    /// at commit (`defer_foreign_keys`), when the table has its name back.
    fn rebuild(&self, from: &TableModel, to: &TableModel, renamed: &[(String, String)]) -> Vec<String> {
        let temporary = format!("{}__phial_new", to.name);
        let create = if let Some(sql) = &to.sql {
            rename_create(sql, &self.id(&temporary))
        } else {
            let mut shape = to.clone();
            shape.name.clone_from(&temporary);
            shape.indexes.retain(|i| i.constraint);
            self.create_table(&shape).remove(0)
        };
        let mut pairs: Vec<(String, String)> = from
            .columns
            .iter()
            .filter(|c| to.column(&c.name).is_some())
            .map(|c| (c.name.clone(), c.name.clone()))
            .collect();
        pairs.extend(renamed.iter().cloned());
        let old: Vec<String> = pairs.iter().map(|(o, _)| o.clone()).collect();
        let new: Vec<String> = pairs.iter().map(|(_, n)| n.clone()).collect();
        let mut statements = vec![
            "PRAGMA defer_foreign_keys = ON".to_owned(),
            create,
            format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                self.id(&temporary),
                self.ids(&new),
                self.ids(&old),
                self.id(&from.name)
            ),
            format!("DROP TABLE {}", self.id(&from.name)),
            format!("ALTER TABLE {} RENAME TO {}", self.id(&temporary), self.id(&to.name)),
        ];
        statements.extend(to.indexes.iter().filter(|i| !i.constraint).map(|i| self.create_index(&to.name, i)));
        statements
    }
}

/// The constraint's name, or the one a new constraint gets: `fk_<table>_<columns>`.
fn foreign_key_name(table: &str, key: &ForeignKey) -> String {
    key.name.clone().unwrap_or_else(|| format!("fk_{table}_{}", key.columns.join("_")))
}

/// `CREATE TABLE x (...)` as `CREATE TABLE <name> (...)`.
fn rename_create(sql: &str, name: &str) -> String {
    match sql.find('(') {
        Some(open) => format!("CREATE TABLE {name} {}", &sql[open..]),
        None => sql.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, sql_type: &str, nullable: bool, default: Option<&str>) -> Column {
        Column {
            name: name.to_owned(),
            sql_type: sql_type.to_owned(),
            nullable,
            default: default.map(str::to_owned),
            generated: None,
        }
    }

    #[test]
    fn columns_are_added_and_altered_per_dialect() {
        let add = Op::AddColumn { table: "users".into(), column: column("age", "integer", false, Some("0")) };
        assert_eq!(
            render(std::slice::from_ref(&add), Dialect::Postgres),
            "-- add column users.age\nALTER TABLE \"users\" ADD COLUMN \"age\" integer NOT NULL DEFAULT 0;\n\n"
        );
        assert!(
            render(&[add], Dialect::MySql).contains("ALTER TABLE `users` ADD COLUMN `age` integer NOT NULL DEFAULT 0;")
        );
        let alter = Op::AlterColumn {
            table: "t".into(),
            from: column("c", "integer", true, None),
            to: column("c", "bigint", false, None),
        };
        let pg = render(std::slice::from_ref(&alter), Dialect::Postgres);
        assert!(pg.contains("ALTER TABLE \"t\" ALTER COLUMN \"c\" TYPE bigint USING \"c\"::bigint;"), "{pg}");
        assert!(pg.contains("ALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL;"), "{pg}");
        assert!(render(&[alter], Dialect::MySql).contains("MODIFY COLUMN `c` bigint NOT NULL;"));
    }

    #[test]
    fn destructive_operations_and_renames_are_marked() {
        let drop = Op::DropColumn { table: "t".into(), column: column("c", "text", true, None) };
        assert!(render(&[drop], Dialect::Sqlite).contains("-- DESTRUCTIVE"));
        let rename = Op::RenameColumn { table: "t".into(), from: "a".into(), to: "b".into() };
        let sql = render(&[rename], Dialect::Sqlite);
        assert!(sql.contains("-- REVIEW: t.a was dropped") && sql.contains("RENAME COLUMN \"a\" TO \"b\";"), "{sql}");
    }

    #[test]
    fn sqlite_rebuild_copies_the_rows_across() {
        let from = TableModel {
            name: "t".into(),
            columns: vec![column("id", "integer", false, None), column("old", "text", true, None)],
            ..TableModel::default()
        };
        let to = TableModel {
            name: "t".into(),
            columns: vec![column("id", "integer", false, None), column("new", "text", false, None)],
            sql: Some("CREATE TABLE \"t\" ( \"id\" integer, \"new\" text NOT NULL )".into()),
            ..TableModel::default()
        };
        let renamed = vec![("old".to_owned(), "new".to_owned())];
        let sql = Sql { dialect: Dialect::Sqlite }.rebuild(&from, &to, &renamed);
        assert_eq!(sql[1], "CREATE TABLE \"t__phial_new\" ( \"id\" integer, \"new\" text NOT NULL )");
        assert_eq!(sql[2], "INSERT INTO \"t__phial_new\" (\"id\", \"new\") SELECT \"id\", \"old\" FROM \"t\"");
        assert_eq!(sql[4], "ALTER TABLE \"t__phial_new\" RENAME TO \"t\"");
    }
}
