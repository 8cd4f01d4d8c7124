//! Flask-Caching's API (`get`, `set`, `add`, `delete`, `*_many`, `has`, `clear`, `inc`,
//! `dec`) on every backend, with real expiry.

use std::collections::BTreeMap;
use std::time::Duration;

use phial_cache::{BackendKind, Cache, CacheConfig, CacheError, Ttl};
use serde::{Deserialize, Serialize};

use crate::{cache_for, config, storing_backends};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    karma: Option<i64>,
}

fn ada() -> Profile {
    Profile { name: "ada".into(), tags: vec!["math".into()], karma: None }
}

#[tokio::test]
async fn values_round_trip_and_add_only_writes_absent_keys_on_every_backend() {
    for (kind, _, cache) in storing_backends().await {
        cache.set("profile", &ada()).await.unwrap();
        assert_eq!(cache.get::<Profile>("profile").await.unwrap(), Some(ada()), "{kind:?}");
        assert!(cache.has("profile").await.unwrap(), "{kind:?}");
        assert!(!cache.add("profile", &Profile { name: "bob".into(), ..ada() }).await.unwrap(), "{kind:?}");
        assert_eq!(cache.get::<Profile>("profile").await.unwrap().unwrap().name, "ada", "{kind:?}");
        assert!(cache.add("fresh", &1_u8).await.unwrap(), "{kind:?}");
        assert!(cache.delete("profile").await.unwrap(), "{kind:?}");
        assert!(!cache.delete("profile").await.unwrap(), "{kind:?}");
        assert_eq!(cache.get::<Profile>("profile").await.unwrap(), None, "{kind:?}");
        assert!(!cache.has("profile").await.unwrap(), "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn many_variants_read_write_and_delete_in_order_on_every_backend() {
    for (kind, _, cache) in storing_backends().await {
        cache.set_many(&[("a", 1), ("b", 2), ("c", 3)]).await.unwrap();
        assert_eq!(
            cache.get_many::<i32>(&["c", "missing", "a"]).await.unwrap(),
            vec![Some(3), None, Some(1)],
            "{kind:?}"
        );
        assert_eq!(cache.delete_many(&["a", "b", "nope"]).await.unwrap(), 2, "{kind:?}");
        assert_eq!(cache.get_many::<i32>(&["a", "b", "c"]).await.unwrap(), vec![None, None, Some(3)], "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn counters_are_atomic_under_concurrency_and_refuse_non_integers() {
    for (kind, _, cache) in storing_backends().await {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.inc("hits", 1).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(cache.get::<i64>("hits").await.unwrap(), Some(50), "{kind:?}");
        assert_eq!(cache.dec("hits", 8).await.unwrap(), 42, "{kind:?}");
        cache.set("name", "ada").await.unwrap();
        assert!(matches!(cache.inc("name", 1).await, Err(CacheError::NotAnInteger(_))), "{kind:?}");
        // An integer set with `set` is a counter too (stored as digits, as INCRBY needs).
        cache.set("n", &7).await.unwrap();
        assert_eq!(cache.inc("n", 1).await.unwrap(), 8, "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn entries_expire_after_their_timeout_and_never_means_never() {
    for (kind, _, cache) in storing_backends().await {
        cache.set_ttl("short", "x", Ttl::After(Duration::from_millis(150))).await.unwrap();
        cache.set_ttl("forever", "y", Ttl::Never).await.unwrap();
        cache.set("default", "z").await.unwrap();
        assert_eq!(cache.get::<String>("short").await.unwrap().as_deref(), Some("x"), "{kind:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(cache.get::<String>("short").await.unwrap(), None, "{kind:?}");
        assert_eq!(cache.get::<String>("forever").await.unwrap().as_deref(), Some("y"), "{kind:?}");
        assert_eq!(cache.get::<String>("default").await.unwrap().as_deref(), Some("z"), "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn default_timeout_from_config_applies_to_plain_set() {
    for kind in [BackendKind::Memory, BackendKind::Redis] {
        let mut config = config(kind);
        config.default_timeout = 0.15;
        let Some(cache) = cache_for(&config).await else { continue };
        cache.set("k", &1).await.unwrap();
        assert_eq!(cache.get::<i32>("k").await.unwrap(), Some(1), "{kind:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(cache.get::<i32>("k").await.unwrap(), None, "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn a_value_of_another_type_reads_as_a_miss() {
    for (kind, _, cache) in storing_backends().await {
        cache.set("k", &ada()).await.unwrap();
        assert_eq!(cache.get::<Vec<u8>>("k").await.unwrap(), None, "{kind:?}");
        cache.clear().await.unwrap();
    }
}

#[tokio::test]
async fn the_null_backend_stores_nothing() {
    let cache = Cache::new(&CacheConfig::new(BackendKind::Null)).unwrap();
    cache.set("k", &1).await.unwrap();
    assert!(!cache.add("k", &1).await.unwrap());
    assert_eq!(cache.get::<i32>("k").await.unwrap(), None);
    assert!(!cache.has("k").await.unwrap());
    let mut runs = 0;
    for _ in 0..2 {
        let value: i32 = cache.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(5) }).await.unwrap();
        assert_eq!(value, 5);
        runs += 1;
    }
    assert_eq!(runs, 2);
}

#[tokio::test]
async fn memory_backend_is_bounded_by_max_entries() {
    let mut config = config(BackendKind::Memory);
    config.max_entries = 10;
    let cache = Cache::new(&config).unwrap();
    for i in 0..200 {
        cache.set(&format!("k{i}"), &i).await.unwrap();
    }
    assert!(cache.local_entry_count().await <= 10, "{}", cache.local_entry_count().await);
}

#[tokio::test]
async fn maps_with_non_string_keys_are_an_encode_error() {
    let cache = Cache::memory();
    let mut map = BTreeMap::new();
    map.insert((1, 2), "x");
    assert!(matches!(cache.set("k", &map).await, Err(CacheError::Encode(_))));
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn clear_removes_only_this_caches_prefix_on_redis() {
    use phial_core::redis::cmd;

    let Some(url) = crate::redis_url() else { return };
    let redis = crate::connect(&url).await;
    let ours = config(BackendKind::Redis);
    let theirs = config(BackendKind::Redis);
    let cache = Cache::with_redis(&ours, redis.clone()).unwrap();
    let other = Cache::with_redis(&theirs, redis.clone()).unwrap();
    for i in 0..1200 {
        cache.set(&format!("k{i}"), &i).await.unwrap();
    }
    other.set("keep", "me").await.unwrap();
    cache.clear().await.unwrap();
    let left: Vec<String> = redis.query(cmd("KEYS").arg(format!("{}*", ours.key_prefix))).await.unwrap();
    assert!(left.is_empty(), "{} keys left", left.len());
    assert_eq!(other.get::<String>("keep").await.unwrap().as_deref(), Some("me"));
    other.clear().await.unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_values_are_compact_digits_or_versioned_json() {
    use phial_core::redis::cmd;

    let Some(url) = crate::redis_url() else { return };
    let redis = crate::connect(&url).await;
    let config = config(BackendKind::Redis);
    let cache = Cache::with_redis(&config, redis.clone()).unwrap();
    cache.set("n", &42).await.unwrap();
    cache.set("s", "hi").await.unwrap();
    let n: Vec<u8> = redis.query(cmd("GET").arg(format!("{}n", config.key_prefix))).await.unwrap();
    let s: Vec<u8> = redis.query(cmd("GET").arg(format!("{}s", config.key_prefix))).await.unwrap();
    assert_eq!(n, b"42");
    assert_eq!(s, b"\x01\"hi\"");
    let ttl: i64 = redis.query(cmd("PTTL").arg(format!("{}s", config.key_prefix))).await.unwrap();
    assert!((299_000..=300_000).contains(&ttl), "default timeout 300 s: {ttl}");
    cache.clear().await.unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn two_level_serves_its_local_copy_until_local_timeout() {
    let Some(url) = crate::redis_url() else { return };
    let mut config = config(BackendKind::TwoLevel);
    config.local_timeout = 0.3;
    let a = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    let b = Cache::with_redis(&config, crate::connect(&url).await).unwrap();
    a.set("k", "one").await.unwrap();
    assert_eq!(b.get::<String>("k").await.unwrap().as_deref(), Some("one"));
    a.set("k", "two").await.unwrap();
    // b keeps its local copy for at most local_timeout, then reads Redis again.
    assert_eq!(b.get::<String>("k").await.unwrap().as_deref(), Some("one"));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(b.get::<String>("k").await.unwrap().as_deref(), Some("two"));
    a.clear().await.unwrap();
}

#[tokio::test]
async fn text_is_stored_as_it_is_and_loaded_once_on_every_backend() {
    let html = r#"<table class="post"><tr><td>"ada" said <b>hi</b> & left</td></tr></table>"#;
    for (kind, _, cache) in storing_backends().await {
        cache.set_text("fragment", html).await.unwrap();
        assert_eq!(cache.get_text("fragment").await.unwrap().as_deref(), Some(html), "{kind:?}");
        // The same entry reads as a `String`, and a `String` stored as JSON reads as text.
        assert_eq!(cache.get::<String>("fragment").await.unwrap().as_deref(), Some(html), "{kind:?}");
        cache.set("json", html).await.unwrap();
        assert_eq!(cache.get_text("json").await.unwrap().as_deref(), Some(html), "{kind:?}");
        assert_eq!(cache.get_text("missing").await.unwrap(), None, "{kind:?}");

        let loads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, loads) = (cache.clone(), loads.clone());
                tokio::spawn(async move {
                    let load = move || async move {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, std::io::Error>("<p>rendered once</p>".to_owned())
                    };
                    cache.get_or_insert_text_with("page", Ttl::Default, load).await.unwrap()
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), "<p>rendered once</p>", "{kind:?}");
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1, "{kind:?}");
        assert_eq!(cache.get_text("page").await.unwrap().as_deref(), Some("<p>rendered once</p>"), "{kind:?}");

        cache.set_text_ttl("short", "<i>soon gone</i>", Ttl::After(Duration::from_millis(150))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(cache.get_text("short").await.unwrap(), None, "{kind:?}");
        cache.clear().await.unwrap();
    }
}
