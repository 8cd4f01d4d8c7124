//! Redis storage: one atomic Lua script per strategy, time from the server's `TIME`/TTLs, and
//! the policy for outages (fail closed, fail open, or in-memory fallback with recovery probes).

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use phial_core::redis::{Redis, RedisError, cmd};
use serde::{Deserialize, Serialize};

use super::MemoryStorage;
use crate::clock::SharedClock;
use crate::error::LimiterError;
use crate::parse::RateLimitItem;
use crate::strategy::{Outcome, Strategy, WindowStats};

/// What the limiter does while Redis is unavailable (Flask-Limiter's `RATELIMIT_SWALLOW_ERRORS`
/// and `RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`).
///
/// # Examples
///
/// ```
/// use phial_limiter::StorageFailure;
///
/// let policy: StorageFailure = serde_json::from_str("\"fallback\"").unwrap();
/// assert_eq!(policy, StorageFailure::Fallback);
/// assert_eq!(StorageFailure::default(), StorageFailure::FailClosed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StorageFailure {
    /// Refuse limited requests with 503 (Flask-Limiter's default raises, which is a 500).
    #[default]
    FailClosed,
    /// Let every request through, unlimited (`RATELIMIT_SWALLOW_ERRORS = True`).
    FailOpen,
    /// Count in this process's memory, each limit divided by the expected number of instances
    /// (`RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`), until Redis answers again.
    Fallback,
}

/// How the limiter uses Redis: the shared connection and the outage policy.
///
/// # Examples
///
/// ```no_run
/// use phial_core::redis::{Redis, RedisConfig};
/// use phial_limiter::{Limiter, RedisOptions, StorageFailure};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Redis::connect(&RedisConfig::default()).await?;
/// let limiter = Limiter::builder()
///     .default_limits("100/minute")
///     .redis(RedisOptions::new(redis).on_failure(StorageFailure::Fallback).expected_instances(4))
///     .build()?;
/// # let _ = limiter; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisOptions {
    redis: Redis,
    on_failure: StorageFailure,
    expected_instances: u32,
    min_backoff: Duration,
    max_backoff: Duration,
}

impl RedisOptions {
    /// Redis through `redis` (phial-core's shared handle), failing closed on outages.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            on_failure: StorageFailure::FailClosed,
            expected_instances: 1,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }

    /// The outage policy.
    pub fn on_failure(mut self, policy: StorageFailure) -> Self {
        self.on_failure = policy;
        self
    }

    /// How many app instances share the limit; the fallback gives each `amount / n` (at least
    /// 1 for a limit that allows any), so the instances together stay near the limit.
    pub fn expected_instances(mut self, instances: u32) -> Self {
        self.expected_instances = instances.max(1);
        self
    }

    /// The first and the longest wait between probes of a Redis found down (default 1 s,
    /// 30 s); each failed probe doubles the wait.
    pub fn probe_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.min_backoff = first;
        self.max_backoff = longest.max(first);
        self
    }
}

#[derive(Debug)]
struct Health {
    down: bool,
    next_probe: Instant,
    backoff: Duration,
}

#[derive(Debug)]
struct Scripts {
    fixed: OnceLock<String>,
    moving: OnceLock<String>,
    sliding: OnceLock<String>,
    gcra: OnceLock<String>,
}

/// Redis storage with its outage state.
#[derive(Debug)]
pub(crate) struct RedisBackend {
    options: RedisOptions,
    fallback: MemoryStorage,
    health: Mutex<Health>,
    scripts: Scripts,
    clock: SharedClock,
}

const FIXED_WINDOW: &str = include_str!("lua/fixed_window.lua");
const MOVING_WINDOW: &str = include_str!("lua/moving_window.lua");
const SLIDING_WINDOW: &str = include_str!("lua/sliding_window.lua");
const GCRA: &str = include_str!("lua/gcra.lua");

impl RedisBackend {
    pub(crate) fn new(options: RedisOptions, fallback: MemoryStorage, clock: SharedClock) -> Self {
        let health = Health { down: false, next_probe: Instant::now(), backoff: options.min_backoff };
        let scripts = Scripts {
            fixed: OnceLock::new(),
            moving: OnceLock::new(),
            sliding: OnceLock::new(),
            gcra: OnceLock::new(),
        };
        Self { options, fallback, health: Mutex::new(health), scripts, clock }
    }

    pub(crate) async fn acquire(
        &self,
        strategy: Strategy,
        key: &str,
        item: &RateLimitItem,
        cost: u64,
        test: bool,
    ) -> Result<Outcome, LimiterError> {
        if self.skip_redis() {
            return self.degraded(strategy, key, item, cost, test);
        }
        match self.run(strategy, key, item, cost, test).await {
            Ok(outcome) => {
                self.mark_up();
                Ok(outcome)
            }
            Err(err) if err.is_unavailable() => {
                self.mark_down(&err);
                self.degraded(strategy, key, item, cost, test)
            }
            Err(err) => Err(LimiterError::Storage(err.to_string())),
        }
    }

    /// Whether Redis is known down and no probe is due; a due probe is this very request.
    fn skip_redis(&self) -> bool {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if !health.down {
            return false;
        }
        let now = Instant::now();
        if now < health.next_probe {
            return true;
        }
        // Let one request probe; the others keep the policy until it reports.
        health.next_probe = now + health.backoff;
        false
    }

    fn mark_up(&self) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.down {
            tracing::info!("rate limit storage recovered; counting in Redis again");
            health.down = false;
            health.backoff = self.options.min_backoff;
        }
    }

    fn mark_down(&self, err: &RedisError) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.down {
            health.backoff = (health.backoff * 2).min(self.options.max_backoff);
        } else {
            tracing::warn!(error = %err, policy = ?self.options.on_failure, "rate limit storage unreachable");
            health.down = true;
            health.backoff = self.options.min_backoff;
        }
        health.next_probe = Instant::now() + health.backoff;
    }

    fn degraded(
        &self,
        strategy: Strategy,
        key: &str,
        item: &RateLimitItem,
        cost: u64,
        test: bool,
    ) -> Result<Outcome, LimiterError> {
        match self.options.on_failure {
            StorageFailure::FailClosed => Err(LimiterError::Storage("Redis is unavailable".into())),
            StorageFailure::FailOpen => {
                let stats = WindowStats { reset: self.clock.now(), remaining: item.amount() };
                Ok(Outcome { allowed: true, stats })
            }
            StorageFailure::Fallback => {
                let share = item.amount() / u64::from(self.options.expected_instances);
                let share = if item.amount() > 0 { share.max(1) } else { 0 };
                Ok(self.fallback.acquire(strategy, key, &item.with_amount(share), cost, test))
            }
        }
    }

    async fn run(
        &self,
        strategy: Strategy,
        key: &str,
        item: &RateLimitItem,
        cost: u64,
        test: bool,
    ) -> Result<Outcome, RedisError> {
        let redis = &self.options.redis;
        let (source, cell, keys) = match strategy {
            Strategy::FixedWindow => (FIXED_WINDOW, &self.scripts.fixed, vec![redis.key(&format!("LIMITS:{key}"))]),
            Strategy::MovingWindow => (MOVING_WINDOW, &self.scripts.moving, vec![redis.key(&format!("LIMITS:{key}"))]),
            Strategy::SlidingWindowCounter => (
                SLIDING_WINDOW,
                &self.scripts.sliding,
                vec![redis.key(&format!("LIMITS:{{{key}}}/-1")), redis.key(&format!("LIMITS:{{{key}}}"))],
            ),
            Strategy::Gcra => (GCRA, &self.scripts.gcra, vec![redis.key(&format!("LIMITS:GCRA/{key}"))]),
        };
        let args = [item.amount(), u64::try_from(item.expiry().as_millis()).unwrap_or(u64::MAX), cost, u64::from(test)];
        let reply: (i64, i64, i64) = self.eval(source, cell, &keys, &args).await?;
        let (allowed, remaining, reset_in_ms) = reply;
        let reset_in = Duration::from_millis(u64::try_from(reset_in_ms).unwrap_or(0));
        let stats =
            WindowStats { reset: self.clock.now() + reset_in, remaining: u64::try_from(remaining).unwrap_or(0) };
        Ok(Outcome { allowed: allowed == 1, stats })
    }

    /// `EVALSHA`, loading the script first when this process has not yet, and again when the
    /// server lost it (`NOSCRIPT` after a restart or `SCRIPT FLUSH`).
    async fn eval(
        &self,
        source: &str,
        cell: &OnceLock<String>,
        keys: &[String],
        args: &[u64],
    ) -> Result<(i64, i64, i64), RedisError> {
        let sha = match cell.get() {
            Some(sha) => sha.clone(),
            None => self.load(source, cell).await?,
        };
        match self.evalsha(&sha, keys, args).await {
            Err(RedisError::Command(err)) if err.to_string().contains("NOSCRIPT") => {
                // The SHA of a script never changes: loading it again makes the same one valid.
                let sha = self.load(source, cell).await?;
                self.evalsha(&sha, keys, args).await
            }
            other => other,
        }
    }

    async fn load(&self, source: &str, cell: &OnceLock<String>) -> Result<String, RedisError> {
        let sha: String = self.options.redis.query(cmd("SCRIPT").arg("LOAD").arg(source)).await?;
        let _ = cell.set(sha.clone());
        Ok(sha)
    }

    async fn evalsha(&self, sha: &str, keys: &[String], args: &[u64]) -> Result<(i64, i64, i64), RedisError> {
        let mut command = cmd("EVALSHA");
        command.arg(sha).arg(keys.len()).arg(keys).arg(args);
        self.options.redis.query(&command).await
    }

    /// Deletes every key starting with `prefix` (one of `LIMITER/...`), by `SCAN`.
    pub(crate) async fn reset(&self, prefix: &str) -> Result<usize, LimiterError> {
        let redis = &self.options.redis;
        let glob = escape_glob(prefix);
        let mut removed = 0;
        for pattern in [redis.key(&format!("LIMITS:{glob}*")), redis.key(&format!("LIMITS:{{{glob}*"))] {
            let mut cursor = 0u64;
            loop {
                let mut scan = cmd("SCAN");
                scan.arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000);
                let (next, keys): (u64, Vec<String>) = redis.query(&scan).await?;
                if !keys.is_empty() {
                    let deleted: usize = redis.query(cmd("DEL").arg(&keys)).await?;
                    removed += deleted;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        removed += self.fallback.reset(prefix);
        Ok(removed)
    }
}

impl From<RedisError> for LimiterError {
    fn from(err: RedisError) -> Self {
        Self::Storage(err.to_string())
    }
}

/// `text` with Redis glob characters escaped, so a key is matched literally.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
