//! Query recording: each statement's SQL, parameter count, duration and caller, per request.

use std::panic::Location;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::FromRequestParts;
use http::request::Parts;
use phial_core::axum;

/// One recorded statement. Flask-SQLAlchemy: an item of `get_recorded_queries()`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueryRecord {
    /// The SQL with placeholders (values are never recorded).
    pub sql: String,
    /// How many parameters were bound.
    pub params: usize,
    /// How long the statement took.
    pub duration: Duration,
    /// Where in the app the statement was issued.
    pub location: &'static Location<'static>,
    /// The bind (database) it ran on.
    pub bind: String,
}

/// A request's recorded statements, shared by every handle used in that request.
#[derive(Debug, Clone, Default)]
pub struct QueryLog(Arc<Mutex<Vec<QueryRecord>>>);

impl QueryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&self, record: QueryRecord) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(record);
    }

    /// The statements recorded so far, in order.
    pub fn records(&self) -> Vec<QueryRecord> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The statements of the current request (`sql.record_queries = true`): Flask-SQLAlchemy's
/// `get_recorded_queries()`.
///
/// Empty when recording is off.
///
/// # Examples
///
/// ```
/// use phial_sql::RecordedQueries;
///
/// async fn debug_footer(queries: RecordedQueries) -> String {
///     format!("{} queries", queries.records().len())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RecordedQueries(pub QueryLog);

impl RecordedQueries {
    /// The statements recorded so far in this request.
    pub fn records(&self) -> Vec<QueryRecord> {
        self.0.records()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RecordedQueries {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let log = parts.extensions.get::<crate::tx::RequestScope>().and_then(|scope| scope.log.clone());
        Ok(Self(log.unwrap_or_default()))
    }
}
