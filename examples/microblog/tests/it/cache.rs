//! The explore cache: reads come from it, and every write that changes the list is seen at
//! once, in one process (memory) and across instances (Redis).

use base64::Engine as _;

use crate::{Site, csrf_token};

async fn post(client: &phial::testing::TestClient, body: &str) {
    let token = csrf_token(client, "/index").await;
    let response = client.post("/index").form(&[("csrf_token", token.as_str()), ("post", body)]).send().await;
    assert_eq!(response.location(), Some("/index"));
}

async fn explore(client: &phial::testing::TestClient) -> String {
    client.get("/explore").send().await.html().to_owned()
}

#[tokio::test]
async fn explore_is_cached_and_every_write_that_changes_it_shows_at_once() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    post(client, "one").await;
    assert!(explore(client).await.contains("one"));
    // A row written behind the app's back is not seen: the page came from the cache.
    let susan = microblog::models::user_by_username(&site.db(), "susan").await.unwrap().unwrap();
    microblog::models::create_post(&site.db(), susan.id, "written behind the app's back", "").await.unwrap();
    assert!(!explore(client).await.contains("behind the app"));
    // A post through the app: the list is read again.
    post(client, "two").await;
    let html = explore(client).await;
    assert!(html.contains("two") && html.contains("behind the app"), "{html}");

    // A new user name shows on every post at once, from the form and from the API.
    let token = csrf_token(client, "/edit_profile").await;
    let response =
        client.post("/edit_profile").form(&[("csrf_token", token.as_str()), ("username", "susanna")]).send().await;
    assert_eq!(response.location(), Some("/edit_profile"));
    assert!(explore(client).await.contains(r#"href="/user/susanna""#));
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("susanna:cat"));
    let token = client.post("/api/tokens").header("Authorization", basic.as_str()).send().await.json_value()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({ "username": "sue" });
    client.put(format!("/api/users/{}", susan.id)).bearer(&token).json(&body).send().await;
    let html = explore(client).await;
    assert!(html.contains(r#"href="/user/sue""#) && !html.contains("susanna"), "{html}");
}

#[tokio::test]
async fn with_redis_url_two_instances_share_the_cache_and_its_invalidation() {
    let Some(url) = phial::testing::service_url(phial::testing::Service::Redis) else { return };
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let prefix = format!("microblog-test-{}:", hex::encode(bytes));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:///{}", dir.path().join("app.db").display());
    let env = [("REDIS_URL", url.as_str()), ("PHIAL_REDIS__KEY_PREFIX", prefix.as_str())];
    let one = Site::at_with(&db, &env, Box::new(())).await;
    let two = Site::at_with(&db, &env, Box::new(())).await;
    one.register("susan").await;
    one.login(&one.client, "susan").await;
    one.login(&two.client, "susan").await;
    post(&one.client, "first").await;
    assert!(explore(&two.client).await.contains("first"));
    // Written on instance one: instance two reads the list again.
    post(&one.client, "second").await;
    assert!(explore(&two.client).await.contains("second"));
}

#[tokio::test]
async fn cached_explore_pages_are_kept_per_language_and_page_with_their_links() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    for n in 0..26 {
        post(client, &format!("post number {n}")).await;
    }
    let in_language = |language: &'static str, path: &'static str| async move {
        client.get(path).header("Accept-Language", language).send().await.html().to_owned()
    };
    // English first fills the cache for page 1; Spanish then gets its own copy, not English.
    let english = in_language("en", "/explore").await;
    assert!(english.contains(" said ") && english.contains("Older posts"), "{english}");
    assert!(english.contains(r#"href="/explore?page=2""#), "{english}");
    let spanish = in_language("es", "/explore").await;
    assert!(spanish.contains(" dijo ") && spanish.contains("Artículos más antiguos"), "{spanish}");
    assert!(!spanish.contains(" said "), "{spanish}");
    let posts = |html: &str| html[html.find("<table").unwrap()..html.rfind("</nav>").unwrap()].to_owned();
    assert_eq!(posts(&in_language("en", "/explore").await), posts(&english), "the cached posts are served as rendered");
    // Page 2 holds the oldest post and links back to page 1 only.
    let second = in_language("en", "/explore?page=2").await;
    assert!(second.contains("post number 0") && !second.contains("post number 25"), "{second}");
    assert!(second.contains(r#"href="/explore?page=1""#) && !second.contains("page=3"), "{second}");
}
