//! Error mail to `ADMINS` (the original's `SMTPHandler`), through phial-mail's queue.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::{Site, eventually};

#[tokio::test]
async fn error_events_are_mailed_to_the_admins_but_mail_errors_are_not() {
    // This thread's subscriber: the test runtime runs every task here.
    let _subscriber = tracing_subscriber::registry().with(microblog::logging::ErrorMailLayer).set_default();
    let site = Site::with(&[("MAIL_SERVER", "smtp.example.com"), ("PHIAL_MICROBLOG__ERROR_MAIL", "true")]).await;
    let recording = site.mail().record_messages();
    tracing::error!(target: "phial_mail", "the mail server is down");
    tracing::error!(path = "/index", "Exception on /index [GET]");
    assert!(eventually(async || !recording.is_empty()).await);
    let emails = recording.emails();
    assert_eq!(emails.len(), 1, "only the app's error, not phial-mail's own");
    let email = &emails[0];
    assert_eq!(email.subject(), "Microblog Failure");
    assert!(email.from().contains("no-reply@smtp.example.com"), "{}", email.from());
    assert_eq!(email.to(), ["your-email@example.com"]);
    let text = email.as_text();
    assert!(text.contains("Exception on /index [GET]") && text.contains("path=/index"), "{text}");

    // A request that fails with a 500 is logged as an error by phial, and so mailed.
    site.register("susan").await;
    site.login(&site.client, "susan").await;
    let pool = site.db().sqlite_pool().unwrap().clone();
    sqlx::query("DROP TABLE notification").execute(&pool).await.unwrap();
    let failed = site.client.get("/notifications").send().await;
    assert_eq!(failed.status().as_u16(), 500);
    assert!(eventually(async || recording.len() == 2).await, "{:?}", recording.emails());
    let text = recording.emails()[1].as_text();
    assert!(text.contains("request failed") && text.contains("notification"), "{text}");
}
