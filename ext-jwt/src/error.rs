//! [`JwtError`]: why a token was refused or could not be made, with Flask-JWT-Extended's
//! messages and statuses.

use http::StatusCode;
use phial_core::BoxError;

/// Which of Flask-JWT-Extended's error callbacks answers an error; handlers are registered
/// per kind ([`JwtAuthBuilder::error_handler`](crate::JwtAuthBuilder::error_handler)).
///
/// # Examples
///
/// ```
/// use phial_jwt::{ErrorKind, JwtError};
///
/// assert_eq!(JwtError::Expired.kind(), ErrorKind::Expired);
/// assert_eq!(JwtError::Invalid("Not enough segments".into()).kind(), ErrorKind::Invalid);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `unauthorized_loader`: no token, or a CSRF failure (401).
    Unauthorized,
    /// `invalid_token_loader`: a malformed, forged or wrong-type token (422).
    Invalid,
    /// `expired_token_loader` (401).
    Expired,
    /// `needs_fresh_token_loader` (401).
    NeedsFresh,
    /// `revoked_token_loader` (401).
    Revoked,
    /// `user_lookup_error_loader` (401).
    UserLookup,
    /// `token_verification_failed_loader` (400).
    VerificationFailed,
    /// Not a client error: minting failed, or the blocklist store is down (500/503).
    Server,
}

/// Why a token was refused, or could not be made.
///
/// The `Display` text is the message Flask-JWT-Extended sends under `msg`, and
/// [`status`](Self::status) its status, so clients written for a Flask API read the same
/// answers.
///
/// # Examples
///
/// ```
/// use phial_jwt::JwtError;
///
/// let err = JwtError::Unauthorized("Missing Authorization Header".into());
/// assert_eq!(err.status().as_u16(), 401);
/// assert_eq!(err.to_string(), "Missing Authorization Header");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// No token where one was looked for, or a failed CSRF double submit.
    #[error("{0}")]
    Unauthorized(String),
    /// A token that is malformed, badly signed, of the wrong type or with bad claims.
    #[error("{0}")]
    Invalid(String),
    /// The token's `exp` has passed.
    #[error("Token has expired")]
    Expired,
    /// A fresh token was required.
    #[error("Fresh token required")]
    NeedsFresh,
    /// The token is on the blocklist.
    #[error("Token has been revoked")]
    Revoked,
    /// The user lookup callback found no user for the identity.
    #[error("Error loading the user {0}")]
    UserLookup(String),
    /// The token verification callback refused the token.
    #[error("User claims verification failed")]
    VerificationFailed,
    /// An additional claim tried to replace a reserved one (`type`, `sub`, `exp`, ...).
    #[error("additional claim `{0}` would override a reserved claim; reserved claims are set by phial-jwt")]
    ReservedClaim(String),
    /// The settings or keys are unusable (a build error).
    #[error("invalid JWT settings: {0}")]
    Config(String),
    /// A token could not be encoded or signed.
    #[error("cannot mint the token: {0}")]
    Mint(String),
    /// The blocklist store failed (e.g. Redis is down).
    #[error("the token blocklist is unavailable")]
    Store(#[source] BoxError),
}

impl JwtError {
    /// The callback kind that answers this error.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_jwt::JwtError::Revoked.kind(), phial_jwt::ErrorKind::Revoked);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthorized(_) => ErrorKind::Unauthorized,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Expired => ErrorKind::Expired,
            Self::NeedsFresh => ErrorKind::NeedsFresh,
            Self::Revoked => ErrorKind::Revoked,
            Self::UserLookup(_) => ErrorKind::UserLookup,
            Self::VerificationFailed => ErrorKind::VerificationFailed,
            Self::ReservedClaim(_) | Self::Config(_) | Self::Mint(_) | Self::Store(_) => ErrorKind::Server,
        }
    }

    /// Flask-JWT-Extended's status for this error.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_jwt::JwtError::NeedsFresh.status(), 401);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) | Self::Expired | Self::NeedsFresh | Self::Revoked | Self::UserLookup(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::VerificationFailed => StatusCode::BAD_REQUEST,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::ReservedClaim(_) | Self::Config(_) | Self::Mint(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for the client: [`Display`](std::fmt::Display) for client errors, the
    /// status's reason for server errors (whose detail is only logged).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::JwtError;
    /// assert_eq!(JwtError::Revoked.client_message(), "Token has been revoked");
    /// assert_eq!(JwtError::Mint("key".into()).client_message(), "Internal Server Error");
    /// ```
    pub fn client_message(&self) -> String {
        if self.status().is_server_error() {
            self.status().canonical_reason().unwrap_or("Internal Server Error").to_owned()
        } else {
            self.to_string()
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_flask_jwt_extended_ones() {
        assert_eq!(JwtError::Expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(JwtError::invalid("x").status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(JwtError::VerificationFailed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(JwtError::UserLookup("7".into()).to_string(), "Error loading the user 7");
        assert_eq!(JwtError::Store("down".into()).client_message(), "Service Unavailable");
    }
}
