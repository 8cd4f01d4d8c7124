//! Helpers shared by the test modules.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use phial_core::testing::TestClient;
use phial_limiter::{Limiter, LimiterBuilder, TestClock};

/// A fixed instant to start test clocks at.
pub(crate) const T0: Duration = Duration::from_secs(1_700_000_000);

/// A client of `router` from peer `ip`.
pub(crate) fn client_from(router: Router, ip: [u8; 4]) -> TestClient {
    TestClient::new(router).with_peer(SocketAddr::from((ip, 40_000)))
}

/// A router with `/`, `/other` and `/health` answering 200, limited by `limiter`.
pub(crate) fn router(limiter: &Limiter) -> Router {
    Router::new()
        .route("/", get(|| async { "home" }).post(|| async { "posted" }))
        .route("/other", get(|| async { "other" }))
        .route("/health", get(|| async { "ok" }))
        .layer(limiter.layer())
}

/// A builder on a test clock at [`T0`].
pub(crate) fn builder() -> (LimiterBuilder, TestClock) {
    let clock = TestClock::at(T0);
    (Limiter::builder().clock(clock.clone()), clock)
}

/// A key prefix no other test uses.
#[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "Redis tests only"))]
pub(crate) fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("phial-limiter-test:{name}:{nanos}:")
}
