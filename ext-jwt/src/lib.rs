//! phial-jwt: JSON Web Tokens for phial apps, in the role of Flask-JWT-Extended.
//!
//! Access and refresh tokens in exactly Flask-JWT-Extended's shape, so a Flask API and a phial
//! one accept each other's tokens (same secret, same settings); guards as extractors and
//! layers; Flask-JWT-Extended's error messages and statuses; tokens in headers, cookies (with
//! the double-submit CSRF check), the query string or JSON bodies; revocation in memory or
//! Redis, and refresh-token rotation with reuse detection.
//!
//! ```no_run
//! use phial_core::axum::{Json, routing::{get, post}};
//! use phial_core::prelude::*;
//! use phial_jwt::{Fresh, Jwt, JwtAuth, JwtError, JwtExtension, MintOptions};
//!
//! async fn login(auth: JwtAuth) -> Result<Json<serde_json::Value>, JwtError> {
//!     let token = auth.create_access_token("alice", MintOptions::new().fresh(Fresh::Yes))?;
//!     Ok(Json(serde_json::json!({ "access_token": token })))
//! }
//!
//! async fn protected(jwt: Jwt) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "logged_in_as": jwt.identity() }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         .extension(JwtExtension::new()) // [jwt] secret_key, or app.secret_key
//!         .endpoint("login", "/login", post(login))
//!         .endpoint("protected", "/protected", get(protected))
//!         .run()
//!         .await
//! }
//! ```
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `redis` | [`RedisBlocklist`], selected with `jwt.blocklist.store = "redis"` on phial-core's shared connection |
//!
//! # Coming from Flask-JWT-Extended
//!
//! | Flask-JWT-Extended | phial-jwt |
//! |---|---|
//! | `JWTManager(app)` | `.extension(JwtExtension::new())` |
//! | `JWT_SECRET_KEY` (else `SECRET_KEY`) | `jwt.secret_key` (else `app.secret_key`) |
//! | `JWT_ALGORITHM`, `JWT_DECODE_ALGORITHMS`, `JWT_PRIVATE_KEY`, `JWT_PUBLIC_KEY` | `jwt.algorithm`, `jwt.decode_algorithms`, `jwt.private_key`, `jwt.public_key` |
//! | `JWT_ACCESS_TOKEN_EXPIRES` / `JWT_REFRESH_TOKEN_EXPIRES` (timedelta or `False`) | `jwt.access_token_expires` / `jwt.refresh_token_expires` (seconds, `0` for none) |
//! | `JWT_TOKEN_LOCATION` | `jwt.token_location = ["headers", "cookies", "query_string", "json"]` |
//! | `JWT_HEADER_NAME`, `JWT_HEADER_TYPE`, `JWT_QUERY_STRING_NAME`, `JWT_JSON_KEY`, `JWT_REFRESH_JSON_KEY` | same names under `[jwt]`, lower case |
//! | `JWT_*_COOKIE_*`, `JWT_COOKIE_CSRF_PROTECT`, `JWT_CSRF_METHODS`, `JWT_*_CSRF_HEADER_NAME` | same names under `[jwt]` |
//! | `JWT_IDENTITY_CLAIM`, `JWT_DECODE_LEEWAY`, `JWT_ENCODE_/DECODE_AUDIENCE`, `JWT_ENCODE_/DECODE_ISSUER` | `identity_claim`, `decode_leeway`, `encode_/decode_audience`, `encode_/decode_issuer` |
//! | `JWT_ERROR_MESSAGE_KEY`, `JWT_VERIFY_SUB`, `JWT_ENCODE_NBF` | `error_message_key`, `verify_sub`, `encode_nbf` |
//! | `@jwt_required()` | [`Jwt`] extractor, or [`JwtRequiredLayer`] |
//! | `@jwt_required(fresh=True)` / `(refresh=True)` / `(optional=True)` | [`FreshJwt`] / [`RefreshJwt`] / [`OptionalJwt`]; [`Requirement`] for the layer |
//! | `get_jwt()`, `get_jwt_identity()`, `get_jwt_header()`, `get_jwt_request_location()` | [`VerifiedToken::claims`], [`identity`](VerifiedToken::identity), [`header`](VerifiedToken::header), [`location`](VerifiedToken::location) |
//! | `current_user` + `@jwt.user_lookup_loader` | [`JwtUser<U>`] + [`user_lookup`](JwtAuthBuilder::user_lookup) |
//! | `create_access_token(identity, fresh, expires_delta, additional_claims, additional_headers)` | [`JwtAuth::create_access_token`] with [`MintOptions`] |
//! | `create_refresh_token(...)`, `decode_token(token, allow_expired)` | [`JwtAuth::create_refresh_token`], [`JwtAuth::decode_token`] |
//! | `@jwt.user_identity_loader`, `additional_claims_loader`, `additional_headers_loader` | [`user_identity_loader`](JwtAuthBuilder::user_identity_loader), [`additional_claims`](JwtAuthBuilder::additional_claims), [`additional_headers`](JwtAuthBuilder::additional_headers) |
//! | `@jwt.token_in_blocklist_loader` | a [`Blocklist`] store ([`JwtAuth::revoke`]) and/or [`token_in_blocklist`](JwtAuthBuilder::token_in_blocklist) |
//! | `@jwt.token_verification_loader` | [`token_verification`](JwtAuthBuilder::token_verification) |
//! | `expired_token_loader`, `invalid_token_loader`, `unauthorized_loader`, `needs_fresh_token_loader`, `revoked_token_loader`, `user_lookup_error_loader`, `token_verification_failed_loader` | [`error_handler`](JwtAuthBuilder::error_handler) with an [`ErrorKind`] |
//! | `decode_key_loader` with `kid` | [`decode_key`](JwtAuthBuilder::decode_key) per `kid`, [`signing_kid`](JwtAuthBuilder::signing_kid) |
//! | `set_access_cookies`, `set_refresh_cookies`, `unset_jwt_cookies` | [`JwtAuth::set_access_cookies`], [`JwtAuth::set_refresh_cookies`], [`JwtAuth::unset_jwt_cookies`] |
//! | the implicit refresh `after_request` recipe | [`ImplicitRefreshLayer`] |
//! | `freezegun` in tests | [`clock`](JwtAuthBuilder::clock), [`JwtAuth::now`] |
//!
//! Differences, on purpose:
//! - `additional_claims` cannot replace a reserved claim (`type`, `sub`, `exp`, ...): Flask
//!   lets `{"type": "refresh"}` turn an access token into a refresh token; here it is a
//!   [`JwtError::ReservedClaim`].
//! - Times must be JSON numbers: `PyJWT`'s `int()` also accepts `"exp": "123"`.
//! - Tokens with any `crit` header are refused (`PyJWT` understands `b64`; nothing here does).
//! - `rfc6750 = true` answers every client error with 401 and `WWW-Authenticate: Bearer`.
//! - Refresh-token rotation ([`JwtAuth::rotate_refresh_token`]) adds a `family` claim, which
//!   Flask-JWT-Extended ignores.
//!
//! The next section is the guide to running phial beside a Flask-JWT-Extended API.
#![doc = include_str!("../MIGRATING.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod blocklist;
mod builder;
mod config;
mod cookies;
mod error;
mod extension;
mod extract;
mod mint;
mod request;
mod respond;
mod revocation;
mod token;

pub use auth::JwtAuth;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use blocklist::RedisBlocklist;
pub use blocklist::{Blocklist, MemoryBlocklist};
pub use builder::{JwtAuthBuilder, UserLookupFn};
pub use config::{BlocklistConfig, JwtConfig, TokenLocation};
pub use cookies::{ImplicitRefreshLayer, ImplicitRefreshService};
pub use error::{ErrorKind, JwtError};
pub use extension::JwtExtension;
pub use extract::{
    FreshJwt, Jwt, JwtLayer, JwtRequiredLayer, JwtRequiredService, JwtService, JwtUser, OptionalJwt, RefreshJwt,
};
pub use mint::{Fresh, MintOptions};
pub use request::{Requirement, VerifiedToken};
pub use token::DecodedToken;
