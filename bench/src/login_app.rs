//! A page for logged-in users only: through phial-login in a phial app (`phial-login` mode:
//! the user restored from the session by the loader), and in a bare axum app reading a signed
//! cookie by hand (`axum-login` mode). Both answer `GET /login` (log in as alice, setting the
//! cookie) and `GET /page` ("Hello, alice!"; 401 without a login). The phial app also has
//! `GET /verify`: one argon2id password check, for `login-stream.sh`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::Mac;
use phial_core::prelude::*;
use phial_login::password::PasswordHasher;
use phial_login::{AuthUser, CurrentUser, Login, LoginError, LoginExtension, LoginOptions};
use serde_json::{Map, Value};

use crate::axum_app::{HmacSha256, KEY, cookie, sign, verify};
use crate::common::{TEXT, USER, USER_KEY};

#[derive(Debug, Clone)]
struct User {
    name: String,
}

impl AuthUser for User {
    fn auth_id(&self) -> String {
        self.name.clone()
    }
}

// ---- phial-login ----

pub(crate) async fn serve_phial(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = App::builder()
        .profile(Profile::Production)
        .set("app.secret_key", crate::phial_app::BENCH_SECRET)
        .extension(LoginExtension::new(|id: String| async move { Ok(Some(User { name: id })) }))
        .endpoint("text", "/text", get(|| async { TEXT }))
        .endpoint("login", "/login", get(phial_login))
        .endpoint("page", "/page", get(|CurrentUser(user): CurrentUser<User>| async move { greeting(&user.name) }))
        .endpoint("verify", "/verify", get(verify_password))
        .build()?
        .start()
        .await?;
    let hasher = app.state().require::<PasswordHasher>().clone();
    let _ = STORED.set(hasher.hash(PASSWORD).await?);
    app.serve(listener).await?;
    Ok(())
}

async fn phial_login(mut login: Login<User>) -> Result<&'static str, LoginError> {
    login.login_user(&User { name: USER.to_owned() }, LoginOptions::new()).await?;
    Ok("logged in")
}

/// The password `/verify` checks, and its argon2id hash (default parameters), made at start.
const PASSWORD: &str = "correct horse battery staple";
static STORED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// One login's password check: argon2id with the app's parameters, on the blocking pool.
async fn verify_password(Ext(hasher): Ext<PasswordHasher>) -> Result<&'static str, HttpError> {
    let stored = STORED.get().ok_or_else(|| HttpError::unavailable("starting"))?;
    let verified = hasher.verify(PASSWORD, stored).await.map_err(HttpError::internal)?;
    Ok(if verified.is_match() { "match" } else { "mismatch" })
}

fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

// ---- bare axum, by hand ----

const COOKIE_NAME: &str = "session";

pub(crate) async fn serve_axum(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let mac = HmacSha256::new_from_slice(KEY).map_err(|err| anyhow::anyhow!("HMAC key: {err}"))?;
    let router = Router::new()
        .route("/text", get(|| async { TEXT }))
        .route("/login", get(axum_login))
        .route("/page", get(axum_page))
        .with_state(mac);
    axum::serve(listener, router).await?;
    Ok(())
}

async fn axum_login(State(mac): State<HmacSha256>) -> Response {
    let payload = serde_json::json!({ USER_KEY: USER }).to_string();
    let cookie = format!("{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax", sign(&mac, payload.as_bytes()));
    ([(axum::http::header::SET_COOKIE, cookie)], "logged in").into_response()
}

async fn axum_page(State(mac): State<HmacSha256>, headers: HeaderMap) -> Response {
    let data = cookie(&headers, COOKIE_NAME)
        .and_then(|value| verify(&mac, value))
        .and_then(|payload| serde_json::from_slice::<Map<String, Value>>(&payload).ok());
    match data.as_ref().and_then(|data| data.get(USER_KEY)).and_then(Value::as_str) {
        Some(user) => greeting(user).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
