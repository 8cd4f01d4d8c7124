//! Templates: inheritance, autoescape, `url_for`, flashes, `config`, reload.

use axum::response::{Html, Redirect};
use axum::routing::get;
use http::StatusCode;
use phial_core::prelude::*;

use crate::{Started as _, builder};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn template_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "base.html",
        "<title>{% block title %}{% endblock %}</title>{% for m in get_flashed_messages() %}<p class=flash>{{ m }}</p>{% endfor %}{% block body %}{% endblock %}",
    );
    write(
        dir.path(),
        "index.html",
        "{% extends 'base.html' %}{% block title %}Hi {{ name }}{% endblock %}{% block body %}<a href=\"{{ url_for('user', username=name) }}\">me</a> <a href=\"{{ url_for('static', filename='app.css') }}\">css</a> {{ config.app.static_url_path }}{% endblock %}",
    );
    write(
        dir.path(),
        "cats.html",
        "{% for c, m in get_flashed_messages(with_categories=true) %}[{{ c }}:{{ m }}]{% endfor %}",
    );
    write(dir.path(), "broken.html", "{{ url_for('nowhere') }}");
    dir
}

async fn index(template: Template) -> Result<Html<String>, HttpError> {
    template.render("index.html", minijinja::context! { name => "<b>susan</b>" })
}

async fn flash_then_redirect(session: Session) -> Redirect {
    session.flash_with("error", "Invalid username or password");
    Redirect::to("/")
}

async fn client(dir: &std::path::Path, profile_reload: bool) -> phial_core::testing::TestClient {
    builder()
        .set("app.template_folder", dir.to_str().unwrap())
        .set("app.templates_auto_reload", profile_reload)
        .endpoint("index", "/", get(index))
        .endpoint("user", "/user/{username}", get(|| async { "" }))
        .endpoint("flash", "/flash", get(flash_then_redirect))
        .endpoint("cats", "/cats", get(|t: Template| async move { t.render("cats.html", ()) }))
        .endpoint("broken", "/broken", get(|t: Template| async move { t.render("broken.html", ()) }))
        .client()
        .await
}

#[tokio::test]
async fn renders_with_inheritance_escaping_url_for_and_config() {
    let dir = template_dir();
    let client = client(dir.path(), false).await;
    let html = client.get("/").await.assert_status(StatusCode::OK).html().to_owned();
    assert!(html.contains("<title>Hi &lt;b&gt;susan&lt;/b&gt;</title>"), "{html}");
    assert!(html.contains("href=\"/user/%3Cb%3Esusan%3C%2Fb%3E\""), "{html}");
    assert!(html.contains("href=\"/static/app.css\""), "{html}");
    assert!(html.ends_with(" /static"), "{html}");
}

#[tokio::test]
async fn flashes_show_once_in_templates() {
    let dir = template_dir();
    let client = client(dir.path(), false).await;
    client.get("/flash").await;
    let html = client.get("/").await.html().to_owned();
    assert!(html.contains("<p class=flash>Invalid username or password</p>"), "{html}");
    assert!(!client.get("/").await.html().contains("class=flash"));
    client.get("/flash").await;
    assert_eq!(client.get("/cats").await.html(), "[error:Invalid username or password]");
}

#[tokio::test]
async fn template_error_is_a_500_without_detail() {
    let dir = template_dir();
    let client = client(dir.path(), false).await;
    let response = client.get("/broken").accept_json().await;
    response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().contains("nowhere"), "{}", response.text());
}

#[tokio::test]
async fn reload_picks_up_edits() {
    let dir = template_dir();
    let client = client(dir.path(), true).await;
    write(dir.path(), "cats.html", "version one");
    assert_eq!(client.get("/cats").await.html(), "version one");
    write(dir.path(), "cats.html", "version two");
    assert_eq!(client.get("/cats").await.html(), "version two");
}

#[tokio::test]
async fn context_processors_run_only_for_requests_that_render() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = template_dir();
    write(dir.path(), "path.html", "{{ path }} {{ greeting }}, {{ origin }}");
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let client = builder()
        .set("app.template_folder", dir.path().to_str().unwrap())
        .context_processor(move |parts, vars| {
            counted.fetch_add(1, Ordering::SeqCst);
            vars.insert("path", parts.uri.path());
            vars.insert("greeting", "from the app");
        })
        .extension(FnExtension::new("greeter", |ctx| {
            // The app's processor runs after the extensions': its value wins.
            ctx.context_processor(|_, vars| {
                vars.insert("greeting", "from an extension");
                vars.insert("origin", "the extension");
            });
            Ok(())
        }))
        .endpoint("page", "/page", get(|t: Template| async move { t.render("path.html", ()) }))
        .endpoint("plain", "/plain", get(|| async { "no template" }))
        .client()
        .await;
    assert_eq!(client.get("/plain").await.text(), "no template");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "a request that renders nothing runs no processor");
    assert_eq!(client.get("/page").await.html(), "/page from the app, the extension");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
