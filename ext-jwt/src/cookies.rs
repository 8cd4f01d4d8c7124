//! Tokens in cookies: `set_access_cookies`, `set_refresh_cookies`, `unset_jwt_cookies`, and
//! the implicit-refresh layer.

use std::fmt::Write as _;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use phial_core::axum::extract::Request;
use phial_core::axum::response::Response;
use phial_core::tower;
use serde_json::Value;

use crate::auth::JwtAuth;
use crate::error::JwtError;
use crate::mint::MintOptions;
use crate::request::cookie;

/// Werkzeug's `Expires` for a deleted cookie.
const EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

impl JwtAuth {
    /// `set_access_cookies(response, token, max_age)`: the access cookie (`HttpOnly`) and,
    /// with `csrf_in_cookies`, the readable `csrf_access_token` cookie that scripts echo in
    /// `X-CSRF-TOKEN`.
    ///
    /// # Errors
    ///
    /// When `token` is not a valid token of this app.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions, TokenLocation};
    ///
    /// let mut config = JwtConfig::default();
    /// config.token_location = vec![TokenLocation::Cookies];
    /// let auth = JwtAuth::builder(config).secret("s3cret").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new())?;
    /// let mut headers = http::HeaderMap::new();
    /// auth.set_access_cookies(&mut headers, &token, None)?;
    /// let cookies: Vec<_> = headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    /// assert!(cookies[0].starts_with("access_token_cookie="));
    /// assert!(cookies[1].starts_with("csrf_access_token="));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn set_access_cookies(
        &self,
        headers: &mut HeaderMap,
        token: &str,
        max_age: Option<u64>,
    ) -> Result<(), JwtError> {
        let c = self.config();
        self.set_pair(
            headers,
            token,
            max_age,
            (&c.access_cookie_name, &c.access_cookie_path),
            (&c.access_csrf_cookie_name, &c.access_csrf_cookie_path),
        )
    }

    /// `set_refresh_cookies(response, token, max_age)`.
    ///
    /// # Errors
    ///
    /// When `token` is not a valid token of this app.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions, TokenLocation};
    /// let mut config = JwtConfig::default();
    /// config.token_location = vec![TokenLocation::Cookies];
    /// let auth = JwtAuth::builder(config).secret("s3cret").build()?;
    /// let mut headers = http::HeaderMap::new();
    /// auth.set_refresh_cookies(&mut headers, &auth.create_refresh_token("alice", MintOptions::new())?, None)?;
    /// assert!(headers["set-cookie"].to_str().unwrap().starts_with("refresh_token_cookie="));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn set_refresh_cookies(
        &self,
        headers: &mut HeaderMap,
        token: &str,
        max_age: Option<u64>,
    ) -> Result<(), JwtError> {
        let c = self.config();
        self.set_pair(
            headers,
            token,
            max_age,
            (&c.refresh_cookie_name, &c.refresh_cookie_path),
            (&c.refresh_csrf_cookie_name, &c.refresh_csrf_cookie_path),
        )
    }

    fn set_pair(
        &self,
        headers: &mut HeaderMap,
        token: &str,
        max_age: Option<u64>,
        (name, path): (&str, &str),
        (csrf_name, csrf_path): (&str, &str),
    ) -> Result<(), JwtError> {
        let config = self.config();
        let max_age = max_age.or((!config.session_cookie).then_some(31_540_000));
        append(headers, &self.cookie_line(name, token, max_age, path, true));
        if config.cookie_csrf_protect && config.csrf_in_cookies {
            let decoded = self.decode_token(token, true)?;
            let csrf = decoded.claims().get("csrf").and_then(Value::as_str).unwrap_or_default().to_owned();
            append(headers, &self.cookie_line(csrf_name, &csrf, max_age, csrf_path, false));
        }
        Ok(())
    }

    /// `unset_jwt_cookies(response)`: expires the access and refresh cookies and their CSRF
    /// cookies.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig};
    ///
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let mut headers = http::HeaderMap::new();
    /// auth.unset_jwt_cookies(&mut headers);
    /// assert_eq!(headers.get_all("set-cookie").iter().count(), 4);
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn unset_jwt_cookies(&self, headers: &mut HeaderMap) {
        self.unset_access_cookies(headers);
        self.unset_refresh_cookies(headers);
    }

    /// `unset_access_cookies(response)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let mut headers = http::HeaderMap::new();
    /// auth.unset_access_cookies(&mut headers);
    /// assert!(headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn unset_access_cookies(&self, headers: &mut HeaderMap) {
        let c = self.config();
        self.unset(headers, &c.access_cookie_name, &c.access_cookie_path, true);
        if c.cookie_csrf_protect && c.csrf_in_cookies {
            self.unset(headers, &c.access_csrf_cookie_name, &c.access_csrf_cookie_path, false);
        }
    }

    /// `unset_refresh_cookies(response)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let mut headers = http::HeaderMap::new();
    /// auth.unset_refresh_cookies(&mut headers);
    /// assert!(headers["set-cookie"].to_str().unwrap().starts_with("refresh_token_cookie=;"));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn unset_refresh_cookies(&self, headers: &mut HeaderMap) {
        let c = self.config();
        self.unset(headers, &c.refresh_cookie_name, &c.refresh_cookie_path, true);
        if c.cookie_csrf_protect && c.csrf_in_cookies {
            self.unset(headers, &c.refresh_csrf_cookie_name, &c.refresh_csrf_cookie_path, false);
        }
    }

    fn unset(&self, headers: &mut HeaderMap, name: &str, path: &str, http_only: bool) {
        let line = self.cookie_line(name, "", Some(0), path, http_only);
        append(headers, &line.replacen("; Max-Age=0", &format!("; Expires={EPOCH}; Max-Age=0"), 1));
    }

    /// One `Set-Cookie` value in Werkzeug's attribute order.
    fn cookie_line(&self, name: &str, value: &str, max_age: Option<u64>, path: &str, http_only: bool) -> String {
        let config = self.config();
        let mut line = format!("{name}={value}");
        if let Some(domain) = &config.cookie_domain {
            let _ = write!(line, "; Domain={domain}");
        }
        if let Some(max_age) = max_age {
            let _ = write!(line, "; Max-Age={max_age}");
        }
        if config.cookie_secure {
            line.push_str("; Secure");
        }
        if http_only {
            line.push_str("; HttpOnly");
        }
        let _ = write!(line, "; Path={path}");
        if let Some(same_site) = &config.cookie_samesite {
            let _ = write!(line, "; SameSite={same_site}");
        }
        line
    }
}

fn append(headers: &mut HeaderMap, line: &str) {
    if let Ok(value) = HeaderValue::from_str(line) {
        headers.append(SET_COOKIE, value);
    }
}

/// Re-mints the access cookie when it is within `window` of expiring: Flask-JWT-Extended's
/// documented `after_request` hook for implicit refreshing, as a layer. A response that sets
/// or clears the access cookie itself (login, logout) is left alone.
///
/// The new token has the old one's identity and custom claims, and is not fresh. Needs a
/// [`JwtLayer`](crate::JwtLayer) outside it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::axum::{Router, routing::get};
/// use phial_jwt::ImplicitRefreshLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "ok" }))
///     .layer(ImplicitRefreshLayer::new(Duration::from_secs(30 * 60)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ImplicitRefreshLayer {
    window: Duration,
}

impl ImplicitRefreshLayer {
    /// Refresh tokens that expire within `window`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = phial_jwt::ImplicitRefreshLayer::new(std::time::Duration::from_mins(30));
    /// # let _ = layer;
    /// ```
    pub fn new(window: Duration) -> Self {
        Self { window }
    }
}

impl<S> tower::Layer<S> for ImplicitRefreshLayer {
    type Service = ImplicitRefreshService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ImplicitRefreshService { inner, window: self.window }
    }
}

/// The service of [`ImplicitRefreshLayer`].
///
/// # Examples
///
/// ```
/// use phial_core::tower::Layer as _;
/// let service = phial_jwt::ImplicitRefreshLayer::new(std::time::Duration::from_mins(30)).layer(phial_core::tower::service_fn(|_: phial_core::axum::extract::Request| async {
///     Ok::<_, std::convert::Infallible>(phial_core::axum::response::Response::new(phial_core::axum::body::Body::empty()))
/// }));
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct ImplicitRefreshService<S> {
    inner: S,
    window: Duration,
}

impl<S> tower::Service<Request> for ImplicitRefreshService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2);
        let auth = request.extensions().get::<JwtAuth>().cloned();
        let current = auth.as_ref().and_then(|auth| {
            let token = cookie(request.headers(), &auth.config().access_cookie_name)?;
            auth.decode_token(token, false).ok()
        });
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            let (Some(auth), Some(token)) = (auth, current) else { return Ok(response) };
            let Some(exp) = token.expires_at() else { return Ok(response) };
            let name = format!("{}=", auth.config().access_cookie_name);
            let touched =
                response.headers().get_all(SET_COOKIE).iter().any(|v| v.to_str().is_ok_and(|v| v.starts_with(&name)));
            if touched || exp - auth.now().unix_timestamp() > window || token.token_type() != "access" {
                return Ok(response);
            }
            let carried = token
                .claims()
                .iter()
                .filter(|(k, _)| !crate::auth::is_reserved(k) && **k != auth.config().identity_claim)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let identity = auth.identity(&token).clone();
            match auth.create_access_token(identity, MintOptions::new().claims(carried).raw()) {
                Ok(fresh_token) => {
                    if let Err(err) = auth.set_access_cookies(response.headers_mut(), &fresh_token, None) {
                        tracing::warn!(error = %err, "implicit refresh could not set the cookie");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "implicit refresh could not mint a token"),
            }
            Ok(response)
        })
    }
}
