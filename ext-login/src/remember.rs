//! Remember-me tokens: server-side, revocable, rotated on each use.
//!
//! The cookie holds `selector.validator`, two random base64url strings. The store keeps, under
//! the selector, the user's id, the SHA-256 of the validator (compared in constant time), the
//! user's [`session_auth_hash`](crate::AuthUser::session_auth_hash) digest and the user's
//! epoch at issue. A stolen database row cannot be turned into a cookie, a token can be
//! revoked by deleting its row, and a token that was used is replaced by a new one.
//!
//! Flask-Login's remember cookie is the user id signed with the secret key: it cannot be
//! revoked, and logging out elsewhere does not end it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::BoxFuture;
use phial_core::BoxError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// What a [`RememberStore`] keeps for one token.
///
/// # Examples
///
/// ```
/// use phial_login::RememberRecord;
/// use time::OffsetDateTime;
///
/// let record = RememberRecord::new("42", [0; 32], None, 0, OffsetDateTime::now_utc());
/// assert_eq!(record.user_id, "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RememberRecord {
    /// The user's [`auth_id`](crate::AuthUser::auth_id).
    pub user_id: String,
    /// SHA-256 of the validator half of the cookie.
    pub validator_hash: [u8; 32],
    /// Digest of the user's `session_auth_hash` when the token was issued.
    pub auth_hash: Option<String>,
    /// The user's epoch when the token was issued (see [`RememberStore::epoch`]).
    pub epoch: u64,
    /// When the token stops working.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

impl RememberRecord {
    /// A record; see the fields.
    pub fn new(
        user_id: impl Into<String>,
        validator_hash: [u8; 32],
        auth_hash: Option<String>,
        epoch: u64,
        expires_at: OffsetDateTime,
    ) -> Self {
        Self { user_id: user_id.into(), validator_hash, auth_hash, epoch, expires_at }
    }
}

/// Where remember-me tokens and per-user epochs live.
///
/// The epoch of a user is a counter that [`bump_epoch`](Self::bump_epoch) raises to log the
/// user out everywhere: sessions and tokens made under an older epoch stop working. Object
/// safe; methods return boxed futures (`Box::pin(async move { ... })`). Calls are bounded by a
/// timeout by the caller; an error or timeout is a 503.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use phial_login::{MemoryRememberStore, RememberStore};
///
/// let store: Arc<dyn RememberStore> = Arc::new(MemoryRememberStore::new());
/// # let _ = store;
/// ```
pub trait RememberStore: Send + Sync + 'static {
    /// The token under `selector`, unless it is absent or expired.
    fn load<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<Option<RememberRecord>, BoxError>>;
    /// Stores `record` under `selector`.
    fn save<'a>(&'a self, selector: &'a str, record: &'a RememberRecord) -> BoxFuture<'a, Result<(), BoxError>>;
    /// Removes the token under `selector`; absent is fine.
    fn delete<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<(), BoxError>>;
    /// The user's epoch (0 until bumped).
    fn epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>>;
    /// Raises the user's epoch and returns the new value.
    fn bump_epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>>;
}

/// Tokens and epochs in the process's memory: for one instance and for tests.
///
/// Several instances need a shared store (see the crate docs for Redis and SQL).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_core::BoxError> {
/// use phial_login::{MemoryRememberStore, RememberStore};
///
/// let store = MemoryRememberStore::new();
/// assert_eq!(store.epoch("42").await?, 0);
/// assert_eq!(store.bump_epoch("42").await?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct MemoryRememberStore {
    inner: Mutex<MemoryTables>,
}

/// The token count below which saves never sweep expired tokens.
const MIN_SWEEP_LEN: usize = 1024;

#[derive(Debug, Default)]
struct MemoryTables {
    tokens: HashMap<String, RememberRecord>,
    epochs: HashMap<String, u64>,
    /// The number of tokens after the last sweep.
    swept_len: usize,
}

impl MemoryTables {
    /// Drops expired tokens once the table has doubled since the last sweep, so tokens whose
    /// cookie was never sent again do not pile up without a background task.
    fn sweep_if_grown(&mut self) {
        if self.tokens.len() >= MIN_SWEEP_LEN.max(self.swept_len * 2) {
            let now = OffsetDateTime::now_utc();
            self.tokens.retain(|_, record| record.expires_at > now);
            self.swept_len = self.tokens.len();
        }
    }
}

impl MemoryRememberStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens are held (expired ones included until read).
    pub fn len(&self) -> usize {
        self.tables().tokens.len()
    }

    /// Whether no tokens are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn tables(&self) -> MutexGuard<'_, MemoryTables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RememberStore for MemoryRememberStore {
    fn load<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<Option<RememberRecord>, BoxError>> {
        let mut tables = self.tables();
        let record = match tables.tokens.get(selector) {
            Some(record) if record.expires_at <= OffsetDateTime::now_utc() => {
                tables.tokens.remove(selector);
                None
            }
            other => other.cloned(),
        };
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(&'a self, selector: &'a str, record: &'a RememberRecord) -> BoxFuture<'a, Result<(), BoxError>> {
        let mut tables = self.tables();
        tables.tokens.insert(selector.to_owned(), record.clone());
        tables.sweep_if_grown();
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete<'a>(&'a self, selector: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        self.tables().tokens.remove(selector);
        Box::pin(std::future::ready(Ok(())))
    }

    fn epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        let epoch = self.tables().epochs.get(user_id).copied().unwrap_or(0);
        Box::pin(std::future::ready(Ok(epoch)))
    }

    fn bump_epoch<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        let mut tables = self.tables();
        let epoch = tables.epochs.entry(user_id.to_owned()).or_insert(0);
        *epoch += 1;
        let epoch = *epoch;
        Box::pin(std::future::ready(Ok(epoch)))
    }
}

/// A freshly issued token: the cookie value and what to store under its selector.
pub(crate) struct IssuedToken {
    pub(crate) selector: String,
    pub(crate) cookie_value: String,
    pub(crate) validator_hash: [u8; 32],
}

/// 16 random bytes of selector and 32 of validator.
pub(crate) fn issue_token() -> Result<IssuedToken, BoxError> {
    let mut selector = [0_u8; 16];
    let mut validator = [0_u8; 32];
    getrandom::fill(&mut selector).map_err(|err| format!("cannot generate a remember-me token: {err}"))?;
    getrandom::fill(&mut validator).map_err(|err| format!("cannot generate a remember-me token: {err}"))?;
    let selector = URL_SAFE_NO_PAD.encode(selector);
    let validator_text = URL_SAFE_NO_PAD.encode(validator);
    Ok(IssuedToken {
        cookie_value: format!("{selector}.{validator_text}"),
        validator_hash: Sha256::digest(validator_text.as_bytes()).into(),
        selector,
    })
}

/// The selector and validator of a cookie value, if it has the token's shape.
pub(crate) fn parse_token(value: &str) -> Option<(&str, &str)> {
    let (selector, validator) = value.split_once('.')?;
    let b64 = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (b64(selector) && b64(validator)).then_some((selector, validator))
}

/// Whether `validator` hashes to `expected`, in constant time.
pub(crate) fn validator_matches(validator: &str, expected: &[u8; 32]) -> bool {
    let actual: [u8; 32] = Sha256::digest(validator.as_bytes()).into();
    actual.ct_eq(expected).into()
}

/// A digest of a `session_auth_hash`, so that neither the session nor the token store holds the
/// value itself (it may be a password hash).
pub(crate) fn auth_digest(hash: Option<String>) -> Option<String> {
    hash.map(|hash| {
        let mut digest = Sha256::new();
        digest.update(b"phial-login session auth hash\0");
        digest.update(hash.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.finalize())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_parses_and_its_validator_matches() {
        let token = issue_token().expect("random source");
        let (selector, validator) = parse_token(&token.cookie_value).expect("token shape");
        assert_eq!(selector, token.selector);
        assert!(validator_matches(validator, &token.validator_hash));
        assert!(!validator_matches("forged", &token.validator_hash));
    }

    #[test]
    fn malformed_cookie_values_are_not_tokens() {
        for value in ["", "abc", ".abc", "abc.", "a b.c", "a.b.c"] {
            assert!(parse_token(value).is_none(), "{value:?}");
        }
    }

    #[tokio::test]
    async fn expired_tokens_are_swept_when_the_table_grows() {
        let store = MemoryRememberStore::new();
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        for n in 0..MIN_SWEEP_LEN - 1 {
            store.save(&n.to_string(), &RememberRecord::new("1", [0; 32], None, 0, past)).await.expect("memory");
        }
        assert_eq!(store.len(), MIN_SWEEP_LEN - 1);
        let future = OffsetDateTime::now_utc() + time::Duration::days(1);
        store.save("live", &RememberRecord::new("1", [0; 32], None, 0, future)).await.expect("memory");
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn expired_tokens_are_not_loaded() {
        let store = MemoryRememberStore::new();
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        store.save("s", &RememberRecord::new("1", [0; 32], None, 0, past)).await.expect("memory");
        assert_eq!(store.load("s").await.expect("memory"), None);
        assert!(store.is_empty());
    }
}
