//! The jwt-api app end to end: in process, and over real HTTP.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use phial::Profile;
use phial::testing::TestClient;
use serde_json::{Value, json};

async fn client(env: &[(&str, &str)]) -> TestClient {
    let mut vars = vec![("JWT_SECRET_KEY".to_owned(), "super-secret".to_owned())];
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    jwt_api::app(vars).profile(Profile::Testing).build().unwrap().start().await.unwrap().test_client()
}

async fn login(client: &TestClient) -> (String, String) {
    let response = client.post("/login").json(&json!({"username": "test", "password": "test"})).send().await;
    assert_eq!(response.status().as_u16(), 200);
    let body = response.json_value();
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn login_protected_refresh_and_fresh_routes() {
    let client = client(&[]).await;
    let response = client.post("/login").json(&json!({"username": "test", "password": "nope"})).send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Bad username or password"})));

    let (access, refresh) = login(&client).await;
    let response = client.get("/protected").bearer(&access).send().await;
    assert_eq!(response.json_value(), json!({"logged_in_as": "test"}));
    let response = client.get("/protected-fresh").bearer(&access).send().await;
    assert_eq!(response.json_value(), json!({"logged_in_as": "test"}));

    let response = client.post("/refresh").bearer(&refresh).send().await;
    let new_access = response.json_value()["access_token"].as_str().unwrap().to_owned();
    let response = client.get("/protected-fresh").bearer(&new_access).send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Fresh token required"})));
    let response = client.get("/protected").send().await;
    assert_eq!(
        response.json_value(),
        json!({"msg": "Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie \"access_token_cookie\")"})
    );
}

#[tokio::test]
async fn logout_revokes_access_and_refresh_tokens() {
    let client = client(&[]).await;
    let (access, refresh) = login(&client).await;
    let response = client.delete("/logout").bearer(&access).send().await;
    assert_eq!(response.json_value(), json!({"msg": "Access token revoked"}));
    let response = client.get("/protected").bearer(&access).send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Token has been revoked"})));
    let response = client.delete("/logout").bearer(&refresh).send().await;
    assert_eq!(response.json_value(), json!({"msg": "Refresh token revoked"}));
    let response = client.post("/refresh").bearer(&refresh).send().await;
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn cookie_login_and_logout_with_the_csrf_double_submit() {
    let client = client(&[]).await;
    let response = client.post("/login-cookie").json(&json!({"username": "test", "password": "test"})).send().await;
    assert_eq!(response.json_value(), json!({"msg": "login successful"}));
    assert_eq!(client.get("/protected").send().await.json_value(), json!({"logged_in_as": "test"}));
    let response = client.post("/logout-cookie").send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Missing CSRF token"})));
    let csrf = client.cookie("csrf_access_token").unwrap();
    let response = client.post("/logout-cookie").header("X-CSRF-TOKEN", csrf.as_str()).send().await;
    assert_eq!(response.json_value(), json!({"msg": "logout successful"}));
    assert_eq!(client.get("/protected").send().await.status().as_u16(), 401);
}

#[tokio::test]
async fn jwt_env_names_configure_the_app() {
    let client = client(&[("JWT_TOKEN_LOCATION", "headers"), ("JWT_ERROR_MESSAGE_KEY", "error")]).await;
    let response = client.get("/protected").send().await;
    assert_eq!(response.json_value(), json!({"error": "Missing Authorization Header"}));
}

#[tokio::test]
async fn serves_over_real_http() {
    let app = jwt_api::app(vec![("JWT_SECRET_KEY".to_owned(), "super-secret".to_owned())])
        .profile(Profile::Testing)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let body: Value = http
        .post(format!("{base}/login"))
        .json(&json!({"username": "test", "password": "test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    let body: Value =
        http.get(format!("{base}/protected")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"logged_in_as": "test"}));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn redis_url_shares_revocations_between_instances() {
    use phial::testing::{Service, service_url};

    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = format!("jwt-api-test-{}:", std::process::id());
    let env = [("REDIS_URL", url.as_str()), ("PHIAL_REDIS__KEY_PREFIX", prefix.as_str())];
    let one = client(&env).await;
    let two = client(&env).await;
    let (access, _) = login(&one).await;
    assert_eq!(two.get("/protected").bearer(&access).send().await.status().as_u16(), 200);
    one.delete("/logout").bearer(&access).send().await;
    let response = two.get("/protected").bearer(&access).send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Token has been revoked"})));
}
