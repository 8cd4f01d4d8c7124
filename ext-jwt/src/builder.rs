//! [`JwtAuthBuilder`]: keys, callbacks (Flask-JWT-Extended's loaders) and the blocklist of a
//! [`JwtAuth`].

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr as _;
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use phial_core::Secret;
use phial_core::axum::response::Response;
use serde_json::{Map, Value};

use crate::auth::{Inner, JwtAuth};
use crate::blocklist::{Blocklist, MemoryBlocklist};
use crate::config::JwtConfig;
use crate::error::{ErrorKind, JwtError};
use crate::token::DecodedToken;

/// A clock for tests: what [`JwtAuth::now`] returns.
pub(crate) type ClockFn = Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;
type ClaimsFn = Arc<dyn Fn(&Value) -> Map<String, Value> + Send + Sync>;
type IdentityFn = Arc<dyn Fn(&Value) -> Value + Send + Sync>;
type CheckFn = Arc<dyn Fn(&DecodedToken) -> bool + Send + Sync>;
type HandlerFn = Arc<dyn Fn(&JwtError, Option<&DecodedToken>) -> Response + Send + Sync>;
/// The user lookup callback: finds the user of a verified token.
///
/// # Examples
///
/// ```
/// use phial_jwt::JwtExtension;
///
/// let ext = JwtExtension::new().user_lookup(|token| async move { token.claims()["sub"].as_str().map(str::to_owned) });
/// # let _ = ext;
/// ```
pub type UserLookupFn =
    Arc<dyn Fn(DecodedToken) -> BoxFuture<'static, Option<Arc<dyn std::any::Any + Send + Sync>>> + Send + Sync>;

/// Flask-JWT-Extended's loaders, registered on [`JwtAuthBuilder`].
#[derive(Default, Clone)]
pub(crate) struct Callbacks {
    pub(crate) identity: Option<IdentityFn>,
    pub(crate) additional_claims: Option<ClaimsFn>,
    pub(crate) additional_headers: Option<ClaimsFn>,
    pub(crate) in_blocklist: Option<CheckFn>,
    pub(crate) verification: Option<CheckFn>,
    pub(crate) user_lookup: Option<UserLookupFn>,
    pub(crate) handlers: HashMap<ErrorKind, HandlerFn>,
    pub(crate) clock: Option<ClockFn>,
}

/// Builds a [`JwtAuth`]: keys and callbacks. [`JwtExtension`](crate::JwtExtension) has the
/// same callback methods.
///
/// # Examples
///
/// ```
/// use phial_jwt::{JwtAuth, JwtConfig};
///
/// let auth = JwtAuth::builder(JwtConfig::default())
///     .secret("s3cret")
///     .additional_claims(|identity| {
///         let mut claims = serde_json::Map::new();
///         claims.insert("is_admin".into(), (identity == "admin").into());
///         claims
///     })
///     .build()?;
/// # let _ = auth;
/// # Ok::<(), phial_jwt::JwtError>(())
/// ```
#[must_use]
pub struct JwtAuthBuilder {
    config: JwtConfig,
    fallback_secret: Option<Secret>,
    kid_keys: Vec<(String, Secret)>,
    signing_kid: Option<String>,
    pub(crate) callbacks: Callbacks,
    blocklist: Option<Arc<dyn Blocklist>>,
}

impl fmt::Debug for JwtAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthBuilder").finish_non_exhaustive()
    }
}

macro_rules! callback_methods {
    () => {
        /// `user_identity_loader`: turns the identity given to `create_*_token` (serialized
        /// to JSON) into the `sub` claim, e.g. a user object into its id.
        ///
        /// # Examples
        ///
        /// ```
        /// let ext = phial_jwt::JwtExtension::new().user_identity_loader(|user| user["id"].to_string().into());
        /// # let _ = ext;
        /// ```
        pub fn user_identity_loader(
            mut self,
            f: impl Fn(&serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
        ) -> Self {
            self.callbacks_mut().identity = Some(std::sync::Arc::new(f));
            self
        }

        /// `additional_claims_loader`: claims added to every minted token (after the
        /// identity loader, before per-call claims).
        ///
        /// # Examples
        ///
        /// ```
        /// let ext = phial_jwt::JwtExtension::new().additional_claims(|identity| {
        ///     let mut claims = serde_json::Map::new();
        ///     claims.insert("is_admin".into(), (identity == "admin").into());
        ///     claims
        /// });
        /// # let _ = ext;
        /// ```
        pub fn additional_claims(
            mut self,
            f: impl Fn(&serde_json::Value) -> serde_json::Map<String, serde_json::Value> + Send + Sync + 'static,
        ) -> Self {
            self.callbacks_mut().additional_claims = Some(std::sync::Arc::new(f));
            self
        }

        /// `additional_headers_loader`: JOSE header entries added to every minted token.
        ///
        /// # Examples
        ///
        /// ```
        /// let ext = phial_jwt::JwtExtension::new().additional_headers(|_| {
        ///     let mut headers = serde_json::Map::new();
        ///     headers.insert("kid".into(), "2026-01".into());
        ///     headers
        /// });
        /// # let _ = ext;
        /// ```
        pub fn additional_headers(
            mut self,
            f: impl Fn(&serde_json::Value) -> serde_json::Map<String, serde_json::Value> + Send + Sync + 'static,
        ) -> Self {
            self.callbacks_mut().additional_headers = Some(std::sync::Arc::new(f));
            self
        }

        /// `token_in_blocklist_loader`: a synchronous check beside the blocklist store;
        /// `true` revokes.
        ///
        /// # Examples
        ///
        /// ```
        /// let ext = phial_jwt::JwtExtension::new().token_in_blocklist(|token| token.claims()["sub"] == "banned");
        /// # let _ = ext;
        /// ```
        pub fn token_in_blocklist(mut self, f: impl Fn(&$crate::DecodedToken) -> bool + Send + Sync + 'static) -> Self {
            self.callbacks_mut().in_blocklist = Some(std::sync::Arc::new(f));
            self
        }

        /// `token_verification_loader`: `false` refuses the token ("User claims verification
        /// failed", 400).
        ///
        /// # Examples
        ///
        /// ```
        /// let ext = phial_jwt::JwtExtension::new().token_verification(|token| token.claims().contains_key("tenant"));
        /// # let _ = ext;
        /// ```
        pub fn token_verification(mut self, f: impl Fn(&$crate::DecodedToken) -> bool + Send + Sync + 'static) -> Self {
            self.callbacks_mut().verification = Some(std::sync::Arc::new(f));
            self
        }

        /// `user_lookup_loader`: loads the user of each verified token for
        /// [`JwtUser<U>`](crate::JwtUser); `None` answers "Error loading the user `<sub>`" (401).
        ///
        /// # Examples
        ///
        /// ```
        /// struct User { name: String }
        ///
        /// let ext = phial_jwt::JwtExtension::new()
        ///     .user_lookup(|token| async move { token.claims()["sub"].as_str().map(|name| User { name: name.to_owned() }) });
        /// # let _ = ext;
        /// ```
        pub fn user_lookup<U, F, Fut>(mut self, f: F) -> Self
        where
            U: Send + Sync + 'static,
            F: Fn($crate::DecodedToken) -> Fut + Send + Sync + 'static,
            Fut: std::future::Future<Output = Option<U>> + Send + 'static,
        {
            let f = std::sync::Arc::new(f);
            self.callbacks_mut().user_lookup = Some(std::sync::Arc::new(move |token| {
                let fut = f(token);
                Box::pin(async move {
                    fut.await.map(|user| std::sync::Arc::new(user) as std::sync::Arc<dyn std::any::Any + Send + Sync>)
                })
            }));
            self
        }

        /// A clock for tests (Flask-JWT-Extended's tests freeze time with `freezegun`): tokens
        /// are minted, checked for expiry and freshness, and implicitly refreshed at its time.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::sync::{Arc, Mutex};
        /// use std::time::Duration;
        /// use phial_jwt::{JwtAuth, JwtConfig, JwtError, MintOptions};
        ///
        /// let now = Arc::new(Mutex::new(time::OffsetDateTime::now_utc()));
        /// let clock = Arc::clone(&now);
        /// let auth = JwtAuth::builder(JwtConfig::default())
        ///     .secret("s3cret")
        ///     .clock(move || *clock.lock().unwrap())
        ///     .build()?;
        /// let token = auth.create_access_token("alice", MintOptions::new())?;
        /// *now.lock().unwrap() += Duration::from_mins(15);
        /// assert!(matches!(auth.decode_token(&token, false), Err(JwtError::Expired)));
        /// # Ok::<(), JwtError>(())
        /// ```
        pub fn clock(mut self, clock: impl Fn() -> time::OffsetDateTime + Send + Sync + 'static) -> Self {
            self.callbacks_mut().clock = Some(std::sync::Arc::new(clock));
            self
        }

        /// Replaces the response for one kind of error: Flask-JWT-Extended's
        /// `expired_token_loader`, `invalid_token_loader`, `unauthorized_loader`,
        /// `needs_fresh_token_loader`, `revoked_token_loader`, `user_lookup_error_loader`,
        /// `token_verification_failed_loader`. The token is given when one was decoded.
        ///
        /// # Examples
        ///
        /// ```
        /// use phial_core::axum::{Json, response::IntoResponse};
        /// use phial_jwt::{ErrorKind, JwtExtension};
        ///
        /// let ext = JwtExtension::new().error_handler(ErrorKind::Expired, |_, _| {
        ///     (http::StatusCode::UNAUTHORIZED, Json(serde_json::json!({"msg": "The token has expired", "error": "token_expired"}))).into_response()
        /// });
        /// # let _ = ext;
        /// ```
        pub fn error_handler(
            mut self,
            kind: $crate::ErrorKind,
            f: impl Fn(&$crate::JwtError, Option<&$crate::DecodedToken>) -> phial_core::axum::response::Response
            + Send
            + Sync
            + 'static,
        ) -> Self {
            self.callbacks_mut().handlers.insert(kind, std::sync::Arc::new(f));
            self
        }
    };
}
pub(crate) use callback_methods;

impl JwtAuthBuilder {
    fn callbacks_mut(&mut self) -> &mut Callbacks {
        &mut self.callbacks
    }

    callback_methods!();

    /// The HMAC secret when `jwt.secret_key` is empty (the app's `secret_key`, as Flask's
    /// `SECRET_KEY`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// # let _ = auth;
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.fallback_secret = Some(secret.into());
        self
    }

    /// A verification key for tokens whose header names `kid` (key rotation); HMAC secrets, or
    /// PEM public keys for asymmetric algorithms.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig};
    /// // New tokens carry `kid: "2"`; tokens of key "1" still verify.
    /// let auth = JwtAuth::builder(JwtConfig::default())
    ///     .secret("second key")
    ///     .signing_kid("2")
    ///     .decode_key("1", "first key")
    ///     .build()?;
    /// # let _ = auth;
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn decode_key(mut self, kid: impl Into<String>, key: impl Into<Secret>) -> Self {
        self.kid_keys.push((kid.into(), key.into()));
        self
    }

    /// Writes `kid` into the header of minted tokens (the configured key signs them).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").signing_kid("2").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new())?;
    /// assert_eq!(auth.decode_token(&token, false)?.header()["kid"], "2");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn signing_kid(mut self, kid: impl Into<String>) -> Self {
        self.signing_kid = Some(kid.into());
        self
    }

    /// The revocation store (default: a [`MemoryBlocklist`] of `jwt.blocklist.capacity`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use phial_jwt::{JwtAuth, JwtConfig, MemoryBlocklist};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").blocklist(Arc::new(MemoryBlocklist::new(10))).build()?;
    /// # let _ = auth;
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn blocklist(mut self, store: Arc<dyn Blocklist>) -> Self {
        self.blocklist = Some(store);
        self
    }

    /// Checks the config and loads the keys.
    ///
    /// # Errors
    ///
    /// An unknown algorithm, a missing secret or PEM key, a malformed key.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig};
    /// // No secret: an error that says which setting to fill.
    /// assert!(JwtAuth::builder(JwtConfig::default()).build().is_err());
    /// ```
    pub fn build(self) -> Result<JwtAuth, JwtError> {
        let config = self.config;
        let algorithm = parse_alg(&config.algorithm)?;
        let decode_algorithms = if config.decode_algorithms.is_empty() {
            vec![algorithm]
        } else {
            config.decode_algorithms.iter().map(|a| parse_alg(a)).collect::<Result<Vec<_>, _>>()?
        };
        // One decoding key serves every accepted algorithm, so they must share its family.
        if let Some(other) = decode_algorithms.iter().find(|a| a.family() != algorithm.family()) {
            return Err(JwtError::Config(format!(
                "jwt.decode_algorithms has {other:?}, which cannot use the key of jwt.algorithm = {algorithm:?}"
            )));
        }
        if config.token_location.is_empty() {
            return Err(JwtError::Config("jwt.token_location is empty: list at least one location".into()));
        }
        let secret = if config.secret_key.is_empty() {
            self.fallback_secret.unwrap_or_default()
        } else {
            config.secret_key.clone()
        };
        let (encoding_key, decoding_key) = keys(algorithm, &secret, &config)?;
        let kid_keys = self
            .kid_keys
            .iter()
            .map(|(kid, key)| Ok((kid.clone(), decoding_key_for(algorithm, key.expose())?)))
            .collect::<Result<_, JwtError>>()?;
        let store = self.blocklist.unwrap_or_else(|| Arc::new(MemoryBlocklist::new(config.blocklist.capacity)));
        let blocklist = RwLock::new(store);
        Ok(JwtAuth(Arc::new(Inner {
            config,
            algorithm,
            decode_algorithms,
            encoding_key,
            decoding_key,
            signing_kid: self.signing_kid,
            kid_keys,
            callbacks: self.callbacks,
            blocklist,
        })))
    }

    pub(crate) fn from_parts(config: JwtConfig, callbacks: Callbacks) -> Self {
        Self { callbacks, ..JwtAuth::builder(config) }
    }
}

fn parse_alg(name: &str) -> Result<Algorithm, JwtError> {
    Algorithm::from_str(name).map_err(|_| JwtError::Config(format!("unknown algorithm `{name}` in jwt.algorithm")))
}

fn keys(algorithm: Algorithm, secret: &Secret, config: &JwtConfig) -> Result<(EncodingKey, DecodingKey), JwtError> {
    let bad = |what: &str, err: jsonwebtoken::errors::Error| JwtError::Config(format!("{what}: {err}"));
    match algorithm.family() {
        AlgorithmFamily::Hmac => {
            if secret.is_empty() {
                return Err(JwtError::Config(
                    "no JWT secret: set jwt.secret_key (JWT_SECRET_KEY) or app.secret_key".into(),
                ));
            }
            let bytes = secret.expose().as_bytes();
            if bytes.len() < 32 {
                // RFC 7518 §3.2, and PyJWT's InsecureKeyLengthWarning.
                tracing::warn!(
                    bytes = bytes.len(),
                    "the JWT HMAC secret is shorter than 32 bytes; use a longer random key"
                );
            }
            Ok((EncodingKey::from_secret(bytes), DecodingKey::from_secret(bytes)))
        }
        family => {
            let private = config.private_key.expose().as_bytes();
            let encoding = match family {
                AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(private),
                AlgorithmFamily::Ec => EncodingKey::from_ec_pem(private),
                _ => EncodingKey::from_ed_pem(private),
            }
            .map_err(|err| bad("jwt.private_key (JWT_PRIVATE_KEY)", err))?;
            Ok((encoding, decoding_key_for(algorithm, &config.public_key)?))
        }
    }
}

fn decoding_key_for(algorithm: Algorithm, key: &str) -> Result<DecodingKey, JwtError> {
    let bad = |err: jsonwebtoken::errors::Error| JwtError::Config(format!("jwt.public_key (JWT_PUBLIC_KEY): {err}"));
    match algorithm.family() {
        AlgorithmFamily::Hmac => Ok(DecodingKey::from_secret(key.as_bytes())),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(key.as_bytes()).map_err(bad),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(key.as_bytes()).map_err(bad),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(key.as_bytes()).map_err(bad),
    }
}

impl JwtAuth {
    /// A builder over `config`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// # let _ = auth;
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn builder(config: JwtConfig) -> JwtAuthBuilder {
        JwtAuthBuilder {
            config,
            fallback_secret: None,
            kid_keys: Vec::new(),
            signing_kid: None,
            callbacks: Callbacks::default(),
            blocklist: None,
        }
    }
}
