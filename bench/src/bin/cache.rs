//! phial-cache's cached responses against bare axum serving the same bytes, for
//! `bench/cache.sh`.
//!
//! ```text
//! cache phial-cache 8021            # GET /text behind Cache::cached(), memory backend
//! cache phial-cache-redis 8022      # the same, entries in Redis (REDIS_URL, default local)
//! cache phial-cache-two-level 8023  # the same, a local copy in front of Redis
//! cache axum-bytes 8024             # GET /text answering the same body from memory
//! cache in-process                  # no server: ns per request through each router, in process
//! ```
//!
//! The cached route's handler runs once; every timed request is a cache hit, so the numbers
//! price the hit: build the key, look it up, decode the stored response, answer. The bare
//! axum route answers the same body with the same `Content-Type` from a `Bytes` it holds.

use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use http::header::CONTENT_TYPE;
use phial_cache::{BackendKind, Cache, CacheConfig};
use phial_core::Secret;
use phial_core::redis::{Redis, RedisConfig};

/// A small HTML page (about 1 KiB), the body both servers send.
fn page() -> Bytes {
    let mut html = String::from("<!doctype html><html><head><title>News</title></head><body><ul>");
    for i in 0..20 {
        let _ = write!(html, "<li><a href=\"/news/{i}\">Headline number {i}</a></li>");
    }
    html.push_str("</ul></body></html>");
    Bytes::from(html)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("in-process") {
        return in_process();
    }
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(port)) = (args.next(), args.next()) else {
        bail!("usage: cache <phial-cache|phial-cache-redis|phial-cache-two-level|axum-bytes> <port>");
    };
    let port: u16 = port.parse().with_context(|| format!("port `{port}` is not a number"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = match mode.as_str() {
            "phial-cache" => cached_app(&Cache::memory()),
            "phial-cache-redis" => cached_app(&redis_cache(BackendKind::Redis).await?),
            "phial-cache-two-level" => cached_app(&redis_cache(BackendKind::TwoLevel).await?),
            "axum-bytes" => {
                let body = page();
                Router::new()
                    .route("/text", get(move || async move { ([(CONTENT_TYPE, "text/html; charset=utf-8")], body) }))
            }
            other => bail!("unknown mode `{other}`"),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// `GET /text` behind the cache layer; the handler builds the page (once).
fn cached_app(cache: &Cache) -> Router {
    Router::new().route(
        "/text",
        get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], page()) }).route_layer(cache.cached()),
    )
}

/// A cache on Redis under a key prefix of its own (cleared at start).
async fn redis_cache(backend: BackendKind) -> anyhow::Result<Cache> {
    let mut redis_config = RedisConfig::default();
    if let Ok(url) = std::env::var("REDIS_URL") {
        redis_config.url = Secret::new(url);
    }
    let redis = Redis::connect(&redis_config).await.context("cannot connect to Redis")?;
    let mut config = CacheConfig::new(backend);
    config.key_prefix = format!("phial-bench-cache:{}:", std::process::id());
    let cache = Cache::with_redis(&config, redis)?;
    cache.clear().await?;
    Ok(cache)
}

fn axum_app() -> Router {
    let body = page();
    Router::new().route("/text", get(move || async move { ([(CONTENT_TYPE, "text/html; charset=utf-8")], body) }))
}

/// Time per request through each router without a network: what the cache layer adds on a hit.
#[expect(clippy::print_stdout, reason = "the report of a command-line measurement")]
fn in_process() -> anyhow::Result<()> {
    use tower::ServiceExt as _;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let apps = [("axum-bytes", axum_app()), ("phial-cache (memory hit)", cached_app(&Cache::memory()))];
        let iterations: u128 = std::env::var("BENCH_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(200_000);
        let only = std::env::var("BENCH_ONLY").ok();
        for round in 0..3 {
            for (name, app) in &apps {
                if only.as_deref().is_some_and(|only| !name.starts_with(only)) {
                    continue;
                }
                let started = std::time::Instant::now();
                for _ in 0..iterations {
                    let request = http::Request::get("/text").body(axum::body::Body::empty())?;
                    let response = app.clone().oneshot(request).await?;
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
                    std::hint::black_box(body);
                }
                let per = started.elapsed().as_nanos() / iterations;
                println!("round {round}: {name}: {per} ns/request");
            }
        }
        Ok(())
    })
}
