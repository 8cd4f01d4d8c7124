//! phial-limiter: rate limits for phial apps, in the role of Flask-Limiter.
//!
//! Limits are written as in Flask-Limiter (`"10/minute"`, `"200 per day; 50 per hour"`) and
//! mean what they mean there: a limit string is parsed exactly as the Python `limits`
//! library parses it, and the `fixed-window`, `moving-window` and `sliding-window-counter`
//! strategies count as `limits` counts. governor's GCRA is a fourth strategy for smoothing.
//! Hits are counted in memory (bounded) or in Redis through phial-core's shared connection,
//! where one atomic Lua script per hit makes a limit exact across every instance.
//!
//! The working parts work in a bare axum app: build a [`Limiter`] and put
//! [`Limiter::layer`] on the router. In a phial app, [`LimiterExtension`] reads `[limiter]`
//! ([`LimiterConfig`]), adds the layer at stage `Security` and the `limiter` CLI command.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use http::StatusCode;
//! use phial_limiter::{Limit, Limiter};
//!
//! let limiter = Limiter::builder()
//!     .default_limits("200/day;50/hour")
//!     // Five failed logins a minute per address; successful ones do not count.
//!     .route("/login", Limit::new("5/minute").deduct_when(|status, _| status == StatusCode::UNAUTHORIZED))
//!     .exempt("/healthz")
//!     .headers_enabled(true)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "home" }))
//!     .route("/login", post(|| async { StatusCode::UNAUTHORIZED }))
//!     .route("/healthz", get(|| async { "ok" }))
//!     .layer(limiter.layer());
//! # let _ = app;
//! # Ok::<(), phial_limiter::LimiterError>(())
//! ```
//!
//! In a phial app, with the limits of routes declared in code and the rest in config:
//!
//! ```no_run
//! use axum::routing::get;
//! use phial_core::prelude::*;
//! use phial_limiter::{Limit, LimiterExtension};
//!
//! # async fn run() -> std::process::ExitCode {
//! App::builder()
//!     .extension(LimiterExtension::new().configure(|limits| limits.route("/search", Limit::new("10/minute"))))
//!     .route("/search", get(|| async { "results" }))
//!     .run() // phial.toml: [limiter] default_limits = "200/day", storage_uri = "redis://"
//!     .await
//! # }
//! ```
//!
//! A refused request gets `429 Too Many Requests` naming the limit, as JSON
//! (`{"error": "Too Many Requests", "message": "2 per 1 minute"}`) or a small HTML page by
//! `Accept`, with `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` and
//! `Retry-After` (whole seconds rounded up, or an HTTP date; never negative). With
//! `headers_enabled` every limited response carries them. In a phial app the app's own 429
//! handler renders it.
//!
//! # Which limits apply
//!
//! A request's route is its axum route pattern (`MatchedPath`, e.g. `/user/{id}`):
//!
//! 1. exempt routes ([`LimiterBuilder::exempt`], [`LimiterBuilder::exempt_blueprint`]): none;
//! 2. else the route's own limits ([`LimiterBuilder::route`], [`LimiterBuilder::shared_limit`]),
//!    else those of the longest matching blueprint prefix ([`LimiterBuilder::blueprint`]),
//!    else the default limits, each counted per route;
//! 3. plus the application limits, one bucket per key for all routes together.
//!
//! Limits are checked shortest window first; with `fail_on_first_breach` (the default) the
//! first breach stops the counting.
//!
//! # Client addresses and proxies
//!
//! The default key is the TCP peer's IP address (axum's `ConnectInfo`; phial's server and
//! `TestClient` provide it). `X-Forwarded-For` is ignored unless `trusted_proxies = N` says
//! how many proxies append to it; then the N-th entry from the right is used: the right-most
//! one no client can forge. The left-most entry, which the client writes itself, is never
//! used, so rotating a spoofed header does not open new buckets (Flask-Limiter issue #41).
//!
//! # Redis outages
//!
//! Every Redis call is bounded by phial-core's response timeout. While Redis is unavailable
//! the limiter fails closed (503, the default), fails open, or falls back to memory with each
//! limit divided by `expected_instances`, probing Redis again with a backoff (1 s doubling to
//! 30 s) and returning to it on the first success.
//!
//! # Feature flags
//!
//! | feature | enables |
//! |---|---|
//! | `redis` | Redis storage through phial-core's shared connection (`RedisOptions`, `StorageFailure`, `storage_uri = "redis://"`) |
//!
//! # Coming from Flask-Limiter
//!
//! | Flask-Limiter | phial-limiter |
//! |---|---|
//! | `Limiter(get_remote_address, app=app)` | `App::builder().extension(LimiterExtension::new())`, or `Limiter::builder()...build()?.layer()` |
//! | `key_func=get_remote_address` | [`KeyFunc::peer_address`] (the default); `ProxyFix(x_for=N)` is `trusted_proxies = N` |
//! | a `key_func` reading an API key or `current_user.id` | [`KeyFunc::header`], [`KeyFunc::custom`] |
//! | `@limiter.limit("5/minute")` on a view | `.route("/login", Limit::new("5/minute"))` |
//! | `limiter.limit("100/hour")(blueprint)` | `.blueprint("/api", Limit::new("100/hour"))` |
//! | `shared_limit("10/hour", scope="auth")` | `.shared_limit("auth", Limit::new("10/hour"), ["/login", "/register"])` |
//! | `@limiter.exempt`, `limiter.exempt(bp)` | `.exempt("/health")`, `.exempt_blueprint("/static")` |
//! | `methods=["POST"]`, `per_method=True` | [`Limit::methods`], [`Limit::per_method`] |
//! | `exempt_when=`, `deduct_when=`, `cost=`, `error_message=`, `scope=` | [`Limit::exempt_when`], [`Limit::deduct_when`], [`Limit::cost`], [`Limit::error_message`], [`Limit::scope`] |
//! | `Limiter(on_breach=...)` | [`LimiterBuilder::on_breach`] |
//! | `@limiter.limit("5/minute", on_breach=...)` | [`Limit::on_breach`] (runs after the limiter's; its response wins) |
//! | `@app.errorhandler(429)` | `AppBuilder::error_handler(429, ...)` |
//! | `RATELIMIT_DEFAULT`, `RATELIMIT_APPLICATION` | `default_limits`, `application_limits` |
//! | `RATELIMIT_STRATEGY` | `strategy` (`fixed-window`, `moving-window`, `sliding-window-counter`, `gcra`) |
//! | `RATELIMIT_STORAGE_URI = "redis://..."` | `storage_uri = "redis://"` and the shared `[redis] url` |
//! | `RATELIMIT_HEADERS_ENABLED`, `RATELIMIT_HEADER_RETRY_AFTER_VALUE` | `headers_enabled`, `retry_after` |
//! | `RATELIMIT_KEY_PREFIX`, `RATELIMIT_ENABLED`, `RATELIMIT_FAIL_ON_FIRST_BREACH` | `key_prefix`, `enabled`, `fail_on_first_breach` |
//! | `RATELIMIT_DEFAULTS_PER_METHOD`, `RATELIMIT_DEFAULTS_COST` | `default_limits_per_method`, `default_limits_cost` |
//! | `RATELIMIT_SWALLOW_ERRORS`, `RATELIMIT_IN_MEMORY_FALLBACK_ENABLED` | `on_storage_error = "fail-open"` / `"fallback"` (with `expected_instances`) |
//! | `flask limiter limits`, `flask limiter clear` | `<app> limiter limits` (every route of the app with its limits and where they come from: route, blueprint, default, exempt), `<app> limiter reset [KEY]` |
//! | `limiter.reset()` | [`Limiter::reset`] |
//! | freezegun in tests | [`TestClock`] via [`LimiterBuilder::clock`] |
//!
//! Differences: routes are named by their path pattern rather than the view's endpoint, so
//! storage keys read `LIMITER/<key>/<route>/<amount>/<multiples>/<unit>` (under `LIMITS:` in
//! Redis, as `limits` writes them); a limit on a route replaces the defaults for every method
//! of that route, also the methods it does not list.
//!
//! See [`guide_strategies`] for choosing a strategy.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cli;
mod clock;
mod config;
mod error;
mod extension;
mod key;
mod layer;
mod limiter;
mod parse;
mod response;
mod rule;
mod storage;
mod strategy;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::{LimiterConfig, OnStorageError};
pub use error::LimiterError;
pub use extension::LimiterExtension;
pub use key::{KeyFunc, client_address};
pub use layer::{RateLimitLayer, RateLimitService};
pub use limiter::{Breach, Limiter, LimiterBuilder};
pub use parse::{Granularity, RateLimitItem, parse_many};
pub use response::RetryAfter;
pub use rule::Limit;
pub use storage::{MemoryBounds, MemoryStorage};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use storage::{RedisOptions, StorageFailure};
pub use strategy::{Outcome, Strategy, WindowStats};

/// Guide: choosing a strategy.
#[doc = include_str!("../docs/strategies.md")]
pub mod guide_strategies {}
