//! The shared Redis connection and the Redis session store, against a real server
//! (`PHIAL_TEST_REDIS_URL`). Each test writes under its own key prefix, so tests run in
//! parallel; outages are real, made by a TCP proxy in front of the server that the test cuts.

use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::{get, post};
use http::StatusCode;
use phial_core::prelude::*;
use phial_core::redis::{Redis, RedisConfig, RedisExtension, cmd};
use phial_core::session::{Record, RedisStore, SessionId, SessionStore};
use phial_core::testing::{FaultProxy, Service, TestClient, service_url};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::builder;

/// A key prefix no other test uses.
fn unique_prefix() -> String {
    format!("phial-test:{}:", &SessionId::generate().unwrap().as_str()[..12])
}

fn config(url: &str, prefix: &str) -> RedisConfig {
    let mut config = RedisConfig::default();
    config.url = url.into();
    prefix.clone_into(&mut config.key_prefix);
    config
}

/// The keys under `prefix`, sorted.
async fn keys(redis: &Redis, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis.query(cmd("KEYS").arg(format!("{prefix}*"))).await.unwrap();
    keys.sort();
    keys
}

/// Deletes the test's keys.
async fn clean(redis: &Redis, prefix: &str) {
    for key in keys(redis, prefix).await {
        redis.query::<()>(cmd("DEL").arg(key)).await.unwrap();
    }
}

fn record(n: i64) -> Record {
    let mut data = serde_json::Map::new();
    data.insert("n".into(), n.into());
    Record::new(data, false)
}

#[tokio::test]
async fn redis_store_saves_loads_replaces_and_deletes() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let redis = Redis::connect(&config(&url, &prefix)).await.unwrap();
    let store = RedisStore::new(redis.clone());
    let id = SessionId::generate().unwrap();
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);

    assert_eq!(store.load(&id).await.unwrap(), None);
    store.save(&id, &record(1), later).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), Some(record(1)));
    store.save(&id, &record(2), later).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), Some(record(2)));

    let key = format!("{prefix}session:{}", id.as_str());
    assert_eq!(keys(&redis, &prefix).await, std::slice::from_ref(&key));
    let ttl_ms: i64 = redis.query(cmd("PTTL").arg(&key)).await.unwrap();
    assert!((3_590_000..=3_600_000).contains(&ttl_ms), "the key expires with the session: {ttl_ms} ms");

    store.delete(&id).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), None);
    store.delete(&id).await.expect("deleting an absent id succeeds");
    assert!(keys(&redis, &prefix).await.is_empty());
}

#[tokio::test]
async fn redis_store_record_is_gone_once_its_expiry_passes() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let redis = Redis::connect(&config(&url, &prefix)).await.unwrap();
    let store = RedisStore::new(redis.clone());
    let (short, past) = (SessionId::generate().unwrap(), SessionId::generate().unwrap());
    let now = OffsetDateTime::now_utc();

    store.save(&short, &record(1), now + time::Duration::milliseconds(300)).await.unwrap();
    store.save(&past, &record(2), now - time::Duration::seconds(1)).await.unwrap();
    assert_eq!(store.load(&short).await.unwrap(), Some(record(1)));
    assert_eq!(store.load(&past).await.unwrap(), None, "a record saved already expired is not kept");

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.load(&short).await.unwrap(), None);
    assert!(keys(&redis, &prefix).await.is_empty(), "Redis expired the key itself");
    assert_eq!(store.cleanup_expired().await.unwrap(), 0);
}

async fn show(session: Session) -> String {
    match session.get::<String>("user") {
        Some(user) => user,
        None => "anonymous".to_owned(),
    }
}

async fn visit(session: Session, Path(user): Path<String>) -> Result<&'static str, HttpError> {
    session.insert("user", user)?;
    Ok("saved")
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, HttpError> {
    session.cycle_id();
    session.insert("user", user)?;
    Ok("logged in")
}

/// An app whose sessions live in Redis at `url`.
fn session_app(url: &str, prefix: &str) -> AppBuilder {
    builder()
        .set("redis.url", url)
        .set("redis.key_prefix", prefix)
        .set("redis.connect_timeout", 0.5)
        .set("redis.response_timeout", 0.5)
        .set("app.session.store", "redis")
        .extension(RedisExtension::new())
        .endpoint("show", "/", get(show))
        .endpoint("visit", "/visit/{user}", post(visit))
        .endpoint("login", "/login/{user}", post(login))
}

async fn start(builder: AppBuilder) -> (RunningApp, TestClient, Redis) {
    let running = builder.build().unwrap().start().await.unwrap();
    let client = running.test_client();
    let redis = running.state().require::<Redis>().clone();
    (running, client, redis)
}

#[tokio::test]
async fn session_id_before_rotation_no_longer_resolves_after_it() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let (_running, client, redis) = start(session_app(&url, &prefix)).await;

    client.post("/visit/guest").await.assert_status(StatusCode::OK);
    let before = client.cookie("session").expect("a session cookie");
    assert_eq!(client.get("/").await.text(), "guest");

    client.post("/login/alice").await.assert_status(StatusCode::OK);
    let after = client.cookie("session").expect("a session cookie");
    assert_ne!(before, after, "login gives the session a new id");
    assert_eq!(client.get("/").await.text(), "alice");
    assert_eq!(keys(&redis, &prefix).await.len(), 1, "the record under the old id is deleted");

    let attacker = client.new_session();
    attacker.set_cookie("session", &before);
    assert_eq!(attacker.get("/").await.text(), "anonymous", "the id from before login resolves to nothing");
    clean(&redis, &prefix).await;
}

#[tokio::test]
async fn redis_health_check_reports_ping() {
    let Some(url) = service_url(Service::Redis) else { return };
    let (running, client, _redis) = start(session_app(&url, &unique_prefix())).await;
    let report = running.health().await;
    let check = report.checks.iter().find(|c| c.name == "redis").expect("a redis check");
    assert_eq!(check.health, Health::Healthy);
    client.get("/readyz").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unreachable_redis_fails_startup_quickly() {
    // A port that refuses connections, and one that accepts them and never answers.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = format!("redis://{}", closed.local_addr().unwrap());
    drop(closed);
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let blackhole = format!("redis://{}", silent.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });

    for url in [refused, blackhole] {
        let started = Instant::now();
        let app = builder()
            .set("redis.url", url.as_str())
            .set("redis.connect_timeout", 0.3)
            .set("redis.response_timeout", 0.3)
            .extension(RedisExtension::new())
            .build()
            .unwrap();
        let err = tokio::time::timeout(Duration::from_secs(10), app.start())
            .await
            .expect("startup ends instead of hanging")
            .err()
            .expect("startup fails");
        assert!(err.to_string().contains("redis.url"), "{url}: {err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{url}: took {:?}", started.elapsed());
    }
}

#[test]
fn misspelt_redis_key_fails_the_build() {
    let err =
        builder().set("redis.response_timout", 1.0).extension(RedisExtension::new()).build().err().expect("fails");
    assert!(err.to_string().contains("response_timout"), "{err}");
}

#[tokio::test]
async fn unknown_store_names_the_extension_to_add() {
    let err = builder().set("app.session.store", "redis").build().unwrap().start().await.err().expect("fails");
    assert!(err.to_string().contains("RedisExtension"), "{err}");
}

#[tokio::test]
async fn redis_going_away_is_503_and_sessions_work_again_once_it_is_back() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let mut proxy = FaultProxy::start_for(&url).await.unwrap();
    let via_proxy = proxy.url().to_owned();
    let (_running, client, _redis) = start(session_app(&via_proxy, &prefix)).await;
    client.post("/visit/bob").await.assert_status(StatusCode::OK);
    assert_eq!(client.get("/").await.text(), "bob");

    proxy.cut().await;
    for path in ["/", "/readyz"] {
        let down = tokio::time::timeout(Duration::from_secs(10), client.get(path).accept_json().send())
            .await
            .expect("a request during the outage ends instead of hanging");
        down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    }
    let down = client.get("/").accept_json().await;
    assert_eq!(down.json_value()["error"], "Service Unavailable");
    // A route that does not use the session is not affected.
    client.get("/healthz").await.assert_status(StatusCode::OK);

    proxy.restore().await;
    let mut text = String::new();
    for _ in 0..50 {
        let response = client.get("/").await;
        if response.status() == StatusCode::OK {
            text = response.text().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text, "bob", "serving again, with the session kept by the server, once Redis is back");
    client.get("/readyz").await.assert_status(StatusCode::OK);

    let direct = Redis::connect(&config(&url, &prefix)).await.unwrap();
    clean(&direct, &prefix).await;
}

#[tokio::test]
async fn redis_that_stops_answering_is_503_within_the_timeout_then_recovers() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let proxy = FaultProxy::start_for(&url).await.unwrap();
    let via_proxy = proxy.url().to_owned();
    let (_running, client, _redis) = start(session_app(&via_proxy, &prefix)).await;
    client.post("/visit/carol").await.assert_status(StatusCode::OK);

    proxy.freeze();
    for path in ["/", "/readyz"] {
        let started = Instant::now();
        let down = tokio::time::timeout(Duration::from_secs(10), client.get(path).accept_json().send())
            .await
            .expect("a request to a silent server ends instead of hanging");
        down.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(3), "{path}: bounded by the response timeout");
    }

    proxy.thaw();
    let mut text = String::new();
    for _ in 0..50 {
        let response = client.get("/").await;
        if response.status() == StatusCode::OK {
            text = response.text().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text, "carol", "serving again once Redis answers");

    let direct = Redis::connect(&config(&url, &prefix)).await.unwrap();
    clean(&direct, &prefix).await;
}

/// What an extension built on Redis keeps: the shared handle, taken at its start.
struct Counter(Redis);

#[tokio::test]
async fn extensions_share_the_one_connection_through_the_registry() {
    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = unique_prefix();
    let counter = FnExtension::new("counter", |_| Ok(())).with_deps(Deps::none().requires("redis")).on_start(|ctx| {
        Box::pin(async move {
            let redis = ctx.require::<Redis>()?.clone();
            ctx.provide(Counter(redis));
            Ok(())
        })
    });
    let hit = |Ext(counter): Ext<Counter>| async move {
        let redis = &counter.0;
        redis.query::<u64>(cmd("INCR").arg(redis.key("hits"))).await.map(|n| n.to_string())
    };
    let (running, client, redis) = start(
        builder()
            .set("redis.url", url.as_str())
            .set("redis.key_prefix", prefix.as_str())
            .extension(counter)
            .extension(RedisExtension::new())
            .endpoint("hit", "/hit", get(hit)),
    )
    .await;
    assert_eq!(running.extension_order(), ["redis", "counter"], "requires orders Redis first");
    assert_eq!(client.get("/hit").await.text(), "1");
    assert_eq!(client.get("/hit").await.text(), "2");
    assert_eq!(keys(&redis, &prefix).await, [format!("{prefix}hits")], "keys carry the configured prefix");
    clean(&redis, &prefix).await;
}
