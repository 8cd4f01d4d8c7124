//! The password reset: the request page, the mail with its link, the reset page, and what a
//! reset ends (the old password, other sessions, remember-me tokens).

use phial::axum::http::StatusCode;

use crate::{Site, csrf_token, eventually, follow_flash, login_with, mime_part};

/// Submits the reset request form for `email`.
async fn request_reset(client: &phial::testing::TestClient, email: &str) -> phial::testing::TestResponse {
    let token = csrf_token(client, "/auth/reset_password_request").await;
    client
        .post("/auth/reset_password_request")
        .form(&[("csrf_token", token.as_str()), ("email", email), ("submit", "Request Password Reset")])
        .send()
        .await
}

/// The reset link in a mail's plain-text body.
fn reset_link(text: &str) -> String {
    let start = text.find("http://localhost/auth/reset_password/").unwrap_or_else(|| panic!("no link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_reset_mail_links_to_a_page_that_sets_a_new_password_and_ends_other_logins() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    let login = client.get("/auth/login").send().await;
    assert!(
        login.html().contains(r#"<a href="/auth/reset_password_request">Click to Reset It</a>"#),
        "{}",
        login.html()
    );
    assert!(login.html().contains("Forgot Your Password?"));

    // Susan is logged in elsewhere, one browser with remember-me.
    let elsewhere = client.new_session();
    site.login(&elsewhere, "susan").await;
    let remembered = client.new_session();
    let token = csrf_token(&remembered, "/auth/login").await;
    let response = remembered
        .post("/auth/login")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("password", "cat"), ("remember_me", "y")])
        .send()
        .await;
    assert_eq!(response.location(), Some("/index"));
    let remember_token = remembered.cookie("remember_token").unwrap();

    let page = client.get("/auth/reset_password_request").send().await;
    page.assert_status(StatusCode::OK);
    let html = page.html();
    assert!(html.contains("<title>Reset Password - Microblog</title>") && html.contains(r#"name="email""#), "{html}");
    assert!(html.contains(r#"value="Request Password Reset""#), "{html}");

    let recording = site.mail().record_messages();
    // An unknown address gets the same answer and no mail.
    let unknown = request_reset(client, "nobody@example.com").await;
    let known = request_reset(client, "susan@example.com").await;
    for response in [&unknown, &known] {
        assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/auth/login")));
    }
    let html = follow_flash(client, &known).await;
    assert!(html.contains("Check your email for the instructions to reset your password"), "{html}");
    assert!(eventually(async || !recording.is_empty()).await, "the mail was queued and sent");
    let emails = recording.emails();
    assert_eq!(emails.len(), 1, "one mail, for the known address");
    let email = &emails[0];
    assert_eq!(email.subject(), "[Microblog] Reset Your Password");
    assert_eq!(email.to(), ["susan@example.com"]);
    assert!(email.from().contains("your-email@example.com"), "{}", email.from());
    let raw = email.as_text();
    let text = mime_part(&raw, "text/plain").unwrap();
    let html = mime_part(&raw, "text/html").unwrap();
    assert!(text.starts_with("Dear susan,"), "{text}");
    let link = reset_link(&text);
    assert!(html.contains(&format!(r#"<a href="{link}">click here</a>"#)), "{html}");
    let path = link.trim_start_matches("http://localhost");

    // A bad token goes home.
    let response = client.get("/auth/reset_password/not.a.token").send().await;
    assert_eq!(response.location(), Some("/index"));
    let page = client.get(path).send().await;
    page.assert_status(StatusCode::OK);
    assert!(page.html().contains("<h1>Reset Your Password</h1>") && page.html().contains(r#"name="password2""#));
    assert!(page.html().contains("<title>Welcome to Microblog</title>"), "the original gives no title");
    let token = csrf_token(client, path).await;
    let response = client
        .post(path)
        .form(&[("csrf_token", token.as_str()), ("password", "dog"), ("password2", "cow")])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Field must be equal to password."), "{}", response.html());
    let response = client
        .post(path)
        .form(&[("csrf_token", token.as_str()), ("password", "dog"), ("password2", "dog")])
        .send()
        .await;
    assert_eq!(response.location(), Some("/auth/login"));
    assert!(follow_flash(client, &response).await.contains("Your password has been reset."));

    assert_eq!(login_with(client, "susan", "cat", "").await.location(), Some("/auth/login"), "the old password");
    // The other session and the remember-me token ended with the old password.
    assert!(elsewhere.get("/index").send().await.location().unwrap().starts_with("/auth/login"));
    let fresh = client.new_session();
    fresh.set_cookie("remember_token", &remember_token);
    assert!(fresh.get("/index").send().await.location().unwrap().starts_with("/auth/login"));

    assert_eq!(login_with(client, "susan", "dog", "").await.location(), Some("/index"), "the new password");
    // Logged in: both pages send the user home, as the original.
    assert_eq!(client.get("/auth/reset_password_request").send().await.location(), Some("/index"));
    assert_eq!(client.get(path).send().await.location(), Some("/index"));
}

#[tokio::test]
async fn the_reset_pages_and_mail_speak_spanish() {
    let site = Site::with(&[("SERVER_NAME", "microblog.example")]).await;
    site.register("susan").await;
    let client = &site.client;
    let page = client.get("/auth/reset_password_request").header("Accept-Language", "es").send().await;
    assert!(page.html().contains("<h1>Restablecer contraseña</h1>"), "{}", page.html());
    let recording = site.mail().record_messages();
    let token = csrf_token(client, "/auth/reset_password_request").await;
    let response = client
        .post("/auth/reset_password_request")
        .header("Accept-Language", "es")
        .form(&[("csrf_token", token.as_str()), ("email", "susan@example.com")])
        .send()
        .await;
    let location = response.location().unwrap().to_owned();
    let html = client.get(location).header("Accept-Language", "es").send().await.html().to_owned();
    assert!(html.contains("Busca en tu email las instrucciones para restablecer tu contraseña"), "{html}");
    assert!(eventually(async || !recording.is_empty()).await);
    let email = &recording.emails()[0];
    assert_eq!(email.subject(), "[Microblog] Restablece tu contraseña");
    let text = mime_part(&email.as_text(), "text/plain").unwrap();
    assert!(text.starts_with("Hola susan:"), "{text}");
    // SERVER_NAME, not the request's Host, names the site in the link.
    assert!(text.contains("http://microblog.example/auth/reset_password/"), "{text}");
}
