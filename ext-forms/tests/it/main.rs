//! phial-forms through a real app: bodies of each kind, WTForms' messages, JSON clients.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use http::StatusCode;
use phial_core::axum::Json;
use phial_core::axum::routing::post;
use phial_core::prelude::*;
use phial_core::testing::TestClient;
use phial_forms::Form;
use serde::Deserialize;
use validator::Validate;

mod csrf;
#[cfg(feature = "templates")]
mod render;
mod upload;

#[derive(Debug, Deserialize, Validate)]
struct Register {
    #[validate(custom(function = "phial_forms::data_required"), length(min = 3, max = 64))]
    username: String,
    #[validate(email)]
    email: String,
    #[validate(length(min = 8))]
    password: String,
    #[validate(must_match(other = "password"))]
    password2: String,
    #[validate(range(min = 18))]
    age: u32,
    #[validate(length(min = 1, max = 140))]
    about_me: String,
}

/// Answers the form's state as JSON so tests can read it: valid → 201 with the username;
/// invalid → 200 with the errors and the submitted username (what a re-rendered page shows).
async fn register(form: Form<Register>) -> (StatusCode, Json<serde_json::Value>) {
    if let Some(user) = form.validate_on_submit() {
        return (StatusCode::CREATED, Json(serde_json::json!({ "created": user.username })));
    }
    let body = serde_json::json!({
        "submitted": form.is_submitted(),
        "errors": form.errors(),
        "username": form.value("username"),
    });
    (StatusCode::OK, Json(body))
}

async fn client() -> TestClient {
    let app = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .endpoint("register", "/register", post(register).get(register))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    app.test_client()
}

const VALID: [(&str, &str); 6] = [
    ("username", "susan"),
    ("email", "susan@example.com"),
    ("password", "correct horse"),
    ("password2", "correct horse"),
    ("age", "30"),
    ("about_me", "hello"),
];

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    VALID
        .iter()
        .map(|(name, value)| (*name, changes.iter().find(|(n, _)| n == name).map_or(*value, |(_, v)| *v)))
        .collect()
}

#[tokio::test]
async fn a_valid_form_is_accepted() {
    let client = client().await;
    let response = client.post("/register").form(&VALID).await;
    response.assert_status(StatusCode::CREATED);
    assert_eq!(response.json_value()["created"], "susan");
}

/// Changed fields, the field with the error, the message WTForms gives.
type Case = (&'static [(&'static str, &'static str)], &'static str, &'static str);

#[tokio::test]
async fn each_wtforms_message_for_its_input() {
    let client = client().await;
    let cases: [Case; 8] = [
        (&[("username", "")], "username", "This field is required."),
        (&[("username", "jo")], "username", "Field must be between 3 and 64 characters long."),
        (&[("about_me", "")], "about_me", "Field must be between 1 and 140 characters long."),
        (&[("email", "not-an-email")], "email", "Invalid email address."),
        (&[("password2", "something else")], "password2", "Field must be equal to password."),
        (&[("age", "eighteen")], "age", "Not a valid integer value."),
        (&[("age", "12")], "age", "Number must be at least 18."),
        (&[("password", "short"), ("password2", "short")], "password", "Field must be at least 8 characters long."),
    ];
    for (changes, field, message) in cases {
        let response = client.post("/register").form(&with(changes)).await;
        response.assert_status(StatusCode::OK);
        let body = response.json_value();
        assert_eq!(body["errors"][field], serde_json::json!([message]), "{changes:?}: {body}");
        assert_eq!(body["username"], changes.iter().find(|(n, _)| *n == "username").map_or("susan", |(_, v)| *v));
    }
}

#[tokio::test]
async fn every_field_is_reported_at_once_and_a_missing_number_is_required() {
    let client = client().await;
    let response = client.post("/register").form(&[("username", "x"), ("email", "bad"), ("password", "p")]).await;
    let errors = &response.json_value()["errors"];
    assert_eq!(errors["age"], serde_json::json!(["This field is required."]));
    assert_eq!(errors["username"], serde_json::json!(["Field must be between 3 and 64 characters long."]));
    assert_eq!(errors["email"], serde_json::json!(["Invalid email address."]));
    assert_eq!(errors["password"], serde_json::json!(["Field must be at least 8 characters long."]));
}

#[tokio::test]
async fn get_is_not_a_submission() {
    let client = client().await;
    let body = client.get("/register").await.json_value();
    assert_eq!(body["submitted"], false);
    assert_eq!(body["errors"], serde_json::json!({}));
}

#[tokio::test]
async fn json_clients_get_422_with_the_errors() {
    let client = client().await;
    let response = client.post("/register").json(&serde_json::json!({"username": "susan", "age": 12})).await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.json_value();
    assert_eq!(body["errors"]["age"], serde_json::json!(["Number must be at least 18."]));
    let mut valid: serde_json::Map<String, serde_json::Value> =
        VALID.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
    valid.insert("age".into(), 30.into());
    client.post("/register").json(&valid).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn malformed_bodies_are_clear_errors() {
    let client = client().await;
    let response = client.post("/register").header("content-type", "application/json").body("{\"username\": ").await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert!(response.text().contains("not valid JSON"), "{}", response.text());
    let response = client.post("/register").header("content-type", "application/json").body("[1]").await;
    response.assert_status(StatusCode::BAD_REQUEST);
    let response = client.post("/register").header("content-type", "text/plain").body("username=x").await;
    response.assert_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Bytes that are not UTF-8 and broken escapes in a urlencoded body are read, not a panic.
    let response = client
        .post("/register")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(&b"username=%ff%fe%&age=%zz&\xff\xfe=1"[..])
        .await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.json_value()["errors"]["age"], serde_json::json!(["Not a valid integer value."]));
}

#[tokio::test]
async fn accept_json_on_a_urlencoded_post_gets_422() {
    let client = client().await;
    let response = client.post("/register").accept_json().form(&with(&[("age", "3")])).await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json_value()["errors"]["age"], serde_json::json!(["Number must be at least 18."]));
}

#[tokio::test]
async fn a_catalog_in_the_request_translates_the_messages() {
    let spanish = phial_forms::Catalog::new("es")
        .add("This field is required.", "Este campo es obligatorio.")
        .add("Number must be at least {min}.", "El número debe ser al menos {min}.");
    let app = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .endpoint(
            "register",
            "/register",
            post(register).layer(phial_core::axum::Extension(std::sync::Arc::new(spanish))),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = app.test_client();
    let errors =
        client.post("/register").form(&with(&[("age", "3"), ("username", " ")])).await.json_value()["errors"].clone();
    assert_eq!(errors["age"], serde_json::json!(["El número debe ser al menos 18."]));
    assert_eq!(errors["username"], serde_json::json!(["Este campo es obligatorio."]));
    assert_eq!(errors["email"], serde_json::Value::Null, "valid fields have no errors");
}

/// A urlencoded POST whose body comes in pieces, without `Content-Length` (so no layer can
/// refuse it by its declared length), answered by `app`.
async fn streamed_post(app: &RunningApp, pieces: &[&str]) -> (StatusCode, String) {
    use phial_core::tower::ServiceExt as _;

    let pieces: Vec<Result<String, std::io::Error>> = pieces.iter().map(|piece| Ok((*piece).to_owned())).collect();
    let request = http::Request::post("/register")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(phial_core::axum::body::Body::from_stream(futures_util::stream::iter(pieces)))
        .unwrap();
    let response = app.service().oneshot(request).await.unwrap();
    let status = response.status();
    let body = phial_core::axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// An app serving `register` on `/register`, with `setting` = `value` and `extension`.
async fn register_app(setting: &str, value: i64, extension: Option<phial_forms::FormsExtension>) -> RunningApp {
    let mut builder = App::builder().profile(Profile::Testing).set("app.secret_key", "test").set(setting, value);
    if let Some(extension) = extension {
        builder = builder.extension(extension);
    }
    builder.endpoint("register", "/register", post(register)).build().unwrap().start().await.unwrap()
}

#[tokio::test]
async fn a_streamed_body_is_joined_and_stopped_at_the_limit() {
    let app = register_app("app.body_limit", 64, None).await;
    let (status, body) = streamed_post(&app, &["username=su", "san&age=", "12"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""username":"susan""#), "{body}");
    assert!(body.contains("Number must be at least 18."), "{body}");
    let long = "x".repeat(100);
    let (status, body) = streamed_post(&app, &["username=", &long]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn the_csrf_layer_stops_a_streamed_form_at_its_limit() {
    let app = register_app("forms.csrf.max_form_bytes", 64, Some(phial_forms::FormsExtension::new())).await;
    let long = "x".repeat(100);
    let (status, body) = streamed_post(&app, &["csrf_token=", &long]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("The form is too large to check its CSRF token."), "{body}");
    // Within the limit the token is found across the pieces (and here refused as invalid).
    let (status, body) = streamed_post(&app, &["csrf_to", "ken=abc&username=susan"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("The CSRF session token is missing."), "{body}");
}

/// A body of a hundred thousand distinct names (well inside the 2 MiB default limit) reads in
/// linear time: finding distinct names and a `must_match` partner once searched the whole form
/// for each name, minutes of one worker's CPU for one request.
#[test]
fn a_form_of_a_hundred_thousand_names_reads_with_every_error() {
    use std::fmt::Write as _;

    let mut body =
        String::from("username=susan&email=susan%40example.com&password=correct+horse&password2=other&age=30");
    for i in 0..100_000 {
        write!(body, "&extra{i}=x").unwrap();
    }
    body.push_str("&about_me=hello");
    let form = Form::<Register>::submit(phial_forms::FormData::from_urlencoded(body.as_bytes()), None);
    assert_eq!(form.errors().len(), 1, "{:?}", form.errors());
    assert_eq!(form.errors_for("password2"), ["Field must be equal to password."]);
    assert_eq!(form.data().len(), 100_006);
}
