//! Integration tests of the maintenance extension: one binary, one module per capability.

mod cli;
mod config;
mod health;
mod layer;
mod lifecycle;
mod routes_and_state;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use phial_core::axum::routing::get;
use phial_core::cli::Output;
use phial_core::prelude::*;
use phial_example_maintenance::Maintenance;

/// An app in the `testing` profile (no files, no environment) with one route at `/`, its
/// instance folder in `instance`, and the flag file polled every 20 ms.
pub(crate) fn builder(instance: &Path) -> AppBuilder {
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test-secret-key")
        .set("app.instance_path", instance.to_str().expect("temp paths are UTF-8"))
        .set("maintenance.poll_interval", 0.02)
        .endpoint("index", "/", get(|| async { "hello" }))
}

/// [`builder`] with the extension added, started.
pub(crate) async fn started(builder: AppBuilder) -> RunningApp {
    builder.extension(Maintenance::new()).build().expect("builds").start().await.expect("starts")
}

/// Runs the command line of `builder` + the extension with `args`; the exit code and output.
pub(crate) async fn run(builder: AppBuilder, args: &[&str]) -> (ExitCode, String) {
    let (out, text) = Output::buffer();
    let app = builder.extension(Maintenance::new()).build().expect("builds");
    let code = app.run_with(std::iter::once("app").chain(args.iter().copied()), out).await.expect("runs");
    (code, text.text())
}

/// Waits until `condition` holds, up to 5 s; false if it never did.
pub(crate) async fn eventually<F: Future<Output = bool>>(mut condition: impl FnMut() -> F) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
