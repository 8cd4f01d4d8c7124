//! `login_user` / `logout_user`: session fixation, logout, password changes, everywhere.

use http::StatusCode;

use crate::{client, log_in};

#[tokio::test]
async fn session_id_from_before_login_no_longer_resolves_after_login() {
    let (client, _) = client().await;
    client.get("/visit").await.assert_status(StatusCode::OK);
    let before = client.cookie("session").unwrap();
    log_in(&client, "ada", false).await;
    let after = client.cookie("session").unwrap();
    assert_ne!(before, after, "login rotates the session id");
    assert_eq!(client.get("/").await.text(), "user:ada");

    // Whoever planted or saw the old id holds nothing: no user, no data.
    let attacker = client.new_session();
    attacker.set_cookie("session", &before);
    assert_eq!(attacker.get("/").await.text(), "anonymous");
    assert_eq!(attacker.get("/visited").await.text(), "false");
    // The data written before login moved to the new id.
    assert_eq!(client.get("/visited").await.text(), "true");
}

#[tokio::test]
async fn logout_rotates_the_session_id_and_logs_out() {
    let (client, _) = client().await;
    log_in(&client, "ada", false).await;
    client.get("/visit").await;
    let logged_in = client.cookie("session").unwrap();
    client.post("/logout").await.assert_status(StatusCode::FOUND);
    assert_eq!(client.get("/").await.text(), "anonymous");
    assert_ne!(client.cookie("session").as_deref(), Some(logged_in.as_str()));
    let thief = client.new_session();
    thief.set_cookie("session", &logged_in);
    assert_eq!(thief.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn login_response_varies_by_cookie() {
    let (client, _) = client().await;
    let res = client.post("/login").form(&[("name", "ada")]).await;
    assert_eq!(res.header("vary"), Some("Cookie"));
}

#[tokio::test]
async fn password_change_logs_out_other_sessions_but_not_this_one() {
    let (laptop, _) = client().await;
    let phone = laptop.new_session();
    log_in(&laptop, "ada", false).await;
    log_in(&phone, "ada", false).await;
    assert_eq!(phone.get("/").await.text(), "user:ada");

    laptop.post("/password").await.assert_status(StatusCode::OK);
    assert_eq!(laptop.get("/").await.text(), "user:ada");
    assert_eq!(phone.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn password_change_revokes_remember_tokens() {
    let (laptop, _) = client().await;
    let phone = laptop.new_session();
    log_in(&laptop, "ada", false).await;
    log_in(&phone, "ada", true).await;
    laptop.post("/password").await.assert_status(StatusCode::OK);
    phone.remove_cookie("session");
    assert_eq!(phone.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_token() {
    let (laptop, _) = client().await;
    let phone = laptop.new_session();
    let tablet = laptop.new_session();
    log_in(&laptop, "ada", false).await;
    log_in(&phone, "ada", false).await;
    log_in(&tablet, "ada", true).await;
    tablet.remove_cookie("session");
    laptop.post("/logout-everywhere").await.assert_status(StatusCode::OK);
    assert_eq!(laptop.get("/").await.text(), "anonymous");
    assert_eq!(phone.get("/").await.text(), "anonymous");
    assert_eq!(tablet.get("/").await.text(), "anonymous");
    // A new login works again.
    log_in(&phone, "ada", false).await;
    assert_eq!(phone.get("/").await.text(), "user:ada");
}

#[tokio::test]
async fn another_user_is_unaffected_by_logout_everywhere() {
    let (ada, _) = client().await;
    let bob = ada.new_session();
    log_in(&ada, "ada", false).await;
    log_in(&bob, "bob", false).await;
    ada.post("/logout-everywhere").await;
    assert_eq!(bob.get("/").await.text(), "user:bob");
}

#[tokio::test]
async fn login_state_logs_another_user_out_everywhere() {
    let (admin, _) = client().await;
    let mallory = admin.new_session();
    log_in(&mallory, "bob", true).await;
    admin.post("/ban/bob").await.assert_status(StatusCode::OK);
    assert_eq!(mallory.get("/").await.text(), "anonymous");
    mallory.remove_cookie("session");
    assert_eq!(mallory.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn password_change_keeps_this_browsers_remember_token_working() {
    let (laptop, _) = client().await;
    log_in(&laptop, "ada", true).await;
    let before = laptop.cookie("remember_token").unwrap();
    laptop.post("/password").await.assert_status(StatusCode::OK);
    let after = laptop.cookie("remember_token").unwrap();
    assert_ne!(before, after);
    laptop.remove_cookie("session");
    assert_eq!(laptop.get("/").await.text(), "user:ada");
    let replay = laptop.new_session();
    replay.set_cookie("remember_token", &before);
    assert_eq!(replay.get("/").await.text(), "anonymous");
}
