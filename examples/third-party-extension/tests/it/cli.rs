//! `<app> maintenance on|off|status`, and a running app following the flag file.

use std::process::ExitCode;

use phial_core::axum::http::StatusCode;

use crate::{builder, eventually, run, started};

#[tokio::test]
async fn on_and_off_reach_a_running_app_through_the_flag_file() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("maintenance.flag");
    let running = started(builder(dir.path())).await;
    let client = running.test_client();
    client.get("/").await.assert_status(StatusCode::OK);

    let (code, text) = run(builder(dir.path()), &["maintenance", "on"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.starts_with("maintenance mode is on: created ") && text.contains("within 0.02s"), "{text}");
    assert!(std::fs::read_to_string(&flag).unwrap().contains("maintenance off"));
    let client_ref = &client;
    assert!(eventually(|| async move { client_ref.get("/").await.status() == StatusCode::SERVICE_UNAVAILABLE }).await);

    let (code, text) = run(builder(dir.path()), &["maintenance", "status"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(text, format!("maintenance mode is on (flag file {})\n", flag.display()));

    let (code, text) = run(builder(dir.path()), &["maintenance", "off"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.starts_with("maintenance mode is off: removed "), "{text}");
    assert!(!flag.exists());
    assert!(eventually(|| async move { client_ref.get("/").await.status() == StatusCode::OK }).await);

    let (_, text) = run(builder(dir.path()), &["maintenance", "status"]).await;
    assert_eq!(text, "maintenance mode is off\n");
    running.shutdown().await;
}

#[tokio::test]
async fn flag_file_present_at_start_starts_in_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("maintenance.flag"), "").unwrap();
    let running = started(builder(dir.path()).set("maintenance.poll_interval", 0)).await;
    running.test_client().get("/").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn on_creates_the_instance_folder() {
    let dir = tempfile::tempdir().unwrap();
    let instance = dir.path().join("instance");
    let (code, _) = run(builder(&instance), &["maintenance", "on"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(instance.join("maintenance.flag").is_file());
}

#[tokio::test]
async fn off_fails_while_config_forces_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(builder(dir.path()).set("maintenance.enabled", true), &["maintenance", "off"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(text.contains("maintenance.enabled = true"), "{text}");
    let (code, text) = run(builder(dir.path()).set("maintenance.enabled", true), &["maintenance", "status"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(text, "maintenance mode is on (maintenance.enabled = true)\n");
}

#[tokio::test]
async fn without_a_flag_file_on_explains_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(builder(dir.path()).set("maintenance.flag_file", ""), &["maintenance", "on"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(text.contains("maintenance.flag_file is empty"), "{text}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was written");
}

#[tokio::test]
async fn missing_action_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(builder(dir.path()), &["maintenance"]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(text.contains("on") && text.contains("off") && text.contains("status"), "{text}");
}
