//! Rate limits on logins and token requests (phial-limiter; the original has none).
//!
//! Failed logins (`POST /auth/login` answered with the redirect back to the login page) and
//! refused token requests (`POST /api/tokens` answered 401) count against
//! `LOGIN_RATE_LIMIT` (default `10/minute;100/hour`) per client address; successful ones do
//! not. Over the limit, both routes answer 429 (a page for browsers, JSON for the API) until
//! the window passes. `RATELIMIT_ENABLED=false` turns the limits off; with `REDIS_URL` the
//! counts live in Redis, so they hold across instances.

use phial::axum::http::{HeaderMap, Method, StatusCode, header};
use phial::limiter::{Limit, LimiterExtension};

/// The limit when `LOGIN_RATE_LIMIT` is not set.
pub const DEFAULT_LOGIN_RATE_LIMIT: &str = "10/minute;100/hour";

/// The limiter with both limits declared (`limit`: a Flask-Limiter limit string).
pub fn extension(limit: &str) -> LimiterExtension {
    let login = Limit::new(limit).methods([Method::POST]).deduct_when(failed_login);
    let tokens = Limit::new(limit).methods([Method::POST]).deduct_when(|status, _| status == StatusCode::UNAUTHORIZED);
    LimiterExtension::new().configure(|limits| limits.route("/auth/login", login).route("/api/tokens", tokens))
}

/// Whether a login response is a failure: the redirect back to the login page. (A form shown
/// again for a missing field or CSRF token is not a password guess.)
fn failed_login(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::FOUND
        && headers.get(header::LOCATION).is_some_and(|location| location == crate::auth::FAILED_LOGIN_LOCATION)
}

/// `RATELIMIT_ENABLED`'s value as Flask-Limiter reads a boolean setting from the environment.
pub fn enabled(value: &str) -> bool {
    !matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_redirect_back_to_the_login_page_counts() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, "/auth/login".parse().unwrap_or_else(|_| unreachable!()));
        assert!(failed_login(StatusCode::FOUND, &headers));
        headers.insert(header::LOCATION, "/index".parse().unwrap_or_else(|_| unreachable!()));
        assert!(!failed_login(StatusCode::FOUND, &headers));
        assert!(!failed_login(StatusCode::OK, &HeaderMap::new()));
        assert!(!enabled("False") && !enabled("0") && enabled("true") && enabled("1"));
    }
}
