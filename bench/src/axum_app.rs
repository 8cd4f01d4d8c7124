//! The bare axum baseline: the same handlers as a minimal hand-written axum app would have
//! them, optionally with layers added one at a time (`BENCH_AXUM_LAYERS`) to price them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use minijinja::Environment;
use phial_core::Secret;
use phial_core::session::{CookieSigner, SessionConfig, SessionLayer};
use serde_json::{Map, Value};
use sha2::Sha256;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::common::{ITEMS, Message, PAGE, TEXT, TITLE, USER, USER_KEY, greeting, template_dir};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The key the baseline signs its session cookie with.
pub(crate) const KEY: &[u8] = b"a bare axum app's own 32-byte key";

/// The session cookie's name.
const COOKIE_NAME: &str = "session";

#[derive(Clone)]
struct AppState {
    templates: Arc<Environment<'static>>,
    mac: HmacSha256,
}

pub(crate) async fn serve(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let mut templates = Environment::new();
    templates.set_loader(minijinja::path_loader(template_dir()));
    let state = AppState {
        templates: Arc::new(templates),
        mac: HmacSha256::new_from_slice(KEY).map_err(|err| anyhow::anyhow!("HMAC key: {err}"))?,
    };
    let router: Router<AppState> = Router::new()
        .route("/text", get(text))
        .route("/json", get(json))
        .route("/user/{name}", get(user))
        .route("/template", get(template))
        .route("/session", get(session_read))
        .route("/login", get(login));
    let layers = std::env::var("BENCH_AXUM_LAYERS").unwrap_or_default();
    let layers: Vec<&str> = layers.split(',').map(str::trim).filter(|l| !l.is_empty()).collect();
    let router = with_layers(router, &layers)?.with_state(state);
    if layers.contains(&"connect-info") {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service).await?;
    } else {
        axum::serve(listener, router).await?;
    }
    Ok(())
}

/// Adds the named layers, innermost first, so a request meets: catch panic → timeout → body
/// limit → session → handler. `session` is phial's own [`SessionLayer`], the layer every phial
/// app has besides its outer layer (which is crate-private: phial's own variants price it);
/// `body-limit`, `timeout` and `catch-panic` are the tower-http layers a hand-written axum app
/// would add for the same jobs, each its own `Router::layer` call; `connect-info` serves with
/// `into_make_service_with_connect_info`, as phial does.
///
/// `identityN` adds N `Router::layer(Identity)` calls first: the cost of a `Router::layer`
/// boundary itself (axum boxes the layered route again at each call).
fn with_layers(mut router: Router<AppState>, layers: &[&str]) -> anyhow::Result<Router<AppState>> {
    const KNOWN: [&str; 5] = ["session", "body-limit", "timeout", "catch-panic", "connect-info"];
    for layer in layers {
        if let Some(count) = layer.strip_prefix("identity") {
            let count: u32 = count.parse().map_err(|_| anyhow::anyhow!("`{layer}`: say identityN, e.g. identity7"))?;
            for _ in 0..count {
                router = router.layer(tower::layer::util::Identity::new());
            }
        } else if !KNOWN.contains(layer) {
            anyhow::bail!("unknown layer `{layer}` in BENCH_AXUM_LAYERS; known: {}, identityN", KNOWN.join(", "));
        }
    }
    if layers.contains(&"session") {
        let config = SessionConfig::default();
        let signer = CookieSigner::new(&Secret::new("a phial session key for the layer-cost runs"), &[])?;
        router = router.layer(SessionLayer::new(signer, config, true, None));
    }
    if layers.contains(&"body-limit") {
        let limit = 2 * 1024 * 1024;
        router = router.layer(DefaultBodyLimit::max(limit)).layer(RequestBodyLimitLayer::new(limit));
    }
    if layers.contains(&"timeout") {
        router = router.layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)));
    }
    if layers.contains(&"catch-panic") {
        router = router.layer(CatchPanicLayer::new());
    }
    Ok(router)
}

async fn text() -> &'static str {
    TEXT
}

async fn json() -> Json<Message> {
    Json(Message { message: TEXT })
}

async fn user(Path(name): Path<String>) -> String {
    greeting(&name)
}

async fn template(State(state): State<AppState>) -> Response {
    let rendered = state
        .templates
        .get_template(PAGE)
        .and_then(|page| page.render(minijinja::context! { title => TITLE, items => &*ITEMS }));
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn login(State(state): State<AppState>) -> impl IntoResponse {
    let payload = serde_json::json!({ USER_KEY: USER }).to_string();
    let value = sign(&state.mac, payload.as_bytes());
    let cookie = format!("{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax");
    (AppendHeaders([(SET_COOKIE, cookie)]), "logged in")
}

async fn session_read(State(state): State<AppState>, headers: HeaderMap) -> String {
    let data = cookie(&headers, COOKIE_NAME)
        .and_then(|value| verify(&state.mac, value))
        .and_then(|payload| serde_json::from_slice::<Map<String, Value>>(&payload).ok());
    match data.as_ref().and_then(|data| data.get(USER_KEY)).and_then(Value::as_str) {
        Some(user) => user.to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// `base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))`.
pub(crate) fn sign(mac: &HmacSha256, payload: &[u8]) -> String {
    let mut value = URL_SAFE_NO_PAD.encode(payload);
    let signature = mac.clone().chain_update(value.as_bytes()).finalize().into_bytes();
    value.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut value);
    value
}

/// The payload of a value made by [`sign`], if its signature holds (constant-time compare).
pub(crate) fn verify(mac: &HmacSha256, value: &str) -> Option<Vec<u8>> {
    let (payload, signature) = value.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac.clone().chain_update(payload.as_bytes()).verify_slice(&signature).ok()?;
    URL_SAFE_NO_PAD.decode(payload).ok()
}

/// The first cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_value_verifies_and_a_tampered_one_does_not() {
        let mac = HmacSha256::new_from_slice(KEY).unwrap();
        let value = sign(&mac, br#"{"user":"alice"}"#);
        assert_eq!(verify(&mac, &value).as_deref(), Some(&br#"{"user":"alice"}"#[..]));
        let tampered =
            format!("{}{}", URL_SAFE_NO_PAD.encode(br#"{"user":"admin"}"#), &value[value.find('.').unwrap()..]);
        assert_eq!(verify(&mac, &tampered), None);
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; session=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, "session"), Some("abc.def"));
        assert_eq!(cookie(&headers, "sess"), None);
    }
}
