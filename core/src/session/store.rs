//! [`SessionStore`]: where server-side sessions live, keyed by [`SessionId`].

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::error::{BoxError, HttpError};

/// A server-side session's id: 32 random bytes from the operating system, base64url.
///
/// The id is a credential: whoever has it holds the session. `Debug` shows only its first
/// four characters and there is no `Display`; pass [`SessionId::as_str`] to the store and
/// nowhere else. The cookie never holds a bare id, only a signed one.
///
/// # Examples
///
/// ```
/// use phial_core::session::SessionId;
///
/// let id = SessionId::generate()?;
/// assert_eq!(id.as_str().len(), 43);
/// assert_ne!(id, SessionId::generate()?);
/// # Ok::<(), phial_core::BoxError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// The number of random bytes in an id.
    pub const BYTES: usize = 32;

    /// A new random id.
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    pub fn generate() -> Result<Self, BoxError> {
        let mut bytes = [0_u8; Self::BYTES];
        getrandom::fill(&mut bytes).map_err(|err| format!("cannot generate a session id: {err}"))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id's text, for use as a store key. It is a credential: do not log it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id in a signed cookie's payload, if it has an id's shape.
    pub(crate) fn from_raw(raw: &[u8]) -> Option<Self> {
        (raw.len() == Self::BYTES).then(|| Self(URL_SAFE_NO_PAD.encode(raw)))
    }

    /// The bytes that the cookie signs.
    pub(crate) fn to_raw(&self) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(&self.0).ok()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.0.get(..4).unwrap_or("");
        write!(f, "SessionId(\"{prefix}…\")")
    }
}

/// What a server-side store keeps for one session.
///
/// `data` holds the values that handlers [`insert`](super::Session::insert)ed, as JSON;
/// `permanent` is [`Session::permanent`](super::Session::permanent). Stores that write
/// records as text can use the serde impls (`{"data": {...}, "permanent": false}`).
///
/// # Examples
///
/// ```
/// use phial_core::session::Record;
///
/// let mut data = serde_json::Map::new();
/// data.insert("user_id".into(), 42.into());
/// let record = Record::new(data, true);
/// assert_eq!(record.data["user_id"], 42);
/// assert!(record.permanent);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// The session's values by key.
    pub data: Map<String, Value>,
    /// Whether the session outlives the browser session.
    #[serde(default)]
    pub permanent: bool,
}

impl Record {
    /// A record with `data` and the `permanent` flag.
    #[must_use]
    pub fn new(data: Map<String, Value>, permanent: bool) -> Self {
        Self { data, permanent }
    }
}

/// A server-side session store: Redis, a SQL table, or the in-process
/// [`MemoryStore`](super::MemoryStore).
///
/// The trait is object-safe; [`SessionLayer`](super::SessionLayer) holds an
/// `Arc<dyn SessionStore>`. Methods return boxed futures, so an implementation writes
/// `Box::pin(async move { ... })`.
///
/// The layer bounds every call with a timeout and turns an error or a timeout into a
/// 503 Service Unavailable response, so a store needs no timeout of its own; it must still
/// not block the runtime thread (use an async client, or `spawn_blocking`).
///
/// # Contract
///
/// - `load` never returns a record whose `expires_at` has passed.
/// - `save` replaces any record under the id and sets its expiry.
/// - `delete` of an absent id succeeds.
///
/// # Examples
///
/// A store that forgets everything, to show the shape:
///
/// ```
/// use futures_util::future::BoxFuture;
/// use phial_core::BoxError;
/// use phial_core::session::{Record, SessionId, SessionStore};
/// use time::OffsetDateTime;
///
/// struct Forgetful;
///
/// impl SessionStore for Forgetful {
///     fn load<'a>(&'a self, _id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>> {
///         Box::pin(async { Ok(None) })
///     }
///     fn save<'a>(
///         &'a self,
///         _id: &'a SessionId,
///         _record: &'a Record,
///         _expires_at: OffsetDateTime,
///     ) -> BoxFuture<'a, Result<(), BoxError>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn delete<'a>(&'a self, _id: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The record under `id`, or `None` when there is none or it has expired.
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>>;

    /// Stores `record` under `id` until `expires_at`, replacing any previous record.
    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Removes the record under `id`, if any.
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Removes expired records and returns how many. The default does nothing and returns 0,
    /// which suits stores whose backend expires entries itself (Redis TTLs); a SQL store
    /// deletes its expired rows here, and the app calls it periodically.
    fn cleanup_expired(&self) -> BoxFuture<'_, Result<u64, BoxError>> {
        Box::pin(async { Ok(0) })
    }
}

/// Runs one store call, bounded by `timeout`; an error or a timeout becomes a 503 whose logged
/// source says which call failed.
pub(super) async fn bounded<T>(
    timeout: Duration,
    call: &'static str,
    future: BoxFuture<'_, Result<T, BoxError>>,
) -> Result<T, HttpError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(HttpError::unavailable(format!("session store failed to {call} a session: {err}"))),
        Err(_) => Err(HttpError::unavailable(format!(
            "session store did not {call} a session within {} ms",
            timeout.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_43_base64url_characters_and_unique() {
        let a = SessionId::generate().expect("random source");
        let b = SessionId::generate().expect("random source");
        assert_eq!(a.as_str().len(), 43);
        assert!(a.as_str().bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_output_shows_only_a_prefix_of_the_id() {
        let id = SessionId::generate().expect("random source");
        let printed = format!("{id:?}");
        assert!(printed.contains(&id.as_str()[..4]));
        assert!(!printed.contains(&id.as_str()[..12]));
    }

    #[test]
    fn id_round_trips_through_its_raw_bytes() {
        let id = SessionId::generate().expect("random source");
        let raw = id.to_raw().expect("valid base64");
        assert_eq!(SessionId::from_raw(&raw), Some(id));
        assert_eq!(SessionId::from_raw(b"short"), None);
    }

    #[test]
    fn record_without_permanent_field_deserializes_as_not_permanent() {
        let record: Record = serde_json::from_str(r#"{"data": {"a": 1}}"#).expect("valid record");
        assert!(!record.permanent);
        assert_eq!(record.data["a"], 1);
    }
}
