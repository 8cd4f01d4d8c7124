//! The core of phial: Flask's application model on axum and tower.
//!
//! phial-core gives an app its shape — config, extensions, routing with `url_for`, middleware
//! stages, errors, sessions, templates, a CLI and a test client — and the [`Extension`] trait
//! that every phial extension, built-in or third-party, implements.
//!
//! ```no_run
//! use axum::routing::get;
//! use phial_core::prelude::*;
//!
//! async fn index(template: Template) -> Result<axum::response::Html<String>, HttpError> {
//!     template.render("index.html", minijinja::context! { name => "World" })
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         .endpoint("index", "/", get(index))
//!         .run() // `serve` by default; also `routes`, `config`, `check`, ...
//!         .await
//! }
//! ```
//!
//! # The app's life
//!
//! [`App::builder()`](App::builder) → add extensions, routes, blueprints, layers →
//! [`build()`](AppBuilder::build) (sync: load config, order extensions, run `build` hooks) →
//! [`start()`](App::start) (async: run `start` hooks, freeze state) →
//! [`serve`](RunningApp::serve) or [`run`](App::run) (the CLI) → on SIGINT/SIGTERM, finish
//! in-flight requests and run `shutdown` hooks in reverse order. Anything misconfigured fails
//! in `build` or `start` with a message saying what to change, not on the first request.
//!
//! # Writing an extension
//!
//! Implement [`Extension`]: a `NAME` (its config section and registry key), a typed `Config`
//! with Flask's defaults, and a `build` hook that registers routes, layers, commands and
//! promises; optionally `start` (connect, [`provide`](StartCtx::provide) state), `health`
//! and `shutdown`. Its working parts should be plain tower layers and axum extractors, so they
//! also work in a bare axum app. `examples/third-party-extension` is a complete one, and its
//! README is the tutorial.
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `templates` | [`Templates`], the [`Template`] extractor (minijinja, Jinja2 syntax) |
//! | `testing` | [`testing::TestClient`]: in-process requests with a cookie jar |
//! | `redis` | module `redis`: the one Redis connection every extension shares (`RedisExtension`, `[redis] url`), and the Redis session store `session::RedisStore`; the facade's feature `redis` turns it on |
//!
//! # Coming from Flask
//!
//! | Flask | phial |
//! |---|---|
//! | `app = Flask(__name__)` | `App::builder()` |
//! | `ext.init_app(app)` | `.extension(ext)` ([`Extension::build`] / [`Extension::start`]) |
//! | `@app.route("/", endpoint="index")` | `.endpoint("index", "/", get(handler))` |
//! | `Blueprint("auth", __name__)` + `register_blueprint(bp, url_prefix="/auth")` | [`Blueprint::new("auth")`](Blueprint::new) + `.blueprint("/auth", bp)` |
//! | `url_for("auth.login", next="/")` | [`AppState::url_for`], [`Urls`], `url_for(...)` in templates |
//! | `app.config["SECRET_KEY"]` | `[app] secret_key` in `phial.toml`, or env `SECRET_KEY` |
//! | `abort(404)` | `return Err(HttpError::not_found())` |
//! | `@app.errorhandler(404)` | [`AppBuilder::error_handler`] |
//! | `session["k"] = v` | [`Session::insert`] |
//! | `flash(msg, "info")` / `get_flashed_messages()` | [`Session::flash_with`] / in templates |
//! | `render_template("x.html", **ctx)` | [`Template::render`] |
//! | `@app.context_processor` | [`AppBuilder::context_processor`], `BuildCtx::context_processor` (feature `templates`) |
//! | `flask routes` / `flask run` | `<app> routes` / `<app> serve` |
//! | `app.test_client()` | [`RunningApp::test_client`] (feature `testing`) |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod app;
mod assembly;
pub mod cli;
pub mod config;
mod context;
pub mod error;
pub mod extension;
pub mod health;
pub mod middleware;
mod order;
pub mod outer;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod request;
pub mod routing;
pub mod secret;
pub mod service;
pub mod session;
pub mod state;
pub mod tasks;
#[cfg(feature = "templates")]
#[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
pub mod templates;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use app::{App, AppBuilder, RunningApp};
pub use cli::{CliCommand, CommandArgs};
pub use config::{AppConfig, ConfigSource, Profile};
pub use context::{BuildCtx, StartCtx};
pub use error::{BoxError, Error, HttpError};
pub use extension::{BoxFuture, Deps, Extension, ExtensionGroup, FnExtension};
pub use health::{Health, HealthReport};
pub use middleware::{ErrorContext, Stage};
pub use outer::RequestId;
pub use routing::{Blueprint, Routes, UrlError, Urls};
pub use secret::Secret;
pub use service::AppService;
pub use session::Session;
pub use state::{AppState, Ext};
#[cfg(feature = "templates")]
pub use templates::{Template, Templates};

/// Re-exports for `use phial_core::prelude::*`.
pub mod prelude {
    pub use crate::{
        App, AppBuilder, AppState, Blueprint, BuildCtx, CliCommand, CommandArgs, Deps, Error, ErrorContext, Ext,
        Extension, ExtensionGroup, FnExtension, Health, HttpError, Profile, RunningApp, Secret, Session, Stage,
        StartCtx, Urls,
    };
    #[cfg(feature = "templates")]
    pub use crate::{Template, Templates};
}

// Re-exported so extensions and apps use the same versions as the core.
pub use axum;
pub use clap;
#[cfg(feature = "templates")]
pub use minijinja;
pub use tower;
pub use tower_http;
