//! [`SessionConfig`]: the session cookie's name, attributes, lifetime and store.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// The config section's name, used in the keys of [`SessionConfig::validate`]'s errors.
const SECTION: &str = "app.session";

/// How sessions are stored and how their cookie looks.
///
/// Every field has Flask's default; the Flask config key is named beside each one. In a phial
/// app this is the `[app.session]` section of `phial.toml`; in a bare axum app, build it in code and
/// hand it to [`SessionLayer::new`](super::SessionLayer::new).
///
/// # Examples
///
/// ```
/// use phial_core::session::{SameSite, SessionConfig};
///
/// let mut config = SessionConfig::default();
/// assert_eq!(config.cookie_name, "session");
/// assert_eq!(config.cookie_samesite, SameSite::Lax);
/// config.permanent = true;
/// config.lifetime = 7 * 24 * 60 * 60;
/// config.validate()?;
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The cookie's name. Flask: `SESSION_COOKIE_NAME`, default `"session"`.
    pub cookie_name: String,
    /// The cookie's `Domain` attribute; `None` sends none, so the cookie stays on the exact
    /// host. Flask: `SESSION_COOKIE_DOMAIN`, default `None`.
    pub cookie_domain: Option<String>,
    /// The cookie's `Path` attribute. Flask: `SESSION_COOKIE_PATH`, default `"/"` (Flask falls
    /// back to `APPLICATION_ROOT`).
    pub cookie_path: String,
    /// Whether the cookie carries `Secure`. `None` lets the app decide: secure in the
    /// `production` profile, not in `development` and `testing` (see
    /// [`SessionConfig::resolve_secure`]). Flask: `SESSION_COOKIE_SECURE`, default `False`.
    pub cookie_secure: Option<bool>,
    /// Whether the cookie carries `HttpOnly`, hiding it from scripts. Flask:
    /// `SESSION_COOKIE_HTTPONLY`, default `True`.
    pub cookie_httponly: bool,
    /// The cookie's `SameSite` attribute: `"Lax"`, `"Strict"` or `"None"`. Flask:
    /// `SESSION_COOKIE_SAMESITE`, whose default sends no attribute; phial sends `Lax`, which is
    /// what browsers assume anyway, so that CSRF protection does not depend on the browser.
    pub cookie_samesite: SameSite,
    /// Whether new sessions are permanent: a cookie with `Max-Age`/`Expires` that outlives the
    /// browser, instead of a browser-session cookie. A handler changes it per session with
    /// [`Session::set_permanent`](super::Session::set_permanent) (Flask's `session.permanent`).
    /// Default `false`, as in Flask (Flask-Session's `SESSION_PERMANENT` defaults to `True`).
    pub permanent: bool,
    /// How long a session lives, in seconds: the `Max-Age` of permanent cookies, the age after
    /// which any signed cookie is refused, and the expiry of server-side records. Flask:
    /// `PERMANENT_SESSION_LIFETIME`, default 31 days (2 678 400).
    pub lifetime: u64,
    /// Whether a permanent session's cookie is sent again, with a fresh expiry, on every
    /// request that uses the session. Flask: `SESSION_REFRESH_EACH_REQUEST`, default `True`.
    pub refresh_each_request: bool,
    /// Where session data lives: `"cookie"` (signed, in the browser; the default) or the name of
    /// a server-side store, in which case the cookie holds only a signed id: `"memory"` (one
    /// process), `"redis"` (offered by `RedisExtension`, feature `redis`) or `"sql"` (offered by
    /// phial-sql's `SqlExtension::session_store()`). Flask-Session: `SESSION_TYPE`.
    pub store: String,
    /// The largest `Set-Cookie` value, in bytes, that the session may produce; a larger cookie
    /// is an error (500, logged) rather than a cookie the browser silently drops. `0` turns the
    /// check off. Flask: `MAX_COOKIE_SIZE`, default 4093.
    pub max_cookie_size: usize,
    /// How many cookie sessions each process keeps verified and parsed, by cookie value, so a
    /// browser's next request with the same cookie skips the signature check and the JSON
    /// parse; `0` turns the cache off. A hit is checked for age like any cookie, values are
    /// compared in constant time, and cookies over 1 KiB are not kept, which bounds the memory
    /// to about `decoded_cache` KiB plus the parsed values; at most [`Self::MAX_DECODED_CACHE`].
    /// Cookie sessions only (a server-side store's cookie holds just an id). Default 1024. No
    /// Flask equivalent.
    pub decoded_cache: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "session".to_owned(),
            cookie_domain: None,
            cookie_path: "/".to_owned(),
            cookie_secure: None,
            cookie_httponly: true,
            cookie_samesite: SameSite::Lax,
            permanent: false,
            lifetime: 31 * 24 * 60 * 60,
            refresh_each_request: true,
            store: Self::COOKIE_STORE.to_owned(),
            max_cookie_size: 4093,
            decoded_cache: 1024,
        }
    }
}

impl SessionConfig {
    /// The [`store`](Self::store) name of signed-cookie sessions.
    pub const COOKIE_STORE: &'static str = "cookie";
    /// The largest [`decoded_cache`](Self::decoded_cache) that [`validate`](Self::validate)
    /// accepts: 2^20 slots, about 1 GiB of cookies at worst.
    pub const MAX_DECODED_CACHE: usize = 1 << 20;

    /// The [`store`](Self::store) name of the in-process [`MemoryStore`](super::MemoryStore).
    pub const MEMORY_STORE: &'static str = "memory";

    /// Whether the cookie carries `Secure`: [`cookie_secure`](Self::cookie_secure) when set,
    /// otherwise `production`. The app calls this with whether it runs in the `production`
    /// profile and passes the result to [`SessionLayer::new`](super::SessionLayer::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::SessionConfig;
    ///
    /// let mut config = SessionConfig::default();
    /// assert!(config.resolve_secure(true));
    /// assert!(!config.resolve_secure(false));
    /// config.cookie_secure = Some(true);
    /// assert!(config.resolve_secure(false));
    /// ```
    #[must_use]
    pub fn resolve_secure(&self, production: bool) -> bool {
        self.cookie_secure.unwrap_or(production)
    }

    /// [`lifetime`](Self::lifetime) as a [`Duration`].
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::SessionConfig;
    ///
    /// let days = SessionConfig::default().lifetime_duration().as_secs() / 86_400;
    /// assert_eq!(days, 31);
    /// ```
    #[must_use]
    pub fn lifetime_duration(&self) -> Duration {
        Duration::from_secs(self.lifetime)
    }

    /// Whether [`store`](Self::store) names a server-side store rather than `"cookie"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::SessionConfig;
    ///
    /// let mut config = SessionConfig::default();
    /// assert!(!config.is_server_side());
    /// config.store = "memory".into();
    /// assert!(config.is_server_side());
    /// ```
    #[must_use]
    pub fn is_server_side(&self) -> bool {
        self.store != Self::COOKIE_STORE
    }

    /// Checks the values that would otherwise make browsers ignore the cookie.
    ///
    /// # Errors
    ///
    /// An [`Error::Config`] naming the key when the cookie name is empty or not a valid cookie
    /// name, the path does not start with `/`, the lifetime is zero, or `SameSite=None` is
    /// combined with `cookie_secure = false` (browsers drop such cookies).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::SessionConfig;
    ///
    /// let mut config = SessionConfig::default();
    /// config.cookie_path = "admin".into();
    /// let err = config.validate().expect_err("invalid config");
    /// assert!(err.to_string().contains("app.session.cookie_path"));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let key = |field: &str| format!("{SECTION}.{field}");
        if self.cookie_name.is_empty() || !self.cookie_name.bytes().all(is_token_byte) {
            return Err(Error::config(
                key("cookie_name"),
                "must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            ));
        }
        if !self.cookie_path.starts_with('/') {
            return Err(Error::config(key("cookie_path"), "must start with `/`"));
        }
        if self.lifetime == 0 {
            return Err(Error::config(key("lifetime"), "must be at least 1 second"));
        }
        if self.decoded_cache > Self::MAX_DECODED_CACHE {
            return Err(Error::config(
                key("decoded_cache"),
                format!("must be at most {} slots (each holds up to 1 KiB of cookie)", Self::MAX_DECODED_CACHE),
            ));
        }
        if self.cookie_samesite == SameSite::None && self.cookie_secure == Some(false) {
            return Err(Error::config(
                key("cookie_samesite"),
                "`None` requires a Secure cookie, but `cookie_secure` is false; browsers drop such cookies",
            ));
        }
        Ok(())
    }
}

/// An RFC 6265 token byte, the characters a cookie name may use.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// The cookie's `SameSite` attribute.
///
/// Deserializes from `"Lax"`, `"Strict"` or `"None"`, in any letter case.
///
/// # Examples
///
/// ```
/// use phial_core::session::SameSite;
///
/// let parsed: SameSite = serde_json::from_str("\"strict\"")?;
/// assert_eq!(parsed, SameSite::Strict);
/// assert_eq!(SameSite::Lax.to_string(), "Lax");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their subrequests or forms that
    /// POST.
    #[default]
    Lax,
    /// Never sent on requests that another site starts.
    Strict,
    /// Sent on every request, including from other sites; needs `Secure`.
    None,
}

impl SameSite {
    /// The attribute's value as written in `Set-Cookie`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SameSite {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SameSite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        match value.to_ascii_lowercase().as_str() {
            "lax" => Ok(Self::Lax),
            "strict" => Ok(Self::Strict),
            "none" => Ok(Self::None),
            _ => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&value),
                &"one of \"Lax\", \"Strict\" or \"None\"",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_flask() {
        let config = SessionConfig::default();
        assert_eq!(config.cookie_name, "session");
        assert_eq!(config.cookie_path, "/");
        assert_eq!(config.cookie_domain, None);
        assert!(config.cookie_httponly);
        assert!(!config.permanent);
        assert_eq!(config.lifetime, 2_678_400);
        assert!(config.refresh_each_request);
        assert_eq!(config.store, "cookie");
        assert_eq!(config.max_cookie_size, 4093);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn partial_config_keeps_defaults_for_missing_keys() {
        let config: SessionConfig =
            serde_json::from_str(r#"{"cookie_samesite": "Strict", "permanent": true}"#).expect("valid config");
        assert_eq!(config.cookie_samesite, SameSite::Strict);
        assert!(config.permanent);
        assert_eq!(config.cookie_name, "session");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err = serde_json::from_str::<SessionConfig>(r#"{"cookie_nmae": "x"}"#).expect_err("invalid config");
        assert!(err.to_string().contains("cookie_nmae"));
    }

    #[test]
    fn unknown_samesite_is_rejected_with_the_choices() {
        let err = serde_json::from_str::<SessionConfig>(r#"{"cookie_samesite": "Loose"}"#).expect_err("invalid config");
        assert!(err.to_string().contains("\"Lax\", \"Strict\" or \"None\""));
    }

    #[test]
    fn config_round_trips_through_serde() {
        let config = SessionConfig { cookie_domain: Some("example.com".into()), ..SessionConfig::default() };
        let json = serde_json::to_string(&config).expect("serializable");
        assert_eq!(serde_json::from_str::<SessionConfig>(&json).expect("deserializable"), config);
    }

    #[test]
    fn samesite_none_without_secure_fails_validation() {
        let config =
            SessionConfig { cookie_samesite: SameSite::None, cookie_secure: Some(false), ..SessionConfig::default() };
        let err = config.validate().expect_err("invalid config");
        assert!(err.to_string().contains("app.session.cookie_samesite"));
    }

    #[test]
    fn invalid_cookie_name_fails_validation() {
        let config = SessionConfig { cookie_name: "my session".into(), ..SessionConfig::default() };
        assert!(config.validate().expect_err("invalid config").to_string().contains("app.session.cookie_name"));
    }

    #[test]
    fn a_decoded_cache_over_the_bound_fails_validation() {
        let at_bound = SessionConfig { decoded_cache: SessionConfig::MAX_DECODED_CACHE, ..SessionConfig::default() };
        assert!(at_bound.validate().is_ok());
        let over = SessionConfig { decoded_cache: SessionConfig::MAX_DECODED_CACHE + 1, ..SessionConfig::default() };
        assert!(over.validate().expect_err("invalid config").to_string().contains("app.session.decoded_cache"));
    }

    #[test]
    fn zero_lifetime_fails_validation() {
        let config = SessionConfig { lifetime: 0, ..SessionConfig::default() };
        assert!(config.validate().expect_err("invalid config").to_string().contains("app.session.lifetime"));
    }
}
