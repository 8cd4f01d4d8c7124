//! [`Limit`]: one declared limit with its options (Flask-Limiter's `@limiter.limit(...)`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{Method, StatusCode};

use crate::error::LimiterError;
use crate::key::KeyFunc;
use crate::limiter::{Breach, OnBreach};
use crate::parse::{RateLimitItem, parse_many};

type ExemptWhen = dyn Fn(&Parts) -> bool + Send + Sync;
type DeductWhen = dyn Fn(StatusCode, &http::HeaderMap) -> bool + Send + Sync;

/// A limit string with its options, as passed to Flask-Limiter's `@limiter.limit(...)`.
///
/// The string is parsed when the limiter is built, so a typo fails at startup.
///
/// # Examples
///
/// ```
/// use http::Method;
/// use phial_limiter::{KeyFunc, Limit};
///
/// // Five failed logins per minute per address: only 4xx answers count.
/// let login = Limit::new("5/minute")
///     .methods([Method::POST])
///     .deduct_when(|status, _| status.is_client_error());
/// // An expensive export counts as 10 hits of the API key's budget.
/// let export = Limit::new("100/hour").key(KeyFunc::header("x-api-key")).cost(10);
/// # let _ = (login, export);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Limit {
    pub(crate) source: String,
    pub(crate) methods: Option<Vec<Method>>,
    pub(crate) per_method: bool,
    pub(crate) scope: Option<String>,
    pub(crate) shared: bool,
    pub(crate) key: Option<KeyFunc>,
    pub(crate) cost: u64,
    pub(crate) exempt_when: Option<Arc<ExemptWhen>>,
    pub(crate) deduct_when: Option<Arc<DeductWhen>>,
    pub(crate) error_message: Option<String>,
    pub(crate) on_breach: Option<Arc<OnBreach>>,
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("limit", &self.source)
            .field("methods", &self.methods)
            .field("per_method", &self.per_method)
            .field("scope", &self.scope)
            .field("shared", &self.shared)
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl Limit {
    /// A limit from a limit string such as `"10/minute"` or `"100/day;10/hour"`.
    pub fn new(limit: impl Into<String>) -> Self {
        Self {
            source: limit.into(),
            methods: None,
            per_method: false,
            scope: None,
            shared: false,
            key: None,
            cost: 1,
            exempt_when: None,
            deduct_when: None,
            error_message: None,
            on_breach: None,
        }
    }

    /// Applies only to these methods (`methods=[...]`); other methods are not limited by it.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = Some(methods.into_iter().collect());
        self
    }

    /// Counts each method separately (`per_method=True`).
    pub fn per_method(mut self) -> Self {
        self.per_method = true;
        self
    }

    /// Counts against this key function instead of the limiter's (`key_func=`).
    pub fn key(mut self, key: KeyFunc) -> Self {
        self.key = Some(key);
        self
    }

    /// Each request costs `cost` hits (`cost=`).
    pub fn cost(mut self, cost: u64) -> Self {
        self.cost = cost;
        self
    }

    /// Skips the limit for requests where `exempt` says so (`exempt_when=`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_limiter::Limit;
    ///
    /// let limit = Limit::new("10/minute").exempt_when(|parts| parts.headers.contains_key("x-internal"));
    /// # let _ = limit;
    /// ```
    pub fn exempt_when(mut self, exempt: impl Fn(&Parts) -> bool + Send + Sync + 'static) -> Self {
        self.exempt_when = Some(Arc::new(exempt));
        self
    }

    /// Counts a request only after its response, when `deduct` says so (`deduct_when=`);
    /// before the handler the limit is only tested, so a client already over it gets 429.
    pub fn deduct_when(
        mut self,
        deduct: impl Fn(StatusCode, &http::HeaderMap) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.deduct_when = Some(Arc::new(deduct));
        self
    }

    /// The message of the 429 answer instead of the limit's text (`error_message=`).
    pub fn error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// Called when this limit is breached (`on_breach=` of `@limiter.limit`), after the
    /// limiter's own [`on_breach`](crate::LimiterBuilder::on_breach); a response it returns
    /// replaces the 429 page (and wins over the limiter's). Rate limit headers are written on
    /// the replacement as on the 429.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use http::StatusCode;
    /// use phial_limiter::{Limit, Limiter};
    ///
    /// let limiter = Limiter::builder()
    ///     .route(
    ///         "/login",
    ///         Limit::new("5/minute").on_breach(|breach| {
    ///             tracing::warn!(key = %breach.key, "too many logins");
    ///             Some((StatusCode::TOO_MANY_REQUESTS, "Too many attempts: wait a minute.").into_response())
    ///         }),
    ///     )
    ///     .build()?;
    /// # let _ = limiter;
    /// # Ok::<(), phial_limiter::LimiterError>(())
    /// ```
    pub fn on_breach(
        mut self,
        callback: impl Fn(&Breach) -> Option<axum::response::Response> + Send + Sync + 'static,
    ) -> Self {
        self.on_breach = Some(Arc::new(callback));
        self
    }

    /// Adds `scope` to the route's bucket (`scope=`): requests with other scopes count apart.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// One bucket named `scope` for every route this limit is attached to (`shared_limit`).
    pub(crate) fn shared(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_owned());
        self.shared = true;
        self
    }

    /// The limit string as written.
    pub fn limit_string(&self) -> &str {
        &self.source
    }

    pub(crate) fn parse(&self) -> Result<Vec<RateLimitItem>, LimiterError> {
        parse_many(&self.source)
    }

    /// Whether this limit applies to `method` (`methods=[...]`).
    pub(crate) fn applies_to(&self, method: &Method) -> bool {
        self.methods.as_ref().is_none_or(|methods| methods.contains(method))
    }

    /// Flask-Limiter's `scope_for`: the bucket name for `route` and `method`.
    pub(crate) fn scope_for<'a>(&'a self, route: &'a str, method: &Method) -> Cow<'a, str> {
        let scope = match (&self.scope, self.shared) {
            (Some(scope), true) => Cow::Borrowed(scope.as_str()),
            (Some(scope), false) => Cow::Owned(format!("{route}:{scope}")),
            (None, _) => Cow::Borrowed(route),
        };
        if self.per_method {
            return Cow::Owned(format!("{scope}:{}", method.as_str()));
        }
        scope
    }
}

/// A [`Limit`] with its items parsed.
#[derive(Clone, Debug)]
pub(crate) struct ParsedLimit {
    pub(crate) limit: Limit,
    pub(crate) items: Vec<RateLimitItem>,
    /// Each item's storage key suffix, formatted once rather than per request.
    pub(crate) suffixes: Vec<String>,
}

impl ParsedLimit {
    pub(crate) fn new(limit: Limit) -> Result<Self, LimiterError> {
        let items = limit.parse()?;
        let suffixes = items.iter().map(RateLimitItem::key_suffix).collect();
        Ok(Self { limit, items, suffixes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_flask_limiter() {
        let get = Method::GET;
        assert_eq!(Limit::new("1/second").scope_for("/a", &get), "/a");
        assert_eq!(Limit::new("1/second").per_method().scope_for("/a", &get), "/a:GET");
        assert_eq!(Limit::new("1/second").scope("x").scope_for("/a", &get), "/a:x");
        assert_eq!(Limit::new("1/second").shared("auth").scope_for("/a", &get), "auth");
    }

    #[test]
    fn methods_filter() {
        let limit = Limit::new("1/second").methods([Method::POST]);
        assert!(limit.applies_to(&Method::POST));
        assert!(!limit.applies_to(&Method::GET));
        assert!(Limit::new("1/second").applies_to(&Method::GET));
    }
}
