//! [`Redis`]: the app's one Redis connection, shared by every extension.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Cmd, FromRedisValue, Pipeline};

use super::config::RedisConfig;
use super::error::RedisError;

/// Reconnection attempts after a failed connection before pending commands fail; each is
/// bounded by `connect_timeout` and every command by `response_timeout`, so this only decides
/// how soon a command fails while the server is down.
const RECONNECT_RETRIES: usize = 2;

/// The app's connection to Redis: a cheap-to-clone handle on one multiplexed connection
/// (redis-rs's [`ConnectionManager`]) that reconnects by itself after an outage.
///
/// Every call through [`query`](Self::query), [`query_pipeline`](Self::query_pipeline) and
/// [`ping`](Self::ping) is bounded by [`response_timeout`](RedisConfig::response_timeout),
/// waiting for a reconnection included, so a Redis fault is a [`RedisError`] (503) and never
/// a request that hangs. Keys that an extension writes go through [`key`](Self::key), which
/// puts [`key_prefix`](RedisConfig::key_prefix) in front.
///
/// In a phial app, [`RedisExtension`](super::RedisExtension) connects it at start; extensions
/// take it from the registry (`ctx.require::<Redis>()`) and handlers extract it. In a bare
/// axum app, [`connect`](Self::connect) it and put it in the router state.
///
/// # Examples
///
/// ```no_run
/// use phial_core::HttpError;
/// use phial_core::redis::{Redis, cmd};
///
/// async fn hits(redis: Redis) -> Result<String, HttpError> {
///     let count: i64 = redis.query(cmd("INCR").arg(redis.key("hits"))).await?;
///     Ok(count.to_string())
/// }
/// ```
#[derive(Clone)]
pub struct Redis {
    manager: ConnectionManager,
    shared: Arc<Shared>,
}

struct Shared {
    prefix: String,
    timeout: Duration,
    description: String,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("server", &self.shared.description)
            .field("key_prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects to the server of `config.url`, waiting at most about twice
    /// `connect_timeout` (one retry).
    ///
    /// # Errors
    ///
    /// [`RedisError::Config`] for a URL that cannot be read; [`RedisError::Timeout`] or
    /// [`RedisError::Unavailable`] when the server does not answer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::redis::{Redis, RedisConfig};
    ///
    /// # async fn run() -> Result<(), phial_core::redis::RedisError> {
    /// let redis = Redis::connect(&RedisConfig::default()).await?;
    /// println!("PING took {:?}", redis.ping().await?);
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: &RedisConfig) -> Result<Self, RedisError> {
        let url = config.url.expose();
        let description = describe(url);
        let client = ::redis::Client::open(url)
            .map_err(|err| RedisError::Config(format!("cannot read the Redis URL `{description}`: {err}")))?;
        let connect_timeout = config.connect_timeout_duration();
        let timeout = config.response_timeout_duration();
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        // The first connection gets one retry: long enough to ride out a server that is
        // starting, short enough that an app never hangs at startup.
        let bound = connect_timeout * 2 + Duration::from_millis(500);
        let manager = tokio::time::timeout(bound, ConnectionManager::new_with_config(client, manager_config))
            .await
            .map_err(|_| RedisError::Timeout(bound))??;
        let shared = Shared { prefix: config.key_prefix.clone(), timeout, description };
        let redis = Self { manager, shared: Arc::new(shared) };
        redis.ping().await?;
        tracing::info!(server = %redis.shared.description, "redis connected");
        Ok(redis)
    }

    /// `key` with the configured [`key_prefix`](RedisConfig::key_prefix) in front: use it for
    /// every key written, so that apps sharing a server do not collide.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(redis: phial_core::redis::Redis) {
    /// // with `[redis] key_prefix = "shop:"`
    /// assert_eq!(redis.key("cart:7"), "shop:cart:7");
    /// # }
    /// ```
    #[must_use]
    pub fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.shared.prefix.len() + key.len());
        full.push_str(&self.shared.prefix);
        full.push_str(key);
        full
    }

    /// The configured key prefix.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(redis: phial_core::redis::Redis) {
    /// println!("keys start with {:?}", redis.key_prefix());
    /// # }
    /// ```
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The bound on every call.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(redis: phial_core::redis::Redis) {
    /// assert!(redis.response_timeout().as_secs_f64() > 0.0);
    /// # }
    /// ```
    #[must_use]
    pub fn response_timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// The server, without credentials, for logs (`redis://127.0.0.1:6379/0`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run(redis: phial_core::redis::Redis) {
    /// tracing::info!(server = redis.server(), "using redis");
    /// # }
    /// ```
    #[must_use]
    pub fn server(&self) -> &str {
        &self.shared.description
    }

    /// Runs one command and reads its reply as `T`, bounded by the response timeout.
    ///
    /// # Errors
    ///
    /// [`RedisError::Timeout`] or [`RedisError::Unavailable`] (503) when the server cannot be
    /// reached in time; [`RedisError::Command`] (500) when it refuses the command or the reply
    /// is not a `T`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::redis::{Redis, RedisError, cmd};
    ///
    /// async fn remember(redis: &Redis, name: &str) -> Result<(), RedisError> {
    ///     redis.query::<()>(cmd("SET").arg(redis.key("last-name")).arg(name).arg("EX").arg(60)).await
    /// }
    /// ```
    pub async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, RedisError> {
        let mut manager = self.manager.clone();
        self.bounded(command.query_async(&mut manager)).await
    }

    /// Runs a pipeline (or a `MULTI`/`EXEC` transaction with [`Pipeline::atomic`]) and reads
    /// its replies as `T`, bounded by the response timeout.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::redis::{Redis, RedisError, pipe};
    ///
    /// async fn hit(redis: &Redis) -> Result<i64, RedisError> {
    ///     let key = redis.key("hits");
    ///     let (count,): (i64,) =
    ///         redis.query_pipeline(pipe().atomic().incr(&key, 1).expire(&key, 60).ignore()).await?;
    ///     Ok(count)
    /// }
    /// ```
    pub async fn query_pipeline<T: FromRedisValue>(&self, pipeline: &Pipeline) -> Result<T, RedisError> {
        let mut manager = self.manager.clone();
        self.bounded(pipeline.query_async(&mut manager)).await
    }

    /// Sends `PING` and returns how long the answer took.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(redis: phial_core::redis::Redis) -> Result<(), phial_core::redis::RedisError> {
    /// let latency = redis.ping().await?;
    /// println!("redis answered in {:.1} ms", latency.as_secs_f64() * 1000.0);
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<Duration, RedisError> {
        let started = Instant::now();
        self.query::<()>(&::redis::cmd("PING")).await?;
        Ok(started.elapsed())
    }

    /// The underlying redis-rs connection, for what this handle does not wrap (pub/sub,
    /// scripts). Calls on it are bounded by redis-rs's own response timeout only, not while
    /// it waits for a reconnection: prefer [`query`](Self::query).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_core::redis::driver::AsyncCommands;
    ///
    /// # async fn run(redis: phial_core::redis::Redis) -> Result<(), phial_core::redis::driver::RedisError> {
    /// let mut connection = redis.connection();
    /// let _: () = connection.set(redis.key("k"), 1).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn connection(&self) -> ConnectionManager {
        self.manager.clone()
    }

    async fn bounded<T>(&self, call: impl Future<Output = ::redis::RedisResult<T>>) -> Result<T, RedisError> {
        match tokio::time::timeout(self.shared.timeout, call).await {
            Ok(result) => result.map_err(RedisError::from),
            Err(_) => Err(RedisError::Timeout(self.shared.timeout)),
        }
    }
}

/// The URL without user or password, for logs and messages.
fn describe(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}{}", &url[..scheme + 3], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

crate::handle_extractor!(Redis);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_drop_credentials() {
        assert_eq!(describe("redis://:secret@host:6379/2"), "redis://host:6379/2");
        assert_eq!(describe("redis://user:pw@host"), "redis://host");
        assert_eq!(describe("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
