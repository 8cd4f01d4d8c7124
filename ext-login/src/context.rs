//! The per-request login state: who the user is, and what the response must say about it.
//!
//! The first extractor or guard of a request that asks who the user is makes its
//! [`LoginContext`] ([`context_of`]) and keeps it in the request for the others. Nothing is
//! loaded until an extractor or guard asks ([`LoginContext::resolve`]); then, in order:
//! session protection, the user in the session, the remember-me cookie, the request loader.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use http::HeaderMap;
use http::header::USER_AGENT;
use http::request::Parts;
use phial_core::BoxError;
use phial_core::session::Session;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::{LoginConfig, SessionProtection};
use crate::error::LoginError;
use crate::remember::{RememberRecord, RememberStore, auth_digest, issue_token, parse_token, validator_matches};
use crate::signals::{Signals, emit};
use crate::user::{AuthUser, DynRequestLoader, DynUserLoader};

/// Session keys, as Flask-Login names them where it has them.
pub(crate) const USER_ID: &str = "_user_id";
pub(crate) const FRESH: &str = "_fresh";
pub(crate) const IDENT: &str = "_id";
const AUTH_HASH: &str = "_auth_hash";
const EPOCH: &str = "_auth_epoch";

/// How long one loader or remember-store call may take before the request gets a 503.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What every request of one app shares.
pub(crate) struct LoginShared<U> {
    pub(crate) config: LoginConfig,
    pub(crate) secure: bool,
    pub(crate) loader: std::sync::OnceLock<DynUserLoader<U>>,
    pub(crate) request_loader: Option<DynRequestLoader<U>>,
    pub(crate) store: std::sync::OnceLock<Arc<dyn RememberStore>>,
    pub(crate) signals: Signals<U>,
    pub(crate) timeout: Duration,
}

impl<U> LoginShared<U> {
    /// Runs a loader or store call bounded by the timeout.
    pub(crate) async fn bounded<T>(
        &self,
        what: &'static str,
        future: impl Future<Output = Result<T, BoxError>>,
    ) -> Result<T, LoginError> {
        let mut future = std::pin::pin!(future);
        // Loaders and stores often answer at once (memory, a cache hit); only one that does not
        // gets a timer, which costs a clock read and a timer-wheel entry.
        let answer = match futures_util::FutureExt::now_or_never(future.as_mut()) {
            Some(answer) => Ok(answer),
            None => tokio::time::timeout(self.timeout, future).await,
        };
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(LoginError::Unavailable(format!("{what} failed: {err}").into())),
            Err(_) => Err(LoginError::Unavailable(
                format!("{what} did not answer within {} ms", self.timeout.as_millis()).into(),
            )),
        }
    }

    pub(crate) fn store(&self) -> Result<&Arc<dyn RememberStore>, LoginError> {
        self.store
            .get()
            .ok_or(LoginError::NotInstalled("the remember store is set in `start`; the app has not started"))
    }

    pub(crate) fn loader(&self) -> Result<&DynUserLoader<U>, LoginError> {
        self.loader.get().ok_or(LoginError::NotInstalled("the user loader is set in `start`; the app has not started"))
    }
}

/// What the response must do with the remember-me cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CookieAction {
    Keep,
    Set { value: String, expires_at: OffsetDateTime },
    Clear,
}

/// Who the request's user is, once resolved.
pub(crate) struct Resolved<U> {
    pub(crate) user: Option<U>,
    pub(crate) fresh: bool,
}

impl<U: Clone> Clone for Resolved<U> {
    fn clone(&self) -> Self {
        Self { user: self.user.clone(), fresh: self.fresh }
    }
}

struct CtxState<U> {
    resolved: Option<Resolved<U>>,
    /// What the response does with the remember-me cookie; made, and handed to the session's
    /// [`after_response`](Session::after_response), the first time it is not `Keep`, so a
    /// request that leaves the cookie alone allocates nothing for it.
    cookie: Option<Arc<Mutex<CookieAction>>>,
    session: Option<Session>,
}

/// The login state of one request; shared by its extractors, guards and the layer.
pub(crate) struct LoginContext<U> {
    pub(crate) shared: Arc<LoginShared<U>>,
    state: Mutex<CtxState<U>>,
    resolving: tokio::sync::Mutex<()>,
}

/// What resolution needs from the request.
pub(crate) struct RequestFacts {
    pub(crate) session: Session,
    pub(crate) ident: Ident,
    /// The remember-me cookie's value, if the request carries one.
    remember: Option<String>,
}

impl RequestFacts {
    /// The facts of `parts`; loads a server-side session.
    pub(crate) async fn from_parts(parts: &mut Parts, config: &LoginConfig) -> Result<Self, LoginError> {
        let mut facts = Self::without_remember(parts, config).await?;
        facts.remember = remember_cookie(&parts.headers, config).map(str::to_owned);
        Ok(facts)
    }

    /// The facts without the remember-me cookie, for resolution, which reads that cookie from
    /// the headers only on the paths that need it (no user in the session, a changed
    /// identifier): most requests of a logged-in user never look for it.
    async fn without_remember(parts: &mut Parts, config: &LoginConfig) -> Result<Self, LoginError> {
        let session = <Session as axum::extract::OptionalFromRequestParts<()>>::from_request_parts(parts, &())
            .await
            .map_err(LoginError::Session)?
            .ok_or(LoginError::NotInstalled("no session layer in front of the login layer"))?;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr);
        let ident = identifier(&parts.headers, peer, config.trusted_proxies);
        Ok(Self { session, ident, remember: None })
    }

    fn remember_cookie(&self) -> Option<&str> {
        self.remember.as_deref()
    }
}

impl<U: AuthUser> LoginContext<U> {
    pub(crate) fn new(shared: Arc<LoginShared<U>>) -> Self {
        let state = CtxState { resolved: None, cookie: None, session: None };
        Self { shared, state: Mutex::new(state), resolving: tokio::sync::Mutex::new(()) }
    }

    fn lock(&self) -> MutexGuard<'_, CtxState<U>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets what the response does with the remember-me cookie. The cookie is written by a
    /// function the session layer runs on the response (it holds the action and the shared
    /// config, not this context, so nothing refers back to the session).
    fn set_cookie(&self, action: CookieAction) {
        let mut state = self.lock();
        if let Some(cookie) = &state.cookie {
            *cookie.lock().unwrap_or_else(PoisonError::into_inner) = action;
            return;
        }
        let Some(session) = state.session.clone() else {
            // Every path that changes the cookie resolves the request first, which keeps the session.
            tracing::error!("the remember-me cookie changed before the login was resolved; it is not written");
            return;
        };
        let cookie = Arc::new(Mutex::new(action));
        state.cookie = Some(Arc::clone(&cookie));
        drop(state);
        let shared = Arc::clone(&self.shared);
        session.after_response(move |response| {
            let action =
                std::mem::replace(&mut *cookie.lock().unwrap_or_else(PoisonError::into_inner), CookieAction::Keep);
            crate::layer::write_cookie(&shared, action, response);
        });
    }

    pub(crate) fn session(&self) -> Option<Session> {
        self.lock().session.clone()
    }

    /// Resolves the user once per request; later calls return the same answer.
    pub(crate) async fn resolve(&self, parts: &mut Parts) -> Result<Resolved<U>, LoginError> {
        let _one_at_a_time = self.resolving.lock().await;
        if let Some(resolved) = self.lock().resolved.clone() {
            return Ok(resolved);
        }
        let facts = RequestFacts::without_remember(parts, &self.shared.config).await?;
        self.lock().session = Some(facts.session.clone());
        let resolved = self.resolve_facts(&facts, &parts.headers).await?;
        self.lock().resolved = Some(resolved.clone());
        Ok(resolved)
    }

    async fn resolve_facts(&self, facts: &RequestFacts, headers: &HeaderMap) -> Result<Resolved<U>, LoginError> {
        let session = &facts.session;
        let remember = || remember_cookie(headers, &self.shared.config);
        self.protect(facts, remember).await?;
        let stale = {
            // One snapshot for the four reads, taken after `protect`, which may change the
            // session, and gone before anything below changes it (which would copy it).
            let values = session.values();
            match values.get_str(USER_ID) {
                None => false,
                Some(id) => {
                    let epoch = values.get::<u64>(EPOCH).unwrap_or(0);
                    if let Some(user) = self.load_checked(id, values.get_str(AUTH_HASH), epoch).await? {
                        return Ok(Resolved { user: Some(user), fresh: values.get(FRESH).unwrap_or(false) });
                    }
                    true
                }
            }
        };
        if stale {
            tracing::debug!("the session's user is gone, inactive, or logged out elsewhere; logging out");
            clear_login_keys(session);
        }
        // Boxed, as the request loader below: rare paths whose futures would otherwise make
        // every resolution's future (inside each handler's boxed future) larger.
        if let Some(value) = remember()
            && let Some(user) = Box::pin(self.restore(value, facts)).await?
        {
            return Ok(Resolved { user: Some(user), fresh: false });
        }
        if let Some(loader) = &self.shared.request_loader {
            let user =
                Box::pin(self.shared.bounded("the request loader", loader.load_from_request(headers.clone()))).await?;
            if let Some(user) = user.filter(AuthUser::is_active) {
                return Ok(Resolved { user: Some(user), fresh: false });
            }
        }
        Ok(Resolved { user: None, fresh: false })
    }

    /// Session protection: compares the stored identifier with this request's.
    async fn protect<'h>(
        &self,
        facts: &RequestFacts,
        remember: impl FnOnce() -> Option<&'h str>,
    ) -> Result<(), LoginError> {
        let session = &facts.session;
        let mode = self.shared.config.session_protection;
        if mode == SessionProtection::None {
            return Ok(());
        }
        {
            let values = session.values();
            if !values.contains(USER_ID) || values.get_str(IDENT) == Some(facts.ident.as_str()) {
                return Ok(());
            }
        }
        match mode {
            SessionProtection::Basic => {
                tracing::info!("session identifier changed; the login is no longer fresh");
                insert(session, FRESH, false)?;
                insert(session, IDENT, facts.ident.as_str())?;
            }
            SessionProtection::Strong | SessionProtection::None => {
                tracing::info!("session identifier changed; logging out (session_protection = strong)");
                clear_login_keys(session);
                session.cycle_id();
                self.revoke_request_token(remember()).await?;
            }
        }
        Ok(())
    }

    /// The user with `id`, if active and matching the stored auth hash and epoch.
    async fn load_checked(&self, id: &str, auth: Option<&str>, epoch: u64) -> Result<Option<U>, LoginError> {
        let shared = &self.shared;
        let user = shared.bounded("the user loader", shared.loader()?.load_user(id.to_owned())).await?;
        let Some(user) = user.filter(AuthUser::is_active) else { return Ok(None) };
        if auth_digest(user.session_auth_hash()).as_deref() != auth {
            return Ok(None);
        }
        let current = shared.bounded("the remember store", shared.store()?.epoch(id)).await?;
        Ok((epoch >= current).then_some(user))
    }

    /// Logs in from a remember-me cookie: verify, rotate, mark not fresh.
    async fn restore(&self, value: &str, facts: &RequestFacts) -> Result<Option<U>, LoginError> {
        let shared = &self.shared;
        let Some((selector, validator)) = parse_token(value) else {
            self.set_cookie(CookieAction::Clear);
            return Ok(None);
        };
        // A selector that is not (or no longer) stored leaves the cookie alone: a parallel
        // request may just have rotated it, and clearing would drop the new one.
        let Some(record) = shared.bounded("the remember store", shared.store()?.load(selector)).await? else {
            return Ok(None);
        };
        let valid = validator_matches(validator, &record.validator_hash);
        if !valid {
            tracing::warn!("remember-me validator mismatch (a stolen or replayed token?); revoking it");
        }
        let user = if valid {
            self.load_checked(&record.user_id, record.auth_hash.as_deref(), record.epoch).await?
        } else {
            None
        };
        shared.bounded("the remember store", shared.store()?.delete(selector)).await?;
        let Some(user) = user else {
            self.set_cookie(CookieAction::Clear);
            return Ok(None);
        };
        self.issue(&user, record.auth_hash, record.epoch, record.expires_at).await?;
        let session = &facts.session;
        session.cycle_id();
        write_login_keys(session, &user.auth_id(), false, facts.ident.as_str(), record_auth(&user), record.epoch)?;
        emit(&shared.signals.remembered, &user);
        Ok(Some(user))
    }

    /// Stores a new token for `user` and sets it on the response.
    async fn issue(
        &self,
        user: &U,
        auth: Option<String>,
        epoch: u64,
        expires_at: OffsetDateTime,
    ) -> Result<(), LoginError> {
        let shared = &self.shared;
        let token = issue_token().map_err(LoginError::Unavailable)?;
        let record = RememberRecord::new(user.auth_id(), token.validator_hash, auth, epoch, expires_at);
        shared.bounded("the remember store", shared.store()?.save(&token.selector, &record)).await?;
        self.set_cookie(CookieAction::Set { value: token.cookie_value, expires_at });
        Ok(())
    }

    /// Deletes the token the request's cookie names, and clears the cookie. The cookie is
    /// cleared even when the request did not carry it: one with a narrower `Path` is not sent
    /// to every URL, and must still go.
    async fn revoke_request_token(&self, remember: Option<&str>) -> Result<(), LoginError> {
        if let Some(value) = remember
            && let Some((selector, _)) = parse_token(value)
        {
            self.shared.bounded("the remember store", self.shared.store()?.delete(selector)).await?;
        }
        self.set_cookie(CookieAction::Clear);
        Ok(())
    }

    /// `login_user`: see [`Login::login_user`](crate::Login::login_user).
    pub(crate) async fn login(&self, facts: &RequestFacts, user: &U, options: &LoginOptions) -> Result<(), LoginError> {
        if !options.force && !user.is_active() {
            return Err(LoginError::InactiveUser);
        }
        let shared = &self.shared;
        let id = user.auth_id();
        let epoch = shared.bounded("the remember store", shared.store()?.epoch(&id)).await?;
        if let Some(value) = facts.remember_cookie() {
            self.revoke_request_token(Some(value)).await?;
        }
        let session = &facts.session;
        session.cycle_id();
        write_login_keys(session, &id, options.fresh, facts.ident.as_str(), record_auth(user), epoch)?;
        if options.remember {
            let duration = options.duration.unwrap_or(Duration::from_secs(shared.config.remember_cookie_duration));
            let expires_at = OffsetDateTime::now_utc()
                .checked_add(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX))
                .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
            self.issue(user, record_auth(user), epoch, expires_at).await?;
        }
        {
            let mut state = self.lock();
            state.resolved = Some(Resolved { user: Some(user.clone()), fresh: options.fresh });
        }
        emit(&shared.signals.logged_in, user);
        Ok(())
    }

    /// `logout_user`: see [`Login::logout_user`](crate::Login::logout_user).
    pub(crate) async fn logout(&self, facts: &RequestFacts) -> Result<(), LoginError> {
        let previous = self.lock().resolved.take().and_then(|resolved| resolved.user);
        clear_login_keys(&facts.session);
        let _ = facts.session.remove(IDENT);
        facts.session.cycle_id();
        self.revoke_request_token(facts.remember_cookie()).await?;
        {
            let mut state = self.lock();
            state.resolved = Some(Resolved { user: None, fresh: false });
        }
        if let Some(user) = &previous {
            emit(&self.shared.signals.logged_out, user);
        }
        Ok(())
    }

    /// Records the user's new `session_auth_hash` in this session (after a password change),
    /// so this session stays logged in while the others end; this browser's remember-me token,
    /// if it holds a valid one of this user, is replaced by one under the new hash.
    pub(crate) async fn update_auth_hash(&self, facts: &RequestFacts, user: &U) -> Result<(), LoginError> {
        let shared = &self.shared;
        insert(&facts.session, AUTH_HASH, record_auth(user))?;
        facts.session.cycle_id();
        if let Some(value) = facts.remember_cookie()
            && let Some((selector, validator)) = parse_token(value)
            && let Some(record) = shared.bounded("the remember store", shared.store()?.load(selector)).await?
            && record.user_id == user.auth_id()
            && validator_matches(validator, &record.validator_hash)
        {
            shared.bounded("the remember store", shared.store()?.delete(selector)).await?;
            self.issue(user, record_auth(user), record.epoch, record.expires_at).await?;
        }
        let mut state = self.lock();
        if let Some(resolved) = state.resolved.as_mut() {
            resolved.user = Some(user.clone());
        }
        Ok(())
    }

    /// Marks the login fresh again after the user re-entered the password.
    pub(crate) fn confirm(&self, facts: &RequestFacts) -> Result<(), LoginError> {
        insert(&facts.session, FRESH, true)?;
        if let Some(resolved) = self.lock().resolved.as_mut() {
            resolved.fresh = true;
        }
        Ok(())
    }
}

/// Options of [`Login::login_user`](crate::Login::login_user): Flask-Login's `remember`,
/// `duration`, `force` and `fresh` arguments.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_login::LoginOptions;
///
/// let options = LoginOptions::new().remember(true).duration(Duration::from_secs(30 * 86_400));
/// assert!(options.fresh);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct LoginOptions {
    /// Issue a remember-me token (`remember=True`).
    pub remember: bool,
    /// How long the token lasts; `None` uses `login.remember_cookie_duration`.
    pub duration: Option<Duration>,
    /// Log in even an inactive user (`force=True`).
    pub force: bool,
    /// Mark the login fresh (`fresh=True`, the default).
    pub fresh: bool,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self { remember: false, duration: None, force: false, fresh: true }
    }
}

impl LoginOptions {
    /// Not remembered, not forced, fresh.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`remember`](Self::remember).
    pub fn remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }

    /// Sets [`duration`](Self::duration).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Sets [`force`](Self::force).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets [`fresh`](Self::fresh).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }
}

fn record_auth<U: AuthUser>(user: &U) -> Option<String> {
    auth_digest(user.session_auth_hash())
}

fn insert(session: &Session, key: &str, value: impl serde::Serialize) -> Result<(), LoginError> {
    session.insert(key, value).map_err(LoginError::Session)
}

fn write_login_keys(
    session: &Session,
    id: &str,
    fresh: bool,
    ident: &str,
    auth: Option<String>,
    epoch: u64,
) -> Result<(), LoginError> {
    insert(session, USER_ID, id)?;
    insert(session, FRESH, fresh)?;
    insert(session, IDENT, ident)?;
    match auth {
        Some(auth) => insert(session, AUTH_HASH, auth)?,
        None => {
            let _ = session.remove(AUTH_HASH);
        }
    }
    insert(session, EPOCH, epoch)
}

fn clear_login_keys(session: &Session) {
    for key in [USER_ID, FRESH, AUTH_HASH, EPOCH] {
        let _ = session.remove(key);
    }
}

/// The session-protection identifier: the first 128 bits of SHA-256 over the client address
/// and User-Agent, base64url (22 characters: it rides in every session cookie, so it is kept
/// short; 128 bits is far beyond guessing a matching address and agent).
///
/// The address is the TCP peer, or with `trusted_proxies = N > 0` the N-th address from the
/// right of `X-Forwarded-For` (each trusted proxy appends the address it saw), as Werkzeug's
/// `ProxyFix(x_for=N)` reads it; a header with fewer entries is ignored.
pub(crate) fn identifier(headers: &HeaderMap, peer: Option<SocketAddr>, trusted_proxies: usize) -> Ident {
    use base64::Engine as _;

    let mut digest = Sha256::new();
    // The address as bytes: the same for a peer and for a forwarded entry naming the same IP.
    match phial_core::request::client_ip(headers, peer.map(|p| p.ip()), trusted_proxies) {
        Some(std::net::IpAddr::V4(ip)) => digest.update(ip.to_ipv6_mapped().octets()),
        Some(std::net::IpAddr::V6(ip)) => digest.update(ip.octets()),
        None => {}
    }
    digest.update(b"|");
    digest.update(headers.get(USER_AGENT).map(http::HeaderValue::as_bytes).unwrap_or_default());
    let mut text = [0; IDENT_LEN];
    let written = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_slice(&digest.finalize()[..16], &mut text);
    debug_assert_eq!(written.ok(), Some(IDENT_LEN));
    Ident(text)
}

/// The length of an identifier: 16 bytes in unpadded base64.
const IDENT_LEN: usize = 22;

/// A session identifier ([`identifier`]), kept on the stack: every resolution makes one and
/// only compares it with the session's, so it is written out as a `String` only when stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ident([u8; IDENT_LEN]);

impl Ident {
    pub(crate) fn as_str(&self) -> &str {
        // URL-safe base64 is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `current_user` in templates: the request's login context, read when a template first
/// looks at it, that is once the handler's extractors (one of which resolves the user) and any
/// `login_user` or `logout_user` have run. Until the user is resolved it is undefined.
#[cfg(feature = "templates")]
pub(crate) struct TemplateUser<U: AuthUser> {
    context: Arc<LoginContext<U>>,
    value: std::sync::OnceLock<phial_core::minijinja::Value>,
}

#[cfg(feature = "templates")]
impl<U: AuthUser> TemplateUser<U> {
    /// The context processor of `LoginExtension`: `current_user` for a request that renders,
    /// with the request's login context (made here if no extractor has made it yet, so that
    /// the one that resolves the user later is the one the template reads).
    pub(crate) fn add(parts: &mut Parts, vars: &mut phial_core::templates::TemplateVars) {
        if let Ok(context) = context_of::<U>(parts) {
            let user = Self { context, value: std::sync::OnceLock::new() };
            vars.insert("current_user", phial_core::minijinja::Value::from_object(user));
        }
    }

    fn value(&self) -> &phial_core::minijinja::Value {
        self.value.get_or_init(|| match &self.context.lock().resolved {
            Some(resolved) => {
                phial_core::minijinja::Value::from_serialize(crate::user::template_value(resolved.user.as_ref()))
            }
            None => phial_core::minijinja::Value::UNDEFINED,
        })
    }
}

#[cfg(feature = "templates")]
impl<U: AuthUser> std::fmt::Debug for TemplateUser<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.value(), f)
    }
}

#[cfg(feature = "templates")]
impl<U: AuthUser> phial_core::minijinja::value::Object for TemplateUser<U> {
    fn repr(self: &Arc<Self>) -> phial_core::minijinja::value::ObjectRepr {
        phial_core::minijinja::value::ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &phial_core::minijinja::Value) -> Option<phial_core::minijinja::Value> {
        self.value().get_item(key).ok().filter(|value| !value.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> phial_core::minijinja::value::Enumerator {
        match self.value().try_iter() {
            Ok(keys) => phial_core::minijinja::value::Enumerator::Values(keys.collect()),
            Err(_) => phial_core::minijinja::value::Enumerator::Empty,
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.value(), f)
    }
}

/// The remember-me cookie's value, if the request carries a non-empty one.
fn remember_cookie<'h>(headers: &'h HeaderMap, config: &LoginConfig) -> Option<&'h str> {
    phial_core::request::cookie(headers, &config.remember_cookie_name).filter(|value| !value.is_empty())
}

/// The request's login context: the one an earlier extractor or guard of this request made,
/// or a new one, kept in the request for the next. It finds the app's login settings in the
/// [`LoginLayer`](crate::LoginLayer)'s mark (bare axum) or in the app's state, which every
/// request of a phial app carries: a phial app needs no login layer, so requests that never
/// ask who the user is pay nothing for the login.
pub(crate) fn context_of<U: AuthUser>(parts: &mut Parts) -> Result<Arc<LoginContext<U>>, LoginError> {
    if let Some(context) = parts.extensions.get::<Arc<LoginContext<U>>>() {
        return Ok(Arc::clone(context));
    }
    let shared = match parts.extensions.get::<crate::layer::LayerShared<U>>() {
        Some(layer) => Arc::clone(&layer.0),
        None => phial_core::AppState::from_extensions(&parts.extensions)
            .and_then(|app| app.get::<crate::LoginState<U>>())
            .map(|state| Arc::clone(&state.shared))
            .ok_or(LoginError::NotInstalled(
                "no `LoginExtension` (or, in a bare axum app, `LoginLayer`) for this user type",
            ))?,
    };
    let context = Arc::new(LoginContext::new(shared));
    parts.extensions.insert(Arc::clone(&context));
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Someone;
    impl AuthUser for Someone {
        fn auth_id(&self) -> String {
            "someone".to_owned()
        }
    }

    fn shared_with_timeout(timeout: Duration) -> LoginShared<Someone> {
        let loader = |_id: String| async { Ok(None::<Someone>) };
        let layer = crate::LoginLayer::new(LoginConfig::default(), loader, Arc::new(crate::MemoryRememberStore::new()))
            .expect("the default config is valid");
        let mut shared = Arc::try_unwrap(layer.shared).ok().expect("the only reference");
        shared.timeout = timeout;
        shared
    }

    #[tokio::test]
    async fn a_call_that_does_not_answer_in_time_is_unavailable_and_one_that_answers_at_once_is_not() {
        let shared = shared_with_timeout(Duration::from_millis(20));
        let slow = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, BoxError>(1)
        };
        let answer = shared.bounded("the slow store", slow).await;
        let Err(LoginError::Unavailable(err)) = answer else {
            panic!("expected Unavailable, got {:?}", answer.map_err(|e| e.to_string()));
        };
        assert!(err.to_string().contains("did not answer within 20 ms"), "{err}");
        let pending_once = async {
            tokio::task::yield_now().await;
            Ok::<_, BoxError>(2)
        };
        assert_eq!(shared.bounded("a store that yields", pending_once).await.ok(), Some(2));
        assert_eq!(shared.bounded("a ready store", async { Ok::<_, BoxError>(3) }).await.ok(), Some(3));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 1234)));
        let plain = identifier(&headers(&[("user-agent", "ua")]), peer, 0);
        let spoofed = identifier(&headers(&[("user-agent", "ua"), ("x-forwarded-for", "6.6.6.6")]), peer, 0);
        assert_eq!(plain, spoofed);
    }

    #[test]
    fn trusted_proxies_pick_the_address_the_last_trusted_proxy_saw() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 1234)));
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5")]);
        let direct = identifier(&HeaderMap::new(), Some(SocketAddr::from(([203, 0, 113, 5], 1))), 0);
        assert_eq!(identifier(&h, peer, 1), direct);
        assert_ne!(identifier(&h, peer, 0), direct);
        assert_eq!(
            identifier(&headers(&[("x-forwarded-for", "1.2.3.4")]), peer, 2),
            identifier(&HeaderMap::new(), peer, 0)
        );
    }

    #[test]
    fn user_agent_changes_the_identifier() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 1234)));
        assert_ne!(
            identifier(&headers(&[("user-agent", "a")]), peer, 0),
            identifier(&headers(&[("user-agent", "b")]), peer, 0)
        );
    }
}
