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

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

#[tokio::test]
async fn flask_mail_variables_in_the_apps_environment_configure_smtp() {
    let vars = env(&[
        ("MAIL_SERVER", "smtp.example.com"),
        ("MAIL_PORT", "587"),
        ("MAIL_USE_TLS", "True"),
        ("MAIL_USE_SSL", "0"),
        ("MAIL_USERNAME", "app"),
        ("MAIL_PASSWORD", "s3cret"),
        ("MAIL_MAX_EMAILS", ""),
        ("MAIL_SUPPRESS_SEND", "yes"),
    ]);
    let app = App::builder().profile(Profile::Testing).env(vars).extension(MailExtension::new()).build().unwrap();
    let app = app.start().await.unwrap();
    let config = app.state().require::<Mail>().config().clone();
    assert_eq!(config.transport, phial_mail::TransportKind::Smtp, "naming a server means sending through it");
    assert_eq!((config.server.as_str(), config.port), ("smtp.example.com", 587));
    assert!(config.use_tls && !config.use_ssl);
    assert_eq!(config.username.as_deref(), Some("app"));
    assert_eq!(config.password.as_ref().map(|p| p.expose().to_owned()).as_deref(), Some("s3cret"));
    assert_eq!(config.max_emails, None, "an empty value is no limit");
    assert_eq!(config.suppress_send, Some(true));
}

#[tokio::test]
async fn phial_variables_win_over_flask_ones_and_a_set_transport_stays() {
    let vars = env(&[("MAIL_SERVER", "smtp.example.com"), ("MAIL_PORT", "587"), ("PHIAL_MAIL__PORT", "2525")]);
    let app = App::builder()
        .profile(Profile::Testing)
        .env(vars)
        .set("mail.transport", "log")
        .extension(MailExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let config = app.state().require::<Mail>().config().clone();
    assert_eq!(config.port, 2525);
    assert_eq!(config.transport, phial_mail::TransportKind::Log);
}

#[tokio::test]
async fn without_a_server_mail_goes_to_the_folder() {
    let app = App::builder().profile(Profile::Testing).env(env(&[])).extension(MailExtension::new()).build().unwrap();
    let app = app.start().await.unwrap();
    assert_eq!(app.state().require::<Mail>().config().transport, phial_mail::TransportKind::File);
}

#[test]
fn a_flask_value_that_does_not_parse_names_its_variable() {
    let vars = env(&[("MAIL_USE_TLS", "maybe")]);
    let Err(err) = App::builder().profile(Profile::Testing).env(vars).extension(MailExtension::new()).build() else {
        panic!("MAIL_USE_TLS=maybe was accepted");
    };
    let text = err.to_string();
    assert!(text.contains("mail.use_tls") && text.contains("MAIL_USE_TLS") && text.contains("maybe"), "{text}");
}
