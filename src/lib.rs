//! phial: Flask's extension ecosystem on axum and tower.
//!
//! Apps depend on this facade and turn on one feature per extension; an app that enables
//! none compiles none of their dependencies. Everything here is a re-export: the core
//! ([`phial_core`]) at the root, each extension under its own module.
//!
//! ```no_run
//! use phial::prelude::*;
//! use phial::axum::routing::get;
//!
//! // In `main`, under `#[tokio::main]`:
//! async fn run() -> std::process::ExitCode {
//!     App::builder()
//!         .endpoint("index", "/", get(|| async { "Hello, World!" }))
//!         .run()
//!         .await
//! }
//! # let _ = run;
//! ```
//!
//! # Feature flags
//!
//! | feature | crate | mirrors | status |
//! |---|---|---|---|
//! | *(none)* | `phial-core` | Flask itself: app, config, blueprints, sessions, flash, CLI | available |
//! | `templates` | `phial-core` | Jinja2 templates (minijinja) | available |
//! | `testing` | `phial-core` | `app.test_client()` | available |
//! | `sql` (+ `sqlite`, `postgres`, `mysql`) | `phial-sql` | Flask-SQLAlchemy | available |
//! | `migrate` | `phial-migrate` (+ binary `phial-migrate`) | Flask-Migrate / Alembic | available |
//! | `login` | `phial-login` | Flask-Login | available |
//! | `forms` | `phial-forms` | Flask-WTF | available |
//! | `jwt` | `phial-jwt` | Flask-JWT-Extended | available |
//! | `mail` | `phial-mail` | Flask-Mail | available |
//! | `cache` | `phial-cache` | Flask-Caching | available |
//! | `limiter` | `phial-limiter` | Flask-Limiter | available |
//! | `redis` | `phial-core` | the shared Redis connection; the Redis session store and the Redis backends of login, JWT blocklist, cache and limiter | available |
//! | `full` | | everything above | |
//!
//! An extension's module appears here when its feature is on, e.g. `phial::sql` with `sql`.
//!
//! # Coming from Flask
//!
//! See the "Coming from Flask" table in [`phial_core`]; each extension crate has its own
//! (e.g. "Coming from Flask-SQLAlchemy").
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use phial_core::*;

/// SQL databases: Flask-SQLAlchemy's role (feature `sql`).
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub use phial_sql as sql;

/// Migrations: Flask-Migrate / Alembic's role (feature `migrate`).
#[cfg(feature = "migrate")]
#[cfg_attr(docsrs, doc(cfg(feature = "migrate")))]
pub use phial_migrate as migrate;

/// Logins: Flask-Login's role (feature `login`).
#[cfg(feature = "login")]
#[cfg_attr(docsrs, doc(cfg(feature = "login")))]
pub use phial_login as login;

/// Forms: Flask-WTF's role (feature `forms`).
#[cfg(feature = "forms")]
#[cfg_attr(docsrs, doc(cfg(feature = "forms")))]
pub use phial_forms as forms;

/// JSON Web Tokens: Flask-JWT-Extended's role (feature `jwt`).
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use phial_jwt as jwt;

/// Caching: Flask-Caching's role (feature `cache`).
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use phial_cache as cache;

/// Rate limits: Flask-Limiter's role (feature `limiter`).
#[cfg(feature = "limiter")]
#[cfg_attr(docsrs, doc(cfg(feature = "limiter")))]
pub use phial_limiter as limiter;

/// Mail: Flask-Mail's role (feature `mail`).
#[cfg(feature = "mail")]
#[cfg_attr(docsrs, doc(cfg(feature = "mail")))]
pub use phial_mail as mail;

/// Everything an app usually needs: `use phial::prelude::*;`.
pub mod prelude {
    pub use phial_core::prelude::*;
}
