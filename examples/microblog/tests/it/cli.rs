//! The app's own commands: `seed`, and `db upgrade` adopting the original's database.

use std::process::ExitCode;

use phial::Profile;
use phial::axum::http::StatusCode;
use phial::cli::Output;

use crate::schema::ORIGINAL_DATABASE;
use crate::{Site, login_with, test_env};

#[tokio::test]
async fn seed_adds_users_who_log_in_and_see_followed_posts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let (out, text) = Output::buffer();
    let app = microblog::app(test_env(&url, &[])).profile(Profile::Testing).build().unwrap();
    let code = app.run_with(["microblog", "seed", "--users", "12", "--posts", "30"], out).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(text.text().trim(), "seeded 12 users, 30 posts");

    let site = Site::on(dir).await;
    let client = &site.client;
    let response = login_with(client, "user1", "password", "").await;
    assert_eq!(response.location(), Some("/index"));
    let index = client.get("/index").send().await;
    index.assert_status(StatusCode::OK);
    // user1 follows user2..user6: their posts and user1's own, newest first.
    let html = index.html();
    assert!(html.contains("Post number 30 of the seed.") || html.contains("Post number 29 of the seed."), "{html}");
    assert!(!html.contains(">user12<"), "user12 is not followed by user1: {html}");
    let profile = client.get("/user/user1").send().await;
    // Followed by user8..user12 (each follows the next five, wrapping), following user2..user6.
    assert!(profile.html().contains("5 followers, 5 following"), "{}", profile.html());
    let explore = client.get("/explore").send().await;
    assert_eq!(explore.html().matches("of the seed.").count(), 25);
}

#[tokio::test]
async fn db_upgrade_adopts_the_originals_database_instead_of_creating_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql(ORIGINAL_DATABASE).execute(&pool).await.unwrap();
    pool.close().await;

    // As in production: nothing runs at startup, `microblog db upgrade` is the step.
    let url = format!("sqlite:///{}", path.display());
    let env = test_env(&url, &[("PHIAL_MIGRATE__UPGRADE_ON_START", "false")]);
    let (out, text) = Output::buffer();
    let app = microblog::app(env).profile(Profile::Testing).build().unwrap();
    let code = app.run_with(["microblog", "db", "upgrade"], out).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{}", text.text());

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phial_migrations").fetch_one(&pool).await.unwrap();
    assert_eq!(applied, 11, "the original's nine stamped, the port's two applied");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user").fetch_one(&pool).await.unwrap();
    assert_eq!(users, 1, "the original's user is still there");
}
