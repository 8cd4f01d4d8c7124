//! Remember-me tokens: restore, freshness, rotation, revocation, cookie attributes.

use http::StatusCode;

use crate::{HTML, client, log_in};

/// The `Set-Cookie` header for `name`, without its value and date-dependent parts.
fn cookie_attributes(header: &str) -> Vec<String> {
    let mut attributes: Vec<String> = header
        .split(';')
        .skip(1)
        .map(|part| part.trim().to_ascii_lowercase())
        .filter(|part| !part.starts_with("max-age") && !part.starts_with("expires"))
        .collect();
    attributes.sort();
    attributes
}

fn set_cookie<'a>(res: &'a phial_core::testing::TestResponse, name: &str) -> Option<&'a str> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn remember_cookie_has_flask_login_defaults() {
    let (client, _) = client().await;
    let res = client.post("/login").form(&[("name", "ada"), ("remember", "true")]).await;
    let header = set_cookie(&res, "remember_token").expect("remember cookie set");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("Path=/"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    let max_age: i64 = header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .and_then(|value| value.parse().ok())
        .expect("Max-Age");
    assert!((365 * 86_400 - 60..=365 * 86_400).contains(&max_age), "{max_age}");
    assert!(!header.contains("Secure"), "not Secure outside production: {header}");
}

#[tokio::test]
async fn restored_login_passes_login_required_but_not_fresh_login_required() {
    let (client, _) = client().await;
    log_in(&client, "ada", true).await;
    client.remove_cookie("session"); // the browser was closed
    let res = client.get("/account").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.text(), "account:ada");
    client.get("/admin").await.assert_status(StatusCode::OK);
    let res = client.get("/settings").header("accept", HTML).await;
    res.assert_status(StatusCode::FOUND);
    assert_eq!(res.location(), Some("/login?next=/settings"));
    assert_eq!(client.get("/flashes").await.text(), "message:Please reauthenticate to access this page.");
    client.get("/vault").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn remember_token_is_rotated_on_use_and_the_old_value_is_dead() {
    let (client, _) = client().await;
    log_in(&client, "ada", true).await;
    let first = client.cookie("remember_token").unwrap();
    client.remove_cookie("session");
    assert_eq!(client.get("/").await.text(), "user:ada");
    let second = client.cookie("remember_token").unwrap();
    assert_ne!(first, second);

    let replay = client.new_session();
    replay.set_cookie("remember_token", &first);
    assert_eq!(replay.get("/").await.text(), "anonymous");
}

#[tokio::test]
async fn forged_validator_revokes_the_token() {
    let (client, _) = client().await;
    log_in(&client, "ada", true).await;
    let token = client.cookie("remember_token").unwrap();
    let (selector, _) = token.split_once('.').unwrap();
    let thief = client.new_session();
    thief.set_cookie("remember_token", &format!("{selector}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(thief.get("/").await.text(), "anonymous");
    client.remove_cookie("session");
    assert_eq!(client.get("/").await.text(), "anonymous", "the token is revoked after a forgery attempt");
}

#[tokio::test]
async fn logout_clears_the_remember_cookie_with_the_same_attributes_and_revokes_it() {
    for clear_session in [false, true] {
        let (client, _) = client().await;
        let res = client.post("/login").form(&[("name", "ada"), ("remember", "true")]).await;
        let set = set_cookie(&res, "remember_token").unwrap().to_owned();
        let token = client.cookie("remember_token").unwrap();

        let path = if clear_session { "/logout?clear=true" } else { "/logout" };
        let res = client.post(path).await;
        let cleared = set_cookie(&res, "remember_token").expect("remember cookie cleared").to_owned();
        assert!(cleared.starts_with("remember_token=;"), "{cleared}");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert_eq!(cookie_attributes(&cleared), cookie_attributes(&set));
        assert_eq!(client.cookie("remember_token"), None);

        let replay = client.new_session();
        replay.set_cookie("remember_token", &token);
        assert_eq!(replay.get("/").await.text(), "anonymous");
        assert_eq!(client.get("/").await.text(), "anonymous");
    }
}

#[tokio::test]
async fn remember_cookie_attributes_follow_config_and_production_is_secure() {
    let users = crate::Users::with(&["ada"]);
    let toml = "remember_cookie_name = \"keep\"\nremember_cookie_path = \"/app\"\nremember_cookie_domain = \"example.test\"\nremember_cookie_samesite = \"Strict\"\nremember_cookie_secure = true";
    let client = crate::app_with(&users, toml, "memory").await.test_client();
    let res = client.post("/login").form(&[("name", "ada"), ("remember", "true")]).await;
    let set = set_cookie(&res, "keep").unwrap().to_owned();
    for attribute in ["Path=/app", "Domain=example.test", "SameSite=Strict", "Secure", "HttpOnly"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let res = client.post("/logout").await;
    let cleared = set_cookie(&res, "keep").unwrap();
    assert_eq!(cookie_attributes(cleared), cookie_attributes(&set));
}

#[tokio::test]
async fn redis_remember_store_without_redis_fails_at_startup() {
    let users = crate::Users::with(&["ada"]);
    let result = match crate::app_builder(&users, "remember_store = \"redis\"", "memory").build() {
        Ok(app) => app.start().await.map(drop),
        Err(err) => Err(err),
    };
    let err = result.unwrap_err().to_string();
    assert!(err.contains("Redis") || err.contains("redis"), "{err}");
}

#[tokio::test]
async fn unknown_remember_store_is_a_build_error() {
    let users = crate::Users::with(&["ada"]);
    let err = crate::app_builder(&users, "remember_store = \"floppy\"", "memory").build().err().unwrap().to_string();
    assert!(err.contains("login.remember_store"), "{err}");
}
