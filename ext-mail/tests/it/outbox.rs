//! The transactional outbox on every available database (SQLite always; PostgreSQL and
//! MariaDB when reachable).

use std::time::{Duration, Instant};

use phial_core::axum::extract::Path;
use phial_core::axum::http::StatusCode;
use phial_core::axum::routing::post;
use phial_core::prelude::*;
use phial_mail::{MailExtension, Message, Outbox, OutboxCounts};
use phial_sql::testing::TestDatabase;
use phial_sql::{SqlExtension, Tx};

use crate::server::SmtpServer;

/// Queues a welcome mail to `<who>@example.com` in the request's transaction, then answers
/// `status`: 2xx commits the transaction, 4xx rolls it back.
async fn signup(tx: Tx, outbox: Outbox, Path((who, status)): Path<(String, u16)>) -> Result<StatusCode, HttpError> {
    outbox.add(&tx, Message::new("Welcome").to(format!("{who}@example.com")).body("Hello!")).await?;
    Ok(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
}

async fn start_app(database: &TestDatabase, smtp_port: u16) -> RunningApp {
    App::builder()
        .profile(Profile::Testing)
        .set("sql.url", database.url())
        .set("mail.transport", "smtp")
        .set("mail.server", "127.0.0.1")
        .set("mail.port", i64::from(smtp_port))
        .set("mail.suppress_send", false)
        .set("mail.default_sender", "app@example.com")
        .set("mail.connect_timeout", 1.0)
        .set("mail.queue.backoff", 0.05)
        .set("mail.queue.max_backoff", 0.2)
        .set("mail.queue.max_attempts", 1000)
        .set("mail.outbox.poll_interval", 0.05)
        .extension(SqlExtension::new())
        .extension(MailExtension::new().outbox())
        .endpoint("signup", "/signup/{who}/{status}", post(signup))
        .build()
        .expect("the app builds")
        .start()
        .await
        .expect("the app starts")
}

async fn wait_for_sent(outbox: &Outbox, sent: i64) -> OutboxCounts {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts = outbox.counts().await.expect("the outbox table reads");
        if counts.sent >= sent || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn recipients(server: &SmtpServer) -> Vec<String> {
    let mut to: Vec<String> = server.messages().into_iter().flat_map(|m| m.rcpt_tos).collect();
    to.sort();
    to
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_row_and_sends_nothing() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    for database in TestDatabase::available().await {
        let app = start_app(&database, server.port).await;
        let outbox = app.state().require::<Outbox>().clone();
        let client = app.test_client();

        let response = client.post("/signup/rolledback/400").send().await;
        assert_eq!(response.status(), 400, "{:?}", database.backend());
        let response = client.post("/signup/committed/201").send().await;
        assert_eq!(response.status(), 201, "{:?}", database.backend());

        let counts = wait_for_sent(&outbox, 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await; // a few more polls
        assert_eq!(counts, outbox.counts().await.unwrap(), "{:?}", database.backend());
        assert_eq!((counts.pending, counts.sent, counts.failed), (0, 1, 0), "{:?}", database.backend());
        app.shutdown().await;
    }
    let to = recipients(&server);
    assert!(to.iter().all(|r| r == "committed@example.com"), "{to:?}");
    assert!(!to.is_empty());
}

#[tokio::test]
async fn mail_queued_while_the_server_is_down_survives_an_app_restart_and_is_sent_once() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        let Some(mut first) = SmtpServer::start(&[]) else { return };
        let app = start_app(&database, first.port).await;
        let outbox = app.state().require::<Outbox>().clone();
        let client = app.test_client();
        for who in ["u1", "u2"] {
            assert_eq!(client.post(format!("/signup/{who}/201")).send().await.status(), 201);
        }
        assert_eq!(wait_for_sent(&outbox, 2).await.sent, 2, "{backend:?}");

        first.kill();
        for who in ["u3", "u4", "u5"] {
            assert_eq!(client.post(format!("/signup/{who}/201")).send().await.status(), 201);
        }
        tokio::time::sleep(Duration::from_millis(300)).await; // the worker tries and fails
        let counts = outbox.counts().await.unwrap();
        assert_eq!((counts.pending, counts.sent), (3, 2), "{backend:?}");
        app.shutdown().await;

        let Some(second) = SmtpServer::start(&[]) else { return };
        let app = start_app(&database, second.port).await;
        let outbox = app.state().require::<Outbox>().clone();
        assert_eq!(wait_for_sent(&outbox, 5).await.sent, 5, "{backend:?}");
        tokio::time::sleep(Duration::from_millis(300)).await; // a few more polls: no resend
        let counts = outbox.counts().await.unwrap();
        assert_eq!((counts.pending, counts.sent, counts.failed), (0, 5, 0), "{backend:?}");
        app.shutdown().await;

        assert_eq!(recipients(&first), ["u1@example.com", "u2@example.com"], "{backend:?}");
        assert_eq!(recipients(&second), ["u3@example.com", "u4@example.com", "u5@example.com"], "{backend:?}");
    }
}
