//! `CacheExtension` in an app: config errors at build or start, the registered handle, the
//! health check.

use axum::routing::get;
use phial_cache::{Cache, CacheExtension};
use phial_core::Health;
use phial_core::prelude::*;

#[tokio::test]
async fn handlers_extract_the_registered_cache() {
    async fn hits(cache: Cache) -> Result<String, phial_cache::CacheError> {
        Ok(cache.inc("hits", 1).await?.to_string())
    }
    let running = App::builder()
        .profile(Profile::Testing)
        .route("/hits", get(hits))
        .extension(CacheExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = running.test_client();
    assert_eq!(client.get("/hits").await.text(), "1");
    assert_eq!(client.get("/hits").await.text(), "2");
    let report = running.health().await;
    let cache = report.checks.iter().find(|check| check.name == "cache").unwrap();
    assert_eq!(cache.health, Health::Healthy);
}

#[test]
fn a_negative_timeout_fails_the_build_naming_the_key() {
    let err = App::builder()
        .profile(Profile::Testing)
        .set("cache.default_timeout", -5)
        .extension(CacheExtension::new())
        .build()
        .err()
        .expect("an error");
    assert!(err.to_string().contains("cache.default_timeout"), "{err}");
}

#[test]
fn an_unknown_backend_fails_the_build() {
    let err = App::builder()
        .profile(Profile::Testing)
        .set("cache.backend", "memcached")
        .extension(CacheExtension::new())
        .build()
        .err()
        .expect("an error");
    assert!(err.to_string().contains("memcached"), "{err}");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_redis_backend_without_the_redis_extension_fails_at_start_with_a_fix() {
    let err = App::builder()
        .profile(Profile::Testing)
        .set("cache.backend", "redis")
        .extension(CacheExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .err()
        .expect("an error");
    assert!(err.to_string().contains("RedisExtension"), "{err}");
}

#[cfg(not(feature = "redis"))]
#[test]
fn a_redis_backend_without_the_feature_fails_the_build() {
    let err = App::builder()
        .profile(Profile::Testing)
        .set("cache.backend", "redis")
        .extension(CacheExtension::new())
        .build()
        .err()
        .expect("an error");
    assert!(err.to_string().contains("feature `redis`"), "{err}");
}

#[tokio::test]
async fn the_cache_extracts_from_a_bare_axum_state_through_from_ref() {
    #[derive(Clone)]
    struct AppState {
        cache: Cache,
    }
    impl axum::extract::FromRef<AppState> for Cache {
        fn from_ref(state: &AppState) -> Self {
            state.cache.clone()
        }
    }
    async fn remember(cache: Cache) -> String {
        cache.add("first", "one").await.unwrap();
        cache.get::<String>("first").await.unwrap().unwrap_or_default()
    }
    let router = axum::Router::new().route("/", get(remember)).with_state(AppState { cache: Cache::memory() });
    let client = phial_core::testing::TestClient::new(router);
    assert_eq!(client.get("/").await.text(), "one");
}
