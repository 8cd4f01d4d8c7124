//! The status route and its endpoint name; the switch as state, through `Ext` and `State`.

use phial_core::axum::extract::State;
use phial_core::axum::http::StatusCode;
use phial_core::axum::routing::get;
use phial_core::prelude::*;
use phial_example_maintenance::{Maintenance, MaintenanceSwitch};

use crate::{builder, run, started};

#[tokio::test]
async fn status_route_reports_off() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path())).await;
    let res = running.test_client().get("/maintenance").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json_value(), serde_json::json!({ "maintenance": false }));
}

#[tokio::test]
async fn status_route_is_reachable_during_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.enabled", true)).await;
    let res = running.test_client().get("/maintenance").await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.json_value(),
        serde_json::json!({
            "maintenance": true,
            "message": "This site is down for maintenance. Please try again later.",
            "retry_after": 300,
        })
    );
}

#[tokio::test]
async fn status_route_is_named_maintenance_status() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.status_path", "/_maintenance")).await;
    assert_eq!(running.state().url_for("maintenance.status", ()).unwrap(), "/_maintenance");
    let (_, text) = run(builder(dir.path()), &["routes"]).await;
    let line = text.lines().find(|l| l.starts_with("maintenance.status")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("GET,HEAD") && line.ends_with("/maintenance"), "{line}");
}

#[tokio::test]
async fn empty_status_path_removes_the_route() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).set("maintenance.status_path", "")).await;
    running.test_client().get("/maintenance").await.assert_status(StatusCode::NOT_FOUND);
    assert!(running.state().url_for("maintenance.status", ()).is_err());
}

#[tokio::test]
async fn start_provides_the_promised_switch() {
    let dir = tempfile::tempdir().unwrap();
    let extension = Maintenance::new();
    let switch = extension.switch();
    let running = builder(dir.path()).extension(extension).build().unwrap().start().await.unwrap();
    let provided = running.state().get::<MaintenanceSwitch>().expect("provided in start");
    switch.set(true);
    assert!(provided.is_on(), "the state holds the extension's own switch");
}

#[tokio::test]
async fn handlers_read_the_switch_with_ext_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let extension = Maintenance::new();
    let switch = extension.switch();
    let running = builder(dir.path())
        // No polling, so the in-process `set` below is not overwritten by the flag file.
        .set("maintenance.poll_interval", 0)
        .set("maintenance.bypass_token", "t0ken")
        .endpoint("ext", "/ext", get(|Ext(switch): Ext<MaintenanceSwitch>| async move { switch.is_on().to_string() }))
        .endpoint(
            "state",
            "/state",
            get(|State(switch): State<MaintenanceSwitch>| async move { switch.is_on().to_string() }),
        )
        .extension(extension)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = running.test_client();
    assert_eq!(client.get("/ext").await.text(), "false");
    assert_eq!(client.get("/state").await.text(), "false");
    switch.set(true);
    client.get("/ext").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(client.get("/ext").header("x-maintenance-bypass", "t0ken").await.text(), "true");
    assert_eq!(client.get("/state").header("x-maintenance-bypass", "t0ken").await.text(), "true");
}
