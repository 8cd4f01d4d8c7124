//! `get_or_insert_with`: one computation for many concurrent misses, in one process and
//! across instances sharing Redis; failures are shared and not cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use phial_cache::{Cache, CacheError};

use crate::storing_backends;

/// Runs `callers` concurrent `get_or_insert_with` on `caches` (round robin) with a slow
/// loader; returns the values and how many times the loader ran.
async fn stampede(caches: &[Cache], key: &str, callers: usize, fail: bool) -> (Vec<Result<u64, CacheError>>, usize) {
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..callers)
        .map(|i| {
            let cache = caches[i % caches.len()].clone();
            let runs = Arc::clone(&runs);
            let key = key.to_owned();
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(&key, move || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        if fail { Err(std::io::Error::other("database down")) } else { Ok(7_u64) }
                    })
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    (results, runs.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_hundred_concurrent_misses_run_the_loader_once_on_every_backend() {
    for (kind, _, cache) in storing_backends().await {
        let (results, runs) = stampede(std::slice::from_ref(&cache), "report", 100, false).await;
        assert_eq!(runs, 1, "{kind:?}");
        assert!(results.iter().all(|result| matches!(result, Ok(7))), "{kind:?}");
        assert_eq!(cache.get::<u64>("report").await.unwrap(), Some(7), "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn a_failing_loader_is_not_cached_and_every_waiter_gets_its_error() {
    for (kind, _, cache) in storing_backends().await {
        let (results, runs) = stampede(std::slice::from_ref(&cache), "report", 20, true).await;
        assert_eq!(runs, 1, "{kind:?}");
        for result in &results {
            let err = result.as_ref().unwrap_err();
            assert!(matches!(err, CacheError::Load(_)), "{kind:?}: {err}");
            assert_eq!(err.load_error().unwrap().to_string(), "database down");
        }
        assert_eq!(cache.get::<u64>("report").await.unwrap(), None, "{kind:?}");
        // The next call computes again.
        let (results, runs) = stampede(std::slice::from_ref(&cache), "report", 1, false).await;
        assert_eq!((runs, results[0].as_ref().ok()), (1, Some(&7)), "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_hundred_concurrent_misses_across_two_instances_run_the_loader_once() {
    for kind in [phial_cache::BackendKind::Redis, phial_cache::BackendKind::TwoLevel] {
        let Some(url) = crate::redis_url() else { return };
        let mut config = crate::config(kind);
        // Generous, so that a slow moment of a busy test machine is not taken for an outage
        // (which would rightly make an instance compute without the lease).
        config.redis_timeout = 2.0;
        let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
        let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
        let (results, runs) = stampede(&[a.clone(), b.clone()], "report", 100, false).await;
        assert_eq!(runs, 1, "{kind:?}");
        assert!(results.iter().all(|result| matches!(result, Ok(7))), "{kind:?}");
        a.clear().await.unwrap();
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn waiters_on_another_instance_compute_themselves_after_lease_timeout() {
    let Some(url) = crate::redis_url() else { return };
    let mut config = crate::config(phial_cache::BackendKind::Redis);
    config.lease_timeout = 0.2;
    let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    // a's loader takes far longer than the lease: b must not wait for it.
    let slow = tokio::spawn(async move {
        a.get_or_insert_with("k", || async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok::<_, std::io::Error>(1_u8)
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let value: u8 = b.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(2_u8) }).await.unwrap();
    assert_eq!(value, 2);
    assert!(started.elapsed() < Duration::from_secs(1), "waited {:?}", started.elapsed());
    slow.await.unwrap().unwrap();
    b.clear().await.unwrap();
}

/// Stores 1 under `key` for 100 ms through `cache`, then lets it expire.
#[cfg(feature = "redis")]
async fn expired_value(cache: &Cache, key: &str) {
    let value: u32 = cache
        .get_or_insert_with_ttl(key, phial_cache::Ttl::After(Duration::from_millis(100)), || async {
            Ok::<_, std::io::Error>(1)
        })
        .await
        .unwrap();
    assert_eq!(value, 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
}

/// Starts a recomputation of `key` on `cache` that holds the lease until `finish` fires; returns
/// once its loader runs.
#[cfg(feature = "redis")]
async fn slow_recompute(cache: &Cache, key: &str) -> (tokio::task::JoinHandle<u32>, tokio::sync::oneshot::Sender<()>) {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let (cache, key) = (cache.clone(), key.to_owned());
    let slow = tokio::spawn(async move {
        cache
            .get_or_insert_with(&key, move || async move {
                let _ = started_tx.send(());
                let _ = finish_rx.await;
                Ok::<_, std::io::Error>(2_u32)
            })
            .await
            .unwrap()
    });
    started_rx.await.unwrap();
    (slow, finish_tx)
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn within_stale_grace_other_instances_serve_the_expired_value_while_one_recomputes() {
    let Some(url) = crate::redis_url() else { return };
    let mut config = crate::config(phial_cache::BackendKind::Redis);
    config.stale_grace = 60.0;
    // Long: were b to wait for a instead of serving the stale value, it would get its own 3
    // only after this, not 1.
    config.lease_timeout = 30.0;
    config.redis_timeout = 2.0;
    let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    expired_value(&a, "k").await;
    let (slow, finish) = slow_recompute(&a, "k").await;
    let served: u32 = b.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(3) }).await.unwrap();
    assert_eq!(served, 1, "b serves the stale value while a recomputes");
    finish.send(()).unwrap();
    assert_eq!(slow.await.unwrap(), 2);
    assert_eq!(b.get::<u32>("k").await.unwrap(), Some(2));
    a.clear().await.unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_deleted_value_is_not_served_stale() {
    let Some(url) = crate::redis_url() else { return };
    let mut config = crate::config(phial_cache::BackendKind::Redis);
    config.stale_grace = 60.0;
    config.lease_timeout = 0.3;
    config.redis_timeout = 2.0;
    let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    expired_value(&a, "k").await;
    assert!(!a.delete("k").await.unwrap(), "the value itself had expired");
    let (slow, finish) = slow_recompute(&a, "k").await;
    // No stale copy left: b waits out a's lease and computes its own value.
    let served: u32 = b.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(3) }).await.unwrap();
    assert_eq!(served, 3);
    finish.send(()).unwrap();
    slow.await.unwrap();
    a.clear().await.unwrap();
}
