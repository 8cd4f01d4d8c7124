//! End-to-end tests of the session module: a small axum app behind [`SessionLayer`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use futures_util::future::BoxFuture;
use http::header::{COOKIE, SET_COOKIE, VARY};
use http::{Request, StatusCode};
use time::OffsetDateTime;
use tower::ServiceExt as _;

use super::*;
use crate::error::{BoxError, HttpError};
use crate::secret::Secret;

const KEY: &str = "current key";

fn signer() -> CookieSigner {
    CookieSigner::new(&Secret::new(KEY), &[]).expect("non-empty key")
}

#[derive(serde::Deserialize)]
struct Filter {
    category: Option<String>,
}

fn routes() -> Router {
    Router::new()
        .route("/set", get(|s: Session| async move { s.insert("user", "alice").map(|()| "ok") }))
        .route("/get", get(|s: Session| async move { s.get::<String>("user").unwrap_or_else(|| "none".into()) }))
        .route("/untouched", get(|| async { "plain" }))
        .route(
            "/get-after",
            get(|s: Session| async move { s.get::<bool>("after-saw-first").map_or("none".into(), |b| b.to_string()) }),
        )
        .route(
            "/after",
            get(|s: Session| async move {
                s.after_response(|response| {
                    response.headers_mut().insert("x-first", http::HeaderValue::from_static("1"));
                });
                let session = s.clone();
                s.after_response(move |response| {
                    // Runs second, and may still write to the session.
                    let first = response.headers().contains_key("x-first");
                    session.insert("after-saw-first", first).expect("serializable");
                });
                "after"
            }),
        )
        .route("/extract-only", get(|_: Session| async { "extracted" }))
        .route("/clear", get(|s: Session| async move { s.clear() }))
        .route(
            "/permanent",
            get(|s: Session| async move {
                s.set_permanent(true);
                s.insert("user", "alice")
            }),
        )
        .route("/big", get(|s: Session| async move { s.insert("blob", "x".repeat(5000)) }))
        .route(
            "/cycle",
            get(|s: Session| async move {
                s.cycle_id();
                s.insert("user", "alice")
            }),
        )
        .route(
            "/set-per-login",
            get(|s: Session| async move { s.insert(format!("{PER_LOGIN_PREFIX}secret"), "s3cret").map(|()| "ok") }),
        )
        .route(
            "/per-login",
            get(|s: Session| async move {
                s.get::<String>(&format!("{PER_LOGIN_PREFIX}secret")).unwrap_or_else(|| "none".into())
            }),
        )
        .route("/id", get(|s: Session| async move { s.id().map_or("none".to_owned(), |id| id.as_str().to_owned()) }))
        .route(
            "/flash",
            get(|s: Session| async move {
                s.flash("Welcome.");
                s.flash_with("error", "Bad password.");
            }),
        )
        .route(
            "/flashes",
            get(|s: Session, Query(filter): Query<Filter>| async move {
                let filter: Vec<&str> = filter.category.iter().map(String::as_str).collect();
                let first = s.get_flashed_messages(&filter);
                assert_eq!(s.get_flashed_messages(&filter), first, "the same request sees the same flashes");
                first.iter().map(|f| format!("{}:{}", f.category, f.message)).collect::<Vec<_>>().join("|")
            }),
        )
}

fn app(config: SessionConfig, secure: bool, store: Option<Arc<dyn SessionStore>>) -> Router {
    routes().layer(SessionLayer::new(signer(), config, secure, store))
}

fn cookie_app() -> Router {
    app(SessionConfig::default(), false, None)
}

fn memory_app(store: &Arc<MemoryStore>) -> Router {
    let store: Arc<dyn SessionStore> = store.clone();
    app(SessionConfig::default(), false, Some(store))
}

async fn send(app: &Router, uri: &str, cookie: Option<&str>) -> Response {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    app.clone().oneshot(request.body(Body::empty()).expect("valid request")).await.expect("infallible")
}

async fn body(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("readable body");
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

fn set_cookie(response: &Response) -> Option<String> {
    let mut values = response.headers().get_all(SET_COOKIE).iter();
    let value = values.next()?.to_str().expect("ASCII header").to_owned();
    assert!(values.next().is_none(), "one Set-Cookie at most");
    Some(value)
}

/// The `name=value` part of a `Set-Cookie` header, as a browser would send it back.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("split yields one item").to_owned()
}

fn attributes(set_cookie: &str) -> Vec<String> {
    let mut attributes: Vec<String> = set_cookie.split(';').skip(1).map(|a| a.trim().to_owned()).collect();
    attributes.sort();
    attributes
}

fn has_vary_cookie(response: &Response) -> bool {
    response.headers().get_all(VARY).iter().any(|value| value == "Cookie")
}

#[tokio::test]
async fn session_round_trips_through_the_cookie() {
    let app = cookie_app();
    let response = send(&app, "/set", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = pair(&set_cookie(&response).expect("cookie written"));
    assert!(cookie.starts_with("session="));
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
}

#[tokio::test]
async fn tampered_cookie_gives_an_empty_session_and_the_handler_still_answers_200() {
    let app = cookie_app();
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    let value = cookie.trim_start_matches("session=");
    let forged_payload =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"user":"admin"}"#);
    let rest = value.split_once('.').expect("signed value").1;
    for tampered in [format!("session={forged_payload}.{rest}"), format!("{cookie}x"), "session=garbage".to_owned()] {
        let response = send(&app, "/get", Some(&tampered)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(set_cookie(&response).is_none(), "reading an empty session writes nothing");
        assert_eq!(body(response).await, "none");
    }
}

#[tokio::test]
async fn expired_cookie_gives_an_empty_session() {
    let config = SessionConfig::default();
    let issued = SystemTime::now() - config.lifetime_duration() - Duration::from_secs(10);
    let cookie = format!("session={}", signer().sign_at(br#"{"user":"alice"}"#, issued));
    assert_eq!(body(send(&cookie_app(), "/get", Some(&cookie)).await).await, "none");
}

#[tokio::test]
async fn cookie_signed_with_a_fallback_key_is_accepted_and_signed_again_with_the_current_key() {
    let old = CookieSigner::new(&Secret::new("old key"), &[]).expect("non-empty key");
    let cookie = format!("session={}", old.sign(br#"{"user":"alice"}"#));
    let rotated = CookieSigner::new(&Secret::new(KEY), &[Secret::new("old key")]).expect("non-empty keys");
    let app = routes().layer(SessionLayer::new(rotated, SessionConfig::default(), false, None));

    let response = send(&app, "/get", Some(&cookie)).await;
    let resigned = set_cookie(&response).expect("cookie signed again");
    assert_eq!(body(response).await, "alice");
    let value = pair(&resigned).trim_start_matches("session=").to_owned();
    let verified = signer().verify(&value, Duration::from_mins(1)).expect("signed with the current key alone");
    assert_eq!(verified.payload, br#"{"user":"alice"}"#);
    assert!(old.verify(&value, Duration::from_mins(1)).is_err());
}

#[tokio::test]
async fn a_cookie_read_again_gives_the_same_session_and_a_change_made_through_it_stays_with_its_new_cookie() {
    let app = cookie_app();
    let first = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    for _ in 0..3 {
        assert_eq!(body(send(&app, "/get", Some(&first)).await).await, "alice");
    }
    let second = pair(&set_cookie(&send(&app, "/set-per-login", Some(&first)).await).expect("cookie written"));
    assert_ne!(first, second);
    assert_eq!(body(send(&app, "/per-login", Some(&first)).await).await, "none");
    assert_eq!(body(send(&app, "/per-login", Some(&second)).await).await, "s3cret");
    assert_eq!(body(send(&app, "/get", Some(&second)).await).await, "alice");
    // A cleared session's emptiness stays with that request too.
    assert!(set_cookie(&send(&app, "/clear", Some(&second)).await).is_some());
    assert_eq!(body(send(&app, "/per-login", Some(&second)).await).await, "s3cret");
}

#[tokio::test]
async fn a_cookie_read_before_is_still_refused_once_it_outlives_the_lifetime() {
    // Issued 58 s before a 60 s lifetime ends: accepted (and kept decoded) now, refused in 3 s.
    let config = SessionConfig { lifetime: 60, ..SessionConfig::default() };
    let issued = SystemTime::now() - Duration::from_secs(58);
    let cookie = format!("session={}", signer().sign_at(br#"{"user":"alice"}"#, issued));
    let app = app(config, false, None);
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "none");
}

#[tokio::test]
async fn a_fallback_signed_cookie_read_again_is_signed_again_each_time() {
    let old = CookieSigner::new(&Secret::new("old key"), &[]).expect("non-empty key");
    let cookie = format!("session={}", old.sign(br#"{"user":"alice"}"#));
    let rotated = CookieSigner::new(&Secret::new(KEY), &[Secret::new("old key")]).expect("non-empty keys");
    let app = routes().layer(SessionLayer::new(rotated, SessionConfig::default(), false, None));
    for _ in 0..2 {
        let response = send(&app, "/get", Some(&cookie)).await;
        assert!(set_cookie(&response).is_some(), "a cookie under a fallback key is signed again");
        assert_eq!(body(response).await, "alice");
    }
}

#[tokio::test]
async fn sessions_work_with_the_decoded_cache_turned_off() {
    let app = app(SessionConfig { decoded_cache: 0, ..SessionConfig::default() }, false, None);
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
}

#[tokio::test]
async fn cookie_signed_with_an_unknown_key_gives_an_empty_session() {
    let stranger = CookieSigner::new(&Secret::new("someone else's key"), &[]).expect("non-empty key");
    let cookie = format!("session={}", stranger.sign(br#"{"user":"alice"}"#));
    assert_eq!(body(send(&cookie_app(), "/get", Some(&cookie)).await).await, "none");
}

#[tokio::test]
async fn reading_the_session_adds_vary_cookie_without_writing_it() {
    let app = cookie_app();
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    let response = send(&app, "/get", Some(&cookie)).await;
    assert!(has_vary_cookie(&response));
    assert!(set_cookie(&response).is_none());
    assert!(has_vary_cookie(&send(&app, "/get", None).await));
}

#[tokio::test]
async fn after_response_functions_run_in_order_before_the_session_is_written() {
    let app = cookie_app();
    let response = send(&app, "/after", None).await;
    assert_eq!(response.headers().get("x-first").map(http::HeaderValue::as_bytes), Some(&b"1"[..]));
    let cookie = pair(&set_cookie(&response).expect("the second function's write is saved"));
    let stored = send(&app, "/get-after", Some(&cookie)).await;
    assert_eq!(body(stored).await, "true");
}

#[tokio::test]
async fn registering_an_after_response_function_alone_leaves_the_session_alone() {
    let app = routes()
        .route("/only-after", get(|s: Session| async move { s.after_response(|_| {}) }))
        .layer(SessionLayer::new(signer(), SessionConfig::default(), false, None));
    let response = send(&app, "/only-after", None).await;
    assert!(response.headers().get(VARY).is_none());
    assert!(set_cookie(&response).is_none());
}

#[tokio::test]
async fn untouched_session_leaves_the_response_alone() {
    let app = cookie_app();
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    for uri in ["/untouched", "/extract-only"] {
        for cookie in [None, Some(cookie.as_str())] {
            let response = send(&app, uri, cookie).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.headers().get(VARY).is_none(), "{uri} with {cookie:?}");
            assert!(set_cookie(&response).is_none(), "{uri} with {cookie:?}");
        }
    }
}

#[tokio::test]
async fn oversize_cookie_is_a_500_rather_than_a_dropped_cookie() {
    let response = send(&cookie_app(), "/big", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookie(&response).is_none());
}

#[tokio::test]
async fn oversize_check_can_be_turned_off() {
    let config = SessionConfig { max_cookie_size: 0, ..SessionConfig::default() };
    let response = send(&app(config, false, None), "/big", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response).expect("cookie written").len() > 5000);
}

fn strict_config() -> SessionConfig {
    SessionConfig {
        cookie_domain: Some("example.com".into()),
        cookie_path: "/app".into(),
        cookie_samesite: SameSite::Strict,
        ..SessionConfig::default()
    }
}

#[tokio::test]
async fn emptied_session_deletes_the_cookie_with_the_same_attributes() {
    let app = app(strict_config(), true, None);
    let written = set_cookie(&send(&app, "/set", None).await).expect("cookie written");
    let response = send(&app, "/clear", Some(&pair(&written))).await;
    let removal = set_cookie(&response).expect("cookie deleted");
    assert_eq!(pair(&removal), "session=");
    let mut expected = attributes(&written);
    expected.extend(["Max-Age=0".to_owned(), "Expires=Thu, 01 Jan 1970 00:00:00 GMT".to_owned()]);
    expected.sort();
    assert_eq!(attributes(&removal), expected);
    assert!(has_vary_cookie(&response));
}

#[tokio::test]
async fn clearing_without_a_cookie_sends_nothing() {
    assert!(set_cookie(&send(&cookie_app(), "/clear", None).await).is_none());
}

#[tokio::test]
async fn cookie_attributes_follow_the_config() {
    let written = set_cookie(&send(&app(strict_config(), true, None), "/set", None).await).expect("cookie written");
    assert_eq!(attributes(&written), ["Domain=example.com", "HttpOnly", "Path=/app", "SameSite=Strict", "Secure"]);

    let config = SessionConfig { cookie_httponly: false, ..SessionConfig::default() };
    let written = set_cookie(&send(&app(config, false, None), "/set", None).await).expect("cookie written");
    assert_eq!(attributes(&written), ["Path=/", "SameSite=Lax"]);
}

#[tokio::test]
async fn permanent_session_gets_max_age_and_expires_and_a_browser_session_gets_neither() {
    let app = cookie_app();
    let permanent = set_cookie(&send(&app, "/permanent", None).await).expect("cookie written");
    assert!(permanent.contains("; Max-Age=2678400"));
    let expires = attributes(&permanent).into_iter().find(|a| a.starts_with("Expires=")).expect("Expires set");
    assert!(!expires.contains("1970"));

    let session = set_cookie(&send(&app, "/set", None).await).expect("cookie written");
    assert!(!session.contains("Max-Age") && !session.contains("Expires"));
}

#[tokio::test]
async fn permanent_session_is_refreshed_when_read_unless_configured_not_to() {
    let cookie = pair(&set_cookie(&send(&cookie_app(), "/permanent", None).await).expect("cookie written"));
    let refreshed = set_cookie(&send(&cookie_app(), "/get", Some(&cookie)).await).expect("cookie refreshed");
    assert!(refreshed.contains("Max-Age="));
    assert!(set_cookie(&send(&cookie_app(), "/untouched", Some(&cookie)).await).is_none());

    let config = SessionConfig { refresh_each_request: false, ..SessionConfig::default() };
    assert!(set_cookie(&send(&app(config, false, None), "/get", Some(&cookie)).await).is_none());
}

#[tokio::test]
async fn configured_permanence_applies_to_new_sessions() {
    let config = SessionConfig { permanent: true, ..SessionConfig::default() };
    let written = set_cookie(&send(&app(config, false, None), "/set", None).await).expect("cookie written");
    assert!(written.contains("Max-Age="));
}

#[tokio::test]
async fn missing_layer_is_a_500_that_names_the_layer() {
    let response = send(&routes(), "/get", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let (mut parts, ()) = Request::get("/").body(()).expect("valid request").into_parts();
    let err = <Session as axum::extract::FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .expect_err("no layer");
    let source = err.source().expect("source").to_string();
    assert!(source.contains("`SessionLayer` is not installed"), "{source}");
    assert!(!err.message().contains("SessionLayer"), "the client sees the standard message");
}

#[tokio::test]
async fn optional_session_is_none_without_the_layer() {
    let (mut parts, ()) = Request::get("/").body(()).expect("valid request").into_parts();
    let session = <Session as axum::extract::OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .expect("no error without a layer");
    assert!(session.is_none());
}

#[tokio::test]
async fn flashes_pop_once_with_categories() {
    let app = cookie_app();
    let cookie = pair(&set_cookie(&send(&app, "/flash", None).await).expect("cookie written"));

    let response = send(&app, "/flashes", Some(&cookie)).await;
    let emptied = set_cookie(&response).expect("flashes removed from the cookie");
    assert_eq!(body(response).await, "message:Welcome.|error:Bad password.");
    assert_eq!(pair(&emptied), "session=");

    let again = send(&app, "/flashes", Some(&cookie)).await;
    assert_eq!(body(again).await, "message:Welcome.|error:Bad password.", "the old cookie still holds them");
    let nothing = send(&app, "/flashes", None).await;
    assert!(set_cookie(&nothing).is_none());
    assert_eq!(body(nothing).await, "");
}

#[tokio::test]
async fn filtered_flashes_pop_every_category_as_flask_does() {
    let app = cookie_app();
    let cookie = pair(&set_cookie(&send(&app, "/flash", None).await).expect("cookie written"));
    let response = send(&app, "/flashes?category=error", Some(&cookie)).await;
    let after = set_cookie(&response).expect("flashes removed");
    assert_eq!(body(response).await, "error:Bad password.");
    assert_eq!(pair(&after), "session=", "the unshown `message` flash is gone too");
}

#[tokio::test]
async fn memory_store_keeps_data_on_the_server_and_a_signed_id_in_the_cookie() {
    let store = Arc::new(MemoryStore::new());
    let app = memory_app(&store);
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    assert_eq!(store.len(), 1);
    let value = cookie.trim_start_matches("session=");
    let verified = signer().verify(value, Duration::from_mins(1)).expect("signed id");
    assert_eq!(verified.payload.len(), SessionId::BYTES);
    assert!(!cookie.contains("alice"));
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "alice");
    assert_eq!(body(send(&app, "/id", Some(&cookie)).await).await.len(), 43);
}

#[tokio::test]
async fn cycle_id_rotates_the_id_and_the_old_id_no_longer_loads() {
    let store = Arc::new(MemoryStore::new());
    let app = memory_app(&store);
    let old = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    let old_id = body(send(&app, "/id", Some(&old)).await).await;

    let new = pair(&set_cookie(&send(&app, "/cycle", Some(&old)).await).expect("cookie written"));
    assert_ne!(new, old);
    assert_ne!(body(send(&app, "/id", Some(&new)).await).await, old_id);
    assert_eq!(store.len(), 1, "the old record is deleted");
    assert_eq!(body(send(&app, "/get", Some(&new)).await).await, "alice");
    assert_eq!(body(send(&app, "/get", Some(&old)).await).await, "none");
}

#[tokio::test]
async fn cycle_id_drops_per_login_values_and_keeps_the_rest() {
    for store in [None, Some(Arc::new(MemoryStore::new()))] {
        let app = match &store {
            Some(store) => memory_app(store),
            None => cookie_app(),
        };
        let first = pair(&set_cookie(&send(&app, "/set-per-login", None).await).expect("cookie written"));
        assert_eq!(body(send(&app, "/per-login", Some(&first)).await).await, "s3cret");
        let cycled = pair(&set_cookie(&send(&app, "/cycle", Some(&first)).await).expect("cookie written"));
        assert_eq!(
            body(send(&app, "/per-login", Some(&cycled)).await).await,
            "none",
            "server store: {}",
            store.is_some()
        );
        assert_eq!(body(send(&app, "/get", Some(&cycled)).await).await, "alice");
    }
}

#[tokio::test]
async fn emptied_server_side_session_deletes_record_and_cookie() {
    let store = Arc::new(MemoryStore::new());
    let app = memory_app(&store);
    let cookie = pair(&set_cookie(&send(&app, "/set", None).await).expect("cookie written"));
    let response = send(&app, "/clear", Some(&cookie)).await;
    assert_eq!(pair(&set_cookie(&response).expect("cookie deleted")), "session=");
    assert!(store.is_empty());
}

#[tokio::test]
async fn signed_id_unknown_to_the_store_gives_an_empty_session_and_a_new_id() {
    let store = Arc::new(MemoryStore::new());
    let app = memory_app(&store);
    let planted = SessionId::generate().expect("random source");
    let cookie = format!("session={}", signer().sign(&planted.to_raw().expect("base64url")));
    assert_eq!(body(send(&app, "/get", Some(&cookie)).await).await, "none");
    let written = pair(&set_cookie(&send(&app, "/set", Some(&cookie)).await).expect("cookie written"));
    assert_ne!(body(send(&app, "/id", Some(&written)).await).await, planted.as_str());
}

#[tokio::test]
async fn server_side_session_is_not_loaded_unless_extracted() {
    let cookie = format!("session={}", signer().sign(&[7; SessionId::BYTES]));
    let store: Arc<dyn SessionStore> = Arc::new(BrokenStore { hang: false });
    let app = app(SessionConfig::default(), false, Some(store));
    assert_eq!(send(&app, "/untouched", Some(&cookie)).await.status(), StatusCode::OK);
}

/// A store whose every call fails, or never answers.
struct BrokenStore {
    hang: bool,
}

impl BrokenStore {
    fn fail<'a, T: Send + 'a>(&self) -> BoxFuture<'a, Result<T, BoxError>> {
        if self.hang { Box::pin(std::future::pending()) } else { Box::pin(async { Err("connection refused".into()) }) }
    }
}

impl SessionStore for BrokenStore {
    fn load<'a>(&'a self, _: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>> {
        self.fail()
    }
    fn save<'a>(&'a self, _: &'a SessionId, _: &'a Record, _: OffsetDateTime) -> BoxFuture<'a, Result<(), BoxError>> {
        self.fail()
    }
    fn delete<'a>(&'a self, _: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>> {
        self.fail()
    }
}

#[tokio::test]
async fn store_failure_on_load_or_save_is_a_503() {
    let store: Arc<dyn SessionStore> = Arc::new(BrokenStore { hang: false });
    let app = app(SessionConfig::default(), false, Some(store));
    let cookie = format!("session={}", signer().sign(&[7; SessionId::BYTES]));
    let loading = send(&app, "/get", Some(&cookie)).await;
    assert_eq!(loading.status(), StatusCode::SERVICE_UNAVAILABLE);
    let saving = send(&app, "/set", None).await;
    assert_eq!(saving.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&saving).is_none());
}

#[tokio::test]
async fn store_that_never_answers_is_a_503_after_the_timeout() {
    let store: Arc<dyn SessionStore> = Arc::new(BrokenStore { hang: true });
    let layer = SessionLayer::new(signer(), SessionConfig::default(), false, Some(store))
        .store_timeout(Duration::from_millis(20));
    let app = routes().layer(layer);
    let cookie = format!("session={}", signer().sign(&[7; SessionId::BYTES]));
    assert_eq!(send(&app, "/get", Some(&cookie)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(send(&app, "/set", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn errors_from_the_handler_keep_their_status() {
    let app = Router::new()
        .route(
            "/",
            get(|s: Session| async move {
                s.insert("k", 1)?;
                Err::<(), _>(HttpError::bad_request("nope"))
            }),
        )
        .layer(SessionLayer::new(signer(), SessionConfig::default(), false, None));
    let response = send(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(&response).is_some(), "like Flask, the session is saved on error responses");
}
