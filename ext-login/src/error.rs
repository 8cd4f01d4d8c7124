//! [`LoginError`]: what login and logout can fail with.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use phial_core::{BoxError, HttpError};

/// An error from [`Login`](crate::Login) and the login machinery.
///
/// # Examples
///
/// ```
/// use phial_login::LoginError;
///
/// assert_eq!(LoginError::InactiveUser.status().as_u16(), 403);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// `login_user` was asked to log in a user whose `is_active()` is false, without `force`.
    #[error("this account is inactive")]
    InactiveUser,
    /// The user loader or remember-me store failed or did not answer in time.
    #[error("the login service is unavailable")]
    Unavailable(#[source] BoxError),
    /// The session could not be read or written (a server-side session store failed).
    #[error("the session is unavailable")]
    Session(HttpError),
    /// The login machinery is not installed in front of the handler.
    #[error("login is not set up: {0}")]
    NotInstalled(&'static str),
}

impl LoginError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InactiveUser => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Session(err) => err.status(),
            Self::NotInstalled(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<LoginError> for HttpError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::InactiveUser => HttpError::new(StatusCode::FORBIDDEN, "This account is inactive."),
            LoginError::Unavailable(source) => HttpError::unavailable(source),
            LoginError::Session(err) => err,
            LoginError::NotInstalled(what) => HttpError::internal(format!("login is not set up: {what}")),
        }
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}
