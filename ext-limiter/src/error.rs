//! The one error type of phial-limiter.

use http::StatusCode;

/// What can go wrong in phial-limiter.
///
/// # Examples
///
/// ```
/// use phial_limiter::{LimiterError, parse_many};
///
/// let err = parse_many("10 hour").unwrap_err();
/// assert!(matches!(err, LimiterError::Parse(_)));
/// assert_eq!(err.status().as_u16(), 500);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimiterError {
    /// A limit string that `limits` would also reject (the message is `limits`' own).
    #[error("couldn't parse rate limit string '{0}'")]
    Parse(String),
    /// A setting that cannot work (unknown strategy, Redis storage without Redis, ...).
    #[error("limiter config: {0}")]
    Config(String),
    /// The storage (Redis) failed or did not answer in time.
    #[error("rate limit storage unavailable: {0}")]
    Storage(String),
}

impl LimiterError {
    /// The HTTP status this error answers with: 503 for storage faults, 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Parse(_) | Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<LimiterError> for phial_core::Error {
    fn from(err: LimiterError) -> Self {
        match err {
            LimiterError::Config(message) => phial_core::Error::config("limiter", message),
            other => phial_core::Error::other(other),
        }
    }
}
