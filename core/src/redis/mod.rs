//! The one Redis connection that every extension shares (feature `redis`).
//!
//! An app configures Redis once, in section `[redis]` ([`RedisConfig`]), and adds
//! [`RedisExtension`]. At start it connects and registers a [`Redis`] handle, which the
//! session store ([`RedisStore`](crate::session::RedisStore), selected with
//! `app.session.store = "redis"`) and the Redis backends of other extensions (cache, limiter,
//! JWT blocklist) all use: one client library, one multiplexed connection that reconnects by
//! itself, one health check on `/readyz`.
//!
//! Every call through [`Redis`] is bounded by `response_timeout`, so an outage turns into a
//! [`RedisError`] that answers 503, and the app serves again as soon as the server is back.
//! A server that cannot be reached at start fails startup after a bounded wait.
//!
//! Apps that depend on the facade turn this on with its feature `redis`
//! (`phial = { version = "0.1", features = ["redis"] }`), which also turns on the Redis
//! backends of the other extensions enabled; without it, redis-rs is not compiled at all.
//!
//! # Examples
//!
//! ```no_run
//! use axum::routing::get;
//! use phial_core::prelude::*;
//! use phial_core::redis::{Redis, RedisError, RedisExtension, cmd};
//!
//! async fn visits(redis: Redis) -> Result<String, RedisError> {
//!     let count: u64 = redis.query(cmd("INCR").arg(redis.key("visits"))).await?;
//!     Ok(format!("{count} visits"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         .extension(RedisExtension::new()) // [redis] url, or env REDIS_URL
//!         .endpoint("visits", "/", get(visits))
//!         .run()
//!         .await
//! }
//! ```
//!
//! # Writing an extension on Redis
//!
//! Declare `Deps::none().requires("redis")`, take the handle in `start` with
//! `ctx.require::<Redis>()?.clone()`, build keys with [`Redis::key`], and run commands with
//! [`Redis::query`] (re-exported [`cmd`], [`pipe`]; the whole redis-rs crate is [`driver`]).
//!
//! # Coming from Flask
//!
//! | Flask extensions | phial |
//! |---|---|
//! | `SESSION_TYPE = "redis"`, `SESSION_REDIS = Redis.from_url(...)` | `app.session.store = "redis"`, `[redis] url` |
//! | `CACHE_REDIS_URL`, `RATELIMIT_STORAGE_URI = "redis://..."` | the same `[redis] url`, shared |
//! | `SESSION_KEY_PREFIX`, `CACHE_KEY_PREFIX` | `[redis] key_prefix` before each extension's own prefix |
//! | `redis.from_url(url, socket_timeout=..., socket_connect_timeout=...)` | `response_timeout`, `connect_timeout` |

mod client;
mod config;
mod error;
mod extension;

pub use client::Redis;
pub use config::RedisConfig;
pub use error::RedisError;
pub use extension::RedisExtension;

/// redis-rs, re-exported so that extensions use the version the core connects with.
pub use ::redis as driver;
pub use ::redis::{Cmd, Pipeline, cmd, pipe};
