//! Integration tests of phial-cache: the API on every backend, cached responses through a
//! real app, stampedes, and (with feature `redis` and `PHIAL_TEST_REDIS_URL`) Redis shared
//! by two instances and Redis outages made by a TCP proxy. Each test writes under its own
//! key prefix, so tests run in parallel.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly on unexpected errors")]

mod api;
mod extension;
#[cfg(feature = "redis")]
mod faults;
#[cfg(feature = "templates")]
mod fragments;
mod memoize;
mod responses;
mod stampede;

use std::sync::atomic::{AtomicU64, Ordering};

use phial_cache::{BackendKind, Cache, CacheConfig};

/// A key prefix no other test (or test run) uses.
pub(crate) fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("phial-cache-test:{}:{nanos}:{}:", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A config for `backend` under a fresh key prefix.
pub(crate) fn config(backend: BackendKind) -> CacheConfig {
    let mut config = CacheConfig::new(backend);
    config.key_prefix = unique_prefix();
    config
}

/// The Redis URL, or `None` (the test then skips that backend with a notice, or fails under
/// `PHIAL_TEST_REQUIRE_SERVICES=1`).
#[cfg(feature = "redis")]
pub(crate) fn redis_url() -> Option<String> {
    phial_core::testing::service_url(phial_core::testing::Service::Redis)
}

/// A new connection to `url`.
#[cfg(feature = "redis")]
pub(crate) async fn connect(url: &str) -> phial_core::redis::Redis {
    let mut config = phial_core::redis::RedisConfig::default();
    config.url = url.into();
    config.response_timeout = 2.0;
    config.connect_timeout = 1.0;
    phial_core::redis::Redis::connect(&config).await.unwrap()
}

/// A cache for `config`, on its own Redis connection when the backend needs one; `None` when
/// Redis is needed but absent.
pub(crate) async fn cache_for(config: &CacheConfig) -> Option<Cache> {
    if !config.backend.uses_redis() {
        return Some(Cache::new(config).unwrap());
    }
    #[cfg(feature = "redis")]
    {
        let url = redis_url()?;
        Some(Cache::with_redis(config, connect(&url).await).unwrap())
    }
    #[cfg(not(feature = "redis"))]
    None
}

/// Every backend that stores values and is available: memory, and with Redis, redis and
/// two-level.
pub(crate) async fn storing_backends() -> Vec<(BackendKind, CacheConfig, Cache)> {
    let mut out = Vec::new();
    for kind in [BackendKind::Memory, BackendKind::Redis, BackendKind::TwoLevel] {
        let config = config(kind);
        if let Some(cache) = cache_for(&config).await {
            out.push((kind, config, cache));
        }
    }
    out
}
