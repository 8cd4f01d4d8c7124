//! Guards: [`login_required`] and [`fresh_login_required`] as tower layers, and the refusal
//! they share with the extractors.

use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{OriginalUri, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{Method, StatusCode};
use phial_core::middleware::prefers_json;
use phial_core::{AppState, HttpError};
use tower::{Layer, Service};

use crate::context::{LoginContext, context_of};
use crate::signals::{Unauthorized, emit};
use crate::user::AuthUser;

/// A login view set for part of an app (a blueprint), read by guards and extractors behind it.
/// Flask-Login: `login_manager.blueprint_login_views`.
#[derive(Debug, Clone)]
pub(crate) struct ViewOverride(pub(crate) String);

/// Sets the login view for the routes behind it without guarding them, for blueprints whose
/// handlers use the [`CurrentUser`](crate::CurrentUser) and [`FreshUser`](crate::FreshUser)
/// extractors on some pages only. Flask-Login: `blueprint_login_views`.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, CurrentUser, login_view};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// let shop = Blueprint::new("shop")
///     .endpoint("catalog", "/", get(|| async { "everyone" }))
///     .endpoint("orders", "/orders", get(|CurrentUser(user): CurrentUser<User>| async move { user.0 }))
///     .layer(Stage::Auth, "login_view", login_view("/shop/login"));
/// # let _ = shop;
/// ```
pub fn login_view(
    view: impl Into<String>,
) -> tower::util::MapRequestLayer<impl Fn(Request) -> Request + Clone + Send + Sync + 'static> {
    let view: Arc<str> = Arc::from(view.into());
    tower::util::MapRequestLayer::new(move |mut request: Request| {
        request.extensions_mut().insert(ViewOverride(view.to_string()));
        request
    })
}

/// Requires a logged-in user of type `U` in front of a route or blueprint: Flask-Login's
/// `@login_required`.
///
/// Anonymous requests are answered, without running the handler: clients whose `Accept`
/// names JSON at least as high as HTML get `401 {"error": "Unauthorized", "message":
/// login_message}`; others (browsers, and clients with no `Accept` or `*/*`) are redirected (302) to
/// the login view with `next` = path + query, and `login_message` is flashed; without a login
/// view, 401. `OPTIONS` requests pass (CORS preflights carry no cookies).
///
/// Put it on routes or blueprints of an app with a [`LoginExtension`](crate::LoginExtension)
/// (or, in a bare axum app, inside the [`LoginLayer`](crate::LoginLayer)).
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, login_required};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// let admin = Blueprint::new("admin")
///     .endpoint("index", "/", get(|| async { "admin" }))
///     .layer(Stage::Auth, "login_required", login_required::<User>().login_view("/admin/login"));
/// # let _ = admin;
/// ```
pub fn login_required<U: AuthUser>() -> LoginRequiredLayer<U> {
    LoginRequiredLayer { fresh: false, view: None, _user: PhantomData }
}

/// Requires a fresh login (made with the password in this session, not restored from a
/// remember-me cookie, not marked stale by session protection): Flask-Login's
/// `@fresh_login_required`. Anonymous requests are refused as by [`login_required`]; stale
/// logins go to the refresh view with `needs_refresh_message` (or 401 without one).
///
/// # Examples
///
/// ```
/// use axum::routing::post;
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, fresh_login_required};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// let settings = Blueprint::new("settings")
///     .endpoint("password", "/password", post(|| async { "changed" }))
///     .layer(Stage::Auth, "fresh_login_required", fresh_login_required::<User>());
/// # let _ = settings;
/// ```
pub fn fresh_login_required<U: AuthUser>() -> LoginRequiredLayer<U> {
    LoginRequiredLayer { fresh: true, view: None, _user: PhantomData }
}

/// The layer of [`login_required`] and [`fresh_login_required`].
#[must_use]
pub struct LoginRequiredLayer<U> {
    fresh: bool,
    view: Option<Arc<str>>,
    _user: PhantomData<fn() -> U>,
}

impl<U> LoginRequiredLayer<U> {
    /// Sends anonymous users behind this layer to `view` (a path, or an endpoint name when the
    /// app state is reachable) instead of `login.login_view`; extractors behind it use it too.
    /// Flask-Login: `blueprint_login_views`.
    ///
    /// # Examples
    ///
    /// See [`login_required`].
    pub fn login_view(mut self, view: impl Into<String>) -> Self {
        self.view = Some(Arc::from(view.into()));
        self
    }
}

impl<U> Clone for LoginRequiredLayer<U> {
    fn clone(&self) -> Self {
        Self { fresh: self.fresh, view: self.view.clone(), _user: PhantomData }
    }
}

impl<U> std::fmt::Debug for LoginRequiredLayer<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequiredLayer").field("fresh", &self.fresh).field("view", &self.view).finish()
    }
}

impl<S, U> Layer<S> for LoginRequiredLayer<U> {
    type Service = LoginRequiredService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        LoginRequiredService { inner, layer: self.clone() }
    }
}

/// The service of [`LoginRequiredLayer`].
///
/// # Examples
///
/// Made by the layer; see [`login_required`].
pub struct LoginRequiredService<S, U> {
    inner: S,
    layer: LoginRequiredLayer<U>,
}

impl<S: Clone, U> Clone for LoginRequiredService<S, U> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), layer: self.layer.clone() }
    }
}

impl<S, U> std::fmt::Debug for LoginRequiredService<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequiredService").field("fresh", &self.layer.fresh).finish_non_exhaustive()
    }
}

impl<S, U> Service<Request> for LoginRequiredService<S, U>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    U: AuthUser,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fresh = self.layer.fresh;
        let view = self.layer.view.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            if let Some(view) = &view {
                parts.extensions.insert(ViewOverride(view.to_string()));
            }
            if parts.method == Method::OPTIONS {
                return inner.call(Request::from_parts(parts, body)).await;
            }
            match check::<U>(&mut parts, fresh, None).await {
                Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                Err(response) => Ok(response),
            }
        })
    }
}

/// Whether the request may pass; otherwise the refusal to send. `app` resolves endpoint names.
async fn check<U: AuthUser>(parts: &mut Parts, fresh: bool, app: Option<&AppState>) -> Result<(), Response> {
    let context = context_of::<U>(parts).map_err(IntoResponse::into_response)?;
    let resolved = context.resolve(parts).await.map_err(IntoResponse::into_response)?;
    match resolved.user {
        None => Err(deny(&context, parts, false, app)),
        Some(_) if fresh && !resolved.fresh => Err(deny(&context, parts, true, app)),
        Some(_) => Ok(()),
    }
}

/// The refusal of an anonymous (or, with `needs_fresh`, a stale) request.
pub(crate) fn deny<U: AuthUser>(
    context: &LoginContext<U>,
    parts: &Parts,
    needs_fresh: bool,
    app: Option<&AppState>,
) -> Response {
    let shared = &context.shared;
    let config = &shared.config;
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0);
    let path = uri.path().to_owned();
    let next = uri.path_and_query().map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    emit(&shared.signals.unauthorized, &Unauthorized { path, needs_fresh });
    let (view, message, category) = if needs_fresh {
        (config.refresh_view.clone(), &config.needs_refresh_message, &config.needs_refresh_message_category)
    } else {
        let view = parts.extensions.get::<ViewOverride>().map(|v| v.0.clone()).or_else(|| config.login_view.clone());
        (view, &config.login_message, &config.login_message_category)
    };
    let accept = parts.headers.get(http::header::ACCEPT).and_then(|value| value.to_str().ok());
    let app = app.or_else(|| AppState::from_extensions(&parts.extensions));
    let target = if asks_for_json(accept) { None } else { view.and_then(|view| view_url(&view, app)) };
    let mut response = if let Some(url) = target {
        if !message.is_empty()
            && let Some(session) = context.session()
        {
            session.flash_with(category.clone(), message.clone());
        }
        if config.use_session_for_next
            && let Some(session) = context.session()
        {
            if let Err(err) = session.insert(NEXT_KEY, &next) {
                return err.into_response();
            }
            found(&url)
        } else {
            found(&login_url(&url, Some(&next)))
        }
    } else {
        let message = if message.is_empty() { "Unauthorized".to_owned() } else { message.clone() };
        HttpError::new(StatusCode::UNAUTHORIZED, message).into_response()
    };
    phial_core::request::add_vary(response.headers_mut(), "Cookie");
    response
}

/// The session key of `next` with `login.use_session_for_next`, as Flask-Login names it.
pub(crate) const NEXT_KEY: &str = "next";

/// `view_url` with `next` added to its query string, escaped: Flask-Login's
/// `login_url(login_view, next_url)` once the view is a URL.
///
/// # Examples
///
/// ```
/// use phial_login::login_url;
///
/// assert_eq!(login_url("/login", Some("/account?tab=2")), "/login?next=/account%3Ftab%3D2");
/// assert_eq!(login_url("/login?lang=en", Some("/")), "/login?lang=en&next=/");
/// assert_eq!(login_url("/login", None), "/login");
/// ```
pub fn login_url(view_url: &str, next: Option<&str>) -> String {
    let Some(next) = next else { return view_url.to_owned() };
    let separator = if view_url.contains('?') { '&' } else { '?' };
    format!("{view_url}{separator}next={}", percent_encoding::utf8_percent_encode(next, NEXT_ESCAPES))
}

/// Characters escaped in the `next` query value.
const NEXT_ESCAPES: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A view's URL: a path as given, an endpoint name through `url_for`.
fn view_url(view: &str, app: Option<&AppState>) -> Option<String> {
    if view.starts_with('/') {
        return Some(view.to_owned());
    }
    let Some(app) = app else {
        tracing::error!(view, "login view `{view}` is an endpoint name, which a layer cannot resolve; give a path");
        return None;
    };
    app.url_for(view, ()).inspect_err(|err| tracing::error!(view, error = %err, "login view cannot be resolved")).ok()
}

/// A 302 Found to `url`, as Flask's `redirect` sends.
pub(crate) fn found(url: &str) -> Response {
    match http::HeaderValue::try_from(url) {
        Ok(location) => (StatusCode::FOUND, [(http::header::LOCATION, location)]).into_response(),
        Err(_) => HttpError::internal("a redirect target is not a valid header value").into_response(),
    }
}

/// Whether the client asked for JSON by name, ranked at least as high as HTML: an API client.
/// Flask-Login always redirects; phial answers such clients with a JSON 401 instead of a login
/// page they cannot use. A client with no `Accept`, or only `*/*` (curl, scripts, feed
/// readers), is redirected as Flask-Login does.
fn asks_for_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| accept.to_ascii_lowercase().contains("json") && prefers_json(Some(accept)))
}
