//! phial-login: logins for phial apps, in the role of Flask-Login.
//!
//! Users are an app's own type implementing [`AuthUser`]; a [`UserLoader`] finds them by the id
//! kept in the session. [`LoginExtension`] reads `[login]` (a bare axum app uses a
//! [`LoginLayer`] instead); handlers use the [`CurrentUser`], [`FreshUser`] and [`MaybeUser`] extractors, routes and
//! blueprints the [`login_required`] and [`fresh_login_required`] layers, and login pages the
//! [`Login`] handle (`login_user`, `logout_user`).
//!
//! ```
//! use axum::{Form, response::Response, routing::{get, post}};
//! use phial_core::prelude::*;
//! use phial_login::{AuthUser, CurrentUser, Login, LoginError, LoginExtension, LoginOptions, login_required};
//!
//! #[derive(Clone)]
//! struct User { name: String }
//! impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
//!
//! #[derive(serde::Deserialize)]
//! struct LoginForm { name: String, next: Option<String> }
//!
//! async fn login(mut login: Login<User>, Form(form): Form<LoginForm>) -> Result<Response, LoginError> {
//!     // check the password here (see `phial_login::password`)
//!     login.login_user(&User { name: form.name }, LoginOptions::new()).await?;
//!     Ok(login.redirect_next(form.next.as_deref(), "/"))
//! }
//!
//! async fn index(CurrentUser(user): CurrentUser<User>) -> String {
//!     format!("Hello, {}", user.name)
//! }
//!
//! let app = App::builder()
//!     .profile(Profile::Testing)
//!     .config_toml("[login]\nlogin_view = \"/login\"\n")
//!     .extension(LoginExtension::new(|id: String| async move { Ok(Some(User { name: id })) }))
//!     .endpoint("login", "/login", post(login))
//!     .endpoint("index", "/", get(index))
//!     .blueprint("/admin", Blueprint::new("admin")
//!         .endpoint("home", "/", get(|| async { "admin" }))
//!         .layer(Stage::Auth, "login_required", login_required::<User>()))
//!     .build()?;
//! # Ok::<(), phial_core::Error>(())
//! ```
//!
//! # Security, beyond Flask-Login
//!
//! - The session id is rotated on login and logout (session fixation).
//! - Remember-me tokens are server-side ([`RememberStore`]): selector + SHA-256 of a validator,
//!   compared in constant time, rotated on every use, revoked on logout; a login restored from
//!   one is not fresh.
//! - [`AuthUser::session_auth_hash`]: a password change ends the user's other sessions and
//!   tokens; [`Login::logout_everywhere`] and [`LoginState::logout_everywhere`] end them all.
//! - [`safe_next`] guards every redirect to a `next` URL.
//! - Session protection never trusts `X-Forwarded-For` unless `login.trusted_proxies` says how
//!   many proxies append to it.
//! - Inactive users are anonymous when loaded from a session or token, not only refused at login.
//!
//! # What a request goes through
//!
//! The first extractor or guard that asks who the user is resolves it, once per request:
//! 1. **Session protection** ([`SessionProtection`]): the session's identifier (SHA-256 of the
//!    client address and User-Agent) is compared with the request's; `basic` marks the login
//!    not fresh, `strong` ends it and revokes the remember-me token.
//! 2. **The session**: `_user_id` is loaded with the [`UserLoader`]; the user must be active,
//!    match the `session_auth_hash` digest stored at login, and the session's epoch must not
//!    be older than the user's (see [`Login::logout_everywhere`]).
//! 3. **The remember-me cookie**: verified against the [`RememberStore`], then rotated; the
//!    login is written to the session, not fresh.
//! 4. **The request loader**, if any.
//!
//! A logged-in request therefore costs one user-loader call and one remember-store call (the
//! epoch); requests that never ask cost two small allocations (the context and a boxed future).
//!
//! # Remember-me stores
//!
//! `login.remember_store = "memory"` (default) keeps tokens in the process: right for one
//! instance and for tests. `"redis"` (feature `redis`, with phial-core's `RedisExtension`)
//! shares tokens and epochs between instances, so a revocation is exact everywhere; so does
//! `"sql"` (feature `sql`: `SqlRememberStore`, two tables in phial-sql's default database) for
//! apps with one database and no Redis. Any other store implements [`RememberStore`] and is given with [`LoginExtension::remember_store`].
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `templates` | `current_user` in templates, read when the page renders: the user one of the handler's extractors resolved (in any order with `Template`), or the one it logged in or out |
//! | `redis` | `RedisRememberStore` on phial-core's shared Redis connection (`login.remember_store = "redis"`) |
//! | `sql` | `SqlRememberStore` in phial-sql's default database (`login.remember_store = "sql"`) |
//! | `testing` | [`testing`]: log a user in from a test without the login form (Flask-Login's `FlaskLoginClient`) |
//!
//! # Coming from Flask-Login
//!
//! | Flask-Login | phial-login |
//! |---|---|
//! | `LoginManager(app)` / `init_app` | `.extension(LoginExtension::new(loader))` |
//! | `@login_manager.user_loader` | the loader given to [`LoginExtension::new`] / [`LoginExtension::with_loader_from`] ([`UserLoader`]) |
//! | `@login_manager.request_loader` | [`LoginExtension::request_loader`] ([`RequestLoader`]) |
//! | `login_manager.login_view`, `blueprint_login_views` | `login.login_view`; per blueprint [`LoginRequiredLayer::login_view`] or the [`login_view`] layer |
//! | `login_manager.refresh_view`, `needs_refresh_message(_category)` | `login.refresh_view`, `login.needs_refresh_message(_category)` |
//! | `login_url(login_view, next_url)`, `USE_SESSION_FOR_NEXT` | [`login_url`], `login.use_session_for_next` with [`Login::take_next`] |
//! | `login_message`, `login_message_category` | `login.login_message`, `login.login_message_category` |
//! | `@login_required` | [`login_required`] layer, or the [`CurrentUser`] extractor |
//! | `@fresh_login_required` | [`fresh_login_required`] layer, or the [`FreshUser`] extractor |
//! | `login_user(user, remember, duration, force, fresh)` | [`Login::login_user`] with [`LoginOptions`] |
//! | `logout_user()` | [`Login::logout_user`] |
//! | `confirm_login()`, `login_fresh()` | [`Login::confirm_login`], [`Login::is_fresh`] |
//! | `current_user` | [`MaybeUser`] (or [`CurrentUser`]); `current_user` in templates |
//! | `UserMixin` (`get_id`, `is_active`) | [`AuthUser`] (`auth_id`, `is_active`, `session_auth_hash`) |
//! | `AnonymousUserMixin` | `MaybeUser(None)`, [`Anonymous`] |
//! | `REMEMBER_COOKIE_NAME`, `_DURATION`, `_PATH`, `_DOMAIN`, `_SECURE`, `_HTTPONLY`, `_SAMESITE` | `login.remember_cookie_*` ([`LoginConfig`]) |
//! | `session_protection = "basic" / "strong"` | `login.session_protection` ([`SessionProtection`]) |
//! | `FlaskLoginClient` (`test_client(user=...)`) | [`testing::login_route`] + [`testing::log_in_as`] (feature `testing`) |
//! | `login_manager.unauthorized_handler` | the app's 401 error handler (`AppBuilder::error_handler`), or [`LoginExtension::on_unauthorized`] |
//! | `user_logged_in`, `user_logged_out`, `user_loaded_from_cookie`, `user_unauthorized`, `user_needs_refresh` | [`LoginExtension::on_login`], [`on_logout`](LoginExtension::on_logout), [`on_remember`](LoginExtension::on_remember), [`on_unauthorized`](LoginExtension::on_unauthorized) |
//!
//! Differences, each for a reason: remember cookies are revocable tokens rather than a signed
//! user id; `next` is checked by [`safe_next`]; clients that ask for JSON by name get a JSON 401
//! instead of a redirect; `SameSite=Lax` and `Secure` in production on the remember cookie; inactive users
//! are anonymous; `session_protection = "basic"` marks every changed session stale (Flask-Login
//! empties non-permanent ones); no `REMEMBER_COOKIE_REFRESH_EACH_REQUEST` (tokens rotate on use
//! and keep their expiry). In layers, give `login_view` as a path (`/login`): an endpoint name
//! is resolved only by the extractors, which see the app state.
//!
//! # Passwords
//!
//! The extension registers a [`password::PasswordHasher`] configured by `[login.password]`
//! (argon2id, m = 19456 KiB, t = 2, p = 1; hashing on the blocking pool, a bounded number at
//! once). Handlers take it with `Ext<PasswordHasher>`; it verifies Werkzeug's `scrypt:` and
//! `pbkdf2:` hashes too, so users of a Flask app log in with their old passwords and are
//! rehashed ([`migrating_passwords`]). Flask apps hash with Werkzeug's
//! `generate_password_hash` / `check_password_hash`: [`password::PasswordHasher::hash`] /
//! [`password::PasswordHasher::verify`]; for an unknown user, call
//! [`password::PasswordHasher::verify_missing_user`] so a login takes the same time either way.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod context;
mod error;
mod extension;
mod extract;
mod guard;
mod layer;
pub mod password;
#[doc = include_str!("../docs/migrating-passwords.md")]
pub mod migrating_passwords {}
mod redirect;
mod remember;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
mod remember_redis;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
mod remember_sql;
mod signals;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod user;

pub use config::{LoginConfig, SameSite, SessionProtection};
pub use context::LoginOptions;
pub use error::LoginError;
pub use extension::{LoginExtension, LoginState};
pub use extract::{CurrentUser, FreshUser, Login, MaybeUser};
pub use guard::{
    LoginRequiredLayer, LoginRequiredService, fresh_login_required, login_required, login_url, login_view,
};
pub use layer::{LoginLayer, LoginService};
pub use redirect::{next_or, safe_next};
pub use remember::{MemoryRememberStore, RememberRecord, RememberStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use remember_redis::RedisRememberStore;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub use remember_sql::SqlRememberStore;
pub use signals::Unauthorized;
pub use user::{Anonymous, AuthUser, RequestLoader, UserLoader};
