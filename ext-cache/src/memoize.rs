//! [`Memoized`]: a function whose results are cached by its arguments, Flask-Caching's
//! `@cache.memoize()` and `delete_memoized`.
//!
//! Python's decorator finds a function's identity and arguments by introspection, which is
//! where Flask-Caching's known problems come from (methods keyed by `repr(self)`, keyword
//! and positional calls giving different keys). Here the function has an explicit name and
//! its arguments are one serde value, so the key is exactly `name` + version + the
//! arguments' JSON: the same arguments always give the same key, on every instance.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use phial_core::BoxError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::cache::{Cache, CacheSource, Ttl};
use crate::error::CacheError;

/// Arguments whose JSON is longer than this are keyed by their SHA-256 instead.
const LONGEST_PLAIN_ARGS: usize = 200;

/// The JSON of `None`, which is not stored unless asked ([`Memoized::cache_none`]).
const ENCODED_NULL: &[u8] = b"\x01null";

type Predicate<A> = Arc<dyn Fn(&A) -> bool + Send + Sync>;

/// A function whose results are cached by its arguments (`@cache.memoize()`).
///
/// Made by [`Cache::memoize`] or [`CacheExtension::memoize`](crate::CacheExtension::memoize);
/// cheap to clone. `A` is the arguments (a tuple for several), `T` the result.
///
/// - [`call`](Self::call) returns the cached result for `args`, or runs the function once
///   for all concurrent callers with the same arguments and caches what it returns.
/// - An `Err` is never cached. `None` (any value that serializes to JSON `null`) is not
///   cached unless [`cache_none`](Self::cache_none) is set. To cache a failure on purpose,
///   make it part of the value (`Ok(Err(..))`).
/// - [`delete_memoized`](Self::delete_memoized) forgets every result of the function (it
///   moves the function to a new version, so old entries are never read again and expire),
///   [`delete_memoized_args`](Self::delete_memoized_args) the result for one set of
///   arguments.
///
/// # Examples
///
/// ```
/// use phial_cache::Cache;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
/// let cache = Cache::memory();
/// let square = cache.memoize("square", |n: u64| async move { Ok::<_, std::io::Error>(n * n) });
/// assert_eq!(square.call(12).await?, 144);
/// assert_eq!(square.call(12).await?, 144); // from the cache
/// square.delete_memoized_args(&12).await?;
/// square.delete_memoized().await?;
/// # Ok(()) }
/// ```
pub struct Memoized<A, T, F> {
    inner: Arc<Inner<A, F>>,
    _result: PhantomData<fn() -> T>,
}

struct Inner<A, F> {
    source: CacheSource,
    name: String,
    function: F,
    ttl: Ttl,
    cache_none: bool,
    unless: Option<Predicate<A>>,
}

impl<A, T, F> Clone for Memoized<A, T, F> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), _result: PhantomData }
    }
}

impl<A, T, F> fmt::Debug for Memoized<A, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memoized")
            .field("name", &self.inner.name)
            .field("ttl", &self.inner.ttl)
            .field("cache_none", &self.inner.cache_none)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Caches `function`'s results by its arguments under `name` (which must be unique per
    /// function in the app, and stable across instances and deploys); see [`Memoized`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let greet = cache.memoize("greet", |(greeting, name): (String, String)| async move {
    ///     Ok::<_, std::io::Error>(format!("{greeting}, {name}!"))
    /// });
    /// assert_eq!(greet.call(("Hello".into(), "Ada".into())).await?, "Hello, Ada!");
    /// # Ok(()) }
    /// ```
    pub fn memoize<A, T, F, Fut, E>(&self, name: &str, function: F) -> Memoized<A, T, F>
    where
        F: Fn(A) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Memoized::new(CacheSource::Ready(self.clone()), name, function)
    }
}

impl<A, T, F> Memoized<A, T, F> {
    pub(crate) fn new(source: CacheSource, name: &str, function: F) -> Self {
        let inner =
            Inner { source, name: name.to_owned(), function, ttl: Ttl::Default, cache_none: false, unless: None };
        Self { inner: Arc::new(inner), _result: PhantomData }
    }

    fn inner_mut(&mut self) -> &mut Inner<A, F> {
        Arc::get_mut(&mut self.inner).expect("options are set before the wrapper is cloned")
    }

    /// How long results live (`@memoize(timeout=...)`); default `cache.default_timeout`.
    ///
    /// # Panics
    ///
    /// When called on a clone; set options first.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::Cache::memory();
    /// let f = cache.memoize("f", |n: u8| async move { Ok::<_, std::io::Error>(n) }).timeout(phial_cache::Ttl::secs(60));
    /// # let _ = f;
    /// ```
    #[must_use]
    #[track_caller]
    pub fn timeout(mut self, ttl: impl Into<Ttl>) -> Self {
        self.inner_mut().ttl = ttl.into();
        self
    }

    /// Also caches results that serialize to `null` (`None`); off by default
    /// (Flask-Caching's `cache_none`).
    ///
    /// # Panics
    ///
    /// When called on a clone; set options first.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::Cache::memory();
    /// let find = cache.memoize("find", |id: u32| async move { Ok::<_, std::io::Error>(None::<String>) }).cache_none(true);
    /// # let _ = find;
    /// ```
    #[must_use]
    #[track_caller]
    pub fn cache_none(mut self, cache_none: bool) -> Self {
        self.inner_mut().cache_none = cache_none;
        self
    }

    /// Skips the cache (runs the function, stores nothing) for arguments where `unless` is
    /// true (`@memoize(unless=...)`).
    ///
    /// # Panics
    ///
    /// When called on a clone; set options first.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::Cache::memory();
    /// let page = cache
    ///     .memoize("page", |n: u32| async move { Ok::<_, std::io::Error>(n) })
    ///     .unless(|n: &u32| *n == 0);
    /// # let _ = page;
    /// ```
    #[must_use]
    #[track_caller]
    pub fn unless(mut self, unless: impl Fn(&A) -> bool + Send + Sync + 'static) -> Self {
        self.inner_mut().unless = Some(Arc::new(unless));
        self
    }

    /// The function's name, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = phial_cache::Cache::memory();
    /// let f = cache.memoize("stats.total", |(): ()| async { Ok::<_, std::io::Error>(1) });
    /// assert_eq!(f.name(), "stats.total");
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn version_key(&self) -> String {
        format!("__memoize_version:{}", self.inner.name)
    }
}

impl<A, T, F, Fut, E> Memoized<A, T, F>
where
    A: Serialize,
    T: Serialize + DeserializeOwned + Send + 'static,
    F: Fn(A) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
{
    /// The cached result for `args`, or the function's result (cached unless it is an error
    /// or an unwanted `None`). Concurrent calls with equal arguments run the function once.
    ///
    /// # Errors
    ///
    /// [`CacheError::Load`] with the function's error (shared by every waiting caller);
    /// [`CacheError::Encode`] for arguments or results serde cannot encode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let double = cache.memoize("double", |n: i32| async move { Ok::<_, std::io::Error>(n * 2) });
    /// assert_eq!(double.call(21).await?, 42);
    /// # Ok(()) }
    /// ```
    pub async fn call(&self, args: A) -> Result<T, CacheError> {
        let skip = self.inner.unless.as_ref().is_some_and(|unless| unless(&args));
        let cache = match self.inner.source.get() {
            Some(cache) if !skip => cache.clone(),
            _ => return (self.inner.function)(args).await.map_err(|err| CacheError::Load(Arc::new(err.into()))),
        };
        let key = self.key(&cache, &args).await?;
        if let Some(value) = cache.get::<T>(&key).await? {
            return Ok(value);
        }
        let store = if self.inner.cache_none { store_all } else { store_unless_null };
        cache.compute(&key, self.inner.ttl, || (self.inner.function)(args), store).await
    }

    /// Forgets the result for `args` only (`delete_memoized(f, *args)`); whether there was
    /// one.
    ///
    /// # Errors
    ///
    /// As [`Cache::delete`]; [`CacheError::Encode`] for arguments serde cannot encode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let double = cache.memoize("double", |n: i32| async move { Ok::<_, std::io::Error>(n * 2) });
    /// double.call(1).await?;
    /// assert!(double.delete_memoized_args(&1).await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete_memoized_args(&self, args: &A) -> Result<bool, CacheError> {
        let Some(cache) = self.inner.source.get().cloned() else { return Ok(false) };
        let key = self.key(&cache, args).await?;
        cache.delete(&key).await
    }
}

impl<A, T, F> Memoized<A, T, F> {
    /// Forgets every cached result of the function (`delete_memoized(f)`), on every instance
    /// sharing the cache: the function moves to a new version, and entries of the old one
    /// are never read again and expire with their timeout.
    ///
    /// # Errors
    ///
    /// As [`Cache::set`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_cache::CacheError> {
    /// let cache = phial_cache::Cache::memory();
    /// let double = cache.memoize("double", |n: i32| async move { Ok::<_, std::io::Error>(n * 2) });
    /// double.call(1).await?;
    /// double.delete_memoized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_memoized(&self) -> Result<(), CacheError> {
        let Some(cache) = self.inner.source.get() else { return Ok(()) };
        cache.set_ttl(&self.version_key(), &new_version(), Ttl::Never).await
    }

    /// The function's current version: read from the cache, or created once (`add`, so
    /// that concurrent instances agree on one).
    async fn version(&self, cache: &Cache) -> Result<String, CacheError> {
        let key = self.version_key();
        if let Some(version) = cache.get::<String>(&key).await? {
            return Ok(version);
        }
        let fresh = new_version();
        if cache.add_ttl(&key, &fresh, Ttl::Never).await? {
            return Ok(fresh);
        }
        // Another caller created it first; without a backend that stores, use ours.
        Ok(cache.get::<String>(&key).await?.unwrap_or(fresh))
    }

    async fn key<Args: Serialize + ?Sized>(&self, cache: &Cache, args: &Args) -> Result<String, CacheError> {
        let version = self.version(cache).await?;
        let json = serde_json::to_string(args).map_err(|err| CacheError::Encode(err.to_string()))?;
        let args = if json.len() > LONGEST_PLAIN_ARGS { hex::encode(Sha256::digest(json.as_bytes())) } else { json };
        Ok(format!("__memoize:{}:{version}:{args}", self.inner.name))
    }
}

fn store_all(_encoded: &[u8]) -> bool {
    true
}

fn store_unless_null(encoded: &[u8]) -> bool {
    encoded != ENCODED_NULL
}

/// A random version tag (falls back on the time when the OS gives no randomness).
fn new_version() -> String {
    let mut bytes = [0_u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes = u64::try_from(now.as_nanos() & u128::from(u64::MAX)).unwrap_or_default().to_le_bytes();
    }
    hex::encode(bytes)
}
