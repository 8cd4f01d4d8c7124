//! A server that is down, stops answering, or drops connections.

use std::time::{Duration, Instant};

use phial_core::testing::FaultProxy;
use phial_mail::{Mail, MailConfig, MailError, Message, TransportKind};

use crate::server::SmtpServer;

fn hello(to: &str) -> Message {
    Message::new("Hello").to(to).body("Hello there.")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

#[tokio::test]
async fn server_down_fails_within_the_timeout() {
    let mut config = MailConfig::default();
    config.transport = TransportKind::Smtp;
    config.server = "127.0.0.1".to_owned();
    config.port = closed_port();
    config.suppress_send = Some(false);
    config.connect_timeout = 2.0;
    let mail = Mail::new(config).unwrap();
    let started = Instant::now();
    let err = mail.send(hello("ada@example.com").sender("app@example.com")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(matches!(err, MailError::Connection(_)) && err.is_transient(), "{err:?}");
    assert!(mail.ping().await.is_err());
}

#[tokio::test]
async fn a_frozen_server_times_out() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let proxy = FaultProxy::start(([127, 0, 0, 1], server.port).into()).await.unwrap();
    let mut config = server.config();
    config.port = proxy.addr().port();
    config.connect_timeout = 1.0;
    config.timeout = 1.0;
    let mail = Mail::new(config).unwrap();
    mail.send(hello("ada@example.com")).await.unwrap();

    proxy.freeze();
    let started = Instant::now();
    let err = mail.send(hello("bob@example.com")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    assert!(err.is_transient(), "{err:?}");
    proxy.thaw();
    // The session that timed out is not reused: the next send opens a new one.
    mail.send(hello("eve@example.com")).await.unwrap();
    let to: Vec<String> = server.wait_for_messages(2).await.into_iter().flat_map(|m| m.rcpt_tos).collect();
    assert!(to.contains(&"eve@example.com".to_owned()), "{to:?}");
}

#[tokio::test]
async fn queue_waits_out_an_outage_and_delivers_each_message_once() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mut proxy = FaultProxy::start(([127, 0, 0, 1], server.port).into()).await.unwrap();
    let mut config = server.config();
    config.port = proxy.addr().port();
    config.connect_timeout = 1.0;
    config.queue.backoff = 0.05;
    config.queue.max_backoff = 0.2;
    config.queue.max_attempts = 100;
    let mail = Mail::new(config).unwrap();

    proxy.cut().await;
    for n in 0..3 {
        mail.enqueue(hello(&format!("user{n}@example.com"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(server.messages().is_empty());
    assert!(mail.queue_counts().retried >= 3, "{:?}", mail.queue_counts());
    proxy.restore().await;

    let received = server.wait_for_messages(3).await;
    mail.shutdown().await;
    let mut to: Vec<String> = received.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(to, ["user0@example.com", "user1@example.com", "user2@example.com"]);
    assert_eq!(server.messages().len(), 3);
}

#[tokio::test]
async fn a_session_closed_by_the_server_is_replaced() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mut proxy = FaultProxy::start(([127, 0, 0, 1], server.port).into()).await.unwrap();
    let mut config = server.config();
    config.port = proxy.addr().port();
    config.pool_size = 1;
    let mail = Mail::new(config).unwrap();
    mail.send(hello("ada@example.com")).await.unwrap();
    proxy.cut().await;
    proxy.restore().await;
    // The pooled session died with the cut; after a second idle it is tested and replaced.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mail.send(hello("bob@example.com")).await.unwrap();
    assert_eq!(server.wait_for_messages(2).await.len(), 2);
}
