//! A database schema as autogenerate compares it: tables, columns, primary keys, indexes
//! (unique constraints among them) and foreign keys, read from a live database by
//! [`introspect`], compared by [`diff`], written out as SQL by [`render`].

pub(crate) mod diff;
pub(crate) mod introspect;
pub(crate) mod render;

use std::collections::BTreeMap;

use crate::split::Dialect;

/// Every table of one schema, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Schema {
    pub(crate) tables: BTreeMap<String, TableModel>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableModel {
    pub(crate) name: String,
    pub(crate) columns: Vec<Column>,
    pub(crate) primary_key: Vec<String>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    /// SQLite: the `CREATE TABLE` text the database keeps, reused by the copy-table recipe.
    pub(crate) sql: Option<String>,
}

impl TableModel {
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// The type as the database spells it, for rendering.
    pub(crate) sql_type: String,
    pub(crate) nullable: bool,
    /// The default expression as the database keeps it.
    pub(crate) default: Option<String>,
    /// PostgreSQL identity (`GENERATED ... AS IDENTITY`), MySQL `AUTO_INCREMENT`.
    pub(crate) generated: Option<String>,
}

impl Column {
    /// What is compared of the type: SQLite only enforces type affinity, so `INT` and
    /// `integer`, `VARCHAR(64)` and `text` are the same there; elsewhere the database's own
    /// spelling, read the same way on both sides.
    pub(crate) fn type_key(&self, dialect: Dialect) -> String {
        let lower = self.sql_type.to_ascii_lowercase();
        if dialect != Dialect::Sqlite {
            return lower;
        }
        let affinity = if lower.contains("int") {
            "integer"
        } else if ["char", "clob", "text"].iter().any(|w| lower.contains(w)) {
            "text"
        } else if lower.contains("blob") || lower.is_empty() {
            "blob"
        } else if ["real", "floa", "doub"].iter().any(|w| lower.contains(w)) {
            "real"
        } else {
            "numeric"
        };
        affinity.to_owned()
    }

    /// The default, with SQLite's redundant outer parentheses and spacing dropped.
    pub(crate) fn default_key(&self) -> Option<String> {
        let mut text = self.default.as_deref()?.trim();
        while text.starts_with('(') && text.ends_with(')') && balanced(&text[1..text.len() - 1]) {
            text = text[1..text.len() - 1].trim();
        }
        Some(text.to_owned())
    }
}

impl Column {
    /// Whether the database numbers it: PostgreSQL `serial` (a `nextval` default) or identity,
    /// MySQL `AUTO_INCREMENT`. The two PostgreSQL forms count as the same.
    pub(crate) fn is_serial(&self) -> bool {
        self.generated.as_deref().is_some_and(|g| g.contains("IDENTITY") || g.contains("AUTO_INCREMENT"))
            || self.default.as_deref().is_some_and(|d| d.starts_with("nextval("))
    }

    /// The default other than a serial's sequence.
    pub(crate) fn plain_default(&self) -> Option<String> {
        self.default_key().filter(|d| !d.starts_with("nextval("))
    }
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
    /// Made by a table constraint (PostgreSQL `UNIQUE` constraint, SQLite autoindex) rather
    /// than `CREATE INDEX`.
    pub(crate) constraint: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ForeignKey {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) ref_table: String,
    pub(crate) ref_columns: Vec<String>,
    pub(crate) on_delete: String,
    pub(crate) on_update: String,
    /// MySQL: the index the server made for the key, which outlives the key unless dropped.
    pub(crate) implicit_index: bool,
}

impl ForeignKey {
    /// What is compared: names differ between databases (`t_ibfk_1`), the reference does not.
    pub(crate) fn key(&self) -> (&[String], &str, &[String], &str, &str) {
        (&self.columns, &self.ref_table, &self.ref_columns, &self.on_delete, &self.on_update)
    }
}

/// `NO ACTION` for what every backend means by no action.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn action(text: &str) -> String {
    let upper = text.trim().to_ascii_uppercase();
    if upper.is_empty() { "NO ACTION".to_owned() } else { upper }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(sql_type: &str, default: Option<&str>) -> Column {
        Column { sql_type: sql_type.to_owned(), default: default.map(str::to_owned), ..Column::default() }
    }

    #[test]
    fn sqlite_compares_affinities_others_spellings() {
        assert_eq!(column("INT", None).type_key(Dialect::Sqlite), column("bigint", None).type_key(Dialect::Sqlite));
        assert_eq!(column("VARCHAR(64)", None).type_key(Dialect::Sqlite), "text");
        assert_ne!(
            column("varchar(64)", None).type_key(Dialect::Postgres),
            column("text", None).type_key(Dialect::Postgres)
        );
    }

    #[test]
    fn defaults_lose_outer_parentheses_only() {
        assert_eq!(column("int", Some("((0))")).default_key().as_deref(), Some("0"));
        assert_eq!(column("int", Some("(1) + (2)")).default_key().as_deref(), Some("(1) + (2)"));
        assert_eq!(column("int", None).default_key(), None);
    }
}
