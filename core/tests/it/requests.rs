//! Requests through a started app: routing, `url_for`, state, sessions, flashes, health.

use axum::extract::State;
use axum::response::Redirect;
use axum::routing::{get, post};
use http::StatusCode;
use phial_core::prelude::*;

use crate::{Started as _, builder};

#[tokio::test]
async fn blueprint_routes_are_prefixed_and_named() {
    let auth = Blueprint::new("auth")
        .endpoint("login", "/login", get(|urls: Urls| async move { urls.url_for("auth.logout", ()).unwrap() }))
        .endpoint("logout", "/logout", get(|| async { "bye" }));
    let running = builder().blueprint("/auth", auth).build().unwrap().start().await.unwrap();
    let client = running.test_client();
    client.get("/auth/login").await.assert_status(StatusCode::OK).assert_text_contains("/auth/logout");
    assert_eq!(running.state().url_for("auth.login", [("next", "/a b")]).unwrap(), "/auth/login?next=%2Fa%20b");
}

#[tokio::test]
async fn url_for_errors_name_the_problem() {
    let running =
        builder().endpoint("user", "/user/{username}", get(|| async { "" })).build().unwrap().start().await.unwrap();
    let state = running.state();
    assert_eq!(state.url_for("user", [("username", "susan")]).unwrap(), "/user/susan");
    let missing = state.url_for("user", ()).unwrap_err().to_string();
    assert!(missing.contains("missing parameter `username`"), "{missing}");
    let unknown = state.url_for("profile", ()).unwrap_err().to_string();
    assert!(unknown.contains("no such endpoint"), "{unknown}");
    assert_eq!(state.url_for("static", [("filename", "css/app.css")]).unwrap(), "/static/css/app.css");
}

#[tokio::test]
async fn external_urls_use_the_request_host() {
    let client = builder()
        .endpoint("post", "/post/{id}", get(|urls: Urls| async move { urls.external("post", [("id", 7)]).unwrap() }))
        .client()
        .await
        .with_host("blog.example:8080");
    client.get("/post/1").await.assert_text_contains("http://blog.example:8080/post/7");
}

#[tokio::test]
async fn duplicate_endpoint_is_a_build_error() {
    let err = builder()
        .endpoint("index", "/", get(|| async { "" }))
        .endpoint("index", "/home", get(|| async { "" }))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("endpoint `index` is defined twice"), "{err}");
}

#[tokio::test]
async fn conflicting_routes_are_a_build_error_not_a_panic() {
    let err = builder()
        .endpoint("a", "/x", get(|| async { "" }))
        .endpoint("b", "/x", get(|| async { "" }))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("route `/x`"), "{err}");
}

struct Counter(std::sync::atomic::AtomicU32);

#[tokio::test]
async fn registered_state_is_extracted_with_ext() {
    let client = builder()
        .state(Counter(std::sync::atomic::AtomicU32::new(0)))
        .endpoint(
            "count",
            "/count",
            get(|Ext(counter): Ext<Counter>| async move {
                (counter.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1).to_string()
            }),
        )
        .endpoint("missing", "/missing", get(|_: Ext<String>| async { "" }))
        .client()
        .await;
    client.get("/count").await.assert_text_contains("1");
    client.get("/count").await.assert_text_contains("2");
    client.get("/missing").await.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
}

async fn login(session: Session) -> Result<Redirect, HttpError> {
    session.cycle_id();
    session.insert("user", "susan")?;
    session.flash_with("info", "Welcome back!");
    Ok(Redirect::to("/"))
}

async fn whoami(session: Session) -> String {
    let flashes: Vec<String> =
        session.get_flashed_messages(&[]).into_iter().map(|f| format!("{}:{}", f.category, f.message)).collect();
    format!("{}|{}", session.get::<String>("user").unwrap_or_else(|| "anonymous".into()), flashes.join(","))
}

fn session_app(store: &str) -> AppBuilder {
    builder().set("app.session.store", store).endpoint("login", "/login", post(login)).endpoint(
        "index",
        "/",
        get(whoami),
    )
}

#[tokio::test]
async fn cookie_session_round_trip_with_flash_shown_once() {
    let client = session_app("cookie").client().await;
    let response = client.post("/login").await;
    response.assert_status(StatusCode::SEE_OTHER);
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not secure outside production: {cookie}");
    client.get("/").await.assert_text_contains("susan|info:Welcome back!");
    client.get("/").await.assert_text_contains("susan|");
    assert_eq!(client.get("/").await.text(), "susan|");
}

#[tokio::test]
async fn tampered_session_cookie_gives_an_empty_session_not_an_error() {
    let client = session_app("cookie").client().await;
    client.post("/login").await;
    let value = client.cookie("session").unwrap();
    let mut tampered = value.into_bytes();
    let i = tampered.len() / 3;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    client.set_cookie("session", std::str::from_utf8(&tampered).unwrap());
    let response = client.get("/").await;
    response.assert_status(StatusCode::OK);
    assert!(response.text().starts_with("anonymous"));
}

#[tokio::test]
async fn rotated_secret_key_still_reads_old_cookies() {
    let old = session_app("cookie").set("app.secret_key", "old-key").build().unwrap().start().await.unwrap();
    let client = old.test_client();
    client.post("/login").await;
    let cookie = client.cookie("session").unwrap();

    let rotated = session_app("cookie")
        .set("app.secret_key", "new-key")
        .config_toml("[app]\nsecret_key_fallbacks = [\"old-key\"]\n")
        .client()
        .await;
    rotated.set_cookie("session", &cookie);
    rotated.get("/").await.assert_text_contains("susan");

    let without = session_app("cookie").set("app.secret_key", "new-key").client().await;
    without.set_cookie("session", &cookie);
    without.get("/").await.assert_text_contains("anonymous");
}

#[tokio::test]
async fn memory_store_rotates_the_session_id_at_login() {
    let client = session_app("memory")
        .endpoint(
            "visit",
            "/visit",
            post(|session: Session| async move { session.insert("visited", true).map(|()| "ok") }),
        )
        .client()
        .await;
    client.post("/visit").await.assert_status(StatusCode::OK);
    let before = client.cookie("session").unwrap();
    client.post("/login").await;
    let after = client.cookie("session").unwrap();
    assert_ne!(before, after, "login must not keep the pre-login session id");
    client.get("/").await.assert_text_contains("susan");
    let attacker = client.new_session();
    attacker.set_cookie("session", &before);
    attacker.get("/").await.assert_text_contains("anonymous");
}

#[tokio::test]
async fn unknown_session_store_fails_startup() {
    let err = session_app("redis").build().unwrap().start().await.err().unwrap().to_string();
    assert!(err.contains("app.session.store") && err.contains("redis"), "{err}");
}

#[tokio::test]
async fn vary_cookie_only_when_the_session_is_used() {
    let client = session_app("cookie").endpoint("plain", "/plain", get(|| async { "plain" })).client().await;
    assert_eq!(client.get("/plain").await.header("vary"), None);
    let vary = client.get("/").await.header("vary").map(str::to_owned);
    assert_eq!(vary.as_deref(), Some("Cookie"));
}

#[tokio::test]
async fn production_session_cookie_is_secure() {
    let client = App::builder()
        .profile(Profile::Production)
        .env([("SECRET_KEY", "production-secret")])
        .endpoint("login", "/login", post(login))
        .client()
        .await;
    let response = client.post("/login").await;
    assert!(response.header("set-cookie").unwrap().contains("Secure"));
}

struct Sick;

impl Extension for Sick {
    const NAME: &'static str = "sick";
    type Config = ();

    fn build(&self, (): &(), _: &mut BuildCtx<'_>) -> Result<(), Error> {
        Ok(())
    }

    async fn health(&self, _: &AppState) -> Health {
        Health::unhealthy("replica lag 40s")
    }
}

#[tokio::test]
async fn readiness_reports_each_extension() {
    let healthy = crate::hello_app().await.test_client();
    healthy.get("/healthz").await.assert_status(StatusCode::OK).assert_text_contains("ok");
    let report = healthy.get("/readyz").await;
    report.assert_status(StatusCode::OK);
    assert_eq!(report.json_value()["status"], "ok");

    let sick = builder().extension(Sick).client().await;
    let report = sick.get("/readyz").await;
    report.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = report.json_value();
    assert_eq!(body["checks"][0]["name"], "sick");
    assert_eq!(body["checks"][0]["status"], "unhealthy");
    assert_eq!(body["checks"][0]["message"], "replica lag 40s");
}

#[tokio::test]
async fn health_paths_can_be_renamed_or_removed() {
    let client = builder().set("app.liveness_path", "/live").set("app.readiness_path", "").client().await;
    client.get("/live").await.assert_status(StatusCode::OK);
    client.get("/healthz").await.assert_status(StatusCode::NOT_FOUND);
    client.get("/readyz").await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn static_files_are_served_with_cache_headers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("css")).unwrap();
    std::fs::write(dir.path().join("css/app.css"), "body { color: red }").unwrap();
    let client =
        builder().set("app.static_folder", dir.path().to_str().unwrap()).set("app.static_max_age", 600).client().await;
    let response = client.get("/static/css/app.css").await;
    response.assert_status(StatusCode::OK).assert_text_contains("color: red");
    assert_eq!(response.header("cache-control"), Some("public, max-age=600"));
    client.get("/static/../Cargo.toml").await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let client = crate::hello_app().await.test_client();
    let given = client.get("/").header("x-request-id", "abc-123").await;
    assert_eq!(given.header("x-request-id"), Some("abc-123"));
    let generated = client.get("/").await;
    let first = generated.header("x-request-id").unwrap().to_owned();
    let second = client.get("/").await.header("x-request-id").unwrap().to_owned();
    assert_ne!(first, second);
}

/// The id a handler extracts is the one the response carries, incoming or generated; and
/// code that only has the request's extensions finds the same id, the app's state and the
/// session there.
#[tokio::test]
async fn request_id_state_and_session_are_found_through_the_request() {
    use axum::extract::Request;
    use phial_core::RequestId;
    use phial_core::session::Session;

    let client = builder()
        .endpoint("id", "/id", get(|id: RequestId| async move { id.to_string() }))
        .endpoint(
            "parts",
            "/parts",
            get(|request: Request| async move {
                let extensions = request.extensions();
                let id = RequestId::from_extensions(extensions).map(ToString::to_string);
                let profile = AppState::from_extensions(extensions).map(|state| state.profile().to_string());
                let session = Session::from_extensions(extensions).is_some();
                format!("{id:?} {profile:?} {session}")
            }),
        )
        .client()
        .await;
    let given = client.get("/id").header("x-request-id", "abc-123").await;
    given.assert_status(StatusCode::OK);
    assert_eq!(given.text(), "abc-123");
    let generated = client.get("/id").await;
    assert_eq!(Some(generated.text()), generated.header("x-request-id"));
    let parts = client.get("/parts").header("x-request-id", "abc-123").await;
    parts.assert_status(StatusCode::OK);
    assert_eq!(parts.text(), r#"Some("abc-123") Some("testing") true"#);
}

/// Outside a phial app (no outer layer), the `RequestId` extractor is a 500 with a message for
/// the log, not a panic.
#[tokio::test]
async fn request_id_outside_an_app_is_an_internal_error() {
    use phial_core::RequestId;
    use tower::ServiceExt as _;

    let router: axum::Router = axum::Router::new().route("/", get(|id: RequestId| async move { id.to_string() }));
    let request = http::Request::get("/").body(axum::body::Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn state_extractor_works_in_handlers() {
    let client = builder()
        .endpoint(
            "profile",
            "/profile",
            get(|State(state): State<AppState>| async move { state.profile().to_string() }),
        )
        .client()
        .await;
    client.get("/profile").await.assert_text_contains("testing");
}
