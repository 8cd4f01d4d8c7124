//! Extractors ([`Jwt`], [`FreshJwt`], [`RefreshJwt`], [`OptionalJwt`], [`JwtUser`]) and
//! layers ([`JwtLayer`], [`JwtRequiredLayer`]).

use std::ops::Deref;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::request::Parts;
use phial_core::axum::body::{Body, to_bytes};
use phial_core::axum::extract::{FromRequestParts, Request};
use phial_core::axum::response::{IntoResponse, Response};
use phial_core::{HttpError, tower};

use crate::auth::JwtAuth;
use crate::config::TokenLocation;
use crate::request::{BodyValues, Requirement, VerifiedToken, is_json};

impl<S: Send + Sync> FromRequestParts<S> for JwtAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parts.extensions.get::<JwtAuth>().cloned().ok_or_else(|| {
            HttpError::internal("JwtAuth missing: add JwtExtension to the app, or JwtLayer to the router")
                .into_response()
        })
    }
}

/// Verifies `parts` against `requirement`, reusing the token a [`JwtRequiredLayer`] already
/// verified (whose type, freshness and revocation are checked again for this requirement).
async fn verify(parts: &mut Parts, requirement: &Requirement) -> Result<Option<VerifiedToken>, Response> {
    let auth = JwtAuth::from_request_parts(parts, &()).await?;
    if let Some(done) = parts.extensions.get::<VerifiedToken>().cloned() {
        return match auth.check_token(&done.token, requirement).await {
            Ok(()) => Ok(Some(done)),
            Err(err) => Err(auth.error_response(&err, Some(&done.token))),
        };
    }
    match auth.verify_parts(parts, &BodyValues::default(), requirement).await {
        Ok(token) => Ok(token),
        Err((err, token)) => Err(auth.error_response(&err, token.as_ref())),
    }
}

async fn required(parts: &mut Parts, requirement: &Requirement) -> Result<VerifiedToken, Response> {
    match verify(parts, requirement).await? {
        Some(token) => Ok(token),
        // Only `OPTIONS` passes unverified (Flask's exempt methods); a handler that needs the
        // token cannot run for it.
        None => Err(http::StatusCode::METHOD_NOT_ALLOWED.into_response()),
    }
}

macro_rules! extractor {
    ($(#[$doc:meta])* $name:ident, $requirement:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub VerifiedToken);

        impl Deref for $name {
            type Target = VerifiedToken;
            fn deref(&self) -> &VerifiedToken {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
                required(parts, &$requirement).await.map(Self)
            }
        }
    };
}

extractor!(
    /// An access token is required: `@jwt_required()`. Derefs to [`VerifiedToken`]
    /// (`get_jwt()`, `get_jwt_identity()`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::axum::Json;
    /// use phial_jwt::Jwt;
    ///
    /// async fn protected(jwt: Jwt) -> Json<serde_json::Value> {
    ///     Json(serde_json::json!({ "logged_in_as": jwt.identity() }))
    /// }
    /// ```
    Jwt,
    Requirement::access()
);

extractor!(
    /// A fresh access token is required: `@jwt_required(fresh=True)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::FreshJwt;
    ///
    /// async fn change_password(jwt: FreshJwt) -> String {
    ///     format!("changing the password of {}", jwt.identity())
    /// }
    /// ```
    FreshJwt,
    Requirement::access().fresh()
);

extractor!(
    /// A refresh token is required: `@jwt_required(refresh=True)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtError, MintOptions, RefreshJwt};
    ///
    /// async fn refresh(auth: JwtAuth, jwt: RefreshJwt) -> Result<String, JwtError> {
    ///     auth.create_access_token(jwt.identity(), MintOptions::new())
    /// }
    /// ```
    RefreshJwt,
    Requirement::refresh()
);

/// An access token if one is sent: `@jwt_required(optional=True)`. An invalid, expired or
/// revoked token is still refused.
///
/// # Examples
///
/// ```
/// use phial_jwt::OptionalJwt;
///
/// async fn greet(OptionalJwt(jwt): OptionalJwt) -> String {
///     match jwt {
///         Some(jwt) => format!("hello {}", jwt.identity()),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OptionalJwt(pub Option<VerifiedToken>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalJwt {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        verify(parts, &Requirement::access().optional()).await.map(Self)
    }
}

/// The user of the access token, loaded by the
/// [`user_lookup`](crate::JwtAuthBuilder::user_lookup) callback: `current_user`.
///
/// # Examples
///
/// ```
/// use phial_jwt::JwtUser;
///
/// struct User { name: String }
///
/// async fn me(JwtUser(user): JwtUser<User>) -> String {
///     user.name.clone()
/// }
/// ```
#[derive(Debug)]
pub struct JwtUser<U>(pub Arc<U>);

impl<U: Send + Sync + 'static, S: Send + Sync> FromRequestParts<S> for JwtUser<U> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let token = required(parts, &Requirement::access()).await?;
        token.user::<U>().map(Self).ok_or_else(|| {
            HttpError::internal("JwtUser: no user_lookup callback, or it returns another type").into_response()
        })
    }
}

/// Makes the app's [`JwtAuth`] available to extractors of every request. The
/// [`JwtExtension`](crate::JwtExtension) adds it in stage `Auth`; in a bare axum app, add it
/// around the router.
///
/// # Examples
///
/// ```
/// use phial_core::axum::{Router, routing::get};
/// use phial_jwt::{Jwt, JwtAuth, JwtConfig, JwtLayer};
///
/// async fn whoami(jwt: Jwt) -> String { jwt.identity().to_string() }
///
/// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
/// let app: Router = Router::new().route("/whoami", get(whoami)).layer(JwtLayer::new(auth));
/// # Ok::<(), phial_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtLayer {
    auth: JwtAuth,
}

impl JwtLayer {
    /// A layer that hands `auth` to each request.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let layer = phial_jwt::JwtLayer::new(auth);
    /// # let _ = layer;
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn new(auth: JwtAuth) -> Self {
        Self { auth }
    }
}

impl<S> tower::Layer<S> for JwtLayer {
    type Service = JwtService<S>;

    fn layer(&self, inner: S) -> JwtService<S> {
        JwtService { inner, auth: self.auth.clone() }
    }
}

/// The service of [`JwtLayer`].
///
/// # Examples
///
/// ```
/// use phial_core::tower::Layer as _;
/// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
/// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
/// let service = phial_jwt::JwtLayer::new(auth).layer(phial_core::tower::service_fn(|_: phial_core::axum::extract::Request| async {
///     Ok::<_, std::convert::Infallible>("ok")
/// }));
/// # let _ = service;
/// # Ok::<(), phial_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtService<S> {
    inner: S,
    auth: JwtAuth,
}

impl<S: tower::Service<Request>> tower::Service<Request> for JwtService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> S::Future {
        request.extensions_mut().insert(self.auth.clone());
        self.inner.call(request)
    }
}

/// Guards every route it wraps: `@jwt_required(...)` as a layer, e.g. on a blueprint. The
/// verified token is then available to handlers ([`Jwt`] and its siblings reuse it). It
/// reads JSON bodies (up to 1 `MiB`) when location `json` is configured, and urlencoded forms
/// for the CSRF field when `csrf_check_form` is on.
///
/// Needs a [`JwtLayer`] outside it (the extension adds one).
///
/// # Examples
///
/// ```
/// use phial_core::axum::{Router, routing::get};
/// use phial_jwt::{JwtRequiredLayer, Requirement};
///
/// let admin: Router = Router::new()
///     .route("/admin/stats", get(|| async { "ok" }))
///     .layer(JwtRequiredLayer::new(Requirement::access().fresh()));
/// ```
#[derive(Debug, Clone)]
pub struct JwtRequiredLayer {
    requirement: Arc<Requirement>,
}

impl JwtRequiredLayer {
    /// A layer requiring `requirement`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement};
    /// let layer = JwtRequiredLayer::new(Requirement::refresh());
    /// # let _ = layer;
    /// ```
    pub fn new(requirement: Requirement) -> Self {
        Self { requirement: Arc::new(requirement) }
    }
}

impl<S> tower::Layer<S> for JwtRequiredLayer {
    type Service = JwtRequiredService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtRequiredService { inner, requirement: Arc::clone(&self.requirement) }
    }
}

/// The service of [`JwtRequiredLayer`].
///
/// # Examples
///
/// ```
/// use phial_core::tower::Layer as _;
/// use phial_jwt::{JwtRequiredLayer, Requirement};
/// let service = JwtRequiredLayer::new(Requirement::access()).layer(phial_core::tower::service_fn(|_: phial_core::axum::extract::Request| async {
///     Ok::<_, std::convert::Infallible>(phial_core::axum::response::Response::new(phial_core::axum::body::Body::empty()))
/// }));
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct JwtRequiredService<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

/// Largest body read to find a token (JSON) or a CSRF field (form) in it.
const MAX_BODY: usize = 1024 * 1024;

/// Reads the JSON body when location `json` applies, or the urlencoded form when
/// `csrf_check_form` applies to an unsafe method, and gives the body back whole.
async fn read_body(
    auth: &JwtAuth,
    requirement: &Requirement,
    parts: &Parts,
    body: Body,
) -> Result<(BodyValues, Body), Response> {
    let config = auth.config();
    let locations = requirement.locations.as_deref().unwrap_or(&config.token_location);
    let wants_json = locations.contains(&TokenLocation::Json) && is_json(&parts.headers);
    let wants_form = config.csrf_check_form
        && config.cookie_csrf_protect
        && locations.contains(&TokenLocation::Cookies)
        && config.csrf_methods.iter().any(|m| m.eq_ignore_ascii_case(parts.method.as_str()))
        && is_form(&parts.headers);
    if !wants_json && !wants_form {
        return Ok((BodyValues::default(), body));
    }
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| http::StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let values = BodyValues {
        json: wants_json.then(|| serde_json::from_slice(&bytes).ok()).flatten(),
        form: wants_form.then(|| form_urlencoded::parse(&bytes).into_owned().collect()),
    };
    Ok((values, Body::from(bytes)))
}

fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim() == "application/x-www-form-urlencoded"))
}

impl<S> tower::Service<Request> for JwtRequiredService<S>
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
        // The service that was polled ready handles this request; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let Some(auth) = parts.extensions.get::<JwtAuth>().cloned() else {
                return Ok(HttpError::internal("JwtRequiredLayer needs JwtLayer outside it").into_response());
            };
            let (values, body) = match read_body(&auth, &requirement, &parts, body).await {
                Ok(read) => read,
                Err(refused) => return Ok(refused),
            };
            match auth.verify_parts(&parts, &values, &requirement).await {
                Ok(Some(token)) => {
                    parts.extensions.insert(token);
                }
                Ok(None) => {}
                Err((err, token)) => return Ok(auth.error_response(&err, token.as_ref())),
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
