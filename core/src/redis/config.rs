//! [`RedisConfig`]: section `[redis]`, the one Redis server every extension shares.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Section `[redis]` of `phial.toml`: where the shared Redis server is and how long to wait
/// for it.
///
/// The URL is the only setting most apps need; the env var `REDIS_URL` is honoured as Flask
/// apps conventionally read it (`PHIAL_REDIS__URL` works too).
///
/// ```toml
/// [redis]
/// url = "redis://:password@cache.internal:6379/0"   # Flask-Session: SESSION_REDIS
/// connect_timeout = 5.0
/// response_timeout = 2.0
/// key_prefix = "myapp:"
/// ```
///
/// # Examples
///
/// ```
/// use phial_core::redis::RedisConfig;
///
/// let config = RedisConfig::default();
/// assert_eq!(config.url.expose(), "redis://127.0.0.1:6379");
/// assert_eq!(config.response_timeout_duration().as_secs(), 2);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The server: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS when
    /// redis-rs is built with a TLS feature. A secret because URLs carry passwords. Default
    /// `redis://127.0.0.1:6379`; env `REDIS_URL` is honoured.
    pub url: Secret,
    /// Seconds to wait for a connection, at startup and on each reconnect. Startup fails when
    /// the server does not answer within about twice this. redis-py: `socket_connect_timeout`.
    pub connect_timeout: f64,
    /// Seconds a command may take, waiting for a reconnection included, before it fails with
    /// a 503-class [`RedisError`](super::RedisError). redis-py: `socket_timeout`.
    pub response_timeout: f64,
    /// Put in front of every key phial writes (`myapp:session:<id>`), so that several apps can
    /// share one server. Default empty. Flask-Session: `SESSION_KEY_PREFIX` (which phial's
    /// session store puts after this one, as `session:`).
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379"),
            connect_timeout: 5.0,
            response_timeout: 2.0,
            key_prefix: String::new(),
        }
    }
}

impl RedisConfig {
    /// [`connect_timeout`](Self::connect_timeout) as a [`Duration`] (at least 1 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::redis::RedisConfig;
    ///
    /// assert_eq!(RedisConfig::default().connect_timeout_duration().as_secs(), 5);
    /// ```
    #[must_use]
    pub fn connect_timeout_duration(&self) -> Duration {
        seconds(self.connect_timeout)
    }

    /// [`response_timeout`](Self::response_timeout) as a [`Duration`] (at least 1 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::redis::RedisConfig;
    ///
    /// let mut config = RedisConfig::default();
    /// config.response_timeout = 0.25;
    /// assert_eq!(config.response_timeout_duration().as_millis(), 250);
    /// ```
    #[must_use]
    pub fn response_timeout_duration(&self) -> Duration {
        seconds(self.response_timeout)
    }
}

/// A timeout in seconds; zero, negative and `NaN` values become 1 ms rather than "forever",
/// because every Redis call must end.
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::ZERO).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_never_become_unbounded() {
        assert_eq!(seconds(0.0), Duration::from_millis(1));
        assert_eq!(seconds(-3.0), Duration::from_millis(1));
        assert_eq!(seconds(f64::NAN), Duration::from_millis(1));
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
    }

    #[test]
    fn partial_config_keeps_defaults() {
        let config: RedisConfig = serde_json::from_str(r#"{"key_prefix": "app:"}"#).expect("valid config");
        assert_eq!(config.key_prefix, "app:");
        assert_eq!(config.url.expose(), "redis://127.0.0.1:6379");
    }

    #[test]
    fn misspelt_key_is_rejected() {
        let err = serde_json::from_str::<RedisConfig>(r#"{"urll": "redis://x"}"#).expect_err("unknown key");
        assert!(err.to_string().contains("urll"), "{err}");
    }
}
