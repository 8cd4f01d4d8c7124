//! Bodies rendered from the app's templates with the request's context (feature `templates`).

use phial_core::axum::extract::Request;
use phial_core::axum::middleware::{self, Next};
use phial_core::axum::response::Response;
use phial_core::axum::routing::post;
use phial_core::prelude::*;
use phial_core::templates::TemplateVars;
use phial_mail::{Mail, MailError, MailExtension, Message};

async fn welcome(mail: Mail, template: Template, name: String) -> Result<&'static str, HttpError> {
    let context = phial_core::minijinja::context! { name };
    let message = Message::new("Welcome")
        .to("ada@example.com")
        .render_body(&template, "mail/welcome.txt", &context)?
        .render_html(&template, "mail/welcome.html", &context)?;
    mail.send(message).await?;
    Ok("sent")
}

/// A context processor: every template of the request sees `site`.
async fn site_name(mut request: Request, next: Next) -> Response {
    request.extensions_mut().get_or_insert_default::<TemplateVars>().insert("site", "Microblog");
    next.run(request).await
}

#[tokio::test]
async fn bodies_render_from_templates_with_the_request_context() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();
    std::fs::write(dir.path().join("mail/welcome.txt"), "Hello {{ name }}, welcome to {{ site }}!").unwrap();
    std::fs::write(dir.path().join("mail/welcome.html"), "<p>Hello <b>{{ name }}</b> from {{ site }}</p>").unwrap();
    let app = App::builder()
        .profile(Profile::Testing)
        .set("app.template_folder", dir.path().to_str().unwrap())
        .set("mail.default_sender", "app@example.com")
        .extension(MailExtension::new())
        .endpoint("welcome", "/welcome", post(welcome))
        .layer(Stage::Inner, "site", middleware::from_fn(site_name))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let outbox = app.state().require::<Mail>().record_messages();
    let response = app.test_client().post("/welcome").body("<Ada>").send().await;
    assert_eq!(response.status(), 200, "{}", response.text());

    let text = outbox.emails()[0].as_text();
    assert!(text.contains("Hello <Ada>, welcome to Microblog!"), "text is not escaped: {text}");
    assert!(text.contains("<p>Hello <b>&lt;Ada&gt;</b> from Microblog</p>"), "html is escaped: {text}");

    let templates = app.state().require::<Templates>();
    let err = Message::new("x").render_body(templates, "mail/missing.txt", ()).unwrap_err();
    assert!(matches!(err, MailError::Template(ref detail) if detail.contains("missing.txt")), "{err:?}");
}
