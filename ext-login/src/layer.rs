//! [`LoginLayer`]: the login for a bare axum app, and the remember-me cookie's writing.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite as CookieSameSite};
use http::header::{HeaderValue, SET_COOKIE};
use time::OffsetDateTime;
use tower::{Layer, Service};

use crate::config::{LoginConfig, SameSite};
use crate::context::{CookieAction, LoginShared};
use crate::user::AuthUser;

/// The login of user type `U` for a bare axum app: a tower layer that gives every request the
/// login settings, for [`CurrentUser`](crate::CurrentUser), [`MaybeUser`](crate::MaybeUser),
/// [`Login`](crate::Login) and the [guards](crate::login_required).
///
/// A phial app does not need it: [`LoginExtension`](crate::LoginExtension) keeps the settings
/// in the app's state, which every request carries, so no layer sits between the router and
/// the handlers. Either way, the request's login context is made by the first extractor or
/// guard that asks who the user is (nothing is loaded for requests that never ask), and the
/// remember-me cookie is set or cleared on the way out by a function handed to the session
/// ([`Session::after_response`](phial_core::session::Session::after_response)); clearing uses
/// the same `Path`, `Domain`, `SameSite`, `Secure` and `HttpOnly` as setting, whatever the
/// handler did to the session. The session layer adds `Vary: Cookie`, as the login reads it.
///
/// It must sit inside phial-core's `SessionLayer`.
///
/// # Examples
///
/// In a bare axum app:
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use phial_core::Secret;
/// use phial_core::session::{CookieSigner, SessionConfig, SessionLayer};
/// use phial_login::{AuthUser, LoginConfig, LoginLayer, MaybeUser, MemoryRememberStore, login_required};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// async fn index(MaybeUser(user): MaybeUser<User>) -> String {
///     user.map_or("anonymous".into(), |user| user.0)
/// }
///
/// let mut config = LoginConfig::default();
/// config.login_view = Some("/login".into());
/// let loader = |id: String| async move { Ok(Some(User(id))) };
/// let login = LoginLayer::new(config, loader, Arc::new(MemoryRememberStore::new()))?;
/// let signer = CookieSigner::new(&Secret::new("a long random secret"), &[])?;
/// let app: Router = Router::new()
///     .route("/account", get(|| async { "private" }).layer(login_required::<User>()))
///     .route("/", get(index))
///     .layer(login) // inside the session layer: layers added later are further out
///     .layer(SessionLayer::new(signer, SessionConfig::default(), false, None));
/// # Ok::<(), phial_core::Error>(())
/// ```
pub struct LoginLayer<U> {
    pub(crate) shared: Arc<LoginShared<U>>,
}

impl<U: AuthUser> LoginLayer<U> {
    /// A layer for a bare axum app: users from `loader`, remember-me tokens in `store`. The
    /// remember cookie is `Secure` unless `config.remember_cookie_secure` is `Some(false)`
    /// (there is no profile to decide by).
    ///
    /// # Errors
    ///
    /// [`phial_core::Error::Config`] when `config` does not [validate](LoginConfig::validate).
    ///
    /// # Examples
    ///
    /// See [`LoginLayer`].
    pub fn new(
        config: LoginConfig,
        loader: impl crate::UserLoader<U>,
        store: Arc<dyn crate::RememberStore>,
    ) -> Result<Self, phial_core::Error> {
        config.validate()?;
        let shared = LoginShared {
            secure: config.remember_cookie_secure.unwrap_or(true),
            config,
            loader: std::sync::OnceLock::from(Arc::new(loader) as crate::user::DynUserLoader<U>),
            request_loader: None,
            store: std::sync::OnceLock::from(store),
            signals: crate::signals::Signals::default(),
            timeout: crate::context::CALL_TIMEOUT,
        };
        Ok(Self { shared: Arc::new(shared) })
    }
}

impl<U> Clone for LoginLayer<U> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared) }
    }
}

impl<U> std::fmt::Debug for LoginLayer<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLayer").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl<S, U> Layer<S> for LoginLayer<U> {
    type Service = LoginService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        LoginService { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service of [`LoginLayer`].
///
/// # Examples
///
/// Made by the layer; see [`LoginLayer`].
pub struct LoginService<S, U> {
    inner: S,
    shared: Arc<LoginShared<U>>,
}

impl<S: Clone, U> Clone for LoginService<S, U> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<S, U> std::fmt::Debug for LoginService<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginService").finish_non_exhaustive()
    }
}

impl<S, U> Service<Request> for LoginService<S, U>
where
    S: Service<Request, Response = Response>,
    U: AuthUser,
{
    type Response = Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().insert(LayerShared(Arc::clone(&self.shared)));
        self.inner.call(request)
    }
}

/// The mark [`LoginLayer`] leaves on a request: the settings the extractors build the
/// request's login context from (a phial app's requests find them in the app's state).
pub(crate) struct LayerShared<U>(pub(crate) Arc<LoginShared<U>>);

impl<U> Clone for LayerShared<U> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// Writes what the request decided about the remember-me cookie. Clearing uses the same
/// attributes as setting, whatever the handler did to the session.
pub(crate) fn write_cookie<U>(shared: &LoginShared<U>, action: CookieAction, response: &mut Response) {
    let config = &shared.config;
    let cookie = match action {
        CookieAction::Keep => return,
        CookieAction::Set { value, expires_at } => remember_cookie(config, shared.secure, value, expires_at),
        CookieAction::Clear => remember_cookie(config, shared.secure, String::new(), OffsetDateTime::UNIX_EPOCH),
    };
    match HeaderValue::try_from(cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
        }
        Err(_) => {
            tracing::error!("the remember-me cookie is not a valid header; check login.remember_cookie_domain");
        }
    }
}

/// The remember-me cookie with every attribute from config; an expiry in the past removes it.
pub(crate) fn remember_cookie(
    config: &LoginConfig,
    secure: bool,
    value: String,
    expires_at: OffsetDateTime,
) -> Cookie<'static> {
    let mut cookie = Cookie::new(config.remember_cookie_name.clone(), value);
    cookie.set_path(config.remember_cookie_path.clone());
    if let Some(domain) = &config.remember_cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie.set_http_only(config.remember_cookie_httponly);
    cookie.set_secure(secure);
    cookie.set_same_site(match config.remember_cookie_samesite {
        SameSite::Lax => CookieSameSite::Lax,
        SameSite::Strict => CookieSameSite::Strict,
        SameSite::None => CookieSameSite::None,
    });
    let max_age = (expires_at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
    cookie.set_max_age(max_age);
    cookie.set_expires(expires_at);
    cookie
}
