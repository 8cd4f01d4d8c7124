//! [`MaintenanceLayer`]: a plain tower layer that answers 503 while maintenance is on.

use std::borrow::Cow;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::Either;
use phial_core::axum::http::header::RETRY_AFTER;
use phial_core::axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use phial_core::axum::response::{IntoResponse, Response};
use phial_core::tower::{Layer, Service};
use phial_core::{Error, HttpError, Secret};
use subtle::ConstantTimeEq;

use crate::config::MaintenanceConfig;
use crate::switch::MaintenanceSwitch;

/// Answers every request with `503 Service Unavailable` while its [`MaintenanceSwitch`] is on,
/// except allowed paths and requests that carry the bypass token.
///
/// The answer is an [`HttpError`] with a `Retry-After` header. In a phial app the core's error
/// layer renders it as JSON or HTML by the client's `Accept` header (and runs the app's 503
/// handler, if any); in a bare axum app it is plain text.
///
/// While the switch is off the layer costs one atomic load per request.
///
/// # Examples
///
/// In a bare axum app:
///
/// ```
/// use std::time::Duration;
/// use phial_core::axum::{Router, routing::get};
/// use phial_example_maintenance::{MaintenanceLayer, MaintenanceSwitch};
///
/// let switch = MaintenanceSwitch::new();
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .route("/healthz", get(|| async { "ok" }))
///     .layer(
///         MaintenanceLayer::new(switch.clone())
///             .message("Back at 18:00 UTC.")
///             .retry_after(Duration::from_mins(10))
///             .allow_path("/healthz"),
///     );
/// switch.set(true); // `/` now answers 503, `/healthz` still 200
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MaintenanceLayer {
    switch: MaintenanceSwitch,
    policy: Arc<Policy>,
}

/// What the layer lets through and how it refuses the rest.
#[derive(Debug, Clone)]
struct Policy {
    message: Cow<'static, str>,
    retry_after: Option<HeaderValue>,
    allow: Vec<PathRule>,
    bypass: Option<(HeaderName, Secret)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathRule {
    Exact(String),
    /// `/static/*`: the path `/static` and everything under `/static/`.
    Prefix(String),
}

impl PathRule {
    fn parse(rule: &str) -> Self {
        match rule.strip_suffix("/*") {
            Some(prefix) => Self::Prefix(prefix.to_owned()),
            None => Self::Exact(rule.to_owned()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(exact) => path == exact,
            Self::Prefix(prefix) => {
                path.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }
}

impl MaintenanceLayer {
    /// A layer driven by `switch`: a standard message, no `Retry-After`, no allowed paths, no
    /// bypass.
    pub fn new(switch: MaintenanceSwitch) -> Self {
        let policy = Policy {
            message: Cow::Borrowed("This site is down for maintenance. Please try again later."),
            retry_after: None,
            allow: Vec::new(),
            bypass: None,
        };
        Self { switch, policy: Arc::new(policy) }
    }

    /// The layer a [`MaintenanceConfig`] describes, as the extension builds it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the key: an allowed path or status path that does not start
    /// with `/`, or a bypass header that is not a valid header name.
    pub fn from_config(switch: MaintenanceSwitch, config: &MaintenanceConfig) -> Result<Self, Error> {
        let mut layer = Self::new(switch).message(config.message.clone());
        if config.retry_after > 0 {
            layer = layer.retry_after(Duration::from_secs(config.retry_after));
        }
        for path in &config.allow_paths {
            if !path.starts_with('/') {
                return Err(Error::config(
                    "maintenance.allow_paths",
                    format!("`{path}` is not a path; write `/healthz`, or `/static/*` for a prefix"),
                ));
            }
            layer = layer.allow_path(path);
        }
        if !config.status_path.is_empty() {
            if !config.status_path.starts_with('/') {
                return Err(Error::config("maintenance.status_path", "must start with `/` (or be empty to remove it)"));
            }
            layer = layer.allow_path(&config.status_path);
        }
        if !config.bypass_token.is_empty() {
            let header = HeaderName::from_bytes(config.bypass_header.as_bytes()).map_err(|_| {
                Error::config(
                    "maintenance.bypass_header",
                    format!("`{}` is not a valid HTTP header name", config.bypass_header),
                )
            })?;
            layer = layer.bypass(header, config.bypass_token.clone());
        }
        Ok(layer)
    }

    fn policy_mut(&mut self) -> &mut Policy {
        Arc::make_mut(&mut self.policy)
    }

    /// The message of the 503 answer.
    pub fn message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.policy_mut().message = message.into();
        self
    }

    /// Sends `Retry-After` with this many whole seconds.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.policy_mut().retry_after = Some(HeaderValue::from(after.as_secs()));
        self
    }

    /// Serves `path` even in maintenance: an exact path, or a prefix written `/static/*`.
    pub fn allow_path(mut self, path: &str) -> Self {
        self.policy_mut().allow.push(PathRule::parse(path));
        self
    }

    /// Serves requests whose `header` equals `token` (compared in constant time). An empty
    /// token disables the bypass.
    pub fn bypass(mut self, header: HeaderName, token: Secret) -> Self {
        self.policy_mut().bypass = (!token.is_empty()).then_some((header, token));
        self
    }
}

impl Policy {
    fn lets_through<B>(&self, req: &Request<B>) -> bool {
        let path = req.uri().path();
        if self.allow.iter().any(|rule| rule.matches(path)) {
            return true;
        }
        self.bypass.as_ref().is_some_and(|(header, token)| {
            req.headers().get(header).is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())))
        })
    }

    fn refusal(&self) -> Response {
        let mut err = HttpError::new(StatusCode::SERVICE_UNAVAILABLE, self.message.clone());
        if let Some(after) = &self.retry_after {
            err = err.with_header(RETRY_AFTER, after.clone());
        }
        err.into_response()
    }
}

impl<S> Layer<S> for MaintenanceLayer {
    type Service = MaintenanceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MaintenanceService { inner, switch: self.switch.clone(), policy: Arc::clone(&self.policy) }
    }
}

/// The service of [`MaintenanceLayer`].
#[derive(Debug, Clone)]
pub struct MaintenanceService<S> {
    inner: S,
    switch: MaintenanceSwitch,
    policy: Arc<Policy>,
}

impl<S, B> Service<Request<B>> for MaintenanceService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if self.switch.is_on() && !self.policy.lets_through(&req) {
            return Either::Left(ready(Ok(self.policy.refusal())));
        }
        Either::Right(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules_match_on_segment_boundaries() {
        let rule = PathRule::parse("/static/*");
        assert!(rule.matches("/static"));
        assert!(rule.matches("/static/app.css"));
        assert!(!rule.matches("/statics"));
        let exact = PathRule::parse("/healthz");
        assert!(exact.matches("/healthz"));
        assert!(!exact.matches("/healthz/x"));
    }
}
