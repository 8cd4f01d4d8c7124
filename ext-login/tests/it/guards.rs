//! `login_required` / `fresh_login_required` as layers and extractors.

use http::StatusCode;

use crate::{HTML, User, app_with, client, log_in};

#[tokio::test]
async fn anonymous_browser_is_redirected_to_the_login_view_with_next_and_a_flash() {
    let (client, _) = client().await;
    let res = client.get("/account?tab=2").header("accept", HTML).await;
    res.assert_status(StatusCode::FOUND);
    assert_eq!(res.location(), Some("/login?next=/account%3Ftab%3D2"));
    assert_eq!(res.header("vary"), Some("Cookie"));
    assert_eq!(client.get("/flashes").await.text(), "message:Please log in to access this page.");
}

#[tokio::test]
async fn login_message_category_is_configurable() {
    let users = crate::Users::with(&["ada"]);
    let app = app_with(&users, "login_view = \"/login\"\nlogin_message_category = \"info\"", "cookie").await;
    let client = app.test_client();
    client.get("/account").header("accept", HTML).await.assert_status(StatusCode::FOUND);
    assert_eq!(client.get("/flashes").await.text(), "info:Please log in to access this page.");
}

#[tokio::test]
async fn json_client_gets_a_json_401() {
    let (client, _) = client().await;
    let res = client.get("/account").accept_json().await;
    res.assert_status(StatusCode::UNAUTHORIZED);
    let body = res.json_value();
    assert_eq!(body["message"], "Please log in to access this page.");
    assert_eq!(res.header("vary"), Some("Cookie"));
    let res = client.get("/members").accept_json().await;
    res.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn clients_that_do_not_name_json_are_redirected_as_by_flask_login() {
    let (client, _) = client().await;
    for accept in [None, Some("*/*"), Some("text/html;q=0.9, application/json;q=0.5")] {
        let request = client.get("/account?tab=2");
        let res = match accept {
            Some(accept) => request.header("accept", accept).await,
            None => request.await,
        };
        res.assert_status(StatusCode::FOUND);
        assert_eq!(res.location(), Some("/login?next=/account%3Ftab%3D2"), "{accept:?}");
    }
    let res = client.get("/account").header("accept", "application/json, text/html").await;
    res.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_login_view_anonymous_browsers_get_401() {
    let users = crate::Users::with(&["ada"]);
    let client = app_with(&users, "", "cookie").await.test_client();
    client.get("/account").header("accept", HTML).await.assert_status(StatusCode::UNAUTHORIZED);
    client.get("/members").header("accept", HTML).await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn blueprint_login_view_overrides_the_app_one() {
    let (client, _) = client().await;
    let res = client.get("/admin").header("accept", HTML).await;
    res.assert_status(StatusCode::FOUND);
    assert_eq!(res.location(), Some("/admin/login?next=/admin"));
    let res = client.get("/members").header("accept", HTML).await;
    assert_eq!(res.location(), Some("/login?next=/members"));
}

#[tokio::test]
async fn blueprint_login_view_applies_to_extractors_without_guarding_public_pages() {
    let (client, _) = client().await;
    assert_eq!(client.get("/shop").await.text(), "catalog");
    let res = client.get("/shop/orders").header("accept", HTML).await;
    assert_eq!(res.location(), Some("/shop/login?next=/shop/orders"));
    log_in(&client, "ada", false).await;
    assert_eq!(client.get("/shop/orders").await.text(), "orders:ada");
}

#[tokio::test]
async fn options_requests_pass_the_guard() {
    let (client, _) = client().await;
    let res = client.options("/admin").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), "preflight");
}

#[tokio::test]
async fn logged_in_user_passes_layers_and_extractors() {
    let (client, _) = client().await;
    log_in(&client, "ada", false).await;
    client.get("/admin").await.assert_status(StatusCode::OK).assert_text_contains("admin page");
    client.get("/vault").await.assert_status(StatusCode::OK);
    let res = client.get("/account").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), "account:ada");
    assert_eq!(res.header("vary"), Some("Cookie"));
    assert_eq!(client.get("/settings").await.text(), "fresh:ada");
}

#[tokio::test]
async fn pages_that_never_ask_for_the_user_do_not_vary_by_cookie() {
    let (client, _) = client().await;
    log_in(&client, "ada", false).await;
    let res = client.get("/public").await;
    assert_eq!(res.header("vary"), None);
}

#[tokio::test]
async fn inactive_user_is_refused_unless_forced() {
    let (client, users) = client().await;
    users.put(User { name: "eve".into(), active: false, password: "pw".into() });
    let res = client.post("/login").form(&[("name", "eve")]).await;
    res.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(client.get("/").await.text(), "anonymous");
    let res = client.post("/login").form(&[("name", "eve"), ("force", "true")]).await;
    res.assert_status(StatusCode::FOUND);
    // Forced in, but an inactive user loaded from the session is anonymous.
    assert_eq!(client.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn deactivated_user_is_logged_out_on_the_next_request() {
    let (client, users) = client().await;
    log_in(&client, "ada", false).await;
    users.put(User { name: "ada".into(), active: false, password: "pw".into() });
    assert_eq!(client.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn request_loader_authenticates_api_keys() {
    let (client, _) = client().await;
    let res = client.get("/account").header("x-api-key", "bob-key").await;
    assert_eq!(res.text(), "account:bob");
    client.get("/account").header("x-api-key", "wrong").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
    // A request-loaded user is not a fresh login.
    client.get("/settings").header("x-api-key", "bob-key").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn layers_and_handles_work_in_a_bare_axum_app() {
    use std::sync::Arc;

    use axum::Router;
    use axum::routing::{get, post};
    use phial_core::Secret;
    use phial_core::session::{CookieSigner, SessionConfig, SessionLayer};
    use phial_login::{LoginConfig, LoginLayer, LoginOptions, MemoryRememberStore, login_required};

    let users = crate::Users::with(&["ada"]);
    let loader = move |id: String| {
        let user = users.get(&id);
        async move { Ok(user) }
    };
    let mut config = LoginConfig::default();
    config.login_view = Some("/login".into());
    let login = LoginLayer::new(config, loader, Arc::new(MemoryRememberStore::new())).unwrap();
    let signer = CookieSigner::new(&Secret::new("bare axum secret"), &[]).unwrap();
    let app: Router = Router::new()
        .route("/account", get(|| async { "private" }).layer(login_required::<User>()))
        .route(
            "/login",
            post(|mut login: phial_login::Login<User>| async move {
                let ada = User { name: "ada".into(), active: true, password: "pw".into() };
                login.login_user(&ada, LoginOptions::new().remember(true)).await.unwrap();
                "in"
            }),
        )
        .layer(login)
        .layer(SessionLayer::new(signer, SessionConfig::default(), false, None));
    let client = phial_core::testing::TestClient::new(app);
    let res = client.get("/account").header("accept", HTML).await;
    assert_eq!(res.location(), Some("/login?next=/account"));
    client.post("/login").await.assert_status(StatusCode::OK);
    assert_eq!(client.get("/account").await.text(), "private");
    assert!(client.cookie("remember_token").is_some(), "Secure cookies are still kept by the test jar");
}
