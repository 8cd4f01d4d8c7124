//! [`CacheExtension`]: the `Extension` impl, thin glue around [`Cache`].

use std::sync::{Arc, OnceLock};

use phial_core::prelude::*;

use crate::cache::{Cache, CacheSource};
use crate::config::CacheConfig;
use crate::memoize::Memoized;
use crate::response::CacheLayer;

/// Caching for a phial app: Flask-Caching's `Cache(app)`.
///
/// Reads section `[cache]` ([`CacheConfig`]) and registers a [`Cache`] handlers extract:
/// at build for `memory` and `null`, at start for `redis` and `two-level` (which need
/// [`RedisExtension`](phial_core::redis::RedisExtension), registered before it). Its health
/// check reports the cache degraded while Redis faults make it miss.
///
/// [`cached`](Self::cached) makes response-caching layers bound to the cache this extension
/// registers, to put on routes before the app is built.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_cache::{Cache, CacheExtension};
/// use phial_core::prelude::*;
///
/// async fn hits(cache: Cache) -> Result<String, phial_cache::CacheError> {
///     Ok(cache.inc("hits", 1).await?.to_string())
/// }
///
/// let cache = CacheExtension::new();
/// let app = App::builder()
///     .profile(Profile::Testing)
///     .config_toml("[cache]\nbackend = \"memory\"\ndefault_timeout = 60\n")
///     .route("/news", get(|| async { "news" }).route_layer(cache.cached()))
///     .route("/hits", get(hits))
///     .extension(cache)
///     .build()?;
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CacheExtension {
    slot: Arc<OnceLock<Cache>>,
}

impl CacheExtension {
    /// The extension; everything it needs comes from `[cache]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder().profile(Profile::Testing).extension(phial_cache::CacheExtension::new()).build()?;
    /// assert_eq!(app.extension_order(), ["cache"]);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A response-caching layer (Flask-Caching's `@cache.cached()`) on the cache this
    /// extension registers; until the app starts it passes requests through.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum::routing::get;
    ///
    /// let cache = phial_cache::CacheExtension::new();
    /// let route: axum::routing::MethodRouter<phial_core::AppState> =
    ///     get(|| async { "slow page" }).route_layer(cache.cached().timeout(Duration::from_secs(50)));
    /// # let _ = route;
    /// ```
    pub fn cached(&self) -> CacheLayer {
        CacheLayer::from_slot(Arc::clone(&self.slot))
    }

    /// A memoized function (Flask-Caching's `@cache.memoize()`) on the cache this extension
    /// registers; until the app starts it runs the function uncached. See [`Memoized`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::CacheExtension::new();
    /// let user_name = cache.memoize("user_name", |id: u64| async move { Ok::<_, std::io::Error>(format!("user {id}")) });
    /// # let _ = user_name;
    /// ```
    pub fn memoize<A, T, F, Fut, E>(&self, name: &str, function: F) -> Memoized<A, T, F>
    where
        F: Fn(A) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Memoized::new(CacheSource::Slot(Arc::clone(&self.slot)), name, function)
    }

    /// The cache, once the extension has made it (at build for `memory`/`null`, at start
    /// for Redis backends).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::CacheExtension::new();
    /// assert!(cache.cache().is_none());
    /// ```
    pub fn cache(&self) -> Option<Cache> {
        self.slot.get().cloned()
    }

    fn fill(&self, cache: &Cache) {
        // A second fill only happens if one extension value is built twice; keep the first.
        let _ = self.slot.set(cache.clone());
    }
}

impl Extension for CacheExtension {
    const NAME: &'static str = "cache";
    type Config = CacheConfig;

    fn deps(&self) -> Deps {
        Deps::none().after("redis")
    }

    fn build(&self, config: &CacheConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        config.validate().map_err(|(key, message)| Error::config(key, message))?;
        if config.backend.uses_redis() {
            ctx.promise::<Cache>();
        } else {
            let cache = Cache::new(config).map_err(|err| Error::config("cache.backend", err.to_string()))?;
            self.fill(&cache);
            ctx.state(cache);
        }
        // `{% call cache(60, "name") %}...{% endcall %}` in templates (see `fragment.rs`).
        #[cfg(feature = "templates")]
        ctx.template_global("cache", crate::fragment::template_function(Arc::clone(&self.slot)));
        tracing::info!(backend = config.backend.as_str(), "cache configured");
        Ok(())
    }

    async fn start(&self, config: &CacheConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        if !config.backend.uses_redis() {
            return Ok(());
        }
        #[cfg(feature = "redis")]
        {
            let redis = ctx.get::<phial_core::redis::Redis>().cloned().ok_or_else(|| {
                Error::config(
                    "cache.backend",
                    format!(
                        "backend `{}` uses the app's Redis connection: add RedisExtension (before CacheExtension) and set [redis] url",
                        config.backend.as_str()
                    ),
                )
            })?;
            let cache = Cache::with_redis(config, redis).map_err(|err| Error::config("cache", err.to_string()))?;
            self.fill(&cache);
            ctx.provide(cache);
        }
        #[cfg(not(feature = "redis"))]
        let _ = ctx;
        Ok(())
    }

    async fn health(&self, state: &AppState) -> Health {
        match state.get::<Cache>() {
            Some(cache) => cache.health().await,
            None => Health::unhealthy("not started"),
        }
    }
}
