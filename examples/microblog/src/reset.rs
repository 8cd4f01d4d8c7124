//! Password-reset tokens (`User.get_reset_password_token` / `verify_reset_password_token`):
//! a JWT signed with HS256 and `SECRET_KEY`, valid ten minutes, whose `reset_password` claim
//! is the user's id, minted and checked with phial-jwt.
//!
//! phial-jwt mints Flask-JWT-Extended's shape, so a token also carries `fresh`, `iat`, `jti`
//! and `type` beside the original's `reset_password` and `exp`; the original's
//! `jwt.decode(...)['reset_password']` ignores them, and tokens the original minted (only
//! `reset_password` and `exp`) verify here, so both apps accept each other's links.

use std::time::Duration;

use phial::jwt::{JwtAuth, JwtConfig, MintOptions};
use phial::prelude::*;

/// How long a reset link works: the original's `expires_in=600`.
pub const RESET_TOKEN_LIFETIME: Duration = Duration::from_mins(10);

/// Mints and checks reset tokens; registered as state by [`ResetTokensExtension`].
#[derive(Clone)]
pub struct ResetTokens(JwtAuth);

impl std::fmt::Debug for ResetTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetTokens").finish_non_exhaustive()
    }
}

impl ResetTokens {
    /// Tokens signed with `secret_key` (HS256).
    ///
    /// # Errors
    ///
    /// An empty secret.
    pub fn new(secret_key: Secret) -> Result<Self, phial::jwt::JwtError> {
        let mut config = JwtConfig::default();
        // The original's claim name; no `nbf` or `csrf` claims (nothing here reads them).
        "reset_password".clone_into(&mut config.identity_claim);
        config.encode_nbf = false;
        config.cookie_csrf_protect = false;
        Ok(Self(JwtAuth::builder(config).secret(secret_key).build()?))
    }

    /// `user.get_reset_password_token()`.
    ///
    /// # Errors
    ///
    /// Signing failed.
    pub fn mint(&self, user_id: i32) -> Result<String, phial::jwt::JwtError> {
        self.0.create_access_token(user_id, MintOptions::new().expires_in(RESET_TOKEN_LIFETIME))
    }

    /// `User.verify_reset_password_token(token)`: the user id of a well-signed, unexpired
    /// token, or `None` (any failure, as the original's bare `except`).
    pub fn verify(&self, token: &str) -> Option<i32> {
        let decoded = self.0.decode_token(token, false).ok()?;
        let id = decoded.claims().get("reset_password")?.as_i64()?;
        i32::try_from(id).ok()
    }
}

/// Registers [`ResetTokens`] keyed with `app.secret_key`.
#[derive(Debug, Default)]
pub struct ResetTokensExtension;

impl Extension for ResetTokensExtension {
    const NAME: &'static str = "reset_tokens";
    type Config = ();

    fn build(&self, _config: &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        let tokens = ResetTokens::new(ctx.app_config().secret_key.clone())
            .map_err(|err| Error::config("app.secret_key", err.to_string()))?;
        ctx.state(tokens);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn tokens() -> ResetTokens {
        ResetTokens::new(Secret::new("a test secret key that is long enough")).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_minted_token_names_the_user_and_expires_in_ten_minutes() {
        let tokens = tokens();
        let token = tokens.mint(42).unwrap_or_else(|_| unreachable!());
        assert_eq!(tokens.verify(&token), Some(42));
        let payload = token.split('.').nth(1).unwrap_or_default();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(claims["reset_password"], 42);
        let lifetime = claims["exp"].as_i64().unwrap_or_default() - claims["iat"].as_i64().unwrap_or_default();
        assert_eq!(lifetime, 600);
    }

    #[test]
    fn a_token_in_the_original_shape_verifies_until_it_expires() {
        // PyJWT's `jwt.encode({'reset_password': 7, 'exp': ...}, key, algorithm='HS256')`,
        // valid until 2100, and the same claims expired in 2017.
        let valid = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyZXNldF9wYXNzd29yZCI6NywiZXhwIjo0MTAyNDQ0ODAwfQ.\
                     owLdUHVa0dm7SU7l5hjWU_uP6QKul3pCC1oN2THLJfA";
        let expired = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyZXNldF9wYXNzd29yZCI6NywiZXhwIjoxNTAwMDAwMDAwfQ.\
                       BCmSDdHzmRVvX_6cBawMBBIhLv-bjZTd6vt1D4DxiTM";
        assert_eq!(tokens().verify(valid), Some(7));
        assert_eq!(tokens().verify(expired), None);
    }

    #[test]
    fn tampered_foreign_and_garbage_tokens_are_refused() {
        let tokens = tokens();
        let token = tokens.mint(1).unwrap_or_else(|_| unreachable!());
        let other = ResetTokens::new(Secret::new("another secret key that is long enough"))
            .unwrap_or_else(|_| unreachable!())
            .mint(1)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(tokens.verify(&other), None);
        assert_eq!(tokens.verify(&format!("{token}x")), None);
        assert_eq!(tokens.verify("garbage"), None);
    }
}
