//! `safe_next` on the login form's `next`.

use http::StatusCode;

use crate::client;

#[tokio::test]
async fn next_relative_path_with_query_is_followed_exactly() {
    let (client, _) = client().await;
    let res = client.post("/login").form(&[("name", "ada"), ("next", "/account?tab=2")]).await;
    res.assert_status(StatusCode::FOUND);
    assert_eq!(res.location(), Some("/account?tab=2"));
}

#[tokio::test]
async fn open_redirect_vectors_go_to_the_default_page() {
    let (client, _) = client().await;
    for next in [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "https://evil.example/",
        "/\t/evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "java%0Ascript:alert(1)",
    ] {
        let res = client.new_session().post("/login").form(&[("name", "ada"), ("next", next)]).await;
        res.assert_status(StatusCode::FOUND);
        assert_eq!(res.location(), Some("/"), "next = {next:?}");
    }
}

#[tokio::test]
async fn next_can_travel_in_the_session_instead_of_the_url() {
    let users = crate::Users::with(&["ada"]);
    let client =
        crate::app_with(&users, "login_view = \"/login\"\nuse_session_for_next = true", "memory").await.test_client();
    let res = client.get("/account?tab=2").header("accept", crate::HTML).await;
    assert_eq!(res.location(), Some("/login"));
    let res = client.post("/login").form(&[("name", "ada")]).await;
    assert_eq!(res.location(), Some("/account?tab=2"));
    // Taken once.
    let res = client.post("/login").form(&[("name", "ada")]).await;
    assert_eq!(res.location(), Some("/"));
}
