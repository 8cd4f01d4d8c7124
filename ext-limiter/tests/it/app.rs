//! The extension in a phial app: config, the 429 through the app's error layer, the CLI.

use std::time::Duration;

use axum::routing::{get, post};
use http::StatusCode;
use phial_core::cli::Output;
use phial_core::prelude::*;
use phial_limiter::{Limit, LimiterExtension, TestClock};

use crate::support::T0;

fn app(clock: &TestClock) -> AppBuilder {
    let clock = clock.clone();
    App::builder()
        .profile(Profile::Testing)
        .extension(LimiterExtension::new().configure(move |limits| {
            limits
                .clock(clock)
                .route("/login", Limit::new("2/minute").deduct_when(|status, _| status.is_client_error()))
                .exempt("/ping")
        }))
        .set("limiter.default_limits", "3/minute")
        .set("limiter.headers_enabled", true)
        .route("/", get(|| async { "home" }))
        .route("/ping", get(|| async { "pong" }))
        .route("/login", post(|| async { StatusCode::UNAUTHORIZED }))
}

#[tokio::test]
async fn config_defaults_apply_and_the_429_is_rendered_by_the_app() {
    let clock = TestClock::at(T0);
    let running = app(&clock).build().unwrap().start().await.unwrap();
    let client = running.test_client();
    for remaining in ["2", "1", "0"] {
        let ok = client.get("/").await;
        ok.assert_status(StatusCode::OK);
        assert_eq!(ok.header("x-ratelimit-remaining"), Some(remaining));
    }
    let refused = client.get("/").accept_json().await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json_value(), serde_json::json!({"error": "Too Many Requests", "message": "3 per 1 minute"}));
    assert_eq!(refused.header("retry-after"), Some("60"));
    for _ in 0..5 {
        client.get("/ping").await.assert_status(StatusCode::OK);
    }
    client.post("/login").await.assert_status(StatusCode::UNAUTHORIZED);
    client.post("/login").await.assert_status(StatusCode::UNAUTHORIZED);
    client.post("/login").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    clock.advance(Duration::from_mins(1));
    client.get("/").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_bad_limit_string_or_storage_fails_the_build() {
    let clock = TestClock::at(T0);
    let err = app(&clock).set("limiter.default_limits", "10 per").build().err().expect("fails");
    assert!(err.to_string().contains("couldn't parse rate limit string '10 per'"), "{err}");
    let err = app(&clock).set("limiter.storage_uri", "memcached://").build().err().expect("fails");
    assert!(err.to_string().contains("limiter.storage_uri"), "{err}");
    let err = app(&clock).set("limiter.strategy", "leaky-bucket").build().err().expect("fails");
    assert!(err.to_string().contains("leaky-bucket"), "{err}");
}

#[tokio::test]
async fn disabled_in_config_limits_nothing() {
    let clock = TestClock::at(T0);
    let running = app(&clock).set("limiter.enabled", false).build().unwrap().start().await.unwrap();
    let client = running.test_client();
    for _ in 0..10 {
        client.get("/").await.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn cli_lists_limits_and_resets_counters() {
    let clock = TestClock::at(T0);
    let (out, text) = Output::buffer();
    app(&clock).build().unwrap().run_with(["app", "limiter", "limits"], out).await.unwrap();
    let listing = text.text();
    assert!(listing.contains("strategy: fixed-window"), "{listing}");
    assert!(listing.contains("default (routes without their own)  3 per 1 minute"), "{listing}");
    assert!(listing.contains("/login"), "{listing}");
    assert!(listing.contains("2 per 1 minute"), "{listing}");
    assert!(listing.contains("/ping") && listing.contains("exempt"), "{listing}");

    let (out, text) = Output::buffer();
    app(&clock).build().unwrap().run_with(["app", "limiter", "reset", "203.0.113.1"], out).await.unwrap();
    assert_eq!(text.text(), "reset 0 counters of 203.0.113.1\n");
}

#[tokio::test]
async fn reset_lets_a_limited_client_in_again() {
    let clock = TestClock::at(T0);
    let running = app(&clock).build().unwrap().start().await.unwrap();
    let client = running.test_client();
    for _ in 0..3 {
        client.get("/").await.assert_status(StatusCode::OK);
    }
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    let limiter = running.state().get::<phial_limiter::Limiter>().unwrap().clone();
    assert_eq!(limiter.reset(Some("127.0.0.1")).await.unwrap(), 1);
    client.get("/").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn default_limits_per_method_from_config_count_each_method_apart() {
    let clock = TestClock::at(T0);
    let running = App::builder()
        .profile(Profile::Testing)
        .extension(LimiterExtension::new().configure({
            let clock = clock.clone();
            move |limits| limits.clock(clock)
        }))
        .set("limiter.default_limits", "1/minute")
        .set("limiter.default_limits_per_method", true)
        .route("/", get(|| async { "home" }).post(|| async { "posted" }))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = running.test_client();
    client.get("/").await.assert_status(StatusCode::OK);
    client.post("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.post("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}
