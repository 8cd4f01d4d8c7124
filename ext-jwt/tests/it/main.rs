//! phial-jwt through a real app: Flask-JWT-Extended's messages and statuses, attacks,
//! cookies with CSRF, revocation, and tokens exchanged with Python's flask-jwt-extended.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use phial_core::axum::Json;
use phial_core::axum::routing::{delete, get, post};
use phial_core::prelude::*;
use phial_core::testing::TestClient;
use phial_jwt::{FreshJwt, Jwt, JwtAuth, JwtError, JwtExtension, MintOptions, OptionalJwt, RefreshJwt};
use serde_json::{Value, json};

mod attacks;
mod cookies;
mod interop;
mod messages;
mod mint;
mod revoke;

pub(crate) const SECRET: &str = "phial-interop-secret-0123456789abcdef";

async fn protected(jwt: Jwt) -> Json<Value> {
    Json(json!({ "logged_in_as": jwt.identity() }))
}

async fn fresh(jwt: FreshJwt) -> Json<Value> {
    Json(json!({ "logged_in_as": jwt.identity() }))
}

async fn refresh(auth: JwtAuth, jwt: RefreshJwt) -> Result<Json<Value>, JwtError> {
    let token = auth.create_access_token(jwt.identity(), MintOptions::new())?;
    Ok(Json(json!({ "access_token": token })))
}

async fn optional(OptionalJwt(jwt): OptionalJwt) -> Json<Value> {
    Json(json!({ "user": jwt.map(|jwt| jwt.identity().clone()) }))
}

async fn logout(auth: JwtAuth, jwt: Jwt) -> Result<Json<Value>, JwtError> {
    auth.revoke(jwt.decoded()).await?;
    Ok(Json(json!({ "msg": "Access token revoked" })))
}

/// An app with the routes every test uses, `toml` added to its config.
pub(crate) async fn app_with(toml: &str, ext: JwtExtension) -> (TestClient, JwtAuth) {
    let app = App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!("[jwt]\nsecret_key = \"{SECRET}\"\n{toml}"))
        .extension(ext)
        .endpoint("protected", "/protected", get(protected).post(protected))
        .endpoint("fresh", "/fresh", get(fresh))
        .endpoint("refresh", "/refresh", post(refresh))
        .endpoint("optional", "/optional", get(optional))
        .endpoint("logout", "/logout", delete(logout))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let auth = app.state().get::<JwtAuth>().unwrap().clone();
    (app.test_client(), auth)
}

pub(crate) async fn app() -> (TestClient, JwtAuth) {
    app_with("", JwtExtension::new()).await
}

/// `GET path` with `Authorization: Bearer token`: status and `msg`.
pub(crate) async fn get_with(client: &TestClient, path: &str, token: &str) -> (u16, Value) {
    let response = client.get(path).bearer(token).send().await;
    (response.status().as_u16(), response.json_value())
}

/// A token from JSON parts, signed HS256 with `secret` (or unsigned for `alg: none`).
pub(crate) fn forge(header: &Value, claims: &Value, secret: Option<&[u8]>) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let signature = match secret {
        Some(secret) => jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(secret),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap(),
        None => String::new(),
    };
    format!("{message}.{signature}")
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims of a valid access token for `sub`.
pub(crate) fn claims(sub: &str) -> Value {
    json!({"fresh": false, "iat": now(), "jti": "j1", "type": "access", "sub": sub, "nbf": now(), "exp": now() + 600})
}

pub(crate) fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

pub(crate) fn parts(token: &str) -> (Value, Value) {
    let mut segments = token.split('.');
    let mut next = || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}
