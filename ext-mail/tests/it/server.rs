//! Runs `tests/smtp_server.py` (aiosmtpd) and reads back what it received.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use phial_mail::{MailConfig, TransportKind};
use serde_json::Value;

/// The Python with aiosmtpd and trustme: `PHIAL_TEST_PYTHON`, the venv `.ci/run` makes, or
/// `python3` from PATH.
fn python() -> Option<&'static str> {
    static PYTHON: OnceLock<Option<String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = std::env::var("HOME").map(|home| format!("{home}/.cache/phial-venv/bin/python")).ok();
            let candidates = [std::env::var("PHIAL_TEST_PYTHON").ok(), venv, Some("python3".to_owned())];
            candidates.into_iter().flatten().find(|python| {
                Command::new(python)
                    .args(["-c", "import aiosmtpd, trustme"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            })
        })
        .as_deref()
}

/// A running test SMTP server; killed on drop.
pub(crate) struct SmtpServer {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) session: u64,
    pub(crate) mail_from: String,
    pub(crate) rcpt_tos: Vec<String>,
    pub(crate) data: String,
}

impl SmtpServer {
    /// Starts a server with these options (`--tls starttls`, `--auth u:p`, `--script 451`).
    /// `None` (with a notice) when aiosmtpd is missing, unless `PHIAL_TEST_REQUIRE_SERVICES=1`.
    #[track_caller]
    pub(crate) fn start(options: &[&str]) -> Option<Self> {
        let Some(python) = python() else {
            let required = std::env::var("PHIAL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "aiosmtpd is required (PHIAL_TEST_REQUIRE_SERVICES=1): run .ci/run or set PHIAL_TEST_PYTHON"
            );
            eprintln!("SKIPPED: no Python with aiosmtpd and trustme; set PHIAL_TEST_PYTHON to run this test");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--state-dir")
            .arg(dir.path())
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SMTP test server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the SMTP test server starts");
        let port = line.trim().strip_prefix("READY ").and_then(|p| p.parse().ok()).expect("READY <port>");
        Some(Self { child, port, dir })
    }

    /// The test CA's certificate (with `--tls`).
    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A config for this server: SMTP, sending not suppressed, short timeouts.
    pub(crate) fn config(&self) -> MailConfig {
        let mut config = MailConfig::default();
        config.transport = TransportKind::Smtp;
        "127.0.0.1".clone_into(&mut config.server);
        config.port = self.port;
        config.suppress_send = Some(false);
        config.default_sender = Some("App <app@example.com>".to_owned());
        config.connect_timeout = 5.0;
        config.timeout = 5.0;
        config
    }

    fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == kind).collect()
    }

    /// Messages accepted so far.
    pub(crate) fn messages(&self) -> Vec<Received> {
        self.events_of("message")
            .into_iter()
            .map(|e| Received {
                session: e["session"].as_u64().unwrap_or_default(),
                mail_from: e["mail_from"].as_str().unwrap_or_default().to_owned(),
                rcpt_tos: e["rcpt_tos"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                data: e["data"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// Connections (SMTP sessions) opened so far.
    pub(crate) fn sessions(&self) -> usize {
        self.events_of("session").len()
    }

    /// Logins that succeeded.
    pub(crate) fn logins(&self) -> Vec<String> {
        self.events_of("auth").iter().filter_map(|e| e["login"].as_str().map(str::to_owned)).collect()
    }

    /// Scripted refusals so far.
    pub(crate) fn rejections(&self) -> usize {
        self.events_of("reject").len()
    }

    /// Waits until `count` messages arrived (or 20 s passed) and returns them.
    pub(crate) async fn wait_for_messages(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server at once.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}
