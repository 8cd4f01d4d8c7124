//! Revocation stores: [`Blocklist`], [`MemoryBlocklist`] and (feature `redis`)
//! [`RedisBlocklist`].
//!
//! A store is a set of keys that expire: `jti:<jti>` for a revoked token, `family:<id>` for a
//! revoked refresh-token family, `used:<jti>` for a refresh token already rotated. Each entry
//! lives until the token it concerns would have expired anyway, so the set stays small.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use phial_core::BoxError;

/// Where revoked tokens are remembered: Flask-JWT-Extended's `token_in_blocklist_loader`,
/// as a store.
///
/// # Examples
///
/// ```
/// use phial_jwt::{Blocklist, MemoryBlocklist};
///
/// # tokio_test();
/// # fn tokio_test() { let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
/// let store = MemoryBlocklist::new(1000);
/// assert!(store.insert("jti:abc", Some(i64::MAX)).await.unwrap());
/// assert!(!store.insert("jti:abc", Some(i64::MAX)).await.unwrap()); // already there
/// assert!(store.contains(&["jti:abc".to_owned()]).await.unwrap());
/// # }); }
/// ```
pub trait Blocklist: Send + Sync + 'static {
    /// Adds `key` until `expires_at` (seconds since the epoch; `None`: forever). Returns whether
    /// it was new (`SET NX`), which refresh-token reuse detection relies on.
    fn insert<'a>(&'a self, key: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<bool, BoxError>>;

    /// Whether any of `keys` is present and unexpired.
    fn contains<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<bool, BoxError>>;
}

/// The blocklist of one process: a table bounded by `capacity`, whose expired entries are
/// swept when it fills.
///
/// When the table is full of unexpired entries, [`insert`](Blocklist::insert) fails rather
/// than forget a revocation; the logout that needed it answers 503. Use
/// [`RedisBlocklist`] when the app runs as several instances.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use phial_jwt::{Blocklist, MemoryBlocklist};
///
/// let store: Arc<dyn Blocklist> = Arc::new(MemoryBlocklist::new(100_000));
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct MemoryBlocklist {
    table: Mutex<Table>,
    capacity: usize,
}

/// The entries, and when the first of them expires.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<String, Option<i64>>,
    /// No entry expires before this (`i64::MAX`: none expires): a full table is only swept once
    /// this has passed, so while it is full of live entries an insert fails at once instead of
    /// walking every entry under the lock that every request's check takes.
    earliest_expiry: i64,
}

impl MemoryBlocklist {
    /// A store of at most `capacity` entries.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = phial_jwt::MemoryBlocklist::new(100_000);
    /// # let _ = store;
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self {
            table: Mutex::new(Table { entries: HashMap::new(), earliest_expiry: i64::MAX }),
            capacity: capacity.max(1),
        }
    }

    fn insert_now(&self, key: &str, expires_at: Option<i64>, now: i64) -> Result<bool, BoxError> {
        let mut table = self.table.lock().map_err(|_| "blocklist lock poisoned")?;
        if let Some(existing) = table.entries.get(key)
            && existing.is_none_or(|exp| exp > now)
        {
            return Ok(false);
        }
        if table.entries.len() >= self.capacity && table.earliest_expiry <= now {
            table.entries.retain(|_, exp| exp.is_none_or(|exp| exp > now));
            table.earliest_expiry = table.entries.values().filter_map(|exp| *exp).min().unwrap_or(i64::MAX);
        }
        if table.entries.len() >= self.capacity && !table.entries.contains_key(key) {
            return Err("the memory blocklist is full; raise jwt.blocklist.capacity or use Redis".into());
        }
        if let Some(exp) = expires_at {
            table.earliest_expiry = table.earliest_expiry.min(exp);
        }
        table.entries.insert(key.to_owned(), expires_at);
        Ok(true)
    }

    fn contains_now(&self, keys: &[String], now: i64) -> Result<bool, BoxError> {
        let table = self.table.lock().map_err(|_| "blocklist lock poisoned")?;
        Ok(keys.iter().any(|key| table.entries.get(key).is_some_and(|exp| exp.is_none_or(|exp| exp > now))))
    }
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Blocklist for MemoryBlocklist {
    fn insert<'a>(&'a self, key: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async move { self.insert_now(key, expires_at, now()) })
    }

    fn contains<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async move { self.contains_now(keys, now()) })
    }
}

#[cfg(feature = "redis")]
pub use self::redis_store::RedisBlocklist;

#[cfg(feature = "redis")]
mod redis_store {
    use futures_util::future::BoxFuture;
    use phial_core::BoxError;
    use phial_core::redis::{Redis, cmd};

    use super::{Blocklist, now};

    /// The blocklist in Redis, through phial-core's shared [`Redis`] connection, so a token
    /// revoked on one instance is refused by all (feature `redis`).
    ///
    /// Each entry is `SET <redis.key_prefix><jwt.blocklist.key_prefix><key> 1 EX <seconds the
    /// token has left> NX`: Redis drops it when the token would have expired anyway.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::redis::{Redis, RedisConfig};
    /// use phial_jwt::RedisBlocklist;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let redis = Redis::connect(&RedisConfig::default()).await?;
    /// let store = RedisBlocklist::new(redis, "jwt:");
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[derive(Debug, Clone)]
    pub struct RedisBlocklist {
        redis: Redis,
        prefix: String,
    }

    impl RedisBlocklist {
        /// A store on `redis`, its keys under `prefix` (after the connection's own prefix).
        ///
        /// # Examples
        ///
        /// ```
        /// use phial_core::redis::Redis;
        /// use phial_jwt::RedisBlocklist;
        ///
        /// fn store(redis: Redis) -> RedisBlocklist {
        ///     RedisBlocklist::new(redis, "jwt:")
        /// }
        /// ```
        pub fn new(redis: Redis, prefix: impl Into<String>) -> Self {
            Self { redis, prefix: prefix.into() }
        }

        fn key(&self, key: &str) -> String {
            self.redis.key(&format!("{}{key}", self.prefix))
        }
    }

    impl Blocklist for RedisBlocklist {
        fn insert<'a>(&'a self, key: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<bool, BoxError>> {
            Box::pin(async move {
                let mut command = cmd("SET");
                command.arg(self.key(key)).arg(1).arg("NX");
                if let Some(exp) = expires_at {
                    command.arg("EX").arg((exp - now()).max(1));
                }
                let set: Option<String> = self.redis.query(&command).await?;
                Ok(set.is_some())
            })
        }

        fn contains<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<bool, BoxError>> {
            Box::pin(async move {
                let mut command = cmd("EXISTS");
                for key in keys {
                    command.arg(self.key(key));
                }
                let found: u64 = self.redis.query(&command).await?;
                Ok(found > 0)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_sweeps_expired_entries_and_refuses_when_full() {
        let store = MemoryBlocklist::new(2);
        assert!(store.insert_now("a", Some(10), 0).unwrap());
        assert!(store.insert_now("b", Some(20), 0).unwrap());
        assert!(store.insert_now("c", Some(30), 15).unwrap(), "a expired and was swept");
        assert!(!store.contains_now(&["a".into()], 15).unwrap());
        assert!(store.insert_now("d", Some(30), 16).is_err(), "full of live revocations");
        assert!(store.contains_now(&["b".into(), "x".into()], 16).unwrap());
        // Full until b expires at 20 (no sweep before: it could free nothing); then b goes.
        assert!(store.insert_now("d", Some(30), 19).is_err());
        assert!(store.insert_now("d", Some(30), 20).unwrap(), "b expired and was swept");
        assert!(store.contains_now(&["c".into()], 20).unwrap() && store.contains_now(&["d".into()], 20).unwrap());
    }

    #[test]
    fn a_full_store_sweeps_for_an_entry_that_expires_sooner_than_the_rest() {
        let store = MemoryBlocklist::new(2);
        assert!(store.insert_now("long", None, 0).unwrap());
        assert!(store.insert_now("soon", Some(5), 0).unwrap());
        assert!(store.insert_now("next", Some(50), 4).is_err(), "nothing expired yet");
        assert!(store.insert_now("next", Some(50), 5).unwrap(), "`soon` expired at 5 and was swept");
        // Only the never-expiring entry and `next` left: full until 50.
        assert!(store.insert_now("later", Some(60), 49).is_err());
        assert!(store.insert_now("later", Some(60), 50).unwrap());
    }
}
