//! [`RedisExtension`]: reads `[redis]`, connects at start, offers the `redis` session store.

use std::sync::Arc;

use super::client::Redis;
use super::config::RedisConfig;
use crate::context::{BuildCtx, StartCtx};
use crate::error::Error;
use crate::extension::Extension;
use crate::health::Health;
use crate::session::RedisStore;
use crate::state::AppState;

/// The phial extension that owns the app's one Redis connection.
///
/// - At build it promises a [`Redis`] handle.
/// - At start it connects to `[redis] url`; a server that does not answer within about twice
///   `connect_timeout` fails startup with a message naming `redis.url`. It then provides the
///   [`Redis`] handle (extensions that need Redis declare
///   `Deps::none().requires("redis")` and call `ctx.require::<Redis>()`; handlers extract
///   `Redis`), and offers the session store `redis` ([`RedisStore`]), which
///   `app.session.store = "redis"` selects.
/// - Its health check (`/readyz`, `<app> check`) sends `PING`; the report carries the
///   latency.
///
/// # Examples
///
/// ```no_run
/// use phial_core::prelude::*;
/// use phial_core::redis::RedisExtension;
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     App::builder()
///         .config_toml("[redis]\nurl = \"redis://127.0.0.1:6379\"\n[app.session]\nstore = \"redis\"\n")
///         .extension(RedisExtension::new())
///         .run()
///         .await
/// }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisExtension {
    _private: (),
}

impl RedisExtension {
    /// The extension; everything it needs comes from `[redis]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// use phial_core::redis::RedisExtension;
    ///
    /// let app = App::builder().profile(Profile::Testing).extension(RedisExtension::new()).build()?;
    /// assert_eq!(app.extension_order(), ["redis"]);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl Extension for RedisExtension {
    const NAME: &'static str = "redis";
    type Config = RedisConfig;

    fn build(&self, config: &RedisConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        if config.url.is_empty() {
            return Err(Error::config(
                "redis.url",
                "no Redis URL configured: set `url` under [redis] in phial.toml, or the REDIS_URL or \
                 PHIAL_REDIS__URL environment variable",
            ));
        }
        ctx.promise::<Redis>();
        Ok(())
    }

    async fn start(&self, config: &RedisConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        let redis = Redis::connect(config).await.map_err(|err| {
            Error::config(
                "redis.url",
                format!("cannot use Redis: {err}; check that the server runs and that `redis.url` points at it"),
            )
        })?;
        ctx.session_store("redis", Arc::new(RedisStore::new(redis.clone())));
        ctx.provide(redis);
        Ok(())
    }

    async fn health(&self, state: &AppState) -> Health {
        let Some(redis) = state.get::<Redis>() else { return Health::unhealthy("not started") };
        match redis.ping().await {
            Ok(_) => Health::Healthy,
            Err(err) => Health::unhealthy(err.to_string()),
        }
    }
}
