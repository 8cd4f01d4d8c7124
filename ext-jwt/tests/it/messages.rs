//! Every message and status of Flask-JWT-Extended, and overriding them.

use http::StatusCode;
use phial_core::axum::Json;
use phial_core::axum::response::IntoResponse as _;
use phial_jwt::{ErrorKind, Fresh, JwtExtension, MintOptions};
use serde_json::json;

use crate::{app, app_with, claims, forge, get_with, hs256, now};

#[tokio::test]
async fn missing_and_malformed_authorization_headers() {
    let (client, _) = app().await;
    let response = client.get("/protected").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json_value(), json!({"msg": "Missing Authorization Header"}));

    let response = client.get("/protected").header("authorization", "Token abc").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json_value()["msg"],
        "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
    );

    let response = client.get("/protected").header("authorization", "Bearer a b").send().await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json_value()["msg"], "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'");

    assert_eq!(get_with(&client, "/protected", "abc").await, (422, json!({"msg": "Not enough segments"})));
}

#[tokio::test]
async fn token_errors_have_flask_jwt_extended_statuses() {
    let (client, auth) = app().await;
    let msg = |(status, body): (u16, serde_json::Value)| (status, body["msg"].as_str().unwrap().to_owned());

    let bad_sig = forge(&hs256(), &claims("alice"), Some(b"another secret"));
    assert_eq!(msg(get_with(&client, "/protected", &bad_sig).await), (422, "Signature verification failed".into()));

    let mut expired = claims("alice");
    expired["exp"] = json!(now() - 1);
    let expired = forge(&hs256(), &expired, Some(crate::SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &expired).await), (401, "Token has expired".into()));

    let refresh = auth.create_refresh_token("alice", MintOptions::new()).unwrap();
    assert_eq!(
        msg(get_with(&client, "/protected", &refresh).await),
        (422, "Only non-refresh tokens are allowed".into())
    );
    let access = auth.create_access_token("alice", MintOptions::new()).unwrap();
    let response = client.post("/refresh").bearer(&access).send().await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json_value()["msg"], "Only refresh tokens are allowed");

    assert_eq!(msg(get_with(&client, "/fresh", &access).await), (401, "Fresh token required".into()));
    let fresh = auth.create_access_token("alice", MintOptions::new().fresh(Fresh::Yes)).unwrap();
    assert_eq!(get_with(&client, "/fresh", &fresh).await, (200, json!({"logged_in_as": "alice"})));
    let fresh_for = auth
        .create_access_token("alice", MintOptions::new().fresh(Fresh::For(std::time::Duration::from_mins(1))))
        .unwrap();
    assert_eq!(get_with(&client, "/fresh", &fresh_for).await.0, 200);

    let mut int_sub = claims("x");
    int_sub["sub"] = json!(42);
    let int_sub = forge(&hs256(), &int_sub, Some(crate::SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &int_sub).await), (422, "Subject must be a string".into()));

    let response = client.delete("/logout").bearer(&access).send().await;
    assert_eq!(response.json_value(), json!({"msg": "Access token revoked"}));
    assert_eq!(msg(get_with(&client, "/protected", &access).await), (401, "Token has been revoked".into()));
}

#[tokio::test]
async fn legacy_integer_subjects_pass_with_verify_sub_off() {
    let (client, _) = app_with("verify_sub = false", JwtExtension::new()).await;
    let mut int_sub = claims("x");
    int_sub["sub"] = json!(42);
    let token = forge(&hs256(), &int_sub, Some(crate::SECRET.as_bytes()));
    assert_eq!(get_with(&client, "/protected", &token).await, (200, json!({"logged_in_as": 42})));
}

#[tokio::test]
async fn user_lookup_failure_and_verification_callback() {
    let ext = JwtExtension::new()
        .user_lookup(|token| async move { (token.claims()["sub"] == "alice").then_some("Alice".to_owned()) })
        .token_verification(|token| token.claims().get("banned").is_none());
    let (client, auth) = app_with("", ext).await;
    let bob = auth.create_access_token("bob", MintOptions::new()).unwrap();
    assert_eq!(get_with(&client, "/protected", &bob).await, (401, json!({"msg": "Error loading the user bob"})));
    let banned = auth.create_access_token("alice", MintOptions::new().claim("banned", true)).unwrap();
    assert_eq!(
        get_with(&client, "/protected", &banned).await,
        (400, json!({"msg": "User claims verification failed"}))
    );
    let alice = auth.create_access_token("alice", MintOptions::new()).unwrap();
    assert_eq!(get_with(&client, "/protected", &alice).await.0, 200);
}

#[tokio::test]
async fn optional_passes_without_a_token_but_not_with_an_expired_one() {
    let (client, auth) = app().await;
    let response = client.get("/optional").send().await;
    assert_eq!(response.json_value(), json!({"user": null}));
    let alice = auth.create_access_token("alice", MintOptions::new()).unwrap();
    assert_eq!(get_with(&client, "/optional", &alice).await, (200, json!({"user": "alice"})));
    let mut expired = claims("alice");
    expired["exp"] = json!(now() - 10);
    let expired = forge(&hs256(), &expired, Some(crate::SECRET.as_bytes()));
    assert_eq!(get_with(&client, "/optional", &expired).await, (401, json!({"msg": "Token has expired"})));
}

#[tokio::test]
async fn handlers_and_message_key_override_the_defaults() {
    let ext = JwtExtension::new().error_handler(ErrorKind::Expired, |_, token| {
        let sub = token.map(|t| t.claims()["sub"].clone());
        (StatusCode::UNAUTHORIZED, Json(json!({"error": "token_expired", "sub": sub}))).into_response()
    });
    let (client, _) = app_with("error_message_key = \"error\"", ext).await;
    let mut expired = claims("alice");
    expired["exp"] = json!(now() - 10);
    let expired = forge(&hs256(), &expired, Some(crate::SECRET.as_bytes()));
    assert_eq!(
        get_with(&client, "/protected", &expired).await,
        (401, json!({"error": "token_expired", "sub": "alice"}))
    );
    let response = client.get("/protected").send().await;
    assert_eq!(response.json_value(), json!({"error": "Missing Authorization Header"}));
}

#[tokio::test]
async fn rfc6750_mode_answers_401_with_www_authenticate() {
    let (client, _) = app_with("rfc6750 = true", JwtExtension::new()).await;
    let response = client.get("/protected").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    let response = client.get("/protected").bearer("abc").send().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token", error_description="Not enough segments""#)
    );
}

#[tokio::test]
async fn locations_are_tried_in_order_and_reported_together() {
    let (client, auth) = app_with("token_location = [\"headers\", \"query_string\"]", JwtExtension::new()).await;
    let response = client.get("/protected").send().await;
    assert_eq!(
        response.json_value()["msg"],
        "Missing JWT in headers or query_string (Missing Authorization Header; Missing 'jwt' query paramater)"
    );
    let token = auth.create_access_token("alice", MintOptions::new()).unwrap();
    let response = client.get(format!("/protected?jwt={token}")).send().await;
    assert_eq!(response.json_value(), json!({"logged_in_as": "alice"}));
}

#[tokio::test]
async fn json_bodies_carry_tokens_through_the_required_layer() {
    use phial_core::axum::routing::post;
    use phial_core::prelude::*;
    use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation, VerifiedToken};

    async fn echo(
        phial_core::axum::Extension(token): phial_core::axum::Extension<VerifiedToken>,
        body: String,
    ) -> Json<serde_json::Value> {
        Json(json!({"sub": token.identity(), "location": token.location().as_str(), "body_len": body.len()}))
    }

    let app = App::builder()
        .profile(Profile::Testing)
        .config_toml(&format!("[jwt]\nsecret_key = \"{}\"\ntoken_location = [\"json\"]\n", crate::SECRET))
        .extension(JwtExtension::new())
        .route("/echo", post(echo).layer(JwtRequiredLayer::new(Requirement::access())))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let auth = app.state().get::<phial_jwt::JwtAuth>().unwrap().clone();
    let client = app.test_client();
    let token = auth.create_access_token("alice", MintOptions::new()).unwrap();
    let body = json!({"access_token": token});
    let response = client.post("/echo").json(&body).send().await;
    let expected_len = serde_json::to_string(&body).unwrap().len();
    assert_eq!(response.json_value(), json!({"sub": "alice", "location": "json", "body_len": expected_len}));
    let response = client.post("/echo").json(&json!({})).send().await;
    assert_eq!(response.json_value(), json!({"msg": "Missing \"access_token\" key in json data."}));
    let response = client.post("/echo").body("x").send().await;
    assert_eq!(response.json_value(), json!({"msg": "Invalid content-type. Must be application/json."}));
    let _ = TokenLocation::Json;
}

#[tokio::test]
async fn jwt_user_is_the_looked_up_user() {
    use phial_core::axum::routing::get;
    use phial_core::prelude::*;
    use phial_jwt::JwtUser;

    struct User {
        name: String,
    }

    async fn me(JwtUser(user): JwtUser<User>) -> String {
        user.name.clone()
    }

    let ext = JwtExtension::new().user_lookup(|token| async move {
        token.claims()["sub"].as_str().map(|sub| User { name: sub.to_uppercase() })
    });
    let app = App::builder()
        .profile(Profile::Testing)
        .set("jwt.secret_key", crate::SECRET)
        .extension(ext)
        .route("/me", get(me))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let auth = app.state().get::<phial_jwt::JwtAuth>().unwrap().clone();
    let token = auth.create_access_token("ann", MintOptions::new()).unwrap();
    let response = app.test_client().get("/me").bearer(&token).send().await;
    assert_eq!(response.text(), "ANN");
}

#[tokio::test]
async fn a_cookie_token_without_a_csrf_claim_is_refused_on_unsafe_methods() {
    // Minted by an app without cookie CSRF protection, so it has no `csrf` claim.
    let (_, header_auth) = app_with("cookie_csrf_protect = false", JwtExtension::new()).await;
    let token = header_auth.create_access_token("alice", MintOptions::new()).unwrap();
    let (client, _) = app_with("token_location = [\"cookies\"]", JwtExtension::new()).await;
    client.set_cookie("access_token_cookie", &token);
    assert_eq!(client.get("/protected").send().await.status(), StatusCode::OK);
    let response = client.post("/protected").header("X-CSRF-TOKEN", "x").send().await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json_value(), json!({"msg": "Missing claim: csrf"}));
}

#[tokio::test]
async fn a_test_clock_expires_tokens_and_freshness() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    let now = Arc::new(Mutex::new(time::OffsetDateTime::now_utc()));
    let clock = Arc::clone(&now);
    let (client, auth) = app_with("", JwtExtension::new().clock(move || *clock.lock().unwrap())).await;
    let access = auth.create_access_token("alice", MintOptions::new()).unwrap();
    let fresh =
        auth.create_access_token("alice", MintOptions::new().fresh(Fresh::For(Duration::from_mins(5)))).unwrap();
    *now.lock().unwrap() += Duration::from_mins(6);
    assert_eq!(get_with(&client, "/protected", &access).await.0, 200);
    assert_eq!(get_with(&client, "/fresh", &fresh).await, (401, json!({"msg": "Fresh token required"})));
    *now.lock().unwrap() += Duration::from_mins(9);
    assert_eq!(get_with(&client, "/protected", &access).await, (401, json!({"msg": "Token has expired"})));
}
