//! [`JwtConfig`]: section `[jwt]`, Flask-JWT-Extended's `JWT_*` settings with its defaults.

use phial_core::Secret;
use serde::{Deserialize, Serialize};

/// Where a request may carry its token (`JWT_TOKEN_LOCATION`).
///
/// # Examples
///
/// ```
/// use phial_jwt::{JwtConfig, TokenLocation};
///
/// let mut config = JwtConfig::default();
/// config.token_location = vec![TokenLocation::Headers, TokenLocation::Cookies];
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenLocation {
    /// `Authorization: Bearer <JWT>` (`header_name`, `header_type`).
    Headers,
    /// The access or refresh cookie, with the CSRF double submit on unsafe methods.
    Cookies,
    /// `?jwt=<JWT>` (`query_string_name`).
    QueryString,
    /// `{"access_token": ...}` in a JSON body; read by [`JwtRequiredLayer`](crate::JwtRequiredLayer)
    /// only, since extractors do not consume bodies.
    Json,
}

impl TokenLocation {
    /// Flask-JWT-Extended's name: `headers`, `cookies`, `query_string`, `json`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_jwt::TokenLocation::QueryString.as_str(), "query_string");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Headers => "headers",
            Self::Cookies => "cookies",
            Self::QueryString => "query_string",
            Self::Json => "json",
        }
    }
}

/// `[jwt]`: one field per `JWT_*` setting of Flask-JWT-Extended, with its defaults.
///
/// Durations are seconds; `0` for `access_token_expires` / `refresh_token_expires` means
/// tokens without `exp` (Flask's `False`), which you should only choose knowingly.
///
/// # Examples
///
/// ```toml
/// [jwt]
/// secret_key = "change me"           # JWT_SECRET_KEY; falls back to app.secret_key
/// access_token_expires = 900         # JWT_ACCESS_TOKEN_EXPIRES
/// token_location = ["headers", "cookies"]
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[expect(clippy::struct_excessive_bools, reason = "one field per JWT_* setting, as Flask-JWT-Extended has them")]
pub struct JwtConfig {
    /// `JWT_SECRET_KEY`: the HMAC key; empty uses `app.secret_key` (as Flask's `SECRET_KEY`).
    pub secret_key: Secret,
    /// `JWT_PRIVATE_KEY`: PEM key that signs with `RS*`/`ES*`/`PS*`/`EdDSA`.
    pub private_key: Secret,
    /// `JWT_PUBLIC_KEY`: PEM key that verifies `RS*`/`ES*`/`PS*`/`EdDSA`.
    pub public_key: String,
    /// `JWT_ALGORITHM`.
    pub algorithm: String,
    /// `JWT_DECODE_ALGORITHMS`: the algorithms accepted; empty for `[algorithm]`. Never taken
    /// from the token.
    pub decode_algorithms: Vec<String>,
    /// `JWT_ACCESS_TOKEN_EXPIRES` in seconds (`0`: no `exp`).
    pub access_token_expires: u64,
    /// `JWT_REFRESH_TOKEN_EXPIRES` in seconds (`0`: no `exp`).
    pub refresh_token_expires: u64,
    /// `JWT_TOKEN_LOCATION`, tried in this order.
    pub token_location: Vec<TokenLocation>,
    /// `JWT_HEADER_NAME`.
    pub header_name: String,
    /// `JWT_HEADER_TYPE` (`""` for a bare token).
    pub header_type: String,
    /// `JWT_QUERY_STRING_NAME`.
    pub query_string_name: String,
    /// `JWT_QUERY_STRING_VALUE_PREFIX`.
    pub query_string_value_prefix: String,
    /// `JWT_JSON_KEY`.
    pub json_key: String,
    /// `JWT_REFRESH_JSON_KEY`.
    pub refresh_json_key: String,
    /// `JWT_ACCESS_COOKIE_NAME`.
    pub access_cookie_name: String,
    /// `JWT_REFRESH_COOKIE_NAME`.
    pub refresh_cookie_name: String,
    /// `JWT_ACCESS_COOKIE_PATH`.
    pub access_cookie_path: String,
    /// `JWT_REFRESH_COOKIE_PATH`.
    pub refresh_cookie_path: String,
    /// `JWT_COOKIE_SECURE`.
    pub cookie_secure: bool,
    /// `JWT_COOKIE_DOMAIN`.
    pub cookie_domain: Option<String>,
    /// `JWT_COOKIE_SAMESITE` (`"Lax"`, `"Strict"`, `"None"`).
    pub cookie_samesite: Option<String>,
    /// `JWT_SESSION_COOKIE`: cookies without `Max-Age` (else one year).
    pub session_cookie: bool,
    /// `JWT_COOKIE_CSRF_PROTECT`: the `csrf` claim and the double submit check.
    pub cookie_csrf_protect: bool,
    /// `JWT_CSRF_METHODS`: methods that must send the CSRF header with cookie tokens.
    pub csrf_methods: Vec<String>,
    /// `JWT_CSRF_IN_COOKIES`: also set the readable CSRF cookies.
    pub csrf_in_cookies: bool,
    /// `JWT_ACCESS_CSRF_COOKIE_NAME`.
    pub access_csrf_cookie_name: String,
    /// `JWT_REFRESH_CSRF_COOKIE_NAME`.
    pub refresh_csrf_cookie_name: String,
    /// `JWT_ACCESS_CSRF_COOKIE_PATH`.
    pub access_csrf_cookie_path: String,
    /// `JWT_REFRESH_CSRF_COOKIE_PATH`.
    pub refresh_csrf_cookie_path: String,
    /// `JWT_ACCESS_CSRF_HEADER_NAME`.
    pub access_csrf_header_name: String,
    /// `JWT_REFRESH_CSRF_HEADER_NAME`.
    pub refresh_csrf_header_name: String,
    /// `JWT_CSRF_CHECK_FORM`: without the CSRF header, take the value from a form field
    /// (urlencoded bodies, read by [`JwtRequiredLayer`](crate::JwtRequiredLayer) only).
    pub csrf_check_form: bool,
    /// `JWT_ACCESS_CSRF_FIELD_NAME`.
    pub access_csrf_field_name: String,
    /// `JWT_REFRESH_CSRF_FIELD_NAME`.
    pub refresh_csrf_field_name: String,
    /// `JWT_IDENTITY_CLAIM`.
    pub identity_claim: String,
    /// `JWT_DECODE_LEEWAY` in seconds.
    pub decode_leeway: u64,
    /// `JWT_ENCODE_AUDIENCE`: `aud` of minted tokens (one value is written as a string).
    pub encode_audience: Vec<String>,
    /// `JWT_DECODE_AUDIENCE`: when set, tokens must carry one of these in `aud`.
    pub decode_audience: Vec<String>,
    /// `JWT_ENCODE_ISSUER`.
    pub encode_issuer: Option<String>,
    /// `JWT_DECODE_ISSUER`.
    pub decode_issuer: Option<String>,
    /// `JWT_ERROR_MESSAGE_KEY`.
    pub error_message_key: String,
    /// `JWT_VERIFY_SUB`: `sub` must be a string. Turn off only to accept legacy tokens with an
    /// integer subject while they expire.
    pub verify_sub: bool,
    /// `JWT_ENCODE_NBF`.
    pub encode_nbf: bool,
    /// Answer 401 with `WWW-Authenticate: Bearer error=...` (RFC 6750) instead of
    /// Flask-JWT-Extended's 422s; for new APIs.
    pub rfc6750: bool,
    /// Revocation.
    pub blocklist: BlocklistConfig,
}

impl Default for JwtConfig {
    fn default() -> Self {
        let s = String::from;
        Self {
            secret_key: Secret::new(""),
            private_key: Secret::new(""),
            public_key: String::new(),
            algorithm: s("HS256"),
            decode_algorithms: Vec::new(),
            access_token_expires: 15 * 60,
            refresh_token_expires: 30 * 24 * 3600,
            token_location: vec![TokenLocation::Headers],
            header_name: s("Authorization"),
            header_type: s("Bearer"),
            query_string_name: s("jwt"),
            query_string_value_prefix: String::new(),
            json_key: s("access_token"),
            refresh_json_key: s("refresh_token"),
            access_cookie_name: s("access_token_cookie"),
            refresh_cookie_name: s("refresh_token_cookie"),
            access_cookie_path: s("/"),
            refresh_cookie_path: s("/"),
            cookie_secure: false,
            cookie_domain: None,
            cookie_samesite: None,
            session_cookie: true,
            cookie_csrf_protect: true,
            csrf_methods: ["POST", "PUT", "PATCH", "DELETE"].map(String::from).to_vec(),
            csrf_in_cookies: true,
            access_csrf_cookie_name: s("csrf_access_token"),
            refresh_csrf_cookie_name: s("csrf_refresh_token"),
            access_csrf_cookie_path: s("/"),
            refresh_csrf_cookie_path: s("/"),
            access_csrf_header_name: s("X-CSRF-TOKEN"),
            refresh_csrf_header_name: s("X-CSRF-TOKEN"),
            csrf_check_form: false,
            access_csrf_field_name: s("csrf_token"),
            refresh_csrf_field_name: s("csrf_token"),
            identity_claim: s("sub"),
            decode_leeway: 0,
            encode_audience: Vec::new(),
            decode_audience: Vec::new(),
            encode_issuer: None,
            decode_issuer: None,
            error_message_key: s("msg"),
            verify_sub: true,
            encode_nbf: true,
            rfc6750: false,
            blocklist: BlocklistConfig::default(),
        }
    }
}

/// `[jwt.blocklist]`: where revoked tokens are kept.
///
/// # Examples
///
/// ```toml
/// [jwt.blocklist]
/// store = "redis"        # with phial-core's RedisExtension (feature `redis`)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BlocklistConfig {
    /// `"memory"` (one process) or `"redis"` (every instance; feature `redis`).
    pub store: String,
    /// Most entries the memory store keeps (expired ones are swept first).
    pub capacity: usize,
    /// Key prefix in Redis, after `redis.key_prefix`.
    pub key_prefix: String,
}

impl Default for BlocklistConfig {
    fn default() -> Self {
        Self { store: "memory".into(), capacity: 100_000, key_prefix: "jwt:".into() }
    }
}
