//! Minting options: [`MintOptions`] and [`Fresh`].

use std::time::Duration;

use serde_json::{Map, Value};

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
    pub(crate) fresh: Fresh,
    pub(crate) expires: Lifetime,
    pub(crate) claims: Map<String, Value>,
    pub(crate) headers: Map<String, Value>,
    /// Set by rotation: the refresh family, and no loaders (the claims are carried over).
    pub(crate) family: Option<String>,
    pub(crate) raw: bool,
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
pub(crate) enum Lifetime {
    /// `jwt.access_token_expires` / `jwt.refresh_token_expires`.
    #[default]
    Configured,
    For(Duration),
    Never,
}
