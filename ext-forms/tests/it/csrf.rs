//! CSRF protection through a real app: every refusal with Flask-WTF's message, the ways a
//! token may come, exemptions, the HTTPS origin check, rotation at login.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use phial_core::HttpError;
use phial_core::axum::routing::{get, post};
use phial_core::prelude::*;
use phial_core::session::Session;
use phial_core::testing::{Multipart, TestClient};
use phial_forms::{CSRF_SESSION_KEY, Csrf, CsrfConfig, CsrfKeys, Form, FormsExtension};

#[derive(Debug, serde::Deserialize, validator::Validate)]
struct Note {
    #[validate(length(min = 1))]
    body: String,
}

async fn token(csrf: Csrf) -> Result<String, HttpError> {
    csrf.token()
}

/// What the session holds as the CSRF secret (for signing an old token in the expiry test).
async fn secret(session: Session) -> String {
    session.get::<String>(CSRF_SESSION_KEY).unwrap_or_default()
}

async fn submit(form: Form<Note>) -> (StatusCode, String) {
    match form.validate_on_submit() {
        Some(note) => (StatusCode::OK, note.body.clone()),
        None => (StatusCode::OK, format!("{:?}", form.errors())),
    }
}

/// A login that does what phial-login does to the session: a new id, per-login values gone.
async fn login(session: Session) -> Result<&'static str, HttpError> {
    session.cycle_id();
    session.insert("user_id", 1)?;
    Ok("logged in")
}

async fn client_with(scheme: &str) -> TestClient {
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test secret")
        .set("app.preferred_url_scheme", scheme)
        .set("forms.csrf.exempt", vec!["/hooks/"])
        .extension(FormsExtension::new())
        .endpoint("token", "/token", get(token))
        .endpoint("secret", "/secret", get(secret))
        .endpoint("submit", "/submit", post(submit).get(|| async { "a page" }))
        .endpoint("hook", "/hooks/{name}", post(|| async { "hooked" }))
        .endpoint("login", "/login", post(login))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
        .test_client()
}

async fn client() -> TestClient {
    client_with("http").await
}

fn message(response: &phial_core::testing::TestResponse) -> String {
    response.assert_status(StatusCode::BAD_REQUEST);
    response.text().to_owned()
}

#[tokio::test]
async fn a_token_in_the_form_or_a_header_is_accepted_and_the_body_still_reaches_the_handler() {
    let client = client().await;
    let token = client.get("/token").await.text().to_owned();
    let response = client.post("/submit").form(&[("csrf_token", token.as_str()), ("body", "hello")]).await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.text(), "hello");
    for header in ["X-CSRFToken", "X-CSRF-Token"] {
        let response = client.post("/submit").header(header, token.as_str()).form(&[("body", "via header")]).await;
        assert_eq!(response.text(), "via header", "{header}");
    }
    let multipart = Multipart::new().text("csrf_token", token.as_str()).text("body", "multipart");
    let response = client.post("/submit").multipart(multipart).await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.text(), "multipart");
}

#[tokio::test]
async fn each_refusal_has_flask_wtf_s_message() {
    let client = client().await;
    let token = client.get("/token").await.text().to_owned();

    let missing = client.post("/submit").form(&[("body", "x")]).await;
    assert!(message(&missing).contains("The CSRF token is missing."));

    let invalid = client.post("/submit").form(&[("csrf_token", "not.a.token"), ("body", "x")]).await;
    assert!(message(&invalid).contains("The CSRF token is invalid."));

    let stranger = client.new_session();
    let no_session = stranger.post("/submit").form(&[("csrf_token", token.as_str()), ("body", "x")]).await;
    assert!(message(&no_session).contains("The CSRF session token is missing."));

    stranger.get("/token").await.assert_status(StatusCode::OK);
    let other = stranger.post("/submit").form(&[("csrf_token", token.as_str()), ("body", "x")]).await;
    assert!(message(&other).contains("The CSRF tokens do not match."));

    let secret = client.get("/secret").await.text().to_owned();
    let keys = CsrfKeys::new(&phial_core::Secret::new("test secret"), &[], CsrfConfig::default()).unwrap();
    let old = keys.sign_at(&secret, SystemTime::now() - Duration::from_secs(3601));
    let expired = client.post("/submit").form(&[("csrf_token", old.as_str()), ("body", "x")]).await;
    assert!(message(&expired).contains("The CSRF token has expired."));
    let fresh = keys.sign(&secret);
    client.post("/submit").form(&[("csrf_token", fresh.as_str()), ("body", "x")]).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn safe_methods_and_exempt_routes_pass() {
    let client = client().await;
    client.get("/submit").await.assert_status(StatusCode::OK);
    client.head("/submit").await.assert_status(StatusCode::OK);
    let hook = client.post("/hooks/stripe").body("{}").await;
    hook.assert_status(StatusCode::OK);
    assert_eq!(hook.text(), "hooked");
}

#[tokio::test]
async fn a_token_from_before_login_is_refused_after_it() {
    let client = client().await;
    let before = client.get("/token").await.text().to_owned();
    client.post("/login").header("X-CSRFToken", before.as_str()).await.assert_status(StatusCode::OK);
    let after_login = client.post("/submit").form(&[("csrf_token", before.as_str()), ("body", "x")]).await;
    assert!(message(&after_login).contains("The CSRF session token is missing."));
    let new = client.get("/token").await.text().to_owned();
    assert_ne!(new, before);
    client.post("/submit").form(&[("csrf_token", new.as_str()), ("body", "x")]).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn over_https_the_origin_or_referer_must_be_this_host() {
    let client = client_with("https").await.with_host("app.example");
    let token = client.get("/token").await.text().to_owned();
    let post = |origin: Option<(&'static str, &'static str)>| {
        let mut request = client.post("/submit").header("X-CSRFToken", token.as_str());
        if let Some((name, value)) = origin {
            request = request.header(name, value);
        }
        request.form(&[("body", "x")])
    };
    let evil = post(Some(("Origin", "https://evil.example"))).await;
    assert!(message(&evil).contains("The origin does not match the host."));
    let nothing = post(None).await;
    assert!(message(&nothing).contains("The referrer header is missing."));
    let other_referer = post(Some(("Referer", "https://app.example.evil.example/form"))).await;
    assert!(message(&other_referer).contains("The referrer does not match the host."));
    post(Some(("Origin", "https://app.example"))).await.assert_status(StatusCode::OK);
    post(Some(("Referer", "https://app.example/form?x=1"))).await.assert_status(StatusCode::OK);
}

#[cfg(feature = "templates")]
#[tokio::test]
async fn templates_get_csrf_token_and_hidden_tag() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("form.html"),
        r#"<form method="post">{{ hidden_tag() }}<input name="body"></form>|{{ csrf_token() }}"#,
    )
    .unwrap();
    let client = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test secret")
        .set("app.template_folder", folder.path().display().to_string())
        .extension(FormsExtension::new())
        .endpoint(
            "page",
            "/page",
            get(|template: Template| async move { template.render("form.html", ()) }).post(submit),
        )
        .endpoint(
            "bare",
            "/bare",
            get(|request: phial_core::axum::extract::Request| async move {
                request.extensions().get::<phial_core::templates::TemplateVars>().is_some().to_string()
            }),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
        .test_client();
    let page = client.get("/page").await.text().to_owned();
    let (form, token) = page.split_once('|').unwrap();
    let hidden = format!(r#"<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">"#);
    assert!(form.contains(&hidden), "{page}");
    let response = client.post("/page").form(&[("csrf_token", token), ("body", "from the page")]).await;
    assert_eq!(response.text(), "from the page");
    // The helpers are made only for requests that render: a context processor, not a per-request
    // insert.
    assert_eq!(client.get("/bare").await.text(), "false");
}

#[tokio::test]
async fn per_form_mode_makes_a_bad_token_an_error_of_the_form_and_the_page_renders() {
    let client = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test secret")
        .set("forms.csrf.mode", "form")
        .extension(FormsExtension::new())
        .endpoint("token", "/token", get(token))
        .endpoint("submit", "/submit", post(submit))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
        .test_client();
    let res = client.post("/submit").form(&[("body", "hi")]).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), r#"{"csrf_token": ["The CSRF token is missing."]}"#);
    client.get("/token").await;
    let res = client.post("/submit").form(&[("body", "hi"), ("csrf_token", "forged.token")]).await;
    assert_eq!(res.text(), r#"{"csrf_token": ["The CSRF token is invalid."]}"#);
    let token = client.get("/token").await.text().to_owned();
    let res = client.post("/submit").form(&[("body", "hi"), ("csrf_token", token.as_str())]).await;
    assert_eq!(res.text(), "hi", "a good token passes");
}

/// `CsrfLayer` in a bare axum app: `Csrf` finds the keys the layer puts on each request, and
/// unsafe requests are checked as in a phial app.
#[tokio::test]
async fn the_layer_works_in_a_bare_axum_app() {
    use phial_core::axum::body::Body;
    use phial_core::session::{CookieSigner, SessionConfig, SessionLayer};
    use phial_core::tower::ServiceExt as _;
    use phial_forms::CsrfLayer;

    let secret = phial_core::Secret::new("a bare app's key");
    let keys = CsrfKeys::new(&secret, &[], CsrfConfig::default()).unwrap();
    let signer = CookieSigner::new(&secret, &[]).unwrap();
    let app: phial_core::axum::Router = phial_core::axum::Router::new()
        .route("/token", get(token))
        .route("/submit", post(|| async { "ok" }))
        .layer(CsrfLayer::new(keys, false))
        .layer(SessionLayer::new(signer, SessionConfig::default(), false, None));
    let send = |request: http::Request<Body>| app.clone().oneshot(request);

    let response = send(http::Request::get("/token").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body = phial_core::axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let token = String::from_utf8(body.to_vec()).unwrap();

    let post = |token: Option<&str>| {
        let mut request = http::Request::post("/submit").header("cookie", &cookie);
        if let Some(token) = token {
            request = request.header("x-csrftoken", token);
        }
        send(request.body(Body::empty()).unwrap())
    };
    assert_eq!(post(Some(&token)).await.unwrap().status(), StatusCode::OK);
    let refused = post(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body = phial_core::axum::body::to_bytes(refused.into_body(), usize::MAX).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("The CSRF token is missing."), "{body:?}");
}
