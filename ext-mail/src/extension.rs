//! [`MailExtension`]: `[mail]` and the [`Mail`] handle in a phial app.

use phial_core::prelude::*;

use crate::config::MailConfig;
use crate::mail::Mail;

/// The phial extension for mail: Flask-Mail's `Mail(app)`.
///
/// - At build it reads `[mail]` and the Flask-Mail `MAIL_*` environment variables (outside
///   the `testing` profile, below `PHIAL_MAIL__*` and builder overrides), checks them, and
///   registers the [`Mail`] handle. Sending is suppressed in the `testing` profile unless
///   `suppress_send` says otherwise, as Flask-Mail follows `app.testing`.
/// - Its health check (`/readyz`, `check`) sends SMTP `NOOP` (skipped while suppressed).
/// - At shutdown it drains the background queue (bounded by `queue.drain_timeout`) and ends
///   idle SMTP sessions.
///
/// # Examples
///
/// ```no_run
/// use phial_core::axum::routing::post;
/// use phial_core::prelude::*;
/// use phial_mail::{Mail, MailExtension, Message};
///
/// async fn invite(mail: Mail) -> Result<&'static str, HttpError> {
///     mail.send(Message::new("You are invited").to("ada@example.com").body("Come!")).await?;
///     Ok("sent")
/// }
///
/// # async fn run() -> std::process::ExitCode {
/// App::builder()
///     .extension(MailExtension::new())
///     .endpoint("invite", "/invite", post(invite))
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct MailExtension {
    #[cfg(feature = "sql")]
    outbox: bool,
}

impl MailExtension {
    /// The extension.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder().profile(Profile::Testing).extension(phial_mail::MailExtension::new()).build()?;
    /// assert_eq!(app.extension_order(), ["mail"]);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the transactional outbox (feature `sql`): at start, on the database of
    /// `mail.outbox.bind` (phial-sql's `Databases`, so the extension requires `sql`), it
    /// creates the table `mail.outbox.table` when missing, registers the
    /// [`Outbox`](crate::Outbox) handle, and runs its worker as a background task that stops
    /// at shutdown (rows left pending are sent after the next start).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder()
    ///     .profile(Profile::Testing)
    ///     .set("sql.url", "sqlite://")
    ///     .extension(phial_sql::SqlExtension::new())
    ///     .extension(phial_mail::MailExtension::new().outbox())
    ///     .build()?;
    /// assert_eq!(app.extension_order(), ["sql", "mail"]);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    #[cfg(feature = "sql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
    pub fn outbox(mut self) -> Self {
        self.outbox = true;
        self
    }
}

impl Extension for MailExtension {
    const NAME: &'static str = "mail";
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = &MailConfig::FLASK_ENV;
    type Config = MailConfig;

    fn deps(&self) -> Deps {
        #[cfg(feature = "sql")]
        if self.outbox {
            return Deps::none().requires("sql");
        }
        Deps::none()
    }

    fn build(&self, config: &MailConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        let mut config = config.clone();
        // A Flask app that names its SMTP server means to send through it; phial's default
        // transport (a folder) stays only while neither the server nor the transport is set.
        let from_defaults = |key: &str| ctx.config().source_of(key).starts_with("defaults of");
        if from_defaults("mail.transport") && !from_defaults("mail.server") {
            config.transport = crate::TransportKind::Smtp;
        }
        if config.suppress_send.is_none() {
            config.suppress_send = Some(ctx.profile() == Profile::Testing);
        }
        if ctx.profile() == Profile::Production && config.transport == crate::TransportKind::File {
            tracing::warn!(folder = %config.folder.display(), "mail.transport is \"file\" in production: mail is written to a folder, not sent");
        }
        let mail = Mail::new(config).map_err(|err| Error::config("mail", err.to_string()))?;
        tracing::info!(transport = ?mail.config().transport, suppressed = mail.is_suppressed(), "mail configured");
        ctx.state(mail);
        #[cfg(feature = "sql")]
        if self.outbox {
            ctx.promise::<crate::Outbox>();
        }
        Ok(())
    }

    #[cfg(feature = "sql")]
    async fn start(&self, config: &MailConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        if !self.outbox {
            return Ok(());
        }
        let databases = ctx.require::<phial_sql::Databases>()?;
        let db = if config.outbox.bind.is_empty() {
            databases.default_db().clone()
        } else {
            databases
                .bind(&config.outbox.bind)
                .map_err(|err| Error::config("mail.outbox.bind", err.to_string()))?
                .clone()
        };
        let mail = ctx.require::<Mail>()?.clone();
        let outbox = crate::Outbox::new(mail, db);
        outbox.create_table().await.map_err(Error::other)?;
        ctx.provide(outbox.clone());
        ctx.spawn("mail.outbox", move |stop| async move { outbox.run(stop).await });
        tracing::info!(table = %config.outbox.table, "mail outbox worker started");
        Ok(())
    }

    async fn shutdown(&self, state: &AppState) {
        if let Some(mail) = state.get::<Mail>() {
            mail.shutdown().await;
        }
    }

    async fn health(&self, state: &AppState) -> Health {
        let Some(mail) = state.get::<Mail>() else { return Health::unhealthy("no mail handle") };
        if mail.is_suppressed() {
            return Health::Healthy;
        }
        match mail.ping().await {
            Ok(()) => Health::Healthy,
            Err(err) => Health::unhealthy(err.to_string()),
        }
    }
}
