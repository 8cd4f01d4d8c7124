//! phial-limiter against governor by hand, both in bare axum, for `bench/limiter.sh`.
//!
//! ```text
//! limiter phial-limiter 8011        # GET /text under Limiter::layer(), memory storage
//! limiter phial-limiter-redis 8012  # the same, counting in Redis (REDIS_URL, default local)
//! limiter axum-governor 8013        # GET /text under a middleware calling governor directly
//! ```
//!
//! Every request comes from one address and stays under its limit (10⁹ a minute), so the
//! numbers price the check itself: find the route's limits, build the key, count, answer.
//! `BENCH_LIMITER_STRATEGY` picks the strategy of the phial modes (`fixed-window` default;
//! `gcra` is governor's algorithm behind phial's layer).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::StatusCode;
use phial_core::Secret;
use phial_core::redis::{Redis, RedisConfig};
use phial_limiter::{Limiter, RedisOptions, Strategy};

const LIMIT: &str = "1000000000/minute";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(port)) = (args.next(), args.next()) else {
        bail!("usage: limiter <phial-limiter|phial-limiter-redis|axum-governor> <port>");
    };
    let port: u16 = port.parse().with_context(|| format!("port `{port}` is not a number"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = match mode.as_str() {
            "phial-limiter" => text_route().layer(phial_limiter(None)?.layer()),
            "phial-limiter-redis" => text_route().layer(phial_limiter(Some(redis().await?))?.layer()),
            "axum-governor" => governor_app(),
            other => bail!("unknown mode `{other}`"),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
        Ok(())
    })
}

fn text_route() -> Router {
    Router::new().route("/text", get(|| async { "Hello, World!" }))
}

fn phial_limiter(redis: Option<Redis>) -> anyhow::Result<Limiter> {
    let strategy = match std::env::var("BENCH_LIMITER_STRATEGY").as_deref() {
        Ok("gcra") => Strategy::Gcra,
        Ok("moving-window") => Strategy::MovingWindow,
        Ok("sliding-window-counter") => Strategy::SlidingWindowCounter,
        _ => Strategy::FixedWindow,
    };
    let mut builder = Limiter::builder().strategy(strategy).default_limits(LIMIT);
    if let Some(redis) = redis {
        builder = builder.redis(RedisOptions::new(redis));
    }
    Ok(builder.build()?)
}

async fn redis() -> anyhow::Result<Redis> {
    let mut config = RedisConfig::default();
    if let Ok(url) = std::env::var("REDIS_URL") {
        config.url = Secret::new(url);
    }
    config.key_prefix = format!("phial-bench:{}:", std::process::id());
    Ok(Redis::connect(&config).await?)
}

/// What a hand-written app does with governor: one keyed limiter, a middleware that keys by
/// the peer address and answers 429 when the check fails.
fn governor_app() -> Router {
    let quota = Quota::per_minute(std::num::NonZeroU32::new(1_000_000_000).expect("not zero"));
    let limiter: Arc<DefaultKeyedRateLimiter<IpAddr>> = Arc::new(RateLimiter::keyed(quota));
    text_route().layer(middleware::from_fn_with_state(limiter, governed))
}

async fn governed(
    State(limiter): State<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match limiter.check_key(&peer.ip()) {
        Ok(()) => next.run(request).await,
        Err(_) => StatusCode::TOO_MANY_REQUESTS.into_response(),
    }
}
