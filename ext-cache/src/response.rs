//! [`CacheLayer`]: cached responses, Flask-Caching's `@cache.cached()`, with safe keys.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either, Ready, ready};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use phial_core::Session;
use sha2::{Digest, Sha256};
use tower::{Layer, Service, ServiceExt};

use crate::cache::{Cache, CacheSource, Computed, Ttl};
use crate::codec::RESPONSE_V1;
use crate::flight::FlightError;
use crate::memory::Memo;

type UserFn = Arc<dyn Fn(&Request) -> Option<String> + Send + Sync>;
type RequestPredicate = Arc<dyn Fn(&Request) -> bool + Send + Sync>;
type StatusPredicate = Arc<dyn Fn(StatusCode) -> bool + Send + Sync>;

/// The header saying whether a response came from the cache.
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const HIT: HeaderValue = HeaderValue::from_static("HIT");
const MISS: HeaderValue = HeaderValue::from_static("MISS");
const BYPASS: HeaderValue = HeaderValue::from_static("BYPASS");

/// Headers that describe one connection or one encoding of the body, never stored.
const NOT_STORED: [HeaderName; 8] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    X_CACHE,
];

/// Caches responses of the routes it wraps (Flask-Caching's `@cache.cached()`), with safe
/// keys.
///
/// # What is stored, and for whom
///
/// A request is looked up and its response stored only when all of these hold:
///
/// 1. It is a `GET`, and the [`unless`](CacheLayer::unless) predicate (if any) says no.
/// 2. It carries **no credentials**: no `Authorization` header and none of the
///    [private cookies](CacheLayer::private_cookies) (by default the session cookie
///    `session`, Flask-Login's `remember_token`, Flask-JWT-Extended's `access_token_cookie`
///    and `refresh_token_cookie`). A request with credentials gets a per-user answer that
///    must not be shared, so it bypasses the cache, **unless** the layer is
///    [keyed by user](CacheLayer::key_by_user) and the user function names a user: then the
///    entry is that user's own.
/// 3. The response has a storable status (200 only, by default; see
///    [`store_status`](CacheLayer::store_status)), no `Set-Cookie`, no `Cache-Control`
///    `private`, `no-store` or `no-cache`, no `Vary` on a header the key leaves out (see
///    [`vary_header`](CacheLayer::vary_header); `Vary: *` is never stored), did not change
///    the session, and a body of known size up to [`max_body`](CacheLayer::max_body).
///
/// The key is the method, the path, the **query string with parameters sorted by name**
/// (`?x=1&y=2` and `?y=2&x=1` share an entry; `?q=a` and `?q=b` do not, unlike
/// Flask-Caching's default), the values of the [headers chosen](CacheLayer::vary_header),
/// and the user when keyed by user.
///
/// Responses carry `X-Cache: HIT` or `MISS` (`MISS` only when this request's handler ran;
/// `HIT` also for a request that waited for another's render, or got the stale page within
/// `stale_grace`; `BYPASS` when the rules above skipped the cache) and an `ETag` (the handler's, or a hash of the body); a request whose
/// `If-None-Match` matches gets `304 Not Modified` without a body.
///
/// Concurrent misses on one key run the handler once (and once across instances with
/// Redis); a response that turns out not to be storable goes to its own request only, and
/// the requests that waited for it run the handler themselves.
///
/// Make it with [`Cache::cached`] (bare axum) or
/// [`CacheExtension::cached`](crate::CacheExtension::cached) (phial app), put it on a route
/// with `route_layer`, or on a router. It belongs closest to the handler, at
/// [`Stage::Inner`](phial_core::Stage::Inner), after sessions and authentication.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use phial_cache::Cache;
///
/// async fn search() -> &'static str { "results" }
///
/// let cache = Cache::memory();
/// let app: Router = Router::new().route(
///     "/search",
///     get(search).route_layer(cache.cached().timeout(Duration::from_secs(60)).vary_header("accept-language")),
/// );
/// ```
#[derive(Clone)]
#[must_use]
pub struct CacheLayer {
    source: CacheSource,
    options: Arc<Options>,
}

#[derive(Clone)]
struct Options {
    ttl: Ttl,
    key_prefix: String,
    query_string: bool,
    vary: Vec<HeaderName>,
    user: Option<UserFn>,
    unless: Option<RequestPredicate>,
    store_status: StatusPredicate,
    private_cookies: Vec<String>,
    max_body: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ttl: Ttl::Default,
            key_prefix: "view:".to_owned(),
            query_string: true,
            vary: Vec::new(),
            user: None,
            unless: None,
            store_status: Arc::new(|status| status == StatusCode::OK),
            private_cookies: ["session", "remember_token", "access_token_cookie", "refresh_token_cookie"]
                .map(str::to_owned)
                .to_vec(),
            max_body: 1024 * 1024,
        }
    }
}

impl fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer")
            .field("ttl", &self.options.ttl)
            .field("key_prefix", &self.options.key_prefix)
            .field("vary", &self.options.vary)
            .field("keyed_by_user", &self.options.user.is_some())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A response-caching layer on this cache; see [`CacheLayer`].
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    ///
    /// let cache = phial_cache::Cache::memory();
    /// let app: Router = Router::new().route("/", get(|| async { "home" })).layer(cache.cached());
    /// ```
    pub fn cached(&self) -> CacheLayer {
        CacheLayer { source: CacheSource::Ready(self.clone()), options: Arc::default() }
    }
}

impl CacheLayer {
    pub(crate) fn from_slot(slot: Arc<OnceLock<Cache>>) -> Self {
        Self { source: CacheSource::Slot(slot), options: Arc::default() }
    }

    fn options(&mut self) -> &mut Options {
        Arc::make_mut(&mut self.options)
    }

    /// How long responses live (`@cached(timeout=...)`); default `cache.default_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().timeout(std::time::Duration::from_secs(30));
    /// # let _ = layer;
    /// ```
    pub fn timeout(mut self, ttl: impl Into<Ttl>) -> Self {
        self.options().ttl = ttl.into();
        self
    }

    /// Put in front of this layer's keys (`@cached(key_prefix=...)`), default `view:`; give
    /// layers on different routes different prefixes to clear them apart.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().key_prefix("blog:");
    /// # let _ = layer;
    /// ```
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options().key_prefix = prefix.into();
        self
    }

    /// Whether the query string is part of the key (default `true`). `false` is
    /// Flask-Caching's default, and serves `/search?q=a`'s answer to `/search?q=b`: only for
    /// routes that ignore their query string.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().query_string(false);
    /// # let _ = layer;
    /// ```
    pub fn query_string(mut self, include: bool) -> Self {
        self.options().query_string = include;
        self
    }

    /// Adds a request header whose value is part of the key (`Accept-Language`, say), as
    /// `Vary` does for HTTP caches.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().vary_header("Accept-Language");
    /// # let _ = layer;
    /// ```
    ///
    /// # Panics
    ///
    /// When `name` is not a valid header name.
    #[track_caller]
    pub fn vary_header(mut self, name: &str) -> Self {
        let Ok(name) = HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()) else {
            panic!("`{name}` is not a valid HTTP header name");
        };
        self.options().vary.push(name);
        self
    }

    /// Keys entries by user: `user` names the request's user (from a header, an extension
    /// your auth layer set, ...). Requests with credentials are then cached per user instead
    /// of bypassing the cache; `None` means anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().key_by_user(|request| {
    ///     request.headers().get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
    /// });
    /// # let _ = layer;
    /// ```
    pub fn key_by_user(mut self, user: impl Fn(&Request) -> Option<String> + Send + Sync + 'static) -> Self {
        self.options().user = Some(Arc::new(user));
        self
    }

    /// Skips the cache for requests where `unless` is true (`@cached(unless=...)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().unless(|request| request.headers().contains_key("x-preview"));
    /// # let _ = layer;
    /// ```
    pub fn unless(mut self, unless: impl Fn(&Request) -> bool + Send + Sync + 'static) -> Self {
        self.options().unless = Some(Arc::new(unless));
        self
    }

    /// Which statuses are stored (`@cached(response_filter=...)`); default 200 only. Error
    /// statuses are never a good idea: a 503 stored would outlive the outage.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::StatusCode;
    ///
    /// let layer = phial_cache::Cache::memory()
    ///     .cached()
    ///     .store_status(|status| status == StatusCode::OK || status == StatusCode::MOVED_PERMANENTLY);
    /// # let _ = layer;
    /// ```
    pub fn store_status(mut self, filter: impl Fn(StatusCode) -> bool + Send + Sync + 'static) -> Self {
        self.options().store_status = Arc::new(filter);
        self
    }

    /// The cookies that mark a request as carrying credentials (replacing the defaults:
    /// `session`, `remember_token`, `access_token_cookie`, `refresh_token_cookie`). Use the
    /// app's `app.session.cookie_name` if it changed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().private_cookies(["sid", "remember_token"]);
    /// # let _ = layer;
    /// ```
    pub fn private_cookies<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options().private_cookies = names.into_iter().map(Into::into).collect();
        self
    }

    /// The largest body stored, in bytes (default 1 MiB); larger or streamed bodies pass
    /// through uncached.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_cache::Cache::memory().cached().max_body(64 * 1024);
    /// # let _ = layer;
    /// ```
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.options().max_body = bytes;
        self
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = CachedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CachedService { inner, layer: self.clone() }
    }
}

/// The service [`CacheLayer`] wraps a route in.
///
/// # Examples
///
/// ```
/// use tower::Layer;
///
/// let layer = phial_cache::Cache::memory().cached();
/// let service = layer.layer(tower::service_fn(|_request: axum::extract::Request| async {
///     Ok::<_, std::convert::Infallible>(axum::response::Response::new(axum::body::Body::from("hi")))
/// }));
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct CachedService<S> {
    inner: S,
    layer: CacheLayer,
}

impl<S> fmt::Debug for CachedService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedService").field("layer", &self.layer).finish_non_exhaustive()
    }
}

impl<S> Service<Request> for CachedService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    /// A hit found in this process's memory is answered at once (`Left`); anything else
    /// (a miss, Redis, a bypass) runs as a boxed future (`Right`).
    type Future = Either<Ready<Result<Response, Infallible>>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is checked on the clone that serves the request (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(cache) = self.layer.source.get() else {
            return Either::Right(self.inner.clone().oneshot(request).boxed());
        };
        let Some(key) = cache_key(&self.layer.options, &request) else {
            let inner = self.inner.clone();
            return Either::Right(
                async move {
                    let mut response = inner.oneshot(request).await?;
                    response.headers_mut().insert(X_CACHE, BYPASS);
                    Ok(response)
                }
                .boxed(),
            );
        };
        // The common case, a hit held in this process, is served here: no clone of the
        // route, no boxed future, no await (see `Cache::local_hit`).
        if let Some((bytes, memo)) = cache.local_hit(&key)
            && let Some(hit) = Prepared::of(bytes, Some(memo))
            && let Some(hit) = hit.as_ref()
        {
            return Either::Left(ready(Ok(hit.response(request.headers().get(header::IF_NONE_MATCH)))));
        }
        let (cache, options, inner) = (cache.clone(), Arc::clone(&self.layer.options), self.inner.clone());
        Either::Right(async move { Ok(serve(cache, options, key, inner, request).await) }.boxed())
    }
}

/// The request's key, or `None` when it must bypass the cache.
fn cache_key(options: &Options, request: &Request) -> Option<String> {
    if request.method() != Method::GET || options.unless.as_ref().is_some_and(|unless| unless(request)) {
        return None;
    }
    let user = options.user.as_ref().and_then(|user| user(request));
    if user.is_none() && carries_credentials(request.headers(), &options.private_cookies) {
        return None;
    }
    let uri = request.uri();
    let mut key = String::with_capacity(options.key_prefix.len() + uri.path().len() + 32);
    key.push_str(&options.key_prefix);
    key.push_str("GET ");
    key.push_str(uri.path());
    if options.query_string
        && let Some(query) = uri.query().filter(|query| !query.is_empty())
    {
        key.push('?');
        push_sorted_query(&mut key, query);
    }
    for name in &options.vary {
        key.push('\n');
        key.push_str(name.as_str());
        key.push(':');
        for value in request.headers().get_all(name) {
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
            key.push(',');
        }
    }
    if let Some(user) = user {
        key.push_str("\nuser:");
        key.push_str(&user);
    }
    Some(key)
}

/// The query's parameters sorted by name; values of one name keep their order, since
/// `?tag=a&tag=b` and `?tag=b&tag=a` may mean different things.
fn push_sorted_query(key: &mut String, query: &str) {
    let mut pairs: Vec<&str> = query.split('&').filter(|pair| !pair.is_empty()).collect();
    if pairs.len() == 1 {
        key.push_str(pairs[0]);
        return;
    }
    pairs.sort_by_key(|pair| pair.split_once('=').map_or(*pair, |(name, _)| name));
    for (i, pair) in pairs.iter().enumerate() {
        if i > 0 {
            key.push('&');
        }
        key.push_str(pair);
    }
}

fn carries_credentials(headers: &HeaderMap, private_cookies: &[String]) -> bool {
    if headers.contains_key(header::AUTHORIZATION) {
        return true;
    }
    headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).any(|cookies| {
        cookies.split(';').filter_map(|cookie| cookie.split_once('=')).any(|(name, _)| {
            let name = name.trim();
            private_cookies.iter().any(|private| private == name)
        })
    })
}

/// Serves `request` from the cache, or runs the handler once for every concurrent miss.
async fn serve<S>(cache: Cache, options: Arc<Options>, key: String, inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    if let Ok(Some((bytes, memo))) = cache.get_memo(&key).await
        && let Some(hit) = Prepared::of(bytes, memo)
        && let Some(hit) = hit.as_ref()
    {
        return hit.response(if_none_match.as_ref());
    }
    // The request goes to the flight only if this caller starts it; a waiter keeps its own
    // to run the handler itself when the flight's response must not be shared.
    let pending = Arc::new(Mutex::new(Some(request)));
    let own = Arc::new(Mutex::new(None::<Response>));
    let ttl = options.ttl;
    let make = {
        let (pending, own, inner) = (Arc::clone(&pending), Arc::clone(&own), inner.clone());
        move || render(options, inner, pending, own).boxed()
    };
    let (result, started) = cache.load(&key, ttl, make).await;
    match result {
        Ok(bytes) => {
            // MISS only when this request's handler ran: a flight it started may have been
            // answered by another instance (its new value, or the stale one within
            // `stale_grace`), and then the request is still pending here.
            let rendered = started && pending.lock().unwrap_or_else(PoisonError::into_inner).is_none();
            match StoredResponse::decode(bytes) {
                Some(stored) => stored.into_response(if_none_match.as_ref(), if rendered { MISS } else { HIT }),
                None => internal_error(),
            }
        }
        Err(FlightError::NotStored(_)) if started => take(&own).unwrap_or_else(internal_error),
        Err(FlightError::NotStored(_) | FlightError::Failed(_)) => match take(&pending) {
            Some(request) => {
                let mut response = inner.oneshot(request).await.unwrap_or_else(|never| match never {});
                response.headers_mut().insert(X_CACHE, MISS);
                response
            }
            None => take(&own).unwrap_or_else(internal_error),
        },
    }
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

fn internal_error() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Runs the handler; encodes its response when it may be stored, and otherwise keeps it in
/// `own` for the request that ran it.
async fn render<S>(
    options: Arc<Options>,
    inner: S,
    pending: Arc<Mutex<Option<Request>>>,
    own: Arc<Mutex<Option<Response>>>,
) -> Result<Computed, crate::CacheError>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let not_stored = || Ok(Computed { bytes: Bytes::new(), store: false, share: false });
    let Some(request) = take(&pending) else { return not_stored() };
    let session = Session::from_extensions(request.extensions());
    let mut response = inner.oneshot(request).await.unwrap_or_else(|never| match never {});
    let session_changed = session.is_some_and(|session| session.modified());
    let fits = response.body().size_hint().upper().is_some_and(|size| size <= options.max_body);
    if session_changed || !fits || !storable(&options, &response) {
        response.headers_mut().insert(X_CACHE, MISS);
        *own.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
        return not_stored();
    }
    let (parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        // The handler's body failed while being read; nothing to store or send.
        *own.lock().unwrap_or_else(PoisonError::into_inner) = Some(internal_error());
        return not_stored();
    };
    let body = collected.to_bytes();
    if let Some(bytes) = StoredResponse::encode(parts.status, &parts.headers, &body) {
        return Ok(Computed { bytes, store: true, share: true });
    }
    let mut response = Response::from_parts(parts, Body::from(body));
    response.headers_mut().insert(X_CACHE, MISS);
    *own.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
    not_stored()
}

fn storable(options: &Options, response: &Response) -> bool {
    let headers = response.headers();
    if !(options.store_status)(response.status()) || headers.contains_key(header::SET_COOKIE) {
        return false;
    }
    let lists = |name: HeaderName| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|item| item.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let control = lists(header::CACHE_CONTROL);
    let private =
        control.iter().any(|d| d == "private" || d == "no-store" || d == "no-cache" || d.starts_with("private="));
    // A response that varies on a request header the key leaves out would be served to
    // requests it was not made for.
    let keyed = |name: &String| name.is_empty() || options.vary.iter().any(|vary| vary.as_str() == name);
    !private && lists(header::VARY).iter().all(keyed)
}

/// A response as stored: status, `ETag`, headers, body.
///
/// Layout after the version byte: status (u16), `ETag` (u16 length + bytes), header count
/// (u16), each header as u16 length + name, u16 length + value, then the body to the end.
struct StoredResponse {
    status: StatusCode,
    etag: HeaderValue,
    headers: HeaderMap,
    body: Bytes,
}

impl StoredResponse {
    /// `None` when a header or the header count does not fit the format's 16-bit lengths
    /// (such a response is served, not stored).
    fn encode(status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Option<Bytes> {
        let etag = headers.get(header::ETAG).map_or_else(|| strong_etag(body), |etag| etag.as_bytes().to_vec());
        let kept: Vec<_> =
            headers.iter().filter(|(name, _)| !NOT_STORED.contains(name) && *name != header::ETAG).collect();
        let mut out = BytesMut::with_capacity(16 + etag.len() + kept.len() * 48 + body.len());
        out.put_u8(RESPONSE_V1);
        out.put_u16(status.as_u16());
        put_field(&mut out, &etag)?;
        out.put_u16(u16::try_from(kept.len()).ok()?);
        for (name, value) in kept {
            put_field(&mut out, name.as_str().as_bytes())?;
            put_field(&mut out, value.as_bytes())?;
        }
        out.put_slice(body);
        Some(out.freeze())
    }

    /// Reads what [`encode`](Self::encode) wrote; `None` for anything else.
    fn decode(mut bytes: Bytes) -> Option<Self> {
        if bytes.first() != Some(&RESPONSE_V1) {
            return None;
        }
        bytes.advance(1);
        let status = StatusCode::from_u16(take_u16(&mut bytes)?).ok()?;
        let etag = HeaderValue::from_maybe_shared(take_field(&mut bytes)?).ok()?;
        let count = take_u16(&mut bytes)?;
        let mut headers = HeaderMap::with_capacity(usize::from(count) + 3);
        for _ in 0..count {
            let name = HeaderName::from_bytes(&take_field(&mut bytes)?).ok()?;
            let value = HeaderValue::from_maybe_shared(take_field(&mut bytes)?).ok()?;
            headers.append(name, value);
        }
        Some(Self { status, etag, headers, body: bytes })
    }

    fn into_response(self, if_none_match: Option<&HeaderValue>, state: HeaderValue) -> Response {
        if if_none_match.is_some_and(|tags| etag_matches(tags, &self.etag)) {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            let headers = response.headers_mut();
            for name in [header::CACHE_CONTROL, header::VARY, header::EXPIRES, header::CONTENT_LOCATION] {
                if let Some(value) = self.headers.get(&name) {
                    headers.insert(name, value.clone());
                }
            }
            headers.insert(header::ETAG, self.etag);
            headers.insert(X_CACHE, state);
            return response;
        }
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let mut headers = self.headers;
        headers.insert(header::ETAG, self.etag);
        headers.insert(X_CACHE, state);
        *response.headers_mut() = headers;
        response
    }
}

/// A stored response ready to serve as a hit: its headers already carry the `ETag` and
/// `X-Cache: HIT`, so a hit clones them instead of decoding the entry.
struct Prepared {
    status: StatusCode,
    etag: HeaderValue,
    headers: HeaderMap,
    not_modified: HeaderMap,
    body: Bytes,
}

impl Prepared {
    /// The hit for `bytes`: from the entry's memo (decoded by the first hit), or decoded now
    /// for an entry that lives outside this process. `Some(None)`: not a stored response.
    fn of(bytes: Bytes, memo: Option<Memo>) -> Option<Arc<Option<Self>>> {
        let prepare = |bytes| Arc::new(StoredResponse::decode(bytes).map(Self::new));
        let Some(memo) = memo else { return Some(prepare(bytes)) };
        let shared = Arc::clone(memo.get_or_init(|| prepare(bytes)));
        shared.downcast::<Option<Self>>().ok()
    }

    fn new(stored: StoredResponse) -> Self {
        let StoredResponse { status, etag, mut headers, body } = stored;
        let mut not_modified = HeaderMap::new();
        for name in [header::CACHE_CONTROL, header::VARY, header::EXPIRES, header::CONTENT_LOCATION] {
            if let Some(value) = headers.get(&name) {
                not_modified.insert(name, value.clone());
            }
        }
        not_modified.insert(header::ETAG, etag.clone());
        not_modified.insert(X_CACHE, HIT);
        headers.insert(header::ETAG, etag.clone());
        headers.insert(X_CACHE, HIT);
        // Set here once, so axum does not insert it into each hit's copy of the headers
        // (a copy has no spare room: the insert would reallocate it).
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Self { status, etag, headers, not_modified, body }
    }

    fn response(&self, if_none_match: Option<&HeaderValue>) -> Response {
        if if_none_match.is_some_and(|tags| etag_matches(tags, &self.etag)) {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = self.not_modified.clone();
            return response;
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

fn put_field(out: &mut BytesMut, field: &[u8]) -> Option<()> {
    out.put_u16(u16::try_from(field.len()).ok()?);
    out.put_slice(field);
    Some(())
}

fn take_u16(bytes: &mut Bytes) -> Option<u16> {
    (bytes.remaining() >= 2).then(|| bytes.get_u16())
}

fn take_field(bytes: &mut Bytes) -> Option<Bytes> {
    let len = usize::from(take_u16(bytes)?);
    (bytes.remaining() >= len).then(|| bytes.split_to(len))
}

/// `"<first 16 hex digits of SHA-256(body)>"`.
fn strong_etag(body: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..8])).into_bytes()
}

/// `If-None-Match` against an `ETag`, by weak comparison (RFC 9110 §13.1.2).
fn etag_matches(tags: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(tags) = tags.to_str() else { return false };
    let ours = etag.as_bytes().strip_prefix(b"W/").unwrap_or(etag.as_bytes());
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.as_bytes().strip_prefix(b"W/").unwrap_or(tag.as_bytes()) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str) -> Request {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    #[test]
    fn query_parameters_are_sorted_by_name_keeping_repeated_values_in_order() {
        let options = Options::default();
        let a = cache_key(&options, &request("/s?y=2&x=1")).unwrap();
        let b = cache_key(&options, &request("/s?x=1&y=2")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "view:GET /s?x=1&y=2");
        let c = cache_key(&options, &request("/s?tag=b&tag=a")).unwrap();
        assert_ne!(c, cache_key(&options, &request("/s?tag=a&tag=b")).unwrap());
        assert_ne!(cache_key(&options, &request("/s?q=a")), cache_key(&options, &request("/s?q=b")));
    }

    #[test]
    fn credentials_bypass_unless_keyed_by_user() {
        let options = Options::default();
        let with_cookie =
            Request::builder().uri("/").header("cookie", "theme=dark; session=abc").body(Body::empty()).unwrap();
        assert_eq!(cache_key(&options, &with_cookie), None);
        let harmless = Request::builder().uri("/").header("cookie", "theme=dark").body(Body::empty()).unwrap();
        assert!(cache_key(&options, &harmless).is_some());
        let bearer = Request::builder().uri("/").header("authorization", "Bearer x").body(Body::empty()).unwrap();
        assert_eq!(cache_key(&options, &bearer), None);
        let keyed = Options { user: Some(Arc::new(|_: &Request| Some("ada".to_owned()))), ..Options::default() };
        assert_eq!(cache_key(&keyed, &bearer).unwrap(), "view:GET /\nuser:ada");
    }

    #[test]
    fn responses_varying_on_headers_outside_the_key_are_not_stored() {
        let response = |vary: &'static str| {
            let mut response = Response::new(Body::from("x"));
            response.headers_mut().insert(header::VARY, HeaderValue::from_static(vary));
            response
        };
        let plain = Options::default();
        assert!(!storable(&plain, &response("Accept-Language")));
        assert!(!storable(&plain, &response("*")));
        let keyed = Options { vary: vec![HeaderName::from_static("accept-language")], ..Options::default() };
        assert!(storable(&keyed, &response("Accept-Language")));
        let mut set_cookie = Response::new(Body::from("x"));
        set_cookie.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
        assert!(!storable(&plain, &set_cookie));
    }

    #[test]
    fn stored_responses_round_trip_without_connection_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        let bytes = StoredResponse::encode(StatusCode::OK, &headers, &Bytes::from_static(b"hello")).unwrap();
        let stored = StoredResponse::decode(bytes).unwrap();
        assert_eq!(stored.status, StatusCode::OK);
        assert_eq!(stored.body, Bytes::from_static(b"hello"));
        assert_eq!(stored.headers.get(header::CONTENT_TYPE).unwrap(), "text/plain");
        assert!(!stored.headers.contains_key(header::CONTENT_LENGTH));
        assert!(stored.etag.to_str().unwrap().starts_with('"'));
        assert!(StoredResponse::decode(Bytes::from_static(b"\x02\x00")).is_none());
        let huge = HeaderValue::from_bytes(&vec![b'a'; 70_000]).unwrap();
        headers.insert("x-huge", huge);
        assert!(StoredResponse::encode(StatusCode::OK, &headers, &Bytes::new()).is_none());
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = HeaderValue::from_static("\"abc\"");
        assert!(etag_matches(&HeaderValue::from_static("\"x\", W/\"abc\""), &etag));
        assert!(etag_matches(&HeaderValue::from_static("*"), &etag));
        assert!(!etag_matches(&HeaderValue::from_static("\"abd\""), &etag));
    }
}
