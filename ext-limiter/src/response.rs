//! The 429 answer and the `X-RateLimit-*` / `Retry-After` headers.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, RETRY_AFTER};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use phial_core::error::ErrorInfo;
use phial_core::middleware::{default_error_body, prefers_json};
use serde::{Deserialize, Serialize};

use crate::limiter::{Checked, Counted};

/// The form of `Retry-After` (`RATELIMIT_HEADER_RETRY_AFTER_VALUE`).
///
/// # Examples
///
/// ```
/// use phial_limiter::RetryAfter;
///
/// let form: RetryAfter = serde_json::from_str("\"http-date\"").unwrap();
/// assert_eq!(form, RetryAfter::HttpDate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RetryAfter {
    /// Whole seconds to wait, rounded up, never negative (the default).
    #[default]
    DeltaSeconds,
    /// The moment to retry, as an HTTP date.
    HttpDate,
}

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Writes Flask-Limiter's headers for `counted` onto `headers`: the limit's amount, what
/// remains, the reset as epoch seconds (Flask-Limiter's `int(reset + 1)`), and `Retry-After`.
pub(crate) fn write_headers(headers: &mut HeaderMap, counted: &Counted, now: Duration, form: RetryAfter) {
    headers.insert(LIMIT.clone(), HeaderValue::from(counted.item.amount()));
    headers.insert(REMAINING.clone(), HeaderValue::from(counted.stats.remaining));
    headers.insert(RESET.clone(), HeaderValue::from(counted.stats.reset.as_secs() + 1));
    let retry_after = counted.stats.retry_after(now);
    let value = match form {
        RetryAfter::DeltaSeconds => HeaderValue::from(retry_after),
        RetryAfter::HttpDate => http_date(now.as_secs() + retry_after),
    };
    headers.insert(RETRY_AFTER, value);
}

fn http_date(epoch_seconds: u64) -> HeaderValue {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = i64::try_from(epoch_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_owned());
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("0"))
}

/// The 429 answer: JSON (`{"error": "Too Many Requests", "message": "2 per 1 minute"}`) or a
/// small HTML page by `Accept`, naming the limit, with the rate limit headers.
pub(crate) fn too_many_requests(parts: &Parts, checked: &Checked, now: Duration, form: RetryAfter) -> Response {
    let counted = checked.header_limit().expect("a breach has a counted limit");
    let message = counted.message.clone().unwrap_or_else(|| counted.item.to_string());
    let json = prefers_json(parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let mut response = default_error_body(StatusCode::TOO_MANY_REQUESTS, &message, json);
    write_headers(response.headers_mut(), counted, now, form);
    // So that a phial app's own 429 handler (Flask's `errorhandler(429)`) renders it.
    let status = StatusCode::TOO_MANY_REQUESTS;
    response.extensions_mut().insert(Arc::new(ErrorInfo { status, message: Cow::Owned(message) }));
    response
}

/// The answer when the storage is down and the policy is to fail closed.
pub(crate) fn unavailable(parts: &Parts) -> Response {
    let json = prefers_json(parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let message = "Rate limit storage is unavailable.";
    let mut response = default_error_body(StatusCode::SERVICE_UNAVAILABLE, message, json).into_response();
    let status = StatusCode::SERVICE_UNAVAILABLE;
    response.extensions_mut().insert(Arc::new(ErrorInfo { status, message: Cow::Borrowed(message) }));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
