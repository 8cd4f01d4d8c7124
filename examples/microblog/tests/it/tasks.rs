//! The posts export: the task row, its `task_progress` notifications, the banner, the mail
//! with `posts.json`, one export at a time, and tasks a stopped process left behind.

use phial::axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;

use crate::{Site, csrf_token, eventually, follow_flash, mime_part};

async fn post(site: &Site, body: &str) {
    let client = &site.client;
    let token = csrf_token(client, "/index").await;
    let response = client.post("/index").form(&[("csrf_token", token.as_str()), ("post", body)]).send().await;
    assert_eq!(response.location(), Some("/index"));
}

/// `(id, name, description, complete)` of every task row.
async fn tasks(site: &Site) -> Vec<(String, String, Option<String>, bool)> {
    let select = Query::select().columns(["id", "name", "description", "complete"]).from("task").to_owned();
    site.db().fetch_all(&select).await.unwrap()
}

#[tokio::test]
async fn an_export_mails_the_posts_as_json_and_reports_its_progress() {
    let site = Site::new().await;
    site.register("susan").await;
    site.register("john").await;
    let client = &site.client;
    site.login(client, "john").await;
    post(&site, "not susan's").await;
    client.get("/auth/logout").send().await;
    site.login(client, "susan").await;
    post(&site, "first <post>").await;
    post(&site, "second post").await;
    let profile = client.get("/user/susan").send().await;
    assert!(profile.html().contains(r#"<a href="/export_posts">Export your posts</a>"#), "{}", profile.html());
    assert!(!client.get("/user/john").send().await.html().contains("Export your posts"), "only on the own profile");

    let recording = site.mail().record_messages();
    let response = client.get("/export_posts").send().await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/user/susan")));
    assert!(
        eventually(async || tasks(&site).await.iter().all(|task| task.3) && !recording.is_empty()).await,
        "the export ends and mails"
    );
    let rows = tasks(&site).await;
    assert_eq!(rows.len(), 1);
    let (id, name, description, complete) = &rows[0];
    assert_eq!(
        (id.len(), name.as_str(), description.as_deref(), complete),
        (36, "export_posts", Some("Exporting posts..."), &true)
    );
    let user_id: i32 = site
        .db()
        .fetch_scalar(
            &Query::select().column("user_id").from("task").and_where(Expr::col("id").eq(id.as_str())).to_owned(),
        )
        .await
        .unwrap();
    let susan: i32 = site
        .db()
        .fetch_scalar(
            &Query::select().column("id").from("user").and_where(Expr::col("username").eq("susan")).to_owned(),
        )
        .await
        .unwrap();
    assert_eq!(user_id, susan);

    let notifications = client.get("/notifications").send().await.json_value();
    let progress = notifications.as_array().unwrap().iter().find(|n| n["name"] == "task_progress").unwrap();
    assert_eq!(progress["data"], serde_json::json!({ "task_id": id, "progress": 100 }));

    let emails = recording.emails();
    let email = &emails[0];
    assert_eq!(email.subject(), "[Microblog] Your blog posts");
    assert_eq!(email.to(), ["susan@example.com"]);
    let raw = email.as_text();
    assert!(raw.contains("posts.json"), "{raw}");
    assert!(mime_part(&raw, "text/plain").unwrap().starts_with("Dear susan,"));
    let json: Value = serde_json::from_str(&mime_part(&raw, "application/json").unwrap()).unwrap();
    let posts = json["posts"].as_array().unwrap();
    let bodies: Vec<&str> = posts.iter().map(|post| post["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["first <post>", "second post"], "oldest first, only hers");
    assert!(posts.iter().all(|post| post["timestamp"].as_str().unwrap().ends_with('Z')), "{json}");

    // Done: no banner, and the link is back.
    let profile = client.get("/user/susan").send().await;
    assert!(!profile.html().contains(r#"-progress">"#), "{}", profile.html());
    assert!(profile.html().contains("Export your posts"));
}

#[tokio::test]
async fn one_export_at_a_time_with_a_banner_and_interrupted_tasks_end_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    // A long pause after each post keeps the export running for the whole test.
    let site = Site::at_with(&url, &[("PHIAL_MICROBLOG__EXPORT_DELAY", "3600.0")], Box::new(())).await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    post(&site, "hello").await;
    assert_eq!(client.get("/export_posts").send().await.location(), Some("/user/susan"));
    let id = tasks(&site).await[0].0.clone();
    let profile = client.get("/user/susan").send().await;
    let html = profile.html();
    assert!(
        html.contains("Exporting posts...") && html.contains(&format!(r#"<span id="{id}-progress">0</span>%"#)),
        "{html}"
    );
    assert!(!html.contains("Export your posts"), "{html}");
    let response = client.get("/export_posts").send().await;
    assert!(follow_flash(client, &response).await.contains("An export task is currently in progress"));
    assert_eq!(tasks(&site).await.len(), 1, "no second task");

    // A new process on the same database: the interrupted task is complete, the link is back.
    let restarted = Site::at(&url, Box::new(())).await;
    assert!(tasks(&restarted).await.iter().all(|task| task.3));
    site.login(&restarted.client, "susan").await;
    let html = restarted.client.get("/user/susan").send().await.html().to_owned();
    assert!(html.contains("Export your posts") && !html.contains(r#"-progress">"#), "{html}");
    drop(site);
}
