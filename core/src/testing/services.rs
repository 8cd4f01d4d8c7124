//! Finding the real services (PostgreSQL, MariaDB, Redis) that service-backed tests talk to.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A service that tests can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// PostgreSQL: `PHIAL_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
    Postgres,
    /// MariaDB or MySQL: `PHIAL_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`.
    MySql,
    /// Redis: `PHIAL_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
    Redis,
}

impl Service {
    /// The environment variable that holds the service's URL.
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Postgres => "PHIAL_TEST_POSTGRES_URL",
            Self::MySql => "PHIAL_TEST_MYSQL_URL",
            Self::Redis => "PHIAL_TEST_REDIS_URL",
        }
    }

    /// The URL used when the variable is unset (the local services of a development machine).
    pub fn default_url(self) -> &'static str {
        match self {
            Self::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Self::MySql => "mysql://root@127.0.0.1:3306/test",
            Self::Redis => "redis://127.0.0.1:6379",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::MySql => 3306,
            Self::Redis => 6379,
        }
    }
}

/// The URL of `service` if it accepts connections, for a test that needs it.
///
/// When the service is unreachable, the test should skip: this prints a notice and returns
/// `None`. With `PHIAL_TEST_REQUIRE_SERVICES=1` (as CI sets) it panics instead, so a run never
/// passes by skipping.
///
/// # Panics
///
/// When the service is unreachable and `PHIAL_TEST_REQUIRE_SERVICES=1`.
///
/// # Examples
///
/// ```no_run
/// use phial_core::testing::{Service, service_url};
///
/// let Some(url) = service_url(Service::Postgres) else { return };
/// assert!(url.starts_with("postgres"));
/// ```
#[track_caller]
pub fn service_url(service: Service) -> Option<String> {
    let url = std::env::var(service.env_var()).unwrap_or_else(|_| service.default_url().to_owned());
    if reachable(&url, service.default_port()) {
        return Some(url);
    }
    let required = std::env::var("PHIAL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{service:?} is required (PHIAL_TEST_REQUIRE_SERVICES=1) but not reachable at {}; start it or set {}",
        redact(&url),
        service.env_var()
    );
    #[expect(clippy::print_stderr, reason = "the notice that a test was skipped is for the person running the tests")]
    {
        eprintln!(
            "SKIPPED: {service:?} is not reachable at {}; set {} to run this test",
            redact(&url),
            service.env_var()
        );
    }
    None
}

/// Whether a TCP connection to the URL's host and port succeeds within two seconds.
fn reachable(url: &str, default_port: u16) -> bool {
    let authority = url.split("://").nth(1).unwrap_or(url);
    let authority = authority.split(['/', '?']).next().unwrap_or(authority);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let target = if host_port.rsplit(':').next().is_some_and(|p| p.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    let Ok(addrs) = target.to_socket_addrs() else { return false };
    addrs.into_iter().any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(reachable(&format!("redis://127.0.0.1:{port}"), 6379));
        drop(listener);
        assert!(!reachable(&format!("redis://127.0.0.1:{port}"), 6379));
    }
}
