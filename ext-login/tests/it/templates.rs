//! `current_user` in templates.

use axum::response::Html;
use axum::routing::get;
use phial_core::prelude::*;
use phial_login::{MaybeUser, login_required};

use crate::{User, Users, app_builder, log_in};

const HELLO: &str = "{% if current_user.is_authenticated %}Hi {{ current_user.name }} ({{ current_user.id }})\
                     {% else %}Hi stranger{% endif %}";

async fn hello(MaybeUser(_): MaybeUser<User>, template: Template) -> Result<Html<String>, HttpError> {
    template.render("hello.html", ())
}

async fn page(template: Template) -> Result<Html<String>, HttpError> {
    template.render("hello.html", ())
}

async fn client() -> (phial_core::testing::TestClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.html"), HELLO).unwrap();
    let pages = Blueprint::new("pages").endpoint("page", "/", get(page)).layer(
        Stage::Auth,
        "login_required",
        login_required::<User>(),
    );
    let app = app_builder(&Users::with(&["ada"]), "login_view = \"/login\"", "memory")
        .set("app.template_folder", dir.path().to_str().unwrap())
        .endpoint("hello", "/hello", get(hello))
        .blueprint("/pages", pages)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    (app.test_client(), dir)
}

#[tokio::test]
async fn current_user_is_anonymous_then_the_logged_in_user() {
    let (client, _dir) = client().await;
    assert_eq!(client.get("/hello").await.text(), "Hi stranger");
    log_in(&client, "ada", false).await;
    assert_eq!(client.get("/hello").await.text(), "Hi ada (ada)");
}

#[tokio::test]
async fn pages_behind_login_required_see_current_user_without_an_extractor() {
    let (client, _dir) = client().await;
    log_in(&client, "ada", false).await;
    assert_eq!(client.get("/pages").await.text(), "Hi ada (ada)");
}
