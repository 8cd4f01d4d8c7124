//! Uploads through a real app: Flask-WTF's file checks, content sniffing, the body limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use phial_core::axum::routing::post;
use phial_core::prelude::*;
use phial_core::testing::{Multipart, TestClient};
use phial_forms::{FileAllowed, FileRequired, FileSize, Form};

#[derive(Debug, serde::Deserialize, validator::Validate)]
struct Avatar {
    caption: Option<String>,
}

const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00";

async fn client(body_limit: u64, calls: Arc<AtomicUsize>) -> TestClient {
    app(body_limit, calls).await.test_client()
}

async fn app(body_limit: u64, calls: Arc<AtomicUsize>) -> RunningApp {
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .set("app.body_limit", body_limit)
        .endpoint(
            "upload",
            "/upload",
            post(move |mut form: Form<Avatar>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    form.check_file(
                        "photo",
                        &[&FileRequired::new(), &FileAllowed::new(["jpg", "png"]), &FileSize::new(1024)],
                    );
                    match form.validate_on_submit().zip(form.file("photo")) {
                        Some((avatar, photo)) => (
                            StatusCode::CREATED,
                            format!("{}: {}", avatar.caption.as_deref().unwrap_or("-"), photo.safe_filename()),
                        ),
                        None => (StatusCode::OK, form.errors_for("photo").join(" | ")),
                    }
                }
            }),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

fn photo(filename: &str, bytes: &[u8]) -> Multipart {
    Multipart::new().text("caption", "me").file("photo", filename, "image/jpeg", bytes.to_vec())
}

#[tokio::test]
async fn an_allowed_file_is_accepted_with_a_safe_name() {
    let client = client(1 << 20, Arc::default()).await;
    let response = client.post("/upload").multipart(photo("../../My Photo.JPG", JPEG)).await;
    response.assert_status(StatusCode::CREATED);
    assert_eq!(response.text(), "me: My_Photo.JPG");
}

#[tokio::test]
async fn each_check_refuses_with_its_message() {
    let client = client(1 << 20, Arc::default()).await;
    let cases: [(Multipart, &str); 4] = [
        (Multipart::new().text("caption", "no file"), "This field is required."),
        (photo("notes.svg", b"<svg/>"), "File does not have an approved extension: jpg, png"),
        (photo("evil.JPG", b"<html><script>alert(1)</script></html>"), "File content does not match its extension."),
        (photo("big.jpg", &[JPEG, &[0_u8; 2000]].concat()), "File must be between 0 and 1024 bytes."),
    ];
    for (form, message) in cases {
        let response = client.post("/upload").multipart(form).await;
        response.assert_status(StatusCode::OK);
        assert_eq!(response.text(), message);
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_before_the_handler_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let client = client(4096, Arc::clone(&calls)).await;
    let response = client.post("/upload").multipart(photo("huge.jpg", &[JPEG, &vec![0_u8; 64 * 1024]].concat())).await;
    response.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler never saw the upload");
}

/// A multipart body that arrives a few bytes at a time (as a slow client sends it) reads the
/// same: the extractor reads it whole before parsing, so it is searched for boundaries once.
#[tokio::test]
async fn a_multipart_body_in_small_pieces_reads_whole() {
    use phial_core::tower::ServiceExt as _;

    let app = app(1 << 20, Arc::default()).await;
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nslow\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        .to_vec();
    body.extend_from_slice(JPEG);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(7).map(|piece| Ok(piece.to_vec())).collect();
    let request = http::Request::post("/upload")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(phial_core::axum::body::Body::from_stream(futures_util::stream::iter(pieces)))
        .unwrap();
    let response = app.service().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = phial_core::axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(text, "slow: me.jpg");
}
