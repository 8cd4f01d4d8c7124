//! The health check: degraded while maintenance is on, in `/readyz` and `<app> check`.

use std::process::ExitCode;

use phial_core::axum::http::StatusCode;
use phial_core::prelude::*;

use crate::{builder, run, started};

#[tokio::test]
async fn health_is_degraded_while_on_and_healthy_while_off() {
    let dir = tempfile::tempdir().unwrap();
    let off = started(builder(dir.path())).await;
    let report = off.health().await;
    assert_eq!(report.checks[0].name, "maintenance");
    assert_eq!(report.checks[0].health, Health::Healthy);

    let on = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let report = on.health().await;
    assert_eq!(report.checks[0].health, Health::Degraded("maintenance mode is on".to_owned()));
    assert!(report.is_ok(), "degraded does not fail readiness");
}

#[tokio::test]
async fn readyz_reports_degraded_and_stays_200() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let res = running.test_client().get("/readyz").await;
    res.assert_status(StatusCode::OK);
    let body = res.json_value();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"][0]["name"], "maintenance");
    assert_eq!(body["checks"][0]["status"], "degraded");
    assert_eq!(body["checks"][0]["message"], "maintenance mode is on");
}

#[tokio::test]
async fn check_command_prints_the_degraded_check_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(builder(dir.path()).set("maintenance.enabled", true), &["check"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    let line = text.lines().next().unwrap();
    assert!(line.starts_with("maintenance degraded (") && line.ends_with("): maintenance mode is on"), "{line}");
}
