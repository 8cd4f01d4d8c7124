//! [`MemoryStore`]: server-side sessions in the process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures_util::future::BoxFuture;
use time::OffsetDateTime;

use super::store::{Record, SessionId, SessionStore};
use crate::error::BoxError;

/// The table size below which saves never sweep expired records.
const MIN_SWEEP_LEN: usize = 1024;

/// Server-side sessions in a `HashMap` inside the process.
///
/// For one instance and for tests: sessions vanish on restart and are not shared between
/// instances (use the Redis or SQL store for that). Expired records are never returned, and
/// are swept out by [`cleanup_expired`](SessionStore::cleanup_expired) and, so that memory
/// stays bounded without a background task, by a save that finds the table has doubled since
/// the last sweep.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use phial_core::Secret;
/// use phial_core::session::{CookieSigner, MemoryStore, SessionConfig, SessionLayer};
///
/// let mut config = SessionConfig::default();
/// config.store = "memory".into();
/// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
/// let layer = SessionLayer::new(signer, config, false, Some(Arc::new(MemoryStore::new())));
/// let app: axum::Router = axum::Router::new().layer(layer);
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    records: HashMap<SessionId, (Record, OffsetDateTime)>,
    /// The number of records after the last sweep.
    swept_len: usize,
}

impl Table {
    fn sweep(&mut self, now: OffsetDateTime) -> u64 {
        let before = self.records.len();
        self.records.retain(|_, (_, expires_at)| *expires_at > now);
        self.swept_len = self.records.len();
        u64::try_from(before - self.records.len()).unwrap_or(u64::MAX)
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records held, expired ones included until they are swept.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::MemoryStore;
    ///
    /// assert_eq!(MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.table().records.len()
    }

    /// Whether the store holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table; a panic elsewhere while it was locked leaves it consistent, since every
    /// change is a single map operation.
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Record>, BoxError>> {
        let now = OffsetDateTime::now_utc();
        let record =
            self.table().records.get(id).filter(|(_, expires_at)| *expires_at > now).map(|(record, _)| record.clone());
        Box::pin(async move { Ok(record) })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        record: &'a Record,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        let mut table = self.table();
        table.records.insert(id.clone(), (record.clone(), expires_at));
        if table.records.len() >= MIN_SWEEP_LEN && table.records.len() >= 2 * table.swept_len {
            table.sweep(OffsetDateTime::now_utc());
        }
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), BoxError>> {
        self.table().records.remove(id);
        Box::pin(async { Ok(()) })
    }

    fn cleanup_expired(&self) -> BoxFuture<'_, Result<u64, BoxError>> {
        let removed = self.table().sweep(OffsetDateTime::now_utc());
        Box::pin(async move { Ok(removed) })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn record(value: i64) -> Record {
        let mut data = serde_json::Map::new();
        data.insert("n".into(), value.into());
        Record::new(data, false)
    }

    fn id() -> SessionId {
        SessionId::generate().expect("random source")
    }

    #[tokio::test]
    async fn saved_record_loads_until_deleted() {
        let store = MemoryStore::new();
        let id = id();
        let later = OffsetDateTime::now_utc() + Duration::hours(1);
        store.save(&id, &record(1), later).await.expect("saved");
        assert_eq!(store.load(&id).await.expect("loaded"), Some(record(1)));
        store.save(&id, &record(2), later).await.expect("saved");
        assert_eq!(store.load(&id).await.expect("loaded"), Some(record(2)));
        store.delete(&id).await.expect("deleted");
        assert_eq!(store.load(&id).await.expect("loaded"), None);
        store.delete(&id).await.expect("deleting an absent id succeeds");
    }

    #[tokio::test]
    async fn expired_record_does_not_load_and_is_cleaned_up() {
        let store = MemoryStore::new();
        let (old, fresh) = (id(), id());
        let now = OffsetDateTime::now_utc();
        store.save(&old, &record(1), now - Duration::seconds(1)).await.expect("saved");
        store.save(&fresh, &record(2), now + Duration::hours(1)).await.expect("saved");
        assert_eq!(store.load(&old).await.expect("loaded"), None);
        assert_eq!(store.cleanup_expired().await.expect("cleaned"), 1);
        assert_eq!(store.len(), 1);
        assert_eq!(store.load(&fresh).await.expect("loaded"), Some(record(2)));
    }

    #[tokio::test]
    async fn saves_sweep_expired_records_once_the_table_doubles() {
        let store = MemoryStore::new();
        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        for _ in 0..MIN_SWEEP_LEN - 1 {
            store.save(&id(), &record(0), past).await.expect("saved");
        }
        assert_eq!(store.len(), MIN_SWEEP_LEN - 1);
        let live = id();
        store.save(&live, &record(1), past + Duration::hours(1)).await.expect("saved");
        assert_eq!(store.len(), 1);
    }
}
