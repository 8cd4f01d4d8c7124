//! The bounds that let one Rust type be read from every enabled backend.
//!
//! `#[derive(sqlx::FromRow)]` on a struct whose fields are ordinary types (`i64`, `String`,
//! `bool`, `f64`, `Option<_>`, `time::OffsetDateTime`, `serde_json::Value`, ...) satisfies
//! [`FromDbRow`] for all backends at once, so the same handler code runs on SQLite in
//! development and on Postgres or MariaDB in production.

macro_rules! backend_bound {
    ($feature:literal, $name:ident, $row:ty, $db:ty, $value:ident) => {
        /// Implemented for types readable from a row of this backend (when its feature is on).
        #[cfg(feature = $feature)]
        pub trait $name: for<'r> sqlx::FromRow<'r, $row> {}
        #[cfg(feature = $feature)]
        impl<T: for<'r> sqlx::FromRow<'r, $row>> $name for T {}
        /// Implemented for every type (this backend's feature is off).
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T> $name for T {}

        /// Implemented for types decodable from a column of this backend (when its feature is on).
        #[cfg(feature = $feature)]
        pub trait $value: for<'r> sqlx::Decode<'r, $db> + sqlx::Type<$db> {}
        #[cfg(feature = $feature)]
        impl<T: for<'r> sqlx::Decode<'r, $db> + sqlx::Type<$db>> $value for T {}
        /// Implemented for every type (this backend's feature is off).
        #[cfg(not(feature = $feature))]
        pub trait $value {}
        #[cfg(not(feature = $feature))]
        impl<T> $value for T {}
    };
}

// cfg removes the disabled variants before their paths are resolved, so naming a backend's
// types here is fine when its feature is off.
backend_bound!("sqlite", SqliteRow, sqlx::sqlite::SqliteRow, sqlx::Sqlite, SqliteValue);
backend_bound!("postgres", PgRow, sqlx::postgres::PgRow, sqlx::Postgres, PgValue);
backend_bound!("mysql", MySqlRow, sqlx::mysql::MySqlRow, sqlx::MySql, MySqlValue);

/// A row type readable from every enabled backend; derive `sqlx::FromRow` to get it.
///
/// # Examples
///
/// ```
/// use phial_sql::FromDbRow;
///
/// #[derive(sqlx::FromRow)]
/// struct User {
///     id: i64,
///     username: String,
///     about_me: Option<String>,
/// }
///
/// fn assert_readable<T: FromDbRow>() {}
/// assert_readable::<User>();
/// ```
pub trait FromDbRow: SqliteRow + PgRow + MySqlRow + Send + Unpin {}
impl<T: SqliteRow + PgRow + MySqlRow + Send + Unpin> FromDbRow for T {}

/// A single column value readable from every enabled backend (for counts and scalars).
pub trait FromDbValue: SqliteValue + PgValue + MySqlValue + Send + Unpin {}
impl<T: SqliteValue + PgValue + MySqlValue + Send + Unpin> FromDbValue for T {}
