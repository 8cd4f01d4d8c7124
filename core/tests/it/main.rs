//! Integration tests of phial-core: one binary, one module per topic.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly on unexpected errors")]

mod app_lifecycle;
mod cli;
mod errors;
#[cfg(feature = "redis")]
mod redis;
mod requests;
mod serve;
mod templates;

use axum::routing::get;
use phial_core::prelude::*;

/// A builder in the `testing` profile that reads no files or environment.
pub(crate) fn builder() -> AppBuilder {
    App::builder().profile(Profile::Testing).set("app.secret_key", "test-secret-key")
}

/// The end of most tests' setup: builds and starts the app, and gives its test client.
pub(crate) trait Started {
    /// The started app's test client; panics when the app does not build or start.
    async fn client(self) -> phial_core::testing::TestClient;
}

impl Started for AppBuilder {
    async fn client(self) -> phial_core::testing::TestClient {
        self.build().unwrap().start().await.unwrap().test_client()
    }
}

/// A started app with one route at `/`.
pub(crate) async fn hello_app() -> RunningApp {
    builder().endpoint("index", "/", get(|| async { "hello" })).build().expect("builds").start().await.expect("starts")
}
