//! A JWT-protected JSON route: through phial-jwt in a phial app (`phial-jwt` mode: the token in
//! Flask-JWT-Extended's shape, checked with the blocklist), and in a bare axum app decoding it
//! by hand with jsonwebtoken (`axum-jwt` mode). Both answer `GET /token` (an access token for
//! alice, as text) and `GET /protected` (`{"logged_in_as": "alice"}`, 401 without a token);
//! `scripts/bearer.lua` fetches a token, then sends it.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use phial_core::prelude::*;
use phial_jwt::{Jwt, JwtAuth, JwtExtension, MintOptions};
use serde::{Deserialize, Serialize};

use crate::common::{TEXT, USER};

/// The HS256 secret both apps sign with.
const SECRET: &str = "a long random secret for the jwt bench, 32+ bytes";

// ---- phial-jwt ----

pub(crate) async fn serve_phial(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = App::builder()
        .profile(Profile::Production)
        .set("app.secret_key", crate::phial_app::BENCH_SECRET)
        .set("jwt.secret_key", SECRET)
        .extension(JwtExtension::new())
        .endpoint("text", "/text", get(|| async { TEXT }))
        .endpoint(
            "token",
            "/token",
            get(|auth: JwtAuth| async move { auth.create_access_token(USER, MintOptions::new()) }),
        )
        .endpoint(
            "protected",
            "/protected",
            get(|jwt: Jwt| async move { Json(serde_json::json!({ "logged_in_as": jwt.identity() })) }),
        )
        .build()?
        .start()
        .await?;
    app.serve(listener).await?;
    Ok(())
}

// ---- bare axum, by hand ----

#[derive(Clone)]
struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
}

pub(crate) async fn serve_axum(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let keys = Keys {
        encoding: EncodingKey::from_secret(SECRET.as_bytes()),
        decoding: DecodingKey::from_secret(SECRET.as_bytes()),
        validation,
    };
    let router = Router::new()
        .route("/text", get(|| async { TEXT }))
        .route("/token", get(axum_token))
        .route("/protected", get(axum_protected))
        .with_state(keys);
    axum::serve(listener, router).await?;
    Ok(())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn axum_token(State(keys): State<Keys>) -> Result<String, StatusCode> {
    let claims = Claims { sub: USER.to_owned(), iat: now(), exp: now() + 900 };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn axum_protected(
    State(keys): State<Keys>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, (StatusCode, Json<serde_json::Value>)> {
    let unauthorized = |msg: &str| (StatusCode::UNAUTHORIZED, Json(serde_json::json!({ "msg": msg })));
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Missing Authorization Header"))?;
    let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &keys.validation)
        .map_err(|_| unauthorized("Invalid token"))?;
    Ok(Json(serde_json::json!({ "logged_in_as": data.claims.sub })))
}
