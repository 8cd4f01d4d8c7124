//! Redis outages made by a TCP proxy in front of the real server: the cache degrades to
//! misses, responses stay 200 and are computed, health reports it, and it recovers.

use std::time::{Duration, Instant};

use http::StatusCode;
use phial_cache::{BackendKind, Cache, CacheError};
use phial_core::Health;
use phial_core::testing::FaultProxy;

use crate::responses::{Runs, app};

async fn proxied_cache(kind: BackendKind, fail_loudly: bool) -> Option<(Cache, FaultProxy)> {
    let url = crate::redis_url()?;
    let proxy = FaultProxy::start_for(&url).await.unwrap();
    let mut config = crate::config(kind);
    config.fail_loudly = fail_loudly;
    config.redis_timeout = 0.2;
    config.retry_after = 0.1;
    let cache = Cache::with_redis(&config, crate::connect(proxy.url()).await).unwrap();
    Some((cache, proxy))
}

#[tokio::test]
async fn redis_cut_mid_test_degrades_to_misses_and_recovers() {
    let Some((cache, mut proxy)) = proxied_cache(BackendKind::Redis, false).await else { return };
    cache.set("k", &1).await.unwrap();
    assert_eq!(cache.get::<i32>("k").await.unwrap(), Some(1));
    assert_eq!(cache.health().await, Health::Healthy);

    proxy.cut().await;
    assert_eq!(cache.get::<i32>("k").await.unwrap(), None);
    cache.set("k", &2).await.expect("a write during an outage is a no-op, not an error");
    assert!(!cache.delete("k").await.unwrap());
    let value: i32 = cache.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(3) }).await.unwrap();
    assert_eq!(value, 3, "the loader runs and its value is served");
    assert!(matches!(cache.inc("n", 1).await, Err(CacheError::Unavailable(_))), "counters cannot be guessed");
    assert!(matches!(cache.health().await, Health::Degraded(_)), "{:?}", cache.health().await);

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache.get::<i32>("k").await.unwrap() != Some(1) {
        assert!(Instant::now() < deadline, "the cache reads Redis again once it is back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cache.health().await, Health::Healthy);
    cache.clear().await.unwrap();
}

#[tokio::test]
async fn a_frozen_redis_costs_a_bounded_wait_not_a_hang() {
    let Some((cache, proxy)) = proxied_cache(BackendKind::Redis, false).await else { return };
    cache.set("k", &1).await.unwrap();
    proxy.freeze();
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(cache.get::<i32>("k").await.unwrap(), None);
    }
    // One call waits for the 0.2 s timeout; the breaker makes the others miss at once.
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    proxy.thaw();
}

#[tokio::test]
async fn fail_loudly_turns_outages_into_errors() {
    let Some((cache, mut proxy)) = proxied_cache(BackendKind::Redis, true).await else { return };
    proxy.cut().await;
    let err = cache.get::<i32>("k").await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    proxy.restore().await;
}

#[tokio::test]
async fn two_level_keeps_serving_its_local_copy_while_redis_is_down() {
    let Some((cache, mut proxy)) = proxied_cache(BackendKind::TwoLevel, false).await else { return };
    cache.set("k", "local").await.unwrap();
    proxy.cut().await;
    assert_eq!(cache.get::<String>("k").await.unwrap().as_deref(), Some("local"));
    proxy.restore().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    cache.clear().await.unwrap();
}

#[tokio::test]
async fn responses_stay_200_and_computed_when_redis_stops_mid_test() {
    let Some(url) = crate::redis_url() else { return };
    let mut proxy = FaultProxy::start_for(&url).await.unwrap();
    let runs = Runs::default();
    let running = app(BackendKind::Redis, &crate::unique_prefix(), Some(proxy.url()), &runs).await;
    let client = running.test_client();
    assert_eq!(client.get("/page").await.text(), "page 1");
    assert_eq!(client.get("/page").await.header("x-cache"), Some("HIT"));

    proxy.cut().await;
    for n in 2..=4 {
        let response = client.get("/page").await;
        response.assert_status(StatusCode::OK);
        assert_eq!(response.text(), format!("page {n}"), "computed while Redis is down");
    }
    let report = running.health().await;
    let cache = report.checks.iter().find(|check| check.name == "cache").unwrap();
    assert!(matches!(cache.health, Health::Degraded(_)), "the cache reports degraded: {:?}", cache.health);

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.get("/page").await.text() != "page 1" {
        assert!(Instant::now() < deadline, "the stored page is served again once Redis is back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
