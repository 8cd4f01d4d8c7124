//! [`SqlError`]: what can go wrong with a database, and the HTTP status each answer gets.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use phial_core::{HttpError, axum};

/// An error from phial-sql, with the HTTP status it answers with.
///
/// - [`NotFound`](Self::NotFound) → 404 (`get_or_404` and friends);
/// - [`Unavailable`](Self::Unavailable) → 503: the database cannot be reached, the pool is
///   exhausted or closed, a statement timed out;
/// - [`Conflict`](Self::Conflict) → 409: a unique or foreign-key constraint refused a write;
/// - [`Query`](Self::Query) → 500: any other database error (logged, never shown).
///
/// # Examples
///
/// ```
/// use phial_sql::SqlError;
///
/// let err = SqlError::not_found(Some("No such user."));
/// assert_eq!(err.status().as_u16(), 404);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// No row (or, for `one_or_404`, not exactly one row) matched.
    #[error("not found{}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    NotFound(Option<String>),
    /// The database is unreachable, the pool timed out or is closed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A constraint (unique, foreign key) refused the statement.
    #[error("constraint violated: {0}")]
    Conflict(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    /// No bind (database) of this name is configured.
    #[error("no database bind named `{0}`; configure it under [sql.binds.{0}]")]
    UnknownBind(String),
    /// A configuration problem: an unsupported URL, a backend compiled out.
    #[error("{0}")]
    Config(String),
    /// The extension's request layer is missing (bare axum apps must add `SqlLayer`).
    #[error("`Tx` needs `SqlLayer` in front of the handler")]
    MissingLayer,
}

impl SqlError {
    /// A not-found error with an optional description for the client.
    pub fn not_found(description: Option<&str>) -> Self {
        Self::NotFound(description.map(str::to_owned))
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Query(_) | Self::UnknownBind(_) | Self::Config(_) | Self::MissingLayer => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<sqlx::Error> for SqlError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound(None),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            sqlx::Error::Database(db) if is_timeout(db.as_ref()) => Self::Unavailable(err),
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() || db.is_check_violation() =>
            {
                Self::Conflict(err)
            }
            _ => Self::Query(err),
        }
    }
}

/// Statement timeouts: Postgres `57014` (`query_canceled`), MariaDB `70100`
/// (`max_statement_time`), MySQL `HY000` with "execution time exceeded".
fn is_timeout(db: &dyn sqlx::error::DatabaseError) -> bool {
    match db.code().as_deref() {
        Some("57014" | "70100") => true,
        Some("HY000") => db.message().contains("execution time exceeded"),
        _ => false,
    }
}

impl From<SqlError> for HttpError {
    fn from(err: SqlError) -> Self {
        let status = err.status();
        match err {
            SqlError::NotFound(Some(message)) => HttpError::new(status, message),
            SqlError::NotFound(None) => HttpError::status_only(status),
            SqlError::Conflict(source) => HttpError::status_only(status).with_source(source),
            other => HttpError::status_only(status).with_source(other),
        }
    }
}

impl IntoResponse for SqlError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}
