//! The core's outer layer: what every request meets first.
//!
//! In the order a request sees it:
//!
//! 1. a request id, from a valid incoming `X-Request-Id` or generated, kept with the request
//!    ([`RequestId`], an extractor), echoed on the response, and on every log line of the request
//!    through a `request` span;
//! 2. a body limit: a `Content-Length` over `app.body_limit` is answered 413 before the body is
//!    read, and every body extractor (`Bytes`, `String`, `Json`, `Form`, `Multipart`) stops at
//!    the same limit;
//! 3. a timeout: past `app.request_timeout` the request is answered 503 and dropped (which
//!    rolls back its transactions);
//! 4. a panic in anything inside becomes a 500 whose detail goes to the log only;
//! 5. error rendering: an error response (from phial, axum, or a layer inside) is rendered as
//!    JSON or HTML by the client's `Accept`, or by the app's handler for its status.
//!
//! These are one tower layer rather than five (tower-http's `SetRequestId`,
//! `PropagateRequestId`, `Trace`, `RequestBodyLimit`, `Timeout`, `CatchPanic` and an error
//! mapper) because each layer applied to an axum router is a boxed service call per request:
//! measured with callgrind on a plain-text route, the five separate layers cost more than the
//! handler and axum's routing together (see `bench/README.md`). One future, no allocation on
//! the success path beyond the id.

use std::any::Any;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, CatchUnwind};
use http::StatusCode;
use http::header::{ACCEPT, CONTENT_LENGTH, HeaderName, HeaderValue};
use http::request::Parts;
use pin_project_lite::pin_project;
use tower::util::Either;
use tower::{Layer, Service};
use tracing::Span;

use crate::error::HttpError;
use crate::middleware::{ErrorHandlerFn, prefers_json, render_error};
use crate::state::AppState;

/// The request id of the current request, set by the core's outer layer.
///
/// Taken from a valid incoming `X-Request-Id` header (up to 64 visible ASCII characters) or
/// generated; echoed on the response and attached to every log line of the request.
///
/// It is an extractor. Code that holds a request's extensions rather than the request (a
/// layer, a template function) finds it with [`RequestId::from_extensions`].
///
/// # Examples
///
/// ```
/// use phial_core::RequestId;
///
/// async fn handler(id: RequestId) -> String {
///     format!("request {id}")
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever stored (see `incoming_id` and `generate`).
        self.0.to_str().unwrap_or_default()
    }

    /// The id of the request whose extensions these are; `None` outside a phial app (no outer
    /// layer in front).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::RequestId;
    ///
    /// let request = http::Request::new(());
    /// assert!(RequestId::from_extensions(request.extensions()).is_none());
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Self> {
        extensions.get::<RequestContext>().map(|context| &context.id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        Self::from_extensions(&parts.extensions)
            .cloned()
            .ok_or_else(|| HttpError::internal("the `RequestId` extractor needs a phial app's outer layer in front"))
    }
}

/// The core's values for one request, in one request-extension entry: its id, the app's
/// state and (once the session layer has run) its session.
///
/// One entry, not one each: every entry is an allocation, and a request's map is rehashed into
/// a larger allocation at its fourth and eighth entries (axum adds three, a login context or a
/// CSRF failure one more). Public access goes through [`RequestId::from_extensions`],
/// [`AppState::from_extensions`] and [`Session::from_extensions`](crate::session::Session::from_extensions).
#[derive(Clone)]
pub(crate) struct RequestContext {
    pub(crate) id: RequestId,
    pub(crate) state: AppState,
    pub(crate) session: Option<crate::session::Session>,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

struct Shared {
    prefix: u32,
    next: AtomicU64,
    handlers: HashMap<u16, ErrorHandlerFn>,
    state: AppState,
    timeout: Option<Duration>,
    body_limit: u64,
}

impl Shared {
    fn generate(&self) -> HeaderValue {
        request_id(self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// `{prefix:08x}-{n:x}`, written without `format!`: it runs on every request, and a formatted
/// `String` costs two allocations and a copy more than this.
fn request_id(prefix: u32, n: u64) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 8 + 1 + 16];
    for (i, byte) in id[..8].iter_mut().enumerate() {
        *byte = HEX[(prefix >> (28 - 4 * i) & 0xf) as usize];
    }
    id[8] = b'-';
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, byte) in id[9..9 + digits].iter_mut().enumerate() {
        *byte = HEX[(n >> (4 * (digits - 1 - i)) & 0xf) as usize];
    }
    // Owned by a refcounted `Bytes`: the id goes into the request and onto the response, and a
    // clone of a `Vec`-backed `Bytes` allocates its shared form.
    let bytes = bytes::Bytes::from_owner(IdBytes { id, len: 9 + digits });
    HeaderValue::from_maybe_shared(bytes).expect("hex digits and a dash are a valid header value")
}

/// A generated request id's bytes, as the owner of a `Bytes`.
struct IdBytes {
    id: [u8; 8 + 1 + 16],
    len: usize,
}

impl AsRef<[u8]> for IdBytes {
    fn as_ref(&self) -> &[u8] {
        &self.id[..self.len]
    }
}

/// The layer; built by the app at start (see the [module docs](self)).
#[derive(Clone)]
pub(crate) struct OuterLayer {
    shared: Arc<Shared>,
}

impl OuterLayer {
    pub(crate) fn new(
        handlers: HashMap<u16, ErrorHandlerFn>,
        state: AppState,
        timeout: Option<Duration>,
        body_limit: u64,
    ) -> Self {
        let mut bytes = [0u8; 4];
        // An id collision across restarts is harmless; a fixed prefix is the fallback.
        let _ = getrandom::fill(&mut bytes);
        let shared =
            Shared { prefix: u32::from_le_bytes(bytes), next: AtomicU64::new(1), handlers, state, timeout, body_limit };
        Self { shared: Arc::new(shared) }
    }
}

/// axum's own body limit for extractors when nothing sets one.
const AXUM_DEFAULT_BODY_LIMIT: u64 = 2 * 1024 * 1024;

impl<S> Layer<S> for OuterLayer {
    type Service = Outer<Either<<DefaultBodyLimit as Layer<S>>::Service, S>>;

    fn layer(&self, inner: S) -> Self::Service {
        // `DefaultBodyLimit` costs a request-extension insert per request; at axum's own
        // default (phial's default too) the extractors already stop there without it.
        let inner = if self.shared.body_limit == AXUM_DEFAULT_BODY_LIMIT {
            Either::Right(inner)
        } else {
            let limit = usize::try_from(self.shared.body_limit).unwrap_or(usize::MAX);
            Either::Left(DefaultBodyLimit::max(limit).layer(inner))
        };
        Outer { inner, shared: Arc::clone(&self.shared) }
    }
}

#[derive(Clone)]
pub(crate) struct Outer<S> {
    inner: S,
    shared: Arc<Shared>,
}

fn incoming_id(req: &Request) -> Option<HeaderValue> {
    let value = req.headers().get(&X_REQUEST_ID)?;
    let bytes = value.as_bytes();
    (!bytes.is_empty() && bytes.len() <= 64 && bytes.iter().all(u8::is_ascii_graphic)).then(|| value.clone())
}

impl<S> Service<Request> for Outer<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OuterFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = incoming_id(&req).unwrap_or_else(|| self.shared.generate());
        let span = tracing::info_span!(
            "request",
            id = %RequestId(id.clone()),
            method = %req.method(),
            path = %req.uri().path(),
        );
        let context = RequestInfo {
            accept: req.headers().get(ACCEPT).cloned(),
            // Only the app's own error handlers see the path; the default rendering does not.
            path: if self.shared.handlers.is_empty() { String::new() } else { req.uri().path().to_owned() },
            shared: Arc::clone(&self.shared),
        };
        let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let state = if declared.is_some_and(|length| length > self.shared.body_limit) {
            State::Ready { response: Some(HttpError::status_only(StatusCode::PAYLOAD_TOO_LARGE).into_response()) }
        } else {
            // Extractors and guards whose router state is not `AppState` (bare routers nested
            // into an app, `MaybeUser` and the like) reach the app's state through the request.
            let context = RequestContext { id: RequestId(id.clone()), state: self.shared.state.clone(), session: None };
            req.extensions_mut().insert(context);
            State::Running { inner: AssertUnwindSafe(self.inner.call(req)).catch_unwind() }
        };
        // Only the deadline now: the timer is made and registered when the handler first waits
        // (a handler that answers at once never touches the timer wheel).
        let deadline = self.shared.timeout.map(|timeout| tokio::time::Instant::now() + timeout);
        OuterFuture { state, sleep: None, deadline, span, id: Some(id), context: Some(context) }
    }
}

/// What rendering an error needs to know about the request.
struct RequestInfo {
    accept: Option<HeaderValue>,
    path: String,
    shared: Arc<Shared>,
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] inner: CatchUnwind<AssertUnwindSafe<F>> },
        Ready { response: Option<Response> },
        Rendering { render: BoxFuture<'static, Response> },
    }
}

pin_project! {
    /// The future of the outer layer's service.
    pub(crate) struct OuterFuture<F> {
        #[pin]
        state: State<F>,
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        deadline: Option<tokio::time::Instant>,
        span: Span,
        id: Option<HeaderValue>,
        // Inline, not boxed: an allocation on every request for what only errors read.
        context: Option<RequestInfo>,
    }
}

impl<F> Future for OuterFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.span.enter();
        loop {
            let response = match this.state.as_mut().project() {
                StateProj::Running { inner } => match inner.poll(cx) {
                    Poll::Ready(Ok(Ok(response))) => response,
                    Poll::Ready(Ok(Err(never))) => match never {},
                    Poll::Ready(Err(panic)) => panic_response(&*panic),
                    Poll::Pending => {
                        if let Some(deadline) = this.deadline.take() {
                            this.sleep.set(Some(tokio::time::sleep_until(deadline)));
                        }
                        match this.sleep.as_mut().as_pin_mut().map(|sleep| sleep.poll(cx)) {
                            Some(Poll::Ready(())) => {
                                tracing::warn!("request timed out; answering 503");
                                HttpError::status_only(StatusCode::SERVICE_UNAVAILABLE).into_response()
                            }
                            _ => return Poll::Pending,
                        }
                    }
                },
                StateProj::Ready { response } => response.take().unwrap_or_else(|| StatusCode::OK.into_response()),
                StateProj::Rendering { render } => {
                    let mut response = ready!(render.as_mut().poll(cx));
                    if let Some(id) = this.id.take() {
                        response.headers_mut().insert(X_REQUEST_ID, id);
                    }
                    return Poll::Ready(Ok(response));
                }
            };
            if response.status().as_u16() >= 400
                && let Some(context) = this.context.take()
            {
                // Error responses are rare: render them in a boxed future of their own, which
                // may read a short rejection body.
                let render = Box::pin(async move {
                    let wants_json = prefers_json(context.accept.as_ref().and_then(|v| v.to_str().ok()));
                    let shared = &context.shared;
                    render_error(response, wants_json, context.path, &shared.handlers, &shared.state).await
                });
                this.state.set(State::Rendering { render });
                continue;
            }
            let mut response = response;
            tracing::debug!(status = response.status().as_u16(), "response");
            if let Some(id) = this.id.take() {
                response.headers_mut().insert(X_REQUEST_ID, id);
            }
            return Poll::Ready(Ok(response));
        }
    }
}

/// Turns a panic into a 500 without detail for the client; the log has it all.
fn panic_response(panic: &(dyn Any + Send)) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = detail, "handler panicked");
    HttpError::status_only(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_prefix_dash_counter_in_hex() {
        assert_eq!(request_id(0x00ab_cdef, 1), "00abcdef-1");
        assert_eq!(request_id(0xffff_ffff, 0x1f), "ffffffff-1f");
        assert_eq!(request_id(0, u64::MAX), "00000000-ffffffffffffffff");
        assert_eq!(request_id(7, 0), "00000007-0");
        for n in [1_u64, 9, 10, 255, 256, 0xdead_beef, 1 << 63] {
            assert_eq!(request_id(0x1234_5678, n), format!("12345678-{n:x}").as_str());
        }
    }
}
