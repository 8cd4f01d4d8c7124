//! Autogenerate and `check`: the declared tables against the live database.
//!
//! The declared tables are first created in a scratch space of the same database server (an
//! in-memory SQLite database; a PostgreSQL schema inside a transaction that is rolled back; a
//! MariaDB/MySQL database dropped afterwards), then both sides are read back with the same
//! introspection. So the database spells types and defaults the same way on both sides (a
//! sea-query `string_len(64)` and a hand-written `VARCHAR(64)` both read `character
//! varying(64)`), which avoids the false type and default differences Alembic users meet.
//! On MariaDB/MySQL this needs the `CREATE` privilege on databases.

use phial_sql::Table;
use phial_sql::sea_query::{IndexCreateStatement, TableCreateStatement, TableRef};

use crate::error::MigrateError;
use crate::migrator::Migrator;
use crate::schema::diff::{Op, diff};
use crate::schema::render::render;
use crate::schema::{Schema, introspect};
use crate::session::Session;
use crate::split::Dialect;

/// What differs between the tables the app declares and the database, as SQL both ways.
///
/// # Examples
///
/// ```no_run
/// # async fn run(migrator: phial_migrate::Migrator, tables: Vec<phial_sql::Table>) -> Result<(), phial_migrate::MigrateError> {
/// let diff = migrator.compare(&tables).await?;
/// if diff.is_empty() {
///     println!("No changes in schema detected");
/// }
/// for operation in &diff.operations {
///     println!("- {operation}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaDiff {
    /// One line per change, e.g. `add column users.email`.
    pub operations: Vec<String>,
    /// The changes that lose data (dropped tables and columns).
    pub destructive: Vec<String>,
    /// SQL that brings the database to the declared tables, with comments.
    pub up: String,
    /// SQL that brings it back.
    pub down: String,
}

impl SchemaDiff {
    /// Whether the database matches the declared tables.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

impl Migrator {
    /// Compares `tables` (those on this migrator's bind) with the database, without changing
    /// it: autogenerate's and `check`'s work.
    ///
    /// Compared: tables, columns (type, nullability, default), indexes and unique constraints
    /// (by columns), foreign keys (by columns, referenced table and columns, actions). On
    /// SQLite, types compare by affinity (what SQLite enforces), and changes `ALTER TABLE`
    /// cannot make come out as the copy-table recipe. Primary key changes are compared on
    /// SQLite only; check constraints, comments, sequences, views and triggers are not.
    ///
    /// # Errors
    ///
    /// A declared table that the database refuses to create, or a database error.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::{MigrateConfig, Migrator};
    /// use phial_sql::sea_query::ColumnDef;
    /// use phial_sql::{Databases, SqlConfig, Table};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let folder = tempfile::tempdir()?;
    /// let mut sql = SqlConfig::default();
    /// sql.url = "sqlite://".into();
    /// let databases = Databases::connect(&sql, folder.path(), Vec::new()).await?;
    /// let mut config = MigrateConfig::default();
    /// config.directory = folder.path().to_path_buf();
    /// let migrator = Migrator::new(databases.default_db().clone(), &config)?;
    ///
    /// let users = Table::new(
    ///     phial_sql::sea_query::Table::create()
    ///         .table("users")
    ///         .col(ColumnDef::new("id").integer().not_null().primary_key())
    ///         .to_owned(),
    /// );
    /// let diff = migrator.compare(&[users]).await?;
    /// assert_eq!(diff.operations, ["create table users"]);
    /// assert!(diff.down.contains("DROP TABLE \"users\";"));
    /// # Ok(()) }
    /// ```
    pub async fn compare(&self, tables: &[Table]) -> Result<SchemaDiff, MigrateError> {
        let bind = self.config_ref().bind.as_str();
        let declared: Vec<&Table> =
            tables.iter().filter(|t| t.bind_name().unwrap_or(phial_sql::DEFAULT_BIND) == bind).collect();
        let declared = creation_order(declared);
        let table = self.config_ref().version_table.clone();
        let mut session = Session::open(self.db_ref(), &table, self.config_ref().lock_timeout()).await?;
        let result = schemas(&mut session, &declared, &table).await;
        session.close().await;
        let (live, target) = result?;
        let dialect = Dialect::from(self.backend());
        let up = diff(&live, &target, dialect);
        let down = diff(&target, &live, dialect);
        Ok(SchemaDiff {
            operations: up.iter().map(Op::describe).collect(),
            destructive: up.iter().filter(|op| op.destructive()).map(Op::describe).collect(),
            up: render(&up, dialect),
            down: render(&down, dialect),
        })
    }
}

/// The declared tables with the ones they reference first, so that PostgreSQL and MariaDB
/// accept their foreign keys.
fn creation_order(mut left: Vec<&Table>) -> Vec<&Table> {
    let references = |table: &Table| -> Vec<String> {
        table
            .statement()
            .get_foreign_key_create_stmts()
            .iter()
            .filter_map(|k| match k.get_foreign_key().get_ref_table() {
                Some(TableRef::Table(name, _)) => Some(name.1.to_string()),
                _ => None,
            })
            .collect()
    };
    let mut done: Vec<&Table> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|t| references(t).iter().all(|r| r == t.name() || !left.iter().any(|l| l.name() == r)));
        done.push(left.remove(ready.unwrap_or(0)));
    }
    done
}

/// The statements that create `tables` in `dialect`.
fn create_statements(tables: &[&Table], dialect: Dialect) -> Vec<String> {
    fn build(create: &TableCreateStatement, indexes: &[IndexCreateStatement], dialect: Dialect) -> Vec<String> {
        let mut out = vec![match dialect {
            Dialect::Postgres => create.to_string(phial_sql::sea_query::PostgresQueryBuilder),
            Dialect::MySql => create.to_string(phial_sql::sea_query::MysqlQueryBuilder),
            Dialect::Sqlite => create.to_string(phial_sql::sea_query::SqliteQueryBuilder),
        }];
        for index in indexes {
            out.push(match dialect {
                Dialect::Postgres => index.to_string(phial_sql::sea_query::PostgresQueryBuilder),
                Dialect::MySql => index.to_string(phial_sql::sea_query::MysqlQueryBuilder),
                Dialect::Sqlite => index.to_string(phial_sql::sea_query::SqliteQueryBuilder),
            });
        }
        out
    }
    tables.iter().flat_map(|t| build(t.statement(), t.indexes(), dialect)).collect()
}

/// The live schema, then the declared one as the same server reads it back.
async fn schemas(session: &mut Session, declared: &[&Table], table: &str) -> Result<(Schema, Schema), MigrateError> {
    let creates = create_statements(declared, Dialect::from(session.backend));
    match &mut session.conn {
        #[cfg(feature = "sqlite")]
        crate::session::Conn::Sqlite(conn) => sqlite_schemas(conn, &creates, table).await,
        #[cfg(feature = "postgres")]
        crate::session::Conn::Postgres(conn) => postgres_schemas(conn, &creates, table).await,
        #[cfg(feature = "mysql")]
        crate::session::Conn::MySql(conn) => mysql_schemas(conn, &creates, table).await,
    }
}

/// SQLite: the declared tables in an in-memory database.
#[cfg(feature = "sqlite")]
async fn sqlite_schemas(
    conn: &mut sqlx::SqliteConnection,
    creates: &[String],
    table: &str,
) -> Result<(Schema, Schema), MigrateError> {
    let live = introspect::sqlite(conn, table).await?;
    let mut scratch = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
    let result = async {
        for sql in creates {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut scratch)
                .await
                .map_err(|e| declared_error(&e, sql))?;
        }
        Ok::<_, MigrateError>(introspect::sqlite(&mut scratch, table).await?)
    }
    .await;
    let _ = sqlx::Connection::close(scratch).await;
    Ok((live, result?))
}

/// PostgreSQL: the declared tables in a schema of a transaction that is rolled back.
#[cfg(feature = "postgres")]
async fn postgres_schemas(
    conn: &mut sqlx::PgConnection,
    creates: &[String],
    table: &str,
) -> Result<(Schema, Schema), MigrateError> {
    let current: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(&mut *conn).await?;
    let live = introspect::postgres(conn, &current, table).await?;
    let scratch = scratch_name()?;
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
    let result = async {
        // The scratch schema first, so the tables go there; the usual path after it,
        // so that functions and types of extensions resolve as they do live.
        let path: String = sqlx::query_scalar("SELECT current_setting('search_path')").fetch_one(&mut *conn).await?;
        let setup = format!("CREATE SCHEMA {scratch}; SET LOCAL search_path TO {scratch}, {path}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&mut *conn).await?;
        for sql in creates {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *conn)
                .await
                .map_err(|e| declared_error(&e, sql))?;
        }
        Ok::<_, MigrateError>(introspect::postgres(conn, &scratch, table).await?)
    }
    .await;
    // Nothing of the scratch schema survives: it only ever existed in this transaction.
    sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await?;
    Ok((live, result?))
}

/// MariaDB/MySQL: the declared tables in a scratch database, dropped afterwards.
#[cfg(feature = "mysql")]
async fn mysql_schemas(
    conn: &mut sqlx::MySqlConnection,
    creates: &[String],
    table: &str,
) -> Result<(Schema, Schema), MigrateError> {
    let current: Option<String> = sqlx::query_scalar("SELECT DATABASE()").fetch_one(&mut *conn).await?;
    let current = current.ok_or_else(|| MigrateError::Config("the database URL names no database".to_owned()))?;
    let live = introspect::mysql(conn, &current, table).await?;
    let scratch = scratch_name()?;
    let create = format!("CREATE DATABASE {scratch} CHARACTER SET utf8mb4");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut *conn).await.map_err(|err| {
        MigrateError::Config(format!(
            "autogenerate creates the declared tables in a scratch database first, and `CREATE DATABASE` \
             failed: {err}; grant the CREATE privilege to this user for autogenerate and check"
        ))
    })?;
    let result = async {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("USE {scratch}"))).execute(&mut *conn).await?;
        for sql in creates {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *conn)
                .await
                .map_err(|e| declared_error(&e, sql))?;
        }
        Ok::<_, MigrateError>(introspect::mysql(conn, &scratch, table).await?)
    }
    .await;
    let back = format!("USE `{}`", current.replace('`', "``"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(back)).execute(&mut *conn).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {scratch}"))).execute(&mut *conn).await?;
    Ok((live, result?))
}

/// A declared table's statement that failed, named.
fn declared_error(err: &sqlx::Error, sql: &str) -> MigrateError {
    MigrateError::Config(format!("a declared table could not be created: {err}\n  {sql}"))
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn scratch_name() -> Result<String, MigrateError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|err| MigrateError::Config(format!("no randomness: {err}")))?;
    Ok(format!("phial_autogenerate_{}", crate::revision::hex(&bytes)))
}
