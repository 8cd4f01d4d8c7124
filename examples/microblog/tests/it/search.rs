//! `/search` on SQLite (PostgreSQL and MariaDB: `backends`), the navbar's search box.

use phial::axum::http::StatusCode;

use crate::{Site, csrf_token};

async fn post(site: &Site, body: &str) {
    let client = &site.client;
    let token = csrf_token(client, "/index").await;
    let response = client.post("/index").form(&[("csrf_token", token.as_str()), ("post", body)]).send().await;
    assert_eq!(response.location(), Some("/index"));
}

#[tokio::test]
async fn search_finds_posts_with_every_word_and_pages_them() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    assert!(client.get("/search?q=fox").send().await.location().unwrap().starts_with("/auth/login"));
    assert!(!client.get("/auth/login").send().await.html().contains(r#"name="q""#), "no box for anonymous users");
    site.login(client, "susan").await;
    let index = client.get("/index").send().await;
    assert!(
        index.html().contains(r#"action="/search""#) && index.html().contains(r#"name="q" placeholder="Search""#),
        "{}",
        index.html()
    );
    for body in ["The quick brown fox", "lazy dog at 100%", "snake_case names", "a quick brown dog"] {
        post(&site, body).await;
    }
    for empty in ["/search", "/search?q=", "/search?q=%20%20"] {
        assert_eq!(client.get(empty).send().await.location(), Some("/explore"), "{empty}");
    }
    let search = |q: &'static str| async move {
        let response = client.get(format!("/search?q={q}")).send().await;
        response.assert_status(StatusCode::OK);
        response.html().to_owned()
    };
    let html = search("QUICK%20fox").await;
    assert!(html.contains("<h1>Search Results</h1>") && html.contains("The quick brown fox"), "{html}");
    assert!(!html.contains("a quick brown dog"), "every word must match: {html}");
    assert!(html.contains(r#"value="QUICK fox""#), "the box keeps the query: {html}");
    let html = search("brown").await;
    assert!(html.contains("The quick brown fox") && html.contains("a quick brown dog"), "{html}");
    assert!(html.find("a quick brown dog").unwrap() < html.find("The quick brown fox").unwrap(), "newest first");
    let html = search("100%25").await;
    assert!(html.contains("lazy dog at 100%") && !html.contains("quick"), "% is not a wildcard: {html}");
    let html = search("e_c").await;
    assert!(html.contains("snake_case") && !html.contains("lazy"), "_ is not a wildcard: {html}");

    for n in 0..26 {
        post(&site, &format!("match number {n}")).await;
    }
    let first = search("match").await;
    assert_eq!(first.matches("match number").count(), 25);
    assert!(first.contains(r#"href="/search?q=match&amp;page=2""#), "{first}");
    let second = client.get("/search?q=match&page=2").send().await.html().to_owned();
    assert!(second.contains("match number 0") && second.contains(r#"href="/search?q=match&amp;page=1""#), "{second}");
}
