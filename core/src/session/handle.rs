//! [`Session`]: the per-request handle and its axum extractor.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::HeaderValue;
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::cache::DecodedCookies;
use super::config::SessionConfig;
use super::cookie::CookieSigner;
use super::flash::FlashMessage;
use super::store::{Record, SessionId, SessionStore, bounded};
use crate::error::HttpError;

/// The session cookie's value as the request sent it, kept in (a clone of) its `Cookie`
/// header rather than copied: header clones share the request's bytes.
#[derive(Clone)]
pub(super) struct RawCookie {
    header: HeaderValue,
    range: Range<usize>,
}

impl RawCookie {
    /// The cookie called `name` in `headers`, if any.
    pub(super) fn find(headers: &http::HeaderMap, name: &str) -> Option<Self> {
        let (header, range) = crate::request::cookie_position(headers, name)?;
        Some(Self { header: header.clone(), range })
    }

    fn as_str(&self) -> &str {
        // `cookie_position` only gives ranges of ASCII.
        std::str::from_utf8(&self.header.as_bytes()[self.range.clone()]).unwrap_or_default()
    }
}

/// The key under which a cookie's payload records [`Session::permanent`], as Flask does.
pub(super) const PERMANENT_KEY: &str = "_permanent";

/// What every session of one [`SessionLayer`](super::SessionLayer) shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) signer: CookieSigner,
    pub(super) config: SessionConfig,
    pub(super) secure: bool,
    pub(super) store: Option<Arc<dyn SessionStore>>,
    pub(super) store_timeout: Duration,
    /// Cookie sessions verified before, by cookie value; `None` when turned off.
    pub(super) cache: Option<Arc<DecodedCookies>>,
}

/// The prefix of session keys that [`Session::cycle_id`] removes: values that belong to one
/// login, not to the browser (phial-forms keeps its CSRF secret under it).
///
/// # Examples
///
/// ```
/// use phial_core::session::PER_LOGIN_PREFIX;
///
/// let key = format!("{PER_LOGIN_PREFIX}csrf");
/// assert_eq!(key, "_per_login.csrf");
/// ```
pub const PER_LOGIN_PREFIX: &str = "_per_login.";

/// The session of the current request: Flask's `session`.
///
/// Get it with the axum extractor (`session: Session`) in a handler, or with
/// `parts.extract::<Session>()` in middleware; it needs a [`SessionLayer`](super::SessionLayer)
/// in front. Clones share one session, so a clone passed to a helper sees and makes the same
/// changes. Values are stored as JSON: anything `Serialize` goes in, anything
/// `DeserializeOwned` comes out.
///
/// # Loading
///
/// Nothing is decoded until it is needed, so a handler that never uses the session costs a
/// single allocation:
/// - Cookie sessions are decoded (signature check, then JSON) on the first method call, or
///   taken already decoded from the layer's cache of cookies it verified or wrote before
///   ([`SessionConfig::decoded_cache`](super::SessionConfig::decoded_cache)).
/// - Server-side sessions are loaded from the store when the extractor runs, because the store
///   is async and the methods here are not; the extractor answers 503 when the store fails. A
///   request whose handler does not extract `Session` never reaches the store.
///
/// A cookie that is tampered with, expired, malformed or signed with an unknown key, and an id
/// the store no longer knows, all give an empty session, never an error.
///
/// Changes are written when the response passes back through the layer; changes made by a
/// clone that outlives the response (a spawned task) are lost.
///
/// # Examples
///
/// ```
/// use phial_core::HttpError;
/// use phial_core::session::Session;
///
/// async fn visit(session: Session) -> Result<String, HttpError> {
///     let visits = session.get::<u32>("visits").unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(format!("visit number {visits}"))
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(visit));
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    state: Mutex<State>,
}

/// A session's contents and what happened to it during the request.
#[expect(clippy::struct_excessive_bools, reason = "independent per-request facts, as Flask's accessed/modified")]
pub(super) struct State {
    /// The request's cookie value until it is decoded or loaded.
    raw: Option<RawCookie>,
    /// Whether the request carried a session cookie.
    pub(super) had_cookie: bool,
    /// The contents, once decoded or loaded.
    pub(super) loaded: Option<Loaded>,
    /// Whether a method read or wrote the contents.
    pub(super) accessed: bool,
    /// Whether the contents changed.
    pub(super) modified: bool,
    /// Whether [`Session::cycle_id`] was called.
    pub(super) cycle: bool,
    /// A server-side session was used without being loaded; it must not be saved.
    pub(super) used_unloaded: bool,
    /// The flashes popped by the first `get_flashed_messages` of this request.
    pub(super) flashes: Option<Vec<FlashMessage>>,
    /// What [`Session::after_response`] registered, in order.
    pub(super) after: Vec<AfterResponse>,
}

/// A function [`Session::after_response`] runs on the response.
pub(super) type AfterResponse = Box<dyn FnOnce(&mut axum::response::Response) + Send>;

/// A decoded or loaded session.
pub(super) struct Loaded {
    /// Shared with the cache of decoded cookies; copied when the request first changes it.
    pub(super) record: Arc<Record>,
    /// The server-side id; `None` for cookie sessions and sessions not stored yet.
    pub(super) id: Option<SessionId>,
    /// Whether the cookie was verified by a fallback key, so it must be signed again.
    pub(super) resign: bool,
}

impl Loaded {
    fn new_session(config: &SessionConfig) -> Self {
        Self { record: Arc::new(Record::new(Map::new(), config.permanent)), id: None, resign: false }
    }
}

impl State {
    /// The contents, decoding the cookie on first use.
    pub(super) fn record(&mut self, shared: &Shared) -> &Record {
        self.loaded(shared)
    }

    /// The contents to change, decoding the cookie on first use; copied first when the
    /// cache of decoded cookies shares them.
    pub(super) fn record_mut(&mut self, shared: &Shared) -> &mut Record {
        Arc::make_mut(self.loaded(shared))
    }

    /// Removes and returns the value under `key`, copying shared contents only when there is one.
    pub(super) fn take(&mut self, shared: &Shared, key: &str) -> Option<Value> {
        if !self.record(shared).data.contains_key(key) {
            return None;
        }
        self.record_mut(shared).data.remove(key)
    }

    pub(super) fn loaded(&mut self, shared: &Shared) -> &mut Arc<Record> {
        let loaded = match self.loaded.take() {
            Some(loaded) => loaded,
            None if shared.store.is_some() => {
                // Only reachable from crate code that took the slot without `Session::load`.
                tracing::error!("a server-side session was used before it was loaded; it will not be saved");
                self.used_unloaded = true;
                Loaded::new_session(&shared.config)
            }
            None => decode_cookie(shared, self.raw.take().as_ref().map(RawCookie::as_str)),
        };
        &mut self.loaded.insert(loaded).record
    }
}

fn decode_cookie(shared: &Shared, raw: Option<&str>) -> Loaded {
    let Some(raw) = raw else { return Loaded::new_session(&shared.config) };
    let max_age = shared.config.lifetime_duration();
    if let Some(hit) = shared.cache.as_ref().and_then(|cache| cache.get(raw, max_age)) {
        return Loaded { record: hit.record, id: None, resign: hit.resign };
    }
    let verified = match shared.signer.verify(raw, max_age) {
        Ok(verified) => verified,
        Err(reason) => {
            tracing::debug!(%reason, "session cookie refused; starting an empty session");
            return Loaded::new_session(&shared.config);
        }
    };
    let Ok(mut data) = serde_json::from_slice::<Map<String, Value>>(&verified.payload) else {
        tracing::debug!("signed session cookie holds no JSON object; starting an empty session");
        return Loaded::new_session(&shared.config);
    };
    let permanent = data.remove(PERMANENT_KEY) == Some(Value::Bool(true));
    let record = Arc::new(Record::new(data, permanent));
    if let Some(cache) = &shared.cache {
        cache.put(raw, Arc::clone(&record), verified.issued_at, verified.used_fallback);
    }
    Loaded { record, id: None, resign: verified.used_fallback }
}

impl Session {
    pub(super) fn new(shared: Arc<Shared>, raw: Option<RawCookie>) -> Self {
        let state = State {
            had_cookie: raw.is_some(),
            raw,
            loaded: None,
            accessed: false,
            modified: false,
            cycle: false,
            used_unloaded: false,
            flashes: None,
            after: Vec::new(),
        };
        Self { inner: Arc::new(Inner { shared, state: Mutex::new(state) }) }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The state; a panic in a caller's `Deserialize` while it was locked leaves it usable.
    pub(super) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state, marking the session accessed.
    pub(super) fn with_state<R>(&self, f: impl FnOnce(&mut State, &Shared) -> R) -> R {
        let mut state = self.lock_state();
        state.accessed = true;
        f(&mut state, &self.inner.shared)
    }

    /// Loads a server-side session from the store; does nothing for cookie sessions (they
    /// decode lazily) or when already loaded. Crate code that takes the [`SessionSlot`] itself
    /// (templates) must call it before any other method.
    ///
    /// A cookie session returns at once; the store's load runs in a future of its own, so the
    /// extractors' futures (inside every handler's) stay small.
    pub(crate) async fn load(&self) -> Result<(), HttpError> {
        if self.inner.shared.store.is_none() {
            return Ok(());
        }
        Box::pin(self.load_from_store()).await
    }

    async fn load_from_store(&self) -> Result<(), HttpError> {
        let shared = &self.inner.shared;
        let Some(store) = &shared.store else { return Ok(()) };
        let raw = {
            let state = self.lock_state();
            if state.loaded.is_some() {
                return Ok(());
            }
            state.raw.clone()
        };
        let loaded = match raw.as_ref().and_then(|raw| verified_id(shared, raw.as_str())) {
            None => Loaded::new_session(&shared.config),
            Some((id, resign)) => match bounded(shared.store_timeout, "load", store.load(&id)).await? {
                Some(record) => Loaded { record: Arc::new(record), id: Some(id), resign },
                None => Loaded::new_session(&shared.config),
            },
        };
        let mut state = self.lock_state();
        if state.loaded.is_none() {
            state.loaded = Some(loaded);
            state.raw = None;
        }
        Ok(())
    }

    /// The value under `key`, or `None` when there is none or it does not deserialize as `T`
    /// (logged at `warn` with the key and type, never the value). Flask: `session.get(key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn profile(session: Session) -> String {
    ///     match session.get::<String>("username") {
    ///         Some(name) => format!("Hello, {name}"),
    ///         None => "Who are you?".to_owned(),
    ///     }
    /// }
    /// ```
    #[must_use]
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.with_state(|state, shared| {
            let value = state.record(shared).data.get(key)?;
            deserialize_logged(key, value)
        })
    }

    /// Stores `value` under `key`, replacing any previous value. Flask: `session[key] = value`.
    ///
    /// # Errors
    ///
    /// A 500 [`HttpError`] when `value` cannot be serialized to JSON (e.g. a map with
    /// non-string keys) or `key` is `"_permanent"`, which is reserved for
    /// [`Session::set_permanent`].
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::HttpError;
    /// use phial_core::session::Session;
    ///
    /// async fn login(session: Session) -> Result<&'static str, HttpError> {
    ///     session.cycle_id();
    ///     session.insert("user_id", 42_u64)?;
    ///     Ok("logged in")
    /// }
    /// ```
    pub fn insert(&self, key: impl Into<String>, value: impl Serialize) -> Result<(), HttpError> {
        let key = key.into();
        if key == PERMANENT_KEY {
            return Err(HttpError::internal("the session key `_permanent` is reserved; use `Session::set_permanent`"));
        }
        let value = serde_json::to_value(value)
            .map_err(|err| HttpError::internal(format!("session value for key `{key}` cannot be serialized: {err}")))?;
        self.with_state(|state, shared| {
            state.record_mut(shared).data.insert(key, value);
            state.modified = true;
        });
        Ok(())
    }

    /// Removes the value under `key`; returns whether there was one. Flask: `session.pop(key,
    /// None)` when the value is not needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn logout(session: Session) -> &'static str {
    ///     session.remove("user_id");
    ///     "logged out"
    /// }
    /// ```
    #[must_use]
    pub fn remove(&self, key: &str) -> bool {
        self.with_state(|state, shared| {
            let removed = state.take(shared, key).is_some();
            state.modified |= removed;
            removed
        })
    }

    /// Removes the value under `key` and returns it. Flask: `session.pop(key)`.
    ///
    /// The value is removed even when it does not deserialize as `T` (then `None` is returned).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn checkout(session: Session) -> String {
    ///     let cart: Vec<u32> = session.pop("cart").unwrap_or_default();
    ///     format!("{} items bought", cart.len())
    /// }
    /// ```
    #[must_use]
    pub fn pop<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.with_state(|state, shared| {
            let value = state.take(shared, key);
            state.modified |= value.is_some();
            value
        })?;
        deserialize_logged(key, &value)
    }

    /// The session's values as they are now, to read several without locking the session for
    /// each: the snapshot shares the values (no copy), and later changes to the session do not
    /// show in it. While one is alive, the first change to the session copies its values.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn cart(session: Session) -> String {
    ///     let values = session.values();
    ///     let user = values.get_str("user").unwrap_or("guest");
    ///     let items: Vec<u32> = values.get("cart").unwrap_or_default();
    ///     format!("{user}: {} items", items.len())
    /// }
    /// ```
    #[must_use]
    pub fn values(&self) -> SessionValues {
        self.with_state(|state, shared| SessionValues { record: Arc::clone(state.loaded(shared)) })
    }

    /// Whether there is a value under `key`. Flask: `key in session`.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.with_state(|state, shared| state.record(shared).data.contains_key(key))
    }

    /// Removes every value and returns [`permanent`](Self::permanent) to the configured default,
    /// as for a new session. At the end of the request the cookie is deleted (and a server-side
    /// record too). Flask: `session.clear()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn logout(session: Session) -> &'static str {
    ///     session.clear();
    ///     "logged out"
    /// }
    /// ```
    pub fn clear(&self) {
        self.with_state(|state, shared| {
            let record = state.record(shared);
            if record.data.is_empty() && record.permanent == shared.config.permanent {
                return;
            }
            let record = state.record_mut(shared);
            record.data.clear();
            record.permanent = shared.config.permanent;
            state.modified = true;
        });
    }

    /// Whether the session holds no values. Flask: `not session`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.with_state(|state, shared| state.record(shared).data.is_empty())
    }

    /// The number of values. Flask: `len(session)`.
    #[must_use]
    pub fn len(&self) -> usize {
        self.with_state(|state, shared| state.record(shared).data.len())
    }

    /// Makes the session permanent (a cookie with `Max-Age`, lasting
    /// [`lifetime`](SessionConfig::lifetime)) or a browser-session cookie. Flask:
    /// `session.permanent = True`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::HttpError;
    /// use phial_core::session::Session;
    ///
    /// async fn login(session: Session) -> Result<(), HttpError> {
    ///     session.set_permanent(true); // "remember me"
    ///     session.insert("user_id", 7)
    /// }
    /// ```
    pub fn set_permanent(&self, permanent: bool) {
        self.with_state(|state, shared| {
            if state.record(shared).permanent != permanent {
                state.record_mut(shared).permanent = permanent;
                state.modified = true;
            }
        });
    }

    /// Whether the session is permanent. Flask: `session.permanent`.
    #[must_use]
    pub fn permanent(&self) -> bool {
        self.with_state(|state, shared| state.record(shared).permanent)
    }

    /// Gives a server-side session a new id when the response is written, deleting the record
    /// under the old one, so an id planted or seen before login is worthless after it (session
    /// fixation). Call it when privileges change: login, logout, sudo. A cookie session has no
    /// id; it is only marked modified, so its cookie is signed again.
    ///
    /// Either way, every key that starts with [`PER_LOGIN_PREFIX`] is removed: values bound to
    /// who is logged in, such as the CSRF secret of phial-forms, so a token taken before the
    /// change is refused after it. Other keys stay.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::HttpError;
    /// use phial_core::session::Session;
    ///
    /// async fn login(session: Session) -> Result<(), HttpError> {
    ///     session.cycle_id();
    ///     session.insert("user_id", 7)
    /// }
    /// ```
    pub fn cycle_id(&self) {
        self.with_state(|state, shared| {
            if state.record(shared).data.keys().any(|key| key.starts_with(PER_LOGIN_PREFIX)) {
                state.record_mut(shared).data.retain(|key, _| !key.starts_with(PER_LOGIN_PREFIX));
            }
            state.cycle = true;
            state.modified = true;
        });
    }

    /// Runs `f` on this request's response: after the handler and every layer inside the
    /// session layer have answered, before the session is written (so `f` may still use the
    /// session). Functions run in the order they were registered. Flask's
    /// `after_this_request`, for code that has no layer of its own around the handler: an
    /// extractor that must add a header or a cookie to whatever response the handler gives
    /// (phial-login writes its remember-me cookie this way).
    ///
    /// Registering does not count as using the session: it alone adds no `Vary: Cookie` and
    /// writes no cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::http::HeaderValue;
    /// use phial_core::session::Session;
    ///
    /// async fn handler(session: Session) -> &'static str {
    ///     session.after_response(|response| {
    ///         response.headers_mut().insert("x-seen", HeaderValue::from_static("yes"));
    ///     });
    ///     "hello"
    /// }
    /// ```
    pub fn after_response(&self, f: impl FnOnce(&mut axum::response::Response) + Send + 'static) {
        self.lock_state().after.push(Box::new(f));
    }

    /// The server-side id: `None` for cookie sessions, and for server-side sessions that are
    /// new or whose id was just [cycled](Self::cycle_id), until the response stores them.
    ///
    /// The id is a credential; do not log it or send it anywhere but the store.
    #[must_use]
    pub fn id(&self) -> Option<SessionId> {
        self.with_state(|state, shared| {
            state.record(shared);
            if state.cycle { None } else { state.loaded.as_ref().and_then(|loaded| loaded.id.clone()) }
        })
    }

    /// Whether the session changed during this request, so it will be written. Flask:
    /// `session.modified`.
    #[must_use]
    pub fn modified(&self) -> bool {
        self.lock_state().modified
    }

    /// Whether the session was read or written during this request; the response then carries
    /// `Vary: Cookie`. Flask: `session.accessed`.
    #[must_use]
    pub fn accessed(&self) -> bool {
        self.lock_state().accessed
    }
}

/// A server-side session cookie's id, if its signature and age are good.
fn verified_id(shared: &Shared, raw: &str) -> Option<(SessionId, bool)> {
    match shared.signer.verify(raw, shared.config.lifetime_duration()) {
        Ok(verified) => SessionId::from_raw(&verified.payload).map(|id| (id, verified.used_fallback)),
        Err(reason) => {
            tracing::debug!(%reason, "session cookie refused; starting an empty session");
            None
        }
    }
}

/// A snapshot of a session's values: see [`Session::values`].
///
/// # Examples
///
/// ```
/// use phial_core::session::Session;
///
/// async fn greet(session: Session) -> String {
///     let values = session.values();
///     match (values.get_str("name"), values.get::<u32>("visits")) {
///         (Some(name), Some(visits)) => format!("{name}, visit {visits}"),
///         _ => "hello".to_owned(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct SessionValues {
    record: Arc<Record>,
}

impl SessionValues {
    /// The value under `key` as `T`, or `None` when there is none or it does not deserialize
    /// (logged at `warn`), as [`Session::get`].
    #[must_use]
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        deserialize_logged(key, self.record.data.get(key)?)
    }

    /// The string under `key`, borrowed; `None` when there is none or it is not a string.
    #[must_use]
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.record.data.get(key)?.as_str()
    }

    /// The JSON value under `key`.
    #[must_use]
    pub fn get_value(&self, key: &str) -> Option<&Value> {
        self.record.data.get(key)
    }

    /// Whether there is a value under `key`.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.record.data.contains_key(key)
    }

    /// How many values there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.record.data.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.record.data.is_empty()
    }

    /// Whether the session outlives the browser session, as [`Session::permanent`].
    #[must_use]
    pub fn permanent(&self) -> bool {
        self.record.permanent
    }
}

impl fmt::Debug for SessionValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys only: values may be secrets.
        f.debug_struct("SessionValues").field("keys", &self.record.data.keys().collect::<Vec<_>>()).finish()
    }
}

fn deserialize_logged<T: DeserializeOwned>(key: &str, value: &Value) -> Option<T> {
    T::deserialize(value)
        .inspect_err(|_| {
            tracing::warn!(
                key,
                r#type = std::any::type_name::<T>(),
                "session value does not deserialize as the requested type"
            );
        })
        .ok()
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock_state();
        f.debug_struct("Session")
            .field("loaded", &state.loaded.is_some())
            .field("accessed", &state.accessed)
            .field("modified", &state.modified)
            .finish_non_exhaustive()
    }
}

/// The request extension that [`SessionLayer`](super::SessionLayer) inserts. It is private to
/// the crate so that outside code obtains a [`Session`] only through the extractor, which loads
/// server-side sessions before any method can run.
#[derive(Clone)]
pub(crate) struct SessionSlot(pub(crate) Session);

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = Self::from_extensions(&parts.extensions).ok_or_else(|| {
            HttpError::internal(
                "the `Session` extractor was used but `SessionLayer` is not installed; add it with `.layer(SessionLayer::new(...))`",
            )
        })?;
        session.load().await?;
        Ok(session)
    }
}

impl Session {
    /// The request's session handle from its extensions, without loading it: for layers that
    /// hand the session to code running later in the request, such as a template function.
    /// `None` without [`SessionLayer`](super::SessionLayer).
    ///
    /// A server-side session must be loaded before it is read: the `Session` and `Template`
    /// extractors load it, so a function called while a template renders may read it.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// let request = http::Request::new(());
    /// assert!(Session::from_extensions(request.extensions()).is_none());
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        // In a phial app the session rides in the core's request context; a `SessionLayer` used
        // on its own (bare axum) leaves a slot of its own.
        match extensions.get::<crate::outer::RequestContext>() {
            Some(context) => context.session.clone(),
            None => extensions.get::<SessionSlot>().map(|slot| slot.0.clone()),
        }
    }
}

/// `Option<Session>` is `None` when no [`SessionLayer`](super::SessionLayer) is installed,
/// for code that works with or without sessions.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        let Some(session) = Self::from_extensions(&parts.extensions) else { return Ok(None) };
        session.load().await?;
        Ok(Some(session))
    }
}

#[cfg(test)]
impl Session {
    /// A cookie session signed with `"test key"`, outside any request.
    pub(super) fn for_tests(raw: Option<String>) -> Self {
        Self::for_tests_cached(raw, None)
    }

    fn raw_for_tests(raw: Option<String>) -> Option<RawCookie> {
        let header = HeaderValue::try_from(format!("session={}", raw?)).expect("a valid header value");
        Some(RawCookie { range: "session=".len()..header.len(), header })
    }

    /// As [`Session::for_tests`], sharing `cache` with other sessions as those of one layer do.
    pub(super) fn for_tests_cached(raw: Option<String>, cache: Option<Arc<DecodedCookies>>) -> Self {
        let signer = CookieSigner::new(&crate::secret::Secret::new("test key"), &[]).expect("non-empty key");
        let shared = Shared {
            signer,
            config: SessionConfig::default(),
            secure: false,
            store: None,
            store_timeout: Duration::from_secs(1),
            cache,
        };
        Self::new(Arc::new(shared), Self::raw_for_tests(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn session(raw: Option<String>) -> Session {
        Session::for_tests(raw)
    }

    #[test]
    fn untouched_session_is_neither_accessed_nor_modified() {
        let session = session(None);
        assert!(!session.accessed());
        assert!(!session.modified());
    }

    #[test]
    fn reading_marks_accessed_but_not_modified() {
        let session = session(None);
        assert_eq!(session.get::<u32>("missing"), None);
        assert!(session.accessed());
        assert!(!session.modified());
    }

    #[test]
    fn insert_get_pop_and_remove_behave_like_a_dict() {
        let session = session(None);
        session.insert("n", 3_u32).expect("serializable");
        session.insert("names", vec!["a", "b"]).expect("serializable");
        assert!(session.modified());
        assert_eq!(session.get::<u32>("n"), Some(3));
        assert_eq!(session.get::<Vec<String>>("names"), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(session.contains("n"));
        assert_eq!(session.len(), 2);
        assert_eq!(session.pop::<u32>("n"), Some(3));
        assert!(!session.contains("n"));
        assert!(session.remove("names"));
        assert!(!session.remove("names"));
        assert!(session.is_empty());
    }

    #[test]
    fn value_of_another_type_reads_as_none() {
        let session = session(None);
        session.insert("n", "three").expect("serializable");
        assert_eq!(session.get::<u32>("n"), None);
        assert_eq!(session.get::<String>("n").as_deref(), Some("three"));
    }

    #[test]
    fn reserved_permanent_key_cannot_be_inserted() {
        let err = session(None).insert(PERMANENT_KEY, true).expect_err("reserved key");
        assert_eq!(err.status().as_u16(), 500);
    }

    #[test]
    fn value_that_cannot_be_json_is_an_error() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "tuple keys are not JSON");
        assert!(session(None).insert("bad", map).is_err());
    }

    #[test]
    fn clones_share_one_session() {
        let session = session(None);
        session.clone().insert("k", 1).expect("serializable");
        assert_eq!(session.get::<i32>("k"), Some(1));
    }

    #[test]
    fn removing_a_missing_key_does_not_modify() {
        let session = session(None);
        assert!(!session.remove("missing"));
        assert_eq!(session.pop::<u32>("missing"), None);
        assert!(!session.modified());
    }

    #[test]
    fn cookie_is_decoded_on_first_access() {
        let signer = CookieSigner::new(&Secret::new("test key"), &[]).expect("non-empty key");
        let session = session(Some(signer.sign(br#"{"k":5,"_permanent":true}"#)));
        assert!(session.lock_state().loaded.is_none());
        assert_eq!(session.get::<u32>("k"), Some(5));
        assert!(session.permanent());
        assert!(!session.contains(PERMANENT_KEY));
    }

    fn cached_session(cache: &Arc<DecodedCookies>, raw: &str) -> Session {
        Session::for_tests_cached(Some(raw.to_owned()), Some(Arc::clone(cache)))
    }

    #[test]
    fn a_decoded_cookie_is_cached_and_changes_of_one_request_stay_out_of_the_cache() {
        let cache = Arc::new(DecodedCookies::new(16).expect("cache"));
        let signer = CookieSigner::new(&Secret::new("test key"), &[]).expect("non-empty key");
        let raw = signer.sign(br#"{"k":5,"_permanent":true}"#);
        let max_age = SessionConfig::default().lifetime_duration();
        assert!(cache.get(&raw, max_age).is_none());

        let first = cached_session(&cache, &raw);
        assert_eq!(first.get::<u32>("k"), Some(5));
        let hit = cache.get(&raw, max_age).expect("verified once, then cached");
        assert_eq!(hit.record.data["k"], 5);
        assert!(hit.record.permanent);
        // The next request with the same cookie shares the cached contents...
        let second = cached_session(&cache, &raw);
        assert_eq!(second.get::<u32>("k"), Some(5));
        assert!(Arc::ptr_eq(&second.lock_state().loaded.as_ref().expect("decoded").record, &hit.record));
        // ... and its changes are its own.
        second.insert("k", 6).expect("serializable");
        assert!(second.remove("k"));
        second.set_permanent(false);
        assert_eq!(cache.get(&raw, max_age).expect("still cached").record.data["k"], 5);
        assert_eq!(cached_session(&cache, &raw).get::<u32>("k"), Some(5));
        assert!(cached_session(&cache, &raw).permanent());
    }

    #[test]
    fn a_snapshot_reads_the_values_of_its_moment() {
        let session = session(None);
        session.insert("name", "ada").expect("serializable");
        session.insert("n", 3).expect("serializable");
        let values = session.values();
        session.insert("n", 4).expect("serializable");
        assert!(session.remove("name"));
        assert_eq!(values.get_str("name"), Some("ada"));
        assert_eq!(values.get::<u32>("n"), Some(3));
        assert_eq!(values.get_str("n"), None, "not a string");
        assert_eq!(values.get_value("n"), Some(&Value::from(3)));
        assert!(values.contains("name") && !values.contains("missing"));
        assert_eq!((values.len(), values.is_empty(), values.permanent()), (2, false, false));
        assert_eq!(session.get::<u32>("n"), Some(4));
        assert!(!session.contains("name"));
        assert!(format!("{values:?}").contains("name") && !format!("{values:?}").contains("ada"));
    }

    #[test]
    fn a_cookie_that_fails_verification_is_not_cached() {
        let cache = Arc::new(DecodedCookies::new(16).expect("cache"));
        let other = CookieSigner::new(&Secret::new("another key"), &[]).expect("non-empty key");
        let raw = other.sign(br#"{"k":5}"#);
        assert_eq!(cached_session(&cache, &raw).get::<u32>("k"), None);
        assert!(cache.get(&raw, Duration::from_mins(1)).is_none());
    }

    #[test]
    fn clear_empties_and_resets_permanence() {
        let session = session(None);
        session.set_permanent(true);
        session.insert("k", 1).expect("serializable");
        session.clear();
        assert!(session.is_empty());
        assert!(!session.permanent());
        assert!(session.modified());
    }

    #[test]
    fn cookie_session_has_no_id_and_cycle_marks_modified() {
        let session = session(None);
        assert_eq!(session.id(), None);
        session.cycle_id();
        assert!(session.modified());
    }

    #[test]
    fn debug_output_holds_no_values() {
        let session = session(None);
        session.insert("password", "hunter2").expect("serializable");
        assert!(!format!("{session:?}").contains("hunter2"));
    }
}
