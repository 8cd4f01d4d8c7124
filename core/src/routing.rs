//! Blueprints, named endpoints and `url_for`.
//!
//! Every route may carry an endpoint name; a blueprint prefixes its endpoints with its own name
//! (`auth.login`) and its paths with its URL prefix. [`UrlMap::url_for`] turns a name and
//! parameters back into a URL, as Flask's `url_for` does.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Display};

use axum::extract::{FromRef, FromRequestParts};
use axum::routing::MethodRouter;
use http::request::Parts;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::HttpError;
use crate::middleware::{LayerFn, Stage, StagedLayer};
use crate::state::AppState;

/// A route as declared: path, optional endpoint name, handlers.
pub(crate) struct RouteDef {
    pub(crate) path: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) router: MethodRouter<AppState>,
    pub(crate) origin: String,
}

/// A group of routes with a name and URL prefix: Flask's `Blueprint`.
///
/// Endpoint names inside a blueprint are prefixed with its name and a dot; paths with the URL
/// prefix given when it is mounted. Layers added to a blueprint wrap its routes only.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
///
/// # #[tokio::main] async fn main() -> Result<(), phial_core::Error> {
/// let auth = Blueprint::new("auth")
///     .endpoint("login", "/login", get(|| async { "log in" }))
///     .endpoint("logout", "/logout", get(|| async { "bye" }));
///
/// let app = App::builder().profile(Profile::Testing).blueprint("/auth", auth).build()?;
/// let running = app.start().await?;
/// assert_eq!(running.state().url_for("auth.login", ())?, "/auth/login");
/// # Ok(()) }
/// ```
#[must_use]
pub struct Blueprint {
    pub(crate) name: String,
    pub(crate) routes: Vec<RouteDef>,
    pub(crate) layers: Vec<StagedLayer>,
}

impl Blueprint {
    /// An empty blueprint named `name` (the endpoint prefix).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), routes: Vec::new(), layers: Vec::new() }
    }

    /// Adds a route named `endpoint` (within this blueprint) at `path`.
    ///
    /// Paths use axum's syntax: `/user/{username}`, `/files/{*path}`.
    #[track_caller]
    pub fn endpoint(mut self, endpoint: &str, path: &str, router: MethodRouter<AppState>) -> Self {
        self.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            router,
            origin: std::panic::Location::caller().to_string(),
        });
        self
    }

    /// Adds an unnamed route at `path` (it cannot be targeted by `url_for`).
    #[track_caller]
    pub fn route(mut self, path: &str, router: MethodRouter<AppState>) -> Self {
        self.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: None,
            router,
            origin: std::panic::Location::caller().to_string(),
        });
        self
    }

    /// Wraps this blueprint's routes in `layer` at `stage` (see [`Stage`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::routing::get;
    /// use phial_core::prelude::*;
    /// use tower_http::set_header::SetResponseHeaderLayer;
    ///
    /// let api = Blueprint::new("api")
    ///     .endpoint("ping", "/ping", get(|| async { "pong" }))
    ///     .layer(Stage::Inner, "no-store", SetResponseHeaderLayer::overriding(
    ///         http::header::CACHE_CONTROL,
    ///         http::HeaderValue::from_static("no-store"),
    ///     ));
    /// # let _ = api;
    /// ```
    pub fn layer<L>(mut self, stage: Stage, name: &str, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service:
            tower::Service<axum::extract::Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        let apply: LayerFn = Box::new(move |router| router.layer(layer));
        self.layers.push(StagedLayer { stage, name: name.to_owned(), owner: self.name.clone(), apply });
        self
    }
}

/// One line of the route listing: what `<app> routes` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// Methods answered, e.g. `GET,HEAD,POST`; `*` for any method.
    pub methods: String,
    /// The full path pattern.
    pub path: String,
    /// The endpoint name, if the route has one.
    pub endpoint: Option<String>,
    /// Where the route was declared (`file:line`), or the extension that added it.
    pub origin: String,
}

/// Every route of the app, sorted by path: the listing `<app> routes` prints, as a value in
/// the state registry.
///
/// The core stores it when the app is built, so extensions read it in `start` hooks
/// (`ctx.get::<Routes>()`) and their CLI commands from `args.state` — e.g. to list a setting
/// of every route, not only of the routes the extension was told about.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
/// use phial_core::routing::Routes;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_core::Error> {
/// let app = App::builder().profile(Profile::Testing).route("/", get(|| async { "home" })).build()?;
/// let running = app.start().await?;
/// let routes = running.state().get::<Routes>().expect("stored at build");
/// assert!(routes.iter().any(|route| route.path == "/" && route.methods == "GET,HEAD"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Routes(std::sync::Arc<[RouteInfo]>);

impl Routes {
    pub(crate) fn new(infos: &[RouteInfo]) -> Self {
        Self(infos.into())
    }

    /// The routes, sorted by path.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::routing::{get, post};
    /// use phial_core::prelude::*;
    /// use phial_core::routing::Routes;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_core::Error> {
    /// let app = App::builder()
    ///     .profile(Profile::Testing)
    ///     .route("/b", post(|| async { "b" }))
    ///     .route("/a", get(|| async { "a" }))
    ///     .build()?
    ///     .start()
    ///     .await?;
    /// let routes = app.state().get::<Routes>().expect("stored at build");
    /// let paths: Vec<&str> = routes.iter().map(|route| route.path.as_str()).filter(|p| p.len() == 2).collect();
    /// assert_eq!(paths, ["/a", "/b"]);
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, RouteInfo> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Routes {
    type Item = &'a RouteInfo;
    type IntoIter = std::slice::Iter<'a, RouteInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::ops::Deref for Routes {
    type Target = [RouteInfo];

    fn deref(&self) -> &[RouteInfo] {
        &self.0
    }
}

/// Reads the methods a `MethodRouter` answers from its `Debug` form (axum offers no accessor).
///
/// The `Allow` header axum builds is exactly the listing wanted; if axum's `Debug` output ever
/// changes shape, the listing shows `?` instead of failing.
pub(crate) fn methods_of<S>(router: &MethodRouter<S>) -> String {
    let debug = format!("{router:?}");
    if debug.contains("allow_header: Skip") {
        return "*".to_owned();
    }
    debug
        .split("allow_header: Bytes(b\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map_or_else(|| "?".to_owned(), str::to_owned)
}

/// Why `url_for` could not build a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No route has this endpoint name.
    #[error("could not build url for endpoint `{0}`: no such endpoint")]
    UnknownEndpoint(String),
    /// The route needs a parameter that was not given.
    #[error("could not build url for endpoint `{endpoint}`: missing parameter `{param}`")]
    MissingParam {
        /// The endpoint asked for.
        endpoint: String,
        /// The parameter missing.
        param: String,
    },
    /// An external URL was asked for without a request or `app.server_name`.
    #[error("could not build an external url: no request host and no `app.server_name` configured")]
    NoHost,
}

impl From<UrlError> for HttpError {
    fn from(err: UrlError) -> Self {
        HttpError::internal(err)
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
    CatchAll(String),
}

/// The endpoint → path pattern table behind `url_for`.
#[derive(Debug, Clone, Default)]
pub struct UrlMap {
    endpoints: HashMap<String, Vec<Segment>>,
    server_name: Option<String>,
    scheme: String,
}

/// Parameters for `url_for`: `()`, arrays or slices of pairs, `Vec`s and maps.
///
/// Values are anything that displays, so numbers need no conversion.
///
/// # Examples
///
/// ```
/// use phial_core::routing::UrlParams;
///
/// fn takes(_: impl UrlParams) {}
/// takes(());
/// takes([("username", "susan")]);
/// takes([("page", 2)]);
/// takes(vec![("q".to_owned(), "rust web".to_owned())]);
/// ```
pub trait UrlParams {
    /// The pairs as strings, in order.
    fn into_pairs(self) -> Vec<(String, String)>;
}

impl UrlParams for () {
    fn into_pairs(self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl<K: AsRef<str>, V: Display, const N: usize> UrlParams for [(K, V); N] {
    fn into_pairs(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

impl<K: AsRef<str>, V: Display> UrlParams for &[(K, V)] {
    fn into_pairs(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

impl<K: AsRef<str>, V: Display> UrlParams for Vec<(K, V)> {
    fn into_pairs(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

impl<K: AsRef<str>, V: Display> UrlParams for BTreeMap<K, V> {
    fn into_pairs(self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect()
    }
}

impl<K: AsRef<str>, V: Display, H> UrlParams for HashMap<K, V, H> {
    fn into_pairs(self) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = self.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_string())).collect();
        pairs.sort(); // a HashMap has no order; sorted keeps query strings stable
        pairs
    }
}

/// A catch-all parameter may contain `/`.
const CATCH_ALL: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');
/// Characters escaped in a path segment: controls, space, the URL delimiters, and `/`.
const SEGMENT: &AsciiSet = &CATCH_ALL.add(b'/');
/// Query keys and values (form-urlencoding style, spaces as `%20`).
const QUERY: &AsciiSet = &SEGMENT.add(b'&').add(b'=').add(b'+').add(b';').add(b'\'');

impl UrlMap {
    pub(crate) fn new(server_name: Option<String>, scheme: String) -> Self {
        Self { endpoints: HashMap::new(), server_name, scheme }
    }

    pub(crate) fn insert(&mut self, endpoint: &str, path: &str) -> bool {
        let segments = parse_pattern(path);
        self.endpoints.insert(endpoint.to_owned(), segments).is_none()
    }

    /// Whether an endpoint of this name exists.
    pub fn contains(&self, endpoint: &str) -> bool {
        self.endpoints.contains_key(endpoint)
    }

    /// Builds the path (with query string) of `endpoint`.
    ///
    /// # Errors
    ///
    /// [`UrlError::UnknownEndpoint`] or [`UrlError::MissingParam`].
    pub fn url_for(&self, endpoint: &str, params: impl UrlParams) -> Result<String, UrlError> {
        let segments = self.endpoints.get(endpoint).ok_or_else(|| UrlError::UnknownEndpoint(endpoint.to_owned()))?;
        let mut params = params.into_pairs();
        let mut url = String::new();
        for segment in segments {
            match segment {
                Segment::Literal(text) => url.push_str(text),
                Segment::Param(name) | Segment::CatchAll(name) => {
                    let pos = params
                        .iter()
                        .position(|(k, _)| k == name)
                        .ok_or_else(|| UrlError::MissingParam { endpoint: endpoint.to_owned(), param: name.clone() })?;
                    let (_, value) = params.remove(pos);
                    let set = if matches!(segment, Segment::CatchAll(_)) { CATCH_ALL } else { SEGMENT };
                    url.extend(utf8_percent_encode(&value, set));
                }
            }
        }
        let mut anchor = None;
        for (i, (key, value)) in params.into_iter().enumerate() {
            if key == "_anchor" {
                anchor = Some(value);
                continue;
            }
            url.push(if i == 0 || !url.contains('?') { '?' } else { '&' });
            url.extend(utf8_percent_encode(&key, QUERY));
            url.push('=');
            url.extend(utf8_percent_encode(&value, QUERY));
        }
        if let Some(anchor) = anchor {
            url.push('#');
            url.extend(utf8_percent_encode(&anchor, QUERY));
        }
        Ok(url)
    }

    /// Builds an absolute URL using `app.server_name` and `app.preferred_url_scheme`.
    ///
    /// Within a request, prefer [`Urls::external`], which uses the request's host.
    ///
    /// # Errors
    ///
    /// As [`url_for`](Self::url_for), and [`UrlError::NoHost`] without `server_name`.
    pub fn external(&self, endpoint: &str, params: impl UrlParams) -> Result<String, UrlError> {
        let host = self.server_name.as_deref().ok_or(UrlError::NoHost)?;
        Ok(format!("{}://{host}{}", self.scheme, self.url_for(endpoint, params)?))
    }
}

fn parse_pattern(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        if start > 0 {
            segments.push(Segment::Literal(rest[..start].to_owned()));
        }
        let name = &rest[start + 1..start + len];
        segments.push(match name.strip_prefix('*') {
            Some(name) => Segment::CatchAll(name.to_owned()),
            None => Segment::Param(name.to_owned()),
        });
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest.to_owned()));
    }
    segments
}

/// `url_for` bound to the current request, so external URLs use the request's host.
///
/// # Examples
///
/// ```
/// use phial_core::prelude::*;
///
/// async fn share(urls: Urls) -> Result<String, HttpError> {
///     Ok(urls.external("post", [("id", 7)])?)
/// }
/// ```
#[derive(Clone)]
pub struct Urls {
    state: AppState,
    host: Option<String>,
    scheme: String,
}

impl Urls {
    /// Flask's `url_for(endpoint, **params)`: a path with query string.
    ///
    /// # Errors
    ///
    /// [`UrlError`] for an unknown endpoint or a missing parameter.
    pub fn url_for(&self, endpoint: &str, params: impl UrlParams) -> Result<String, UrlError> {
        self.state.url_for(endpoint, params)
    }

    /// Flask's `url_for(..., _external=True)`: scheme and host of the current request.
    ///
    /// # Errors
    ///
    /// As [`url_for`](Self::url_for), and [`UrlError::NoHost`] when neither the request nor
    /// `app.server_name` gives a host.
    pub fn external(&self, endpoint: &str, params: impl UrlParams) -> Result<String, UrlError> {
        let path = self.url_for(endpoint, params)?;
        let host = self.host.as_deref().or(self.state.app_config().server_name.as_deref()).ok_or(UrlError::NoHost)?;
        Ok(format!("{}://{host}{path}", self.scheme))
    }
}

impl fmt::Debug for Urls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Urls").field("host", &self.host).field("scheme", &self.scheme).finish_non_exhaustive()
    }
}

impl<S> FromRequestParts<S> for Urls
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()));
        let scheme =
            parts.uri.scheme_str().map_or_else(|| state.app_config().preferred_url_scheme.clone(), str::to_owned);
        Ok(Self { state, host, scheme })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> UrlMap {
        let mut map = UrlMap::new(Some("example.com".into()), "https".into());
        map.insert("index", "/");
        map.insert("user", "/user/{username}");
        map.insert("static", "/static/{*filename}");
        map
    }

    #[test]
    fn builds_paths_with_params_and_query() {
        let map = map();
        assert_eq!(map.url_for("index", ()).unwrap(), "/");
        assert_eq!(map.url_for("user", [("username", "susan")]).unwrap(), "/user/susan");
        assert_eq!(
            map.url_for("user", [("username", "a b/c"), ("page", "2"), ("q", "x&y")]).unwrap(),
            "/user/a%20b%2Fc?page=2&q=x%26y"
        );
        assert_eq!(map.url_for("static", [("filename", "css/app.css")]).unwrap(), "/static/css/app.css");
        assert_eq!(map.url_for("index", [("_anchor", "top")]).unwrap(), "/#top");
    }

    #[test]
    fn unknown_endpoint_is_an_error() {
        assert_eq!(map().url_for("nope", ()).unwrap_err(), UrlError::UnknownEndpoint("nope".into()));
    }

    #[test]
    fn missing_parameter_is_an_error() {
        let err = map().url_for("user", [("page", 1)]).unwrap_err();
        assert_eq!(err, UrlError::MissingParam { endpoint: "user".into(), param: "username".into() });
        assert!(err.to_string().contains("username"));
    }

    #[test]
    fn external_uses_server_name() {
        assert_eq!(map().external("index", ()).unwrap(), "https://example.com/");
    }

    #[test]
    fn methods_are_read_from_the_router() {
        let router: MethodRouter<()> = axum::routing::get(|| async {}).post(|| async {});
        assert_eq!(methods_of(&router), "GET,HEAD,POST");
        let any: MethodRouter<()> = axum::routing::any(|| async {});
        assert_eq!(methods_of(&any), "*");
    }
}
