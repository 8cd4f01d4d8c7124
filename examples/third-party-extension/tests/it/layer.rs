//! The 503 layer: rendering, `Retry-After`, allowed paths, bypass, and use in a bare axum app.

use phial_core::axum::Router;
use phial_core::axum::http::StatusCode;
use phial_core::axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use phial_core::axum::response::{Html, IntoResponse};
use phial_core::axum::routing::get;
use phial_core::prelude::*;
use phial_core::testing::TestClient;
use phial_example_maintenance::{MaintenanceLayer, MaintenanceSwitch};

use crate::{builder, started};

#[tokio::test]
async fn json_clients_get_503_with_retry_after_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let res = running.test_client().get("/").accept_json().await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header(RETRY_AFTER), Some("300"));
    assert_eq!(
        res.json_value(),
        serde_json::json!({
            "error": "Service Unavailable",
            "message": "This site is down for maintenance. Please try again later.",
        })
    );
}

#[tokio::test]
async fn browsers_get_an_html_page() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let res = running.test_client().get("/").header("accept", "text/html,*/*;q=0.8").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.header(CONTENT_TYPE).unwrap().starts_with("text/html"));
    assert_eq!(res.header(RETRY_AFTER), Some("300"));
    assert!(res.text().contains("<p>This site is down for maintenance. Please try again later.</p>"), "{}", res.text());
}

#[tokio::test]
async fn the_apps_503_handler_renders_the_page_and_retry_after_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = builder(dir.path())
        .set("maintenance.enabled", true)
        .error_handler(StatusCode::SERVICE_UNAVAILABLE, |ctx: ErrorContext| {
            (ctx.status, Html(format!("<h1>Back soon</h1><p>{}</p>", ctx.message))).into_response()
        });
    let res = started(app).await.test_client().get("/").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().starts_with("<h1>Back soon</h1>"), "{}", res.text());
    assert_eq!(res.header(RETRY_AFTER), Some("300"));
}

#[tokio::test]
async fn unknown_paths_get_503_too() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    running.test_client().get("/no/such/page").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn health_probes_are_allowed_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let client = running.test_client();
    let live = client.get("/healthz").await;
    live.assert_status(StatusCode::OK);
    assert_eq!(live.text(), "ok");
    client.get("/readyz").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn bypass_token_lets_a_request_through() {
    let dir = tempfile::tempdir().unwrap();
    let running =
        started(builder(dir.path()).set("maintenance.enabled", true).set("maintenance.bypass_token", "t0ken")).await;
    let client = running.test_client();
    let res = client.get("/").header("x-maintenance-bypass", "t0ken").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), "hello");
    client.get("/").header("x-maintenance-bypass", "t0ke").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    client.get("/").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn without_a_token_the_bypass_header_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let res = running.test_client().get("/").header("x-maintenance-bypass", "").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn off_serves_normally_without_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path())).await;
    let res = running.test_client().get("/").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), "hello");
    assert_eq!(res.header(RETRY_AFTER), None);
}

#[tokio::test]
async fn retry_after_zero_sends_no_header() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true).set("maintenance.retry_after", 0)).await;
    let res = running.test_client().get("/").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header(RETRY_AFTER), None);
}

#[tokio::test]
async fn layer_works_in_a_bare_axum_router() {
    let switch = MaintenanceSwitch::new();
    let app: Router =
        Router::new().route("/", get(|| async { "hello" })).route("/healthz", get(|| async { "ok" })).layer(
            MaintenanceLayer::new(switch.clone())
                .message("Back at 18:00 UTC.")
                .retry_after(std::time::Duration::from_mins(10))
                .allow_path("/healthz"),
        );
    let client = TestClient::new(app);
    client.get("/").await.assert_status(StatusCode::OK);

    switch.set(true);
    let res = client.get("/").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header(RETRY_AFTER), Some("600"));
    // Without phial's error layer, an `HttpError` renders as plain text.
    assert!(res.header(CONTENT_TYPE).unwrap().starts_with("text/plain"));
    assert_eq!(res.text(), "503 Service Unavailable\n\nBack at 18:00 UTC.\n");
    client.get("/healthz").await.assert_status(StatusCode::OK);

    switch.set(false);
    client.get("/").await.assert_status(StatusCode::OK);
}
