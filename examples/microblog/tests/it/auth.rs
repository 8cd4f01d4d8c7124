//! `/auth`: register, login (remember me, `next`), logout, CSRF, anonymous redirects.

use phial::axum::http::StatusCode;

use crate::{Site, csrf_token, follow_flash, login_with};

#[tokio::test]
async fn register_redirects_to_login_with_the_flash_and_refuses_taken_names() {
    let site = Site::new().await;
    let client = &site.client;
    let page = client.get("/auth/register").send().await;
    page.assert_status(StatusCode::OK);
    for needle in
        [r#"name="username""#, r#"name="email""#, r#"name="password""#, r#"name="password2""#, r#"value="Register""#]
    {
        assert!(page.html().contains(needle), "{needle} missing: {}", page.html());
    }
    site.register("susan").await;

    let token = csrf_token(client, "/auth/register").await;
    let response = client
        .post("/auth/register")
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "susan"),
            ("email", "susan@example.com"),
            ("password", "cat"),
            ("password2", "dog"),
        ])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    let html = response.html();
    assert!(html.contains("Please use a different username."), "{html}");
    assert!(html.contains("Please use a different email address."), "{html}");
    assert!(html.contains("Field must be equal to password."), "{html}");
    assert!(html.contains(r#"value="susan""#), "submitted values are shown again: {html}");
}

#[tokio::test]
async fn registration_flashes_congratulations_on_the_login_page() {
    let site = Site::new().await;
    let client = &site.client;
    let token = csrf_token(client, "/auth/register").await;
    let response = client
        .post("/auth/register")
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "john"),
            ("email", "john@example.com"),
            ("password", "cat"),
            ("password2", "cat"),
        ])
        .send()
        .await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/auth/login")));
    let html = follow_flash(client, &response).await;
    assert!(html.contains("Congratulations, you are now a registered user!"), "{html}");
}

#[tokio::test]
async fn login_checks_the_password_and_follows_only_local_next_urls() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;

    let response = login_with(client, "susan", "dog", "").await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/auth/login")));
    assert!(follow_flash(client, &response).await.contains("Invalid username or password"));
    let response = login_with(client, "nobody", "cat", "").await;
    assert_eq!(response.location(), Some("/auth/login"));

    let response = login_with(client, "susan", "cat", "?next=/explore%3Fpage%3D1").await;
    assert_eq!(response.location(), Some("/explore?page=1"));
    // Logged in: the login and register pages send the user home.
    assert_eq!(client.get("/auth/login").send().await.location(), Some("/index"));
    assert_eq!(client.get("/auth/register").send().await.location(), Some("/index"));

    let response = client.get("/auth/logout").send().await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/index")));
    let response = login_with(client, "susan", "cat", "?next=https://evil.example/").await;
    assert_eq!(response.location(), Some("/index"), "an external next is refused");
    client.get("/auth/logout").send().await;
    let response = login_with(client, "susan", "cat", "?next=//evil.example/").await;
    assert_eq!(response.location(), Some("/index"), "a scheme-relative next is refused");
}

#[tokio::test]
async fn anonymous_pages_redirect_to_login_with_next_and_the_login_message() {
    let site = Site::new().await;
    let client = &site.client;
    for path in ["/", "/index", "/explore", "/edit_profile", "/user/susan"] {
        let response = client.get(path).send().await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        let location = response.location().unwrap();
        assert!(location.starts_with("/auth/login?next="), "{path} -> {location}");
    }
    let response = client.get("/index").send().await;
    assert!(follow_flash(client, &response).await.contains("Please log in to access this page."));
}

#[tokio::test]
async fn a_missing_or_wrong_csrf_token_shows_the_form_again_with_200() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    client.get("/auth/login").send().await;
    let response = client
        .post("/auth/login")
        .form(&[("username", "susan"), ("password", "cat"), ("submit", "Sign In")])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("The CSRF token is missing."), "{}", response.html());
    let response = client
        .post("/auth/login")
        .form(&[("csrf_token", "forged"), ("username", "susan"), ("password", "cat")])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("The CSRF token is invalid."), "{}", response.html());
    // Nobody was logged in.
    assert!(client.get("/index").send().await.location().unwrap().starts_with("/auth/login"));
}

#[tokio::test]
async fn empty_login_fields_are_required() {
    let site = Site::new().await;
    let client = &site.client;
    let token = csrf_token(client, "/auth/login").await;
    let response = client
        .post("/auth/login")
        .form(&[("csrf_token", token.as_str()), ("username", ""), ("password", "")])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.html().matches("This field is required.").count(), 2, "{}", response.html());
}

#[tokio::test]
async fn remember_me_sets_the_remember_token_cookie_that_logs_in_a_new_session() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    let token = csrf_token(client, "/auth/login").await;
    let response = client
        .post("/auth/login")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("password", "cat"), ("remember_me", "y")])
        .send()
        .await;
    assert_eq!(response.location(), Some("/index"));
    let remember = client.cookie("remember_token").expect("remember_token cookie set");

    let other = client.new_session();
    assert!(other.get("/index").send().await.location().unwrap().starts_with("/auth/login"));
    other.set_cookie("remember_token", &remember);
    let response = other.get("/index").send().await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Hi, susan!"), "{}", response.html());
}

#[tokio::test]
async fn remember_me_tokens_hold_on_another_instance_of_the_same_database_and_logout_revokes_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let one = Site::at(&url, Box::new(())).await;
    let two = Site::at(&url, Box::new(dir)).await;
    one.register("susan").await;
    let token = csrf_token(&one.client, "/auth/login").await;
    let response = one
        .client
        .post("/auth/login")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("password", "cat"), ("remember_me", "y")])
        .send()
        .await;
    assert_eq!(response.location(), Some("/index"));
    let remember = one.client.cookie("remember_token").expect("remember_token cookie set");

    // The other instance knows the token: it logs the browser in (and rotates the token).
    let browser = two.client.new_session();
    browser.set_cookie("remember_token", &remember);
    let response = browser.get("/index").send().await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Hi, susan!"), "{}", response.html());

    // Logging out there revokes it: the first instance no longer takes the rotated token.
    let rotated = browser.cookie("remember_token").expect("a rotated token");
    assert_ne!(rotated, remember);
    assert!(browser.get("/auth/logout").send().await.location().is_some());
    let stranger = one.client.new_session();
    stranger.set_cookie("remember_token", &rotated);
    assert!(stranger.get("/index").send().await.location().unwrap().starts_with("/auth/login"));
}
