//! `/api`: tokens over HTTP Basic, users, followers and following, errors and challenges.

use phial::axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Site;

/// `Authorization: Basic` for `username:password`.
fn basic(username: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

async fn token(site: &Site, username: &str) -> String {
    let response = site.client.post("/api/tokens").header("Authorization", basic(username, "cat")).send().await;
    response.assert_status(StatusCode::OK);
    response.json_value()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tokens_are_issued_for_basic_credentials_reused_and_revoked() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    let response = client.post("/api/tokens").send().await;
    response.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.json_value(), json!({"error": "Unauthorized"}));
    assert_eq!(response.header("www-authenticate"), Some(r#"Basic realm="Authentication Required""#));
    let response = client.post("/api/tokens").header("Authorization", basic("susan", "dog")).send().await;
    response.assert_status(StatusCode::UNAUTHORIZED);

    let first = token(&site, "susan").await;
    assert_eq!(first.len(), 32);
    assert!(first.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{first}");
    assert_eq!(token(&site, "susan").await, first, "the same token while more than a minute remains");

    let me = client.get("/api/users").bearer(&first).send().await;
    me.assert_status(StatusCode::OK);
    let response = client.delete("/api/tokens").bearer(&first).send().await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().is_empty());
    let response = client.get("/api/users").bearer(&first).send().await;
    response.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="Authentication Required""#));
    assert_eq!(response.json_value(), json!({"error": "Unauthorized"}));
    assert_ne!(token(&site, "susan").await, first, "a revoked token is replaced");
}

#[tokio::test]
async fn users_are_created_listed_paged_and_updated() {
    let site = Site::new().await;
    let client = &site.client;
    let response =
        client.post("/api/users").json(&json!({"username": "john", "email": "john@example.com"})).send().await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json_value(),
        json!({"error": "Bad Request", "message": "must include username, email and password fields"})
    );
    let created = client
        .post("/api/users")
        .json(&json!({"username": "john", "email": "john@example.com", "password": "cat", "about_me": "hi"}))
        .send()
        .await;
    created.assert_status(StatusCode::CREATED);
    let john: Value = created.json_value();
    let id = john["id"].as_i64().unwrap();
    assert_eq!(created.header("location"), Some(format!("/api/users/{id}").as_str()));
    let keys: Vec<&str> = john.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_links", "about_me", "follower_count", "following_count", "id", "last_seen", "post_count", "username"]
    );
    assert_eq!(john["about_me"], "hi");
    assert_eq!(john["_links"]["self"], format!("/api/users/{id}"));
    assert_eq!(john["_links"]["followers"], format!("/api/users/{id}/followers"));
    assert_eq!(john["_links"]["avatar"], microblog::models::avatar("john@example.com", 128));
    let last_seen = john["last_seen"].as_str().unwrap();
    assert!(last_seen.ends_with("+00:00") && last_seen.contains('T'), "{last_seen}");
    for (body, message) in [
        (json!({"username": "john", "email": "x@example.com", "password": "cat"}), "please use a different username"),
        (
            json!({"username": "x", "email": "john@example.com", "password": "cat"}),
            "please use a different email address",
        ),
    ] {
        let response = client.post("/api/users").json(&body).send().await;
        assert_eq!(response.json_value()["message"], message);
    }
    site.register("susan").await;

    let token = token(&site, "john").await;
    let page = client.get("/api/users?per_page=1").bearer(&token).send().await.json_value();
    assert_eq!(page["_meta"], json!({"page": 1, "per_page": 1, "total_pages": 2, "total_items": 2}));
    assert_eq!(
        page["_links"],
        json!({"self": "/api/users?page=1&per_page=1", "next": "/api/users?page=2&per_page=1", "prev": null})
    );
    assert_eq!(page["items"][0]["username"], "john");
    let page = client.get("/api/users?page=2&per_page=1").bearer(&token).send().await.json_value();
    assert_eq!(page["items"][0]["username"], "susan");
    assert_eq!(page["_links"]["prev"], "/api/users?page=1&per_page=1");
    let page = client.get("/api/users?per_page=1000").bearer(&token).send().await.json_value();
    assert_eq!(page["_meta"]["per_page"], 100, "capped");

    let susan_id = page["items"][1]["id"].as_i64().unwrap();
    let response =
        client.put(format!("/api/users/{susan_id}")).bearer(&token).json(&json!({"about_me": "x"})).send().await;
    response.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json_value(), json!({"error": "Forbidden"}));
    let response =
        client.put(format!("/api/users/{id}")).bearer(&token).json(&json!({"username": "susan"})).send().await;
    assert_eq!(response.json_value()["message"], "please use a different username");
    let response = client
        .put(format!("/api/users/{id}"))
        .bearer(&token)
        .json(&json!({"about_me": "updated", "username": "johnny"}))
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert_eq!(
        (response.json_value()["about_me"].as_str(), response.json_value()["username"].as_str()),
        (Some("updated"), Some("johnny"))
    );

    for path in ["/api/users/999", "/api/users/abc", "/api/users/999/followers"] {
        let response = client.get(path).bearer(&token).send().await;
        response.assert_status(StatusCode::NOT_FOUND);
        assert_eq!(response.json_value(), json!({"error": "Not Found"}), "{path}");
    }
}

#[tokio::test]
async fn followers_and_following_collections() {
    let site = Site::new().await;
    site.register("john").await;
    site.register("susan").await;
    let db = site.db();
    let john = microblog::models::user_by_username(&db, "john").await.unwrap().unwrap();
    let susan = microblog::models::user_by_username(&db, "susan").await.unwrap().unwrap();
    microblog::models::follow(&db, john.id, susan.id).await.unwrap();
    let token = token(&site, "john").await;
    let client = &site.client;
    let followers = client.get(format!("/api/users/{}/followers", susan.id)).bearer(&token).send().await.json_value();
    assert_eq!(followers["items"][0]["username"], "john");
    assert_eq!(followers["_meta"]["total_items"], 1);
    assert_eq!(followers["_links"]["self"], format!("/api/users/{}/followers?page=1&per_page=10", susan.id));
    let following = client.get(format!("/api/users/{}/following", john.id)).bearer(&token).send().await.json_value();
    assert_eq!(following["items"][0]["username"], "susan");
    assert_eq!(following["items"][0]["follower_count"], 1);
    let user = client.get(format!("/api/users/{}", john.id)).bearer(&token).send().await.json_value();
    assert_eq!((user["following_count"].as_i64(), user["follower_count"].as_i64()), (Some(1), Some(0)));
    // Another user's counts (read with the row, not with the token's user), and posts counted.
    microblog::models::create_post(&db, susan.id, "one", "").await.unwrap();
    microblog::models::create_post(&db, susan.id, "two", "").await.unwrap();
    let other = client.get(format!("/api/users/{}", susan.id)).bearer(&token).send().await.json_value();
    assert_eq!(
        (other["username"].as_str(), other["post_count"].as_i64(), other["follower_count"].as_i64()),
        (Some("susan"), Some(2), Some(1))
    );
    assert_eq!(other["following_count"], 0);
    let me = client.get(format!("/api/users/{}", john.id)).bearer(&token).send().await.json_value();
    assert_eq!((me["username"].as_str(), me["post_count"].as_i64()), (Some("john"), Some(0)));
    let none = client.get(format!("/api/users/{}/followers", john.id)).bearer(&token).send().await.json_value();
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["_meta"]["total_pages"], 0);
}
