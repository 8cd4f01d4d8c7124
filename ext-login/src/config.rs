//! [`LoginConfig`]: the `[login]` section, with Flask-Login's defaults.

use serde::{Deserialize, Serialize};

pub use phial_core::session::SameSite;

/// The settings of section `[login]`; each field names the Flask-Login setting it replaces.
///
/// # Examples
///
/// ```
/// use phial_login::{LoginConfig, SessionProtection};
///
/// let config: LoginConfig = toml_like(r#"{"login_view": "auth.login", "session_protection": "strong"}"#);
/// assert_eq!(config.login_view.as_deref(), Some("auth.login"));
/// assert_eq!(config.session_protection, SessionProtection::Strong);
/// assert_eq!(config.login_message, "Please log in to access this page.");
/// assert_eq!(config.remember_cookie_name, "remember_token");
/// # fn toml_like(json: &str) -> LoginConfig { serde_json::from_str(json).unwrap() }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoginConfig {
    /// Where anonymous users are sent: an endpoint name (`"auth.login"`) or a path
    /// (`"/login"`). `None` answers 401 instead. Flask-Login: `login_manager.login_view`.
    pub login_view: Option<String>,
    /// Where users whose login is not fresh are sent; `None` falls back to 401.
    /// Flask-Login: `login_manager.refresh_view`.
    pub refresh_view: Option<String>,
    /// Flashed on the way to the login view; empty flashes nothing.
    /// Flask-Login: `login_message`.
    pub login_message: String,
    /// The category of [`login_message`](Self::login_message). Flask-Login:
    /// `login_message_category`.
    pub login_message_category: String,
    /// Flashed on the way to the refresh view. Flask-Login: `needs_refresh_message`.
    pub needs_refresh_message: String,
    /// The category of [`needs_refresh_message`](Self::needs_refresh_message).
    /// Flask-Login: `needs_refresh_message_category`.
    pub needs_refresh_message_category: String,
    /// Keep `next` in the session (key `next`) instead of the login URL's query string; read it
    /// back with [`Login::take_next`](crate::Login::take_next). Flask-Login:
    /// `USE_SESSION_FOR_NEXT`.
    pub use_session_for_next: bool,
    /// What happens when a session's client identifier (peer address and User-Agent) changes.
    /// Flask-Login: `session_protection`, default `"basic"`.
    pub session_protection: SessionProtection,
    /// The remember-me cookie's name. Flask-Login: `REMEMBER_COOKIE_NAME`.
    pub remember_cookie_name: String,
    /// How long a remember-me token lasts, in seconds (365 days). Flask-Login:
    /// `REMEMBER_COOKIE_DURATION`.
    pub remember_cookie_duration: u64,
    /// The cookie's `Path`. Flask-Login: `REMEMBER_COOKIE_PATH`.
    pub remember_cookie_path: String,
    /// The cookie's `Domain`; `None` keeps it on the exact host. Flask-Login:
    /// `REMEMBER_COOKIE_DOMAIN`.
    pub remember_cookie_domain: Option<String>,
    /// Whether the cookie carries `Secure`; `None` means "in the production profile".
    /// Flask-Login: `REMEMBER_COOKIE_SECURE` (default `False` there).
    pub remember_cookie_secure: Option<bool>,
    /// Whether the cookie carries `HttpOnly`. Flask-Login: `REMEMBER_COOKIE_HTTPONLY`.
    pub remember_cookie_httponly: bool,
    /// The cookie's `SameSite`. Flask-Login: `REMEMBER_COOKIE_SAMESITE` (none sent there);
    /// phial sends `Lax` as its session cookie does.
    pub remember_cookie_samesite: SameSite,
    /// Where remember-me tokens and per-user epochs live: `"memory"` (one process; the
    /// default), `"redis"` (phial-core's shared connection; feature `redis`) or `"sql"`
    /// (phial-sql's default database; feature `sql`), unless the app
    /// gives [`LoginExtension::remember_store`](crate::LoginExtension::remember_store).
    pub remember_store: String,
    /// How many reverse proxies in front of the app append to `X-Forwarded-For`; `0` (the
    /// default) ignores the header, so a client cannot choose the address that session
    /// protection sees. Werkzeug: `ProxyFix(x_for=N)`.
    pub trusted_proxies: usize,
    /// `[login.password]`: argon2id parameters and the hashing bound of the app's
    /// [`PasswordHasher`](crate::password::PasswordHasher).
    pub password: crate::password::PasswordConfig,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            login_view: None,
            refresh_view: None,
            login_message: "Please log in to access this page.".to_owned(),
            login_message_category: "message".to_owned(),
            needs_refresh_message: "Please reauthenticate to access this page.".to_owned(),
            needs_refresh_message_category: "message".to_owned(),
            use_session_for_next: false,
            session_protection: SessionProtection::Basic,
            remember_cookie_name: "remember_token".to_owned(),
            remember_cookie_duration: 365 * 24 * 60 * 60,
            remember_cookie_path: "/".to_owned(),
            remember_cookie_domain: None,
            remember_cookie_secure: None,
            remember_cookie_httponly: true,
            remember_cookie_samesite: SameSite::Lax,
            remember_store: "memory".to_owned(),
            trusted_proxies: 0,
            password: crate::password::PasswordConfig::default(),
        }
    }
}

impl LoginConfig {
    /// Checks values that would make the cookie unusable or the views unreachable.
    ///
    /// # Errors
    ///
    /// [`phial_core::Error::Config`] naming the key.
    pub fn validate(&self) -> Result<(), phial_core::Error> {
        let bad = |key: &str, msg: &str| Err(phial_core::Error::config(format!("login.{key}"), msg));
        let name = &self.remember_cookie_name;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
            return bad("remember_cookie_name", "must be a non-empty cookie name");
        }
        if !self.remember_cookie_path.starts_with('/') {
            return bad("remember_cookie_path", "must start with `/`");
        }
        if self.remember_cookie_duration == 0 {
            return bad("remember_cookie_duration", "must be at least 1 second");
        }
        if self.remember_cookie_samesite == SameSite::None && self.remember_cookie_secure == Some(false) {
            return bad("remember_cookie_samesite", "`None` requires a Secure cookie; browsers drop it otherwise");
        }
        for (key, view) in [("login_view", &self.login_view), ("refresh_view", &self.refresh_view)] {
            if view.as_deref().is_some_and(str::is_empty) {
                return bad(key, "must be an endpoint name or a path; leave it out for a 401");
            }
        }
        Ok(())
    }
}

/// Flask-Login's `session_protection` modes.
///
/// # Examples
///
/// ```
/// use phial_login::SessionProtection;
///
/// let mode: SessionProtection = serde_json::from_str("\"strong\"")?;
/// assert_eq!(mode, SessionProtection::Strong);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionProtection {
    /// No check.
    None,
    /// A changed identifier marks the login non-fresh.
    #[default]
    Basic,
    /// A changed identifier ends the login (and its remember-me token).
    Strong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_flask_login() {
        let config = LoginConfig::default();
        assert_eq!(config.login_message_category, "message");
        assert_eq!(config.needs_refresh_message, "Please reauthenticate to access this page.");
        assert_eq!(config.remember_cookie_duration, 31_536_000);
        assert_eq!(config.session_protection, SessionProtection::Basic);
        assert!(config.remember_cookie_httponly);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_paths_are_refused() {
        assert!(serde_json::from_str::<LoginConfig>(r#"{"login_veiw": "x"}"#).is_err());
        let config = LoginConfig { remember_cookie_path: "x".into(), ..LoginConfig::default() };
        assert!(config.validate().expect_err("bad path").to_string().contains("login.remember_cookie_path"));
    }
}
