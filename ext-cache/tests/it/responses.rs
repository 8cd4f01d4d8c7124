//! Cached responses through a real phial app (`CacheExtension` + `CacheLayer` at
//! `Stage::Inner`), on memory and on Redis.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::future::join_all;
use http::StatusCode;
use phial_cache::{BackendKind, CacheExtension};
use phial_core::prelude::*;
use phial_core::testing::TestClient;

/// How many times each view ran, by path.
#[derive(Clone, Default)]
pub(crate) struct Runs(Arc<std::sync::Mutex<HashMap<&'static str, usize>>>);

impl Runs {
    fn bump(&self, path: &'static str) -> usize {
        let mut runs = self.0.lock().unwrap();
        let count = runs.entry(path).or_default();
        *count += 1;
        *count
    }

    pub(crate) fn of(&self, path: &'static str) -> usize {
        self.0.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// The app's views, each counting its runs.
fn views(runs: &Runs) -> Blueprint {
    let (r1, r2, r3, r4, r5, r6, r7) =
        (runs.clone(), runs.clone(), runs.clone(), runs.clone(), runs.clone(), runs.clone(), runs.clone());
    Blueprint::new("views")
        .route(
            "/search",
            get(move |Query(query): Query<HashMap<String, String>>| async move {
                let n = r1.bump("/search");
                let mut pairs: Vec<_> = query.into_iter().collect();
                pairs.sort();
                format!("results for {pairs:?} (run {n})")
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                format!("slow page (run {})", r2.bump("/slow"))
            }),
        )
        .route(
            "/down",
            get(move || async move {
                r3.bump("/down");
                (StatusCode::SERVICE_UNAVAILABLE, "try later")
            }),
        )
        .route(
            "/cookie",
            get(move || async move {
                let n = r4.bump("/cookie");
                ([(http::header::SET_COOKIE, format!("visitor={n}"))], format!("hello visitor {n}"))
            }),
        )
        .route(
            "/private",
            get(move || async move {
                let n = r5.bump("/private");
                ([(http::header::CACHE_CONTROL, "private, max-age=60")], format!("yours {n}"))
            }),
        )
        .route(
            "/session",
            get(move |session: Session| async move {
                let n = r6.bump("/session");
                session.insert("seen", n).unwrap();
                format!("seen {n}")
            }),
        )
        .route("/page", get(move || async move { format!("page {}", r7.bump("/page")).into_response() }))
}

/// One app instance: every view behind a cache layer at `Stage::Inner`; with `redis`, the
/// cache is `[cache] backend` on that Redis under `prefix`.
pub(crate) async fn app(kind: BackendKind, prefix: &str, redis: Option<&str>, runs: &Runs) -> RunningApp {
    let cache = CacheExtension::new();
    #[cfg_attr(not(feature = "redis"), expect(unused_mut, reason = "Redis settings are added with feature `redis`"))]
    let mut builder = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test-secret-key-long-enough-for-anything")
        .set("cache.backend", kind.as_str())
        .set("cache.key_prefix", prefix)
        .blueprint("", views(runs))
        .layer(Stage::Inner, "cache", cache.cached());
    #[cfg(not(feature = "redis"))]
    assert!(redis.is_none(), "Redis tests need feature `redis`");
    #[cfg(feature = "redis")]
    if let Some(url) = redis {
        builder = builder
            .extension(phial_core::redis::RedisExtension::new())
            .set("redis.url", url)
            .set("redis.response_timeout", 1.0)
            .set("redis.connect_timeout", 1.0)
            .set("cache.redis_timeout", 0.3)
            .set("cache.retry_after", 0.2);
    }
    builder.extension(cache).build().unwrap().start().await.unwrap()
}

/// A client per available backend (memory, and Redis when configured), with its counters.
async fn clients() -> Vec<(BackendKind, TestClient, Runs)> {
    let mut out = Vec::new();
    let runs = Runs::default();
    out.push((
        BackendKind::Memory,
        app(BackendKind::Memory, &crate::unique_prefix(), None, &runs).await.test_client(),
        runs,
    ));
    #[cfg(feature = "redis")]
    if let Some(url) = crate::redis_url() {
        let runs = Runs::default();
        let client = app(BackendKind::Redis, &crate::unique_prefix(), Some(&url), &runs).await.test_client();
        out.push((BackendKind::Redis, client, runs));
    }
    out
}

#[tokio::test]
async fn different_query_strings_get_different_bodies_and_sorted_ones_share() {
    for (kind, client, runs) in clients().await {
        let a = client.get("/search?q=a").await;
        let b = client.get("/search?q=b").await;
        assert_ne!(a.text(), b.text(), "{kind:?}");
        assert!(b.text().contains("\"b\""), "{kind:?}: {}", b.text());
        let first = client.get("/search?x=1&y=2").await;
        let second = client.get("/search?y=2&x=1").await;
        assert_eq!(first.header("x-cache"), Some("MISS"), "{kind:?}");
        assert_eq!(second.header("x-cache"), Some("HIT"), "{kind:?}");
        assert_eq!(first.text(), second.text(), "{kind:?}");
        assert_eq!(runs.of("/search"), 3, "{kind:?}");
    }
}

#[tokio::test]
async fn a_503_is_not_cached() {
    for (kind, client, runs) in clients().await {
        for _ in 0..3 {
            client.get("/down").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(runs.of("/down"), 3, "{kind:?}");
    }
}

#[tokio::test]
async fn a_response_setting_a_cookie_is_not_cached_nor_shared() {
    for (kind, client, runs) in clients().await {
        let first = client.new_session().get("/cookie").await;
        let second = client.new_session().get("/cookie").await;
        assert_eq!(first.text(), "hello visitor 1", "{kind:?}");
        assert_eq!(second.text(), "hello visitor 2", "{kind:?}");
        assert_eq!(runs.of("/cookie"), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn private_responses_and_session_writes_are_not_cached() {
    for (kind, client, runs) in clients().await {
        client.get("/private").await;
        client.get("/private").await;
        assert_eq!(runs.of("/private"), 2, "{kind:?}");
        client.new_session().get("/session").await;
        client.new_session().get("/session").await;
        assert_eq!(runs.of("/session"), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn requests_with_a_session_cookie_or_authorization_bypass_the_cache() {
    for (kind, client, _) in clients().await {
        assert_eq!(client.get("/page").await.text(), "page 1", "{kind:?}");
        assert_eq!(client.get("/page").await.text(), "page 1", "{kind:?}");
        let with_cookie = client.get("/page").header("cookie", "session=someone").await;
        assert_eq!(with_cookie.text(), "page 2", "{kind:?}");
        assert_eq!(with_cookie.header("x-cache"), Some("BYPASS"), "{kind:?}");
        let with_token = client.get("/page").bearer("token").await;
        assert_eq!(with_token.text(), "page 3", "{kind:?}");
        // Nothing they got was stored for others.
        assert_eq!(client.get("/page").await.text(), "page 1", "{kind:?}");
    }
}

#[tokio::test]
async fn matching_if_none_match_gets_304_without_body() {
    for (kind, client, _) in clients().await {
        let first = client.get("/page").await;
        let etag = first.header("etag").unwrap().to_owned();
        let again = client.get("/page").header("if-none-match", etag.as_str()).await;
        again.assert_status(StatusCode::NOT_MODIFIED);
        assert!(again.bytes().is_empty(), "{kind:?}");
        assert_eq!(again.header("etag"), Some(etag.as_str()), "{kind:?}");
        let other = client.get("/page").header("if-none-match", "\"something-else\"").await;
        other.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_hundred_concurrent_cold_requests_run_a_slow_view_once() {
    for (kind, client, runs) in clients().await {
        let responses = join_all((0..100).map(|_| client.get("/slow").send())).await;
        assert!(responses.iter().all(|r| r.status() == StatusCode::OK && r.text() == "slow page (run 1)"), "{kind:?}");
        assert_eq!(runs.of("/slow"), 1, "{kind:?}");
        assert_eq!(responses.iter().filter(|r| r.header("x-cache") == Some("MISS")).count(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn cached_responses_expire_with_their_timeout() {
    let runs = Runs::default();
    let cache = CacheExtension::new();
    let running = App::builder()
        .profile(Profile::Testing)
        .route("/page", get(|| async { "x" }))
        .route(
            "/short",
            get({
                let runs = runs.clone();
                move || async move { format!("short {}", runs.bump("/short")) }
            })
            .route_layer(cache.cached().timeout(Duration::from_millis(150))),
        )
        .extension(cache)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = running.test_client();
    assert_eq!(client.get("/short").await.text(), "short 1");
    assert_eq!(client.get("/short").await.text(), "short 1");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(client.get("/short").await.text(), "short 2");
    // A route without the layer is never marked.
    assert_eq!(client.get("/page").await.header("x-cache"), None);
}

#[tokio::test]
async fn keyed_by_user_caches_each_users_page_apart() {
    let runs = Runs::default();
    let cache = phial_cache::Cache::memory();
    let layer = cache.cached().key_by_user(|request| {
        request.headers().get("x-user").and_then(|value| value.to_str().ok()).map(str::to_owned)
    });
    let counter = runs.clone();
    let router = axum::Router::new().route(
        "/me",
        get(move |headers: http::HeaderMap| async move {
            let user = headers.get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("anonymous").to_owned();
            format!("{user} {}", counter.bump("/me"))
        })
        .route_layer(layer),
    );
    let client = TestClient::new(router);
    let ada = client.get("/me").header("x-user", "ada").bearer("t").await;
    let bob = client.get("/me").header("x-user", "bob").bearer("t").await;
    assert_eq!((ada.text(), bob.text()), ("ada 1", "bob 2"));
    assert_eq!(client.get("/me").header("x-user", "ada").bearer("t").await.text(), "ada 1");
    assert_eq!(runs.of("/me"), 2);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_hundred_cold_requests_over_two_instances_sharing_redis_run_the_view_once() {
    let Some(url) = crate::redis_url() else { return };
    let prefix = crate::unique_prefix();
    let runs = Runs::default();
    let a = app(BackendKind::Redis, &prefix, Some(&url), &runs).await.test_client();
    let b = app(BackendKind::Redis, &prefix, Some(&url), &runs).await.test_client();
    let requests = (0..100).map(|i| if i % 2 == 0 { a.get("/slow").send() } else { b.get("/slow").send() });
    let responses = join_all(requests).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK && r.text() == "slow page (run 1)"));
    assert_eq!(runs.of("/slow"), 1);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn within_stale_grace_another_instance_serves_the_expired_page_while_one_renders_it() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    let Some(url) = crate::redis_url() else { return };
    let mut config = crate::config(BackendKind::Redis);
    config.stale_grace = 60.0;
    // Long: were b to wait for a's render instead of serving the stale page, it would render
    // its own ("b's page") only after this.
    config.lease_timeout = 30.0;
    config.redis_timeout = 2.0;
    let a = phial_cache::Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = phial_cache::Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let (runs, started, release) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (counter, begun, gate) = (Arc::clone(&runs), Arc::clone(&started), Arc::clone(&release));
    // a's page; its second render waits for `release`.
    let page = move || {
        let (counter, begun, gate) = (Arc::clone(&counter), Arc::clone(&begun), Arc::clone(&gate));
        async move {
            let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
            if run == 2 {
                begun.notify_one();
                gate.notified().await;
            }
            format!("page {run}")
        }
    };
    let ttl = Duration::from_millis(100);
    let router_a = axum::Router::new().route("/page", get(page).route_layer(a.cached().timeout(ttl)));
    let router_b =
        axum::Router::new().route("/page", get(|| async { "b's page" }).route_layer(b.cached().timeout(ttl)));
    let (client_a, client_b) = (TestClient::new(router_a), TestClient::new(router_b));
    assert_eq!(client_a.get("/page").await.text(), "page 1");
    tokio::time::sleep(Duration::from_millis(250)).await;

    let renderer = client_a.clone();
    let rendering = tokio::spawn(async move { renderer.get("/page").await.text().to_owned() });
    started.notified().await;
    let stale = client_b.get("/page").await;
    stale.assert_status(StatusCode::OK);
    assert_eq!(stale.text(), "page 1", "b serves the expired page while a renders the new one");
    assert_eq!(stale.header("x-cache"), Some("HIT"));

    release.notify_one();
    assert_eq!(rendering.await.unwrap(), "page 2");
    assert_eq!(client_b.get("/page").await.text(), "page 2");
    a.clear().await.unwrap();
}
