//! CSRF protection: Flask-WTF's `CSRFProtect` and `csrf_token()`, with a secret that rotates
//! at login and logout.
//!
//! Each session gets a random secret (kept under [`CSRF_SESSION_KEY`]); a token is that secret
//! signed with the app's key and the time, so it expires ([`CsrfConfig::time_limit`]) and
//! verifies with `app.secret_key_fallbacks` during a key rotation. The secret is a per-login
//! value: `Session::cycle_id`, which phial-login calls at login and logout, drops it, so a
//! token taken before login is refused after it (Flask-WTF keeps it; this is on purpose).

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures_util::future::{BoxFuture, Either};
use http::header::{HOST, ORIGIN, REFERER};
use http::request::Parts;
use phial_core::axum::body::Body;
use phial_core::axum::extract::{FromRequestParts, MatchedPath, Request};
use phial_core::axum::response::{IntoResponse, Response};
use phial_core::session::{CookieSigner, PER_LOGIN_PREFIX, Session, SignatureError};
use phial_core::{Error, HttpError, Secret, tower};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::form::{BodyKind, body_kind, content_type};
use crate::urlencoded;

/// The session key of the CSRF secret (a per-login key: `cycle_id` removes it).
pub const CSRF_SESSION_KEY: &str = "_per_login.csrf";

const _: () = assert!(CSRF_SESSION_KEY.len() > PER_LOGIN_PREFIX.len());

/// `[forms.csrf]`: Flask-WTF's `WTF_CSRF_*` settings.
///
/// # Examples
///
/// ```toml
/// [forms.csrf]
/// time_limit = 7200            # seconds a token lives; 0: as long as the session
/// exempt = ["/webhooks/"]      # route paths (or prefixes ending in `/`) not checked
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CsrfConfig {
    /// Check unsafe requests (`WTF_CSRF_ENABLED`; `WTF_CSRF_CHECK_DEFAULT` with the global layer).
    pub enabled: bool,
    /// Seconds a token is valid; `0` for as long as the session (`WTF_CSRF_TIME_LIMIT`).
    pub time_limit: u64,
    /// The form field holding the token (`WTF_CSRF_FIELD_NAME`).
    pub field_name: String,
    /// Headers that may hold the token (`WTF_CSRF_HEADERS`).
    pub headers: Vec<String>,
    /// Methods that are checked (`WTF_CSRF_METHODS`).
    pub methods: Vec<String>,
    /// On HTTPS, require a same-origin `Origin` or `Referer` (`WTF_CSRF_SSL_STRICT`).
    pub ssl_strict: bool,
    /// Route paths not checked: a path as routed (`/hooks/{id}`), or a prefix ending in `/`
    /// (every route of a blueprint). Flask-WTF: `csrf.exempt(view_or_blueprint)`.
    pub exempt: Vec<String>,
    /// The largest form body the layer reads to find the token field, in bytes.
    pub max_form_bytes: usize,
    /// What a failed check does: [`CsrfMode::Global`] answers 400 (Flask-WTF's `CSRFProtect`);
    /// [`CsrfMode::Form`] makes it an error of the request's [`Form`](crate::Form) on field
    /// [`field_name`](Self::field_name), so the page re-renders with 200 (Flask-WTF's
    /// `FlaskForm` without `CSRFProtect`).
    pub mode: CsrfMode,
}

/// See [`CsrfConfig::mode`].
///
/// # Examples
///
/// ```
/// use phial_forms::{CsrfConfig, CsrfMode};
///
/// assert_eq!(CsrfConfig::default().mode, CsrfMode::Global);
/// let per_form: CsrfMode = serde_json::from_str("\"form\"").unwrap();
/// assert_eq!(per_form, CsrfMode::Form);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CsrfMode {
    /// A failed check is a 400 with Flask-WTF's message; the handler does not run.
    #[default]
    Global,
    /// A failed check reaches the handler as an error of its [`Form`](crate::Form): the form is
    /// not valid and shows the message on the token field. Unsafe requests whose handler reads
    /// no `Form` are then not protected, as with Flask-WTF's `FlaskForm` alone.
    Form,
}

/// A failed check in [`CsrfMode::Form`], for the request's [`Form`](crate::Form) to report.
#[derive(Debug, Clone)]
pub(crate) struct CsrfFailed {
    pub(crate) field: String,
    pub(crate) error: CsrfError,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            time_limit: 3600,
            field_name: "csrf_token".into(),
            headers: vec!["X-CSRFToken".into(), "X-CSRF-Token".into()],
            methods: ["POST", "PUT", "PATCH", "DELETE"].map(String::from).to_vec(),
            ssl_strict: true,
            exempt: Vec::new(),
            max_form_bytes: 2 * 1024 * 1024,
            mode: CsrfMode::Global,
        }
    }
}

/// Why a request's CSRF token was refused; the messages are Flask-WTF's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// No token in the form or headers.
    #[error("The CSRF token is missing.")]
    Missing,
    /// The session has no CSRF secret (a new session, or one cycled at login or logout).
    #[error("The CSRF session token is missing.")]
    SessionMissing,
    /// The token is older than the time limit.
    #[error("The CSRF token has expired.")]
    Expired,
    /// The token is not one this app signed.
    #[error("The CSRF token is invalid.")]
    Invalid,
    /// The token was made for another session.
    #[error("The CSRF tokens do not match.")]
    Mismatch,
    /// HTTPS, and the `Origin` header names another site.
    #[error("The origin does not match the host.")]
    BadOrigin,
    /// HTTPS, and neither `Origin` nor `Referer` came.
    #[error("The referrer header is missing.")]
    NoReferrer,
    /// HTTPS, and the `Referer` is another site.
    #[error("The referrer does not match the host.")]
    BadReferrer,
}

impl From<CsrfError> for HttpError {
    fn from(err: CsrfError) -> Self {
        HttpError::bad_request(err.to_string())
    }
}

impl IntoResponse for CsrfError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// The keys and settings tokens are made and checked with; one per app, shared by requests.
///
/// # Examples
///
/// ```
/// use phial_core::Secret;
/// use phial_forms::{CsrfConfig, CsrfKeys};
///
/// let keys = CsrfKeys::new(&Secret::new("a long random key"), &[], CsrfConfig::default())?;
/// let token = keys.sign("the session's secret");
/// assert!(keys.check(Some(&token), Some("the session's secret")).is_ok());
/// assert!(keys.check(Some(&token), Some("another session")).is_err());
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Debug)]
pub struct CsrfKeys {
    signer: CookieSigner,
    config: CsrfConfig,
    /// `config.headers`, parsed once: a name looked up by text is parsed and lowercased anew.
    header_names: Vec<http::HeaderName>,
    /// `config.methods`, parsed once (in upper case).
    methods: Vec<http::Method>,
}

impl CsrfKeys {
    /// Keys derived from the app's secret key (and its fallbacks, still accepted).
    ///
    /// # Errors
    ///
    /// When the secret key is empty, a name in `config.headers` is not a header name, or one in
    /// `config.methods` not a method.
    pub fn new(secret: &Secret, fallbacks: &[Secret], config: CsrfConfig) -> Result<Self, Error> {
        let header_names = config
            .headers
            .iter()
            .map(|name| {
                http::HeaderName::try_from(name.as_str())
                    .map_err(|_| Error::config("forms.csrf.headers", format!("`{name}` is not a valid header name")))
            })
            .collect::<Result<_, _>>()?;
        let methods = config
            .methods
            .iter()
            .map(|method| {
                http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| Error::config("forms.csrf.methods", format!("`{method}` is not an HTTP method")))
            })
            .collect::<Result<_, _>>()?;
        let signer = CookieSigner::with_salt("phial.csrf", secret, fallbacks)?;
        Ok(Self { signer, config, header_names, methods })
    }

    /// The settings.
    pub fn config(&self) -> &CsrfConfig {
        &self.config
    }

    /// A token for the session secret `secret`, issued now.
    pub fn sign(&self, secret: &str) -> String {
        self.signer.sign(secret.as_bytes())
    }

    /// A token for `secret` as if issued at `at`: for tests of expiry.
    pub fn sign_at(&self, secret: &str, at: SystemTime) -> String {
        self.signer.sign_at(secret.as_bytes(), at)
    }

    /// Checks `token` against the session's secret, in Flask-WTF's order: missing token,
    /// missing session secret, signature and age, then the match (constant-time).
    ///
    /// # Errors
    ///
    /// The [`CsrfError`] saying why the token is refused.
    pub fn check(&self, token: Option<&str>, session_secret: Option<&str>) -> Result<(), CsrfError> {
        let token = token.filter(|token| !token.is_empty()).ok_or(CsrfError::Missing)?;
        let session_secret = session_secret.ok_or(CsrfError::SessionMissing)?;
        let max_age = match self.config.time_limit {
            0 => Duration::MAX,
            seconds => Duration::from_secs(seconds),
        };
        let verified = self.signer.verify(token, max_age).map_err(|err| match err {
            SignatureError::Expired => CsrfError::Expired,
            _ => CsrfError::Invalid,
        })?;
        if bool::from(verified.payload.ct_eq(session_secret.as_bytes())) { Ok(()) } else { Err(CsrfError::Mismatch) }
    }
}

/// The request's CSRF handle: makes tokens for forms (`csrf_token()`) and checks them by hand
/// (Flask-WTF's `generate_csrf` / `validate_csrf`).
///
/// Needs [`CsrfLayer`] (which the `FormsExtension` adds) and a session.
///
/// # Examples
///
/// ```
/// use phial_core::HttpError;
/// use phial_core::axum::response::Html;
/// use phial_forms::Csrf;
///
/// async fn form(csrf: Csrf) -> Result<Html<String>, HttpError> {
///     let token = csrf.token()?;
///     Ok(Html(format!(r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}"></form>"#)))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Csrf {
    keys: Arc<CsrfKeys>,
    session: Session,
}

impl Csrf {
    /// A token for this session, creating its secret on first use.
    ///
    /// # Errors
    ///
    /// When the session cannot be written, or no random bytes are available.
    pub fn token(&self) -> Result<String, HttpError> {
        let secret = if let Some(secret) = self.session.get::<String>(CSRF_SESSION_KEY) {
            secret
        } else {
            let mut bytes = [0_u8; 20];
            getrandom::fill(&mut bytes).map_err(|err| HttpError::internal(err.to_string()))?;
            let secret = hex::encode(bytes);
            self.session.insert(CSRF_SESSION_KEY, &secret)?;
            secret
        };
        Ok(self.keys.sign(&secret))
    }

    /// Checks `token` against this session.
    ///
    /// # Errors
    ///
    /// The [`CsrfError`] saying why it is refused.
    pub fn check(&self, token: Option<&str>) -> Result<(), CsrfError> {
        self.keys.check(token, self.session.get::<String>(CSRF_SESSION_KEY).as_deref())
    }

    /// The keys and settings.
    pub fn keys(&self) -> &CsrfKeys {
        &self.keys
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let keys = keys_of(&parts.extensions)
            .ok_or_else(|| HttpError::internal("CSRF keys missing: add FormsExtension (or CsrfLayer)"))?;
        let session = Session::from_request_parts(parts, state).await?;
        Ok(Self { keys, session })
    }
}

/// Flask-WTF's `CSRFProtect`: checks every unsafe request (`POST`, `PUT`, `PATCH`, `DELETE`)
/// not exempted, before the handler runs; a refused request is a 400 with Flask-WTF's message.
///
/// The token comes from a header (`X-CSRFToken`, `X-CSRF-Token`) or the form field
/// `csrf_token` of a urlencoded or multipart body (read up to `max_form_bytes`, then handed on
/// to the handler untouched). On HTTPS (the request's scheme, or `app.preferred_url_scheme =
/// "https"` behind a proxy) an `Origin` header, or without one a `Referer`, must name this
/// host first.
///
/// It must run inside the session layer; `FormsExtension` adds it in stage `Auth`.
#[derive(Debug, Clone)]
pub struct CsrfLayer {
    keys: Arc<CsrfKeys>,
    https: bool,
    /// Whether each request gets the keys in its extensions (for [`Csrf`]); not needed in a
    /// phial app, whose state holds them.
    mark: bool,
}

impl CsrfLayer {
    /// A layer checking with `keys`; `https` says the app is served over HTTPS even when the
    /// request URI does not say so (behind a proxy).
    pub fn new(keys: CsrfKeys, https: bool) -> Self {
        Self { keys: Arc::new(keys), https, mark: true }
    }

    /// The layer of a phial app whose state holds `keys` (as `Arc<CsrfKeys>`), where [`Csrf`]
    /// finds them: no request-extension entry per request.
    pub(crate) fn in_app(keys: Arc<CsrfKeys>, https: bool) -> Self {
        Self { keys, https, mark: false }
    }
}

/// The request's CSRF keys: from [`CsrfLayer`]'s mark (bare axum) or the app's state.
fn keys_of(extensions: &http::Extensions) -> Option<Arc<CsrfKeys>> {
    extensions
        .get::<Arc<CsrfKeys>>()
        .or_else(|| phial_core::AppState::from_extensions(extensions)?.get::<Arc<CsrfKeys>>())
        .cloned()
}

impl<S> tower::Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> CsrfService<S> {
        CsrfService { inner, keys: Arc::clone(&self.keys), https: self.https, mark: self.mark }
    }
}

/// The service of [`CsrfLayer`].
#[derive(Debug, Clone)]
pub struct CsrfService<S> {
    inner: S,
    keys: Arc<CsrfKeys>,
    https: bool,
    mark: bool,
}

impl<S> tower::Service<Request> for CsrfService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    /// The handler's own future when the request is not checked (no allocation), a boxed
    /// check-then-handle otherwise.
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if self.mark {
            request.extensions_mut().insert(Arc::clone(&self.keys));
        }
        let config = self.keys.config();
        let checked = config.enabled
            && self.keys.methods.contains(request.method())
            && !exempt(&config.exempt, request.extensions().get::<MatchedPath>());
        if !checked {
            return Either::Left(self.inner.call(request));
        }
        // The service that was polled ready handles this request later; a fresh clone takes
        // its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let keys = Arc::clone(&self.keys);
        let https = self.https || request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        // The future holds the request's parts once, lent to the check and then put back
        // together with the body: it stays under 1 KiB, the allocator's fast sizes.
        let (mut parts, body) = request.into_parts();
        let future = Box::pin(async move {
            match protect(&keys, https, &mut parts, body).await {
                Ok((body, Ok(()))) => inner.call(Request::from_parts(parts, body)).await,
                Ok((body, Err(error))) if keys.config().mode == CsrfMode::Form => {
                    let field = keys.config().field_name.clone();
                    parts.extensions.insert(CsrfFailed { field, error });
                    inner.call(Request::from_parts(parts, body)).await
                }
                Ok((_, Err(error))) => Ok(error.into_response()),
                Err(refused) => Ok(refused),
            }
        });
        Either::Right(future)
    }
}

/// `csrf_token()` and `hidden_tag()` for the templates of the request whose extensions these
/// are: the context processor `FormsExtension` adds, run only when a page renders.
#[cfg(feature = "templates")]
pub(crate) fn template_functions(
    extensions: &http::Extensions,
    keys: &Arc<CsrfKeys>,
    vars: &mut phial_core::templates::TemplateVars,
) {
    use phial_core::minijinja::{Error as TemplateError, ErrorKind, Value};

    let Some(session) = Session::from_extensions(extensions) else { return };
    let csrf = Csrf { keys: Arc::clone(keys), session };
    let token =
        move || csrf.token().map_err(|err| TemplateError::new(ErrorKind::InvalidOperation, err.message().to_owned()));
    let field = token.clone();
    vars.insert("csrf_token", Value::from_function(token));
    vars.insert(
        "hidden_tag",
        Value::from_function(move || -> Result<Value, TemplateError> {
            // The token is URL-safe base64 and dots: nothing in it needs escaping.
            Ok(Value::from_safe_string(format!(
                r#"<input id="csrf_token" name="csrf_token" type="hidden" value="{}">"#,
                field()?
            )))
        }),
    );
}

fn exempt(patterns: &[String], matched: Option<&MatchedPath>) -> bool {
    let Some(path) = matched.map(MatchedPath::as_str) else { return false };
    patterns
        .iter()
        .any(|pattern| if pattern.ends_with('/') { path.starts_with(pattern.as_str()) } else { path == pattern })
}

/// Checks the request of `parts` and `body`; gives the body back (read whole when the token
/// was in it) and the check's outcome, or a response for a request that cannot be checked at
/// all (a form body over the limit, a failing session).
async fn protect(
    keys: &CsrfKeys,
    https: bool,
    parts: &mut Parts,
    body: Body,
) -> Result<(Body, Result<(), CsrfError>), Response> {
    let config = keys.config();
    if https
        && config.ssl_strict
        && let Err(refused) = same_origin(&parts.headers)
    {
        tracing::info!(reason = %refused, path = %parts.uri.path(), "CSRF check refused the request");
        return Ok((body, Err(refused)));
    }
    // The session first: the token is checked against its secret where it is found, in a
    // header or in the body, without copying it out.
    let session = Session::from_request_parts(parts, &()).await.map_err(IntoResponse::into_response)?;
    let values = session.values();
    let secret = values.get_str(CSRF_SESSION_KEY);
    let header_token =
        keys.header_names.iter().find_map(|name| parts.headers.get(name).and_then(|value| value.to_str().ok()));
    let (outcome, body) = match header_token {
        Some(token) => (keys.check(Some(token), secret), body),
        None => match form_body(parts, body, config).await? {
            FormBody::Other(body) => (keys.check(None, secret), body),
            FormBody::Urlencoded(bytes) => {
                let outcome = keys.check(urlencoded_field(&bytes, &config.field_name).as_deref(), secret);
                (outcome, Body::from(bytes))
            }
            FormBody::Multipart(bytes, content_type) => {
                // Boxed: multer's parser is two kilobytes of future state, which the urlencoded
                // path would otherwise carry (and allocate and copy) on every checked request.
                let token = Box::pin(multipart_field(content_type, bytes.clone(), &config.field_name)).await;
                (keys.check(token.as_deref(), secret), Body::from(bytes))
            }
        },
    };
    if let Err(refused) = &outcome {
        tracing::info!(reason = %refused, path = %parts.uri.path(), "CSRF check refused the request");
    }
    Ok((body, outcome))
}

/// `Origin` (or, without it, `Referer`) must be this host over HTTPS.
fn same_origin(headers: &http::HeaderMap) -> Result<(), CsrfError> {
    let host = headers.get(HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let ours = format!("https://{host}");
    if let Some(origin) = headers.get(ORIGIN) {
        return if origin.to_str().is_ok_and(|origin| origin.eq_ignore_ascii_case(&ours)) {
            Ok(())
        } else {
            Err(CsrfError::BadOrigin)
        };
    }
    let referer = headers.get(REFERER).ok_or(CsrfError::NoReferrer)?.to_str().map_err(|_| CsrfError::BadReferrer)?;
    let rest =
        referer.get(..ours.len()).filter(|start| start.eq_ignore_ascii_case(&ours)).map(|_| &referer[ours.len()..]);
    match rest {
        Some(rest) if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') => Ok(()),
        _ => Err(CsrfError::BadReferrer),
    }
}

/// A request body as the token search sees it.
enum FormBody<'a> {
    /// Not a form: passed on unread.
    Other(Body),
    Urlencoded(bytes::Bytes),
    /// With the request's `Content-Type`, which holds the boundary.
    Multipart(bytes::Bytes, &'a str),
}

/// The body of a form read whole (up to `max_form_bytes`), for its token field.
async fn form_body<'a>(parts: &'a Parts, body: Body, config: &CsrfConfig) -> Result<FormBody<'a>, Response> {
    let content_type = content_type(&parts.headers);
    let kind = body_kind(content_type);
    if kind != BodyKind::Urlencoded && kind != BodyKind::Multipart {
        return Ok(FormBody::Other(body));
    }
    let bytes = crate::body::read_whole(body, config.max_form_bytes)
        .await
        .map_err(|err| err.into_http("The form is too large to check its CSRF token.").into_response())?;
    Ok(if kind == BodyKind::Urlencoded {
        FormBody::Urlencoded(bytes)
    } else {
        FormBody::Multipart(bytes, content_type)
    })
}

/// The first field called `name` of a urlencoded body, decoded. Only names that are escaped
/// are decoded to be compared, and only the value found: the token scan runs before every
/// checked handler, which parses the whole form again.
fn urlencoded_field<'b>(body: &'b [u8], name: &str) -> Option<Cow<'b, str>> {
    urlencoded::raw_pairs(body).find_map(|(raw_name, value)| {
        let matches =
            if raw_name.escaped { raw_name.decode(body) == name } else { &body[raw_name.range] == name.as_bytes() };
        matches.then(|| value.decode(body))
    })
}

async fn multipart_field(content_type: &str, bytes: bytes::Bytes, name: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) && field.file_name().is_none() {
            return field.text().await.ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check's future (inside the boxed future of every checked request) stays small: it
    /// borrows the request's parts instead of holding a second copy of the request.
    #[test]
    fn the_check_future_stays_small() {
        let keys = CsrfKeys::new(&Secret::new("key"), &[], CsrfConfig::default()).expect("valid keys");
        let (mut parts, body) = Request::new(Body::empty()).into_parts();
        let check = protect(&keys, false, &mut parts, body);
        assert!(size_of_val(&check) < 512, "protect: {} bytes", size_of_val(&check));
    }

    /// What a full parse finds: the first field with the decoded name.
    fn parsed(body: &[u8], name: &str) -> Option<String> {
        form_urlencoded::parse(body).find(|(field, _)| field == name).map(|(_, value)| value.into_owned())
    }

    #[test]
    fn a_token_header_that_is_no_header_name_is_a_config_error() {
        let config = CsrfConfig { headers: vec!["X-CSRFToken".into(), "X CSRF".into()], ..CsrfConfig::default() };
        let err = CsrfKeys::new(&Secret::new("key"), &[], config).expect_err("invalid header name");
        assert!(err.to_string().contains("forms.csrf.headers"), "{err}");
        assert!(err.to_string().contains("`X CSRF`"), "{err}");
        let config = CsrfConfig { methods: vec!["post".into(), "P O S T".into()], ..CsrfConfig::default() };
        let err = CsrfKeys::new(&Secret::new("key"), &[], config).expect_err("invalid method");
        assert!(err.to_string().contains("forms.csrf.methods"), "{err}");
    }

    #[test]
    fn configured_methods_are_matched_in_any_case() {
        let config = CsrfConfig { methods: vec!["post".into(), "Delete".into()], ..CsrfConfig::default() };
        let keys = CsrfKeys::new(&Secret::new("key"), &[], config).expect("valid config");
        assert_eq!(keys.methods, [http::Method::POST, http::Method::DELETE]);
    }

    #[test]
    fn the_token_scan_finds_what_a_full_parse_finds() {
        let bodies: [&[u8]; 12] = [
            b"csrf_token=abc.def&name=x",
            b"name=x&csrf_token=a%2Eb+c",
            b"csrf%5Ftoken=escaped&csrf_token=plain",
            b"csrf+token=space&csrf_token=t",
            b"&&csrf_token=after-empty-pairs&",
            b"csrf_token&csrf_token=second",
            b"csrf_token=&name=x",
            b"csrf_token=one&csrf_token=two",
            b"xcsrf_token=no&csrf_tokenx=no",
            b"name=x",
            b"",
            b"csrf_token=%FF%FE",
        ];
        for body in bodies {
            assert_eq!(
                urlencoded_field(body, "csrf_token").map(Cow::into_owned),
                parsed(body, "csrf_token"),
                "{}",
                body.escape_ascii()
            );
        }
        assert_eq!(
            urlencoded_field(b"csrf%5Ftoken=escaped&csrf_token=plain", "csrf_token").as_deref(),
            Some("escaped")
        );
        assert_eq!(urlencoded_field(b"csrf_token&csrf_token=second", "csrf_token").as_deref(), Some(""));
    }
}
