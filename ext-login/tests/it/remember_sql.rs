//! Remember-me tokens and epochs in SQL (`SqlRememberStore`), shared by two instances of the
//! app on one database: SQLite, and PostgreSQL and MariaDB when their servers answer (each test
//! on a database of its own).

use std::time::Duration;

use http::StatusCode;
use phial_core::testing::TestClient;
use phial_login::{RememberRecord, RememberStore, SqlRememberStore};
use phial_sql::testing::TestDatabase;
use phial_sql::{Databases, SqlExtension};

use crate::{Users, app_builder, log_in};

/// Two instances of one app on `db`, tokens and epochs in SQL, sessions in cookies.
async fn two_instances(db: &TestDatabase) -> (TestClient, TestClient) {
    let users = Users::with(&["ada"]);
    let mut clients = Vec::new();
    for _ in 0..2 {
        let app = app_builder(&users, "login_view = \"/login\"\nremember_store = \"sql\"", "cookie")
            .extension(SqlExtension::new().tables(SqlRememberStore::tables()).create_all_on_start())
            .set("sql.url", db.url())
            .build()
            .unwrap()
            .start()
            .await
            .unwrap();
        clients.push(app.test_client());
    }
    let second = clients.pop().unwrap();
    (clients.pop().unwrap(), second)
}

#[tokio::test]
async fn remember_token_from_one_instance_logs_in_on_another_and_rotates() {
    for db in TestDatabase::available().await {
        let (a, b) = two_instances(&db).await;
        log_in(&a, "ada", true).await;
        let token = a.cookie("remember_token").unwrap();
        let browser = b.new_session();
        browser.set_cookie("remember_token", &token);
        assert_eq!(browser.get("/account").await.text(), "account:ada", "{:?}", db.backend());
        browser.get("/settings").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
        assert_ne!(browser.cookie("remember_token").unwrap(), token, "rotated on use");

        let replay = a.new_session();
        replay.set_cookie("remember_token", &token);
        assert_eq!(replay.get("/").await.text(), "anonymous", "{:?}: a used token is dead", db.backend());
    }
}

#[tokio::test]
async fn logout_everywhere_on_one_instance_ends_sessions_and_tokens_on_the_other() {
    for db in TestDatabase::available().await {
        let (a, b) = two_instances(&db).await;
        log_in(&a, "ada", false).await;
        log_in(&b, "ada", true).await;
        let token = b.cookie("remember_token").unwrap();
        a.post("/logout-everywhere").await.assert_status(StatusCode::OK);
        assert_eq!(b.get("/").await.text(), "anonymous", "{:?}", db.backend());
        let browser = b.new_session();
        browser.set_cookie("remember_token", &token);
        assert_eq!(browser.get("/").await.text(), "anonymous", "{:?}", db.backend());
    }
}

#[tokio::test]
async fn store_keeps_epochs_counts_concurrent_bumps_and_drops_expired_tokens() {
    for db in TestDatabase::available().await {
        let databases =
            Databases::connect(&db.config(), std::path::Path::new("."), SqlRememberStore::tables()).await.unwrap();
        databases.create_all("default").await.unwrap();
        let store = SqlRememberStore::new(databases.default_db().clone());

        assert_eq!(store.epoch("ada").await.unwrap(), 0);
        assert_eq!(store.bump_epoch("ada").await.unwrap(), 1);
        let bumps = (0..8).map(|_| store.bump_epoch("ada"));
        futures_util::future::try_join_all(bumps).await.unwrap();
        assert_eq!(store.epoch("ada").await.unwrap(), 9, "{:?}: every bump counted", db.backend());
        assert_eq!(store.epoch("bob").await.unwrap(), 0);

        // Records keep whole seconds.
        let now = time::OffsetDateTime::from_unix_timestamp(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        let live = RememberRecord::new("ada", [7; 32], Some("h".into()), 9, now + time::Duration::days(1));
        let stale = RememberRecord::new(
            "ada",
            [8; 32],
            None,
            9,
            time::OffsetDateTime::now_utc() + time::Duration::milliseconds(50),
        );
        store.save("live", &live).await.unwrap();
        store.save("stale", &stale).await.unwrap();
        assert_eq!(store.load("live").await.unwrap(), Some(live.clone()));
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.load("stale").await.unwrap(), None, "{:?}: expired is absent", db.backend());
        assert_eq!(store.delete_expired().await.unwrap(), 1);
        store.delete("live").await.unwrap();
        assert_eq!(store.load("live").await.unwrap(), None);
        databases.close().await;
    }
}
