//! Integration tests: the limiter in bare axum and in a phial app, on memory and real Redis.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod app;
mod axum_layer;
#[cfg(feature = "redis")]
mod redis;
mod support;
