//! The extension in a phial app: config, the 429 through the app's error layer, the CLI.

use std::time::Duration;

use axum::routing::{get, post};
use http::{Method, StatusCode};
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
async fn cli_lists_every_route_with_its_limits_and_resets_counters() {
    let clock = TestClock::at(T0);
    let (out, text) = Output::buffer();
    let listed = App::builder()
        .profile(Profile::Testing)
        .extension(LimiterExtension::new().configure(|limits| {
            limits
                .route("/login", Limit::new("2/minute").methods([Method::POST]))
                .blueprint("/api", Limit::new("100/minute"))
                .shared_limit("exports", Limit::new("10/hour"), ["/api/export"])
                .exempt("/ping")
                .exempt("/healthz")
                .route("/logn", Limit::new("1/second"))
        }))
        .set("limiter.default_limits", "3/minute")
        .set("limiter.application_limits", "1000/hour")
        .route("/", get(|| async { "home" }))
        .route("/ping", get(|| async { "pong" }))
        .route("/login", get(|| async { "form" }).post(|| async { StatusCode::UNAUTHORIZED }))
        .route("/api/items", get(|| async { "items" }))
        .route("/api/export", get(|| async { "export" }));
    listed.build().unwrap().run_with(["app", "limiter", "limits"], out).await.unwrap();
    insta::assert_snapshot!(text.text(), @r"
    strategy: fixed-window
    application limits (every route that is not exempt, one bucket): 1000 per 1 hour

    Methods        Rule                 Limits                           From
    -------------  -------------------  -------------------------------  --------------
    GET,HEAD       /                    3 per 1 minute                   default
    GET,HEAD       /api/export          10 per 1 hour (shared: exports)  route
    GET,HEAD       /api/items           100 per 1 minute                 blueprint /api
    GET,HEAD       /healthz             -                                exempt
    GET,HEAD,POST  /login               2 per 1 minute [POST]            route
    GET,HEAD       /ping                -                                exempt
    GET,HEAD       /readyz              3 per 1 minute                   default
    GET,HEAD       /static/{*filename}  3 per 1 minute                   default

    declared for routes the app does not have: /logn
    ");

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
