//! Tokens in cookies, the double-submit CSRF check, and implicit refreshing.

use std::time::Duration;

use http::StatusCode;
use phial_core::axum::Json;
use phial_core::axum::response::{IntoResponse, Response};
use phial_core::axum::routing::{get, post};
use phial_core::prelude::*;
use phial_core::testing::TestClient;
use phial_jwt::{ImplicitRefreshLayer, Jwt, JwtAuth, JwtExtension, MintOptions};
use serde_json::json;

async fn login(auth: JwtAuth) -> Response {
    let access = auth.create_access_token("alice", MintOptions::new().expires_in(Duration::from_mins(1))).unwrap();
    let refresh = auth.create_refresh_token("alice", MintOptions::new()).unwrap();
    let mut response = Json(json!({"login": true})).into_response();
    auth.set_access_cookies(response.headers_mut(), &access, None).unwrap();
    auth.set_refresh_cookies(response.headers_mut(), &refresh, None).unwrap();
    response
}

async fn logout(auth: JwtAuth) -> Response {
    let mut response = Json(json!({"logout": true})).into_response();
    auth.unset_jwt_cookies(response.headers_mut());
    response
}

async fn whoami(jwt: Jwt) -> Json<serde_json::Value> {
    Json(json!({"logged_in_as": jwt.identity(), "location": jwt.location().as_str()}))
}

async fn client(refresh_window: Option<u64>) -> TestClient {
    let mut builder = App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!("[jwt]\nsecret_key = \"{}\"\ntoken_location = [\"cookies\"]\n", crate::SECRET))
        .extension(JwtExtension::new())
        .endpoint("login", "/login", post(login))
        .endpoint("logout", "/logout", post(logout))
        .endpoint("whoami", "/whoami", get(whoami).post(whoami));
    if let Some(window) = refresh_window {
        builder =
            builder.layer(Stage::Inner, "implicit-refresh", ImplicitRefreshLayer::new(Duration::from_secs(window)));
    }
    builder.build().unwrap().start().await.unwrap().test_client()
}

#[tokio::test]
async fn login_sets_flask_jwt_extended_cookies() {
    let client = client(None).await;
    let response = client.post("/login").send().await;
    let cookies: Vec<&str> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 4);
    assert!(cookies[0].starts_with("access_token_cookie=") && cookies[0].ends_with("; HttpOnly; Path=/"));
    assert!(cookies[1].starts_with("csrf_access_token=") && !cookies[1].contains("HttpOnly"));
    assert!(cookies[2].starts_with("refresh_token_cookie="));
    assert!(cookies[3].starts_with("csrf_refresh_token="));
    let response = client.get("/whoami").send().await;
    assert_eq!(response.json_value(), json!({"logged_in_as": "alice", "location": "cookies"}));
}

#[tokio::test]
async fn unsafe_methods_need_the_double_submit_header() {
    let client = client(None).await;
    client.post("/login").send().await;
    let response = client.post("/whoami").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json_value(), json!({"msg": "Missing CSRF token"}));
    let response = client.post("/whoami").header("X-CSRF-TOKEN", "forged").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json_value(), json!({"msg": "CSRF double submit tokens do not match"}));
    let csrf = client.cookie("csrf_access_token").unwrap();
    let response = client.post("/whoami").header("X-CSRF-TOKEN", csrf.as_str()).send().await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_unsets_the_cookies() {
    let client = client(None).await;
    client.post("/login").send().await;
    let csrf = client.cookie("csrf_access_token").unwrap();
    let response = client.post("/logout").header("X-CSRF-TOKEN", csrf.as_str()).send().await;
    let cookies: Vec<&str> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 4);
    assert!(cookies.iter().all(|c| c.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0")));
    let response = client.get("/whoami").send().await;
    assert_eq!(response.json_value(), json!({"msg": "Missing cookie \"access_token_cookie\""}));
}

#[tokio::test]
async fn implicit_refresh_remints_near_expiry_but_not_on_logout() {
    let client = client(Some(3600)).await;
    client.post("/login").send().await;
    let before = client.cookie("access_token_cookie").unwrap();
    let response = client.get("/whoami").send().await;
    assert!(response.header("set-cookie").is_some_and(|c| c.starts_with("access_token_cookie=")));
    let after = client.cookie("access_token_cookie").unwrap();
    assert_ne!(before, after);
    let csrf = client.cookie("csrf_access_token").unwrap();
    let response = client.post("/logout").header("X-CSRF-TOKEN", csrf.as_str()).send().await;
    let cookies: Vec<&str> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 4, "logout's own cookies only: {cookies:?}");
    assert!(client.cookie("access_token_cookie").is_none_or(|c| c.is_empty()));
}

#[tokio::test]
async fn implicit_refresh_leaves_tokens_far_from_expiry() {
    let client = client(Some(10)).await;
    client.post("/login").send().await;
    let response = client.get("/whoami").send().await;
    assert!(response.header("set-cookie").is_none());
}

#[tokio::test]
async fn csrf_check_form_takes_the_token_from_a_form_field_through_the_layer() {
    use phial_jwt::{JwtRequiredLayer, Requirement};

    async fn echo(body: String) -> String {
        body
    }

    let app = App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!(
            "[jwt]\nsecret_key = \"{}\"\ntoken_location = [\"cookies\"]\ncsrf_check_form = true\n",
            crate::SECRET
        ))
        .extension(JwtExtension::new())
        .endpoint("login", "/login", post(login))
        .route("/comment", post(echo).layer(JwtRequiredLayer::new(Requirement::access())))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = app.test_client();
    client.post("/login").send().await;
    let csrf = client.cookie("csrf_access_token").unwrap();
    let response = client.post("/comment").form(&[("text", "hi"), ("csrf_token", csrf.as_str())]).send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text(), format!("text=hi&csrf_token={csrf}"), "the handler gets the body whole");
    let response = client.post("/comment").form(&[("text", "hi")]).send().await;
    assert_eq!(response.json_value(), json!({"msg": "Missing CSRF token"}));
}
