//! Middleware stages and the default layers every phial app has.
//!
//! Extensions add tower layers at a [`Stage`], so the order requests meet them does not depend
//! on the order of calls. A request passes, outermost first:
//!
//! | stage | default layers (core) | typical extension layers |
//! |---|---|---|
//! | [`Stage::Outer`] | request id + span, error rendering, panic → 500, timeout, body limit (one layer: [`crate::outer`]) | |
//! | [`Stage::Security`] | | rate limiter, CSRF |
//! | [`Stage::Session`] | session cookie / store | |
//! | [`Stage::Auth`] | | login, JWT |
//! | [`Stage::Inner`] | | response cache |
//!
//! Within a stage, layers of extensions earlier in the extension order are further out; the
//! core's own layers come first of all.
//!
//! The core's outer and session layers wrap the whole router ([`crate::service`]); extension
//! layers are applied with `Router::layer`, so they run after routing and see the matched
//! route (`axum::extract::MatchedPath`). Since the session loads lazily, a `Security`-stage
//! layer can use it too, though one that does not pays nothing for it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body::Body as _;

use crate::error::{ErrorInfo, default_message, reason};
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

/// Largest plain-text body taken as an axum rejection message.
const MAX_REJECTION_TEXT: u64 = 8 * 1024;

/// Renders an error response for the client (see [`crate::outer`]): JSON or HTML by
/// `Accept`, or the app's handler for the status.
///
/// It re-renders error responses (status 400 or more) that phial or axum produced: those that
/// carry [`ErrorInfo`] (an [`HttpError`]), that have no body (axum's 404 and 405), or that are
/// short plain-text rejections of axum's extractors. Responses a handler built itself (HTML,
/// JSON) pass untouched. Headers such as `Allow` are kept.
pub(crate) async fn render_error(
    response: Response,
    wants_json: bool,
    path: String,
    handlers: &HashMap<u16, ErrorHandlerFn>,
    state: &AppState,
) -> Response {
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
    return_rendered(&parts, status, message, wants_json, path, handlers, state)
}

fn return_rendered(
    parts: &http::response::Parts,
    status: StatusCode,
    message: String,
    wants_json: bool,
    path: String,
    handlers: &HashMap<u16, ErrorHandlerFn>,
    state: &AppState,
) -> Response {
    let mut rendered = match handlers.get(&status.as_u16()) {
        Some(handler) => handler(ErrorContext { status, message, wants_json, path, state: state.clone() }),
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

/// Escapes text for HTML element content and attribute values (`& < > " '`), as Jinja2's
/// markupsafe does.
///
/// # Examples
///
/// ```
/// use phial_core::middleware::escape_html;
///
/// assert_eq!(escape_html(r#"<a title="x">"#), "&lt;a title=&#34;x&#34;&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a `String` cannot fail.
    let _ = write_escaped_html(&mut out, text);
    out
}

/// Writes `text` to `out` escaped as markupsafe does (`& < > " '`), in runs between the
/// characters that need escaping, without allocating.
pub(crate) fn write_escaped_html(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&#34;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[start..i])?;
        out.write_str(entity)?;
        start = i + 1;
    }
    out.write_str(&text[start..])
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
