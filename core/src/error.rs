//! Errors: [`Error`] for setup and startup, [`HttpError`] for responses.
//!
//! Setup problems (bad config, a missing extension, a cycle, an unreachable service) are
//! [`Error`]s returned from [`AppBuilder::build`](crate::AppBuilder::build) and
//! [`App::start`](crate::App::start), never panics. Request problems are [`HttpError`]s: a
//! status and a message for the client, plus an optional source that is logged and never sent.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

/// A boxed error from an extension, a store or a service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `err`'s message followed by each of its sources' (`err.source()` and theirs), joined by
/// `separator`: the whole cause in one line for a log or an error message, where `Display` of
/// many errors (an HTTP client's, a driver's) names only the outermost step.
///
/// # Examples
///
/// ```
/// use phial_core::error::error_chain;
///
/// #[derive(Debug)]
/// struct Send(std::io::Error);
/// impl std::fmt::Display for Send {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("error sending request")
///     }
/// }
/// impl std::error::Error for Send {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
/// let sent = Send(std::io::Error::other("connection refused"));
/// assert_eq!(error_chain(&sent, ": "), "error sending request: connection refused");
/// ```
#[must_use]
pub fn error_chain(err: &dyn std::error::Error, separator: &str) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(separator);
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An error that stops an app from building or starting.
///
/// Each variant's message says what to change.
///
/// # Examples
///
/// ```
/// use phial_core::Error;
///
/// let err = Error::config("sql.url", "no database URL is configured; set `sql.url` or DATABASE_URL");
/// assert!(err.to_string().contains("sql.url"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is missing, malformed, unknown or unsafe.
    #[error("config error at `{key}`: {message}")]
    Config {
        /// The dotted key, e.g. `app.secret_key`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An extension requires another one that was not added.
    #[error(
        "extension `{extension}` requires `{requires}`, which was not added to the app; add it with `.extension(...)`"
    )]
    MissingDependency {
        /// The extension that declared the requirement.
        extension: String,
        /// The extension that is missing.
        requires: String,
    },
    /// The ordering constraints between extensions form a cycle.
    #[error("extension order has a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Two extensions were added under the same name.
    #[error("extension `{0}` was added twice; extensions that support several instances take a name")]
    Duplicate(String),
    /// An extension promised state in `build` but did not provide it in `start`.
    #[error("extension `{extension}` promised state `{type_name}` but did not provide it in `start`")]
    MissingState {
        /// The extension that made the promise.
        extension: String,
        /// The Rust type that is missing.
        type_name: &'static str,
    },
    /// An extension hook failed.
    #[error("extension `{extension}` failed in `{hook}`: {source}")]
    Extension {
        /// The extension's name.
        extension: String,
        /// `build` or `start`.
        hook: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// An I/O error, e.g. binding the listener.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Any other error, with its own message.
    #[error(transparent)]
    Other(BoxError),
}

impl Error {
    /// A configuration error at `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config { key: key.into(), message: message.into() }
    }

    /// Wraps any error, e.g. a driver's connection error inside a `start` hook.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Error;
    ///
    /// let io = std::io::Error::other("connection refused");
    /// assert_eq!(Error::other(io).to_string(), "connection refused");
    /// ```
    pub fn other(err: impl Into<BoxError>) -> Self {
        Self::Other(err.into())
    }

    /// An error with only a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::Other(message.into().into())
    }
}

impl From<crate::routing::UrlError> for Error {
    fn from(err: crate::routing::UrlError) -> Self {
        Self::Other(Box::new(err))
    }
}

/// What the error layer knows about an [`HttpError`] after it became a response.
///
/// [`HttpError::into_response`](IntoResponse::into_response) stores this in the response
/// extensions so that the app's error layer can render it for the client (JSON or HTML) and run
/// the app's per-status handlers.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// The response status.
    pub status: StatusCode,
    /// The message that may be shown to the client.
    pub message: Cow<'static, str>,
}

/// An error response: a status, a message for the client, and an internal source for the log.
///
/// In a phial app the error layer renders it as JSON (`{"error": "Not Found", "message": ...}`)
/// for clients that prefer JSON and as a small HTML page otherwise, and runs the app's
/// [error handlers](crate::AppBuilder::error_handler). In a bare axum app it renders as plain
/// text.
///
/// The source never reaches the client; it is logged at `error` level for 5xx statuses.
///
/// # Examples
///
/// ```
/// use axum::http::StatusCode;
/// use phial_core::HttpError;
///
/// async fn show(id: u32) -> Result<String, HttpError> {
///     if id == 0 {
///         return Err(HttpError::not_found().with_message("No such post."));
///     }
///     Ok(format!("post {id}"))
/// }
/// let err = HttpError::new(StatusCode::CONFLICT, "Username taken.");
/// assert_eq!(err.status(), StatusCode::CONFLICT);
/// ```
pub struct HttpError(Box<Inner>);

/// Boxed so that `Result<T, HttpError>` stays one pointer wide on the happy path.
struct Inner {
    status: StatusCode,
    message: Option<Cow<'static, str>>,
    headers: HeaderMap,
    source: Option<BoxError>,
}

impl HttpError {
    /// An error with `status` and a message for the client.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Inner { status, message: Some(message.into()), headers: HeaderMap::new(), source: None }))
    }

    /// An error with `status` and the standard description of that status as its message.
    pub fn status_only(status: StatusCode) -> Self {
        Self(Box::new(Inner { status, message: None, headers: HeaderMap::new(), source: None }))
    }

    /// 400 Bad Request with a message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found with the standard message.
    pub fn not_found() -> Self {
        Self::status_only(StatusCode::NOT_FOUND)
    }

    /// 500 Internal Server Error; `source` is logged, the client sees the standard message.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::HttpError;
    ///
    /// let err = HttpError::internal(std::io::Error::other("disk full"));
    /// assert_eq!(err.status().as_u16(), 500);
    /// assert!(!err.message().contains("disk"));
    /// ```
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::status_only(StatusCode::INTERNAL_SERVER_ERROR).with_source(source)
    }

    /// 503 Service Unavailable; for a database, cache or store that cannot be reached.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::status_only(StatusCode::SERVICE_UNAVAILABLE).with_source(source)
    }

    /// Replaces the client-facing message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.0.message = Some(message.into());
        self
    }

    /// Adds a response header (e.g. `Allow`, `WWW-Authenticate`, `Retry-After`).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.append(name, value);
        self
    }

    /// Attaches an internal cause that is logged and never shown to the client.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The client-facing message: the one given, or the status's standard description.
    pub fn message(&self) -> &str {
        self.0.message.as_deref().unwrap_or_else(|| default_message(self.0.status))
    }

    /// The internal cause, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }
}

impl fmt::Debug for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpError")
            .field("status", &self.0.status)
            .field("message", &self.message())
            .field("source", &self.0.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.message())?;
        if let Some(source) = &self.0.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.0.status;
        let message = self.message().to_owned();
        if status.is_server_error() {
            // A 5xx with a cause is a fault; one without is a deliberate refusal (maintenance,
            // overload), worth a warning, not an error.
            if let Some(source) = &self.0.source {
                tracing::error!(status = status.as_u16(), error = %source, "request failed");
            } else {
                tracing::warn!(status = status.as_u16(), message = %message, "request refused");
            }
        } else if let Some(source) = &self.0.source {
            tracing::debug!(status = status.as_u16(), error = %source, "request rejected");
        }
        let body = format!("{} {}\n\n{message}\n", status.as_u16(), reason(status));
        let mut response = (status, body).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        response.headers_mut().extend(self.0.headers);
        response.extensions_mut().insert(Arc::new(ErrorInfo { status, message: Cow::Owned(message) }));
        response
    }
}

/// The short reason phrase of a status, e.g. `Not Found`.
pub fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Unknown Error")
}

/// The standard description of a status, worded as Werkzeug's so ported tests read the same.
pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The browser (or proxy) sent a request that this server could not understand.",
        401 => {
            "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required."
        }
        403 => {
            "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."
        }
        404 => {
            "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
        }
        405 => "The method is not allowed for the requested URL.",
        408 => {
            "The server closed the network connection because the browser didn't finish the request within the specified time."
        }
        409 => {
            "A conflict happened while processing the request. The resource might have been modified while the request was being processed."
        }
        413 => "The data value transmitted exceeds the capacity limit.",
        415 => "The server does not support the media type transmitted in the request.",
        422 => "The request was well-formed but was unable to be followed due to semantic errors.",
        429 => "This user has exceeded an allotted request count. Try again later.",
        500 => {
            "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application."
        }
        502 => "The proxy server received an invalid response from an upstream server.",
        503 => {
            "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."
        }
        504 => "The connection to an upstream server timed out.",
        _ => reason(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_hides_its_source_from_the_message() {
        let err = HttpError::internal(std::io::Error::other("password=hunter2"));
        assert!(!err.message().contains("hunter2"));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let info = response.extensions().get::<Arc<ErrorInfo>>().expect("info attached");
        assert!(!info.message.contains("hunter2"));
    }

    #[test]
    fn headers_are_kept_on_the_response() {
        let response = HttpError::new(StatusCode::TOO_MANY_REQUESTS, "slow down")
            .with_header(http::header::RETRY_AFTER, HeaderValue::from_static("3"))
            .into_response();
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "3");
    }
}
