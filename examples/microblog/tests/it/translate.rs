//! `/translate` against a stand-in for Microsoft Translator on a local port, and the language
//! detected for new posts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use phial::axum::Router;
use phial::axum::body::Bytes;
use phial::axum::extract::State;
use phial::axum::http::{HeaderMap, StatusCode, Uri};
use phial::axum::response::IntoResponse;
use phial::axum::routing::post;
use serde_json::{Value, json};

use crate::{Site, csrf_token};

/// What the stand-in received: path and query, headers, body.
type Seen = Arc<Mutex<Vec<(Uri, HeaderMap, Bytes)>>>;

/// Serves `answer` (status, body) at `POST /translator/translate` on a local port, recording
/// each request; its base URL and the record.
async fn stand_in(status: StatusCode, answer: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/translator/translate",
            post(move |State(seen): State<Seen>, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                seen.lock().unwrap().push((uri, headers, body));
                (status, [("content-type", "application/json; charset=utf-8")], answer).into_response()
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { phial::axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}/translator/translate"), seen)
}

/// A site whose translator is at `url` with key `test-key`, and a client logged in as susan.
async fn site_with_translator(url: &str, extra: &[(&str, &str)]) -> Site {
    let mut env = vec![("MS_TRANSLATOR_KEY", "test-key"), ("PHIAL_MICROBLOG__TRANSLATOR_URL", url)];
    env.extend_from_slice(extra);
    let site = Site::with(&env).await;
    site.register("susan").await;
    site.login(&site.client, "susan").await;
    site
}

/// `POST /translate` as the page's script sends it; the answer's `text`.
async fn translate(site: &Site, text: &str, from: &str, to: &str) -> Value {
    let body = json!({"text": text, "source_language": from, "dest_language": to});
    let response = site.client.post("/translate").json(&body).send().await;
    response.assert_status(StatusCode::OK);
    response.json_value()
}

#[tokio::test]
async fn translate_posts_the_text_with_key_and_region_and_answers_the_translation() {
    let (url, seen) =
        stand_in(StatusCode::OK, r#"[{"translations":[{"text":"Hello, how are you?","to":"en"}]}]"#).await;
    let site = site_with_translator(&url, &[]).await;

    let answer = translate(&site, "Hola, ¿cómo estás?", "es", "en").await;
    assert_eq!(answer, json!({"text": "Hello, how are you?"}));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one call");
    let (uri, headers, body) = &seen[0];
    assert_eq!(uri.path(), "/translator/translate");
    let mut query: Vec<&str> = uri.query().unwrap().split('&').collect();
    query.sort_unstable();
    assert_eq!(query, ["api-version=3.0", "from=es", "to=en"]);
    assert_eq!(headers["ocp-apim-subscription-key"], "test-key");
    assert_eq!(headers["ocp-apim-subscription-region"], "westus");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body, json!([{"Text": "Hola, ¿cómo estás?"}]));
}

#[tokio::test]
async fn the_region_is_a_setting() {
    let (url, seen) = stand_in(StatusCode::OK, r#"[{"translations":[{"text":"Bonjour","to":"fr"}]}]"#).await;
    let site = site_with_translator(&url, &[("PHIAL_MICROBLOG__TRANSLATOR_REGION", "northeurope")]).await;
    assert_eq!(translate(&site, "Hello", "en", "fr").await, json!({"text": "Bonjour"}));
    assert_eq!(seen.lock().unwrap()[0].1["ocp-apim-subscription-region"], "northeurope");
}

#[tokio::test]
async fn a_translator_error_status_answers_the_failure_text() {
    let (url, seen) = stand_in(StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":{"code":500000}}"#).await;
    let site = site_with_translator(&url, &[]).await;
    assert_eq!(translate(&site, "hola", "es", "en").await, json!({"text": "Error: the translation service failed."}));
    assert_eq!(seen.lock().unwrap().len(), 1);
    // In the reader's language, as the original's `_()`.
    let body = json!({"text": "hello", "source_language": "en", "dest_language": "es"});
    let response = site.client.post("/translate").header("Accept-Language", "es").json(&body).send().await;
    assert_eq!(response.json_value(), json!({"text": "Error: el servicio de traducciones ha fallado."}));
}

#[tokio::test]
async fn an_answer_without_a_translation_answers_the_failure_text() {
    let (url, _seen) = stand_in(StatusCode::OK, r#"{"unexpected": true}"#).await;
    let site = site_with_translator(&url, &[]).await;
    assert_eq!(translate(&site, "hola", "es", "en").await, json!({"text": "Error: the translation service failed."}));
    let (url, _seen) = stand_in(StatusCode::OK, "not json").await;
    let site = site_with_translator(&url, &[]).await;
    assert_eq!(translate(&site, "hola", "es", "en").await, json!({"text": "Error: the translation service failed."}));
}

#[tokio::test]
async fn an_unreachable_translator_answers_the_failure_text() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/translate", listener.local_addr().unwrap());
    drop(listener);
    let site = site_with_translator(&url, &[]).await;
    assert_eq!(translate(&site, "hola", "es", "en").await, json!({"text": "Error: the translation service failed."}));
}

#[tokio::test]
async fn a_translator_that_never_answers_is_the_failure_text_after_the_timeout() {
    // Accepts connections and reads nothing, answers nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/translate", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let site = site_with_translator(&url, &[("PHIAL_MICROBLOG__TRANSLATOR_TIMEOUT", "0.5")]).await;
    // A hang would fail here instead of holding the test run.
    let answer = tokio::time::timeout(Duration::from_mins(1), translate(&site, "hola", "es", "en")).await;
    assert_eq!(answer.expect("/translate returned"), json!({"text": "Error: the translation service failed."}));
}

#[tokio::test]
async fn an_empty_key_is_not_configured_and_calls_nothing() {
    let (url, seen) = stand_in(StatusCode::OK, r#"[{"translations":[{"text":"x","to":"en"}]}]"#).await;
    let site = Site::with(&[("MS_TRANSLATOR_KEY", ""), ("PHIAL_MICROBLOG__TRANSLATOR_URL", url.as_str())]).await;
    site.register("susan").await;
    site.login(&site.client, "susan").await;
    let answer = translate(&site, "hola", "es", "en").await;
    assert_eq!(answer, json!({"text": "Error: the translation service is not configured."}));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_translator_url_or_timeout_stops_the_app_at_startup() {
    for (key, value) in [("PHIAL_MICROBLOG__TRANSLATOR_URL", "not a url"), ("PHIAL_MICROBLOG__TRANSLATOR_TIMEOUT", "0")]
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("app.db").display());
        let env = crate::test_env(&url, &[(key, value)]);
        let Err(error) = microblog::app(env).profile(phial::Profile::Testing).build() else {
            panic!("{key}={value} was accepted");
        };
        let field = key.trim_start_matches("PHIAL_MICROBLOG__").to_ascii_lowercase();
        assert!(error.to_string().contains(&field), "{key}={value}: {error}");
    }
}

/// Submits a post as the logged-in `client`.
async fn write_post(client: &phial::testing::TestClient, text: &str) {
    let token = csrf_token(client, "/index").await;
    let response = client.post("/index").form(&[("csrf_token", token.as_str()), ("post", text)]).send().await;
    assert_eq!(response.location(), Some("/index"), "{}", response.text());
}

const ENGLISH: &str = "This new phone is great but the battery is terrible";
const SPANISH: &str = "Me voy de vacaciones la semana que viene";

#[tokio::test]
async fn new_posts_store_the_detected_language() {
    let site = Site::new().await;
    site.register("john").await;
    let john = &site.client;
    site.login(john, "john").await;
    for text in [ENGLISH, SPANISH, "ok", "asdf qwer zxcv", "1234 !!!"] {
        write_post(john, text).await;
    }
    let pool = site.db().sqlite_pool().unwrap().clone();
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT body, language FROM post ORDER BY id").fetch_all(&pool).await.unwrap();
    let expected = [(ENGLISH, "en"), (SPANISH, "es"), ("ok", ""), ("asdf qwer zxcv", ""), ("1234 !!!", "")];
    let expected: Vec<(String, Option<String>)> =
        expected.iter().map(|(body, language)| ((*body).to_owned(), Some((*language).to_owned()))).collect();
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn posts_in_another_language_than_the_readers_have_a_translate_link() {
    let site = Site::new().await;
    site.register("john").await;
    let john = &site.client;
    site.login(john, "john").await;
    write_post(john, ENGLISH).await;
    write_post(john, SPANISH).await;
    write_post(john, "ok").await;
    let link = |id: u32, from: &str, to: &str| {
        format!("javascript:translate('post{id}', 'translation{id}', '{from}', '{to}');")
    };

    // English reader: the Spanish post (id 2) only.
    let html = john.get("/explore").send().await.html().to_owned();
    assert!(html.contains(&link(2, "es", "en")), "{html}");
    assert_eq!(html.matches("javascript:translate(").count(), 1, "{html}");
    assert!(html.contains(">Translate</a>"), "{html}");

    // Spanish reader: the English post (id 1) only, the link in Spanish.
    let html = john.get("/index").header("Accept-Language", "es").send().await.html().to_owned();
    assert!(html.contains(&link(1, "en", "es")), "{html}");
    assert_eq!(html.matches("javascript:translate(").count(), 1, "{html}");
    assert!(html.contains(">Traducir</a>"), "{html}");
    // The script the link calls posts to /translate.
    assert!(html.contains("async function translate(") && html.contains("fetch('/translate'"), "{html}");
}
