//! STARTTLS, implicit TLS and AUTH against the test server's own CA.

use phial_mail::{Mail, MailError, Message};

use crate::server::SmtpServer;

fn hello() -> Message {
    Message::new("Secure hello").to("ada@example.com").body("Over TLS.")
}

#[tokio::test]
async fn starttls_trusting_the_test_ca_delivers() {
    let Some(server) = SmtpServer::start(&["--tls", "starttls"]) else { return };
    let mut config = server.config();
    config.use_tls = true;
    config.root_ca = Some(server.ca());
    let mail = Mail::new(config).unwrap();
    mail.send(hello()).await.unwrap();
    assert_eq!(server.wait_for_messages(1).await.len(), 1);
}

#[tokio::test]
async fn implicit_tls_trusting_the_test_ca_delivers() {
    let Some(server) = SmtpServer::start(&["--tls", "implicit"]) else { return };
    let mut config = server.config();
    config.use_ssl = true;
    config.root_ca = Some(server.ca());
    let mail = Mail::new(config).unwrap();
    mail.send(hello()).await.unwrap();
    assert_eq!(server.wait_for_messages(1).await.len(), 1);
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let Some(server) = SmtpServer::start(&["--tls", "implicit"]) else { return };
    let mut config = server.config();
    config.use_ssl = true;
    let mail = Mail::new(config).unwrap();
    let err = mail.send(hello()).await.unwrap_err();
    assert!(matches!(err, MailError::Tls(_) | MailError::Connection(_)), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_requires_starttls_refuses_plain_mail() {
    let Some(server) = SmtpServer::start(&["--tls", "starttls"]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let err = mail.send(hello()).await.unwrap_err();
    assert!(matches!(err, MailError::Rejected { code: 530, .. }), "{err:?}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn auth_over_starttls_logs_in() {
    let Some(server) = SmtpServer::start(&["--tls", "starttls", "--auth", "app:s3cret"]) else { return };
    let mut config = server.config();
    config.use_tls = true;
    config.root_ca = Some(server.ca());
    config.username = Some("app".to_owned());
    config.password = Some("s3cret".into());
    let mail = Mail::new(config).unwrap();
    mail.send(hello()).await.unwrap();
    assert_eq!(server.wait_for_messages(1).await.len(), 1);
    assert_eq!(server.logins(), ["app"]);
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_error() {
    let Some(server) = SmtpServer::start(&["--tls", "starttls", "--auth", "app:s3cret"]) else { return };
    let mut config = server.config();
    config.use_tls = true;
    config.root_ca = Some(server.ca());
    config.username = Some("app".to_owned());
    config.password = Some("wrong".into());
    let mail = Mail::new(config).unwrap();
    let err = mail.send(hello()).await.unwrap_err();
    assert!(matches!(err, MailError::Rejected { code: 535, .. }) && !err.is_transient(), "{err:?}");
    assert!(server.logins().is_empty() && server.messages().is_empty());
}
