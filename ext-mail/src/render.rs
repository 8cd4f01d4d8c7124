//! Message bodies from templates (feature `templates`): [`Renderer`] and
//! [`Message::render_body`] / [`Message::render_html`].

use phial_core::{Template, Templates};
use serde::Serialize;

use crate::error::{MailError, error_chain};
use crate::message::Message;

/// What renders a body: the request's [`Template`] extractor (so the template sees what a
/// page would: `url_for`, flashes, the request's `TemplateVars` such as `current_user`) or the
/// app's [`Templates`] where there is no request (a background job). Autoescaping follows the
/// template's name: on for `.html`, off for `.txt`.
///
/// # Examples
///
/// ```
/// use phial_core::Templates;
/// use phial_mail::Renderer;
///
/// fn welcome_text(templates: &Templates) -> Result<String, phial_mail::MailError> {
///     templates.render_mail("mail/welcome.txt", phial_core::minijinja::context! { name => "Ada" })
/// }
/// ```
pub trait Renderer {
    /// Renders template `name` with `context`.
    ///
    /// # Errors
    ///
    /// [`MailError::Template`] with the template error.
    fn render_mail(&self, name: &str, context: impl Serialize) -> Result<String, MailError>;
}

impl Renderer for Template {
    fn render_mail(&self, name: &str, context: impl Serialize) -> Result<String, MailError> {
        self.render_text(name, context).map_err(|err| {
            let detail = err.source().map_or_else(|| err.to_string(), |source| error_chain(source));
            MailError::Template(format!("{name}: {detail}"))
        })
    }
}

impl Renderer for Templates {
    fn render_mail(&self, name: &str, context: impl Serialize) -> Result<String, MailError> {
        self.render(name, context).map_err(|err| MailError::Template(format!("{name}: {}", error_chain(&err))))
    }
}

impl Message {
    /// Sets the plain-text body from template `name` (Flask-Mail's
    /// `msg.body = render_template(...)`).
    ///
    /// # Errors
    ///
    /// [`MailError::Template`] when the template fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Template;
    /// use phial_mail::{MailError, Message};
    ///
    /// fn welcome(template: &Template, name: &str) -> Result<Message, MailError> {
    ///     let context = phial_core::minijinja::context! { name };
    ///     Message::new("Welcome")
    ///         .render_body(template, "mail/welcome.txt", &context)?
    ///         .render_html(template, "mail/welcome.html", &context)
    /// }
    /// ```
    pub fn render_body(self, renderer: &impl Renderer, name: &str, context: impl Serialize) -> Result<Self, MailError> {
        Ok(self.body(renderer.render_mail(name, context)?))
    }

    /// Sets the HTML body from template `name` (autoescaped when the name ends in `.html`).
    ///
    /// # Errors
    ///
    /// [`MailError::Template`] when the template fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Templates;
    /// use phial_mail::{MailError, Message};
    ///
    /// fn digest(templates: &Templates) -> Result<Message, MailError> {
    ///     Message::new("Digest").render_html(templates, "mail/digest.html", phial_core::minijinja::context! {})
    /// }
    /// ```
    pub fn render_html(self, renderer: &impl Renderer, name: &str, context: impl Serialize) -> Result<Self, MailError> {
        Ok(self.html(renderer.render_mail(name, context)?))
    }
}
