//! [`RedisStore`]: server-side sessions in Redis, expired by Redis itself.

use futures_util::future::BoxFuture;
use time::OffsetDateTime;

use super::store::{Record, SessionId, SessionStore};
use crate::error::BoxError;
use crate::redis::{Redis, cmd};

/// Server-side sessions in Redis (feature `redis`): one string key per session holding the
/// [`Record`] as JSON, with a TTL at the session's expiry, so Redis drops expired sessions by
/// itself and [`cleanup_expired`](SessionStore::cleanup_expired) has nothing to do.
///
/// Keys are `<redis.key_prefix>session:<id>` (Flask-Session's `SESSION_KEY_PREFIX` is
/// `session:` too). Every call goes through [`Redis`], so it is bounded by its response
/// timeout; an outage is a 503 for requests that use the session, and sessions work again as
/// soon as the server is back. Sessions are shared by every instance of the app.
///
/// A phial app gets it from [`RedisExtension`](crate::redis::RedisExtension) by setting
/// `app.session.store = "redis"`; a bare axum app hands it to
/// [`SessionLayer::new`](super::SessionLayer::new).
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use phial_core::Secret;
/// use phial_core::redis::{Redis, RedisConfig};
/// use phial_core::session::{CookieSigner, RedisStore, SessionConfig, SessionLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Redis::connect(&RedisConfig::default()).await?;
/// let mut config = SessionConfig::default();
/// config.store = "redis".into();
/// let signer = CookieSigner::new(&Secret::new("a long random secret"), &[])?;
/// let layer = SessionLayer::new(signer, config, true, Some(Arc::new(RedisStore::new(redis))));
/// let app: axum::Router = axum::Router::new().layer(layer);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisStore {
    redis: Redis,
    prefix: String,
}

impl RedisStore {
    /// The prefix of session keys after the connection's `key_prefix`.
    pub const DEFAULT_PREFIX: &'static str = "session:";

    /// A store on `redis`, with keys `<key_prefix>session:<id>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::session::RedisStore;
    ///
    /// # fn run(redis: phial_core::redis::Redis) {
    /// let store = RedisStore::new(redis);
    /// assert!(store.key_prefix().ends_with("session:"));
    /// # }
    /// ```
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        let prefix = redis.key(Self::DEFAULT_PREFIX);
        Self { redis, prefix }
    }

    /// Uses `prefix` instead of `session:` after the connection's `key_prefix`, e.g. to keep
    /// two session layers apart.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::session::RedisStore;
    ///
    /// # fn run(redis: phial_core::redis::Redis) {
    /// let admin = RedisStore::new(redis).with_prefix("admin-session:");
    /// assert!(admin.key_prefix().ends_with("admin-session:"));
    /// # }
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = self.redis.key(prefix);
        self
    }

    /// The full prefix of this store's keys.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(store: phial_core::session::RedisStore) {
    /// println!("sessions live under {}*", store.key_prefix());
    /// # }
    /// ```
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, id: &SessionId) -> String {
        let mut key = String::with_capacity(self.prefix.len() + id.as_str().len());
        key.push_str(&self.prefix);
        key.push_str(id.as_str());
        key
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>> {
        Box::pin(async move {
            let Some(json) = self.redis.query::<Option<String>>(cmd("GET").arg(self.key(id))).await? else {
                return Ok(None);
            };
            match serde_json::from_str(&json) {
                Ok(record) => Ok(Some(record)),
                Err(err) => {
                    // A record another program wrote, or an older format: start afresh
                    // rather than failing every request of this user until the key expires.
                    tracing::warn!(error = %err, "a session record in Redis is not valid JSON; ignoring it");
                    Ok(None)
                }
            }
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let key = self.key(id);
            let ttl_ms = (expires_at - OffsetDateTime::now_utc()).whole_milliseconds();
            let Ok(ttl_ms @ 1..) = u64::try_from(ttl_ms.min(i128::from(u64::MAX))) else {
                // Already expired: what the store must return from now on is nothing.
                self.redis.query::<()>(cmd("DEL").arg(&key)).await?;
                return Ok(());
            };
            let json = serde_json::to_string(record)?;
            self.redis.query::<()>(cmd("SET").arg(&key).arg(json).arg("PX").arg(ttl_ms)).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.redis.query::<()>(cmd("DEL").arg(self.key(id))).await?;
            Ok(())
        })
    }
}
