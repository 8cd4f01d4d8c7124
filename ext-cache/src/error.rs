//! [`CacheError`]: a cache call that failed, and the HTTP status it answers with.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use phial_core::{BoxError, HttpError};

/// A cache call that failed.
///
/// With the default `fail_loudly = false`, a Redis outage never becomes one of these for
/// reads and writes: they degrade to a miss. What remains are bugs to fix (a value that
/// cannot be encoded, a counter that is not an integer), counters while Redis is down (a
/// counter cannot be guessed), and the errors of loaders passed to
/// [`get_or_insert_with`](crate::Cache::get_or_insert_with).
///
/// It converts into [`HttpError`], so handlers can use `?`; a loader's own [`HttpError`]
/// keeps its status.
///
/// # Examples
///
/// ```
/// use phial_cache::CacheError;
///
/// let err = CacheError::Unavailable("connection refused".into());
/// assert_eq!(err.status().as_u16(), 503);
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The backend (Redis) is down or too slow.
    #[error("the cache backend is unavailable: {0}")]
    Unavailable(String),
    /// The backend refused a command.
    #[error("the cache backend refused a command: {0}")]
    Backend(String),
    /// A value could not be encoded for the cache.
    #[error("cannot encode a value for the cache: {0}")]
    Encode(String),
    /// A stored value could not be read as the type asked for.
    #[error("cannot decode the cached value of `{key}`: {message}")]
    Decode {
        /// The key read.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// [`inc`](crate::Cache::inc)/[`dec`](crate::Cache::dec) on a value that is not an integer.
    #[error("the cached value of `{0}` is not an integer")]
    NotAnInteger(String),
    /// Settings that cannot work.
    #[error("invalid cache settings: {0}")]
    Config(String),
    /// The loader of [`get_or_insert_with`](crate::Cache::get_or_insert_with) failed; every
    /// caller waiting on the same key gets this same error, and nothing is cached.
    #[error("computing the value failed: {0}")]
    Load(Arc<BoxError>),
}

impl CacheError {
    /// The HTTP status this error answers with: 503 for an outage, the loader's status for a
    /// loader's [`HttpError`], 500 otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::CacheError;
    ///
    /// assert_eq!(CacheError::NotAnInteger("hits".into()).status().as_u16(), 500);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Load(source) => {
                source.downcast_ref::<HttpError>().map_or(StatusCode::INTERNAL_SERVER_ERROR, HttpError::status)
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The loader's error, for [`Load`](Self::Load): downcast it to the type your loader
    /// returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use phial_cache::CacheError;
    ///
    /// let err = CacheError::Load(Arc::new("no such user".into()));
    /// assert_eq!(err.load_error().map(ToString::to_string).as_deref(), Some("no such user"));
    /// ```
    pub fn load_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            Self::Load(source) => Some(source.as_ref().as_ref()),
            _ => None,
        }
    }

    /// Whether this is an outage of the backend rather than a bug or a loader failure.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(phial_cache::CacheError::Unavailable("timeout".into()).is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<CacheError> for HttpError {
    fn from(err: CacheError) -> Self {
        let status = err.status();
        if let CacheError::Load(source) = &err
            && let Some(http) = source.downcast_ref::<HttpError>()
        {
            return HttpError::new(status, http.message().to_owned()).with_source(err);
        }
        HttpError::status_only(status).with_source(err)
    }
}

impl IntoResponse for CacheError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_http_errors_keep_their_status_and_message() {
        let err = CacheError::Load(Arc::new(Box::new(HttpError::new(StatusCode::NOT_FOUND, "no such post"))));
        let http = HttpError::from(err);
        assert_eq!(http.status(), StatusCode::NOT_FOUND);
        assert_eq!(http.message(), "no such post");
    }

    #[test]
    fn other_loader_errors_are_500_without_detail() {
        let err = CacheError::Load(Arc::new("database exploded".into()));
        let http = HttpError::from(err);
        assert_eq!(http.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!http.message().contains("exploded"));
    }
}
