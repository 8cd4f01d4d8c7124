//! [`Cache`]: the handle handlers use, with Flask-Caching's `cache.get/set/...` API.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
#[cfg(feature = "redis")]
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::request::Parts;
use phial_core::{AppState, BoxError, Health};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::Backend;
use crate::codec;
use crate::config::{BackendKind, CacheConfig, at_least_ms};
use crate::error::CacheError;
use crate::flight::{FlightError, FlightResult, Flights};
use crate::memory::{Memo, MemoryStore};

/// How long a written value lives.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_cache::Ttl;
///
/// assert_eq!(Ttl::from(Duration::from_secs(60)), Ttl::After(Duration::from_secs(60)));
/// assert_eq!(Ttl::secs(0), Ttl::Never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ttl {
    /// `cache.default_timeout` (Flask-Caching's `timeout=None`).
    #[default]
    Default,
    /// Until evicted or deleted (Flask-Caching's `timeout=0`).
    Never,
    /// This long.
    After(Duration),
}

impl Ttl {
    /// `seconds` seconds; `0` is [`Never`](Self::Never), as Flask-Caching reads `timeout=0`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_cache::Ttl::secs(5), phial_cache::Ttl::After(std::time::Duration::from_secs(5)));
    /// ```
    pub fn secs(seconds: u64) -> Self {
        if seconds == 0 { Self::Never } else { Self::After(Duration::from_secs(seconds)) }
    }

    pub(crate) fn resolve(self, default: Option<Duration>) -> Option<Duration> {
        match self {
            Self::Default => default,
            Self::Never => None,
            Self::After(ttl) if ttl.is_zero() => None,
            Self::After(ttl) => Some(ttl),
        }
    }
}

impl From<Duration> for Ttl {
    fn from(ttl: Duration) -> Self {
        Self::After(ttl)
    }
}

/// What a computation handed to a flight produced.
pub(crate) struct Computed {
    pub(crate) bytes: Bytes,
    /// Whether to store it.
    pub(crate) store: bool,
    /// Whether callers waiting on the same key may use it when it is not stored.
    pub(crate) share: bool,
}

/// The app's cache: a cheap-to-clone handle on the configured backend.
///
/// Values are any serde type, stored in a compact versioned encoding (integers as digits,
/// the rest as a version byte and JSON). Keys are strings; on Redis they are put under
/// `[redis] key_prefix` + `[cache] key_prefix`. Keys starting with `__` are reserved for
/// phial-cache's own bookkeeping (leases, memoize versions).
///
/// **Faults**: with the default `fail_loudly = false`, a Redis outage or timeout makes reads
/// miss and writes do nothing (a warning is logged at most once per `log_interval`, and the
/// health check reports the cache degraded), so the cache alone never fails a request.
/// Counters ([`inc`](Self::inc)) are the exception: they return
/// [`CacheError::Unavailable`], because a count cannot be made up.
///
/// In a phial app, [`CacheExtension`](crate::CacheExtension) registers it and handlers extract
/// it. In a bare axum app, build one with [`Cache::new`] (or [`Cache::with_redis`]) and give
/// it to the router state; it extracts from any state with `FromRef`.
///
/// # Examples
///
/// ```
/// use phial_cache::Cache;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
/// let cache = Cache::memory();
/// cache.set("greeting", "hello").await?;
/// assert_eq!(cache.get::<String>("greeting").await?.as_deref(), Some("hello"));
/// assert_eq!(cache.inc("visits", 1).await?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    default_ttl: Option<Duration>,
    fail_loudly: bool,
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "leases exist with Redis only"))]
    lease_timeout: Duration,
    flights: Flights,
    /// This process's part of lease tokens, and a counter for the rest.
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "leases exist with Redis only"))]
    nonce: u64,
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "leases exist with Redis only"))]
    leases: AtomicU64,
    /// Where template fragments live with a Redis backend: this process's memory, since a
    /// template renders synchronously (see `fragment.rs`). The memory backend keeps them in
    /// its own store.
    #[cfg(feature = "templates")]
    fragments: Option<MemoryStore>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache as `config` says, for backends that need no connection (`memory`, `null`).
    ///
    /// # Errors
    ///
    /// A backend that needs Redis (use [`with_redis`](Self::with_redis)), or settings that
    /// cannot work (a negative timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::{BackendKind, Cache, CacheConfig};
    ///
    /// let cache = Cache::new(&CacheConfig::new(BackendKind::Null))?;
    /// assert_eq!(cache.backend(), BackendKind::Null);
    /// # Ok::<(), phial_cache::CacheError>(())
    /// ```
    pub fn new(config: &CacheConfig) -> Result<Self, CacheError> {
        validate(config)?;
        let backend = match config.backend {
            BackendKind::Memory => Backend::Memory(MemoryStore::new(config, None)),
            BackendKind::Null => Backend::Null,
            other => {
                return Err(CacheError::Config(format!(
                    "backend `{}` needs a Redis connection: use Cache::with_redis",
                    other.as_str()
                )));
            }
        };
        Ok(Self::from_backend(config, backend))
    }

    /// A cache on the app's shared Redis connection (`redis` or `two-level`; `memory` and
    /// `null` ignore `redis`).
    ///
    /// # Errors
    ///
    /// Settings that cannot work.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use phial_cache::{BackendKind, Cache, CacheConfig};
    /// use phial_core::redis::{Redis, RedisConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let redis = Redis::connect(&RedisConfig::default()).await?;
    /// let cache = Cache::with_redis(&CacheConfig::new(BackendKind::TwoLevel), redis)?;
    /// cache.set("k", &[1, 2, 3]).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn with_redis(config: &CacheConfig, redis: phial_core::redis::Redis) -> Result<Self, CacheError> {
        use crate::faults::Faults;
        use crate::redis_store::RedisStore;

        validate(config)?;
        let faults = Faults::new(at_least_ms(config.retry_after), at_least_ms(config.log_interval));
        let grace = crate::config::positive(config.stale_grace);
        let store = RedisStore::new(redis, &config.key_prefix, at_least_ms(config.redis_timeout), faults, grace);
        let backend = match config.backend {
            BackendKind::Memory => Backend::Memory(MemoryStore::new(config, None)),
            BackendKind::Null => Backend::Null,
            BackendKind::Redis => Backend::Redis(store),
            BackendKind::TwoLevel => {
                Backend::TwoLevel(MemoryStore::new(config, Some(at_least_ms(config.local_timeout))), store)
            }
        };
        Ok(Self::from_backend(config, backend))
    }

    /// An in-memory cache with Flask-Caching's defaults (500 entries, 300 s).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_cache::Cache::memory().backend(), phial_cache::BackendKind::Memory);
    /// ```
    pub fn memory() -> Self {
        let config = CacheConfig::default();
        Self::from_backend(&config, Backend::Memory(MemoryStore::new(&config, None)))
    }

    /// A cache that stores nothing: every read misses.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = phial_cache::Cache::null();
    /// cache.set("k", &1).await.unwrap();
    /// assert_eq!(cache.get::<i32>("k").await.unwrap(), None);
    /// # }
    /// ```
    pub fn null() -> Self {
        Self::from_backend(&CacheConfig::default(), Backend::Null)
    }

    fn from_backend(config: &CacheConfig, backend: Backend) -> Self {
        let mut nonce = [0_u8; 8];
        // A lease token only has to differ between processes; the time is a fine fallback.
        if getrandom::fill(&mut nonce).is_err() {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            nonce = u64::try_from(now.as_nanos() & u128::from(u64::MAX)).unwrap_or_default().to_le_bytes();
        }
        let inner = Inner {
            default_ttl: config.default_ttl(),
            fail_loudly: config.fail_loudly,
            lease_timeout: at_least_ms(config.lease_timeout),
            flights: Flights::default(),
            nonce: u64::from_le_bytes(nonce),
            leases: AtomicU64::new(0),
            #[cfg(feature = "templates")]
            fragments: match &backend {
                Backend::Memory(_) | Backend::Null => None,
                #[cfg(feature = "redis")]
                Backend::Redis(_) | Backend::TwoLevel(..) => Some(MemoryStore::new(config, None)),
            },
            backend,
        };
        Self { inner: Arc::new(inner) }
    }

    /// The backend in use.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_cache::Cache::null().backend().as_str(), "null");
    /// ```
    pub fn backend(&self) -> BackendKind {
        self.inner.backend.kind()
    }

    /// The lifetime of values written with [`Ttl::Default`]; `None` for "never expires".
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_cache::Cache::memory().default_ttl().map(|d| d.as_secs()), Some(300));
    /// ```
    pub fn default_ttl(&self) -> Option<Duration> {
        self.inner.default_ttl
    }

    pub(crate) fn ttl(&self, ttl: Ttl) -> Option<Duration> {
        ttl.resolve(self.inner.default_ttl)
    }

    /// The in-process store template fragments use: the memory backend's own, a store of
    /// their own with Redis backends, none with `null`.
    #[cfg(feature = "templates")]
    pub(crate) fn fragment_store(&self) -> Option<&MemoryStore> {
        if let Backend::Memory(local) = &self.inner.backend { Some(local) } else { self.inner.fragments.as_ref() }
    }

    /// A Redis fault becomes `fallback` unless `fail_loudly` is on.
    fn degrade<T>(&self, result: Result<T, CacheError>, fallback: T) -> Result<T, CacheError> {
        match result {
            Err(err) if err.is_unavailable() && !self.inner.fail_loudly => Ok(fallback),
            other => other,
        }
    }

    /// The stored bytes of `key`, as a miss on a Redis fault.
    pub(crate) async fn get_raw(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let result = self.inner.backend.get(key).await;
        self.degrade(result, None)
    }

    /// The value and memo of `key` if this process's memory holds it and answers without
    /// waiting (memory backend, two-level local copy); for the response layer's hit path.
    pub(crate) fn local_hit(&self, key: &str) -> Option<(Bytes, Memo)> {
        self.inner.backend.local()?.get_memo_now(key)
    }

    /// [`get_raw`](Self::get_raw) with the entry's memo when the value came from this process.
    pub(crate) async fn get_memo(&self, key: &str) -> Result<Option<(Bytes, Option<Memo>)>, CacheError> {
        let result = self.inner.backend.get_memo(key).await;
        self.degrade(result, None)
    }

    /// Reads `key` as a `T`; `None` when absent or expired.
    ///
    /// A value that cannot be read as `T` (written by an older version of the app, say) is
    /// a miss and a warning, unless `fail_loudly`.
    ///
    /// # Errors
    ///
    /// With `fail_loudly` only: a Redis fault or a value that is not a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert_eq!(cache.get::<u32>("missing").await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let Some(bytes) = self.get_raw(key).await? else { return Ok(None) };
        self.decode(key, &bytes)
    }

    fn decode<T: DeserializeOwned>(&self, key: &str, bytes: &[u8]) -> Result<Option<T>, CacheError> {
        self.or_miss(key, codec::decode(key, bytes))
    }

    /// A decoded value, or for a value that could not be decoded a miss and a warning
    /// (the error itself with `fail_loudly`).
    fn or_miss<T>(&self, key: &str, decoded: Result<T, CacheError>) -> Result<Option<T>, CacheError> {
        match decoded {
            Ok(value) => Ok(Some(value)),
            Err(err) if !self.inner.fail_loudly => {
                tracing::warn!(key, error = %err, "cache: a stored value could not be read; treating it as a miss");
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Stores `value` at `key` for the default timeout.
    ///
    /// # Errors
    ///
    /// A value serde cannot encode; with `fail_loudly`, a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set("user:1", &("ada", 36)).await?;
    /// assert_eq!(cache.get::<(String, u8)>("user:1").await?, Some(("ada".into(), 36)));
    /// # Ok(()) }
    /// ```
    pub async fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), CacheError> {
        self.set_ttl(key, value, Ttl::Default).await
    }

    /// Stores `value` at `key` for `ttl` (Flask-Caching's `cache.set(key, value, timeout=...)`).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::Ttl;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_ttl("token", "abc", Ttl::secs(30)).await?;
    /// cache.set_ttl("forever", "x", Ttl::Never).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_ttl<T: Serialize + ?Sized>(&self, key: &str, value: &T, ttl: Ttl) -> Result<(), CacheError> {
        let bytes = codec::encode(value)?;
        let result = self.inner.backend.set(key, bytes, self.ttl(ttl)).await;
        self.degrade(result, ())
    }

    /// Reads text stored with [`set_text`](Self::set_text) (or a string stored with
    /// [`set`](Self::set)); `None` when absent or expired.
    ///
    /// Text is kept as its bytes, so reading it back costs a copy, where a `String` stored as
    /// JSON has to be unescaped: the form for rendered HTML (Flask-Caching's fragments).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_text("sidebar", r#"<ul class="links"></ul>"#).await?;
    /// assert_eq!(cache.get_text("sidebar").await?.as_deref(), Some(r#"<ul class="links"></ul>"#));
    /// # Ok(()) }
    /// ```
    pub async fn get_text(&self, key: &str) -> Result<Option<String>, CacheError> {
        let Some(bytes) = self.get_raw(key).await? else { return Ok(None) };
        self.or_miss(key, codec::decode_text(key, &bytes))
    }

    /// Stores `text` at `key` as it is, for the default timeout; see [`get_text`](Self::get_text).
    ///
    /// # Errors
    ///
    /// With `fail_loudly`, a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_text("footer", "<footer>2026</footer>").await?;
    /// assert_eq!(cache.get::<String>("footer").await?.as_deref(), Some("<footer>2026</footer>"));
    /// # Ok(()) }
    /// ```
    pub async fn set_text(&self, key: &str, text: &str) -> Result<(), CacheError> {
        self.set_text_ttl(key, text, Ttl::Default).await
    }

    /// [`set_text`](Self::set_text) with a lifetime.
    ///
    /// # Errors
    ///
    /// As [`set_text`](Self::set_text).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::Ttl;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_text_ttl("banner", "<p>Maintenance at noon</p>", Ttl::secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_text_ttl(&self, key: &str, text: &str, ttl: Ttl) -> Result<(), CacheError> {
        let result = self.inner.backend.set(key, codec::encode_text(text), self.ttl(ttl)).await;
        self.degrade(result, ())
    }

    /// Stores `value` only if `key` holds nothing (atomic on Redis); whether it did.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set); on a Redis fault without `fail_loudly` it stores nothing and
    /// returns `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert!(cache.add("lock", &1).await?);
    /// assert!(!cache.add("lock", &2).await?);
    /// # Ok(()) }
    /// ```
    pub async fn add<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<bool, CacheError> {
        self.add_ttl(key, value, Ttl::Default).await
    }

    /// [`add`](Self::add) with a lifetime.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert!(cache.add_ttl("once", &true, phial_cache::Ttl::secs(60)).await?);
    /// # Ok(()) }
    /// ```
    pub async fn add_ttl<T: Serialize + ?Sized>(&self, key: &str, value: &T, ttl: Ttl) -> Result<bool, CacheError> {
        let bytes = codec::encode(value)?;
        let result = self.inner.backend.add(key, bytes, self.ttl(ttl)).await;
        self.degrade(result, false)
    }

    /// Removes `key`; whether it was there (on a Redis fault: `false`).
    ///
    /// # Errors
    ///
    /// With `fail_loudly` only: a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set("k", &1).await?;
    /// assert!(cache.delete("k").await?);
    /// assert!(!cache.delete("k").await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.delete_many(&[key]).await? > 0)
    }

    /// Reads several keys at once (one `MGET` on Redis), in order.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set("a", &1).await?;
    /// assert_eq!(cache.get_many::<i32>(&["a", "b"]).await?, vec![Some(1), None]);
    /// # Ok(()) }
    /// ```
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<Vec<Option<T>>, CacheError> {
        let result = self.inner.backend.get_many(keys).await;
        let values = self.degrade(result, vec![None; keys.len()])?;
        let mut out = Vec::with_capacity(values.len());
        for (key, value) in keys.iter().zip(values) {
            out.push(match value {
                Some(bytes) => self.decode(key, &bytes)?,
                None => None,
            });
        }
        Ok(out)
    }

    /// Stores several values for the default timeout (one pipeline on Redis).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_many(&[("a", 1), ("b", 2)]).await?;
    /// assert_eq!(cache.get::<i32>("b").await?, Some(2));
    /// # Ok(()) }
    /// ```
    pub async fn set_many<T: Serialize>(&self, items: &[(&str, T)]) -> Result<(), CacheError> {
        self.set_many_ttl(items, Ttl::Default).await
    }

    /// [`set_many`](Self::set_many) with a lifetime.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_many_ttl(&[("a", "x")], phial_cache::Ttl::secs(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_many_ttl<T: Serialize>(&self, items: &[(&str, T)], ttl: Ttl) -> Result<(), CacheError> {
        let mut encoded = Vec::with_capacity(items.len());
        for (key, value) in items {
            encoded.push((*key, codec::encode(value)?));
        }
        let result = self.inner.backend.set_many(&encoded, self.ttl(ttl)).await;
        self.degrade(result, ())
    }

    /// Removes several keys; how many were there.
    ///
    /// # Errors
    ///
    /// With `fail_loudly` only: a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set_many(&[("a", 1), ("b", 2)]).await?;
    /// assert_eq!(cache.delete_many(&["a", "b", "c"]).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        let result = self.inner.backend.delete_many(keys).await;
        self.degrade(result, 0)
    }

    /// Whether `key` holds a live value.
    ///
    /// # Errors
    ///
    /// With `fail_loudly` only: a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert!(!cache.has("k").await?);
    /// # Ok(()) }
    /// ```
    pub async fn has(&self, key: &str) -> Result<bool, CacheError> {
        let result = self.inner.backend.has(key).await;
        self.degrade(result, false)
    }

    /// Removes every entry of this cache, and only those: on Redis, the keys under this
    /// app's prefixes (`SCAN` + `UNLINK`), never the rest of the server.
    ///
    /// # Errors
    ///
    /// With `fail_loudly` only: a Redis fault.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set("k", &1).await?;
    /// cache.clear().await?;
    /// assert!(!cache.has("k").await?);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<(), CacheError> {
        #[cfg(feature = "templates")]
        if let Some(fragments) = &self.inner.fragments {
            fragments.clear();
        }
        let result = self.inner.backend.clear().await;
        self.degrade(result, ())
    }

    /// Adds `delta` to the integer at `key` atomically (`INCRBY` on Redis) and returns the new
    /// value; an absent key counts from 0 and lives the default timeout.
    ///
    /// # Errors
    ///
    /// [`CacheError::NotAnInteger`] when the value is not an integer, and
    /// [`CacheError::Unavailable`] on a Redis fault, `fail_loudly` or not.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert_eq!(cache.inc("hits", 1).await?, 1);
    /// assert_eq!(cache.inc("hits", 10).await?, 11);
    /// assert_eq!(cache.get::<i64>("hits").await?, Some(11));
    /// # Ok(()) }
    /// ```
    pub async fn inc(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        self.inner.backend.incr(key, delta, self.inner.default_ttl).await
    }

    /// Subtracts `delta`; as [`inc`](Self::inc).
    ///
    /// # Errors
    ///
    /// As [`inc`](Self::inc).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// assert_eq!(cache.dec("stock", 2).await?, -2);
    /// # Ok(()) }
    /// ```
    pub async fn dec(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        let delta = delta.checked_neg().ok_or_else(|| CacheError::NotAnInteger(key.to_owned()))?;
        self.inc(key, delta).await
    }

    /// The value at `key`, or computes it with `load`, stores it for the default timeout and
    /// returns it.
    ///
    /// **Single flight**: concurrent misses on one key in this process run `load` once and
    /// all get its result; with Redis, a short lease (`SET NX PX`) makes one instance compute
    /// while the others wait for its value (at most `cache.lease_timeout`, then they compute
    /// themselves), or, with `cache.stale_grace`, answer at once with the value that expired
    /// within that grace. A failing `load` is not cached, and every caller waiting on it gets
    /// the error ([`CacheError::Load`]).
    ///
    /// # Errors
    ///
    /// [`CacheError::Load`] with `load`'s error; [`CacheError::Encode`] for a value serde
    /// cannot encode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let total: u64 = cache
    ///     .get_or_insert_with("report:total", || async { Ok::<_, std::io::Error>(42) })
    ///     .await?;
    /// assert_eq!(total, 42);
    /// # Ok(()) }
    /// ```
    pub async fn get_or_insert_with<T, F, Fut, E>(&self, key: &str, load: F) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.get_or_insert_with_ttl(key, Ttl::Default, load).await
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) with a lifetime.
    ///
    /// # Errors
    ///
    /// As [`get_or_insert_with`](Self::get_or_insert_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::Ttl;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let name: String = cache
    ///     .get_or_insert_with_ttl("name", Ttl::secs(5), || async { Ok::<_, std::io::Error>("ada".to_owned()) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_insert_with_ttl<T, F, Fut, E>(&self, key: &str, ttl: Ttl, load: F) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        if let Some(value) = self.get(key).await? {
            return Ok(value);
        }
        self.compute(key, ttl, load, |_| true).await
    }

    /// The text at `key`, or `load`'s, stored as text for `ttl`: [`get_or_insert_with_ttl`]
    /// (one load for concurrent callers, across instances with Redis) for a rendered fragment.
    ///
    /// [`get_or_insert_with_ttl`]: Self::get_or_insert_with_ttl
    ///
    /// # Errors
    ///
    /// As [`get_or_insert_with`](Self::get_or_insert_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_cache::Ttl;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let render = || async { Ok::<_, std::io::Error>("<li>ada</li>".to_owned()) };
    /// assert_eq!(cache.get_or_insert_text_with("users", Ttl::Default, render).await?, "<li>ada</li>");
    /// assert_eq!(cache.get_text("users").await?.as_deref(), Some("<li>ada</li>"));
    /// # Ok(()) }
    /// ```
    pub async fn get_or_insert_text_with<F, Fut, E>(&self, key: &str, ttl: Ttl, load: F) -> Result<String, CacheError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        if let Some(text) = self.get_text(key).await? {
            return Ok(text);
        }
        let encode = |text: &String| Ok(codec::encode_text(text));
        self.compute_as(key, ttl, load, encode, codec::decode_text, |_| true).await
    }

    /// Runs `loading` once for concurrent callers of `key` and decodes its value; stores it
    /// when `store(encoded)` says so.
    pub(crate) async fn compute<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Ttl,
        load: F,
        store: fn(&[u8]) -> bool,
    ) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.compute_as(key, ttl, load, codec::encode::<T>, codec::decode::<T>, store).await
    }

    /// [`compute`](Self::compute) with the value's encoding given: JSON, or text as it is.
    async fn compute_as<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Ttl,
        load: F,
        encode: fn(&T) -> Result<Bytes, CacheError>,
        decode: fn(&str, &[u8]) -> Result<T, CacheError>,
        store: fn(&[u8]) -> bool,
    ) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        // `load` is called only by the caller that starts the flight.
        let make = move || {
            let loading = load();
            async move {
                let value = loading.await.map_err(|err| CacheError::Load(Arc::new(err.into())))?;
                let bytes = encode(&value)?;
                let store = store(&bytes);
                Ok(Computed { bytes, store, share: true })
            }
            .boxed()
        };
        match self.load(key, ttl, make).await.0 {
            Ok(bytes) | Err(FlightError::NotStored(Some(bytes))) => {
                decode(key, &bytes).map_err(|err| CacheError::Encode(err.to_string()))
            }
            Err(FlightError::Failed(err)) => Err(err),
            Err(FlightError::NotStored(None)) => Err(CacheError::Backend("the value was not shared".to_owned())),
        }
    }

    /// Runs `work` for `key` once across concurrent callers (and, with Redis, instances),
    /// storing its result when it says so. Returns the result and whether this caller ran
    /// the flight.
    pub(crate) async fn load(
        &self,
        key: &str,
        ttl: Ttl,
        make: impl FnOnce() -> BoxFuture<'static, Result<Computed, CacheError>>,
    ) -> (FlightResult, bool) {
        let cache = self.clone();
        let owned = key.to_owned();
        let ttl = self.ttl(ttl);
        let start = move || {
            let work = make();
            async move { cache.fly(&owned, ttl, work).await }.boxed()
        };
        self.inner.flights.run(key, start).await
    }

    async fn fly(
        &self,
        key: &str,
        ttl: Option<Duration>,
        work: BoxFuture<'static, Result<Computed, CacheError>>,
    ) -> FlightResult {
        let lease = match self.lease(key).await {
            Lease::Produced(bytes) => return Ok(bytes),
            lease => lease,
        };
        // Another flight (here, or on another instance that held the lease until just now)
        // may have stored the value since this caller's miss: checked after taking the lease.
        if let Ok(Some(bytes)) = self.inner.backend.get(key).await {
            self.release(key, lease).await;
            return Ok(bytes);
        }
        let result = match work.await {
            Ok(computed) if computed.store => {
                if let Err(err) = self.inner.backend.set(key, computed.bytes.clone(), ttl).await
                    && !err.is_unavailable()
                {
                    tracing::warn!(key, error = %err, "cache: could not store a computed value");
                }
                Ok(computed.bytes)
            }
            Ok(computed) => Err(FlightError::NotStored(computed.share.then_some(computed.bytes))),
            Err(err) => Err(FlightError::Failed(err)),
        };
        self.release(key, lease).await;
        result
    }

    #[cfg(feature = "redis")]
    fn lease_token(&self) -> String {
        let n = self.inner.leases.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}:{n}", self.inner.nonce)
    }

    /// With Redis: takes the key's lease, or answers with the key's stale copy (within
    /// `stale_grace`), or waits (bounded) for the instance holding the lease to store the value.
    #[cfg(feature = "redis")]
    async fn lease(&self, key: &str) -> Lease {
        let Some(redis) = self.inner.backend.redis() else { return Lease::None };
        let token = self.lease_token();
        let hold = self.inner.lease_timeout;
        let deadline = tokio::time::Instant::now() + hold;
        let mut pause = FIRST_PAUSE;
        loop {
            match redis.acquire_lease(key, &token, hold).await {
                Ok(true) => return Lease::Held(token),
                Ok(false) => {}
                Err(_) => return Lease::None,
            }
            // Another instance is computing: inside the grace window, answer at once with the
            // value that just expired (`stale_grace`) rather than wait for the new one.
            if pause == FIRST_PAUSE
                && let Ok(Some(stale)) = redis.get_stale(key).await
            {
                tracing::debug!(key, "cache: serving the stale value while another instance recomputes it");
                return Lease::Produced(stale);
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::debug!(key, "cache: waited the whole lease_timeout for another instance; computing");
                return Lease::None;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
            match self.inner.backend.get(key).await {
                Ok(Some(bytes)) => return Lease::Produced(bytes),
                Ok(None) => {}
                Err(_) => return Lease::None,
            }
        }
    }

    #[cfg(not(feature = "redis"))]
    #[expect(clippy::unused_async, reason = "the Redis build awaits here")]
    async fn lease(&self, _key: &str) -> Lease {
        Lease::None
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis calls await"))]
    async fn release(&self, key: &str, lease: Lease) {
        #[cfg(feature = "redis")]
        if let (Lease::Held(token), Some(redis)) = (&lease, self.inner.backend.redis()) {
            let _ = redis.release_lease(key, token).await;
        }
        let _ = (key, lease);
    }

    /// How the backend is doing: healthy, or degraded while Redis faults make the cache
    /// miss. Sends a `PING` with Redis.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// assert_eq!(phial_cache::Cache::memory().health().await, phial_core::Health::Healthy);
    /// # }
    /// ```
    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis calls await"))]
    pub async fn health(&self) -> Health {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.inner.backend.redis() {
            return match redis.ping().await {
                Ok(_) => {
                    redis.faults.clear();
                    Health::Healthy
                }
                Err(err) => {
                    let since =
                        redis.faults.last_fault_age().map(|age| format!("; last fault {} s ago", age.as_secs()));
                    Health::degraded(format!(
                        "Redis unavailable ({err}): the cache serves misses{}",
                        since.unwrap_or_default()
                    ))
                }
            };
        }
        Health::Healthy
    }

    /// Entries held in this process (memory backend, two-level local copy); for tests and
    /// metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = phial_cache::Cache::memory();
    /// cache.set("k", &1).await.unwrap();
    /// assert_eq!(cache.local_entry_count().await, 1);
    /// # }
    /// ```
    pub async fn local_entry_count(&self) -> u64 {
        match self.inner.backend.local() {
            Some(local) => local.entry_count().await,
            None => 0,
        }
    }
}

/// Where a layer or wrapper made before the app started finds its cache.
#[derive(Clone)]
pub(crate) enum CacheSource {
    Ready(Cache),
    Slot(Arc<std::sync::OnceLock<Cache>>),
}

impl CacheSource {
    pub(crate) fn get(&self) -> Option<&Cache> {
        match self {
            Self::Ready(cache) => Some(cache),
            Self::Slot(slot) => slot.get(),
        }
    }
}

/// The first pause of a wait for another instance's lease; later ones double (to 50 ms).
#[cfg(feature = "redis")]
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// The outcome of asking for a key's lease.
enum Lease {
    /// No lease involved (no Redis, Redis down, or waited long enough).
    None,
    /// This instance holds the lease under this token.
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "leases exist with Redis only"))]
    Held(String),
    /// Another instance stored the value while this one waited.
    #[cfg_attr(not(feature = "redis"), expect(dead_code, reason = "leases exist with Redis only"))]
    Produced(Bytes),
}

fn validate(config: &CacheConfig) -> Result<(), CacheError> {
    config.validate().map_err(|(key, message)| CacheError::Config(format!("`{key}` {message}")))
}

impl FromRef<AppState> for Cache {
    fn from_ref(state: &AppState) -> Self {
        state.require::<Cache>().clone()
    }
}

/// The app's [`Cache`], from any router state that gives one through [`FromRef`].
impl<S> FromRequestParts<S> for Cache
where
    Cache: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_ref(state))
    }
}
