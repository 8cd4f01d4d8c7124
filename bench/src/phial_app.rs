//! The phial app: a normal app with the default layer stack, production profile.

use axum::Json;
use axum::extract::Path;
use axum::response::Html;
use axum::routing::get;
use phial_core::prelude::*;

use crate::common::{ITEMS, Message, PAGE, TEXT, TITLE, USER, USER_KEY, greeting, template_dir};

/// The secret key when `SECRET_KEY` is not set: long and random-looking, as production demands.
pub(crate) const BENCH_SECRET: &str = "3f9c1e7a52b84d06a1c9e2f47b3d58a0c6e1f29d84b7a35e";

pub(crate) async fn serve(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let secret = std::env::var("SECRET_KEY").unwrap_or_else(|_| BENCH_SECRET.to_owned());
    let app = App::builder()
        .profile(Profile::Production)
        .set("app.secret_key", secret)
        .set("app.template_folder", template_dir())
        .endpoint("text", "/text", get(text))
        .endpoint("json", "/json", get(json))
        .endpoint("user", "/user/{name}", get(user))
        .endpoint("template", "/template", get(template))
        .endpoint("session", "/session", get(session_read))
        .endpoint("login", "/login", get(login))
        .build()?
        .start()
        .await?;
    app.serve(listener).await?;
    Ok(())
}

async fn text() -> &'static str {
    TEXT
}

async fn json() -> Json<Message> {
    Json(Message { message: TEXT })
}

async fn user(Path(name): Path<String>) -> String {
    greeting(&name)
}

async fn template(template: Template) -> Result<Html<String>, HttpError> {
    template.render(PAGE, minijinja::context! { title => TITLE, items => &*ITEMS })
}

async fn login(session: Session) -> Result<&'static str, HttpError> {
    session.insert(USER_KEY, USER)?;
    Ok("logged in")
}

async fn session_read(session: Session) -> String {
    session.get::<String>(USER_KEY).unwrap_or_else(|| "anonymous".to_owned())
}
