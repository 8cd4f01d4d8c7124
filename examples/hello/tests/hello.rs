//! The hello app end to end, in process.

use phial::Profile;
use phial::axum::http::StatusCode;

async fn client(greeting: Option<&str>) -> phial::testing::TestClient {
    let mut app = hello::app().profile(Profile::Testing);
    if let Some(greeting) = greeting {
        app = app.env([("PHIAL_HELLO__GREETING", greeting)]);
    }
    app.build().expect("builds").start().await.expect("starts").test_client()
}

#[tokio::test]
async fn index_greets_the_world_with_a_link_built_by_url_for() {
    let response = client(None).await.get("/").await;
    response.assert_status(StatusCode::OK);
    let html = response.html();
    assert!(html.contains("<h1>Hello, World!</h1>"), "{html}");
    assert!(html.contains(r#"href="/hello/Flask""#), "{html}");
}

#[tokio::test]
async fn greeting_comes_from_config_and_names_are_escaped() {
    let response = client(Some("Bonjour")).await.get("/hello/%3Cb%3E").await;
    assert!(response.html().contains("<h1>Bonjour, &lt;b&gt;!</h1>"), "{}", response.html());
}
