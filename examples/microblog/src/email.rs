//! Mail (`app/email.py`): the original's `MAIL_*` variables for phial-mail, and `send_email`
//! through phial-mail's background queue.
//!
//! With `MAIL_SERVER` set, messages go to that SMTP server; without it they are written to
//! `instance/mail/` (phial-mail's `file` transport), so a development app mails nobody.

use phial::mail::{Attachment, Mail, MailError, Message};

/// Settings for `[mail]` from the original's variables, with the original's meaning
/// (`config.py`): `MAIL_SERVER` (set: SMTP to it), `MAIL_PORT` (`int(value or 25)`),
/// `MAIL_USE_TLS` (STARTTLS when the variable exists, whatever its value), `MAIL_USERNAME`,
/// `MAIL_PASSWORD`. A `MAIL_PORT` that is not a port is passed on as text, so the build fails
/// naming `mail.port`.
pub fn settings(env: &[(String, String)]) -> Vec<(&'static str, figment::value::Value)> {
    let var = |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let mut settings: Vec<(&'static str, figment::value::Value)> = Vec::new();
    if let Some(server) = var("MAIL_SERVER").filter(|server| !server.is_empty()) {
        settings.push(("mail.transport", "smtp".into()));
        settings.push(("mail.server", server.into()));
        let port = var("MAIL_PORT").filter(|port| !port.is_empty()).unwrap_or("25");
        settings.push(("mail.port", port.trim().parse::<u16>().map_or_else(|_| port.into(), Into::into)));
        if var("MAIL_USE_TLS").is_some() {
            settings.push(("mail.use_tls", true.into()));
        }
        if let Some(username) = var("MAIL_USERNAME").filter(|value| !value.is_empty()) {
            settings.push(("mail.username", username.into()));
        }
        if let Some(password) = var("MAIL_PASSWORD").filter(|value| !value.is_empty()) {
            settings.push(("mail.password", password.into()));
        }
    }
    settings
}

/// One message of the app, as `send_email(subject, sender, recipients, text_body, html_body,
/// attachments)` takes it.
#[derive(Debug)]
pub struct Email<'a> {
    /// The subject.
    pub subject: &'a str,
    /// The sender (`ADMINS[0]`).
    pub sender: &'a str,
    /// The recipients.
    pub recipients: &'a [&'a str],
    /// The plain-text body.
    pub text_body: String,
    /// The HTML body.
    pub html_body: String,
    /// Attachments: file name, content type, data.
    pub attachments: Vec<(&'a str, &'a str, Vec<u8>)>,
}

/// `send_email(...)`: hands the message to phial-mail's background queue, which retries
/// transient failures (the original starts a thread per message instead).
///
/// # Errors
///
/// A message phial-mail refuses (a bad address, a header injection) or a closed queue.
pub async fn send_email(mail: &Mail, email: Email<'_>) -> Result<(), MailError> {
    let mut message = Message::new(email.subject)
        .sender(email.sender)
        .recipients(email.recipients.iter().copied())
        .body(email.text_body)
        .html(email.html_body);
    for (name, content_type, data) in email.attachments {
        message = message.attach(Attachment::new(name, data).with_content_type(content_type));
    }
    mail.enqueue(message).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn mail_variables_mean_what_they_mean_in_the_original() {
        assert!(settings(&env(&[("MAIL_PORT", "587")])).is_empty(), "no MAIL_SERVER: the folder");
        let set = settings(&env(&[("MAIL_SERVER", "smtp.example.com"), ("MAIL_USE_TLS", "0"), ("MAIL_PORT", "")]));
        let keys: Vec<&str> = set.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, ["mail.transport", "mail.server", "mail.port", "mail.use_tls"]);
        assert_eq!(set[2].1, figment::value::Value::from(25_u16));
        assert_eq!(set[3].1, figment::value::Value::from(true), "MAIL_USE_TLS is set: TLS");
    }
}
