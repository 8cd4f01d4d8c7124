//! [`RedisRememberStore`]: remember-me tokens and epochs in Redis (feature `redis`).

use futures_util::future::BoxFuture;
use phial_core::BoxError;
use phial_core::redis::{Redis, cmd};
use time::OffsetDateTime;

use crate::remember::{RememberRecord, RememberStore};

/// Remember-me tokens and per-user epochs in Redis, through phial-core's shared [`Redis`]
/// connection, so every instance of the app sees the same tokens and revocations.
///
/// Keys are `<redis.key_prefix>login:remember:<selector>` (a JSON [`RememberRecord`] with a TTL
/// at its expiry, so Redis drops expired tokens itself) and
/// `<redis.key_prefix>login:epoch:<user id>` (a counter, no TTL). Calls are bounded by the
/// connection's response timeout; an outage is a 503 for requests that need the store.
///
/// In a phial app, set `login.remember_store = "redis"` and add phial-core's
/// `RedisExtension`.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use phial_core::redis::{Redis, RedisConfig};
/// use phial_login::{RedisRememberStore, RememberStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Redis::connect(&RedisConfig::default()).await?;
/// let store: Arc<dyn RememberStore> = Arc::new(RedisRememberStore::new(redis));
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisRememberStore {
    redis: Redis,
}

impl RedisRememberStore {
    /// A store on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    fn token_key(&self, selector: &str) -> String {
        self.redis.key(&format!("login:remember:{selector}"))
    }

    fn epoch_key(&self, user_id: &str) -> String {
        self.redis.key(&format!("login:epoch:{user_id}"))
    }
}

impl RememberStore for RedisRememberStore {
    fn load<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<Option<RememberRecord>, BoxError>> {
        Box::pin(async move {
            let text: Option<String> = self.redis.query(cmd("GET").arg(self.token_key(selector))).await?;
            let Some(text) = text else { return Ok(None) };
            let record: RememberRecord = serde_json::from_str(&text)?;
            Ok((record.expires_at > OffsetDateTime::now_utc()).then_some(record))
        })
    }

    fn save<'a>(&'a self, selector: &'a str, record: &'a RememberRecord) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let text = serde_json::to_string(record)?;
            let millis = (record.expires_at - OffsetDateTime::now_utc()).whole_milliseconds().max(1);
            let millis = u64::try_from(millis).unwrap_or(u64::MAX);
            let () = self.redis.query(cmd("SET").arg(self.token_key(selector)).arg(text).arg("PX").arg(millis)).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let _: i64 = self.redis.query(cmd("DEL").arg(self.token_key(selector))).await?;
            Ok(())
        })
    }

    fn epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(async move {
            let epoch: Option<u64> = self.redis.query(cmd("GET").arg(self.epoch_key(user_id))).await?;
            Ok(epoch.unwrap_or(0))
        })
    }

    fn bump_epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(async move { Ok(self.redis.query(cmd("INCR").arg(self.epoch_key(user_id))).await?) })
    }
}
