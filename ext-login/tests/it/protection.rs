//! Session protection: identifier from the peer address and User-Agent.

use std::net::SocketAddr;

use http::StatusCode;

use crate::{Users, app_with, log_in};

fn peer(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

async fn logged_in(mode: &str, extra: &str) -> phial_core::testing::TestClient {
    let users = Users::with(&["ada"]);
    let toml = format!("session_protection = \"{mode}\"\n{extra}");
    let client = app_with(&users, &toml, "memory").await.test_client().with_peer(peer("198.51.100.7:5000"));
    client.post("/login").header("user-agent", "Firefox").form(&[("name", "ada")]).await;
    assert_eq!(client.get("/settings").header("user-agent", "Firefox").await.text(), "fresh:ada");
    client
}

#[tokio::test]
async fn basic_marks_the_login_stale_when_the_identifier_changes() {
    let client = logged_in("basic", "").await;
    let res = client.get("/account").header("user-agent", "curl").await;
    assert_eq!(res.text(), "account:ada");
    client.get("/settings").header("user-agent", "curl").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn strong_drops_the_login_when_the_identifier_changes() {
    let client = logged_in("strong", "").await;
    let moved = client.clone().with_peer(peer("203.0.113.50:6000"));
    assert_eq!(moved.get("/").header("user-agent", "Firefox").await.text(), "anonymous");
    assert_eq!(client.get("/").header("user-agent", "Firefox").await.text(), "anonymous");
}

#[tokio::test]
async fn strong_keeps_the_login_for_the_same_client() {
    let client = logged_in("strong", "").await;
    assert_eq!(client.get("/").header("user-agent", "Firefox").await.text(), "user:ada");
}

#[tokio::test]
async fn spoofed_forwarded_for_does_not_change_the_identifier_without_trusted_proxies() {
    let client = logged_in("strong", "").await;
    let res = client.get("/").header("user-agent", "Firefox").header("x-forwarded-for", "6.6.6.6").await;
    assert_eq!(res.text(), "user:ada");
}

#[tokio::test]
async fn forwarded_for_is_read_with_trusted_proxies() {
    let users = Users::with(&["ada"]);
    let toml = "session_protection = \"strong\"\ntrusted_proxies = 1";
    let client = app_with(&users, toml, "memory").await.test_client().with_peer(peer("10.0.0.2:80"));
    let from = |ip: &'static str| client.get("/").header("user-agent", "Firefox").header("x-forwarded-for", ip);
    client
        .post("/login")
        .header("user-agent", "Firefox")
        .header("x-forwarded-for", "198.51.100.7")
        .form(&[("name", "ada")])
        .await;
    assert_eq!(from("198.51.100.7").await.text(), "user:ada");
    // The proxy's peer address changed nothing; the client's address as the proxy saw it did.
    assert_eq!(from("203.0.113.50").await.text(), "anonymous");
}

#[tokio::test]
async fn none_ignores_identifier_changes() {
    let client = logged_in("none", "").await;
    assert_eq!(client.get("/settings").header("user-agent", "curl").await.text(), "fresh:ada");
}

#[tokio::test]
async fn cookie_sessions_log_in_too() {
    let users = Users::with(&["ada"]);
    let client = app_with(&users, "", "cookie").await.test_client();
    log_in(&client, "ada", false).await;
    assert_eq!(client.get("/").await.text(), "user:ada");
}

/// Strong protection also revokes the remember-me token of a session whose identifier changed:
/// a copied session and remember cookie, used from elsewhere, log nobody in, and the token no
/// longer restores anyone afterwards (without the revocation, it would log the copy in again
/// at once).
#[tokio::test]
async fn strong_revokes_the_remember_token_when_the_identifier_changes() {
    let users = Users::with(&["ada"]);
    let owner = app_with(&users, "session_protection = \"strong\"", "memory")
        .await
        .test_client()
        .with_peer(peer("198.51.100.7:5000"));
    owner.post("/login").header("user-agent", "Firefox").form(&[("name", "ada"), ("remember", "true")]).await;
    let session = owner.cookie("session").expect("a session cookie");
    let token = owner.cookie("remember_token").expect("a remember-me cookie");
    let copy = owner.new_session().with_peer(peer("203.0.113.50:6000"));
    copy.set_cookie("session", &session);
    copy.set_cookie("remember_token", &token);
    assert_eq!(copy.get("/").header("user-agent", "Firefox").await.text(), "anonymous");
    let returning = owner.new_session().with_peer(peer("198.51.100.7:5000"));
    returning.set_cookie("remember_token", &token);
    assert_eq!(returning.get("/").header("user-agent", "Firefox").await.text(), "anonymous");
}
