//! [`RedisError`]: a Redis call that failed, and the HTTP status it answers with.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::error::HttpError;

/// A Redis call that failed.
///
/// - [`Timeout`](Self::Timeout) and [`Unavailable`](Self::Unavailable) → 503: the server is
///   down, unreachable, or too slow; the app serves again once it is back.
/// - [`Command`](Self::Command) → 500: the server answered with an error (a wrong type, a
///   script error), which is a bug to fix, not an outage.
/// - [`Config`](Self::Config) → 500: the URL cannot be read.
///
/// It converts into [`HttpError`], so handlers can use `?`; the cause is logged, never shown
/// to the client.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::redis::RedisError;
///
/// let err = RedisError::Timeout(Duration::from_secs(2));
/// assert_eq!(err.status().as_u16(), 503);
/// assert_eq!(err.to_string(), "Redis did not answer within 2000 ms");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// No answer within the response timeout (reconnecting included).
    #[error("Redis did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The connection failed or was dropped.
    #[error("Redis is unavailable: {0}")]
    Unavailable(#[source] ::redis::RedisError),
    /// The server refused the command.
    #[error("Redis command failed: {0}")]
    Command(#[source] ::redis::RedisError),
    /// A configuration problem, such as a URL that cannot be parsed.
    #[error("{0}")]
    Config(String),
}

impl RedisError {
    /// The HTTP status this error answers with.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::redis::RedisError;
    ///
    /// assert_eq!(RedisError::Config("bad url".into()).status().as_u16(), 500);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Timeout(_) | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Command(_) | Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether this is an outage (timeout or connection failure) rather than a refused
    /// command: callers that can do without Redis (a cache) fall back on these.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use phial_core::redis::RedisError;
    ///
    /// assert!(RedisError::Timeout(Duration::from_millis(5)).is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        self.status() == StatusCode::SERVICE_UNAVAILABLE
    }
}

impl From<::redis::RedisError> for RedisError {
    fn from(err: ::redis::RedisError) -> Self {
        if err.is_io_error()
            || err.is_connection_dropped()
            || err.is_connection_refusal()
            || err.is_timeout()
            || err.is_unrecoverable_error()
        {
            Self::Unavailable(err)
        } else {
            Self::Command(err)
        }
    }
}

impl From<RedisError> for HttpError {
    fn from(err: RedisError) -> Self {
        HttpError::status_only(err.status()).with_source(err)
    }
}

impl IntoResponse for RedisError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_outages_and_server_errors_are_not() {
        let io = ::redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(RedisError::from(io).is_unavailable());
        let refused = ::redis::RedisError::from((::redis::ErrorKind::Client, "bad"));
        assert_eq!(RedisError::from(refused).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn http_error_keeps_the_status_and_hides_the_cause() {
        let err = HttpError::from(RedisError::Timeout(Duration::from_millis(10)));
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.message().contains("10 ms"));
    }
}
