//! Error rendering: JSON/HTML negotiation, per-status handlers, panics, 404/405/413.

use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use http::StatusCode;
use phial_core::prelude::*;

use crate::{Started as _, builder};

async fn app() -> phial_core::testing::TestClient {
    builder()
        .set("app.body_limit", 64)
        .endpoint(
            "missing",
            "/missing",
            get(|| async { Err::<(), _>(HttpError::not_found().with_message("No such post.")) }),
        )
        .endpoint(
            "boom",
            "/boom",
            get(|| async {
                let secret = std::hint::black_box("db-password-123");
                assert!(secret.is_empty(), "exploded while using {secret}");
                "unreachable"
            }),
        )
        .endpoint(
            "internal",
            "/internal",
            get(|| async { Err::<(), _>(HttpError::internal(std::io::Error::other("disk at /var/secret is full"))) }),
        )
        .endpoint("upload", "/upload", post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }))
        .endpoint("json", "/json", post(|axum::Json(v): axum::Json<serde_json::Value>| async move { v.to_string() }))
        .client()
        .await
}

#[tokio::test]
async fn json_clients_get_json_errors() {
    let client = app().await;
    let response = client.get("/missing").accept_json().await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json_value(), serde_json::json!({"error": "Not Found", "message": "No such post."}));
}

#[tokio::test]
async fn browsers_get_html_errors() {
    let client = app().await;
    let response = client.get("/missing").header("accept", "text/html,application/xhtml+xml,*/*;q=0.8").await;
    response.assert_status(StatusCode::NOT_FOUND);
    let html = response.html();
    assert!(html.contains("<h1>Not Found</h1>") && html.contains("No such post."), "{html}");
}

#[tokio::test]
async fn unknown_path_is_a_rendered_404() {
    let client = app().await;
    let response = client.get("/nowhere").accept_json().await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json_value()["error"], "Not Found");
    assert!(response.json_value()["message"].as_str().unwrap().contains("was not found on the server"));
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let client = app().await;
    let response = client.post("/missing").accept_json().await;
    response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET,HEAD"));
    assert_eq!(response.json_value()["error"], "Method Not Allowed");
}

#[tokio::test]
async fn panic_is_a_500_that_leaks_nothing() {
    let client = app().await;
    let response = client.get("/boom").header("accept", "text/html").await;
    response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text();
    assert!(!body.contains("db-password-123") && !body.contains("exploded"), "{body}");
    assert!(body.contains("Internal Server Error"));
    assert!(response.header("x-request-id").is_some(), "the id to find the log line is returned");
    // The app keeps serving after a panic.
    client.get("/missing").await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn internal_error_source_stays_in_the_log() {
    let client = app().await;
    let response = client.get("/internal").accept_json().await;
    response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().contains("/var/secret"), "{}", response.text());
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let client = app().await;
    client.post("/upload").body(vec![b'x'; 64]).await.assert_status(StatusCode::OK).assert_text_contains("64 bytes");
    let response = client.post("/upload").body(vec![b'x'; 65]).accept_json().await;
    response.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json_value()["error"], "Payload Too Large");
}

#[tokio::test]
async fn extractor_rejection_is_rendered_with_its_message() {
    let client = app().await;
    let response = client.post("/json").header("content-type", "application/json").body("{nope").accept_json().await;
    response.assert_status(StatusCode::BAD_REQUEST);
    let body = response.json_value();
    assert_eq!(body["error"], "Bad Request");
    assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");
}

#[tokio::test]
async fn custom_handler_renders_its_status() {
    let client = builder()
        .error_handler(StatusCode::NOT_FOUND, |ctx: ErrorContext| {
            (ctx.status, Html(format!("<h1>File Not Found</h1><p>{}</p>", ctx.path))).into_response()
        })
        .client()
        .await;
    let response = client.get("/gone").await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(response.html(), "<h1>File Not Found</h1><p>/gone</p>");
}

#[tokio::test]
async fn handler_built_error_bodies_pass_untouched() {
    let client = builder()
        .endpoint(
            "teapot",
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, axum::Json(serde_json::json!({"tea": true}))) }),
        )
        .client()
        .await;
    let response = client.get("/teapot").header("accept", "text/html").await;
    assert_eq!(response.json_value(), serde_json::json!({"tea": true}));
}

#[tokio::test(start_paused = true)]
async fn slow_handler_times_out_with_503() {
    let client = builder()
        .set("app.request_timeout", 1.0)
        .endpoint(
            "slow",
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_mins(1)).await;
                "late"
            }),
        )
        .client()
        .await;
    let response = client.get("/slow").accept_json().await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

/// The timeout counts from the request's arrival, not from the handler's first wait (the timer
/// itself is only armed then): work done before that counts too.
#[tokio::test]
async fn timeout_counts_the_handlers_work_before_its_first_wait() {
    let client = builder()
        .set("app.request_timeout", 0.5)
        .endpoint(
            "busy",
            "/busy",
            get(|| async {
                // Synchronous work first (it blocks this worker, as CPU-bound work would),
                // then a wait that alone would fit in the timeout.
                std::thread::sleep(std::time::Duration::from_millis(400));
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                "late"
            }),
        )
        .client()
        .await;
    let response = client.get("/busy").accept_json().await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

/// A body sent in chunks, without `Content-Length`: only the extractor's limit can stop it.
fn chunked(size: usize) -> axum::body::Body {
    let chunks = vec![b'x'; size]
        .chunks(16 * 1024)
        .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_at_the_default_limit_and_a_set_one() {
    use tower::ServiceExt as _;
    for (limit, allowed) in [(None, 2 * 1024 * 1024), (Some(100_000), 100_000)] {
        let mut app = builder().endpoint(
            "upload",
            "/upload",
            post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
        );
        if let Some(limit) = limit {
            app = app.set("app.body_limit", limit);
        }
        let service = app.build().unwrap().start().await.unwrap().service();
        let send = |size| {
            let request = http::Request::post("/upload").body(chunked(size)).unwrap();
            service.clone().oneshot(request)
        };
        let ok = send(allowed).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK, "limit {limit:?}: a body of exactly the limit passes");
        let over = send(allowed + 1).await.unwrap();
        assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE, "limit {limit:?}: one byte more is refused");
    }
}
