//! [`CacheConfig`]: section `[cache]`, Flask-Caching's `CACHE_*` settings with its defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where cached values live (`CACHE_TYPE`).
///
/// # Examples
///
/// ```
/// use phial_cache::{BackendKind, CacheConfig};
///
/// let mut config = CacheConfig::default();
/// assert_eq!(config.backend, BackendKind::Memory);
/// config.backend = BackendKind::Null;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BackendKind {
    /// In this process, in a bounded moka cache (`SimpleCache`). The default.
    Memory,
    /// In the app's shared Redis server (`RedisCache`); needs feature `redis` and
    /// [`RedisExtension`](phial_core::redis::RedisExtension).
    Redis,
    /// Nothing is stored: every read misses (`NullCache`). For tests and to turn caching off.
    Null,
    /// A short-lived in-process copy in front of Redis, for several instances of one app:
    /// most hits never leave the process, writes reach every instance through Redis. Another
    /// instance may serve its copy of a changed, deleted or cleared key for up to
    /// `local_timeout`; counters always go to Redis.
    TwoLevel,
}

impl BackendKind {
    /// The name used in config: `memory`, `redis`, `null`, `two-level`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_cache::BackendKind::TwoLevel.as_str(), "two-level");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
            Self::Null => "null",
            Self::TwoLevel => "two-level",
        }
    }

    /// Whether this backend talks to Redis.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(phial_cache::BackendKind::TwoLevel.uses_redis());
    /// ```
    pub fn uses_redis(self) -> bool {
        matches!(self, Self::Redis | Self::TwoLevel)
    }
}

/// Section `[cache]` of `phial.toml`. Durations are seconds (fractions allowed).
///
/// ```toml
/// [cache]
/// backend = "memory"          # CACHE_TYPE: memory | redis | null | two-level
/// default_timeout = 300       # CACHE_DEFAULT_TIMEOUT; 0 = never expires
/// key_prefix = "cache:"       # CACHE_KEY_PREFIX (after [redis] key_prefix)
/// max_entries = 500           # CACHE_THRESHOLD (memory and the two-level local copy)
/// # max_size = 67108864       # bound by bytes instead of entries
/// # time_to_idle = 600        # also drop entries unread this long (memory)
/// local_timeout = 5           # two-level: how long an instance keeps its own copy
/// fail_loudly = false         # true: Redis faults are errors instead of misses
/// # stale_grace = 30          # Redis: serve an expired value this long while another instance recomputes it
/// ```
///
/// # Examples
///
/// ```
/// use phial_cache::CacheConfig;
///
/// let config = CacheConfig::default();
/// assert!((config.default_timeout - 300.0).abs() < f64::EPSILON);
/// assert_eq!(config.key_prefix, "cache:");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Where values live. Flask-Caching: `CACHE_TYPE` (`SimpleCache` → `memory`,
    /// `RedisCache` → `redis`, `NullCache` → `null`). Default `memory`.
    pub backend: BackendKind,
    /// Seconds a value lives when no timeout is given; `0` keeps it until evicted or deleted.
    /// Flask-Caching: `CACHE_DEFAULT_TIMEOUT`, default 300.
    pub default_timeout: f64,
    /// Put in front of every key (after `[redis] key_prefix`), so that [`clear`](crate::Cache::clear)
    /// removes only this app's entries. Flask-Caching: `CACHE_KEY_PREFIX`. Default `cache:`.
    pub key_prefix: String,
    /// The most entries kept in process (memory backend, two-level local copy). Flask-Caching:
    /// `CACHE_THRESHOLD`, default 500. Ignored when [`max_size`](Self::max_size) is set.
    pub max_entries: u64,
    /// Bound the in-process cache by bytes (keys and encoded values) instead of entries.
    pub max_size: Option<u64>,
    /// Also drop in-process entries not read for this many seconds. Default none.
    pub time_to_idle: Option<f64>,
    /// Two-level: seconds an instance serves its own copy before asking Redis again, which
    /// bounds how long a write on another instance can go unseen. Default 5.
    pub local_timeout: f64,
    /// Redis faults (down, slow) become errors instead of misses: for development, to see
    /// them. Default `false`: the cache degrades to a miss and the app keeps serving.
    pub fail_loudly: bool,
    /// Seconds one cache call may wait for Redis before it counts as a miss. Default 0.5.
    pub redis_timeout: f64,
    /// After a Redis fault, seconds during which calls skip Redis (misses at once) before
    /// trying again, so that a frozen server does not slow every request. Default 1.
    pub retry_after: f64,
    /// At most one warning about Redis faults per this many seconds. Default 60.
    pub log_interval: f64,
    /// Stampede protection across instances: seconds a computing instance holds the lease
    /// of a key, and the longest another instance waits for its value before computing
    /// itself. Default 10.
    pub lease_timeout: f64,
    /// Redis backends: seconds a value stays servable after it expires, to instances that find
    /// another instance recomputing it (holding its lease): they answer at once with the stale
    /// value instead of waiting up to `lease_timeout`. Each value written with a timeout is
    /// then also kept, under a key of its own, that much longer (twice the Redis memory for
    /// those values). Default 0: no stale copies, waiters wait.
    pub stale_grace: f64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            backend: BackendKind::Memory,
            default_timeout: 300.0,
            key_prefix: "cache:".to_owned(),
            max_entries: 500,
            max_size: None,
            time_to_idle: None,
            local_timeout: 5.0,
            fail_loudly: false,
            redis_timeout: 0.5,
            retry_after: 1.0,
            log_interval: 60.0,
            lease_timeout: 10.0,
            stale_grace: 0.0,
        }
    }
}

impl CacheConfig {
    /// A config for `backend` with every other setting at its default.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::{BackendKind, CacheConfig};
    ///
    /// assert_eq!(CacheConfig::new(BackendKind::Null).backend, BackendKind::Null);
    /// ```
    #[must_use]
    pub fn new(backend: BackendKind) -> Self {
        Self { backend, ..Self::default() }
    }

    /// [`default_timeout`](Self::default_timeout) as a lifetime: `None` for "never expires".
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::CacheConfig;
    ///
    /// let mut config = CacheConfig::default();
    /// assert_eq!(config.default_ttl().map(|d| d.as_secs()), Some(300));
    /// config.default_timeout = 0.0;
    /// assert_eq!(config.default_ttl(), None);
    /// ```
    #[must_use]
    pub fn default_ttl(&self) -> Option<Duration> {
        positive(self.default_timeout)
    }

    /// Checks values that cannot work, naming the key to change.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        let finite = [
            ("cache.default_timeout", self.default_timeout),
            ("cache.local_timeout", self.local_timeout),
            ("cache.redis_timeout", self.redis_timeout),
            ("cache.retry_after", self.retry_after),
            ("cache.log_interval", self.log_interval),
            ("cache.lease_timeout", self.lease_timeout),
            ("cache.stale_grace", self.stale_grace),
        ];
        for (key, value) in finite {
            if !value.is_finite() || value < 0.0 {
                return Err((key, format!("must be a number of seconds, 0 or more (got {value})")));
            }
        }
        if self.max_entries == 0 && self.max_size.is_none() {
            return Err(("cache.max_entries", "must be at least 1".to_owned()));
        }
        if self.max_size == Some(0) {
            return Err(("cache.max_size", "must be at least 1 byte".to_owned()));
        }
        if self.time_to_idle.is_some_and(|tti| !tti.is_finite() || tti <= 0.0) {
            return Err(("cache.time_to_idle", "must be a positive number of seconds".to_owned()));
        }
        if self.backend.uses_redis() && !cfg!(feature = "redis") {
            return Err((
                "cache.backend",
                format!("backend `{}` needs phial-cache's feature `redis`", self.backend.as_str()),
            ));
        }
        Ok(())
    }
}

/// Seconds as a duration, `None` for zero (and for values that are not positive).
pub(crate) fn positive(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok().filter(|d| !d.is_zero())
}

/// Seconds as a duration, at least 1 ms.
pub(crate) fn at_least_ms(seconds: f64) -> Duration {
    positive(seconds).unwrap_or(Duration::ZERO).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_read_from_toml_style_strings() {
        let config: CacheConfig = serde_json::from_str(r#"{"backend": "two-level"}"#).expect("valid config");
        assert_eq!(config.backend, BackendKind::TwoLevel);
        assert!((config.default_timeout - 300.0).abs() < f64::EPSILON);
    }

    #[test]
    fn misspelt_key_is_rejected() {
        let err = serde_json::from_str::<CacheConfig>(r#"{"default_timout": 3}"#).expect_err("unknown key");
        assert!(err.to_string().contains("default_timout"), "{err}");
    }

    #[test]
    fn negative_timeouts_are_refused() {
        let config = CacheConfig { default_timeout: -1.0, ..CacheConfig::default() };
        assert_eq!(config.validate().expect_err("invalid").0, "cache.default_timeout");
    }
}
