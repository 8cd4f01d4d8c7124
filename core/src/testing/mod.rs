//! In-process HTTP testing: [`TestClient`] sends requests straight into an axum app.
//!
//! No socket is bound and no port is needed: each request is handed to a clone of the app
//! through [`tower::ServiceExt::oneshot`], and the whole response body is read before the
//! [`TestResponse`] comes back. This is the phial counterpart of Flask's `app.test_client()`.
//!
//! The client behaves like a small browser for one host:
//!
//! - a **cookie jar** stores `Set-Cookie` from every response (honouring `Path`, `Max-Age` and
//!   `Expires`) and sends the matching cookies back on later requests;
//! - requests carry `Host: localhost` (see [`TestClient::with_host`]) and an origin-form URI
//!   such as `/search?q=rust`, as hyper would give them to the app;
//! - **redirects** can be followed ([`TestClient::follow_redirects`]), updating the jar on every
//!   hop.
//!
//! Bodies are built with [`TestRequest::json`], [`TestRequest::form`],
//! [`TestRequest::multipart`] or [`TestRequest::body`]. Response helpers such as
//! [`TestResponse::json`] and [`TestResponse::assert_status`] panic with the response body in
//! the message, because a failing test should say what the app actually answered.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, http::StatusCode, routing::get};
//! use phial_core::testing::TestClient;
//!
//! # #[tokio::main]
//! # async fn main() {
//! let app = Router::new().route("/", get(|| async { "Hello, phial!" }));
//! let client = TestClient::new(app);
//!
//! let res = client.get("/").await;
//! res.assert_status(StatusCode::OK);
//! assert_eq!(res.text(), "Hello, phial!");
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, AsHeaderName, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use cookie_jar::{CookieJar, StoredCookie, parse_set_cookie};
pub use multipart::Multipart;

mod cookie_jar;
mod fault;
mod multipart;
mod services;

pub use fault::FaultProxy;
pub use services::{Service, service_url};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// The `Host` header sent when neither the client nor the request names another.
const DEFAULT_HOST: &str = "localhost";

/// How many redirects one request may follow before the client gives up.
const MAX_REDIRECTS: usize = 10;

/// How much of a body goes into a panic message.
const BODY_PREVIEW_CHARS: usize = 2_000;

type BoxedApp = BoxCloneSyncService<Request<Body>, Response, Infallible>;

/// Sends requests to an axum app in process and keeps a cookie jar between them.
///
/// Cloning the client is cheap, and clones **share** one cookie jar, so a clone handed to a
/// spawned task sees the same login. For a second, independent user call
/// [`new_session`](Self::new_session) (empty jar) or [`fork`](Self::fork) (a copy of the jar).
///
/// # Examples
///
/// ```
/// use axum::{Router, http::header::SET_COOKIE, routing::{get, post}};
/// use phial_core::testing::TestClient;
///
/// # #[tokio::main]
/// # async fn main() {
/// let app = Router::new()
///     .route("/login", post(|| async { ([(SET_COOKIE, "user=ada; Path=/")], "welcome") }))
///     .route("/me", get(|headers: axum::http::HeaderMap| async move {
///         format!("{:?}", headers.get("cookie"))
///     }));
/// let client = TestClient::new(app);
///
/// client.post("/login").await;
/// assert_eq!(client.cookie("user").as_deref(), Some("ada"));
/// assert_eq!(client.get("/me").await.text(), r#"Some("user=ada")"#);
///
/// // Another visitor starts with an empty jar.
/// assert_eq!(client.new_session().cookie("user"), None);
/// # }
/// ```
#[derive(Clone)]
pub struct TestClient {
    app: BoxedApp,
    jar: Arc<Mutex<CookieJar>>,
    host: HeaderValue,
    follow_redirects: bool,
    peer: std::net::SocketAddr,
    default_headers: HeaderMap,
}

impl TestClient {
    /// Creates a client for a router whose state is already applied (a `Router<()>`).
    ///
    /// Call `.with_state(state)` on a `Router<S>` first.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new().route("/", get(|| async { "hi" })));
    /// # let _ = client;
    /// ```
    #[must_use]
    pub fn new(router: Router) -> Self {
        Self::from_service(router)
    }

    /// Creates a client for any tower service that answers axum requests, such as a router
    /// wrapped in layers.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    /// use tower::ServiceBuilder;
    /// use tower::util::MapResponseLayer;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let router = Router::new().route("/", get(|| async { "hi" }));
    /// let service = ServiceBuilder::new()
    ///     .layer(MapResponseLayer::new(|mut res: axum::response::Response| {
    ///         res.headers_mut().insert("x-layered", "yes".parse().expect("valid header"));
    ///         res
    ///     }))
    ///     .service(router);
    ///
    /// let res = TestClient::from_service(service).get("/").await;
    /// assert_eq!(res.header("x-layered"), Some("yes"));
    /// # }
    /// ```
    pub fn from_service<S>(service: S) -> Self
    where
        S: tower::Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
    {
        Self {
            app: BoxCloneSyncService::new(service),
            jar: Arc::default(),
            host: HeaderValue::from_static(DEFAULT_HOST),
            follow_redirects: false,
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
            default_headers: HeaderMap::new(),
        }
    }

    /// Sets the `Host` header sent with every request (default `localhost`).
    ///
    /// A request that sets `Host` itself, or is made with an absolute URL such as
    /// `http://example.com/path`, keeps its own host.
    ///
    /// # Panics
    ///
    /// Panics if `host` is not a valid header value.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|h: HeaderMap| async move {
    ///     h["host"].to_str().unwrap_or_default().to_owned()
    /// }));
    /// let client = TestClient::new(app).with_host("example.test");
    /// assert_eq!(client.get("/").await.text(), "example.test");
    /// # }
    /// ```
    #[must_use]
    #[track_caller]
    pub fn with_host(mut self, host: &str) -> Self {
        self.host = HeaderValue::from_str(host)
            .unwrap_or_else(|err| panic!("TestClient::with_host: `{host}` is not a valid Host header: {err}"));
        self
    }

    /// Sets the client's address as handlers see it through
    /// `ConnectInfo<SocketAddr>` (default `127.0.0.1:40000`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use axum::{Router, extract::ConnectInfo, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/ip", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
    ///     peer.ip().to_string()
    /// }));
    /// let client = TestClient::new(app).with_peer("203.0.113.9:5000".parse().unwrap());
    /// assert_eq!(client.get("/ip").await.text(), "203.0.113.9");
    /// # }
    /// ```
    #[must_use]
    pub fn with_peer(mut self, peer: std::net::SocketAddr) -> Self {
        self.peer = peer;
        self
    }

    /// Sends header `name: value` with every request that does not set `name` itself, e.g. a
    /// browser's `Accept` for a whole test suite.
    ///
    /// # Panics
    ///
    /// When `name` or `value` is not a valid header.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|h: HeaderMap| async move {
    ///     h["accept"].to_str().unwrap_or_default().to_owned()
    /// }));
    /// let browser = TestClient::new(app).with_header("accept", "text/html");
    /// assert_eq!(browser.get("/").await.text(), "text/html");
    /// assert_eq!(browser.get("/").accept_json().await.text(), "application/json");
    /// # }
    /// ```
    #[must_use]
    #[track_caller]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let name = header::HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|err| panic!("TestClient::with_header: `{name}` is not a valid header name: {err}"));
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|err| panic!("TestClient::with_header: `{value}` is not a valid header value: {err}"));
        self.default_headers.insert(name, value);
        self
    }

    /// Sets whether requests follow redirects by default (off unless set).
    ///
    /// Each request can override this with [`TestRequest::follow_redirects`]. See
    /// [`TestRequest::send`] for how each status is followed.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, response::Redirect, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/old", get(|| async { Redirect::permanent("/new") }))
    ///     .route("/new", get(|| async { "new place" }));
    /// let client = TestClient::new(app).follow_redirects(true);
    ///
    /// let res = client.get("/old").await;
    /// assert_eq!(res.text(), "new place");
    /// assert_eq!(res.redirects(), ["/new"]);
    /// # }
    /// ```
    #[must_use]
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Returns a client for the same app and settings with a new, empty cookie jar.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let alice = TestClient::new(Router::new());
    /// alice.set_cookie("session", "alice");
    /// let bob = alice.new_session();
    /// assert_eq!(bob.cookie("session"), None);
    /// ```
    #[must_use]
    pub fn new_session(&self) -> Self {
        Self { jar: Arc::default(), ..self.clone() }
    }

    /// Returns a client whose jar starts as a copy of this one's and then lives on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new());
    /// client.set_cookie("session", "one");
    /// let fork = client.fork();
    /// fork.set_cookie("session", "two");
    /// assert_eq!(client.cookie("session").as_deref(), Some("one"));
    /// assert_eq!(fork.cookie("session").as_deref(), Some("two"));
    /// ```
    #[must_use]
    pub fn fork(&self) -> Self {
        let jar = self.jar().clone();
        Self { jar: Arc::new(Mutex::new(jar)), ..self.clone() }
    }

    /// Returns the value of the cookie `name` in the jar, if it is there and not expired.
    ///
    /// When cookies of that name are stored under several paths, the one with the longest
    /// path wins.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new());
    /// assert_eq!(client.cookie("theme"), None);
    /// client.set_cookie("theme", "dark");
    /// assert_eq!(client.cookie("theme").as_deref(), Some("dark"));
    /// ```
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar().value(name, OffsetDateTime::now_utc())
    }

    /// Puts a cookie with path `/` in the jar, as if the app had set it.
    ///
    /// # Panics
    ///
    /// Panics if `name` is empty or contains `=`, `;`, whitespace or non-ASCII, or if `value`
    /// contains `;` or anything but visible ASCII and spaces.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new());
    /// client.set_cookie("lang", "en");
    /// assert_eq!(client.cookie("lang").as_deref(), Some("en"));
    /// ```
    #[track_caller]
    pub fn set_cookie(&self, name: &str, value: &str) {
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b'=' && b != b';');
        let value_ok = value.bytes().all(|b| (b.is_ascii_graphic() || b == b' ') && b != b';');
        assert!(name_ok, "TestClient::set_cookie: `{name}` is not a valid cookie name");
        assert!(value_ok, "TestClient::set_cookie: `{value}` is not a valid cookie value");
        let cookie =
            StoredCookie { name: name.to_owned(), value: value.to_owned(), path: "/".to_owned(), expires: None };
        self.jar().store(cookie, OffsetDateTime::now_utc());
    }

    /// Removes every cookie named `name` from the jar, whatever its path.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new());
    /// client.set_cookie("session", "abc");
    /// client.remove_cookie("session");
    /// assert_eq!(client.cookie("session"), None);
    /// ```
    pub fn remove_cookie(&self, name: &str) {
        self.jar().cookies.retain(|cookie| cookie.name != name);
    }

    /// Empties the cookie jar (shared with this client's clones).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// let client = TestClient::new(Router::new());
    /// client.set_cookie("a", "1");
    /// client.set_cookie("b", "2");
    /// client.clear_cookies();
    /// assert_eq!(client.cookie("a"), None);
    /// assert_eq!(client.cookie("b"), None);
    /// ```
    pub fn clear_cookies(&self) {
        self.jar().cookies.clear();
    }

    /// Starts a `GET` request to `path` (which may carry a query string).
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, extract::Query, routing::get};
    /// use phial_core::testing::TestClient;
    /// use std::collections::HashMap;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/search", get(|Query(q): Query<HashMap<String, String>>| async move {
    ///     q.get("q").cloned().unwrap_or_default()
    /// }));
    /// let res = TestClient::new(app).get("/search?q=rust").await;
    /// assert_eq!(res.text(), "rust");
    /// # }
    /// ```
    #[track_caller]
    pub fn get(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// Starts a `POST` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/echo", post(|body: String| async move { body }));
    /// let res = TestClient::new(app).post("/echo").body("ping").await;
    /// assert_eq!(res.text(), "ping");
    /// # }
    /// ```
    #[track_caller]
    pub fn post(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// Starts a `PUT` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    #[track_caller]
    pub fn put(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// Starts a `PATCH` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    #[track_caller]
    pub fn patch(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// Starts a `DELETE` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    #[track_caller]
    pub fn delete(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::DELETE, path)
    }

    /// Starts a `HEAD` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    #[track_caller]
    pub fn head(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::HEAD, path)
    }

    /// Starts an `OPTIONS` request to `path`.
    ///
    /// # Panics
    ///
    /// Panics if `path` is not a valid request target; see [`request`](Self::request).
    #[track_caller]
    pub fn options(&self, path: impl AsRef<str>) -> TestRequest {
        self.request(Method::OPTIONS, path)
    }

    /// Starts a request with any method.
    ///
    /// `target` is a path with an optional query string (`/items?page=2`), or an absolute
    /// URL (`http://example.test/items`), whose authority then becomes the `Host` header.
    ///
    /// # Panics
    ///
    /// Panics if `target` does not parse as a URI, or is neither an absolute URL nor a path
    /// starting with `/`. Percent-encode spaces and other reserved characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::Method, routing::any};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", any(|method: Method| async move { method.to_string() }));
    /// let client = TestClient::new(app);
    /// let res = client.request(Method::from_bytes(b"PURGE").expect("valid method"), "/").await;
    /// assert_eq!(res.text(), "PURGE");
    /// # }
    /// ```
    #[track_caller]
    pub fn request(&self, method: Method, target: impl AsRef<str>) -> TestRequest {
        let target = target.as_ref();
        let uri: Uri =
            target.parse().unwrap_or_else(|err| panic!("TestClient: `{target}` is not a valid request target: {err}"));
        let mut headers = HeaderMap::new();
        if let Some(authority) = uri.authority().filter(|_| uri.scheme().is_some()) {
            if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
                headers.insert(header::HOST, host);
            }
        } else {
            assert!(
                target.starts_with('/'),
                "TestClient: request target `{target}` must start with `/` or be an absolute URL"
            );
        }
        TestRequest {
            client: self.clone(),
            method,
            uri: origin_form(&uri),
            headers,
            body: Bytes::new(),
            follow_redirects: None,
        }
    }

    /// Sends one request (no redirects), updating the jar from its `Set-Cookie` headers.
    async fn dispatch(&self, method: Method, uri: Uri, mut headers: HeaderMap, body: Bytes) -> Response {
        headers.entry(header::HOST).or_insert_with(|| self.host.clone());
        for (name, value) in &self.default_headers {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        let path = uri.path().to_owned();
        let cookies = self.jar().header_for(&path, OffsetDateTime::now_utc());
        if let Some(cookies) = cookies {
            // A `Cookie` header set by the test comes first; the jar's cookies follow it.
            let merged = match headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
                Some(own) => format!("{own}; {cookies}"),
                None => cookies,
            };
            if let Ok(value) = HeaderValue::from_str(&merged) {
                headers.insert(header::COOKIE, value);
            }
        }
        if !body.is_empty() || matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }

        let mut request = Request::new(Body::from(body));
        // What `serve` provides for real connections, so peer-address extractors work in tests.
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let Ok(response) = self.app.clone().oneshot(request).await;

        let now = OffsetDateTime::now_utc();
        let mut jar = self.jar();
        for line in response.headers().get_all(header::SET_COOKIE) {
            if let Some(cookie) = line.to_str().ok().and_then(|l| parse_set_cookie(l, &path, now)) {
                jar.store(cookie, now);
            }
        }
        response
    }

    fn jar(&self) -> MutexGuard<'_, CookieJar> {
        // The jar is never left half-updated, so a panic elsewhere does not spoil it.
        self.jar.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("host", &self.host)
            .field("follow_redirects", &self.follow_redirects)
            .field("cookies", &self.jar().cookies.len())
            .finish_non_exhaustive()
    }
}

/// A request being built by a [`TestClient`]; send it with [`send`](Self::send) or `.await`.
///
/// Header-setting methods replace any earlier value of the same header.
///
/// # Examples
///
/// ```
/// use axum::{Json, Router, routing::post};
/// use phial_core::testing::TestClient;
/// use serde_json::{Value, json};
///
/// # #[tokio::main]
/// # async fn main() {
/// let app = Router::new().route("/items", post(|Json(item): Json<Value>| async move { Json(item) }));
/// let res = TestClient::new(app)
///     .post("/items")
///     .bearer("secret-token")
///     .json(&json!({ "name": "lamp" }))
///     .send()
///     .await;
/// assert_eq!(res.json_value()["name"], "lamp");
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a TestRequest does nothing until it is sent or awaited"]
pub struct TestRequest {
    client: TestClient,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    follow_redirects: Option<bool>,
}

impl TestRequest {
    /// Sets a header, replacing any value set before.
    ///
    /// # Panics
    ///
    /// Panics if the name or value is not a valid header name or value.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|h: HeaderMap| async move {
    ///     h["x-trace"].to_str().unwrap_or_default().to_owned()
    /// }));
    /// let res = TestClient::new(app).get("/").header("x-trace", "abc").await;
    /// assert_eq!(res.text(), "abc");
    /// # }
    /// ```
    #[track_caller]
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let name = name.try_into().unwrap_or_else(|err| panic!("TestRequest::header: invalid header name: {err}"));
        let value =
            value.try_into().unwrap_or_else(|err| panic!("TestRequest::header: invalid value for `{name}`: {err}"));
        self.headers.insert(name, value);
        self
    }

    /// Sets `Authorization: Bearer <token>`.
    ///
    /// # Panics
    ///
    /// Panics if `token` contains characters not allowed in a header.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|h: HeaderMap| async move {
    ///     h["authorization"].to_str().unwrap_or_default().to_owned()
    /// }));
    /// let res = TestClient::new(app).get("/").bearer("t0k3n").await;
    /// assert_eq!(res.text(), "Bearer t0k3n");
    /// # }
    /// ```
    #[track_caller]
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    /// Sets `Accept: application/json`.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|h: HeaderMap| async move {
    ///     h["accept"].to_str().unwrap_or_default().to_owned()
    /// }));
    /// assert_eq!(TestClient::new(app).get("/").accept_json().await.text(), "application/json");
    /// # }
    /// ```
    pub fn accept_json(mut self) -> Self {
        let json = HeaderValue::from_static("application/json");
        self.headers.insert(header::ACCEPT, json);
        self
    }

    /// Appends `params`, serialised as `application/x-www-form-urlencoded`, to the query
    /// string.
    ///
    /// # Panics
    ///
    /// Panics if `params` cannot be serialised as a flat list of key-value pairs.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, extract::RawQuery, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|RawQuery(q): RawQuery| async move { q.unwrap_or_default() }));
    /// let res = TestClient::new(app).get("/?page=2").query(&[("q", "a b")]).await;
    /// assert_eq!(res.text(), "page=2&q=a+b");
    /// # }
    /// ```
    #[track_caller]
    pub fn query<T: Serialize + ?Sized>(mut self, params: &T) -> Self {
        let encoded = serde_urlencoded::to_string(params)
            .unwrap_or_else(|err| panic!("TestRequest::query: cannot encode query parameters: {err}"));
        if encoded.is_empty() {
            return self;
        }
        let separator = if self.uri.query().is_some() { '&' } else { '?' };
        let target = format!("{}{separator}{encoded}", self.uri);
        self.uri =
            target.parse().unwrap_or_else(|err| panic!("TestRequest::query: `{target}` is not a valid URI: {err}"));
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    ///
    /// # Panics
    ///
    /// Panics if `value` cannot be serialised to JSON (for example a map with non-string keys).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Json, Router, routing::post};
    /// use phial_core::testing::TestClient;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Todo { title: String }
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/todos", post(|Json(todo): Json<Todo>| async move { todo.title }));
    /// let res = TestClient::new(app).post("/todos").json(&Todo { title: "write tests".into() }).await;
    /// assert_eq!(res.text(), "write tests");
    /// # }
    /// ```
    #[track_caller]
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|err| panic!("TestRequest::json: cannot serialise the body: {err}"));
        self.body = Bytes::from(body);
        self.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// Sets a URL-encoded form body and `Content-Type: application/x-www-form-urlencoded`.
    ///
    /// # Panics
    ///
    /// Panics if `form` cannot be serialised as a flat list of key-value pairs.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Form, Router, routing::post};
    /// use phial_core::testing::TestClient;
    /// use std::collections::HashMap;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/login", post(|Form(f): Form<HashMap<String, String>>| async move {
    ///     f["user"].clone()
    /// }));
    /// let res = TestClient::new(app).post("/login").form(&[("user", "ada"), ("password", "x")]).await;
    /// assert_eq!(res.text(), "ada");
    /// # }
    /// ```
    #[track_caller]
    pub fn form<T: Serialize + ?Sized>(mut self, form: &T) -> Self {
        let body = serde_urlencoded::to_string(form)
            .unwrap_or_else(|err| panic!("TestRequest::form: cannot encode the form: {err}"));
        self.body = Bytes::from(body);
        let form_type = HeaderValue::from_static("application/x-www-form-urlencoded");
        self.headers.insert(header::CONTENT_TYPE, form_type);
        self
    }

    /// Sets a `multipart/form-data` body and its `Content-Type` with the boundary.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, extract::Multipart as Upload, routing::post};
    /// use phial_core::testing::{Multipart, TestClient};
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/upload", post(|mut upload: Upload| async move {
    ///     let mut names = Vec::new();
    ///     while let Ok(Some(field)) = upload.next_field().await {
    ///         names.push(field.file_name().unwrap_or("-").to_owned());
    ///     }
    ///     names.join(",")
    /// }));
    /// let form = Multipart::new()
    ///     .text("title", "holiday")
    ///     .file("photo", "beach.png", "image/png", vec![0x89, b'P', b'N', b'G']);
    /// let res = TestClient::new(app).post("/upload").multipart(form).await;
    /// assert_eq!(res.text(), "-,beach.png");
    /// # }
    /// ```
    pub fn multipart(mut self, form: Multipart) -> Self {
        let (boundary, body) = form.encode();
        self.body = Bytes::from(body);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        // The boundary is built from ASCII letters, digits and dashes only.
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            self.headers.insert(header::CONTENT_TYPE, value);
        }
        self
    }

    /// Sets a raw body. No `Content-Type` is added; set one with [`header`](Self::header).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, body::Bytes, routing::put};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/blob", put(|b: Bytes| async move { b.len().to_string() }));
    /// let res = TestClient::new(app).put("/blob").body(vec![0_u8; 16]).await;
    /// assert_eq!(res.text(), "16");
    /// # }
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Overrides the client's [`follow_redirects`](TestClient::follow_redirects) setting for
    /// this request.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, response::Redirect, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/", get(|| async { Redirect::to("/home") }))
    ///     .route("/home", get(|| async { "home" }));
    /// let client = TestClient::new(app);
    /// assert_eq!(client.get("/").await.location(), Some("/home"));
    /// assert_eq!(client.get("/").follow_redirects(true).await.text(), "home");
    /// # }
    /// ```
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = Some(follow);
        self
    }

    /// Sends the request and reads the whole response body.
    ///
    /// When redirects are followed, `301`, `302` and `303` are retried as `GET` (a `HEAD`
    /// stays `HEAD`) without the body and its `Content-Type`; `307` and `308` repeat the
    /// method and body. Cookies are updated on every hop. A redirect to another host, or with
    /// a `Location` that is not a valid URI, is not followed and comes back as the response.
    ///
    /// `.await` on the request does the same as `.send().await`.
    ///
    /// # Panics
    ///
    /// Panics if more than 10 redirects are followed (likely a loop), or if reading the
    /// response body fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::StatusCode, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let client = TestClient::new(Router::new().route("/", get(|| async { "ok" })));
    /// let res = client.get("/missing").send().await;
    /// assert_eq!(res.status(), StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub async fn send(self) -> TestResponse {
        let follow = self.follow_redirects.unwrap_or(self.client.follow_redirects);
        let Self { client, mut method, mut uri, mut headers, mut body, .. } = self;
        let mut redirects: Vec<String> = Vec::new();
        loop {
            let response = client.dispatch(method.clone(), uri.clone(), headers.clone(), body.clone()).await;
            let host = headers.get(header::HOST).unwrap_or(&client.host).to_str().unwrap_or_default();
            let next = if follow { redirect_target(&response, &uri, host) } else { None };
            let Some(next) = next else {
                return TestResponse::read(response, method, uri, redirects).await;
            };
            assert!(
                redirects.len() < MAX_REDIRECTS,
                "TestClient: gave up after {MAX_REDIRECTS} redirects (a loop?): {uri} -> {next}; followed: {}",
                redirects.join(" -> ")
            );
            let status = response.status();
            if matches!(status.as_u16(), 301..=303) && method != Method::HEAD {
                method = Method::GET;
                body = Bytes::new();
                headers.remove(header::CONTENT_TYPE);
            }
            redirects.push(next.to_string());
            uri = next;
        }
    }
}

impl IntoFuture for TestRequest {
    type Output = TestResponse;
    type IntoFuture = BoxFuture<'static, TestResponse>;

    /// Sends the request, so `client.get("/").await` works like `.send().await`.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A response from a [`TestClient`], with its body read in full.
///
/// # Examples
///
/// ```
/// use axum::{Router, http::StatusCode, routing::get};
/// use phial_core::testing::TestClient;
///
/// # #[tokio::main]
/// # async fn main() {
/// let app = Router::new().route("/", get(|| async { (StatusCode::CREATED, "made it") }));
/// let res = TestClient::new(app).get("/").await;
/// res.assert_status(StatusCode::CREATED).assert_text_contains("made");
/// assert_eq!(res.header("content-type"), Some("text/plain; charset=utf-8"));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    method: Method,
    url: String,
    redirects: Vec<String>,
}

impl TestResponse {
    async fn read(response: Response, method: Method, uri: Uri, redirects: Vec<String>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => panic!("TestClient: reading the body of `{method} {uri}` failed: {err}"),
        };
        Self { status: parts.status, headers: parts.headers, body, method, url: uri.to_string(), redirects }
    }

    /// Returns the status code.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::StatusCode};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let res = TestClient::new(Router::new()).get("/nothing-here").await;
    /// assert_eq!(res.status(), StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Returns all response headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::header::SET_COOKIE, response::AppendHeaders, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async {
    ///     (AppendHeaders([(SET_COOKIE, "a=1"), (SET_COOKIE, "b=2")]), "")
    /// }));
    /// let res = TestClient::new(app).get("/").await;
    /// assert_eq!(res.headers().get_all(SET_COOKIE).iter().count(), 2);
    /// # }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Returns the first value of header `name`, if present and visible ASCII.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { ([("x-version", "7")], "") }));
    /// let res = TestClient::new(app).get("/").await;
    /// assert_eq!(res.header("x-version"), Some("7"));
    /// assert_eq!(res.header("x-missing"), None);
    /// # }
    /// ```
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Returns the `Location` header, as sent by the app.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, response::Redirect, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { Redirect::to("/login?next=%2F") }));
    /// let res = TestClient::new(app).get("/").await;
    /// assert_eq!(res.location(), Some("/login?next=%2F"));
    /// # }
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.header(header::LOCATION)
    }

    /// Returns the path and query of the request that produced this response, which differs
    /// from the one sent when redirects were followed.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Router;
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let res = TestClient::new(Router::new()).get("/a?b=c").await;
    /// assert_eq!(res.url(), "/a?b=c");
    /// # }
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the paths (with query) requested after each followed redirect, in order; empty
    /// when no redirect was followed. The last one is [`url`](Self::url).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, response::Redirect, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/a", get(|| async { Redirect::to("/b") }))
    ///     .route("/b", get(|| async { Redirect::to("/c") }))
    ///     .route("/c", get(|| async { "done" }));
    /// let res = TestClient::new(app).follow_redirects(true).get("/a").await;
    /// assert_eq!(res.redirects(), ["/b", "/c"]);
    /// # }
    /// ```
    pub fn redirects(&self) -> &[String] {
        &self.redirects
    }

    /// Returns the raw body.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { vec![1_u8, 2, 3] }));
    /// assert_eq!(TestClient::new(app).get("/").await.bytes(), [1, 2, 3]);
    /// # }
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// Returns the body as text.
    ///
    /// # Panics
    ///
    /// Panics if the body is not valid UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { "plain" }));
    /// assert_eq!(TestClient::new(app).get("/").await.text(), "plain");
    /// # }
    /// ```
    #[track_caller]
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_else(|err| {
            panic!("TestResponse::text: the body of {} is not UTF-8: {err}\n{}", self.summary(), self.body_preview())
        })
    }

    /// Deserialises the body as JSON into `T`.
    ///
    /// # Panics
    ///
    /// Panics if the body is not JSON that fits `T`; the message shows the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Json, Router, routing::get};
    /// use phial_core::testing::TestClient;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Health { ok: bool }
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/health", get(|| async { Json(serde_json::json!({ "ok": true })) }));
    /// let health: Health = TestClient::new(app).get("/health").await.json();
    /// assert!(health.ok);
    /// # }
    /// ```
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "TestResponse::json: the body of {} is not a valid `{}`: {err}\n{}",
                self.summary(),
                std::any::type_name::<T>(),
                self.body_preview()
            )
        })
    }

    /// Parses the body as any JSON value, for tests that look at a few fields.
    ///
    /// # Panics
    ///
    /// Panics if the body is not JSON; the message shows the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Json, Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { Json(serde_json::json!({ "items": [1, 2] })) }));
    /// let value = TestClient::new(app).get("/").await.json_value();
    /// assert_eq!(value["items"][1], 2);
    /// # }
    /// ```
    #[track_caller]
    pub fn json_value(&self) -> serde_json::Value {
        self.json()
    }

    /// Returns the body of an HTML page, checking that `Content-Type` is `text/html`.
    ///
    /// # Panics
    ///
    /// Panics if the content type is not `text/html` or the body is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, response::Html, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { Html("<h1>Hi</h1>") }));
    /// let page = TestClient::new(app).get("/").await;
    /// assert!(page.html().contains("<h1>Hi</h1>"));
    /// # }
    /// ```
    #[track_caller]
    pub fn html(&self) -> &str {
        let content_type = self.header(header::CONTENT_TYPE).unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        assert!(
            essence.eq_ignore_ascii_case("text/html"),
            "TestResponse::html: {} has content type `{content_type}`, not text/html\n{}",
            self.summary(),
            self.body_preview()
        );
        self.text()
    }

    /// Asserts the status code and returns the response for more checks.
    ///
    /// # Panics
    ///
    /// Panics if the status differs; the message shows the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, http::StatusCode, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { "ok" }));
    /// TestClient::new(app).get("/").await.assert_status(StatusCode::OK);
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) -> &Self {
        assert!(
            self.status == expected,
            "expected status {expected}, got {} for {}\n{}",
            self.status,
            self.summary(),
            self.body_preview()
        );
        self
    }

    /// Asserts that the body, read as text, contains `needle`.
    ///
    /// # Panics
    ///
    /// Panics if it does not; the message shows the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use phial_core::testing::TestClient;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let app = Router::new().route("/", get(|| async { "Welcome back, Ada" }));
    /// TestClient::new(app).get("/").await.assert_text_contains("Ada");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_text_contains(&self, needle: &str) -> &Self {
        let text = String::from_utf8_lossy(&self.body);
        assert!(
            text.contains(needle),
            "expected the body of {} to contain `{needle}`\n{}",
            self.summary(),
            self.body_preview()
        );
        self
    }

    /// `GET /path (404 Not Found)`, for panic messages.
    fn summary(&self) -> String {
        format!("`{} {}` ({})", self.method, self.url, self.status)
    }

    fn body_preview(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(BODY_PREVIEW_CHARS) {
            Some((cut, _)) => format!("body (first {BODY_PREVIEW_CHARS} characters):\n{}…", &text[..cut]),
            None if text.is_empty() => "body: (empty)".to_owned(),
            None => format!("body:\n{text}"),
        }
    }
}

/// The path and query of `uri`, as hyper hands it to a server.
fn origin_form(uri: &Uri) -> Uri {
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    target.parse().unwrap_or_else(|_| Uri::from_static("/"))
}

/// Where a redirect response points, as a path on this app; `None` if it is not a redirect
/// to follow.
fn redirect_target(response: &Response, current: &Uri, host: &str) -> Option<Uri> {
    if !matches!(response.status().as_u16(), 301..=303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    resolve_location(location, current, host)
}

/// Resolves `location` against the current request; `None` when it leaves `host` or is not
/// a valid URI.
fn resolve_location(location: &str, current: &Uri, host: &str) -> Option<Uri> {
    let location = location.split('#').next().unwrap_or_default();
    let is_absolute = location.starts_with("//") || (!location.starts_with('/') && location.contains("://"));
    let joined = if is_absolute {
        let absolute = if location.starts_with("//") { format!("http:{location}") } else { location.to_owned() };
        let uri: Uri = absolute.parse().ok()?;
        if !uri.authority()?.as_str().eq_ignore_ascii_case(host) {
            return None;
        }
        uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned()
    } else if location.starts_with('/') {
        location.to_owned()
    } else if location.is_empty() {
        current.to_string()
    } else if location.starts_with('?') {
        format!("{}{location}", current.path())
    } else {
        let path = current.path();
        let directory = path.rfind('/').map_or("/", |slash| &path[..=slash]);
        format!("{directory}{location}")
    };
    let (path, query) = match joined.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (joined.as_str(), None),
    };
    let path = remove_dot_segments(path);
    let target = query.map_or_else(|| path.clone(), |query| format!("{path}?{query}"));
    target.parse().ok()
}

/// Removes `.` and `..` segments from an absolute path (RFC 3986, section 5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." | ".." => {
                if segment == ".." {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use axum::extract::Multipart as MultipartExtractor;
    use axum::http::header::{HOST, LOCATION, SET_COOKIE};
    use axum::response::Redirect;
    use axum::routing::{any, get, post};
    use axum::{Form, Json};
    use serde::Deserialize;

    use time::{Date, Duration, Month};

    use super::cookie_jar::parse_cookie_date;
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Payload {
        name: String,
        count: u32,
    }

    async fn echo_cookies(headers: HeaderMap) -> String {
        let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
        cookie.unwrap_or("none").to_owned()
    }

    async fn echo_request(method: Method, headers: HeaderMap, body: String) -> String {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        format!("{method} {} {body}", content_type.unwrap_or("-"))
    }

    async fn list_fields(mut form: MultipartExtractor) -> String {
        let mut fields = Vec::new();
        while let Some(field) = form.next_field().await.expect("well-formed multipart body") {
            let name = field.name().unwrap_or_default().to_owned();
            let file = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field.bytes().await.expect("readable field");
            fields.push(format!("{name}|{file:?}|{content_type:?}|{}", String::from_utf8_lossy(&data)));
        }
        fields.join("\n")
    }

    fn app() -> Router {
        let set = |cookie: &'static str| move || async move { ([(SET_COOKIE, cookie)], "set") };
        Router::new()
            .route("/login", post(set("session=abc; Path=/; HttpOnly")))
            .route("/logout", post(set("session=; Max-Age=0; Path=/")))
            .route("/logout-expires", post(set("session=gone; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")))
            .route("/admin/login", post(set("admin=yes; Path=/admin")))
            .route("/account/settings", post(set("theme=dark")))
            .route("/cookies", get(echo_cookies))
            .route("/admin/cookies", get(echo_cookies))
            .route("/administrator/cookies", get(echo_cookies))
            .route("/account/cookies", get(echo_cookies))
            .route("/found", any(|| async { (StatusCode::FOUND, [(LOCATION, "/echo")]) }))
            .route("/temporary", any(|| async { Redirect::temporary("/echo") }))
            .route("/login-then-home", post(|| async { ([(SET_COOKIE, "session=xyz")], Redirect::to("/cookies")) }))
            .route("/loop", get(|| async { Redirect::to("/loop") }))
            .route("/echo", any(echo_request))
            .route("/json", post(|Json(p): Json<Payload>| async move { Json(p) }))
            .route("/form", post(|Form(p): Form<Payload>| async move { format!("{} x{}", p.name, p.count) }))
            .route("/upload", post(list_fields))
            .route("/host", get(|h: HeaderMap, uri: Uri| async move { format!("{:?} {uri}", h.get(HOST)) }))
    }

    #[tokio::test]
    async fn cookie_set_by_a_response_is_sent_on_later_requests() {
        let client = TestClient::new(app());
        assert_eq!(client.get("/cookies").await.text(), "none");

        client.post("/login").await.assert_status(StatusCode::OK);

        assert_eq!(client.cookie("session").as_deref(), Some("abc"));
        assert_eq!(client.get("/cookies").await.text(), "session=abc");
    }

    #[tokio::test]
    async fn max_age_zero_removes_the_cookie() {
        let client = TestClient::new(app());
        client.post("/login").await;
        client.post("/logout").await;
        assert_eq!(client.cookie("session"), None);
        assert_eq!(client.get("/cookies").await.text(), "none");
    }

    #[tokio::test]
    async fn expires_in_the_past_removes_the_cookie() {
        let client = TestClient::new(app());
        client.post("/login").await;
        client.post("/logout-expires").await;
        assert_eq!(client.cookie("session"), None);
    }

    #[tokio::test]
    async fn cookie_with_a_path_is_sent_only_under_that_path() {
        let client = TestClient::new(app());
        client.post("/admin/login").await;

        assert_eq!(client.get("/admin/cookies").await.text(), "admin=yes");
        assert_eq!(client.get("/cookies").await.text(), "none");
        assert_eq!(client.get("/administrator/cookies").await.text(), "none");
    }

    #[tokio::test]
    async fn cookie_without_a_path_is_scoped_to_the_directory_of_the_request() {
        let client = TestClient::new(app());
        client.post("/account/settings").await;

        assert_eq!(client.get("/account/cookies").await.text(), "theme=dark");
        assert_eq!(client.get("/cookies").await.text(), "none");
    }

    #[tokio::test]
    async fn more_specific_paths_are_sent_first() {
        let client = TestClient::new(app());
        client.post("/login").await;
        client.post("/admin/login").await;
        assert_eq!(client.get("/admin/cookies").await.text(), "admin=yes; session=abc");
    }

    #[tokio::test]
    async fn cookie_header_set_by_the_test_is_kept_before_jar_cookies() {
        let client = TestClient::new(app());
        client.set_cookie("jar", "1");
        let res = client.get("/cookies").header(header::COOKIE, "own=2").await;
        assert_eq!(res.text(), "own=2; jar=1");
    }

    #[tokio::test]
    async fn clones_share_the_jar_and_new_sessions_do_not() {
        let client = TestClient::new(app());
        let clone = client.clone();
        let stranger = client.new_session();
        clone.post("/login").await;

        assert_eq!(client.cookie("session").as_deref(), Some("abc"));
        assert_eq!(stranger.get("/cookies").await.text(), "none");

        client.clear_cookies();
        assert_eq!(clone.cookie("session"), None);
    }

    #[tokio::test]
    async fn redirects_are_not_followed_by_default() {
        let res = TestClient::new(app()).get("/found").await;
        res.assert_status(StatusCode::FOUND);
        assert_eq!(res.location(), Some("/echo"));
        assert!(res.redirects().is_empty());
    }

    #[tokio::test]
    async fn found_redirect_is_followed_as_get_without_body() {
        let client = TestClient::new(app()).follow_redirects(true);
        let res = client.post("/found").json(&serde_json::json!({ "a": 1 })).await;

        res.assert_status(StatusCode::OK);
        assert_eq!(res.text(), "GET - ");
        assert_eq!(res.redirects(), ["/echo"]);
        assert_eq!(res.url(), "/echo");
    }

    #[tokio::test]
    async fn temporary_redirect_keeps_method_and_body() {
        let client = TestClient::new(app());
        let res = client.put("/temporary").body("payload").header(header::CONTENT_TYPE, "text/plain");
        let res = res.follow_redirects(true).await;

        assert_eq!(res.text(), "PUT text/plain payload");
        assert_eq!(res.redirects(), ["/echo"]);
    }

    #[tokio::test]
    async fn each_redirect_hop_updates_the_jar() {
        let client = TestClient::new(app()).follow_redirects(true);
        let res = client.post("/login-then-home").await;
        assert_eq!(res.text(), "session=xyz");
        assert_eq!(res.redirects(), ["/cookies"]);
    }

    #[tokio::test]
    #[should_panic(expected = "gave up after 10 redirects")]
    async fn redirect_loop_panics_after_ten_hops() {
        TestClient::new(app()).follow_redirects(true).get("/loop").await;
    }

    #[tokio::test]
    async fn json_body_is_read_by_the_json_extractor() {
        let sent = Payload { name: "lamp".to_owned(), count: 3 };
        let res = TestClient::new(app()).post("/json").json(&sent).await;
        res.assert_status(StatusCode::OK);
        assert_eq!(res.json::<Payload>(), sent);
        assert_eq!(res.json_value()["count"], 3);
    }

    #[tokio::test]
    async fn form_body_is_read_by_the_form_extractor() {
        let sent = Payload { name: "a & b".to_owned(), count: 2 };
        let res = TestClient::new(app()).post("/form").form(&sent).await;
        assert_eq!(res.text(), "a & b x2");
    }

    #[tokio::test]
    async fn multipart_body_is_read_by_the_multipart_extractor() {
        let form = Multipart::new().text("title", "Holiday \"2024\"").file(
            "photo",
            "beach.txt",
            "text/plain",
            "--phial-test-boundary-00000000\r\nsand",
        );
        let res = TestClient::new(app()).post("/upload").multipart(form).await;

        res.assert_status(StatusCode::OK);
        let expected = "title|None|None|Holiday \"2024\"\n\
            photo|Some(\"beach.txt\")|Some(\"text/plain\")|--phial-test-boundary-00000000\r\nsand";
        assert_eq!(res.text(), expected);
    }

    #[tokio::test]
    async fn awaiting_a_request_sends_it() {
        let client = TestClient::new(app());
        let via_await = client.get("/echo").await;
        let via_send = client.get("/echo").send().await;
        assert_eq!(via_await.text(), "GET - ");
        assert_eq!(via_await.text(), via_send.text());
    }

    #[tokio::test]
    async fn requests_carry_the_host_and_an_origin_form_uri() {
        let client = TestClient::new(app());
        let res = client.get("/host?q=1").query(&[("page", "2")]).await;
        assert_eq!(res.text(), "Some(\"localhost\") /host?q=1&page=2");

        let other = client.clone().with_host("example.test").get("/host").await;
        assert_eq!(other.text(), "Some(\"example.test\") /host");

        let absolute = client.get("http://api.test/host").await;
        assert_eq!(absolute.text(), "Some(\"api.test\") /host");
    }

    #[tokio::test]
    async fn bearer_and_accept_json_set_their_headers() {
        let app = Router::new().route(
            "/",
            get(|h: HeaderMap| async move { format!("{:?} {:?}", h.get("authorization"), h.get("accept")) }),
        );
        let res = TestClient::new(app).get("/").bearer("t").accept_json().await;
        assert_eq!(res.text(), "Some(\"Bearer t\") Some(\"application/json\")");
    }

    #[tokio::test]
    #[should_panic(expected = "body:\nGET - ")]
    async fn json_mismatch_panics_with_the_body() {
        TestClient::new(app()).get("/echo").await.json::<Payload>();
    }

    #[tokio::test]
    #[should_panic(expected = "expected status 201 Created, got 200 OK for `GET /echo` (200 OK)")]
    async fn assert_status_panics_with_the_actual_status() {
        TestClient::new(app()).get("/echo").await.assert_status(StatusCode::CREATED);
    }

    #[tokio::test]
    #[should_panic(expected = "not text/html")]
    async fn html_rejects_a_plain_text_response() {
        TestClient::new(app()).get("/echo").await.html();
    }

    #[test]
    fn cookie_dates_in_common_formats_parse() {
        let expected = Date::from_calendar_date(2015, Month::October, 21)
            .and_then(|d| d.with_hms(7, 28, 0))
            .map(time::PrimitiveDateTime::assume_utc)
            .ok();
        assert_eq!(parse_cookie_date("Wed, 21 Oct 2015 07:28:00 GMT"), expected);
        assert_eq!(parse_cookie_date("Wednesday, 21-Oct-15 07:28:00 GMT"), expected);
        assert_eq!(parse_cookie_date("Wed Oct 21 07:28:00 2015"), expected);
        assert_eq!(parse_cookie_date("not a date"), None);
        assert_eq!(parse_cookie_date("Wed, 31 Feb 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn max_age_wins_over_expires() {
        let now = OffsetDateTime::now_utc();
        let line = "a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
        let cookie = parse_set_cookie(line, "/", now).expect("valid Set-Cookie");
        assert_eq!(cookie.expires, Some(now + Duration::seconds(60)));
        assert!(parse_set_cookie("no-equals-sign", "/", now).is_none());
    }

    #[test]
    fn locations_resolve_against_the_current_request() {
        let current: Uri = "/shop/cart/view?x=1".parse().expect("valid URI");
        let resolve = |location| resolve_location(location, &current, "localhost").map(|u| u.to_string());

        assert_eq!(resolve("/login?next=%2F").as_deref(), Some("/login?next=%2F"));
        assert_eq!(resolve("checkout").as_deref(), Some("/shop/cart/checkout"));
        assert_eq!(resolve("../items#top").as_deref(), Some("/shop/items"));
        assert_eq!(resolve("?page=2").as_deref(), Some("/shop/cart/view?page=2"));
        assert_eq!(resolve("http://localhost/home").as_deref(), Some("/home"));
        assert_eq!(resolve("https://elsewhere.test/"), None);
        assert_eq!(resolve("//elsewhere.test/"), None);
    }
}
