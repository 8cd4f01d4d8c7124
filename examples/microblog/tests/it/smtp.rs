//! Mail through a real SMTP server: phial-mail's aiosmtpd test server
//! (`ext-mail/tests/smtp_server.py`), with `MAIL_SERVER` and `MAIL_PORT` as the original reads
//! them. Skipped with a notice without a Python that has aiosmtpd and trustme
//! (`PHIAL_TEST_PYTHON`, or the venv `.ci/run` makes), unless `PHIAL_TEST_REQUIRE_SERVICES=1`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use phial::axum::http::StatusCode;
use serde_json::Value;

use crate::{Site, csrf_token, eventually};

/// The aiosmtpd server, killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<String> {
    let venv = std::env::var("HOME").map(|home| format!("{home}/.cache/phial-venv/bin/python")).ok();
    [std::env::var("PHIAL_TEST_PYTHON").ok(), venv, Some("python3".to_owned())].into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import aiosmtpd, trustme"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

impl SmtpServer {
    /// Starts the server with `options` (`--tls starttls`, `--auth login:password`).
    fn start(options: &[&str]) -> Option<Self> {
        let Some(python) = python() else {
            let required = std::env::var("PHIAL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(!required, "aiosmtpd is required (PHIAL_TEST_REQUIRE_SERVICES=1): set PHIAL_TEST_PYTHON");
            eprintln!("SKIPPED: no Python with aiosmtpd and trustme; set PHIAL_TEST_PYTHON to run this test");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ext-mail/tests/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--state-dir")
            .arg(dir.path())
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        let port = line.trim().strip_prefix("READY ").and_then(|port| port.parse().ok()).unwrap();
        Some(Self { child, port, dir })
    }

    /// The messages the server accepted.
    fn messages(&self) -> Vec<Value> {
        self.events("message")
    }

    /// The events of `kind` so far (`message`, `auth`).
    fn events(&self, kind: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|e| e["event"] == kind)
            .collect()
    }
}

#[tokio::test]
async fn the_reset_mail_goes_through_the_smtp_server_of_mail_server() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let port = server.port.to_string();
    let site =
        Site::with(&[("MAIL_SERVER", "127.0.0.1"), ("MAIL_PORT", &port), ("PHIAL_MAIL__SUPPRESS_SEND", "false")]).await;
    site.register("susan").await;
    let client = &site.client;
    let token = csrf_token(client, "/auth/reset_password_request").await;
    let response = client
        .post("/auth/reset_password_request")
        .form(&[("csrf_token", token.as_str()), ("email", "susan@example.com")])
        .send()
        .await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/auth/login")));
    assert!(eventually(async || !server.messages().is_empty()).await, "the server received the mail");
    let message = &server.messages()[0];
    assert_eq!(message["mail_from"], "your-email@example.com");
    assert_eq!(message["rcpt_tos"], serde_json::json!(["susan@example.com"]));
    let data = message["data"].as_str().unwrap();
    assert!(data.contains("Subject: [Microblog] Reset Your Password"), "{data}");
    assert!(data.contains("multipart/alternative"), "text and HTML bodies: {data}");
}

#[tokio::test]
async fn mail_use_tls_and_the_credentials_mean_starttls_and_a_login() {
    let Some(server) = SmtpServer::start(&["--tls", "starttls", "--auth", "microblog:s3cret"]) else { return };
    let port = server.port.to_string();
    let ca = server.dir.path().join("ca.pem");
    let site = Site::with(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        // As in the original, any value (even "0") turns TLS on: the variable is set.
        ("MAIL_USE_TLS", "0"),
        ("MAIL_USERNAME", "microblog"),
        ("MAIL_PASSWORD", "s3cret"),
        ("PHIAL_MAIL__ROOT_CA", ca.to_str().unwrap()),
        ("PHIAL_MAIL__SUPPRESS_SEND", "false"),
    ])
    .await;
    site.register("susan").await;
    let client = &site.client;
    let token = csrf_token(client, "/auth/reset_password_request").await;
    client
        .post("/auth/reset_password_request")
        .form(&[("csrf_token", token.as_str()), ("email", "susan@example.com")])
        .send()
        .await;
    assert!(eventually(async || !server.messages().is_empty()).await, "the server received the mail");
    assert_eq!(server.events("auth")[0]["login"], "microblog");
    assert_eq!(server.messages()[0]["rcpt_tos"], serde_json::json!(["susan@example.com"]));
}
