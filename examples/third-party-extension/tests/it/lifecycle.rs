//! Ordering against other extensions, and the shutdown hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use phial_core::axum::extract::Request;
use phial_core::axum::http::StatusCode;
use phial_core::axum::middleware::{Next, from_fn};
use phial_core::prelude::*;
use phial_example_maintenance::Maintenance;

use crate::{builder, eventually};

/// A stand-in rate limiter: a `Stage::Security` layer that counts the requests it sees.
fn limiter(seen: &Arc<AtomicUsize>) -> FnExtension {
    let seen = Arc::clone(seen);
    FnExtension::new("limiter", move |ctx| {
        let seen = Arc::clone(&seen);
        ctx.layer(
            Stage::Security,
            "rate-limit",
            from_fn(move |req: Request, next: Next| {
                seen.fetch_add(1, Ordering::SeqCst);
                next.run(req)
            }),
        );
        Ok(())
    })
}

#[tokio::test]
async fn maintenance_runs_before_the_limiter_whatever_the_registration_order() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = builder(dir.path())
        .set("maintenance.enabled", true)
        .extension(limiter(&seen))
        .extension(Maintenance::new())
        .build()
        .unwrap();
    assert_eq!(app.extension_order(), ["maintenance", "limiter"]);
    let security: Vec<String> =
        app.middleware().into_iter().filter(|l| l.stage == Stage::Security).map(|l| l.name).collect();
    assert_eq!(security, ["maintenance", "rate-limit"]);

    let running = app.start().await.unwrap();
    running.test_client().get("/").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.load(Ordering::SeqCst), 0, "a refused request never reached the limiter");
}

#[tokio::test]
async fn shutdown_stops_polling_the_flag_file() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("maintenance.flag");
    let extension = Maintenance::new();
    let switch = extension.switch();
    let running = builder(dir.path()).extension(extension).build().unwrap().start().await.unwrap();

    // While running, the watcher follows the file.
    std::fs::write(&flag, "").unwrap();
    assert!(eventually(|| async { switch.is_on() }).await);
    std::fs::remove_file(&flag).unwrap();
    assert!(eventually(|| async { !switch.is_on() }).await);

    running.shutdown().await;

    // After shutdown it does not: 25 poll intervals pass without a change.
    std::fs::write(&flag, "").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!switch.is_on(), "the watcher task was stopped by the shutdown hook");
}
