//! phial-cache: caching for phial apps, in the role of Flask-Caching.
//!
//! - A [`Cache`] handle with Flask-Caching's API (`get`, `set`, `add`, `delete`, `get_many`,
//!   `set_many`, `delete_many`, `has`, `clear`, `inc`, `dec`) for any serde type, on a
//!   backend chosen by config: `memory` (moka, bounded by entries or bytes, TTL and TTI),
//!   `redis` (the app's shared connection from phial-core, under a key prefix), `null`, or
//!   `two-level` (a short-lived local copy in front of Redis, for several instances).
//! - [`get_or_insert_with`](Cache::get_or_insert_with) with **stampede protection**:
//!   concurrent misses on a key run the loader once per process and, with Redis, once across
//!   instances (a short `SET NX PX` lease); a failing loader is not cached and every waiter
//!   gets its error. Other instances wait for the lease holder's value (at most
//!   `lease_timeout`), or, with `stale_grace = N`, answer at once with the value that expired
//!   less than N seconds ago while one instance recomputes it.
//! - [`Memoized`] functions (`@cache.memoize`) with `delete_memoized` for all or one set of
//!   arguments.
//! - [`CacheLayer`] for cached responses (`@cache.cached`) with **safe keys**: the query
//!   string is part of the key (sorted), requests with credentials are not shared, only 200s
//!   without cookies or `private` are stored, `ETag`/`If-None-Match` gives 304, and
//!   `X-Cache: HIT|MISS|BYPASS` says what happened.
//! - **Template fragments** (feature `templates`): `{% call cache(60, "sidebar") %}...{% endcall %}`
//!   renders the block once per timeout (Flask-Caching's `{% cache %}` tag), varied on any
//!   values given after the name, deleted from Rust with `Cache::delete_fragment`.
//! - **Faults**: a Redis outage or a slow Redis makes the cache miss (the app computes and
//!   serves), logs a warning at most once per interval, and the health check reports the
//!   cache degraded; `fail_loudly = true` turns that into errors for development.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use axum::routing::get;
//! use phial_cache::{Cache, CacheExtension};
//! use phial_core::prelude::*;
//!
//! /// `cache.get`/`cache.set` by hand, with the extractor.
//! async fn total(cache: Cache) -> Result<String, phial_cache::CacheError> {
//!     let total: u64 = cache
//!         .get_or_insert_with("stats:total", || async {
//!             // an expensive query
//!             Ok::<_, std::io::Error>(42)
//!         })
//!         .await?;
//!     Ok(total.to_string())
//! }
//!
//! let cache = CacheExtension::new();
//! let app = App::builder()
//!     .profile(Profile::Testing)
//!     .config_toml("[cache]\nbackend = \"memory\"\ndefault_timeout = 300\n")
//!     // `@cache.cached(timeout=60)` on one route:
//!     .route("/news", get(|| async { "news" }).route_layer(cache.cached().timeout(Duration::from_secs(60))))
//!     .route("/total", get(total))
//!     .extension(cache)
//!     .build()?;
//! # Ok::<(), phial_core::Error>(())
//! ```
//!
//! With Redis, add phial-core's `RedisExtension` before the cache and choose the backend:
//!
//! ```toml
//! [redis]
//! url = "redis://127.0.0.1:6379"
//! key_prefix = "shop:"
//!
//! [cache]
//! backend = "two-level"     # or "redis"
//! local_timeout = 5
//! ```
//!
//! In a bare axum app, build a [`Cache`] yourself ([`Cache::new`], [`Cache::with_redis`]),
//! put it in the router state (it extracts through `FromRef`) and use [`Cache::cached`] for
//! the layer.
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `redis` | the `redis` and `two-level` backends on phial-core's shared Redis connection (turns on `phial-core/redis`) |
//! | `templates` | the `cache` template global for fragment caching, `fragment_key` and `Cache::delete_fragment` (turns on `phial-core/templates`) |
//!
//! Without features, the crate has the `memory` and `null` backends, memoize and the
//! response layer, and compiles no Redis client.
//!
//! # Template fragments
//!
//! minijinja has no custom tags, so Flask-Caching's `{% cache timeout, name, *vary_on %}` tag
//! becomes a `{% call %}` block around the `cache` global that
//! [`CacheExtension`] registers; the block renders only when the fragment is not cached:
//!
//! ```jinja
//! {% call cache(300, "sidebar") %}{% for post in popular %}...{% endfor %}{% endcall %}
//! {% call cache(60, "user-card", current_user.id, lang) %}...{% endcall %}
//! {% call cache(none, "footer") %}...{% endcall %}  {# none: default_timeout; 0: never expires #}
//! ```
//!
//! The cached text is the block's output after autoescaping, served as safe on a hit, so a
//! hit renders byte for byte what the miss did. Delete a fragment from Rust with
//! `cache.delete_fragment("user-card", &["42", "en"]).await` (values as the template prints
//! them); `fragment_key` gives the key, as Flask-Caching's `make_template_fragment_key`.
//!
//! **Where fragments live.** A template renders synchronously and Redis answers
//! asynchronously, so fragments are read and written in this process's memory: the
//! `memory` backend's own store (same bounds; `clear` empties them too), or, beside a `redis`
//! or `two-level` backend, an in-process store of the same bounds. They are not shared
//! through Redis: each instance renders a fragment once per timeout and keeps its own copy,
//! and `delete_fragment` removes this process's copy, so with several instances keep
//! timeouts as short as the staleness you accept. Blocking a runtime thread on a Redis round
//! trip in the middle of a render would cost more than rendering the fragment again. The
//! `null` backend renders every time.
//!
//! # Stored values
//!
//! An `i64` is stored as its decimal digits (so `INCRBY` works on it and `redis-cli` shows
//! it), anything else as one version byte and JSON; responses as a version byte, the
//! status, the headers and the raw body. A value that cannot be read as the type asked for
//! (an entry from an older deploy) is a miss and a warning, never an error, unless
//! `fail_loudly`.
//!
//! # Coming from Flask-Caching
//!
//! | Flask-Caching | phial-cache |
//! |---|---|
//! | `Cache(app)`, `cache.init_app(app)` | `App::builder().extension(CacheExtension::new())` |
//! | `CACHE_TYPE = "SimpleCache"` / `"RedisCache"` / `"NullCache"` | `[cache] backend = "memory"` / `"redis"` / `"null"`; new: `"two-level"` |
//! | `CACHE_DEFAULT_TIMEOUT = 300` | `default_timeout = 300` (seconds; `0` = never expires) |
//! | `CACHE_KEY_PREFIX` | `key_prefix` (default `cache:`, after `[redis] key_prefix`) |
//! | `CACHE_THRESHOLD = 500` | `max_entries = 500`, or `max_size` in bytes |
//! | `CACHE_REDIS_URL`, `CACHE_REDIS_HOST`, ... | `[redis] url`, shared with sessions, limiter, JWT blocklist |
//! | `CACHE_IGNORE_ERRORS`, Redis errors raised | Redis faults are misses by default; `fail_loudly = true` raises them |
//! | `cache.get(k)`, `cache.set(k, v, timeout=60)` | `cache.get::<T>(k)`, `cache.set_ttl(k, &v, Ttl::secs(60))` (`set` uses the default) |
//! | `cache.add`, `delete`, `get_many`, `set_many`, `delete_many`, `has`, `clear`, `inc`, `dec` | the same names; `clear` removes only this cache's prefix (`SCAN` + `UNLINK`) |
//! | — | `cache.get_or_insert_with(k, loader)`: single flight, in process and across instances |
//! | `cache.set(k, render_template(...))` (a rendered fragment) | `cache.set_text(k, &html)`, `get_text`, `get_or_insert_text_with`: kept as its bytes, no JSON escaping, shared across instances with Redis |
//! | `@cache.cached(timeout=60)` | `.route_layer(cache.cached().timeout(Duration::from_secs(60)))` |
//! | `@cached(query_string=True)` | the default: sorted query string in the key; `.query_string(false)` for Flask's default |
//! | `@cached(unless=f)`, `response_filter=f`, `key_prefix=...` | `.unless(f)`, `.store_status(f)`, `.key_prefix(...)` |
//! | `@cached(make_cache_key=...)` keyed by user | `.key_by_user(f)`, `.vary_header(name)` |
//! | `response_hit_indication=True` | always on: `X-Cache: HIT` / `MISS` / `BYPASS` |
//! | `@cache.memoize(timeout=60)` | `cache.memoize("name", f).timeout(Ttl::secs(60))`, called with `.call(args)` |
//! | `@memoize(unless=..., cache_none=True)` | `.unless(f)`, `.cache_none(true)` |
//! | `cache.delete_memoized(f)` / `delete_memoized(f, *args)` | `f.delete_memoized()` / `f.delete_memoized_args(&args)` |
//! | `{% cache 60, "key", user.id %}...{% endcache %}` | `{% call cache(60, "key", user.id) %}...{% endcall %}` (feature `templates`; kept per process, see above) |
//! | `cache.delete(make_template_fragment_key("key", vary_on=[...]))` | `cache.delete_fragment("key", &[...])`, `fragment_key` |
//!
//! Differences worth knowing:
//!
//! - **Query strings count.** Flask-Caching's `@cached` ignores the query string unless
//!   `query_string=True`, so `/search?q=a` and `/search?q=b` share an entry. Here they do
//!   not; parameters are sorted by name (repeated names keep their order), and the layer's
//!   `key_prefix` stays in the key.
//! - **Private requests are not shared.** A request with an `Authorization` header or a
//!   session/remember/JWT cookie bypasses a shared cache unless the layer is keyed by user;
//!   responses with `Set-Cookie`, `Cache-Control: private/no-store/no-cache`, a changed
//!   session, or a status other than 200 are not stored. See [`CacheLayer`].
//! - **Memoized functions have explicit names and serde arguments**, so keys are the same on
//!   every instance and for methods (Flask-Caching keys methods by `repr(self)`).
//! - **Stampedes**: Flask-Caching computes once per concurrent request; here once, and
//!   with `stale_grace` the other instances serve the previous value meanwhile (Redis keeps
//!   a stale copy of each value that expires, `stale_grace` seconds longer).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod cache;
mod codec;
mod config;
mod error;
mod extension;
#[cfg(feature = "redis")]
mod faults;
mod flight;
#[cfg(feature = "templates")]
mod fragment;
mod memoize;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod response;

pub use cache::{Cache, Ttl};
pub use config::{BackendKind, CacheConfig};
pub use error::CacheError;
pub use extension::CacheExtension;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
pub use fragment::fragment_key;
pub use memoize::Memoized;
pub use response::{CacheLayer, CachedService};
