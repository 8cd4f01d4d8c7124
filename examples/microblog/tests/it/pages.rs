//! The main pages: index with the post form and the followed feed, explore, profiles, edit
//! profile, follow and unfollow, error pages, `last_seen`.

use phial::axum::http::StatusCode;

use crate::{Site, csrf_token, follow_flash};

#[tokio::test]
async fn posting_flashes_and_shows_the_post_on_index_and_explore() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    let page = client.get("/").send().await;
    page.assert_status(StatusCode::OK);
    assert!(page.html().contains("Hi, susan!"), "{}", page.html());
    assert!(page.html().contains(r#"name="post""#) && page.html().contains(r#"value="Submit""#));

    let token = csrf_token(client, "/index").await;
    let response =
        client.post("/index").form(&[("csrf_token", token.as_str()), ("post", "my <first> post")]).send().await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/index")));
    let html = follow_flash(client, &response).await;
    assert!(html.contains("Your post is now live!"), "{html}");
    assert!(html.contains("my &lt;first&gt; post"), "escaped post body: {html}");
    let explore = client.get("/explore").send().await;
    assert!(explore.html().contains("<title>Explore - Microblog</title>"));
    assert!(explore.html().contains("my &lt;first&gt; post"));
    assert!(!explore.html().contains(r#"name="post""#), "explore has no post form");

    let long = "x".repeat(141);
    let response = client.post("/index").form(&[("csrf_token", token.as_str()), ("post", long.as_str())]).send().await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Field must be between 1 and 140 characters long."), "{}", response.html());
}

#[tokio::test]
async fn the_feed_holds_own_and_followed_posts_newest_first() {
    // tests.py's test_follow_posts, over the real database.
    let site = Site::new().await;
    let db = site.db();
    let mut ids = std::collections::HashMap::new();
    for name in ["john", "susan", "mary", "david"] {
        let id = microblog::models::create_user(&db, name, &format!("{name}@example.com"), "x").await.unwrap();
        ids.insert(name, id);
    }
    // Written oldest first: john, david, mary, susan.
    for name in ["john", "david", "mary", "susan"] {
        microblog::models::create_post(&db, ids[name], &format!("post from {name}"), "").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    for (follower, followed) in [("john", "susan"), ("john", "david"), ("susan", "mary"), ("mary", "david")] {
        microblog::models::follow(&db, ids[follower], ids[followed]).await.unwrap();
    }
    let feed = |name: &'static str| {
        let db = db.clone();
        let id = ids[name];
        async move {
            let (posts, more) =
                microblog::models::page_of_posts(&db, microblog::models::following_posts(id), 1, 25).await.unwrap();
            assert!(!more);
            posts.into_iter().map(|post| post.username).collect::<Vec<_>>()
        }
    };
    assert_eq!(feed("john").await, ["susan", "david", "john"]);
    assert_eq!(feed("susan").await, ["susan", "mary"]);
    assert_eq!(feed("mary").await, ["mary", "david"]);
    assert_eq!(feed("david").await, ["david"]);
    assert_eq!(microblog::models::following_count(&db, ids["john"]).await.unwrap(), 2);
    assert_eq!(microblog::models::followers_count(&db, ids["david"]).await.unwrap(), 2);
}

#[tokio::test]
async fn pages_hold_25_posts_with_older_and_newer_links() {
    let site = Site::new().await;
    site.register("susan").await;
    let db = site.db();
    let susan = microblog::models::user_by_username(&db, "susan").await.unwrap().unwrap();
    for n in 1..=26 {
        microblog::models::create_post(&db, susan.id, &format!("post number {n}."), "").await.unwrap();
    }
    let client = &site.client;
    site.login(client, "susan").await;
    for path in ["/index", "/explore", "/user/susan"] {
        let first = client.get(path).send().await;
        let html = first.html();
        assert_eq!(html.matches("post number ").count(), 25, "{path}");
        assert!(html.contains("post number 26.") && !html.contains("post number 1."), "{path}: newest first");
        assert!(html.contains(&format!(r#"href="{path}?page=2""#)), "{path}: older link: {html}");
        assert!(html.contains(r#"<li class="page-item disabled">"#), "{path}: no newer page");
        let second = client.get(format!("{path}?page=2")).send().await;
        let html = second.html();
        assert_eq!(html.matches("post number ").count(), 1, "{path}");
        assert!(html.contains("post number 1."));
        assert!(html.contains(&format!(r#"href="{path}?page=1""#)), "{path}: newer link");
        // Past the end: an empty page, as paginate(error_out=False) gives; junk is page 1.
        let past = client.get(format!("{path}?page=9")).send().await;
        past.assert_status(StatusCode::OK);
        assert_eq!(past.html().matches("post number ").count(), 0);
        assert_eq!(client.get(format!("{path}?page=abc")).send().await.html().matches("post number ").count(), 25);
    }
}

#[tokio::test]
async fn follow_and_unfollow_flash_and_redirect_as_the_original() {
    let site = Site::new().await;
    site.register("john").await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "john").await;

    let profile = client.get("/user/susan").send().await;
    assert!(profile.html().contains("0 followers, 0 following"), "{}", profile.html());
    assert!(profile.html().contains(r#"action="/follow/susan""#) && profile.html().contains(r#"value="Follow""#));
    let token = csrf_token(client, "/user/susan").await;

    let response =
        client.post("/follow/susan").form(&[("csrf_token", token.as_str()), ("submit", "Follow")]).send().await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/user/susan")));
    let html = follow_flash(client, &response).await;
    assert!(html.contains("You are following susan!"), "{html}");
    assert!(html.contains("1 followers, 0 following"), "{html}");
    assert!(html.contains(r#"action="/unfollow/susan""#) && html.contains(r#"value="Unfollow""#));

    let response = client.post("/follow/john").form(&[("csrf_token", token.as_str())]).send().await;
    assert_eq!(response.location(), Some("/user/john"));
    assert!(follow_flash(client, &response).await.contains("You cannot follow yourself!"));
    let response = client.post("/unfollow/john").form(&[("csrf_token", token.as_str())]).send().await;
    assert!(follow_flash(client, &response).await.contains("You cannot unfollow yourself!"));
    let response = client.post("/follow/nobody").form(&[("csrf_token", token.as_str())]).send().await;
    assert_eq!(response.location(), Some("/index"));
    assert!(follow_flash(client, &response).await.contains("User nobody not found."));

    let response = client.post("/unfollow/susan").form(&[("csrf_token", token.as_str())]).send().await;
    assert_eq!(response.location(), Some("/user/susan"));
    let html = follow_flash(client, &response).await;
    assert!(html.contains("You are not following susan."), "{html}");
    assert!(html.contains("0 followers, 0 following"), "{html}");
}

#[tokio::test]
async fn follow_with_a_bad_token_redirects_home_and_changes_nothing() {
    let site = Site::new().await;
    site.register("john").await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "john").await;
    for form in [vec![], vec![("csrf_token", "forged")]] {
        let response = client.post("/follow/susan").form(&form).send().await;
        assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/index")));
    }
    let db = site.db();
    let susan = microblog::models::user_by_username(&db, "susan").await.unwrap().unwrap();
    assert_eq!(microblog::models::followers_count(&db, susan.id).await.unwrap(), 0);
}

#[tokio::test]
async fn own_profile_links_to_edit_profile_which_saves_with_a_flash() {
    let site = Site::new().await;
    site.register("susan").await;
    site.register("john").await;
    let client = &site.client;
    site.login(client, "susan").await;
    let profile = client.get("/user/susan").send().await;
    let html = profile.html();
    assert!(html.contains("<h1>User: susan</h1>"), "{html}");
    assert!(html.contains(r#"href="/edit_profile""#), "{html}");
    let avatar = format!(
        "https://www.gravatar.com/avatar/{}?d=identicon&amp;s=256",
        microblog::md5::hex_digest(b"susan@example.com")
    );
    assert!(html.contains(&avatar), "{html}");
    assert!(html.contains("Last seen on"), "{html}");

    let form = client.get("/edit_profile").send().await;
    assert!(form.html().contains(r#"value="susan""#), "prefilled: {}", form.html());
    let token = csrf_token(client, "/edit_profile").await;
    let response = client
        .post("/edit_profile")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("about_me", "I like cats")])
        .send()
        .await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/edit_profile")));
    let html = follow_flash(client, &response).await;
    assert!(html.contains("Your changes have been saved."), "{html}");
    assert!(html.contains(">I like cats</textarea>"), "{html}");
    assert!(client.get("/user/susan").send().await.html().contains("<p>I like cats</p>"));

    let response =
        client.post("/edit_profile").form(&[("csrf_token", token.as_str()), ("username", "john")]).send().await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Please use a different username."), "{}", response.html());
    let long = "y".repeat(141);
    let response = client
        .post("/edit_profile")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("about_me", long.as_str())])
        .send()
        .await;
    // WTForms' `Length(min=0, max=140)` message.
    assert!(response.html().contains("Field must be between 0 and 140 characters long."), "{}", response.html());
    // Renaming works, and the profile moves with the name.
    let response =
        client.post("/edit_profile").form(&[("csrf_token", token.as_str()), ("username", "suzy")]).send().await;
    assert_eq!(response.location(), Some("/edit_profile"));
    client.get("/user/suzy").send().await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unknown_pages_are_404_as_html_or_json() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    let response = client.get("/user/nobody").send().await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert!(response.html().contains("<h1>Not Found</h1>"), "{}", response.html());
    let response = client.get("/no/such/page").send().await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert!(response.html().contains("<h1>Not Found</h1>"));
    let response = client.get("/user/nobody").accept_json().send().await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json_value(), serde_json::json!({"error": "Not Found"}));
}

#[tokio::test]
async fn every_request_of_a_logged_in_user_updates_last_seen() {
    let site = Site::new().await;
    site.register("susan").await;
    let db = site.db();
    let before = microblog::models::user_by_username(&db, "susan").await.unwrap().unwrap().last_seen.unwrap();
    let client = &site.client;
    site.login(client, "susan").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    client.get("/explore").send().await.assert_status(StatusCode::OK);
    let after = microblog::models::user_by_username(&db, "susan").await.unwrap().unwrap().last_seen.unwrap();
    assert!(after > before, "{before} -> {after}");
}

#[tokio::test]
async fn user_popup_shows_the_small_profile() {
    let site = Site::new().await;
    site.register("john").await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "john").await;
    let response = client.get("/user/susan/popup").send().await;
    response.assert_status(StatusCode::OK);
    let html = response.html();
    assert!(html.contains(r#"href="/user/susan""#) && html.contains("0 followers, 0 following"), "{html}");
    assert!(html.contains(r#"action="/follow/susan""#), "{html}");
    assert!(!html.contains("<html"), "a fragment, not a page");
}
