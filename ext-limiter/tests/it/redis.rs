//! Redis storage against a real server: shared limits across instances, `limits`' keys,
//! outages through a `FaultProxy`, and recovery.

use std::time::Duration;

use axum::Router;
use http::StatusCode;
use phial_core::Secret;
use phial_core::prelude::*;
use phial_core::redis::{Redis, RedisConfig, RedisExtension, cmd};
use phial_core::testing::{FaultProxy, Service, service_url};
use phial_limiter::{
    Clock, Limit, Limiter, LimiterExtension, RedisOptions, StorageFailure, Strategy, SystemClock, TestClock,
};

use crate::support::{client_from, router, unique};

async fn connect(url: &str, prefix: &str) -> Redis {
    let mut config = RedisConfig::default();
    config.url = Secret::new(url);
    config.key_prefix = prefix.to_owned();
    config.response_timeout = 0.5;
    config.connect_timeout = 1.0;
    Redis::connect(&config).await.expect("redis connects")
}

async fn clean(redis: &Redis, prefix: &str) {
    let keys: Vec<String> = redis.query(cmd("KEYS").arg(format!("{prefix}*"))).await.unwrap();
    if !keys.is_empty() {
        redis.query::<()>(cmd("DEL").arg(keys)).await.unwrap();
    }
}

fn limiter(redis: &Redis, strategy: Strategy, limits: &str) -> Limiter {
    Limiter::builder()
        .strategy(strategy)
        .default_limits(limits)
        .redis(RedisOptions::new(redis.clone()))
        .build()
        .unwrap()
}

const ALL: [Strategy; 4] =
    [Strategy::FixedWindow, Strategy::MovingWindow, Strategy::SlidingWindowCounter, Strategy::Gcra];

#[tokio::test]
async fn two_instances_sharing_redis_enforce_one_exact_limit() {
    let Some(url) = service_url(Service::Redis) else { return };
    for strategy in ALL {
        let prefix = unique(strategy.name());
        let redis = connect(&url, &prefix).await;
        // Two instances: separate limiters, separate connections, one server; instance b's
        // clock is an hour fast, which must not matter: windows follow the server's time.
        let a = client_from(router(&limiter(&redis, strategy, "10/minute")), [203, 0, 113, 1]);
        let skewed = Limiter::builder()
            .clock(TestClock::at(SystemClock.now() + Duration::from_hours(1)))
            .strategy(strategy)
            .default_limits("10/minute")
            .redis(RedisOptions::new(connect(&url, &prefix).await))
            .build()
            .unwrap();
        let b = client_from(router(&skewed), [203, 0, 113, 1]);
        let mut allowed = 0;
        for i in 0..30 {
            let client = if i % 2 == 0 { &a } else { &b };
            allowed += usize::from(client.get("/").await.status() == StatusCode::OK);
        }
        assert_eq!(allowed, 10, "{strategy:?}");
        clean(&redis, &prefix).await;
    }
}

#[tokio::test]
async fn two_instances_under_concurrent_load_allow_exactly_the_limit() {
    let Some(url) = service_url(Service::Redis) else { return };
    for strategy in ALL {
        let prefix = unique(&format!("load-{}", strategy.name()));
        let redis = connect(&url, &prefix).await;
        let instances = [
            router(&limiter(&redis, strategy, "25/minute")),
            router(&limiter(&connect(&url, &prefix).await, strategy, "25/minute")),
        ];
        let mut tasks = Vec::new();
        for i in 0..100 {
            let client = client_from(instances[i % 2].clone(), [203, 0, 113, 2]);
            tasks.push(tokio::spawn(async move { client.get("/").await.status() }));
        }
        let mut allowed = 0;
        for task in tasks {
            let status = task.await.unwrap();
            assert!(status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
            allowed += usize::from(status == StatusCode::OK);
        }
        assert_eq!(allowed, 25, "{strategy:?}");
        clean(&redis, &prefix).await;
    }
}

#[tokio::test]
async fn keys_follow_the_limits_library_layout() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("keys");
    let redis = connect(&url, &prefix).await;
    let client = client_from(router(&limiter(&redis, Strategy::FixedWindow, "2/minute")), [203, 0, 113, 3]);
    client.get("/").await.assert_status(StatusCode::OK);
    let key = format!("{prefix}LIMITS:LIMITER/203.0.113.3///2/1/minute");
    let count: Option<i64> = redis.query(cmd("GET").arg(&key)).await.unwrap();
    assert_eq!(count, Some(1), "{key}");
    let ttl: i64 = redis.query(cmd("TTL").arg(&key)).await.unwrap();
    assert!((59..=60).contains(&ttl), "{ttl}");
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn two_per_minute_on_redis_answers_429_with_headers() {
    let Some(url) = service_url(Service::Redis) else { return };
    for strategy in ALL {
        let prefix = unique(&format!("headers-{}", strategy.name()));
        let redis = connect(&url, &prefix).await;
        let client = client_from(router(&limiter(&redis, strategy, "2/minute")), [203, 0, 113, 4]);
        client.get("/").await.assert_status(StatusCode::OK);
        client.get("/").await.assert_status(StatusCode::OK);
        let refused = client.get("/").accept_json().await;
        refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"), "{strategy:?}");
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{strategy:?}: {retry}");
        assert_eq!(refused.json_value()["message"], "2 per 1 minute");
        clean(&redis, &prefix).await;
    }
}

#[tokio::test]
async fn deduct_when_on_redis_counts_only_failures() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("deduct");
    let redis = connect(&url, &prefix).await;
    let limiter = Limiter::builder()
        .route("/", Limit::new("1/minute").deduct_when(|status, _| status.is_client_error()))
        .redis(RedisOptions::new(redis.clone()))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", axum::routing::get(|| async { StatusCode::OK }).post(|| async { StatusCode::BAD_REQUEST }))
        .layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 5]);
    for _ in 0..3 {
        client.get("/").await.assert_status(StatusCode::OK);
    }
    client.post("/").await.assert_status(StatusCode::BAD_REQUEST);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    clean(&redis, &prefix).await;
}

/// A limiter on Redis behind `proxy` with `policy`, probing again after 100 ms.
async fn behind_proxy(proxy: &FaultProxy, prefix: &str, policy: StorageFailure, limits: &str) -> (Limiter, Redis) {
    let redis = connect(proxy.url(), prefix).await;
    let options = RedisOptions::new(redis.clone())
        .on_failure(policy)
        .expected_instances(2)
        .probe_backoff(Duration::from_millis(100), Duration::from_millis(200));
    let limiter = Limiter::builder().default_limits(limits).redis(options).build().unwrap();
    (limiter, redis)
}

/// Sends `n` requests, each bounded in time, and counts the statuses.
async fn send(client: &phial_core::testing::TestClient, n: usize) -> (usize, usize, usize) {
    let (mut ok, mut limited, mut unavailable) = (0, 0, 0);
    for _ in 0..n {
        let response = tokio::time::timeout(Duration::from_secs(5), client.get("/").send())
            .await
            .expect("a request during an outage ends instead of hanging");
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            StatusCode::SERVICE_UNAVAILABLE => unavailable += 1,
            other => panic!("unexpected {other}"),
        }
    }
    (ok, limited, unavailable)
}

/// Waits until the limiter counts in Redis again (the probe backoff has passed).
async fn until_recovered(client: &phial_core::testing::TestClient, redis: &Redis, key: &str) {
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = client.get("/other").send().await;
        let exists: Result<i64, _> = redis.query(cmd("EXISTS").arg(key)).await;
        if exists.is_ok_and(|n| n == 1) {
            return;
        }
    }
    panic!("the limiter did not count in Redis again after the outage");
}

#[tokio::test]
async fn redis_down_fails_closed_with_503_then_recovers() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("closed");
    let mut proxy = FaultProxy::start_for(&url).await.unwrap();
    let (limiter, redis) = behind_proxy(&proxy, &prefix, StorageFailure::FailClosed, "3/minute").await;
    let client = client_from(router(&limiter), [203, 0, 113, 6]);
    assert_eq!(send(&client, 1).await, (1, 0, 0));
    proxy.cut().await;
    assert_eq!(send(&client, 3).await, (0, 0, 3));
    client.get("/health").accept_json().await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    proxy.restore().await;
    until_recovered(&client, &redis, &format!("{prefix}LIMITS:LIMITER/203.0.113.6//other/3/1/minute")).await;
    // The count made before the outage is still there: 2 more pass, then 429.
    assert_eq!(send(&client, 3).await, (2, 1, 0));
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn redis_down_fails_open_then_recovers() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("open");
    let mut proxy = FaultProxy::start_for(&url).await.unwrap();
    let (limiter, redis) = behind_proxy(&proxy, &prefix, StorageFailure::FailOpen, "3/minute").await;
    let client = client_from(router(&limiter), [203, 0, 113, 7]);
    assert_eq!(send(&client, 1).await, (1, 0, 0));
    proxy.cut().await;
    assert_eq!(send(&client, 10).await, (10, 0, 0));
    proxy.restore().await;
    until_recovered(&client, &redis, &format!("{prefix}LIMITS:LIMITER/203.0.113.7//other/3/1/minute")).await;
    assert_eq!(send(&client, 3).await, (2, 1, 0));
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn redis_down_falls_back_to_memory_with_the_limit_divided_then_recovers() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("fallback");
    let mut proxy = FaultProxy::start_for(&url).await.unwrap();
    let (limiter, redis) = behind_proxy(&proxy, &prefix, StorageFailure::Fallback, "10/minute").await;
    let client = client_from(router(&limiter), [203, 0, 113, 8]);
    assert_eq!(send(&client, 1).await, (1, 0, 0));
    proxy.cut().await;
    // Two expected instances: this one allows 10 / 2 = 5 while Redis is away.
    assert_eq!(send(&client, 8).await, (5, 3, 0));
    proxy.restore().await;
    until_recovered(&client, &redis, &format!("{prefix}LIMITS:LIMITER/203.0.113.8//other/10/1/minute")).await;
    // Back on Redis, whose count (1) survived: 9 more pass.
    assert_eq!(send(&client, 10).await, (9, 1, 0));
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn the_extension_counts_in_the_shared_redis_connection() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("extension");
    let build = || {
        App::builder()
            .profile(Profile::Testing)
            .extension(RedisExtension::new())
            .extension(LimiterExtension::new())
            .set("redis.url", url.as_str())
            .set("redis.key_prefix", prefix.as_str())
            .set("limiter.storage_uri", "redis://")
            .set("limiter.default_limits", "3/minute")
            .route("/", axum::routing::get(|| async { "home" }))
    };
    let one = build().build().unwrap().start().await.unwrap();
    let two = build().build().unwrap().start().await.unwrap();
    let (a, b) = (one.test_client(), two.test_client());
    let statuses =
        [a.get("/").await.status(), b.get("/").await.status(), a.get("/").await.status(), b.get("/").await.status()];
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);

    let (out, text) = phial_core::cli::Output::buffer();
    build().build().unwrap().run_with(["app", "limiter", "reset", "127.0.0.1"], out).await.unwrap();
    assert_eq!(text.text(), "reset 1 counters of 127.0.0.1\n");
    a.get("/").await.assert_status(StatusCode::OK);
    clean(&connect(&url, &prefix).await, &prefix).await;
}

#[tokio::test]
async fn redis_that_stops_answering_is_bounded_by_the_timeout_and_fails_open() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique("frozen");
    let proxy = FaultProxy::start_for(&url).await.unwrap();
    let (limiter, redis) = behind_proxy(&proxy, &prefix, StorageFailure::FailOpen, "3/minute").await;
    let client = client_from(router(&limiter), [203, 0, 113, 9]);
    assert_eq!(send(&client, 1).await, (1, 0, 0));
    proxy.freeze();
    let started = std::time::Instant::now();
    assert_eq!(send(&client, 5).await, (5, 0, 0));
    assert!(started.elapsed() < Duration::from_secs(4), "bounded by the 0.5 s response timeout");
    proxy.thaw();
    until_recovered(&client, &redis, &format!("{prefix}LIMITS:LIMITER/203.0.113.9//other/3/1/minute")).await;
    // Limiting resumes. A hit whose answer timed out may still have reached Redis once it
    // thawed, so at most the 2 left pass.
    let (passed, refused, failed) = send(&client, 3).await;
    assert!(passed <= 2 && refused >= 1 && failed == 0, "{passed} {refused} {failed}");
    clean(&redis, &prefix).await;
}
