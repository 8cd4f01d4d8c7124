//! [`LimiterExtension`]: `[limiter]`, the [`Limiter`] handle, its layer and its CLI in a phial app.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use phial_core::prelude::*;

use crate::config::LimiterConfig;
use crate::limiter::{Limiter, LimiterBuilder};
use crate::storage::MemoryBounds;

/// The phial extension for rate limits: Flask-Limiter's `Limiter(app=app, ...)`.
///
/// - At build it reads `[limiter]` (a bad limit string is a build error), builds the
///   [`Limiter`] from the config and the limits declared in code, registers it as state, adds
///   its layer at stage `Security` (outside sessions and auth, so refused requests cost
///   nothing more), and adds the `limiter` CLI command.
/// - At start, with `storage_uri = "redis://"` (feature `redis`), it counts in phial-core's
///   shared Redis connection; the extension is ordered after `redis`.
///
/// Settings in `[limiter]` win over the same settings made on the builder in code, except
/// `default_limits` and `application_limits`, which config only sets when non-empty.
///
/// # Examples
///
/// ```no_run
/// use axum::routing::{get, post};
/// use phial_core::prelude::*;
/// use phial_limiter::{Limit, LimiterExtension};
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .extension(
///         LimiterExtension::new()
///             .configure(|limits| limits.route("/login", Limit::new("5/minute").deduct_when(|s, _| s.is_client_error())))
///     )
///     .set("limiter.default_limits", "200/day;50/hour")
///     .route("/login", post(|| async { "welcome" }))
///     .route("/", get(|| async { "home" }))
///     .run()
///     .await
/// # }
/// ```
#[must_use]
pub struct LimiterExtension {
    builder: Mutex<Option<LimiterBuilder>>,
    stage: Stage,
    built: OnceLock<Limiter>,
}

impl fmt::Debug for LimiterExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimiterExtension").field("stage", &self.stage).finish_non_exhaustive()
    }
}

impl Default for LimiterExtension {
    fn default() -> Self {
        Self::new()
    }
}

impl LimiterExtension {
    /// The extension with no limits in code (config may still set defaults).
    pub fn new() -> Self {
        Self { builder: Mutex::new(Some(Limiter::builder())), stage: Stage::Security, built: OnceLock::new() }
    }

    /// Declares limits, exemptions, the key function and callbacks on the [`LimiterBuilder`]
    /// (Flask-Limiter's decorators, written in one place).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_limiter::{KeyFunc, Limit, LimiterExtension};
    ///
    /// let ext = LimiterExtension::new().configure(|limits| {
    ///     limits
    ///         .route("/search", Limit::new("10/minute"))
    ///         .blueprint("/api", Limit::new("100/minute").key(KeyFunc::header("x-api-key")))
    ///         .exempt("/healthz")
    /// });
    /// # let _ = ext;
    /// ```
    pub fn configure(self, declare: impl FnOnce(LimiterBuilder) -> LimiterBuilder) -> Self {
        {
            let mut slot = self.builder.lock().unwrap_or_else(PoisonError::into_inner);
            let builder = slot.take().unwrap_or_default();
            *slot = Some(declare(builder));
        }
        self
    }

    /// Where the layer goes; `Stage::Security` by default. Put it at `Stage::Inner` to key by
    /// a user id that an `Auth`-stage layer (login, JWT) puts in the request.
    pub fn stage(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }

    /// The limiter once built (after `build`).
    pub fn limiter(&self) -> Option<&Limiter> {
        self.built.get()
    }
}

fn apply(config: &LimiterConfig, mut builder: LimiterBuilder) -> LimiterBuilder {
    if !config.default_limits.trim().is_empty() {
        let mut limit = crate::Limit::new(config.default_limits.clone()).cost(config.default_limits_cost);
        if config.default_limits_per_method {
            limit = limit.per_method();
        }
        builder = builder.default_limit(limit);
    }
    if !config.application_limits.trim().is_empty() {
        builder = builder.application_limits(&config.application_limits);
    }
    builder
        .enabled(config.enabled)
        .strategy(config.strategy)
        .headers_enabled(config.headers_enabled)
        .retry_after(config.retry_after)
        .key_prefix(&config.key_prefix)
        .fail_on_first_breach(config.fail_on_first_breach)
        .trusted_proxies(config.trusted_proxies)
        .memory_bounds(MemoryBounds {
            max_keys: config.max_keys.max(1),
            cleanup_interval: Duration::from_secs(config.cleanup_interval.max(1)),
        })
}

impl Extension for LimiterExtension {
    const NAME: &'static str = "limiter";
    type Config = LimiterConfig;

    fn deps(&self) -> Deps {
        Deps::none().after("redis")
    }

    fn build(&self, config: &LimiterConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        if !(config.storage_uri.starts_with("memory://") || config.wants_redis()) {
            return Err(Error::config("limiter.storage_uri", "unknown storage; use \"memory://\" or \"redis://\""));
        }
        let builder = self.builder.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or_default();
        let limiter = apply(config, builder).build().map_err(|err| Error::config("limiter", err.to_string()))?;
        tracing::info!(strategy = config.strategy.name(), storage = %config.storage_uri, "rate limiter configured");
        ctx.state(limiter.clone());
        // Stage `Security`: outside sessions and authentication, so a refused request costs
        // no session load or token check.
        ctx.layer(self.stage, "limiter", limiter.layer());
        ctx.command(crate::cli::command());
        let _ = self.built.set(limiter);
        Ok(())
    }

    async fn start(&self, config: &LimiterConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        if !config.wants_redis() {
            return Ok(());
        }
        #[cfg(feature = "redis")]
        {
            use crate::config::OnStorageError;
            use crate::storage::{RedisOptions, StorageFailure};
            let redis = ctx.require::<phial_core::redis::Redis>()?.clone();
            let limiter = self.built.get().ok_or_else(|| Error::msg("the limiter started before its build"))?;
            let policy = match config.on_storage_error {
                OnStorageError::FailOpen => StorageFailure::FailOpen,
                OnStorageError::Fallback => StorageFailure::Fallback,
                _ => StorageFailure::FailClosed,
            };
            let options = RedisOptions::new(redis).on_failure(policy).expected_instances(config.expected_instances);
            limiter.use_redis(options).map_err(|err| Error::config("limiter", err.to_string()))?;
            Ok(())
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = ctx;
            Err(Error::config("limiter.storage_uri", "\"redis://\" needs phial-limiter's feature `redis`"))
        }
    }
}
