//! `memoize`: results cached by arguments, `delete_memoized` for all or one set of
//! arguments, `unless`, timeouts, `None` and errors only when asked; on every backend.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use phial_cache::{Cache, CacheError, Memoized, Ttl};

use crate::storing_backends;

type QueryFuture = Pin<Box<dyn Future<Output = Result<Option<i64>, std::io::Error>> + Send>>;

/// A memoizable "query" that counts its runs and returns `n * 10`, `None` for 0 and an error
/// for negative numbers.
fn query(
    cache: &Cache,
    name: &str,
    runs: &Arc<AtomicUsize>,
) -> Memoized<i64, Option<i64>, impl Fn(i64) -> QueryFuture> {
    let runs = Arc::clone(runs);
    cache.memoize(name, move |n: i64| -> QueryFuture {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(
            async move { if n < 0 { Err(std::io::Error::other("negative")) } else { Ok((n != 0).then_some(n * 10)) } },
        )
    })
}

#[tokio::test]
async fn results_are_cached_by_arguments_and_delete_memoized_forgets_one_or_all() {
    for (kind, _, cache) in storing_backends().await {
        let runs = Arc::new(AtomicUsize::new(0));
        let f = query(&cache, "query", &runs);
        assert_eq!(f.call(1).await.unwrap(), Some(10), "{kind:?}");
        assert_eq!(f.call(1).await.unwrap(), Some(10), "{kind:?}");
        assert_eq!(f.call(2).await.unwrap(), Some(20), "{kind:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{kind:?}");

        assert!(f.delete_memoized_args(&1).await.unwrap(), "{kind:?}");
        f.call(1).await.unwrap();
        f.call(2).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "only (1) ran again: {kind:?}");

        f.delete_memoized().await.unwrap();
        f.call(1).await.unwrap();
        f.call(2).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 5, "both ran again: {kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn functions_with_different_names_do_not_share_entries() {
    let cache = Cache::memory();
    let runs = Arc::new(AtomicUsize::new(0));
    let a = query(&cache, "a", &runs);
    let b = query(&cache, "b", &runs);
    a.call(1).await.unwrap();
    b.call(1).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    a.delete_memoized().await.unwrap();
    b.call(1).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "b keeps its entries when a is cleared");
}

#[tokio::test]
async fn none_and_errors_are_not_cached_unless_asked() {
    for (kind, _, cache) in storing_backends().await {
        let runs = Arc::new(AtomicUsize::new(0));
        let f = query(&cache, "query", &runs);
        assert_eq!(f.call(0).await.unwrap(), None);
        assert_eq!(f.call(0).await.unwrap(), None);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "None is not cached by default: {kind:?}");
        let err = f.call(-1).await.unwrap_err();
        assert!(matches!(err, CacheError::Load(_)), "{kind:?}: {err}");
        f.call(-1).await.unwrap_err();
        assert_eq!(runs.load(Ordering::SeqCst), 4, "errors are never cached: {kind:?}");

        let runs = Arc::new(AtomicUsize::new(0));
        let g = query(&cache, "query-none", &runs).cache_none(true);
        assert_eq!(g.call(0).await.unwrap(), None);
        assert_eq!(g.call(0).await.unwrap(), None);
        assert_eq!(runs.load(Ordering::SeqCst), 1, "cache_none caches None: {kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn unless_skips_the_cache_and_timeout_bounds_entries() {
    for (kind, _, cache) in storing_backends().await {
        let runs = Arc::new(AtomicUsize::new(0));
        let f = query(&cache, "query", &runs).unless(|n: &i64| *n == 7).timeout(Ttl::After(Duration::from_millis(150)));
        f.call(7).await.unwrap();
        f.call(7).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{kind:?}");
        f.call(1).await.unwrap();
        f.call(1).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "{kind:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        f.call(1).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4, "the entry expired: {kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_calls_with_equal_arguments_run_once() {
    let cache = Cache::memory();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let slow = cache.memoize("slow", move |n: u32| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, std::io::Error>(n)
        }
    });
    let calls = (0..50).map(|_| slow.call(3));
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(|result| matches!(result, Ok(3))));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn delete_memoized_on_one_instance_reaches_the_other() {
    let Some(url) = crate::redis_url() else { return };
    let config = crate::config(phial_cache::BackendKind::Redis);
    let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let fa = query(&a, "shared", &runs);
    let fb = query(&b, "shared", &runs);
    fa.call(1).await.unwrap();
    fb.call(1).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "b reads a's result");
    fa.delete_memoized().await.unwrap();
    fb.call(1).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "b sees the new version");
    a.clear().await.unwrap();
}
