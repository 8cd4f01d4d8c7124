//! Section `[maintenance]`: defaults, env vars, unknown keys, masked secrets, invalid values.

use phial_core::axum::http::StatusCode;
use phial_example_maintenance::Maintenance;

use crate::{builder, run, started};

#[tokio::test]
async fn config_command_lists_the_section_with_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(builder(dir.path()), &["config"]).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let json: serde_json::Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
    let section = &json["maintenance"];
    assert_eq!(section["enabled"], false);
    assert_eq!(section["retry_after"], 300);
    assert_eq!(section["allow_paths"], serde_json::json!(["/healthz", "/readyz"]));
    assert_eq!(section["bypass_header"], "x-maintenance-bypass");
    assert_eq!(section["bypass_token"], "");
    assert_eq!(section["flag_file"], "maintenance.flag");
    assert_eq!(section["status_path"], "/maintenance");
}

#[tokio::test]
async fn bypass_token_is_masked_in_config_output() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = run(builder(dir.path()).set("maintenance.bypass_token", "hunter2"), &["config"]).await;
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("\"bypass_token\": \"********\""), "{text}");
}

#[tokio::test]
async fn env_var_turns_maintenance_on() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(builder(dir.path()).env([("PHIAL_MAINTENANCE__ENABLED", "true")])).await;
    running.test_client().get("/").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn toml_config_sets_lists_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(
        builder(dir.path())
            .route("/api/public/status", phial_core::axum::routing::get(|| async { "public" }))
            .config_toml(
                "[maintenance]\nenabled = true\nmessage = \"Back at 18:00.\"\nallow_paths = [\"/api/public/*\"]\n",
            ),
    )
    .await;
    let client = running.test_client();
    client.get("/api/public/status").await.assert_status(StatusCode::OK);
    let res = client.get("/").await;
    res.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json_value()["message"], "Back at 18:00.");
    // The list replaced the default one: the liveness probe is no longer allowed.
    client.get("/healthz").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn unknown_key_is_a_build_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = builder(dir.path()).set("maintenance.enabeld", true).extension(Maintenance::new()).build().err().unwrap();
    let text = err.to_string();
    assert!(text.contains("maintenance.enabeld") && text.contains("unknown key"), "{text}");
}

#[test]
fn invalid_values_are_build_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("maintenance.bypass_header", "not a header", "maintenance.bypass_header"),
        ("maintenance.status_path", "maintenance", "maintenance.status_path"),
        ("maintenance.retry_after", "soon", "maintenance.retry_after"),
    ];
    for (key, value, named) in cases {
        let err = builder(dir.path())
            .set("maintenance.bypass_token", "t0ken")
            .env([(format!("PHIAL_{}", key.to_uppercase().replace('.', "__")), value)])
            .extension(Maintenance::new())
            .build()
            .err()
            .unwrap_or_else(|| panic!("{key} = {value} should not build"));
        assert!(err.to_string().contains(named), "{key}: {err}");
    }
    // `builder` sets the poll interval above env vars, so override it the same way.
    let err =
        builder(dir.path()).set("maintenance.poll_interval", -1.0).extension(Maintenance::new()).build().err().unwrap();
    assert!(err.to_string().contains("maintenance.poll_interval"), "{err}");
    let err = builder(dir.path())
        .config_toml("[maintenance]\nallow_paths = [\"healthz\"]\n")
        .extension(Maintenance::new())
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("maintenance.allow_paths") && err.to_string().contains("`healthz`"), "{err}");
}
