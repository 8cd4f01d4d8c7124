//! The same app on PostgreSQL and MariaDB: the per-backend revisions apply and downgrade, and
//! the main flows work. Skipped with a notice when a server is down, unless
//! `PHIAL_TEST_REQUIRE_SERVICES=1`.

use base64::Engine as _;
use phial::axum::http::StatusCode;
use phial::migrate::{MigrateConfig, Migrator, Target};
use phial::sql::testing::TestDatabase;

use crate::{Site, csrf_token, follow_flash};

async fn flows_and_migrations_work(database: TestDatabase, directory: &str, revisions: usize) {
    let url = database.url().to_owned();
    let site = Site::at(&url, Box::new(database)).await;
    site.register("john").await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    let token = csrf_token(client, "/index").await;
    let response =
        client.post("/index").form(&[("csrf_token", token.as_str()), ("post", "hello from susan")]).send().await;
    assert_eq!(response.location(), Some("/index"));
    client.get("/auth/logout").send().await;

    site.login(client, "john").await;
    let token = csrf_token(client, "/user/susan").await;
    let response = client.post("/follow/susan").form(&[("csrf_token", token.as_str())]).send().await;
    let html = follow_flash(client, &response).await;
    assert!(html.contains("You are following susan!") && html.contains("1 followers, 0 following"), "{html}");
    let response =
        client.post("/index").form(&[("csrf_token", token.as_str()), ("post", "hello from john")]).send().await;
    assert_eq!(response.location(), Some("/index"));
    let index = client.get("/index").send().await;
    index.assert_status(StatusCode::OK);
    let html = index.html();
    let (john, susan) = (html.find("hello from john").unwrap(), html.find("hello from susan").unwrap());
    assert!(john < susan, "newest first: {html}");
    assert!(client.get("/user/john").send().await.html().contains("0 followers, 1 following"));
    let token = csrf_token(client, "/send_message/susan").await;
    let response =
        client.post("/send_message/susan").form(&[("csrf_token", token.as_str()), ("message", "psst")]).send().await;
    assert_eq!(response.location(), Some("/user/susan"));
    client.get("/auth/logout").send().await;
    site.login(client, "susan").await;
    let notifications = client.get("/notifications").send().await.json_value();
    assert_eq!(
        (notifications[0]["name"].as_str(), notifications[0]["data"].as_i64()),
        (Some("unread_message_count"), Some(1))
    );
    assert!(client.get("/messages").send().await.html().contains("psst"));

    // Search with the backend's own SQL: every word, any case.
    let html = client.get("/search?q=HELLO%20john").send().await.html().to_owned();
    assert!(html.contains("hello from john") && !html.contains("hello from susan"), "{html}");
    let html = client.get("/search?q=hello").send().await.html().to_owned();
    assert!(html.contains("hello from john") && html.contains("hello from susan"), "{html}");
    let html = client.get("/search?q=100%25").send().await.html().to_owned();
    assert!(!html.contains("hello from"), "a % is a character, not a wildcard: {html}");

    // The API: a token for Basic credentials, a user, revocation.
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("susan:cat"));
    let token = client.post("/api/tokens").header("Authorization", basic.as_str()).send().await.json_value()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = client.get("/api/users").bearer(&token).send().await.json_value();
    assert_eq!(users["_meta"]["total_items"], 2);
    assert_eq!(users["items"][1]["follower_count"], 1, "{users}");
    assert_eq!(client.delete("/api/tokens").bearer(&token).send().await.status(), StatusCode::NO_CONTENT);
    assert_eq!(client.get("/api/users").bearer(&token).send().await.status(), StatusCode::UNAUTHORIZED);

    let mut config = MigrateConfig::default();
    config.directory = format!("{}/migrations/{directory}", env!("CARGO_MANIFEST_DIR")).into();
    let migrator = Migrator::new(site.db(), &config).unwrap();
    assert_eq!(migrator.downgrade(&Target::Base).await.unwrap().steps.len(), revisions);
    assert_eq!(migrator.upgrade(&Target::Head).await.unwrap().steps.len(), revisions);
}

#[tokio::test]
async fn postgres() {
    let Some(database) = TestDatabase::postgres().await else { return };
    // The original's nine revisions, the search index, the followers index, remember tokens.
    flows_and_migrations_work(database, "postgres", 12).await;
}

#[tokio::test]
async fn mariadb() {
    let Some(database) = TestDatabase::mysql().await else { return };
    // The original's nine revisions, the followers index, the remember-me tokens and
    // `notification.timestamp` as a DOUBLE.
    flows_and_migrations_work(database, "mysql", 12).await;
}

/// Two instances on one PostgreSQL database and one Redis act as one site: a session made on
/// one is a session on the other, a post written through one shows at once on the other's
/// cached `/explore`, and an API token issued by one and revoked through the other is refused.
#[tokio::test]
async fn two_instances_on_postgres_and_redis_act_as_one_site() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let Some(redis) = phial::testing::service_url(phial::testing::Service::Redis) else { return };
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let prefix = format!("microblog-test-{}:", hex::encode(bytes));
    let env = [("REDIS_URL", redis.as_str()), ("PHIAL_REDIS__KEY_PREFIX", prefix.as_str())];
    let url = database.url().to_owned();
    let one = Site::at_with(&url, &env, Box::new(database)).await;
    let two = Site::at_with(&url, &env, Box::new(())).await;
    one.register("susan").await;

    one.login(&one.client, "susan").await;
    let session = one.client.cookie("session").expect("a session cookie");
    two.client.set_cookie("session", &session);
    let html = two.client.get("/index").send().await.html().to_owned();
    assert!(html.contains("Hi, susan!"), "{html}");

    assert!(!one.client.get("/explore").send().await.html().contains("hello across"), "cached before the post");
    let token = csrf_token(&two.client, "/index").await;
    let response =
        two.client.post("/index").form(&[("csrf_token", token.as_str()), ("post", "hello across")]).send().await;
    assert_eq!(response.location(), Some("/index"));
    let html = one.client.get("/explore").send().await.html().to_owned();
    assert!(html.contains("hello across"), "the other instance's cache saw the write: {html}");

    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("susan:cat"));
    let api = one.client.new_session();
    let token = api.post("/api/tokens").header("Authorization", basic.as_str()).send().await.json_value()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.get("/api/users/1").bearer(&token).send().await.status(), StatusCode::OK);
    let other = two.client.new_session();
    assert_eq!(other.delete("/api/tokens").bearer(&token).send().await.status(), StatusCode::NO_CONTENT);
    assert_eq!(api.get("/api/users/1").bearer(&token).send().await.status(), StatusCode::UNAUTHORIZED);
}
