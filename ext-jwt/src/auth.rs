//! [`JwtAuth`]: the app's keys, settings and callbacks; mints and decodes tokens.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use phial_core::axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::blocklist::Blocklist;
use crate::builder::Callbacks;
use crate::config::JwtConfig;
use crate::error::JwtError;
use crate::mint::{Fresh, Lifetime, MintOptions};
use crate::token::{self, ClaimRules, DecodedToken, OrderedClaims};

pub(crate) struct Inner {
    pub(crate) config: JwtConfig,
    pub(crate) algorithm: Algorithm,
    pub(crate) decode_algorithms: Vec<Algorithm>,
    pub(crate) encoding_key: EncodingKey,
    pub(crate) decoding_key: DecodingKey,
    pub(crate) signing_kid: Option<String>,
    pub(crate) kid_keys: std::collections::HashMap<String, DecodingKey>,
    pub(crate) callbacks: Callbacks,
    pub(crate) blocklist: RwLock<Arc<dyn Blocklist>>,
}

/// The app's JWT handle: Flask-JWT-Extended's `JWTManager` plus `create_access_token`,
/// `decode_token` and friends. Cheap to clone.
///
/// In a phial app, [`JwtExtension`](crate::JwtExtension) builds it from `[jwt]` and handlers
/// extract it; in a bare axum app, build one and add [`JwtLayer`](crate::JwtLayer).
///
/// # Examples
///
/// ```
/// use phial_jwt::{JwtAuth, JwtConfig, MintOptions, Fresh};
///
/// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
/// let access = auth.create_access_token("alice", MintOptions::new().fresh(Fresh::Yes))?;
/// let refresh = auth.create_refresh_token("alice", MintOptions::new())?;
/// assert_eq!(auth.decode_token(&refresh, false)?.token_type(), "refresh");
/// assert_eq!(auth.decode_token(&access, false)?.claims()["fresh"], true);
/// # Ok::<(), phial_jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtAuth(pub(crate) Arc<Inner>);

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth").field("algorithm", &self.0.algorithm).finish_non_exhaustive()
    }
}

impl JwtAuth {
    /// The time tokens are minted and checked at: the [clock](crate::JwtAuthBuilder::clock)
    /// set for tests, else the system's.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// assert!(auth.now() <= time::OffsetDateTime::now_utc());
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn now(&self) -> time::OffsetDateTime {
        self.0.callbacks.clock.as_ref().map_or_else(time::OffsetDateTime::now_utc, |clock| clock())
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// assert_eq!(auth.config().access_token_expires, 900);
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn config(&self) -> &JwtConfig {
        &self.0.config
    }

    /// The revocation store.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// assert!(!auth.blocklist().contains(&["jti:x".to_owned()]).await.unwrap());
    /// # Ok::<(), phial_jwt::JwtError>(()) }).unwrap();
    /// ```
    pub fn blocklist(&self) -> Arc<dyn Blocklist> {
        match self.0.blocklist.read() {
            Ok(store) => Arc::clone(&store),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the revocation store (the extension does this at start for Redis, whose
    /// connection only exists then).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// auth.set_blocklist(std::sync::Arc::new(phial_jwt::MemoryBlocklist::new(10)));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn set_blocklist(&self, store: Arc<dyn Blocklist>) {
        match self.0.blocklist.write() {
            Ok(mut slot) => *slot = store,
            Err(poisoned) => *poisoned.into_inner() = store,
        }
    }

    /// `create_access_token(identity, ...)`.
    ///
    /// # Errors
    ///
    /// [`JwtError::ReservedClaim`] when an additional claim would replace a reserved one,
    /// [`JwtError::Mint`] when signing fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new())?;
    /// assert_eq!(auth.decode_token(&token, false)?.token_type(), "access");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn create_access_token(&self, identity: impl Serialize, options: MintOptions) -> Result<String, JwtError> {
        self.mint(identity, "access", options, Duration::from_secs(self.0.config.access_token_expires))
    }

    /// `create_refresh_token(identity, ...)`.
    ///
    /// # Errors
    ///
    /// As [`create_access_token`](Self::create_access_token).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_refresh_token("alice", MintOptions::new())?;
    /// assert_eq!(auth.decode_token(&token, false)?.token_type(), "refresh");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn create_refresh_token(&self, identity: impl Serialize, options: MintOptions) -> Result<String, JwtError> {
        self.mint(identity, "refresh", options, Duration::from_secs(self.0.config.refresh_token_expires))
    }

    /// Mints a token: Flask-JWT-Extended's `_encode_jwt` with reserved claims protected.
    pub(crate) fn mint(
        &self,
        identity: impl Serialize,
        token_type: &str,
        options: MintOptions,
        configured: Duration,
    ) -> Result<String, JwtError> {
        let config = &self.0.config;
        let callbacks = &self.0.callbacks;
        let identity = serde_json::to_value(identity).map_err(|err| JwtError::Mint(err.to_string()))?;
        let loaders = !options.raw;
        let mut headers =
            callbacks.additional_headers.as_ref().filter(|_| loaders).map(|f| f(&identity)).unwrap_or_default();
        headers.extend(options.headers);
        let mut extra =
            callbacks.additional_claims.as_ref().filter(|_| loaders).map(|f| f(&identity)).unwrap_or_default();
        extra.extend(options.claims);
        let subject = callbacks.identity.as_ref().filter(|_| loaders).map_or(identity.clone(), |f| f(&identity));
        let now = self.now();
        let iat = now.unix_timestamp();
        let fresh = match options.fresh {
            Fresh::No => Value::Bool(false),
            Fresh::Yes => Value::Bool(true),
            Fresh::For(lifetime) => Value::from(crate::request::timestamp_f64(now) + lifetime.as_secs_f64()),
        };
        let s = |v: &str| Value::String(v.to_owned());
        let mut claims: Vec<(String, Value)> = vec![
            ("fresh".into(), fresh),
            ("iat".into(), iat.into()),
            ("jti".into(), s(&uuid::Uuid::new_v4().to_string())),
            ("type".into(), s(token_type)),
            (config.identity_claim.clone(), subject),
        ];
        if config.encode_nbf {
            claims.push(("nbf".into(), iat.into()));
        }
        // As Flask-JWT-Extended: whenever cookie CSRF protection is on, whatever the locations, so a
        // token minted for headers also works as a cookie.
        if config.cookie_csrf_protect {
            claims.push(("csrf".into(), s(&uuid::Uuid::new_v4().to_string())));
        }
        match config.encode_audience.as_slice() {
            [] => {}
            [one] => claims.push(("aud".into(), s(one))),
            many => claims.push(("aud".into(), many.iter().map(|a| s(a)).collect())),
        }
        if let Some(iss) = &config.encode_issuer {
            claims.push(("iss".into(), s(iss)));
        }
        let lifetime = match options.expires {
            Lifetime::Configured => (!configured.is_zero()).then_some(configured),
            Lifetime::For(lifetime) => Some(lifetime),
            Lifetime::Never => None,
        };
        if let Some(lifetime) = lifetime {
            let seconds = i64::try_from(lifetime.as_secs()).map_err(|_| JwtError::Mint("lifetime too long".into()))?;
            claims.push(("exp".into(), (iat + seconds).into()));
        }
        if let Some(family) = options.family {
            claims.push(("family".into(), Value::String(family)));
        }
        for (name, value) in extra {
            if RESERVED.contains(&name.as_str()) || claims.iter().any(|(n, _)| *n == name) {
                return Err(JwtError::ReservedClaim(name));
            }
            claims.push((name, value));
        }
        if headers.contains_key("alg") {
            return Err(JwtError::ReservedClaim("alg (header)".into()));
        }
        let mut header = Map::new();
        header.insert("typ".into(), s("JWT"));
        if let Some(kid) = &self.0.signing_kid {
            header.insert("kid".into(), s(kid));
        }
        header.extend(headers);
        header.insert("alg".into(), serde_json::to_value(self.0.algorithm).unwrap_or_else(|_| s("HS256")));
        token::encode(&header, &OrderedClaims(claims), &self.0.encoding_key, self.0.algorithm)
    }

    /// `decode_token(encoded_token, allow_expired=False)`: verifies the signature and the
    /// registered claims. It does not check the token's type, freshness or revocation.
    ///
    /// # Errors
    ///
    /// The [`JwtError`] Flask-JWT-Extended would raise.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new())?;
    /// assert_eq!(auth.decode_token(&token, false)?.claims()["sub"], "alice");
    /// assert_eq!(auth.decode_token("garbage", false).unwrap_err().to_string(), "Not enough segments");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn decode_token(&self, token: &str, allow_expired: bool) -> Result<DecodedToken, JwtError> {
        let config = &self.0.config;
        let unverified = token::split(token)?;
        let algorithm = unverified.algorithm(&self.0.decode_algorithms)?;
        let key = unverified
            .header
            .get("kid")
            .and_then(Value::as_str)
            .and_then(|kid| self.0.kid_keys.get(kid))
            .unwrap_or(&self.0.decoding_key);
        let decoded = unverified.verify(key, algorithm)?;
        let rules = ClaimRules {
            now: self.now().unix_timestamp(),
            leeway: i64::try_from(config.decode_leeway).unwrap_or(i64::MAX / 2),
            verify_exp: !allow_expired,
            issuer: config.decode_issuer.as_deref(),
            audience: &config.decode_audience,
            verify_sub: config.verify_sub,
        };
        token::check_claims(&decoded.claims, &rules)?;
        if !decoded.claims.contains_key(&config.identity_claim) {
            return Err(JwtError::Invalid(format!("Missing claim: {}", config.identity_claim)));
        }
        Ok(decoded)
    }

    /// The identity of a decoded token: its `identity_claim` (`get_jwt_identity()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(auth.identity(&token), "alice");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn identity<'a>(&self, token: &'a DecodedToken) -> &'a Value {
        token.claims.get(&self.0.config.identity_claim).unwrap_or(&Value::Null)
    }

    /// The response for `error`: the registered handler for its kind, or
    /// Flask-JWT-Extended's `{"msg": ...}` (or RFC 6750's 401 with `WWW-Authenticate`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let response = auth.error_response(&phial_jwt::JwtError::Expired, None);
    /// assert_eq!(response.status(), 401);
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn error_response(&self, error: &JwtError, token: Option<&DecodedToken>) -> Response {
        if let Some(handler) = self.0.callbacks.handlers.get(&error.kind()) {
            return handler(error, token);
        }
        crate::respond::default_response(&self.0.config, error)
    }
}

/// Claims phial-jwt sets itself; additional claims may not replace them.
const RESERVED: &[&str] = &["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp", "family"];

pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

pub(crate) fn family_of(token: &DecodedToken) -> Option<String> {
    if token.token_type() != "refresh" {
        return None;
    }
    token.claims.get("family").and_then(Value::as_str).or_else(|| token.jti()).map(str::to_owned)
}

impl IntoResponse for JwtError {
    fn into_response(self) -> Response {
        crate::respond::default_response(&JwtConfig::default(), &self)
    }
}
