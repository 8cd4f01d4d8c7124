//! `current_user` in templates.

use axum::response::Html;
use axum::routing::get;
use phial_core::prelude::*;
use phial_login::{Login, LoginOptions, MaybeUser, login_required};

use crate::{User, Users, app_builder, log_in};

const HELLO: &str = "{% if current_user.is_authenticated %}Hi {{ current_user.name }} ({{ current_user.id }})\
                     {% else %}Hi stranger{% endif %}";

async fn hello(MaybeUser(_): MaybeUser<User>, template: Template) -> Result<Html<String>, HttpError> {
    template.render("hello.html", ())
}

async fn page(template: Template) -> Result<Html<String>, HttpError> {
    template.render("hello.html", ())
}

/// The template extracted before the user: `current_user` is read when the page renders.
async fn template_first(template: Template, MaybeUser(_): MaybeUser<User>) -> Result<Html<String>, HttpError> {
    template.render("hello.html", ())
}

/// Logs `grace` in, then renders: the page shows who is logged in now, as Flask's does.
async fn log_in_then_render(template: Template, mut login: Login<User>) -> Result<Html<String>, HttpError> {
    let grace = User { name: "grace".into(), active: true, password: String::new() };
    login.login_user(&grace, LoginOptions::new()).await.map_err(|err| HttpError::internal(err.to_string()))?;
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
        .endpoint("template_first", "/template-first", get(template_first))
        .endpoint("only_template", "/only-template", get(page))
        .endpoint("log_in_then_render", "/log-in-then-render", get(log_in_then_render))
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

#[tokio::test]
async fn current_user_is_read_when_the_page_renders() {
    let (client, _dir) = client().await;
    log_in(&client, "ada", false).await;
    // Extracted before the user: the user resolved after it is the one shown.
    assert_eq!(client.get("/template-first").await.text(), "Hi ada (ada)");
    // No extractor resolves the user: `current_user` stays undefined, as without a login.
    assert_eq!(client.get("/only-template").await.text(), "Hi stranger");
    // Logged in by the handler before rendering: the new user.
    let fresh = client.new_session();
    assert_eq!(fresh.get("/log-in-then-render").await.text(), "Hi grace (grace)");
}
