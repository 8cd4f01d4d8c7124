//! Revocation on [`JwtAuth`]: logout, and refresh-token rotation with reuse detection.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::auth::{JwtAuth, family_of, is_reserved};
use crate::error::JwtError;
use crate::mint::MintOptions;
use crate::token::DecodedToken;

impl JwtAuth {
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
        let until = i64::try_from(self.0.config.refresh_token_expires)
            .ok()
            .filter(|s| *s > 0)
            .map(|s| self.now().unix_timestamp() + s);
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
            .filter(|(name, _)| !is_reserved(name) && *name != &self.0.config.identity_claim && *name != "family")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let options = MintOptions { claims: carried, family: Some(family), raw: true, ..MintOptions::new() };
        self.mint(identity, "refresh", options, Duration::from_secs(self.0.config.refresh_token_expires))
    }
}
