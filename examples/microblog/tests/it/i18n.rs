//! Spanish for clients that ask for it with `Accept-Language`.

use phial::axum::http::StatusCode;

use crate::{Site, csrf_token, follow_flash};

#[tokio::test]
async fn accept_language_es_gets_spanish_pages_flashes_and_form_messages() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    let page = client.get("/auth/login").header("Accept-Language", "es-ES,es;q=0.9").send().await;
    let html = page.html();
    assert!(html.contains(r#"<html lang="es">"#), "{html}");
    assert!(html.contains("<title>Ingresar - Microblog</title>") && html.contains("Nombre de usuario"), "{html}");
    assert!(html.contains(r#"value="Ingresar""#), "{html}");

    let token = csrf_token(client, "/auth/login").await;
    let response = client
        .post("/auth/login")
        .header("Accept-Language", "es")
        .form(&[("csrf_token", token.as_str()), ("username", ""), ("password", "x")])
        .send()
        .await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("Este campo es obligatorio."), "{}", response.html());

    let response = client
        .post("/auth/login")
        .header("Accept-Language", "es")
        .form(&[("csrf_token", token.as_str()), ("username", "susan"), ("password", "dog")])
        .send()
        .await;
    let location = response.location().unwrap().to_owned();
    let html = client.get(location).header("Accept-Language", "es").send().await.html().to_owned();
    assert!(html.contains("Nombre de usuario o contraseña inválidos"), "{html}");

    site.login(client, "susan").await;
    let index = client.get("/index").header("Accept-Language", "es").send().await;
    assert!(index.html().contains("¡Hola, susan!"), "{}", index.html());
    // English stays the default.
    let index = client.get("/index").send().await;
    assert!(index.html().contains("Hi, susan!") && index.html().contains(r#"<html lang="en">"#));
    let token = csrf_token(client, "/index").await;
    let response = client
        .post("/follow/susan")
        .header("Accept-Language", "es")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await;
    assert!(follow_flash(client, &response).await.contains("¡No te puedes seguir a ti mismo!"));
}
