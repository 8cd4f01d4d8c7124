//! The Flask Mega-Tutorial's microblog on phial: the same pages, forms, flash messages,
//! redirects and database as Miguel Grinberg's original (tag v0.23), in Rust.
//!
//! ```text
//! cargo run --release -p microblog                 # http://127.0.0.1:5000/, SQLite in instance/app.db
//! DATABASE_URL=sqlite:////srv/microblog/app.db cargo run -p microblog   # the original's database
//! cargo run -p microblog -- db upgrade             # migrations (also applied at startup in development)
//! cargo run -p microblog -- routes                 # the URL map
//! cargo run -p microblog -- seed --users 100 --posts 10000   # demo data (password: password)
//! ```
//!
//! Configuration is the original's: `SECRET_KEY`, `DATABASE_URL` (SQLAlchemy or sqlx URLs),
//! `SERVER_NAME`, `MAIL_*`, `MS_TRANSLATOR_KEY`, `REDIS_URL`, `LOG_TO_STDOUT`, read from the
//! environment or a `.env` file in the working directory, plus `LOGIN_RATE_LIMIT` and
//! `RATELIMIT_ENABLED` for the rate limits the port adds; its fixed settings are section
//! `[microblog]` ([`MicroblogConfig`]).
//! See the README for how the port differs, how to deploy it and how fast it is.

pub mod adopt;
pub mod api;
pub mod auth;
pub mod cache;
pub mod config;
pub mod email;
pub mod errors;
pub mod forms;
pub mod i18n;
pub mod limits;
pub mod logging;
pub mod md5;
pub mod models;
pub mod pages;
pub mod reset;
pub mod seed;
pub mod tasks;
pub mod translate;
pub mod web;

use phial::BoxError;
use phial::forms::FormsExtension;
use phial::login::LoginExtension;
use phial::mail::MailExtension;
use phial::migrate::MigrateExtension;
use phial::prelude::*;
use phial::sql::{Databases, SqlExtension};

pub use config::MicroblogConfig;
use models::User;

/// Where the example's files are: templates and migrations are found from any working directory.
const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The app, before `build`, configured from `env` (in `main`: the process environment over
/// `.env`; in tests: exactly what the test gives).
pub fn app(env: impl IntoIterator<Item = (String, String)>) -> AppBuilder {
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    match env.iter_mut().find(|(name, _)| name == "DATABASE_URL") {
        Some((_, url)) => *url = config::database_url(url),
        None => env.push(("DATABASE_URL".to_owned(), config::DEFAULT_DATABASE_URL.to_owned())),
    }
    // Development applies migrations at startup, as `flask db upgrade` in the original's
    // `boot.sh`; production runs `microblog db upgrade` (or `phial-migrate upgrade`) once.
    let production = env.iter().any(|(name, value)| name == "PHIAL_PROFILE" && value == "production");
    // The revisions' SQL differs per backend (SERIAL, AUTO_INCREMENT, quoting of `user`).
    let url = env.iter().find(|(name, _)| name == "DATABASE_URL").map_or("", |(_, url)| url.as_str());
    let migrations = match phial::sql::Backend::from_url(url) {
        Ok(phial::sql::Backend::Postgres) => "postgres",
        Ok(phial::sql::Backend::MySql) => "mysql",
        _ => "sqlite",
    };
    let var = |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let redis = var("REDIS_URL").is_some_and(|url| !url.is_empty());
    // The explore cache (see `cache`) must see every write: in Redis when there is one; in
    // memory on SQLite (one machine, one server process); off for PostgreSQL and MariaDB
    // without Redis, where several instances may share the database.
    let cache_backend = match (redis, migrations) {
        (true, _) => "redis",
        (false, "sqlite") => "memory",
        (false, _) => "null",
    };
    // Remember-me tokens live in the database beside the users (`login.remember_store =
    // "sql"`, tables made by revision c3d5e7f9a1b2): every instance sharing the database
    // honours and revokes the same tokens, and a restart keeps them.
    let defaults = format!(
        "[app]\ntemplate_folder = \"{CRATE_DIR}/templates\"\n\
         [migrate]\ndirectory = \"{CRATE_DIR}/migrations/{migrations}\"\nupgrade_on_start = {upgrade}\n\
         [login]\nlogin_view = \"auth.login\"\nremember_store = \"sql\"\n\
         [forms.csrf]\nenabled = false\n\
         [mail]\nfolder = \"instance/mail\"\n\
         [cache]\nbackend = \"{cache_backend}\"\n",
        upgrade = !production
    );
    let login_limit = var("LOGIN_RATE_LIMIT").filter(|limit| !limit.trim().is_empty());
    let login_limit = login_limit.as_deref().unwrap_or(limits::DEFAULT_LOGIN_RATE_LIMIT);
    let app = App::builder()
        .config_section::<MicroblogConfig>("microblog")
        .config_toml(&defaults)
        .extension(SqlExtension::new())
        .extension(adopt::AdoptAlembic)
        .extension(MigrateExtension::new())
        .extension(LoginExtension::<User>::with_loader_from(|ctx: &StartCtx| {
            let db = ctx.require::<Databases>()?.default_db().clone();
            Ok(move |id: String| load_user(db.clone(), id))
        }))
        // The forms check their own CSRF tokens (see `forms`); the extension gives them the
        // keys and `csrf_token()` / `hidden_tag()` in templates.
        .extension(FormsExtension::new().catalog(i18n::forms_catalog()))
        .extension(i18n::I18nExtension)
        .extension(MailExtension::new())
        .extension(phial::cache::CacheExtension::new())
        .extension(reset::ResetTokensExtension)
        .extension(tasks::OrphanTasks)
        .extension(translate::TranslatorExtension)
        .extension(limits::extension(login_limit))
        .extension(logging::ErrorMailExtension)
        .blueprint("/auth", auth::blueprint())
        .blueprint("", pages::blueprint())
        .blueprint("/api", api::blueprint())
        .template_global("_", phial::minijinja::Value::from_function(gettext))
        .command(seed::command());
    let mut app = app;
    for (name, value) in &env {
        app = match name.as_str() {
            // Flask's SERVER_NAME: the host of external URLs (the reset-password links).
            "SERVER_NAME" => app.set("app.server_name", value.as_str()),
            "MS_TRANSLATOR_KEY" if !value.is_empty() => app.set("microblog.ms_translator_key", value.as_str()),
            "RATELIMIT_ENABLED" => app.set("limiter.enabled", limits::enabled(value)),
            _ => app,
        };
    }
    for (key, value) in email::settings(&env) {
        app = app.set(key, value);
    }
    // REDIS_URL (read by phial into `[redis] url`): the rate limits count in Redis and the
    // cache lives there, so both hold across instances. The original uses it for its task queue, which the port does
    // not need.
    if redis {
        app = app.extension(phial::redis::RedisExtension::new()).set("limiter.storage_uri", "redis://");
    }
    errors::register(app).env(env)
}

/// The user loader, which also does the original's `before_request`: every request of a
/// logged-in user sets `last_seen` (the loader runs once per request that asks who the user
/// is, which every page does), and the loaded user carries the new time.
async fn load_user(db: phial::sql::Db, id: String) -> Result<Option<User>, BoxError> {
    let Ok(id) = id.parse::<i32>() else { return Ok(None) };
    let now = models::now();
    models::touch_last_seen(&db, id, now).await?;
    // One statement for the row, the unread count and whether tasks run (usually none).
    let Some(loaded) = models::loaded_user_by_id(&db, id).await? else { return Ok(None) };
    let mut user = loaded.user;
    user.last_seen = Some(now);
    user.unread_messages = loaded.unread_messages;
    if loaded.open_tasks > 0 {
        user.tasks = models::tasks_in_progress(&db, user.id).await?;
    }
    Ok(Some(user))
}

/// `_()` for templates rendered without a request (the error pages): English. Requests get
/// their own, in their language, from [`i18n::I18nExtension`].
#[expect(clippy::needless_pass_by_value, reason = "minijinja hands keyword arguments over by value")]
fn gettext(text: String, kwargs: phial::minijinja::value::Kwargs) -> Result<String, phial::minijinja::Error> {
    i18n::gettext(i18n::Locale::En, &text, &kwargs)
}
