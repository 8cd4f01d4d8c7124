//! [`SessionLayer`]: puts a [`Session`] into each request and writes it back to the response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite as CookieSameSite};
use futures_util::future::BoxFuture;
use http::header::{HeaderValue, SET_COOKIE};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tower::{Layer, Service};

use super::cache::DecodedCookies;
use super::config::{SameSite, SessionConfig};
use super::cookie::CookieSigner;
use super::handle::{RawCookie, Session, SessionSlot, Shared, State};
use super::store::{Record, SessionId, SessionStore, bounded};
use crate::error::HttpError;

/// How long one store call may take before the request gets a 503.
const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// A tower layer that gives every request a [`Session`] and writes it back to the response.
///
/// On the way in, it only notes the session cookie's raw value; decoding and loading happen
/// when the handler uses the session (see [`Session`]'s "Loading"). On the way out, for a
/// session that was used:
/// - `Vary: Cookie` is added, so caches keep one copy per cookie.
/// - A session that became empty has its cookie deleted (same `Path`, `Domain`, `SameSite`,
///   `Secure`, `HttpOnly`, with `Max-Age=0`) and its server-side record deleted.
/// - Otherwise the cookie is written when the session was modified, when a permanent session
///   is refreshed ([`refresh_each_request`](SessionConfig::refresh_each_request)), or when the
///   cookie was signed with a fallback key (so key rotation completes on the next visit).
///   Only permanent sessions get `Max-Age` and `Expires`.
/// - A cookie larger than [`max_cookie_size`](SessionConfig::max_cookie_size) replaces the
///   response with a 500, logged with the size and the advice to use a server-side store.
/// - A store that fails or does not answer within the [store
///   timeout](SessionLayer::store_timeout) replaces the response with a 503, logged.
///
/// A session the handler never used leaves the response untouched.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// use phial_core::{HttpError, Secret};
/// use phial_core::session::{CookieSigner, Session, SessionConfig, SessionLayer};
///
/// async fn count(session: Session) -> Result<String, HttpError> {
///     let n = session.get::<u32>("n").unwrap_or(0) + 1;
///     session.insert("n", n)?;
///     Ok(n.to_string())
/// }
///
/// let config = SessionConfig::default();
/// let secure = config.resolve_secure(false);
/// let signer = CookieSigner::new(&Secret::new("a long random key"), &[])?;
/// let app: Router = Router::new()
///     .route("/", get(count))
///     .layer(SessionLayer::new(signer, config, secure, None));
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("config", &self.shared.config)
            .field("secure", &self.shared.secure)
            .field("server_side", &self.shared.store.is_some())
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    /// A layer that signs cookies with `signer`, shapes them by `config`, marks them `Secure`
    /// when `secure` (see [`SessionConfig::resolve_secure`]), and keeps session data in `store`
    /// or, when `None`, in the cookie itself.
    ///
    /// Check `config` with [`SessionConfig::validate`] first (a phial app does it at build), so
    /// that a cookie browsers would ignore is a startup error.
    ///
    /// # Examples
    ///
    /// See [`SessionLayer`] and [`MemoryStore`](super::MemoryStore).
    #[must_use]
    pub fn new(
        signer: CookieSigner,
        config: SessionConfig,
        secure: bool,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Self {
        // Server-side sessions keep only a signed id in the cookie: nothing worth caching.
        let cache = if store.is_none() {
            DecodedCookies::new(config.decoded_cache.min(SessionConfig::MAX_DECODED_CACHE)).map(Arc::new)
        } else {
            None
        };
        Self { shared: Arc::new(Shared { signer, config, secure, store, store_timeout: DEFAULT_STORE_TIMEOUT, cache }) }
    }

    /// Bounds each store call (load, save, delete) by `timeout`; past it the request gets a
    /// 503. Default: 5 seconds. The bound uses Tokio's timer, which the runtime that serves an
    /// axum app has enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use phial_core::Secret;
    /// use phial_core::session::{CookieSigner, MemoryStore, SessionConfig, SessionLayer};
    ///
    /// let signer = CookieSigner::new(&Secret::new("key"), &[])?;
    /// let layer = SessionLayer::new(signer, SessionConfig::default(), true, Some(Arc::new(MemoryStore::new())))
    ///     .store_timeout(Duration::from_millis(500));
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    #[must_use]
    pub fn store_timeout(self, timeout: Duration) -> Self {
        let shared = Arc::unwrap_or_clone(self.shared);
        Self { shared: Arc::new(Shared { store_timeout: timeout, ..shared }) }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service that [`SessionLayer`] wraps around a handler or router.
///
/// # Examples
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use phial_core::Secret;
/// use phial_core::session::{CookieSigner, Session, SessionConfig, SessionLayer};
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let signer = CookieSigner::new(&Secret::new("key"), &[])?;
/// let layer = SessionLayer::new(signer, SessionConfig::default(), false, None);
/// let router: Router = Router::new().route("/", get(|s: Session| async move { s.insert("seen", true) }));
/// let response = layer.layer(router).oneshot(Request::get("/").body(Body::empty())?).await?;
/// assert!(response.headers().contains_key("set-cookie"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = SessionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let raw = RawCookie::find(request.headers(), &self.shared.config.cookie_name);
        let session = Session::new(Arc::clone(&self.shared), raw);
        // Into the core's request context when there is one (a phial app): no entry of its own.
        match request.extensions_mut().get_mut::<crate::outer::RequestContext>() {
            Some(context) => context.session = Some(session.clone()),
            None => {
                request.extensions_mut().insert(SessionSlot(session.clone()));
            }
        }
        SessionFuture { inner: self.inner.call(request), session: Some(session), saving: None }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the handler's response, then the session
    /// written to it. It only allocates when a server-side store must be called.
    pub struct SessionFuture<F> {
        #[pin]
        inner: F,
        session: Option<Session>,
        saving: Option<BoxFuture<'static, Response>>,
    }
}

impl<F> std::fmt::Debug for SessionFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFuture").field("saving", &self.saving.is_some()).finish_non_exhaustive()
    }
}

impl<F, E> Future for SessionFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(saving) = this.saving {
            return saving.as_mut().poll(cx).map(Ok);
        }
        let response = ready!(this.inner.poll(cx))?;
        let Some(session) = this.session.take() else { return Poll::Ready(Ok(response)) };
        match finish(&session, response) {
            Finish::Done(response) => Poll::Ready(Ok(response)),
            Finish::Store(mut saving) => {
                let poll = saving.as_mut().poll(cx);
                *this.saving = Some(saving);
                poll.map(Ok)
            }
        }
    }
}

enum Finish {
    Done(Response),
    Store(BoxFuture<'static, Response>),
}

/// What the response needs for the session, decided once the handler has run.
fn finish(session: &Session, mut response: Response) -> Finish {
    // Taken out first: the functions may use the session, which the lock below would block.
    let after = std::mem::take(&mut session.lock_state().after);
    for f in after {
        f(&mut response);
    }
    let shared = Arc::clone(session.shared());
    let mut state = session.lock_state();
    if !state.accessed || state.used_unloaded {
        return Finish::Done(response);
    }
    crate::request::add_vary(response.headers_mut(), "Cookie");
    let State { loaded: Some(loaded), modified, cycle, had_cookie, .. } = &mut *state else {
        return Finish::Done(response);
    };
    if loaded.record.data.is_empty() {
        if !(*modified && *had_cookie) {
            return Finish::Done(response);
        }
        return match &shared.store {
            None => Finish::Done(with_cookie(response, &removal_cookie(&shared.config, shared.secure))),
            Some(store) => {
                let id = loaded.id.take();
                Finish::Store(Box::pin(delete_session(Arc::clone(store), shared, id, response)))
            }
        };
    }
    let refresh = loaded.record.permanent && shared.config.refresh_each_request;
    if !(*modified || *cycle || loaded.resign || refresh) {
        return Finish::Done(response);
    }
    match &shared.store {
        None => Finish::Done(write_cookie(&shared, &loaded.record, response)),
        Some(store) => {
            let (old, keep) = if *cycle { (loaded.id.take(), None) } else { (None, loaded.id.clone()) };
            let job = SaveJob { old, keep, record: Arc::clone(&loaded.record) };
            Finish::Store(Box::pin(save_session(Arc::clone(store), shared, job, response)))
        }
    }
}

/// A server-side save: the id to delete (cycled away), the id to keep, and the contents.
struct SaveJob {
    old: Option<SessionId>,
    keep: Option<SessionId>,
    record: Arc<Record>,
}

/// Saves a server-side session (after deleting a cycled-away id) and sets its signed id.
async fn save_session(store: Arc<dyn SessionStore>, shared: Arc<Shared>, job: SaveJob, response: Response) -> Response {
    let result = async {
        if let Some(old) = &job.old {
            bounded(shared.store_timeout, "delete", store.delete(old)).await?;
        }
        let id = match job.keep {
            Some(id) => id,
            None => SessionId::generate().map_err(HttpError::internal)?,
        };
        let expires_at = expiry(shared.config.lifetime);
        bounded(shared.store_timeout, "save", store.save(&id, &job.record, expires_at)).await?;
        let raw = id.to_raw().ok_or_else(|| HttpError::internal("a generated session id is not base64url"))?;
        Ok::<_, HttpError>(shared.signer.sign(&raw))
    }
    .await;
    match result {
        Ok(value) => set_cookie(&shared, &value, job.record.permanent, response),
        Err(err) => err.into_response(),
    }
}

/// Deletes an emptied server-side session: its record, if it had one, then its cookie.
async fn delete_session(
    store: Arc<dyn SessionStore>,
    shared: Arc<Shared>,
    id: Option<SessionId>,
    response: Response,
) -> Response {
    if let Some(id) = &id
        && let Err(err) = bounded(shared.store_timeout, "delete", store.delete(id)).await
    {
        return err.into_response();
    }
    with_cookie(response, &removal_cookie(&shared.config, shared.secure))
}

/// A cookie session's payload: its values, plus `"_permanent": true` as Flask writes it (the
/// literal is `handle::PERMANENT_KEY`, which decoding removes again).
#[derive(serde::Serialize)]
struct CookiePayload<'a> {
    #[serde(rename = "_permanent", skip_serializing_if = "is_false")]
    permanent: bool,
    #[serde(flatten)]
    data: &'a Map<String, Value>,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's `skip_serializing_if` passes a reference")]
fn is_false(value: &bool) -> bool {
    !value
}

/// Signs a cookie session's contents into the cookie, and keeps them decoded for the
/// browser's next request.
fn write_cookie(shared: &Shared, record: &Arc<Record>, response: Response) -> Response {
    let payload = CookiePayload { permanent: record.permanent, data: &record.data };
    let payload = match serde_json::to_vec(&payload) {
        Ok(payload) => payload,
        Err(err) => return HttpError::internal(format!("session cannot be serialized: {err}")).into_response(),
    };
    let (value, issued_at) = shared.signer.sign_now(&payload);
    if let Some(cache) = &shared.cache {
        cache.put(&value, Arc::clone(record), issued_at, false);
    }
    set_cookie(shared, &value, record.permanent, response)
}

/// Adds the session cookie with `value`, or answers 500 when it is too large for browsers.
fn set_cookie(shared: &Shared, value: &str, permanent: bool, response: Response) -> Response {
    let config = &shared.config;
    let mut cookie = base_cookie(config, shared.secure, value.to_owned());
    if permanent {
        cookie.set_max_age(time_duration(config.lifetime));
        cookie.set_expires(expiry(config.lifetime));
    }
    let size = cookie.to_string().len();
    if config.max_cookie_size != 0 && size > config.max_cookie_size {
        return HttpError::internal(format!(
            "the session cookie is {size} bytes, over max_cookie_size ({} bytes), and browsers would drop it; \
             store less in the session or use a server-side store (app.session.store = \"memory\", or Redis or SQL)",
            config.max_cookie_size,
        ))
        .into_response();
    }
    with_cookie(response, &cookie)
}

fn removal_cookie(config: &SessionConfig, secure: bool) -> Cookie<'static> {
    let mut cookie = base_cookie(config, secure, String::new());
    cookie.set_max_age(time::Duration::ZERO);
    cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
    cookie
}

/// The name and the attributes shared by the session cookie and its removal.
fn base_cookie(config: &SessionConfig, secure: bool, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(config.cookie_name.clone(), value);
    cookie.set_path(config.cookie_path.clone());
    if let Some(domain) = &config.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie.set_http_only(config.cookie_httponly);
    cookie.set_secure(secure);
    cookie.set_same_site(match config.cookie_samesite {
        SameSite::Lax => CookieSameSite::Lax,
        SameSite::Strict => CookieSameSite::Strict,
        SameSite::None => CookieSameSite::None,
    });
    cookie
}

fn with_cookie(mut response: Response, cookie: &Cookie<'static>) -> Response {
    match HeaderValue::try_from(cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
            response
        }
        Err(_) => HttpError::internal("the session cookie is not a valid header value; check session.cookie_domain")
            .into_response(),
    }
}

/// When a session written now expires; saturates for absurd lifetimes instead of panicking.
fn expiry(lifetime: u64) -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .checked_add(time_duration(lifetime))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

fn time_duration(seconds: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_lifetime_saturates_instead_of_overflowing() {
        assert!(expiry(u64::MAX) > OffsetDateTime::now_utc());
        assert_eq!(time_duration(u64::MAX).whole_seconds(), i64::MAX);
    }
}
