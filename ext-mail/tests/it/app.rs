//! The extension in a phial app: config, suppression, recording, health, shutdown.

use phial_core::axum::routing::post;
use phial_core::prelude::*;
use phial_mail::{Mail, MailExtension, Message};

use crate::server::SmtpServer;

async fn notify(mail: Mail, body: String) -> Result<&'static str, HttpError> {
    mail.send(Message::new(body).to("ada@example.com").body("Notified.")).await?;
    Ok("sent")
}

fn app() -> AppBuilder {
    App::builder()
        .profile(Profile::Testing)
        .set("mail.default_sender", "App <app@example.com>")
        .extension(MailExtension::new())
        .endpoint("notify", "/notify", post(notify))
}

#[tokio::test]
async fn testing_profile_suppresses_sending_and_records() {
    // SMTP to a closed port: a suppressed app never connects, so this still succeeds.
    let app = app().set("mail.transport", "smtp").set("mail.port", 9).build().unwrap().start().await.unwrap();
    let mail = app.state().require::<Mail>().clone();
    assert!(mail.is_suppressed());
    let outbox = mail.record_messages();
    let response = app.test_client().post("/notify").body("Subject from the request").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox.emails()[0].subject(), "Subject from the request");
    assert_eq!(outbox.emails()[0].from(), "app@example.com");
}

#[tokio::test]
async fn header_injection_from_a_request_is_a_400() {
    let app = app().build().unwrap().start().await.unwrap();
    let outbox = app.state().require::<Mail>().record_messages();
    let response = app.test_client().post("/notify").body("Hi\r\nBcc: victim@example.com").send().await;
    assert_eq!(response.status(), 400);
    assert!(response.text().contains("bad header in subject"), "{}", response.text());
    assert!(outbox.is_empty());
}

#[tokio::test]
async fn file_transport_writes_one_eml_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("outbox");
    let app = app()
        .set("mail.suppress_send", false)
        .set("mail.folder", folder.to_str().unwrap())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = app.test_client();
    for subject in ["one", "two"] {
        assert_eq!(client.post("/notify").body(subject).send().await.status(), 200);
    }
    let mut files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "eml")));
    let first = std::fs::read_to_string(&files[0]).unwrap();
    assert!(first.contains("Subject: one\r\n") && first.contains("To: ada@example.com"), "{first}");
}

#[tokio::test]
async fn readyz_reports_smtp_reachability() {
    let Some(mut server) = SmtpServer::start(&[]) else { return };
    let app = app()
        .set("mail.transport", "smtp")
        .set("mail.server", "127.0.0.1")
        .set("mail.port", i64::from(server.port))
        .set("mail.suppress_send", false)
        .set("mail.connect_timeout", 1.0)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = app.test_client();
    let ready = client.get("/readyz").send().await;
    assert_eq!(ready.status(), 200, "{}", ready.text());
    assert!(ready.text().contains("mail"), "{}", ready.text());
    assert!(server.sessions() >= 1, "the check talked to the server");

    server.kill();
    let mail = app.state().require::<Mail>().clone();
    mail.shutdown().await; // drop the pooled session so the check reconnects
    let ready = client.get("/readyz").send().await;
    assert_eq!(ready.status(), 503, "{}", ready.text());
}

#[tokio::test]
async fn conflicting_settings_fail_the_build() {
    let Err(err) = app().set("mail.use_tls", true).set("mail.use_ssl", true).build() else { panic!("built") };
    assert!(err.to_string().contains("use_tls"), "{err}");
    let Err(err) = app().set("mail.default_sender", "not an address").build() else { panic!("built") };
    assert!(err.to_string().contains("default_sender"), "{err}");
}

#[tokio::test]
async fn app_shutdown_drains_the_queue() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let app = app()
        .set("mail.transport", "smtp")
        .set("mail.server", "127.0.0.1")
        .set("mail.port", i64::from(server.port))
        .set("mail.suppress_send", false)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let mail = app.state().require::<Mail>().clone();
    for n in 0..5 {
        mail.enqueue(Message::new("Queued").to(format!("user{n}@example.com"))).await.unwrap();
    }
    app.shutdown().await;
    assert_eq!(server.messages().len(), 5);
}
