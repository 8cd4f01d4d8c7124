//! [`Table`]: tables declared with sea-query, for `create_all`, `drop_all` and migrations.

use sea_query::{IndexCreateStatement, TableCreateStatement, TableRef};

use crate::db::Db;
use crate::error::SqlError;

/// A table declared with sea-query: Flask-SQLAlchemy's model table, for
/// [`create_all`](crate::Databases::create_all), [`drop_all`](crate::Databases::drop_all),
/// and phial-migrate's autogenerate, which compares these declarations with the database.
///
/// # Examples
///
/// ```
/// use phial_sql::Table;
/// use sea_query::{ColumnDef, Index};
///
/// let users = Table::new(
///     sea_query::Table::create()
///         .table("user")
///         .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
///         .col(ColumnDef::new("username").string_len(64).not_null().unique_key())
///         .to_owned(),
/// )
/// .index(Index::create().name("ix_user_username").table("user").col("username").to_owned());
/// assert_eq!(users.name(), "user");
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    name: String,
    bind: Option<String>,
    create: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl Table {
    /// Declares the table `create` creates.
    ///
    /// # Panics
    ///
    /// When `create` names no table (a programming error in the declaration).
    #[track_caller]
    pub fn new(create: TableCreateStatement) -> Self {
        let name = match create.get_table_name() {
            Some(TableRef::Table(name, _)) => name.1.to_string(),
            _ => panic!("Table::new: the create statement names no table; call `.table(\"name\")`"),
        };
        Self { name, bind: None, create, indexes: Vec::new() }
    }

    /// Puts the table on bind `bind` instead of the default database (Flask-SQLAlchemy's
    /// `__bind_key__`).
    #[must_use]
    pub fn bind(mut self, bind: &str) -> Self {
        self.bind = Some(bind.to_owned());
        self
    }

    /// Adds an index created with the table.
    #[must_use]
    pub fn index(mut self, index: IndexCreateStatement) -> Self {
        self.indexes.push(index);
        self
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bind it lives on; `None` is the default database.
    pub fn bind_name(&self) -> Option<&str> {
        self.bind.as_deref()
    }

    /// The `CREATE TABLE` declaration.
    pub fn statement(&self) -> &TableCreateStatement {
        &self.create
    }

    /// The indexes declared beside it.
    pub fn indexes(&self) -> &[IndexCreateStatement] {
        &self.indexes
    }

    /// Creates the table and its indexes if they do not exist.
    ///
    /// # Errors
    ///
    /// A failing statement.
    pub async fn create(&self, db: &Db) -> Result<(), SqlError> {
        let create = self.create.clone().if_not_exists().to_owned();
        db.execute_schema(&create).await?;
        for index in &self.indexes {
            match db.execute_schema(&index.clone().if_not_exists().to_owned()).await {
                // MySQL has no `CREATE INDEX IF NOT EXISTS` (sea-query leaves the clause out for
                // it): an index that exists already is what was asked for.
                Err(err) if is_duplicate_index(&err) => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Drops the table if it exists.
    ///
    /// # Errors
    ///
    /// A failing statement.
    pub async fn drop(&self, db: &Db) -> Result<(), SqlError> {
        let drop = sea_query::Table::drop().table(self.name.clone()).if_exists().to_owned();
        db.execute_schema(&drop).await
    }
}

/// Whether `err` is MySQL/MariaDB's "Duplicate key name" (1061).
fn is_duplicate_index(err: &SqlError) -> bool {
    #[cfg(feature = "mysql")]
    if let SqlError::Query(sqlx::Error::Database(db_err)) = err {
        return db_err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|e| e.number() == 1061);
    }
    let _ = err;
    false
}
