//! The in-process store: a bounded moka cache of encoded values with a lifetime per entry.

use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache as Moka;
use moka::ops::compute::{CompResult, Op};

use crate::codec;
use crate::config::{CacheConfig, positive};
use crate::error::CacheError;

/// Something derived from an entry's bytes once and shared by every later read of that
/// entry: the response layer keeps the decoded, ready-to-serve response here, so a hit does
/// not decode it again. A new value for the key starts with an empty memo.
pub(crate) type Memo = Arc<OnceLock<Arc<dyn Any + Send + Sync>>>;

/// One stored value and how long it lives.
#[derive(Clone)]
struct Slot {
    value: Bytes,
    ttl: Option<Duration>,
    /// Counters keep the lifetime they were created with when they change.
    keep_ttl: bool,
    memo: Memo,
}

/// Reads each entry's own lifetime (moka's per-entry expiry).
struct PerEntry;

impl Expiry<String, Slot> for PerEntry {
    fn expire_after_create(&self, _key: &String, slot: &Slot, _created_at: Instant) -> Option<Duration> {
        slot.ttl
    }

    fn expire_after_update(
        &self,
        _key: &String,
        slot: &Slot,
        _updated_at: Instant,
        remaining: Option<Duration>,
    ) -> Option<Duration> {
        if slot.keep_ttl { remaining } else { slot.ttl }
    }
}

/// moka's async cache of encoded values, bounded by entries or bytes.
///
/// Keys are hashed with foldhash (seeded randomly per process, so keys an attacker picks do
/// not collide on purpose) rather than std's `SipHash`, which was a quarter of moka's lookup
/// on a response hit.
#[derive(Clone)]
pub(crate) struct MemoryStore {
    cache: Moka<String, Slot, foldhash::quality::RandomState>,
    /// The longest an entry may live here (the two-level local copy), if any.
    cap: Option<Duration>,
}

impl MemoryStore {
    /// A store bounded as `config` says; entries live at most `cap` when given.
    pub(crate) fn new(config: &CacheConfig, cap: Option<Duration>) -> Self {
        let mut builder = Moka::builder().expire_after(PerEntry);
        builder = match config.max_size {
            Some(bytes) => builder
                .max_capacity(bytes)
                .weigher(|key: &String, slot: &Slot| u32::try_from(key.len() + slot.value.len()).unwrap_or(u32::MAX)),
            None => builder.max_capacity(config.max_entries),
        };
        if let Some(tti) = config.time_to_idle.and_then(positive) {
            builder = builder.time_to_idle(tti);
        }
        Self { cache: builder.build_with_hasher(foldhash::quality::RandomState::default()), cap }
    }

    fn ttl(&self, ttl: Option<Duration>) -> Option<Duration> {
        match (ttl, self.cap) {
            (Some(ttl), Some(cap)) => Some(ttl.min(cap)),
            (ttl, cap) => ttl.or(cap),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Option<Bytes> {
        self.cache.get(key).await.map(|slot| slot.value)
    }

    /// The value, if moka answers without waiting (it nearly always does: its housekeeping
    /// only runs when its lock is free); for callers that cannot await.
    #[cfg(feature = "templates")]
    pub(crate) fn get_now(&self, key: &str) -> Option<Bytes> {
        use futures_util::FutureExt;
        self.get(key).now_or_never().flatten()
    }

    /// Stores the value if moka can without waiting; whether it did. A write interrupted this
    /// way is one moka finishes or retries itself (its operations are cancel safe).
    #[cfg(feature = "templates")]
    pub(crate) fn set_now(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> bool {
        use futures_util::FutureExt;
        self.set(key, value, ttl).now_or_never().is_some()
    }

    /// The value and its memo, if moka answers without waiting (see `get_now`).
    pub(crate) fn get_memo_now(&self, key: &str) -> Option<(Bytes, Memo)> {
        use futures_util::FutureExt;
        self.get_memo(key).now_or_never().flatten()
    }

    /// The value and its memo.
    pub(crate) async fn get_memo(&self, key: &str) -> Option<(Bytes, Memo)> {
        self.cache.get(key).await.map(|slot| (slot.value, slot.memo))
    }

    pub(crate) async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) {
        let slot = Slot { value, ttl: self.ttl(ttl), keep_ttl: false, memo: Memo::default() };
        self.cache.insert(key.to_owned(), slot).await;
    }

    /// Stores `value` only if `key` holds nothing; whether it did.
    pub(crate) async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> bool {
        let slot = Slot { value, ttl: self.ttl(ttl), keep_ttl: false, memo: Memo::default() };
        let result = self
            .cache
            .entry_by_ref(key)
            .and_compute_with(|existing| std::future::ready(if existing.is_some() { Op::Nop } else { Op::Put(slot) }))
            .await;
        matches!(result, CompResult::Inserted(_))
    }

    pub(crate) async fn delete(&self, key: &str) -> bool {
        self.cache.remove(key).await.is_some()
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.cache.contains_key(key)
    }

    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }

    /// Adds `delta` to the counter at `key` atomically, creating it (living `ttl`) at 0.
    pub(crate) async fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let outcome: Mutex<Result<i64, CacheError>> = Mutex::new(Ok(0));
        let ttl = self.ttl(ttl);
        self.cache
            .entry_by_ref(key)
            .and_compute_with(|existing| {
                let current = existing.map_or(Some(0), |entry| codec::decode_integer(&entry.value().value));
                let next = current.map(|value| value.checked_add(delta));
                let op = if let Some(Some(next)) = next {
                    *lock(&outcome) = Ok(next);
                    Op::Put(Slot { value: codec::encode_integer(next), ttl, keep_ttl: true, memo: Memo::default() })
                } else {
                    *lock(&outcome) = Err(CacheError::NotAnInteger(key.to_owned()));
                    Op::Nop
                };
                std::future::ready(op)
            })
            .await;
        outcome.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Entries currently held (moka's estimate, after pending work).
    pub(crate) async fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> MemoryStore {
        MemoryStore::new(&CacheConfig::default(), None)
    }

    #[tokio::test]
    async fn add_only_writes_absent_keys() {
        let store = store();
        assert!(store.add("k", Bytes::from_static(b"1"), None).await);
        assert!(!store.add("k", Bytes::from_static(b"2"), None).await);
        assert_eq!(store.get("k").await.as_deref(), Some(&b"1"[..]));
    }

    #[tokio::test]
    async fn counters_count_and_refuse_non_integers() {
        let store = store();
        assert_eq!(store.incr("n", 5, None).await.unwrap(), 5);
        assert_eq!(store.incr("n", -2, None).await.unwrap(), 3);
        store.set("s", Bytes::from_static(b"\x01\"x\""), None).await;
        assert!(matches!(store.incr("s", 1, None).await, Err(CacheError::NotAnInteger(_))));
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let store = store();
        store.set("short", Bytes::from_static(b"1"), Some(Duration::from_millis(50))).await;
        store.set("long", Bytes::from_static(b"1"), None).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.get("short").await, None);
        assert!(store.get("long").await.is_some());
    }

    #[tokio::test]
    async fn the_local_cap_bounds_every_entry() {
        let store = MemoryStore::new(&CacheConfig::default(), Some(Duration::from_millis(50)));
        store.set("k", Bytes::from_static(b"1"), None).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.get("k").await, None);
    }
}
