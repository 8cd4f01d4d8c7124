//! Comparing two schemas: the operations that turn `current` into `target`. Autogenerate
//! diffs the live database against the declared tables for the up section, and the other way
//! round for the down section, so both come from the same rules.

use super::{Column, ForeignKey, Index, Schema, TableModel};
use crate::split::Dialect;

/// One change. Tables and columns carry their full models, so rendering needs nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    CreateTable(TableModel),
    DropTable(TableModel),
    AddColumn {
        table: String,
        column: Column,
    },
    DropColumn {
        table: String,
        column: Column,
    },
    /// One column dropped and one added with the same type: likely a rename, written as one
    /// and flagged for review.
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    AlterColumn {
        table: String,
        from: Column,
        to: Column,
    },
    CreateIndex {
        table: String,
        index: Index,
    },
    DropIndex {
        table: String,
        index: Index,
    },
    AddForeignKey {
        table: String,
        key: ForeignKey,
    },
    DropForeignKey {
        table: String,
        key: ForeignKey,
    },
    /// SQLite, for changes `ALTER TABLE` cannot make: the copy-table recipe. `renamed` maps
    /// old column names to new ones.
    RebuildTable {
        from: TableModel,
        to: TableModel,
        renamed: Vec<(String, String)>,
        reasons: Vec<String>,
    },
}

impl Op {
    /// One line for `check` and the comments of the revision file.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::CreateTable(t) => format!("create table {}", t.name),
            Self::DropTable(t) => format!("drop table {}", t.name),
            Self::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            Self::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
            Self::RenameColumn { table, from, to } => format!("rename column {table}.{from} to {to} (likely)"),
            Self::AlterColumn { table, from, to } => {
                format!("alter column {table}.{} ({})", to.name, column_changes(from, to).join(", "))
            }
            Self::CreateIndex { table, index } => {
                format!("create {}index {} on {table} ({})", unique(index), index.name, index.columns.join(", "))
            }
            Self::DropIndex { table, index } => format!("drop {}index {} on {table}", unique(index), index.name),
            Self::AddForeignKey { table, key } => format!(
                "add foreign key {table} ({}) -> {} ({})",
                key.columns.join(", "),
                key.ref_table,
                key.ref_columns.join(", ")
            ),
            Self::DropForeignKey { table, key } => {
                format!("drop foreign key {table} ({}) -> {}", key.columns.join(", "), key.ref_table)
            }
            Self::RebuildTable { to, reasons, .. } => {
                format!("rebuild table {} ({})", to.name, reasons.join("; "))
            }
        }
    }

    /// Whether it loses data: dropped tables and columns, and rebuilds that drop columns.
    pub(crate) fn destructive(&self) -> bool {
        match self {
            Self::DropTable(_) | Self::DropColumn { .. } => true,
            Self::RebuildTable { from, to, renamed, .. } => from
                .columns
                .iter()
                .any(|c| to.column(&c.name).is_none() && !renamed.iter().any(|(old, _)| *old == c.name)),
            _ => false,
        }
    }
}

fn unique(index: &Index) -> &'static str {
    if index.unique { "unique " } else { "" }
}

/// What differs between two versions of a column: `type`, `nullable`, `default`.
pub(crate) fn column_changes(from: &Column, to: &Column) -> Vec<String> {
    let mut changes = Vec::new();
    if !from.sql_type.eq_ignore_ascii_case(&to.sql_type) {
        changes.push(format!("type {} -> {}", from.sql_type, to.sql_type));
    }
    if from.nullable != to.nullable {
        changes.push(if to.nullable { "nullable".to_owned() } else { "not null".to_owned() });
    }
    if from.is_serial() != to.is_serial() {
        changes.push(if to.is_serial() { "auto-increment".to_owned() } else { "not auto-increment".to_owned() });
    }
    if from.plain_default() != to.plain_default() {
        changes.push(format!(
            "default {} -> {}",
            from.default.as_deref().unwrap_or("none"),
            to.default.as_deref().unwrap_or("none")
        ));
    }
    changes
}

fn same_column(a: &Column, b: &Column, dialect: Dialect) -> bool {
    a.type_key(dialect) == b.type_key(dialect)
        && a.nullable == b.nullable
        && a.plain_default() == b.plain_default()
        && a.is_serial() == b.is_serial()
        && (dialect != Dialect::MySql || a.generated == b.generated)
}

fn index_key(index: &Index) -> (bool, &[String]) {
    (index.unique, &index.columns)
}

/// The operations that turn `current` into `target`, in an order that runs: foreign keys and
/// indexes dropped first, tables created in dependency order, columns changed, indexes and
/// foreign keys added, tables dropped last.
pub(crate) fn diff(current: &Schema, target: &Schema, dialect: Dialect) -> Vec<Op> {
    let mut drops = Vec::new();
    let mut creates = Vec::new();
    let mut changes = Vec::new();
    let mut adds = Vec::new();
    let mut dropped_tables = Vec::new();
    for table in dependency_order(target) {
        match current.tables.get(&table.name) {
            None => creates.push(Op::CreateTable(table.clone())),
            Some(live) => {
                let ops = table_ops(live, table, dialect);
                for op in ops {
                    match op {
                        Op::DropForeignKey { .. } | Op::DropIndex { .. } => drops.push(op),
                        Op::CreateIndex { .. } | Op::AddForeignKey { .. } => adds.push(op),
                        _ => changes.push(op),
                    }
                }
            }
        }
    }
    for table in dependency_order(current).into_iter().rev() {
        if !target.tables.contains_key(&table.name) {
            dropped_tables.push(Op::DropTable(table.clone()));
        }
    }
    drops.into_iter().chain(creates).chain(changes).chain(adds).chain(dropped_tables).collect()
}

/// Tables with the ones they reference first (a cycle keeps name order).
fn dependency_order(schema: &Schema) -> Vec<&TableModel> {
    let mut done: Vec<&TableModel> = Vec::new();
    let mut left: Vec<&TableModel> = schema.tables.values().collect();
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.foreign_keys.iter().all(|k| {
                k.ref_table == t.name
                    || done.iter().any(|d| d.name == k.ref_table)
                    || !left.iter().any(|l| l.name == k.ref_table)
            })
        });
        let next = left.remove(ready.unwrap_or(0));
        done.push(next);
    }
    done
}

/// The changes inside one table.
fn table_ops(live: &TableModel, target: &TableModel, dialect: Dialect) -> Vec<Op> {
    let name = &target.name;
    let mut added: Vec<&Column> = target.columns.iter().filter(|c| live.column(&c.name).is_none()).collect();
    let mut dropped: Vec<&Column> = live.columns.iter().filter(|c| target.column(&c.name).is_none()).collect();
    let mut renamed = Vec::new();
    if let ([one_added], [one_dropped]) = (added.as_slice(), dropped.as_slice())
        && one_added.type_key(dialect) == one_dropped.type_key(dialect)
    {
        renamed.push(((*one_dropped).clone(), (*one_added).clone()));
        added.clear();
        dropped.clear();
    }
    let mut altered: Vec<(Column, Column)> = Vec::new();
    for column in &target.columns {
        if let Some(old) = live.column(&column.name)
            && !same_column(old, column, dialect)
        {
            altered.push((old.clone(), column.clone()));
        }
    }
    for (old, new) in &renamed {
        let moved = Column { name: new.name.clone(), ..old.clone() };
        if !same_column(&moved, new, dialect) {
            altered.push((moved, new.clone()));
        }
    }
    let new_indexes: Vec<&Index> =
        target.indexes.iter().filter(|i| !live.indexes.iter().any(|l| index_key(l) == index_key(i))).collect();
    let old_indexes: Vec<&Index> =
        live.indexes.iter().filter(|l| !target.indexes.iter().any(|i| index_key(l) == index_key(i))).collect();
    let new_keys: Vec<&ForeignKey> =
        target.foreign_keys.iter().filter(|k| !live.foreign_keys.iter().any(|l| l.key() == k.key())).collect();
    let old_keys: Vec<&ForeignKey> =
        live.foreign_keys.iter().filter(|l| !target.foreign_keys.iter().any(|k| l.key() == k.key())).collect();

    if dialect == Dialect::Sqlite {
        let reasons =
            sqlite_rebuild_reasons(live, target, &added, &dropped, &altered, &old_indexes, &new_keys, &old_keys);
        if !reasons.is_empty() {
            let renamed = renamed.iter().map(|(o, n)| (o.name.clone(), n.name.clone())).collect();
            return vec![Op::RebuildTable { from: live.clone(), to: target.clone(), renamed, reasons }];
        }
    }
    let mut ops = Vec::new();
    ops.extend(old_keys.into_iter().map(|k| Op::DropForeignKey { table: name.clone(), key: k.clone() }));
    ops.extend(old_indexes.into_iter().map(|i| Op::DropIndex { table: name.clone(), index: i.clone() }));
    ops.extend(renamed.into_iter().map(|(o, n)| Op::RenameColumn { table: name.clone(), from: o.name, to: n.name }));
    ops.extend(added.into_iter().map(|c| Op::AddColumn { table: name.clone(), column: c.clone() }));
    ops.extend(altered.into_iter().map(|(from, to)| Op::AlterColumn { table: name.clone(), from, to }));
    ops.extend(dropped.into_iter().map(|c| Op::DropColumn { table: name.clone(), column: c.clone() }));
    ops.extend(new_indexes.into_iter().map(|i| Op::CreateIndex { table: name.clone(), index: i.clone() }));
    ops.extend(new_keys.into_iter().map(|k| Op::AddForeignKey { table: name.clone(), key: k.clone() }));
    ops
}

/// Why SQLite's `ALTER TABLE` cannot make these changes; empty when it can.
#[expect(clippy::too_many_arguments, reason = "each list is one kind of change of the same table")]
fn sqlite_rebuild_reasons(
    live: &TableModel,
    target: &TableModel,
    added: &[&Column],
    dropped: &[&Column],
    altered: &[(Column, Column)],
    old_indexes: &[&Index],
    new_keys: &[&ForeignKey],
    old_keys: &[&ForeignKey],
) -> Vec<String> {
    let mut reasons = Vec::new();
    for (from, to) in altered {
        reasons.push(format!("{} {}", to.name, column_changes(from, to).join(", ")));
    }
    if live.primary_key != target.primary_key {
        reasons.push("primary key changed".to_owned());
    }
    if !new_keys.is_empty() || !old_keys.is_empty() {
        reasons.push("foreign keys changed".to_owned());
    }
    if old_indexes.iter().any(|i| i.constraint) {
        reasons.push("unique constraint removed".to_owned());
    }
    for column in added {
        let constant =
            column.default_key().is_none_or(|d| !d.starts_with('(') && !d.to_ascii_uppercase().starts_with("CURRENT_"));
        if target.primary_key.contains(&column.name) || (!column.nullable && column.default.is_none()) || !constant {
            reasons.push(format!("{} cannot be added by ALTER TABLE", column.name));
        }
    }
    for column in dropped {
        let keyed = live.primary_key.contains(&column.name)
            || live.foreign_keys.iter().any(|k| k.columns.contains(&column.name))
            || live.indexes.iter().any(|i| i.constraint && i.columns.contains(&column.name));
        if keyed {
            reasons.push(format!("{} is part of a key", column.name));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, sql_type: &str, nullable: bool) -> Column {
        Column { name: name.to_owned(), sql_type: sql_type.to_owned(), nullable, ..Column::default() }
    }

    fn schema(tables: Vec<TableModel>) -> Schema {
        Schema { tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect() }
    }

    fn users(columns: Vec<Column>) -> TableModel {
        TableModel { name: "users".to_owned(), columns, primary_key: vec!["id".to_owned()], ..TableModel::default() }
    }

    #[test]
    fn equal_schemas_have_no_operations() {
        let a = schema(vec![users(vec![column("id", "bigint", false)])]);
        assert!(diff(&a, &a.clone(), Dialect::Postgres).is_empty());
    }

    #[test]
    fn one_dropped_and_one_added_column_of_a_type_is_a_likely_rename() {
        let live = schema(vec![users(vec![column("id", "bigint", false), column("name", "text", true)])]);
        let target = schema(vec![users(vec![column("id", "bigint", false), column("full_name", "text", true)])]);
        let ops = diff(&live, &target, Dialect::Postgres);
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert_eq!(ops[0].describe(), "rename column users.name to full_name (likely)");
        // With different types it is a drop and an add, the drop marked destructive.
        let target = schema(vec![users(vec![column("id", "bigint", false), column("full_name", "integer", true)])]);
        let ops = diff(&live, &target, Dialect::Postgres);
        assert_eq!(
            ops.iter().map(Op::describe).collect::<Vec<_>>(),
            ["add column users.full_name", "drop column users.name"]
        );
        assert!(ops[1].destructive());
    }

    #[test]
    fn sqlite_changes_alter_cannot_make_rebuild_the_table() {
        let live = schema(vec![users(vec![column("id", "integer", false), column("name", "text", true)])]);
        let target = schema(vec![users(vec![column("id", "integer", false), column("name", "text", false)])]);
        let ops = diff(&live, &target, Dialect::Sqlite);
        assert!(matches!(&ops[..], [Op::RebuildTable { .. }]), "{ops:?}");
        assert_eq!(ops[0].describe(), "rebuild table users (name not null)");
        let ops = diff(&live, &target, Dialect::Postgres);
        assert!(matches!(&ops[..], [Op::AlterColumn { .. }]), "{ops:?}");
    }

    #[test]
    fn new_tables_come_after_the_tables_they_reference() {
        let mut posts = users(vec![column("id", "bigint", false)]);
        posts.name = "posts".to_owned();
        posts.foreign_keys.push(ForeignKey { ref_table: "zebras".to_owned(), ..ForeignKey::default() });
        let mut zebras = users(vec![column("id", "bigint", false)]);
        zebras.name = "zebras".to_owned();
        let ops = diff(&Schema::default(), &schema(vec![posts, zebras]), Dialect::Postgres);
        assert_eq!(ops.iter().map(Op::describe).collect::<Vec<_>>(), ["create table zebras", "create table posts"]);
    }
}
