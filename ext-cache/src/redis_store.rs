//! The Redis store, on the app's shared connection (feature `redis`).

use std::time::Duration;

use bytes::Bytes;
use phial_core::redis::driver::FromRedisValue;
use phial_core::redis::{Cmd, Pipeline, Redis, RedisError, cmd, pipe};

use crate::error::CacheError;
use crate::faults::Faults;

/// Deletes the lease only if it still holds this instance's token, so that a lease that
/// expired and was taken by another instance is left alone.
const RELEASE_LEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// Keys per `SCAN` step and per `UNLINK` of [`RedisStore::clear`].
const SCAN_COUNT: usize = 500;

/// Cache entries in Redis under `<redis key_prefix><cache key_prefix><key>`.
pub(crate) struct RedisStore {
    redis: Redis,
    /// The full prefix of this cache's keys.
    prefix: String,
    timeout: Duration,
    pub(crate) faults: Faults,
    /// How long a stale copy outlives its value (`stale_grace`), when stale copies are kept.
    grace: Option<Duration>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisStore {
    pub(crate) fn new(
        redis: Redis,
        cache_prefix: &str,
        timeout: Duration,
        faults: Faults,
        grace: Option<Duration>,
    ) -> Self {
        let prefix = redis.key(cache_prefix);
        // The cache's own bound is usually shorter than the connection's: a slow Redis
        // should cost a request little before the cache gives up and computes.
        let timeout = timeout.min(redis.response_timeout());
        Self { redis, prefix, timeout, faults, grace }
    }

    pub(crate) fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// Runs one command, unless the breaker is open; faults open it, successes close it.
    async fn query<T: FromRedisValue>(&self, what: &str, command: &Cmd) -> Result<T, CacheError> {
        self.bounded(what, self.redis.query(command)).await
    }

    async fn query_pipeline<T: FromRedisValue>(&self, what: &str, pipeline: &Pipeline) -> Result<T, CacheError> {
        self.bounded(what, self.redis.query_pipeline(pipeline)).await
    }

    async fn bounded<T>(&self, what: &str, call: impl Future<Output = Result<T, RedisError>>) -> Result<T, CacheError> {
        if self.faults.is_open() {
            return Err(CacheError::Unavailable("Redis failed recently; retrying shortly".to_owned()));
        }
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(RedisError::Timeout(self.timeout)),
        };
        match result {
            Ok(value) => {
                self.faults.clear();
                Ok(value)
            }
            Err(err) if err.is_unavailable() => {
                self.faults.record(what, &err);
                Err(CacheError::Unavailable(err.to_string()))
            }
            Err(err) => Err(CacheError::Backend(err.to_string())),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let value: Option<Vec<u8>> = self.query("GET", cmd("GET").arg(self.key(key))).await?;
        Ok(value.map(Bytes::from))
    }

    pub(crate) async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = cmd("MGET");
        for key in keys {
            command.arg(self.key(key));
        }
        let values: Vec<Option<Vec<u8>>> = self.query("MGET", &command).await?;
        Ok(values.into_iter().map(|value| value.map(Bytes::from)).collect())
    }

    pub(crate) async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        match self.stale_ttl(ttl) {
            // The value and its stale copy in one round trip.
            Some(stale_ttl) => {
                let mut pipeline = pipe();
                pipeline.add_command(set_command(self.key(key), value, ttl, false)).ignore();
                pipeline.add_command(set_command(self.stale_key(key), value, Some(stale_ttl), false)).ignore();
                self.query_pipeline("SET", &pipeline).await
            }
            None => self.query("SET", &set_command(self.key(key), value, ttl, false)).await,
        }
    }

    pub(crate) async fn set_many(&self, items: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<(), CacheError> {
        let mut pipeline = pipe();
        let stale_ttl = self.stale_ttl(ttl);
        for (key, value) in items {
            pipeline.add_command(set_command(self.key(key), value, ttl, false)).ignore();
            if stale_ttl.is_some() {
                pipeline.add_command(set_command(self.stale_key(key), value, stale_ttl, false)).ignore();
            }
        }
        self.query_pipeline("SET", &pipeline).await
    }

    /// The stale copy of `key`, if stale copies are kept and this one has not run out.
    pub(crate) async fn get_stale(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        if self.grace.is_none() {
            return Ok(None);
        }
        let value: Option<Vec<u8>> = self.query("GET", cmd("GET").arg(self.stale_key(key))).await?;
        Ok(value.map(Bytes::from))
    }

    /// How long the stale copy of a value living `ttl` lives: only values that expire get one.
    fn stale_ttl(&self, ttl: Option<Duration>) -> Option<Duration> {
        Some(ttl? + self.grace?)
    }

    fn stale_key(&self, key: &str) -> String {
        self.key(&format!("__stale__:{key}"))
    }

    pub(crate) async fn add(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<bool, CacheError> {
        let reply: Option<String> = self.query("SET NX", &set_command(self.key(key), value, ttl, true)).await?;
        Ok(reply.is_some())
    }

    pub(crate) async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut command = cmd("UNLINK");
        for key in keys {
            command.arg(self.key(key));
        }
        if self.grace.is_none() {
            return self.query("UNLINK", &command).await;
        }
        // A deleted value is not served stale either; the count is of the values.
        let mut stale = cmd("UNLINK");
        for key in keys {
            stale.arg(self.stale_key(key));
        }
        let mut pipeline = pipe();
        pipeline.add_command(command).add_command(stale).ignore();
        let (removed,): (u64,) = self.query_pipeline("UNLINK", &pipeline).await?;
        Ok(removed)
    }

    pub(crate) async fn has(&self, key: &str) -> Result<bool, CacheError> {
        let count: u64 = self.query("EXISTS", cmd("EXISTS").arg(self.key(key))).await?;
        Ok(count > 0)
    }

    /// Removes every key under this cache's prefix (`SCAN` + `UNLINK`), never other keys.
    pub(crate) async fn clear(&self) -> Result<u64, CacheError> {
        let pattern = format!("{}*", escape_glob(&self.prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query("SCAN", cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(SCAN_COUNT))
                .await?;
            if !keys.is_empty() {
                let count: u64 = self.query("UNLINK", cmd("UNLINK").arg(&keys)).await?;
                removed += count;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// `INCRBY`; a counter it creates lives `ttl` (`PEXPIRE ... NX` leaves an existing
    /// lifetime alone).
    pub(crate) async fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let key = self.key(key);
        let mut pipeline = pipe();
        pipeline.atomic().cmd("INCRBY").arg(&key).arg(delta);
        if let Some(ttl) = ttl {
            pipeline.cmd("PEXPIRE").arg(&key).arg(millis(ttl)).arg("NX").ignore();
        }
        let (value,): (i64,) = self.query_pipeline("INCRBY", &pipeline).await.map_err(|err| match err {
            CacheError::Backend(message) if message.contains("not an integer") => CacheError::NotAnInteger(key),
            other => other,
        })?;
        Ok(value)
    }

    /// Takes the lease on `key` for `hold` if nobody holds it.
    pub(crate) async fn acquire_lease(&self, key: &str, token: &str, hold: Duration) -> Result<bool, CacheError> {
        let lease = self.lease_key(key);
        let reply: Option<String> =
            self.query("SET NX", cmd("SET").arg(lease).arg(token).arg("NX").arg("PX").arg(millis(hold))).await?;
        Ok(reply.is_some())
    }

    pub(crate) async fn release_lease(&self, key: &str, token: &str) -> Result<(), CacheError> {
        let lease = self.lease_key(key);
        self.query::<i64>("EVAL", cmd("EVAL").arg(RELEASE_LEASE).arg(1).arg(lease).arg(token)).await.map(drop)
    }

    fn lease_key(&self, key: &str) -> String {
        self.key(&format!("__lease__:{key}"))
    }

    pub(crate) async fn ping(&self) -> Result<Duration, RedisError> {
        self.redis.ping().await
    }
}

fn set_command(key: String, value: &[u8], ttl: Option<Duration>, only_new: bool) -> Cmd {
    let mut command = cmd("SET");
    command.arg(key).arg(value);
    if only_new {
        command.arg("NX");
    }
    if let Some(ttl) = ttl {
        command.arg("PX").arg(millis(ttl));
    }
    command
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `prefix` with Redis glob characters escaped, for `SCAN MATCH`.
fn escape_glob(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_prefixes_are_escaped() {
        assert_eq!(escape_glob("app:cache:"), "app:cache:");
        assert_eq!(escape_glob("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }

    #[test]
    fn set_commands_carry_nx_and_px() {
        let packed = set_command("k".into(), b"v", Some(Duration::from_millis(1500)), true).get_packed_command();
        let text = String::from_utf8_lossy(&packed);
        assert!(text.contains("NX") && text.contains("PX") && text.contains("1500"), "{text}");
    }
}
