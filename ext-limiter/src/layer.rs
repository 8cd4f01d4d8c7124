//! [`RateLimitLayer`]: the tower layer that enforces a [`Limiter`].

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use crate::limiter::Limiter;
use crate::response::{too_many_requests, unavailable, write_headers};

/// Enforces a [`Limiter`] on the requests it wraps; from [`Limiter::layer`].
///
/// Put it on the whole router (`Router::layer`), so that axum has matched the route: the
/// limiter finds a request's limits by its route pattern (`MatchedPath`). A request that
/// matched no route (a 404) is not limited, as Flask-Limiter does not limit requests without
/// an endpoint; nor are requests through a layer placed outside the router.
///
/// Per request, in Flask-Limiter's order: exempt routes pass untouched; every limit that
/// applies is hit (or only tested, for `deduct_when` limits), shortest window first; a breach
/// answers 429 without calling the handler; otherwise the handler runs, deferred hits are made
/// when `deduct_when` accepts the response, and with headers enabled the response gets the
/// `X-RateLimit-*` headers.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// use phial_limiter::Limiter;
///
/// let limiter = Limiter::builder().default_limits("10/minute").build()?;
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(limiter.layer());
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limiter: Limiter,
}

impl Limiter {
    /// The tower layer enforcing this limiter.
    pub fn layer(&self) -> RateLimitLayer {
        RateLimitLayer { limiter: self.clone() }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService { inner, limiter: self.limiter.clone() }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    inner: S,
    limiter: Limiter,
}

impl<S> Service<Request> for RateLimitService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was driven to readiness serves this request; the fresh clone waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = self.limiter.clone();
        if !limiter.0.enabled {
            return Box::pin(inner.call(request));
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // A clone of `MatchedPath` is a reference count, not a copy of the path.
            let Some(matched) = parts.extensions.get::<MatchedPath>().cloned() else {
                // No route (a 404): no endpoint to limit, as in Flask-Limiter.
                return inner.call(Request::from_parts(parts, body)).await;
            };
            let mut checked = match limiter.check(&parts, matched.as_str()).await {
                Ok(checked) => checked,
                Err(err) => {
                    tracing::error!(error = %err, "rate limit check failed; refusing the request");
                    return Ok(unavailable(&parts));
                }
            };
            let inner_state = &limiter.0;
            if checked.breached.is_some() {
                // Flask-Limiter's order: the limiter's callback, then the limit's own; the
                // last response given wins.
                let mut replacement = None;
                for (breach, own) in &checked.breaches {
                    for callback in [inner_state.on_breach.as_ref(), own.as_ref()].into_iter().flatten() {
                        replacement = callback(breach).or(replacement);
                    }
                }
                let now = limiter.now();
                return Ok(match replacement {
                    Some(mut response) => {
                        let counted = checked.header_limit().expect("a breach has a counted limit");
                        write_headers(response.headers_mut(), counted, now, inner_state.retry_after);
                        response
                    }
                    None => too_many_requests(&parts, &checked, now, inner_state.retry_after),
                });
            }
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            if !checked.deferred.is_empty()
                && let Err(err) = limiter.deduct(&mut checked, response.status(), response.headers()).await
            {
                tracing::warn!(error = %err, "rate limit deduction after the response failed");
            }
            if inner_state.headers_enabled
                && let Some(counted) = checked.header_limit()
            {
                write_headers(response.headers_mut(), counted, limiter.now(), inner_state.retry_after);
            }
            Ok(response)
        })
    }
}
