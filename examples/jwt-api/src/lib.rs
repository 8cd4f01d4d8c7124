//! Flask-JWT-Extended's documentation examples as a phial app, so the same client scripts
//! work against the Flask original and this one.
//!
//! ```text
//! JWT_SECRET_KEY=super-secret cargo run -p jwt-api -- serve --bind 127.0.0.1:5000
//! curl -s -X POST localhost:5000/login -H 'content-type: application/json' \
//!      -d '{"username": "test", "password": "test"}'
//! curl -s localhost:5000/protected -H "Authorization: Bearer $ACCESS"
//! ```
//!
//! | route | needs | answers |
//! |---|---|---|
//! | `POST /login` | `{"username": "test", "password": "test"}` | `{"access_token", "refresh_token"}` (fresh access token), else 401 `{"msg": "Bad username or password"}` |
//! | `POST /refresh` | a refresh token | `{"access_token"}` (not fresh) |
//! | `GET /protected` | an access token | `{"logged_in_as": <identity>}` |
//! | `GET /protected-fresh` | a fresh access token | the same |
//! | `DELETE /logout` | an access or refresh token | revokes it: `{"msg": "Access token revoked"}` / `"Refresh token revoked"` |
//! | `POST /login-cookie` | the credentials | sets the access, refresh and CSRF cookies |
//! | `POST /logout-cookie` | the access cookie and `X-CSRF-TOKEN` | revokes the token, unsets the cookies |
//!
//! Configuration: `JWT_SECRET_KEY` and the other `JWT_*` names of Flask-JWT-Extended
//! (`JWT_ACCESS_TOKEN_EXPIRES=900`, `JWT_TOKEN_LOCATION=headers,cookies`, ...; seconds for
//! durations), or phial's `PHIAL_JWT__*`; `REDIS_URL` keeps the blocklist in Redis (in memory
//! without it).

use bytes::Bytes;
use http::StatusCode;
use phial::axum::response::{IntoResponse, Response};
use phial::axum::routing::{delete, get, post};
use phial::axum::{Extension, Json};
use phial::jwt::{
    Fresh, FreshJwt, Jwt, JwtAuth, JwtError, JwtExtension, JwtRequiredLayer, MintOptions, RefreshJwt, Requirement,
    TokenLocation, VerifiedToken,
};
use phial::prelude::*;
use phial::redis::RedisExtension;
use serde_json::{Value, json};

/// The app, before `build`, configured from `env` (the process environment in `main`).
pub fn app(env: impl IntoIterator<Item = (String, String)>) -> AppBuilder {
    let env: Vec<(String, String)> = env.into_iter().collect();
    let mut builder = App::builder()
        .set("jwt.token_location", vec!["headers", "cookies"])
        .extension(JwtExtension::new())
        .endpoint("login", "/login", post(login))
        .endpoint("refresh", "/refresh", post(refresh))
        .endpoint("protected", "/protected", get(protected))
        .endpoint("protected_fresh", "/protected-fresh", get(protected_fresh))
        .endpoint("logout", "/logout", delete(logout).layer(JwtRequiredLayer::new(Requirement::access().any_type())))
        .endpoint("login_cookie", "/login-cookie", post(login_cookie))
        .endpoint(
            "logout_cookie",
            "/logout-cookie",
            post(logout_cookie).layer(JwtRequiredLayer::new(Requirement::access().locations([TokenLocation::Cookies]))),
        );
    for (name, value) in &env {
        if let Some(field) = name.strip_prefix("JWT_") {
            builder = builder.set(&format!("jwt.{}", field.to_ascii_lowercase()), env_value(field, value));
        }
    }
    if let Some((_, url)) = env.iter().find(|(name, _)| name == "REDIS_URL") {
        builder =
            builder.set("redis.url", url.as_str()).set("jwt.blocklist.store", "redis").extension(RedisExtension::new());
    }
    builder.env(env)
}

/// A `JWT_*` value as config: lists split on commas, numbers and booleans typed.
fn env_value(field: &str, value: &str) -> figment::value::Value {
    if matches!(field, "TOKEN_LOCATION" | "CSRF_METHODS" | "DECODE_ALGORITHMS" | "DECODE_AUDIENCE" | "ENCODE_AUDIENCE")
    {
        return value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>().into();
    }
    if let Ok(number) = value.parse::<u64>() {
        return number.into();
    }
    match value.to_ascii_lowercase().as_str() {
        "true" => true.into(),
        "false" => false.into(),
        _ => value.into(),
    }
}

/// The user of the credentials in `body`, if they are the documentation's `test`/`test`.
fn check_credentials(body: &Bytes) -> Option<&'static str> {
    let body: Value = serde_json::from_slice(body).ok()?;
    (body["username"] == "test" && body["password"] == "test").then_some("test")
}

fn bad_credentials() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"msg": "Bad username or password"}))).into_response()
}

async fn login(auth: JwtAuth, body: Bytes) -> Result<Response, JwtError> {
    let Some(user) = check_credentials(&body) else { return Ok(bad_credentials()) };
    let access_token = auth.create_access_token(user, MintOptions::new().fresh(Fresh::Yes))?;
    let refresh_token = auth.create_refresh_token(user, MintOptions::new())?;
    Ok(Json(json!({"access_token": access_token, "refresh_token": refresh_token})).into_response())
}

async fn refresh(auth: JwtAuth, jwt: RefreshJwt) -> Result<Json<Value>, JwtError> {
    let access_token = auth.create_access_token(jwt.identity(), MintOptions::new())?;
    Ok(Json(json!({"access_token": access_token})))
}

async fn protected(jwt: Jwt) -> Json<Value> {
    Json(json!({"logged_in_as": jwt.identity()}))
}

async fn protected_fresh(jwt: FreshJwt) -> Json<Value> {
    Json(json!({"logged_in_as": jwt.identity()}))
}

async fn logout(auth: JwtAuth, Extension(token): Extension<VerifiedToken>) -> Result<Json<Value>, JwtError> {
    auth.revoke(token.decoded()).await?;
    let kind = if token.token_type() == "refresh" { "Refresh" } else { "Access" };
    Ok(Json(json!({"msg": format!("{kind} token revoked")})))
}

async fn login_cookie(auth: JwtAuth, body: Bytes) -> Result<Response, JwtError> {
    let Some(user) = check_credentials(&body) else { return Ok(bad_credentials()) };
    let access_token = auth.create_access_token(user, MintOptions::new().fresh(Fresh::Yes))?;
    let refresh_token = auth.create_refresh_token(user, MintOptions::new())?;
    let mut response = Json(json!({"msg": "login successful"})).into_response();
    auth.set_access_cookies(response.headers_mut(), &access_token, None)?;
    auth.set_refresh_cookies(response.headers_mut(), &refresh_token, None)?;
    Ok(response)
}

async fn logout_cookie(auth: JwtAuth, Extension(token): Extension<VerifiedToken>) -> Result<Response, JwtError> {
    auth.revoke(token.decoded()).await?;
    let mut response = Json(json!({"msg": "logout successful"})).into_response();
    auth.unset_jwt_cookies(response.headers_mut());
    Ok(response)
}
