//! Sessions and flash messages: Flask's `session`, `flash` and `get_flashed_messages` as a
//! tower layer and an axum extractor.
//!
//! [`SessionLayer`] gives each request a [`Session`]; handlers extract it, read and write
//! JSON values by key, and the layer writes the result back as a cookie. By default the whole
//! session lives in that cookie, signed by [`CookieSigner`] (HMAC-SHA256, readable by the user
//! but not forgeable). With a [`SessionStore`] ([`MemoryStore`]; `RedisStore` with feature
//! `redis`; phial-sql's `SqlSessionStore`), the data stays on the server and the cookie holds a
//! signed random [`SessionId`].
//!
//! These parts work in any axum app; a phial app builds them from its `[app.session]` config
//! ([`SessionConfig`]) and its secret key.
//!
//! # Choosing a store
//!
//! `app.session.store` picks where session data lives:
//!
//! | store | where | use it when |
//! |---|---|---|
//! | `"cookie"` (default) | signed, in the browser's cookie | the session is small (under ~4 KB) and logging out everywhere is not needed: nothing to run |
//! | `"memory"` ([`MemoryStore`]) | this process | one instance, and losing sessions on restart is fine (development, tests) |
//! | `"redis"` (`RedisStore`, feature `redis`; the facade's feature `redis`) | the shared Redis server, with a TTL per session | several instances, or Redis is there anyway; add `phial_core::redis::RedisExtension` and configure `[redis] url` |
//! | `"sql"` (phial-sql's `SqlSessionStore`) | table `phial_session` in the app's database, expired rows deleted periodically | several instances and no Redis; call `SqlExtension::new().session_store()` |
//!
//! With a server-side store the cookie holds only a signed random id, the data never reaches
//! the browser, a session can be revoked by deleting its record, and
//! [`Session::cycle_id`] makes the id from before a login worthless. Each store call is
//! bounded (see [`SessionLayer::store_timeout`]): a store that is down makes requests that use
//! the session answer 503, never hang, and they work again once the store is back.
//!
//! # Cost of a cookie session
//!
//! A browser sends the same cookie until its session changes, so each process keeps the last
//! `app.session.decoded_cache` (1024) cookie sessions it verified or wrote, parsed, by cookie
//! value: a request with a known cookie skips the HMAC check and the JSON parse, and shares the
//! parsed values until it changes them (then it gets its own copy). A known cookie is still
//! refused once older than the lifetime; see [`SessionConfig::decoded_cache`] for the bounds.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::{get, post}, response::Redirect};
//! use phial_core::{HttpError, Secret};
//! use phial_core::session::{CookieSigner, Session, SessionConfig, SessionLayer};
//!
//! async fn login(session: Session) -> Result<Redirect, HttpError> {
//!     session.cycle_id();
//!     session.insert("user_id", 42)?;
//!     session.flash("You were logged in.");
//!     Ok(Redirect::to("/"))
//! }
//!
//! async fn index(session: Session) -> String {
//!     let notices: Vec<String> = session.take_flashes().into_iter().map(|f| f.message).collect();
//!     match session.get::<u64>("user_id") {
//!         Some(id) => format!("user {id}; {}", notices.join(" ")),
//!         None => "anonymous".to_owned(),
//!     }
//! }
//!
//! let config = SessionConfig::default();
//! let signer = CookieSigner::new(&Secret::new("a long random secret"), &[])?;
//! let secure = config.resolve_secure(false);
//! let app: Router = Router::new()
//!     .route("/", get(index))
//!     .route("/login", post(login))
//!     .layer(SessionLayer::new(signer, config, secure, None));
//! # Ok::<(), phial_core::Error>(())
//! ```
//!
//! # Coming from Flask
//!
//! | Flask | phial |
//! |---|---|
//! | `session["k"] = v` | [`session.insert("k", v)?`](Session::insert) |
//! | `session.get("k")`, `session["k"]` | [`session.get::<T>("k")`](Session::get) |
//! | `session.pop("k", None)` | [`session.pop::<T>("k")`](Session::pop) or [`remove`](Session::remove) |
//! | `"k" in session`, `session.clear()` | [`contains`](Session::contains), [`clear`](Session::clear) |
//! | `session.permanent = True` | [`set_permanent(true)`](Session::set_permanent) |
//! | `session.modified`, `session.accessed` | [`modified()`](Session::modified), [`accessed()`](Session::accessed) |
//! | `flash(msg, category)` | [`flash`](Session::flash), [`flash_with`](Session::flash_with) |
//! | `get_flashed_messages(with_categories, category_filter)` | [`get_flashed_messages(&[...])`](Session::get_flashed_messages): each [`FlashMessage`] has both fields |
//! | `SECRET_KEY`, `SECRET_KEY_FALLBACKS` | [`CookieSigner::new(secret, fallbacks)`](CookieSigner::new) |
//! | `SESSION_COOKIE_*`, `PERMANENT_SESSION_LIFETIME`, `SESSION_REFRESH_EACH_REQUEST`, `MAX_COOKIE_SIZE` | [`SessionConfig`] fields |
//! | Flask-Session's `SESSION_TYPE`, `session.sid`, `regenerate()` | [`SessionConfig::store`], [`Session::id`], [`Session::cycle_id`] |
//!
//! Differences, each for a reason:
//! - Values are JSON; `get` names the type to read back.
//! - `SameSite=Lax` by default (Flask sends none), and `Secure` by default in production.
//! - A cookie over [`max_cookie_size`](SessionConfig::max_cookie_size) is a 500 error, not a
//!   warning followed by a cookie the browser drops.
//! - The cookie format is phial's own (HMAC-SHA256 rather than itsdangerous's SHA-1), so
//!   Flask's session cookies are not read.
//! - A permanent session's cookie is refreshed on requests that use the session rather than on
//!   every request, so requests that never touch it stay free of `Set-Cookie` and
//!   `Vary: Cookie`.
//! - A cookie verified by a fallback key is signed again with the current key at once, so key
//!   rotation completes on each user's next visit.
//! - `_permanent` is kept out of the values (`get("_permanent")` is `None`).

mod cache;
mod config;
mod cookie;
mod flash;
mod handle;
mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;

pub use config::{SameSite, SessionConfig};
pub use cookie::{CookieSigner, SignatureError, Verified};
pub use flash::{DEFAULT_FLASH_CATEGORY, FlashMessage};
pub use handle::{PER_LOGIN_PREFIX, Session, SessionValues};
pub use layer::{SessionFuture, SessionLayer, SessionService};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
pub use store::{Record, SessionId, SessionStore};

#[cfg(test)]
mod tests;
