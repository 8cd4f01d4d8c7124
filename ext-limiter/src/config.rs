//! [`LimiterConfig`]: section `[limiter]`, Flask-Limiter's `RATELIMIT_*` settings.

use serde::{Deserialize, Serialize};

use crate::response::RetryAfter;
use crate::strategy::Strategy;

/// What the limiter does while Redis is unavailable; see `StorageFailure` (feature `redis`)
/// for the meaning of each.
///
/// # Examples
///
/// ```
/// use phial_limiter::OnStorageError;
///
/// assert_eq!(OnStorageError::default(), OnStorageError::FailClosed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OnStorageError {
    /// 503 for limited requests.
    #[default]
    FailClosed,
    /// Let requests through unlimited.
    FailOpen,
    /// Count in memory, each limit divided by `expected_instances`, until Redis is back.
    Fallback,
}

/// `[limiter]`: one field per `RATELIMIT_*` setting of Flask-Limiter, with its defaults.
///
/// # Examples
///
/// ```toml
/// [limiter]
/// default_limits = "200/day;50/hour"   # RATELIMIT_DEFAULT
/// strategy = "moving-window"            # RATELIMIT_STRATEGY
/// storage_uri = "redis://"              # RATELIMIT_STORAGE_URI: the shared [redis] connection
/// headers_enabled = true                # RATELIMIT_HEADERS_ENABLED
/// on_storage_error = "fallback"         # RATELIMIT_IN_MEMORY_FALLBACK_ENABLED
/// expected_instances = 4
/// trusted_proxies = 1                   # behind one proxy that appends X-Forwarded-For
/// ```
///
/// ```
/// let config = phial_limiter::LimiterConfig::default();
/// assert!(config.enabled);
/// assert_eq!(config.storage_uri, "memory://");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[expect(clippy::struct_excessive_bools, reason = "one field per RATELIMIT_* switch, as Flask-Limiter has them")]
pub struct LimiterConfig {
    /// Whether limits are enforced at all. `RATELIMIT_ENABLED` (default true).
    pub enabled: bool,
    /// Limits for every route without its own, counted per route, e.g. `"200/day;50/hour"`.
    /// `RATELIMIT_DEFAULT` (default none).
    pub default_limits: String,
    /// Count default limits per HTTP method. `RATELIMIT_DEFAULTS_PER_METHOD` (default false).
    pub default_limits_per_method: bool,
    /// Hits each request costs against the default limits. `RATELIMIT_DEFAULTS_COST` (1).
    pub default_limits_cost: u64,
    /// Limits shared by all routes together, per key. `RATELIMIT_APPLICATION` (default none).
    pub application_limits: String,
    /// `fixed-window`, `moving-window`, `sliding-window-counter` or `gcra`.
    /// `RATELIMIT_STRATEGY` (default `fixed-window`).
    pub strategy: Strategy,
    /// `memory://` (default) or `redis://`: Redis through phial-core's one shared connection,
    /// configured in `[redis]` (the URL's host part here is not used; it needs feature `redis`
    /// and `RedisExtension`). `RATELIMIT_STORAGE_URI`.
    pub storage_uri: String,
    /// Rate limit headers on every response, not only on 429. `RATELIMIT_HEADERS_ENABLED`.
    pub headers_enabled: bool,
    /// `delta-seconds` (default) or `http-date`. `RATELIMIT_HEADER_RETRY_AFTER_VALUE`.
    pub retry_after: RetryAfter,
    /// Put in every storage key. `RATELIMIT_KEY_PREFIX` (default empty).
    pub key_prefix: String,
    /// Stop counting at the first breached limit. `RATELIMIT_FAIL_ON_FIRST_BREACH` (true).
    pub fail_on_first_breach: bool,
    /// While Redis is down: `fail-closed` (503, default), `fail-open` (`RATELIMIT_SWALLOW_ERRORS`)
    /// or `fallback` (`RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`).
    pub on_storage_error: OnStorageError,
    /// Instances sharing the limits; the memory fallback gives each `amount / n` (default 1).
    pub expected_instances: u32,
    /// Proxies in front of the app that append to `X-Forwarded-For` (default 0: trust none,
    /// key by the TCP peer). Werkzeug's `ProxyFix(x_for=N)`.
    pub trusted_proxies: usize,
    /// The most keys memory storage tracks (phial's bound; default 100 000).
    pub max_keys: usize,
    /// Seconds between sweeps of expired keys in memory storage (default 60).
    pub cleanup_interval: u64,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default_limits: String::new(),
            default_limits_per_method: false,
            default_limits_cost: 1,
            application_limits: String::new(),
            strategy: Strategy::FixedWindow,
            storage_uri: "memory://".to_owned(),
            headers_enabled: false,
            retry_after: RetryAfter::DeltaSeconds,
            key_prefix: String::new(),
            fail_on_first_breach: true,
            on_storage_error: OnStorageError::FailClosed,
            expected_instances: 1,
            trusted_proxies: 0,
            max_keys: 100_000,
            cleanup_interval: 60,
        }
    }
}

impl LimiterConfig {
    /// Whether `storage_uri` names Redis.
    pub(crate) fn wants_redis(&self) -> bool {
        self.storage_uri.starts_with("redis://") || self.storage_uri.starts_with("rediss://")
    }
}
