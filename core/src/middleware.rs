//! Middleware stages and the default layers every phial app has.
//!
//! Extensions add tower layers at a [`Stage`], so the order requests meet them does not depend
//! on the order of calls. A request passes, outermost first:
//!
//! | stage | default layers (core) | typical extension layers |
//! |---|---|---|
//! | [`Stage::Outer`] | request id + span, error rendering, panic → 500, timeout, body limit | |
//! | [`Stage::Security`] | | rate limiter, CSRF |
//! | [`Stage::Session`] | session cookie / store | |
//! | [`Stage::Auth`] | | login, JWT |
//! | [`Stage::Inner`] | | response cache |
//!
//! Within a stage, layers of extensions earlier in the extension order are further out; the
//! core's own layers come first of all.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderName, StatusCode};
use http_body::Body as _;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::error::{ErrorInfo, HttpError, default_message, reason};
use crate::state::AppState;

/// Where a layer sits in the request path; see the [module docs](self).
///
/// # Examples
///
/// ```
/// use phial_core::Stage;
///
/// assert!(Stage::Outer < Stage::Security);
/// assert_eq!(Stage::ALL.len(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Request id, tracing, panic catch, timeouts, body limit.
    Outer,
    /// Rate limiting, CSRF.
    Security,
    /// Sessions.
    Session,
    /// Authentication: login, JWT.
    Auth,
    /// Closest to the handler: response caching.
    Inner,
}

impl Stage {
    /// Every stage, outermost first.
    pub const ALL: [Stage; 5] = [Stage::Outer, Stage::Security, Stage::Session, Stage::Auth, Stage::Inner];

    /// The stage's name as printed by `<app> middleware`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outer => "outer",
            Self::Security => "security",
            Self::Session => "session",
            Self::Auth => "auth",
            Self::Inner => "inner",
        }
    }
}

pub(crate) type LayerFn = Box<dyn FnOnce(Router<AppState>) -> Router<AppState> + Send>;

/// A layer waiting to be applied, with what `<app> middleware` prints about it.
pub(crate) struct StagedLayer {
    pub(crate) stage: Stage,
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) apply: LayerFn,
}

/// One line of `<app> middleware`: a layer in the order a request meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// The stage.
    pub stage: Stage,
    /// The layer's name.
    pub name: String,
    /// Who added it: `core`, an extension, or `app`.
    pub owner: String,
}

/// Applies staged layers to `router` so that the first in [`Stage::ALL`] order is outermost.
///
/// `Router::layer` makes the last applied layer the outermost, so apply innermost first: stages
/// from `Inner` back to `Outer`, and within a stage from the last registered to the first.
pub(crate) fn apply_staged(mut router: Router<AppState>, mut layers: Vec<StagedLayer>) -> Router<AppState> {
    layers.sort_by_key(|l| l.stage); // stable: registration order kept within a stage
    for layer in layers.into_iter().rev() {
        router = (layer.apply)(router);
    }
    router
}

/// The request id of the current request, set by the core's outer layer.
///
/// Taken from a valid incoming `X-Request-Id` header (up to 64 visible ASCII characters) or
/// generated; echoed on the response and attached to every log line of the request.
///
/// # Examples
///
/// ```
/// use phial_core::RequestId;
///
/// async fn handler(id: axum::Extension<RequestId>) -> String {
///     format!("request {}", id.0)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sets the request id, opens the request's tracing span and echoes the id on the response.
///
/// One layer rather than tower-http's `SetRequestId` + `PropagateRequestId` + `Trace`: the id
/// is made once, and the span is only built when `info` is enabled for this target.
#[derive(Clone, Debug, Default)]
pub struct RequestContextLayer {
    counter: Arc<RequestCounter>,
}

#[derive(Debug)]
struct RequestCounter {
    prefix: u32,
    next: AtomicU64,
}

impl Default for RequestCounter {
    fn default() -> Self {
        let mut bytes = [0u8; 4];
        // An id collision across restarts is harmless; a fixed prefix is the fallback.
        let _ = getrandom::fill(&mut bytes);
        Self { prefix: u32::from_le_bytes(bytes), next: AtomicU64::new(1) }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContext { inner, counter: Arc::clone(&self.counter) }
    }
}

/// The service of [`RequestContextLayer`].
#[derive(Clone, Debug)]
pub struct RequestContext<S> {
    inner: S,
    counter: Arc<RequestCounter>,
}

impl<S> Service<Request> for RequestContext<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let incoming = req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(Arc::<str>::from);
        let id = incoming.unwrap_or_else(|| {
            let n = self.counter.next.fetch_add(1, Ordering::Relaxed);
            Arc::from(format!("{:08x}-{n:x}", self.counter.prefix))
        });
        let header = HeaderValue::from_str(&id).ok();
        let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
        req.extensions_mut().insert(RequestId(id));
        let future = self.inner.call(req);
        Box::pin(
            async move {
                let mut response = future.await?;
                tracing::debug!(status = response.status().as_u16(), "response");
                if let Some(header) = header {
                    response.headers_mut().insert(X_REQUEST_ID, header);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Turns a panic in a handler into a 500 without detail for the client; the log has it all.
#[expect(clippy::needless_pass_by_value, reason = "the signature CatchPanicLayer::custom requires")]
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = detail, "handler panicked");
    HttpError::status_only(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

/// What an error handler is told about the error it renders.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// The response status.
    pub status: StatusCode,
    /// The client-facing message.
    pub message: String,
    /// Whether the client prefers JSON to HTML.
    pub wants_json: bool,
    /// The request path.
    pub path: String,
    /// The app state (for templates, config, `url_for`).
    pub state: AppState,
}

/// A per-status error handler: Flask's `@app.errorhandler(404)`.
pub type ErrorHandlerFn = Arc<dyn Fn(ErrorContext) -> Response + Send + Sync>;

/// Renders error responses for the client: JSON or HTML by `Accept`, or the app's handler.
///
/// It re-renders error responses (status 400 or more) that phial or axum produced: those that
/// carry [`ErrorInfo`] (an [`HttpError`]), that have no body (axum's 404 and 405), or that are
/// short plain-text rejections of axum's extractors. Responses a handler built itself (HTML,
/// JSON) pass untouched. Headers such as `Allow` are kept.
#[derive(Clone)]
pub(crate) struct ErrorRenderLayer {
    pub(crate) handlers: Arc<HashMap<u16, ErrorHandlerFn>>,
    pub(crate) state: AppState,
}

impl<S> Layer<S> for ErrorRenderLayer {
    type Service = ErrorRender<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorRender { inner, layer: self.clone() }
    }
}

#[derive(Clone)]
pub(crate) struct ErrorRender<S> {
    inner: S,
    layer: ErrorRenderLayer,
}

impl<S> Service<Request> for ErrorRender<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let wants_json = prefers_json(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
        let path = req.uri().path().to_owned();
        let layer = self.layer.clone();
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = future.await?;
            if response.status().as_u16() < 400 {
                return Ok(response);
            }
            Ok(render_error(response, wants_json, path, &layer).await)
        })
    }
}

/// Largest plain-text body taken as an axum rejection message.
const MAX_REJECTION_TEXT: u64 = 8 * 1024;

async fn render_error(response: Response, wants_json: bool, path: String, layer: &ErrorRenderLayer) -> Response {
    let status = response.status();
    let info = response.extensions().get::<Arc<ErrorInfo>>().cloned();
    let is_empty = response.body().is_end_stream() || response.body().size_hint().exact() == Some(0);
    let is_plain =
        response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/plain"));
    let short = response.body().size_hint().upper().is_some_and(|n| n <= MAX_REJECTION_TEXT);
    let (parts, body) = response.into_parts();
    let message = if let Some(info) = info {
        info.message.to_string()
    } else if is_empty {
        default_message(status).to_owned()
    } else if is_plain && short {
        match http_body_util::BodyExt::collect(body).await {
            Ok(collected) => {
                let text = String::from_utf8_lossy(&collected.to_bytes()).trim().to_owned();
                if text.is_empty() { default_message(status).to_owned() } else { text }
            }
            Err(_) => default_message(status).to_owned(),
        }
    } else {
        return Response::from_parts(parts, body);
    };
    return_rendered(&parts, status, message, wants_json, path, layer)
}

fn return_rendered(
    parts: &http::response::Parts,
    status: StatusCode,
    message: String,
    wants_json: bool,
    path: String,
    layer: &ErrorRenderLayer,
) -> Response {
    let mut rendered = match layer.handlers.get(&status.as_u16()) {
        Some(handler) => handler(ErrorContext { status, message, wants_json, path, state: layer.state.clone() }),
        None => default_error_body(status, &message, wants_json),
    };
    // Keep headers such as `Allow`, `WWW-Authenticate`, `Retry-After`, `Set-Cookie`; the body's
    // own headers come from the new rendering.
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH && !rendered.headers().contains_key(name) {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// The default error body: `{"error": ..., "message": ...}` or a small HTML page.
///
/// # Examples
///
/// ```
/// use axum::http::StatusCode;
/// use phial_core::middleware::default_error_body;
///
/// let response = default_error_body(StatusCode::NOT_FOUND, "No such user.", true);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub fn default_error_body(status: StatusCode, message: &str, json: bool) -> Response {
    if json {
        let body = serde_json::json!({ "error": reason(status), "message": message });
        (status, axum::Json(body)).into_response()
    } else {
        let title = format!("{} {}", status.as_u16(), reason(status));
        let html = format!(
            "<!doctype html>\n<html lang=en>\n<title>{title}</title>\n<h1>{}</h1>\n<p>{}</p>\n",
            escape_html(reason(status)),
            escape_html(message)
        );
        (status, axum::response::Html(html)).into_response()
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `Accept` ranks `application/json` at least as high as `text/html`.
///
/// A missing header counts as `*/*`, so API clients without `Accept` get JSON; browsers send
/// `text/html` first and get HTML.
///
/// # Examples
///
/// ```
/// use phial_core::middleware::prefers_json;
///
/// assert!(prefers_json(Some("application/json")));
/// assert!(!prefers_json(Some("text/html,application/xhtml+xml,*/*;q=0.8")));
/// assert!(prefers_json(None));
/// ```
pub fn prefers_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    let json = quality(accept, "application", "json");
    let html = quality(accept, "text", "html");
    json > 0.0 && json >= html
}

/// The quality `accept` gives `kind/sub`, taking the most specific matching range.
fn quality(accept: &str, kind: &str, sub: &str) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let (k, s) = media.split_once('/').unwrap_or((media, ""));
        let specificity = match (k, s) {
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 2,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        if best.is_none_or(|(spec, _)| specificity > spec) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(prefers_json(Some("application/json, text/html")));
        assert!(prefers_json(Some("*/*")));
        assert!(!prefers_json(Some("text/html")));
        assert!(!prefers_json(Some("text/html;q=0.9, application/json;q=0.5")));
        assert!(prefers_json(Some("text/*;q=0.5, application/json")));
        assert!(!prefers_json(Some("application/json;q=0")));
    }

    #[test]
    fn html_body_escapes_the_message() {
        let response = default_error_body(StatusCode::BAD_REQUEST, "<script>", false);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(escape_html("<a href='x'>&").contains("&lt;a href=&#39;x&#39;&gt;&amp;"));
    }
}
