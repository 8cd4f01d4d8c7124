//! [`Limiter`]: which limits apply to a request, and counting them (Flask-Limiter's `Limiter`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use http::Method;
use http::request::Parts;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::LimiterError;
use crate::key::{ClientKey, KeyFunc};
use crate::parse::RateLimitItem;
use crate::response::RetryAfter;
use crate::rule::{Limit, ParsedLimit};
use crate::storage::{Backend, MemoryBounds, MemoryStorage};
use crate::strategy::{Strategy, WindowStats};

pub(crate) type OnBreach = dyn Fn(&Breach) -> Option<Response> + Send + Sync;

/// What an [`on_breach`](LimiterBuilder::on_breach) callback is told (Flask-Limiter's
/// `RequestLimit`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Breach {
    /// The limit breached.
    pub limit: RateLimitItem,
    /// The key counted against (an address, an API key, ...).
    pub key: String,
    /// The bucket: the route pattern, or a shared scope.
    pub scope: String,
    /// The window after the refused hit.
    pub stats: WindowStats,
}

/// The rate limiter: the limits declared, the strategy, the storage and the key function.
///
/// Cheap to clone (one `Arc`). [`layer`](Self::layer) gives the tower layer that enforces it;
/// it finds the route of a request by axum's `MatchedPath`, so it goes on the whole `Router`
/// (in phial, [`LimiterExtension`](crate::LimiterExtension) puts it at the `Security` stage).
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// use http::Method;
/// use phial_limiter::{Limit, Limiter};
///
/// let limiter = Limiter::builder()
///     .default_limits("200/day;50/hour")
///     .route("/login", Limit::new("5/minute").methods([Method::POST]))
///     .exempt("/health")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/login", get(|| async { "form" }).post(|| async { "welcome" }))
///     .route("/health", get(|| async { "ok" }))
///     .layer(limiter.layer());
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
#[derive(Clone)]
pub struct Limiter(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) enabled: bool,
    pub(crate) backend: Backend,
    pub(crate) strategy: Strategy,
    pub(crate) routes: HashMap<String, Vec<Arc<ParsedLimit>>>,
    pub(crate) blueprints: Vec<(String, Vec<Arc<ParsedLimit>>)>,
    pub(crate) defaults: Vec<Arc<ParsedLimit>>,
    pub(crate) application: Vec<Arc<ParsedLimit>>,
    /// What a request meets, worked out at build: per route, per blueprint (same order as
    /// `blueprints`) and for the defaults, each with the application limits, shortest window
    /// first, so a check neither allocates nor sorts to find its limits.
    pub(crate) route_plans: HashMap<String, Plan>,
    pub(crate) blueprint_plans: Vec<Plan>,
    pub(crate) default_plan: Plan,
    pub(crate) exempt: HashSet<String>,
    pub(crate) exempt_blueprints: Vec<String>,
    pub(crate) key: KeyFunc,
    pub(crate) trusted_proxies: usize,
    pub(crate) headers_enabled: bool,
    pub(crate) retry_after: RetryAfter,
    pub(crate) key_prefix: String,
    pub(crate) fail_on_first_breach: bool,
    pub(crate) on_breach: Option<Arc<OnBreach>>,
    pub(crate) clock: SharedClock,
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "bounds the Redis fallback"))]
    pub(crate) bounds: MemoryBounds,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("enabled", &self.0.enabled)
            .field("strategy", &self.0.strategy)
            .field("storage", &self.0.backend.name())
            .field("routes", &self.0.routes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The limit items a request meets, in counting order: (limit, index of the item).
pub(crate) type Plan = Vec<(Arc<ParsedLimit>, usize)>;

fn plan(application: &[Arc<ParsedLimit>], own: &[Arc<ParsedLimit>]) -> Plan {
    let mut plan: Plan =
        application.iter().chain(own).flat_map(|l| (0..l.items.len()).map(move |i| (Arc::clone(l), i))).collect();
    // Flask-Limiter's order: shortest window first (stable, so declaration order breaks ties).
    plan.sort_by_key(|(l, i)| l.items[*i].granularity().seconds());
    plan
}

/// One limit item met by a request, after its hit or test.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub(crate) item: RateLimitItem,
    pub(crate) stats: WindowStats,
    pub(crate) shared: bool,
    pub(crate) message: Option<String>,
}

/// A hit to make once the response is known (`deduct_when`).
pub(crate) struct Deferred {
    pub(crate) limit: Arc<ParsedLimit>,
    pub(crate) item: RateLimitItem,
    pub(crate) storage_key: String,
    pub(crate) index: usize,
}

/// What the check before the handler found.
#[derive(Default)]
pub(crate) struct Checked {
    pub(crate) counted: Vec<Counted>,
    pub(crate) breached: Option<usize>,
    /// Each breach with the breached limit's own `on_breach` callback.
    pub(crate) breaches: Vec<(Breach, Option<Arc<OnBreach>>)>,
    pub(crate) deferred: Vec<Deferred>,
}

impl Checked {
    /// The limit the headers describe: the breached one, else the first that is not shared.
    pub(crate) fn header_limit(&self) -> Option<&Counted> {
        self.breached
            .map(|i| &self.counted[i])
            .or_else(|| self.counted.iter().find(|c| !c.shared))
            .or_else(|| self.counted.first())
    }
}

impl Limiter {
    /// A builder with Flask-Limiter's defaults: no limits, fixed window, memory storage, key
    /// by peer address, headers off.
    pub fn builder() -> LimiterBuilder {
        LimiterBuilder::default()
    }

    /// The limiter's clock (a [`TestClock`](crate::TestClock) in tests).
    pub fn now(&self) -> Duration {
        self.0.clock.now()
    }

    /// Counts in Redis from now on (the extension calls this at start, once the shared
    /// connection exists); the memory used so far is the fallback's bound.
    ///
    /// # Errors
    ///
    /// [`LimiterError::Config`] when Redis is already attached.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn use_redis(&self, options: crate::storage::RedisOptions) -> Result<(), LimiterError> {
        let fallback = MemoryStorage::with_clock(Arc::clone(&self.0.clock), self.0.bounds);
        let backend = crate::storage::RedisBackend::new(options, fallback, Arc::clone(&self.0.clock));
        self.0
            .backend
            .redis
            .set(Box::new(backend))
            .map_err(|_| LimiterError::Config("Redis storage is already attached".into()))
    }

    /// The strategy in use.
    pub fn strategy(&self) -> Strategy {
        self.0.strategy
    }

    /// Forgets counted hits: those of `key` (e.g. an address) when given, else all of them
    /// (Flask-Limiter's `limiter.reset()`); returns how many storage keys were removed.
    ///
    /// # Errors
    ///
    /// [`LimiterError::Storage`] when Redis fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_limiter::LimiterError> {
    /// let limiter = phial_limiter::Limiter::builder().default_limits("1/minute").build()?;
    /// limiter.reset(Some("203.0.113.9")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reset(&self, key: Option<&str>) -> Result<usize, LimiterError> {
        let mut prefix = String::from("LIMITER/");
        if !self.0.key_prefix.is_empty() {
            prefix.push_str(&self.0.key_prefix);
            prefix.push('/');
        }
        if let Some(key) = key {
            prefix.push_str(key);
            prefix.push('/');
        }
        self.0.backend.reset(&prefix).await
    }

    /// Every limit declared, as `(where, limits)` lines: application and default limits,
    /// then each blueprint, route and exemption the limiter was given. In a phial app,
    /// `<app> limiter limits` lists every route of the app instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_limiter::{Limit, Limiter};
    ///
    /// let limiter = Limiter::builder().default_limits("1/second").route("/login", Limit::new("5/minute")).build()?;
    /// assert_eq!(limiter.describe()[1], ("/login".to_owned(), "5 per 1 minute".to_owned()));
    /// # Ok::<(), phial_limiter::LimiterError>(())
    /// ```
    pub fn describe(&self) -> Vec<(String, String)> {
        let inner = &self.0;
        let mut lines = Vec::new();
        if !inner.application.is_empty() {
            lines.push(("application (all routes)".to_owned(), show_limits(&inner.application)));
        }
        if !inner.defaults.is_empty() {
            lines.push(("default (routes without their own)".to_owned(), show_limits(&inner.defaults)));
        }
        for (prefix, limits) in &inner.blueprints {
            lines.push((format!("{prefix}/*"), show_limits(limits)));
        }
        let mut routes: Vec<_> = inner.routes.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        for (route, limits) in routes {
            lines.push((route.clone(), show_limits(limits)));
        }
        let mut exempt: Vec<_> = inner.exempt.iter().cloned().collect();
        exempt.sort();
        exempt.extend(inner.exempt_blueprints.iter().map(|p| format!("{p}/*")));
        for route in exempt {
            lines.push((route, "exempt".to_owned()));
        }
        lines
    }

    /// Where the limits of `route` come from (besides the application limits), for the listing.
    pub(crate) fn source_of(&self, route: &str) -> LimitSource<'_> {
        let inner = &self.0;
        if self.is_exempt(route) {
            return LimitSource::Exempt;
        }
        if let Some(limits) = inner.routes.get(route) {
            return LimitSource::Route(limits);
        }
        match inner.blueprints.iter().find(|(prefix, _)| under(route, prefix)) {
            Some((prefix, limits)) => LimitSource::Blueprint(prefix, limits),
            None => LimitSource::Default(&inner.defaults),
        }
    }

    /// Route patterns with limits or an exemption of their own, sorted.
    pub(crate) fn declared_routes(&self) -> Vec<&str> {
        let inner = &self.0;
        let mut routes: Vec<&str> = inner.routes.keys().chain(&inner.exempt).map(String::as_str).collect();
        routes.sort_unstable();
        routes.dedup();
        routes
    }

    /// The application limits, as the listing shows them (empty when there are none).
    pub(crate) fn application_text(&self) -> String {
        let items = self.0.application.iter().flat_map(|l| l.items.iter().map(ToString::to_string));
        items.collect::<Vec<_>>().join(", ")
    }

    /// Whether limiting is on (`enabled`).
    pub(crate) fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// The limits that apply to `route` (a route pattern such as `/user/{id}`), shown as in
    /// the listing: the route's own, else its blueprint's, else the defaults; plus the
    /// application limits. Empty for exempt routes.
    pub fn limits_for(&self, route: &str, method: &Method) -> Vec<RateLimitItem> {
        self.select(route).iter().filter(|(l, _)| l.limit.applies_to(method)).map(|(l, i)| l.items[*i]).collect()
    }

    fn is_exempt(&self, route: &str) -> bool {
        (!self.0.exempt.is_empty() && self.0.exempt.contains(route))
            || self.0.exempt_blueprints.iter().any(|prefix| under(route, prefix))
    }

    /// The plan of `route`: nothing for exempt routes, else the route's own, its blueprint's or
    /// the default plan.
    fn select(&self, route: &str) -> &[(Arc<ParsedLimit>, usize)] {
        let inner = &self.0;
        if self.is_exempt(route) {
            return &[];
        }
        if !inner.route_plans.is_empty()
            && let Some(plan) = inner.route_plans.get(route)
        {
            return plan;
        }
        match inner.blueprints.iter().position(|(prefix, _)| under(route, prefix)) {
            Some(index) => &inner.blueprint_plans[index],
            None => &inner.default_plan,
        }
    }

    /// Counts the request against every limit that applies before the handler runs.
    pub(crate) async fn check(&self, parts: &Parts, route: &str) -> Result<Checked, LimiterError> {
        let inner = &self.0;
        let mut checked = Checked::default();
        let pairs = self.select(route);
        if pairs.is_empty() {
            return Ok(checked);
        }
        let mut default_key: Option<Option<ClientKey>> = None;
        for (limit, i) in pairs {
            let (item, i) = (limit.items[*i], *i);
            if !limit.limit.applies_to(&parts.method) {
                continue;
            }
            if limit.limit.exempt_when.as_ref().is_some_and(|exempt| exempt(parts)) {
                continue;
            }
            let own_key;
            let key = match &limit.limit.key {
                Some(key) => {
                    own_key = key.key(parts, inner.trusted_proxies);
                    own_key.as_ref()
                }
                None => default_key.get_or_insert_with(|| inner.key.key(parts, inner.trusted_proxies)).as_ref(),
            };
            let Some(key) = key else { continue };
            let scope = limit.limit.scope_for(route, &parts.method);
            let deduct_later = limit.limit.deduct_when.is_some();
            let (suffix, cost) = (&limit.suffixes[i], limit.limit.cost);
            let mut deferred_key = None;
            let outcome = match inner.backend.memory_only() {
                // Memory storage answers without awaiting, so the storage key can be written
                // into this thread's buffer; it is copied only when the key is new.
                Some(memory) if !deduct_later => STORAGE_KEY.with_borrow_mut(|buffer| {
                    buffer.clear();
                    self.write_storage_key(buffer, suffix, key, &scope);
                    memory.acquire(inner.strategy, buffer, &item, cost, false)
                }),
                _ => {
                    let storage_key = self.storage_key(suffix, key, &scope);
                    let outcome =
                        inner.backend.acquire(inner.strategy, &storage_key, &item, cost, deduct_later).await?;
                    deferred_key = deduct_later.then_some(storage_key);
                    outcome
                }
            };
            // A limit passed is only remembered when headers will describe it or a deferred
            // hit updates it: the common request (headers off, under every limit) allocates
            // no list for it.
            let index = checked.counted.len();
            if inner.headers_enabled || deduct_later || !outcome.allowed {
                checked.counted.push(Counted {
                    item,
                    stats: outcome.stats,
                    shared: limit.limit.shared,
                    message: limit.limit.error_message.clone(),
                });
            }
            if let Some(storage_key) = deferred_key {
                checked.deferred.push(Deferred { limit: Arc::clone(limit), item, storage_key, index });
            }
            if !outcome.allowed {
                tracing::info!(limit = %item, key = %key, scope = %scope, "ratelimit exceeded");
                checked.breached.get_or_insert(index);
                let (key, scope) = (key.to_string(), scope.into_owned());
                let breach = Breach { limit: item, key, scope, stats: outcome.stats };
                checked.breaches.push((breach, limit.limit.on_breach.clone()));
                if inner.fail_on_first_breach {
                    break;
                }
            }
        }
        Ok(checked)
    }

    /// Makes the deferred hits whose `deduct_when` accepts the response.
    pub(crate) async fn deduct(
        &self,
        checked: &mut Checked,
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) -> Result<(), LimiterError> {
        let inner = &self.0;
        for deferred in std::mem::take(&mut checked.deferred) {
            let deduct = deferred.limit.limit.deduct_when.as_ref().is_some_and(|d| d(status, headers));
            if deduct {
                let outcome = inner
                    .backend
                    .acquire(inner.strategy, &deferred.storage_key, &deferred.item, deferred.limit.limit.cost, false)
                    .await?;
                if let Some(counted) = checked.counted.get_mut(deferred.index) {
                    counted.stats = outcome.stats;
                }
            }
        }
        Ok(())
    }

    /// `limits`' key layout: `LIMITER/[<prefix>/]<key>/<scope><suffix>`.
    fn storage_key(&self, suffix: &str, key: &ClientKey, scope: &str) -> String {
        let key_len = match key {
            ClientKey::Ip(_) => 39,
            ClientKey::Text(text) => text.len(),
        };
        let mut out = String::with_capacity(10 + self.0.key_prefix.len() + key_len + scope.len() + suffix.len());
        self.write_storage_key(&mut out, suffix, key, scope);
        out
    }

    /// Appends the storage key to `out` (see [`storage_key`](Self::storage_key)).
    fn write_storage_key(&self, out: &mut String, suffix: &str, key: &ClientKey, scope: &str) {
        let prefix = &self.0.key_prefix;
        out.push_str("LIMITER/");
        if !prefix.is_empty() {
            out.push_str(prefix);
            out.push('/');
        }
        key.push_to(out);
        out.push('/');
        out.push_str(scope);
        out.push_str(suffix);
    }
}

thread_local! {
    /// The storage key of a memory check, reused by every check on this thread.
    static STORAGE_KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Where a route's limits come from.
pub(crate) enum LimitSource<'a> {
    /// `exempt` or `exempt_blueprint`.
    Exempt,
    /// Its own (`route`, `shared_limit`).
    Route(&'a [Arc<ParsedLimit>]),
    /// Its blueprint's: the prefix and the limits.
    Blueprint(&'a str, &'a [Arc<ParsedLimit>]),
    /// The default limits (maybe none).
    Default(&'a [Arc<ParsedLimit>]),
}

/// Limits as the listings show them: `5 per 1 minute [POST]; 100 per 1 day (shared: auth)`.
pub(crate) fn show_limits(limits: &[Arc<ParsedLimit>]) -> String {
    limits
        .iter()
        .map(|l| {
            let mut text = l.items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            if let Some(methods) = &l.limit.methods {
                let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
                let _ = write!(text, " [{}]", names.join(","));
            }
            if l.limit.per_method {
                text.push_str(" (per method)");
            }
            if l.limit.shared {
                let _ = write!(text, " (shared: {})", l.limit.scope.as_deref().unwrap_or(""));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether route pattern `route` lies under blueprint prefix `prefix`.
fn under(route: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    route.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Builds a [`Limiter`]; every limit string is parsed by [`build`](Self::build).
///
/// # Examples
///
/// ```
/// use phial_limiter::{Limit, Limiter, Strategy};
///
/// let limiter = Limiter::builder()
///     .strategy(Strategy::MovingWindow)
///     .application_limits("1000/minute")
///     .blueprint("/api", Limit::new("100/minute"))
///     .shared_limit("auth", Limit::new("10/minute"), ["/login", "/register"])
///     .headers_enabled(true)
///     .build()?;
/// # let _ = limiter;
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
#[must_use]
pub struct LimiterBuilder {
    enabled: bool,
    strategy: Strategy,
    default_limits: Option<Limit>,
    application_limits: Option<Limit>,
    routes: Vec<(String, Limit)>,
    blueprints: Vec<(String, Limit)>,
    exempt: HashSet<String>,
    exempt_blueprints: Vec<String>,
    key: KeyFunc,
    trusted_proxies: usize,
    headers_enabled: bool,
    retry_after: RetryAfter,
    key_prefix: String,
    fail_on_first_breach: bool,
    on_breach: Option<Arc<OnBreach>>,
    clock: SharedClock,
    bounds: MemoryBounds,
    #[cfg(feature = "redis")]
    redis: Option<crate::storage::RedisOptions>,
}

impl Default for LimiterBuilder {
    fn default() -> Self {
        Self {
            enabled: true,
            strategy: Strategy::FixedWindow,
            default_limits: None,
            application_limits: None,
            routes: Vec::new(),
            blueprints: Vec::new(),
            exempt: HashSet::new(),
            exempt_blueprints: Vec::new(),
            key: KeyFunc::peer_address(),
            trusted_proxies: 0,
            headers_enabled: false,
            retry_after: RetryAfter::DeltaSeconds,
            key_prefix: String::new(),
            fail_on_first_breach: true,
            on_breach: None,
            clock: Arc::new(SystemClock),
            bounds: MemoryBounds::default(),
            #[cfg(feature = "redis")]
            redis: None,
        }
    }
}

impl LimiterBuilder {
    /// Turns limiting on or off (`RATELIMIT_ENABLED`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The strategy (`RATELIMIT_STRATEGY`).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Limits for every route without limits of its own or of its blueprint, counted per
    /// route (`default_limits=`, `RATELIMIT_DEFAULT`). An empty string means none.
    pub fn default_limits(self, limits: &str) -> Self {
        self.default_limit(Limit::new(limits))
    }

    /// [`default_limits`](Self::default_limits) with options (per method, cost, ...).
    pub fn default_limit(mut self, limit: Limit) -> Self {
        self.default_limits = (!limit.source.trim().is_empty()).then_some(limit);
        self
    }

    /// Limits shared by every route of the app together, one bucket per key
    /// (`application_limits=`, `RATELIMIT_APPLICATION`).
    pub fn application_limits(mut self, limits: &str) -> Self {
        self.application_limits = (!limits.trim().is_empty()).then(|| Limit::new(limits).shared("global"));
        self
    }

    /// A limit of the route with pattern `route` (as written in the router: `/user/{id}`);
    /// call again to add more. The route's limits replace the defaults.
    pub fn route(mut self, route: &str, limit: Limit) -> Self {
        self.routes.push((route.to_owned(), limit));
        self
    }

    /// A limit for each route under `prefix` without limits of its own, counted per route.
    pub fn blueprint(mut self, prefix: &str, limit: Limit) -> Self {
        self.blueprints.push((prefix.trim_end_matches('/').to_owned(), limit));
        self
    }

    /// One limit, one bucket named `scope`, shared by all of `routes` (`shared_limit`).
    pub fn shared_limit<'a>(mut self, scope: &str, limit: Limit, routes: impl IntoIterator<Item = &'a str>) -> Self {
        let limit = limit.shared(scope);
        for route in routes {
            self.routes.push((route.to_owned(), limit.clone()));
        }
        self
    }

    /// No limit at all for route `route` (`@limiter.exempt`).
    pub fn exempt(mut self, route: &str) -> Self {
        self.exempt.insert(route.to_owned());
        self
    }

    /// No limit for any route under `prefix` (`limiter.exempt(blueprint)`).
    pub fn exempt_blueprint(mut self, prefix: &str) -> Self {
        self.exempt_blueprints.push(prefix.trim_end_matches('/').to_owned());
        self
    }

    /// The default key function (`key_func=`); by default the peer address.
    pub fn key(mut self, key: KeyFunc) -> Self {
        self.key = key;
        self
    }

    /// How many proxies in front of the app append to `X-Forwarded-For` (0: trust none).
    pub fn trusted_proxies(mut self, hops: usize) -> Self {
        self.trusted_proxies = hops;
        self
    }

    /// Rate limit headers on every response, not only on 429 (`RATELIMIT_HEADERS_ENABLED`).
    pub fn headers_enabled(mut self, enabled: bool) -> Self {
        self.headers_enabled = enabled;
        self
    }

    /// The form of `Retry-After` (`RATELIMIT_HEADER_RETRY_AFTER_VALUE`).
    pub fn retry_after(mut self, form: RetryAfter) -> Self {
        self.retry_after = form;
        self
    }

    /// Put in every storage key after `LIMITER/` (`RATELIMIT_KEY_PREFIX`).
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// Stop counting at the first breached limit (`RATELIMIT_FAIL_ON_FIRST_BREACH`, default
    /// true); when false, every limit counts the request even after one refused it.
    pub fn fail_on_first_breach(mut self, stop: bool) -> Self {
        self.fail_on_first_breach = stop;
        self
    }

    /// Called for each breach of any limit; a response it returns replaces the 429 page
    /// (`on_breach=` of `Limiter`). A limit's own callback ([`Limit::on_breach`]) runs after
    /// this one, and its response wins.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use phial_limiter::Limiter;
    ///
    /// let limiter = Limiter::builder()
    ///     .default_limits("1/second")
    ///     .on_breach(|breach| {
    ///         tracing::warn!(key = %breach.key, limit = %breach.limit, "slow down");
    ///         None // keep the standard 429
    ///     })
    ///     .build()?;
    /// # let _ = limiter;
    /// # Ok::<(), phial_limiter::LimiterError>(())
    /// ```
    pub fn on_breach(mut self, callback: impl Fn(&Breach) -> Option<Response> + Send + Sync + 'static) -> Self {
        self.on_breach = Some(Arc::new(callback));
        self
    }

    /// The clock (a [`TestClock`](crate::TestClock) in tests). Redis storage reads the
    /// server's time for windows, and this clock only for headers.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Bounds of memory storage (and of the Redis fallback).
    pub fn memory_bounds(mut self, bounds: MemoryBounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// Counts in Redis through phial-core's shared connection, with `options` for outages.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(mut self, options: crate::storage::RedisOptions) -> Self {
        self.redis = Some(options);
        self
    }

    /// Parses every limit and builds the limiter.
    ///
    /// # Errors
    ///
    /// [`LimiterError::Parse`] for a limit string `limits` would reject.
    pub fn build(self) -> Result<Limiter, LimiterError> {
        let parse_all = |list: Vec<(String, Limit)>| -> Result<Vec<(String, Arc<ParsedLimit>)>, LimiterError> {
            list.into_iter().map(|(at, limit)| Ok((at, Arc::new(ParsedLimit::new(limit)?)))).collect()
        };
        let parse_one = |limit: Option<Limit>| -> Result<Vec<Arc<ParsedLimit>>, LimiterError> {
            Ok(limit.map(ParsedLimit::new).transpose()?.map(Arc::new).into_iter().collect())
        };
        let mut routes: HashMap<String, Vec<Arc<ParsedLimit>>> = HashMap::new();
        for (route, limit) in parse_all(self.routes)? {
            routes.entry(route).or_default().push(limit);
        }
        let mut blueprints: Vec<(String, Vec<Arc<ParsedLimit>>)> = Vec::new();
        for (prefix, limit) in parse_all(self.blueprints)? {
            match blueprints.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, limits)) => limits.push(limit),
                None => blueprints.push((prefix, vec![limit])),
            }
        }
        // The most specific blueprint wins.
        blueprints.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let defaults = parse_one(self.default_limits)?;
        let application = parse_one(self.application_limits)?;
        let route_plans = routes.iter().map(|(route, limits)| (route.clone(), plan(&application, limits))).collect();
        let blueprint_plans = blueprints.iter().map(|(_, limits)| plan(&application, limits)).collect();
        let default_plan = plan(&application, &defaults);
        let backend = Backend::new(MemoryStorage::with_clock(Arc::clone(&self.clock), self.bounds));
        let limiter = Limiter(Arc::new(Inner {
            enabled: self.enabled,
            backend,
            strategy: self.strategy,
            routes,
            blueprints,
            defaults,
            application,
            route_plans,
            blueprint_plans,
            default_plan,
            exempt: self.exempt,
            exempt_blueprints: self.exempt_blueprints,
            key: self.key,
            trusted_proxies: self.trusted_proxies,
            headers_enabled: self.headers_enabled,
            retry_after: self.retry_after,
            key_prefix: self.key_prefix,
            fail_on_first_breach: self.fail_on_first_breach,
            on_breach: self.on_breach,
            clock: self.clock,
            bounds: self.bounds,
        }));
        #[cfg(feature = "redis")]
        if let Some(options) = self.redis {
            limiter.use_redis(options)?;
        }
        Ok(limiter)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_limit_strings_fail_the_build() {
        let err = Limiter::builder().route("/a", Limit::new("10 hour")).build().unwrap_err();
        assert_eq!(err.to_string(), "couldn't parse rate limit string '10 hour'");
        assert!(Limiter::builder().default_limits("10/hour;").build().is_err());
    }

    #[test]
    fn route_limits_replace_blueprint_limits_which_replace_defaults() {
        let limiter = Limiter::builder()
            .default_limits("1/day")
            .application_limits("100/second")
            .blueprint("/api", Limit::new("2/hour"))
            .route("/api/special", Limit::new("3/minute"))
            .exempt("/health")
            .exempt_blueprint("/static")
            .build()
            .unwrap();
        let shown =
            |route: &str| limiter.limits_for(route, &Method::GET).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown("/"), ["100 per 1 second", "1 per 1 day"]);
        assert_eq!(shown("/api/users"), ["100 per 1 second", "2 per 1 hour"]);
        assert_eq!(shown("/apiary"), ["100 per 1 second", "1 per 1 day"]);
        assert_eq!(shown("/api/special"), ["100 per 1 second", "3 per 1 minute"]);
        assert!(shown("/health").is_empty());
        assert!(shown("/static/app.css").is_empty());
    }
}
