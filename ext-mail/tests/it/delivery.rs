//! Messages over plain SMTP: content, envelopes, sessions, the queue.

use std::time::Duration;

use phial_mail::{Attachment, Mail, MailError, Message};

use crate::server::SmtpServer;

fn hello(to: &str) -> Message {
    Message::new("Hello").to(to).body("Hello there.")
}

#[tokio::test]
async fn plain_message_arrives_with_its_headers() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let message = Message::new("Plain news")
        .sender_named("News Desk", "news@example.com")
        .to("ada@example.com")
        .reply_to("replies@example.com")
        .header("X-Campaign", "spring")
        .body("Line one.\nLine two.");
    mail.send(message).await.unwrap();

    let received = server.wait_for_messages(1).await;
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.mail_from, "news@example.com");
    assert_eq!(got.rcpt_tos, ["ada@example.com"]);
    for header in [
        "Subject: Plain news",
        "From: \"News Desk\" <news@example.com>",
        "To: ada@example.com",
        "Reply-To: replies@example.com",
        "X-Campaign: spring",
        "Message-ID: <",
    ] {
        assert!(got.data.contains(header), "{header} missing in:\n{}", got.data);
    }
    assert!(got.data.contains("Line one.\r\nLine two."), "{}", got.data);
}

#[tokio::test]
async fn html_with_text_is_multipart_alternative() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    mail.send(hello("ada@example.com").html("<p>Hello <b>there</b>.</p>")).await.unwrap();

    let data = &server.wait_for_messages(1).await[0].data;
    assert!(data.contains("Content-Type: multipart/alternative"), "{data}");
    let text_at = data.find("Content-Type: text/plain").expect("a text part");
    let html_at = data.find("Content-Type: text/html").expect("an html part");
    assert!(text_at < html_at, "the text part comes first, the preferred html part last");
    assert!(data.contains("<p>Hello <b>there</b>.</p>"));
}

#[tokio::test]
async fn attachments_arrive_with_types_from_their_names() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let message = hello("ada@example.com")
        .html("<img src=\"cid:logo\">")
        .attach(Attachment::new("report.csv", b"day,visits\n1,10\n".to_vec()))
        .attach(Attachment::new("logo.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]).inline("logo"));
    mail.send(message).await.unwrap();

    let data = &server.wait_for_messages(1).await[0].data;
    assert!(data.contains("Content-Type: multipart/mixed"), "{data}");
    assert!(data.contains("Content-Type: multipart/related"), "{data}");
    assert!(data.contains("Content-Type: text/csv"), "{data}");
    assert!(data.contains("Content-Disposition: attachment; filename=\"report.csv\""), "{data}");
    assert!(data.contains("Content-Type: image/png"), "{data}");
    assert!(data.contains("Content-ID: <logo>"), "{data}");
    assert!(data.contains("Content-Disposition: inline"), "{data}");
    assert!(data.contains("iVBORwABAv8="), "the PNG bytes, base64: {data}");
}

#[tokio::test]
async fn cc_and_bcc_are_in_the_envelope_and_bcc_in_no_header() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    mail.send(hello("ada@example.com").cc("bob@example.com").bcc("audit@example.com")).await.unwrap();

    let got = &server.wait_for_messages(1).await[0];
    assert_eq!(got.rcpt_tos, ["ada@example.com", "bob@example.com", "audit@example.com"]);
    assert!(got.data.contains("Cc: bob@example.com"));
    // No Bcc header (a random boundary or Message-ID may hold the letters "bcc" by chance).
    assert!(!got.data.lines().any(|line| line.to_ascii_lowercase().starts_with("bcc:")), "{}", got.data);
    assert!(!got.data.contains("audit@example.com"), "{}", got.data);
    assert!(!got.data.contains("audit@example.com"), "{}", got.data);
}

#[tokio::test]
async fn max_emails_2_sends_5_messages_in_3_sessions() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mut config = server.config();
    config.max_emails = Some(2);
    let mail = Mail::new(config).unwrap();
    let messages = (1..=5).map(|n| Message::new(format!("Batch {n}")).to(format!("user{n}@example.com")).body("x"));
    mail.send_many(messages).await.unwrap();

    let received = server.wait_for_messages(5).await;
    assert_eq!(received.len(), 5);
    let sessions: Vec<u64> = received.iter().map(|m| m.session).collect();
    assert_eq!(sessions, [1, 1, 2, 2, 3], "two messages per session");
    assert_eq!(server.sessions(), 3);
}

#[tokio::test]
async fn pooled_sends_share_one_session() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mut config = server.config();
    config.pool_size = 1;
    let mail = Mail::new(config).unwrap();
    for n in 0..4 {
        mail.send(hello(&format!("user{n}@example.com"))).await.unwrap();
    }
    assert_eq!(server.wait_for_messages(4).await.len(), 4);
    assert_eq!(server.sessions(), 1);
}

#[tokio::test]
async fn header_injection_in_any_field_is_refused_before_anything_is_sent() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let smuggle = "\r\nBcc: victim@example.com";
    let cases = [
        Message::new(format!("Hi{smuggle}")).to("ada@example.com"),
        hello("ada@example.com").sender(format!("app@example.com{smuggle}")),
        hello(&format!("ada@example.com{smuggle}")),
        hello("ada@example.com").cc(format!("bob@example.com{smuggle}")),
        hello("ada@example.com").bcc(format!("bob@example.com{smuggle}")),
        hello("ada@example.com").reply_to(format!("r@example.com{smuggle}")),
        hello("ada@example.com").header("X-Tag", format!("x{smuggle}")),
        hello("ada@example.com").header("Bcc", "victim@example.com"),
        hello("ada@example.com").attach(Attachment::new(format!("a.txt{smuggle}"), Vec::new())),
    ];
    for message in cases {
        let err = mail.send(message.clone()).await.unwrap_err();
        assert!(matches!(err, MailError::BadHeader { .. }), "send: {err:?}");
        let err = mail.enqueue(message.clone()).await.unwrap_err();
        assert!(matches!(err, MailError::BadHeader { .. }), "enqueue: {err:?}");
        let err = mail.send_many([hello("ok@example.com"), message]).await.unwrap_err();
        assert!(matches!(err, MailError::BadHeader { .. }), "send_many: {err:?}");
    }
    mail.shutdown().await;
    assert_eq!(server.sessions(), 0, "no connection was even opened");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn recording_captures_what_smtp_delivered() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let outbox = mail.record_messages();
    mail.send(hello("ada@example.com")).await.unwrap();
    mail.send_many([hello("bob@example.com"), hello("eve@example.com")]).await.unwrap();

    let recorded = outbox.emails();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[1].to(), ["bob@example.com"]);
    assert_eq!(server.wait_for_messages(3).await.len(), 3);
    drop(outbox);
    mail.send(hello("late@example.com")).await.unwrap();
}

#[tokio::test]
async fn queue_retries_451_twice_then_delivers_once() {
    let Some(server) = SmtpServer::start(&["--script", "451,451"]) else { return };
    let mut config = server.config();
    config.queue.backoff = 0.05;
    let mail = Mail::new(config).unwrap();
    mail.enqueue(hello("ada@example.com")).await.unwrap();

    let received = server.wait_for_messages(1).await;
    assert_eq!(received.len(), 1);
    mail.shutdown().await;
    assert_eq!(server.messages().len(), 1, "delivered exactly once");
    assert_eq!(server.rejections(), 2);
    let counts = mail.queue_counts();
    assert_eq!((counts.queued, counts.sent, counts.retried, counts.failed), (1, 1, 2, 0));
}

#[tokio::test]
async fn queue_reports_a_permanent_refusal_without_retrying() {
    let Some(server) = SmtpServer::start(&["--script", "554"]) else { return };
    let mut config = server.config();
    config.queue.backoff = 0.05;
    let mail = Mail::new(config).unwrap();
    mail.enqueue(hello("ada@example.com")).await.unwrap();
    mail.enqueue(hello("bob@example.com")).await.unwrap();

    let received = server.wait_for_messages(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    mail.shutdown().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_tos, ["bob@example.com"]);
    assert_eq!(server.rejections(), 1, "the refused message was not tried again");
    let counts = mail.queue_counts();
    assert_eq!((counts.sent, counts.retried, counts.failed), (1, 0, 1));
}

#[tokio::test]
async fn direct_send_reports_the_reply_code() {
    let Some(server) = SmtpServer::start(&["--script", "451,550"]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    let err = mail.send(hello("ada@example.com")).await.unwrap_err();
    assert!(matches!(err, MailError::Rejected { code: 451, .. }) && err.is_transient(), "{err:?}");
    let err = mail.send(hello("ada@example.com")).await.unwrap_err();
    assert!(matches!(err, MailError::Rejected { code: 550, .. }) && !err.is_transient(), "{err:?}");
    mail.send(hello("ada@example.com")).await.unwrap();
    assert_eq!(server.wait_for_messages(1).await.len(), 1);
}

#[tokio::test]
async fn shutdown_drains_the_queue() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    for n in 0..10 {
        mail.enqueue(hello(&format!("user{n}@example.com"))).await.unwrap();
    }
    mail.shutdown().await;
    assert_eq!(server.messages().len(), 10);
    assert!(matches!(mail.enqueue(hello("late@example.com")).await, Err(MailError::QueueClosed)));
}

#[tokio::test]
async fn lines_starting_with_a_dot_arrive_intact() {
    let Some(server) = SmtpServer::start(&[]) else { return };
    let mail = Mail::new(server.config()).unwrap();
    mail.send(Message::new("Dots").to("ada@example.com").body("first\n.\n.hidden\n..two\nlast")).await.unwrap();
    mail.send(hello("bob@example.com")).await.unwrap();

    let received = server.wait_for_messages(2).await;
    assert_eq!(received.len(), 2, "the lone dot did not end the first message early");
    assert!(received[0].data.contains("first\r\n.\r\n.hidden\r\n..two\r\nlast"), "{}", received[0].data);
}
