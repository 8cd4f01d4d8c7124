//! [`JwtExtension`]: `[jwt]`, the [`JwtAuth`] handle and its layer in a phial app.

use std::sync::OnceLock;

use phial_core::prelude::*;

use crate::auth::JwtAuth;
use crate::builder::{Callbacks, JwtAuthBuilder, callback_methods};
use crate::config::JwtConfig;
use crate::extract::JwtLayer;

/// The phial extension for JSON Web Tokens: Flask-JWT-Extended's `JWTManager(app)`.
///
/// - At build it reads `[jwt]` (the secret falls back to `app.secret_key`, as
///   `JWT_SECRET_KEY` falls back to `SECRET_KEY`), loads the keys (a bad algorithm or key is a
///   build error), registers the [`JwtAuth`] handle and adds [`JwtLayer`] in stage `Auth`.
/// - At start, with `jwt.blocklist.store = "redis"` (feature `redis`), it moves the
///   blocklist to phial-core's shared Redis connection; the extension is ordered after
///   `redis`.
///
/// Callbacks (Flask-JWT-Extended's loaders) are registered on the extension.
///
/// # Examples
///
/// ```no_run
/// use phial_core::axum::{Json, routing::get};
/// use phial_core::prelude::*;
/// use phial_jwt::{Jwt, JwtExtension};
///
/// async fn protected(jwt: Jwt) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "logged_in_as": jwt.identity() }))
/// }
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .extension(JwtExtension::new().token_verification(|token| token.claims().contains_key("sub")))
///     .endpoint("protected", "/protected", get(protected))
///     .run()
///     .await
/// # }
/// ```
#[must_use]
#[derive(Default)]
pub struct JwtExtension {
    callbacks: Callbacks,
    built: OnceLock<JwtAuth>,
}

impl std::fmt::Debug for JwtExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtExtension").finish_non_exhaustive()
    }
}

impl JwtExtension {
    /// The extension with Flask-JWT-Extended's default callbacks.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// let app = App::builder().profile(Profile::Testing).set("jwt.secret_key", "s3cret").extension(phial_jwt::JwtExtension::new()).build()?;
    /// assert_eq!(app.extension_order(), ["jwt"]);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn callbacks_mut(&mut self) -> &mut Callbacks {
        &mut self.callbacks
    }

    callback_methods!();
}

impl Extension for JwtExtension {
    const NAME: &'static str = "jwt";
    /// Flask-JWT-Extended's variables with one value each; lists and timedeltas stay in
    /// `[jwt]` (expiries there are seconds).
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[
        ("JWT_SECRET_KEY", "secret_key"),
        ("JWT_PRIVATE_KEY", "private_key"),
        ("JWT_PUBLIC_KEY", "public_key"),
        ("JWT_ALGORITHM", "algorithm"),
        ("JWT_ACCESS_TOKEN_EXPIRES", "access_token_expires"),
        ("JWT_REFRESH_TOKEN_EXPIRES", "refresh_token_expires"),
        ("JWT_IDENTITY_CLAIM", "identity_claim"),
        ("JWT_COOKIE_SECURE", "cookie_secure"),
    ];
    type Config = JwtConfig;

    fn deps(&self) -> Deps {
        Deps::none().after("redis")
    }

    fn build(&self, config: &JwtConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        if !matches!(config.blocklist.store.as_str(), "memory" | "redis") {
            return Err(Error::config("jwt.blocklist.store", "unknown store; use \"memory\" or \"redis\""));
        }
        let auth = JwtAuthBuilder::from_parts(config.clone(), self.callbacks.clone())
            .secret(ctx.app_config().secret_key.clone())
            .build()
            .map_err(|err| Error::config("jwt", err.to_string()))?;
        tracing::info!(algorithm = %config.algorithm, blocklist = %config.blocklist.store, "JWT configured");
        ctx.state(auth.clone());
        // Stage `Auth`: inside the session and CSRF layers, outside the handlers and their
        // extractors, which find the handle in the request.
        ctx.layer(Stage::Auth, "jwt", JwtLayer::new(auth.clone()));
        let _ = self.built.set(auth);
        Ok(())
    }

    async fn start(&self, config: &JwtConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        if config.blocklist.store != "redis" {
            return Ok(());
        }
        #[cfg(feature = "redis")]
        {
            let redis = ctx.require::<phial_core::redis::Redis>()?.clone();
            let auth = self.built.get().ok_or_else(|| Error::msg("the jwt extension started before its build"))?;
            auth.set_blocklist(std::sync::Arc::new(crate::RedisBlocklist::new(
                redis,
                config.blocklist.key_prefix.clone(),
            )));
            Ok(())
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = (ctx, &self.built);
            Err(Error::config("jwt.blocklist.store", "\"redis\" needs phial-jwt's feature `redis`"))
        }
    }
}
