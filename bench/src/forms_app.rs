//! A CSRF-protected form POST with validation: through phial-forms in a phial app
//! (`phial-forms` mode), and by hand with axum's `Form`, validator and an HMAC-checked token
//! in a bare axum app (`axum-forms` mode).
//!
//! Both serve `GET /token` (a CSRF token as text, with the cookie it belongs to), `POST
//! /register` (the token in the form, five fields validated; 200 "ok", or an error status) and
//! `GET /register` (a fixed text, for the scripts' check). `scripts/form-post.lua` drives them.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::get;
use axum::{Form as AxumForm, Router};
use hmac::Mac;
use phial_core::prelude::*;
use phial_forms::{Csrf, Form, FormsExtension};
use serde::Deserialize;
use validator::Validate;

use crate::axum_app::{HmacSha256, KEY, cookie, sign, verify};

/// What `GET /register` answers in both apps.
const PAGE: &str = "register form";

/// The form; the token field is read by hand in the baseline (phial-forms' layer reads it).
#[derive(Debug, Deserialize, Validate)]
struct Register {
    #[serde(default)]
    csrf_token: String,
    #[validate(length(min = 3, max = 64))]
    username: String,
    #[validate(email)]
    email: String,
    #[validate(length(min = 8))]
    password: String,
    #[validate(must_match(other = "password"))]
    password2: String,
    #[validate(range(min = 18))]
    age: u32,
}

// ---- phial-forms ----

pub(crate) async fn serve_phial(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = App::builder()
        .profile(Profile::Production)
        .set("app.secret_key", crate::phial_app::BENCH_SECRET)
        .extension(FormsExtension::new())
        .endpoint("text", "/text", get(|| async { crate::common::TEXT }))
        .endpoint("token", "/token", get(|csrf: Csrf| async move { csrf.token() }))
        .endpoint("register", "/register", get(|| async { PAGE }).post(phial_register))
        .build()?
        .start()
        .await?;
    app.serve(listener).await?;
    Ok(())
}

async fn phial_register(form: Form<Register>) -> Response {
    match form.validate_on_submit() {
        Some(_) => "ok".into_response(),
        None => (StatusCode::UNPROCESSABLE_ENTITY, format!("{:?}", form.errors())).into_response(),
    }
}

// ---- bare axum, by hand ----

/// The cookie holding the (signed) CSRF secret in the baseline.
const CSRF_COOKIE: &str = "csrf";

#[derive(Clone)]
struct Keys {
    mac: HmacSha256,
}

pub(crate) async fn serve_axum(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let keys = Keys { mac: HmacSha256::new_from_slice(KEY).map_err(|err| anyhow::anyhow!("HMAC key: {err}"))? };
    let router = Router::new()
        .route("/text", get(|| async { crate::common::TEXT }))
        .route("/token", get(axum_token))
        .route("/register", get(|| async { PAGE }).post(axum_register))
        .with_state(keys);
    axum::serve(listener, router).await?;
    Ok(())
}

/// A random secret in a signed cookie, and the token: the secret signed for forms.
async fn axum_token(State(keys): State<Keys>) -> Response {
    let mut secret = [0_u8; 20];
    if getrandom::fill(&mut secret).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let secret = hex::encode(secret);
    let cookie = format!("{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", sign(&keys.mac, secret.as_bytes()));
    (AppendHeaders([(SET_COOKIE, cookie)]), sign(&keys.mac, format!("form:{secret}").as_bytes())).into_response()
}

async fn axum_register(State(keys): State<Keys>, headers: HeaderMap, AxumForm(form): AxumForm<Register>) -> Response {
    let secret = cookie(&headers, CSRF_COOKIE).and_then(|value| verify(&keys.mac, value));
    let token = verify(&keys.mac, &form.csrf_token);
    let matches = match (secret, token) {
        (Some(secret), Some(token)) => token.strip_prefix(b"form:").is_some_and(|t| {
            use subtle::ConstantTimeEq as _;
            bool::from(t.ct_eq(&secret))
        }),
        _ => false,
    };
    if !matches {
        return (StatusCode::BAD_REQUEST, "The CSRF token is invalid.").into_response();
    }
    match form.validate() {
        Ok(()) => "ok".into_response(),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()).into_response(),
    }
}
