//! The default error responses: Flask-JWT-Extended's, or RFC 6750's.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, StatusCode};
use phial_core::axum::Json;
use phial_core::axum::response::{IntoResponse, Response};

use crate::config::JwtConfig;
use crate::error::{ErrorKind, JwtError};

/// `{"msg": <message>}` (key `error_message_key`) with the error's status; in RFC 6750 mode a
/// client error is a 401 with `WWW-Authenticate: Bearer` (and `error="invalid_token"` when a
/// token was presented).
pub(crate) fn default_response(config: &JwtConfig, error: &JwtError) -> Response {
    let message = error.client_message();
    let mut body = serde_json::Map::new();
    body.insert(config.error_message_key.clone(), message.clone().into());
    let status = error.status();
    if status.is_server_error() {
        // The client sees the status's reason only; the cause goes to the log.
        tracing::error!(status = status.as_u16(), error = %error, source = ?std::error::Error::source(error), "JWT request failed");
    }
    if !config.rfc6750 || status.is_server_error() {
        return (status, Json(body)).into_response();
    }
    let challenge = match error.kind() {
        ErrorKind::Unauthorized if message.starts_with("Missing") => "Bearer".to_owned(),
        _ => {
            let description = message.replace(['"', '\\'], "'");
            format!(r#"Bearer error="invalid_token", error_description="{description}""#)
        }
    };
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}
