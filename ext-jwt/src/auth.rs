//! [`JwtAuth`]: the app's keys, settings and callbacks; mints and decodes tokens.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use phial_core::Secret;
use phial_core::axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::blocklist::{Blocklist, MemoryBlocklist, now};
use crate::config::JwtConfig;
use crate::error::{ErrorKind, JwtError};
use crate::token::{self, ClaimRules, DecodedToken, OrderedClaims};

/// `fresh` of a minted token: Flask-JWT-Extended's `fresh=True/False/timedelta`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_jwt::{Fresh, MintOptions};
///
/// let options = MintOptions::new().fresh(Fresh::For(Duration::from_mins(10)));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fresh {
    /// `"fresh": false`.
    #[default]
    No,
    /// `"fresh": true`.
    Yes,
    /// `"fresh": <now + duration as a float timestamp>`: fresh until then.
    For(Duration),
}

/// Options of one minted token: `create_access_token(identity, fresh=..., expires_delta=...,
/// additional_claims=..., additional_headers=...)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_jwt::{Fresh, MintOptions};
///
/// let options = MintOptions::new()
///     .fresh(Fresh::Yes)
///     .expires_in(Duration::from_secs(60))
///     .claim("role", "admin");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MintOptions {
    fresh: Fresh,
    expires: Lifetime,
    claims: Map<String, Value>,
    headers: Map<String, Value>,
    /// Set by rotation: the refresh family, and no loaders (the claims are carried over).
    family: Option<String>,
    raw: bool,
}

impl MintOptions {
    /// Defaults: not fresh, the configured lifetime, no extra claims or headers.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = phial_jwt::MintOptions::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// `fresh=`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{Fresh, MintOptions};
    /// let options = MintOptions::new().fresh(Fresh::Yes);
    /// # let _ = options;
    /// ```
    pub fn fresh(mut self, fresh: Fresh) -> Self {
        self.fresh = fresh;
        self
    }

    /// `expires_delta=`: this lifetime instead of the configured one.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = phial_jwt::MintOptions::new().expires_in(std::time::Duration::from_hours(1));
    /// # let _ = options;
    /// ```
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires = Lifetime::For(lifetime);
        self
    }

    /// `expires_delta=False`: a token without `exp`. Only for tokens you revoke by hand.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_access_token("robot", MintOptions::new().never_expires())?;
    /// assert!(auth.decode_token(&token, false)?.expires_at().is_none());
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn never_expires(mut self) -> Self {
        self.expires = Lifetime::Never;
        self
    }

    /// One `additional_claims` entry; a reserved claim name makes minting fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new().claim("role", "admin"))?;
    /// assert_eq!(auth.decode_token(&token, false)?.claims()["role"], "admin");
    /// // Reserved claims cannot be replaced:
    /// assert!(auth.create_access_token("alice", MintOptions::new().claim("type", "refresh")).is_err());
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// `additional_claims=`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut claims = serde_json::Map::new();
    /// claims.insert("tenant".into(), 7.into());
    /// let options = phial_jwt::MintOptions::new().claims(claims);
    /// # let _ = options;
    /// ```
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims.extend(claims);
        self
    }

    /// Mints without the loaders: the identity is already the subject and the claims are
    /// carried over from an earlier token.
    pub(crate) fn raw(mut self) -> Self {
        self.raw = true;
        self
    }

    /// One `additional_headers` entry (`alg` cannot be set this way).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.create_access_token("alice", MintOptions::new().header("kid", "2026-01"))?;
    /// assert_eq!(auth.decode_token(&token, false)?.header()["kid"], "2026-01");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// A minted token's lifetime.
#[derive(Debug, Clone, Copy, Default)]
enum Lifetime {
    /// `jwt.access_token_expires` / `jwt.refresh_token_expires`.
    #[default]
    Configured,
    For(Duration),
    Never,
}

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
}

pub(crate) struct Inner {
    pub(crate) config: JwtConfig,
    algorithm: Algorithm,
    decode_algorithms: Vec<Algorithm>,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    signing_kid: Option<String>,
    kid_keys: HashMap<String, DecodingKey>,
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
            config.decode_algorithms.iter().map(|a| parse_alg(a)).collect::<Result<_, _>>()?
        };
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
    Algorithm::from_str(name).map_err(|_| JwtError::Mint(format!("unknown algorithm `{name}` in jwt.algorithm")))
}

fn keys(algorithm: Algorithm, secret: &Secret, config: &JwtConfig) -> Result<(EncodingKey, DecodingKey), JwtError> {
    let bad = |what: &str, err: jsonwebtoken::errors::Error| JwtError::Mint(format!("{what}: {err}"));
    match algorithm.family() {
        AlgorithmFamily::Hmac => {
            if secret.is_empty() {
                return Err(JwtError::Mint(
                    "no JWT secret: set jwt.secret_key (JWT_SECRET_KEY) or app.secret_key".into(),
                ));
            }
            let bytes = secret.expose().as_bytes();
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
    let bad = |err: jsonwebtoken::errors::Error| JwtError::Mint(format!("jwt.public_key (JWT_PUBLIC_KEY): {err}"));
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
        let now = time::OffsetDateTime::now_utc();
        let iat = now.unix_timestamp();
        let fresh = match options.fresh {
            Fresh::No => Value::Bool(false),
            Fresh::Yes => Value::Bool(true),
            Fresh::For(lifetime) => Value::from(crate::request::now_f64() + lifetime.as_secs_f64()),
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
        if config.cookie_csrf_protect && config.token_location.contains(&crate::TokenLocation::Cookies) {
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
            now: now(),
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

    /// Whether the token is revoked: its `jti` or its refresh family in the store, or the
    /// `token_in_blocklist` callback says so.
    ///
    /// # Errors
    ///
    /// [`JwtError::Store`] when the store fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert!(!auth.is_revoked(&token).await?);
    /// # Ok::<(), phial_jwt::JwtError>(()) }).unwrap();
    /// ```
    pub async fn is_revoked(&self, token: &DecodedToken) -> Result<bool, JwtError> {
        if self.0.callbacks.in_blocklist.as_ref().is_some_and(|f| f(token)) {
            return Ok(true);
        }
        let mut keys = Vec::with_capacity(2);
        if let Some(jti) = token.jti() {
            keys.push(format!("jti:{jti}"));
        }
        if let Some(family) = family_of(token) {
            keys.push(format!("family:{family}"));
        }
        if keys.is_empty() {
            return Ok(false);
        }
        self.blocklist().contains(&keys).await.map_err(JwtError::Store)
    }

    /// Revokes a token until it would expire (logout). Revoking a refresh token also revokes
    /// its rotation family.
    ///
    /// # Errors
    ///
    /// [`JwtError::Store`] when the store fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// auth.revoke(&token).await?;
    /// assert!(auth.is_revoked(&token).await?);
    /// # Ok::<(), phial_jwt::JwtError>(()) }).unwrap();
    /// ```
    pub async fn revoke(&self, token: &DecodedToken) -> Result<(), JwtError> {
        let exp = token.expires_at();
        if let Some(jti) = token.jti() {
            self.blocklist().insert(&format!("jti:{jti}"), exp).await.map_err(JwtError::Store)?;
        }
        if token.token_type() == "refresh"
            && let Some(family) = family_of(token)
        {
            self.revoke_family(&family).await?;
        }
        Ok(())
    }

    async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        let until = i64::try_from(self.0.config.refresh_token_expires).ok().filter(|s| *s > 0).map(|s| now() + s);
        self.blocklist().insert(&format!("family:{family}"), until).await.map_err(JwtError::Store)?;
        Ok(())
    }

    /// Refresh-token rotation: marks `refresh` used and mints a new refresh token in the same
    /// family (claim `family`). A refresh token presented a second time is a stolen copy or a
    /// replay: its whole family is revoked, and the caller gets [`JwtError::Revoked`].
    ///
    /// # Errors
    ///
    /// [`JwtError::Revoked`] on reuse, [`JwtError::Invalid`] for a non-refresh token,
    /// [`JwtError::Store`] when the store fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, JwtError, MintOptions};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let first = auth.decode_token(&auth.create_refresh_token("alice", MintOptions::new())?, false)?;
    /// let second = auth.rotate_refresh_token(&first).await?;
    /// assert!(matches!(auth.rotate_refresh_token(&first).await, Err(JwtError::Revoked)));
    /// // The family is revoked: the newer token is refused too.
    /// assert!(auth.is_revoked(&auth.decode_token(&second, false)?).await?);
    /// # Ok::<(), JwtError>(()) }).unwrap();
    /// ```
    pub async fn rotate_refresh_token(&self, refresh: &DecodedToken) -> Result<String, JwtError> {
        if refresh.token_type() != "refresh" {
            return Err(JwtError::invalid("Only refresh tokens are allowed"));
        }
        let jti = refresh.jti().ok_or_else(|| JwtError::invalid("Missing claim: jti"))?;
        let family = family_of(refresh).unwrap_or_else(|| jti.to_owned());
        let first_use =
            self.blocklist().insert(&format!("used:{jti}"), refresh.expires_at()).await.map_err(JwtError::Store)?;
        if !first_use {
            tracing::warn!(family = %family, "refresh token reused: revoking its family");
            self.revoke_family(&family).await?;
            return Err(JwtError::Revoked);
        }
        let identity = self.identity(refresh).clone();
        let carried: Map<String, Value> = refresh
            .claims
            .iter()
            .filter(|(name, _)| {
                !RESERVED.contains(&name.as_str()) && *name != &self.0.config.identity_claim && *name != "family"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let options = MintOptions { claims: carried, family: Some(family), raw: true, ..MintOptions::new() };
        self.mint(identity, "refresh", options, Duration::from_secs(self.0.config.refresh_token_expires))
    }
}

/// Claims phial-jwt sets itself; additional claims may not replace them.
const RESERVED: &[&str] = &["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp", "family"];

pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

fn family_of(token: &DecodedToken) -> Option<String> {
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
