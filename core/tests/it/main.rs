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

/// A started app with one route at `/`.
pub(crate) async fn hello_app() -> RunningApp {
    builder().endpoint("index", "/", get(|| async { "hello" })).build().expect("builds").start().await.expect("starts")
}
