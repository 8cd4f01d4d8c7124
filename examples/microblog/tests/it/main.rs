//! The microblog end to end, in process over `TestClient`, on SQLite: each test gets a fresh
//! database file migrated at startup, as `cargo run -p microblog` does.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod api;
mod auth;
mod backends;
mod binary;
mod browser;
mod cache;
mod cli;
mod i18n;
mod limits;
mod logging;
mod messages;
mod original;
mod pages;
mod reset;
mod schema;
mod search;
mod smtp;
mod tasks;
mod translate;

use phial::Profile;
use phial::RunningApp;
use phial::axum::http::{HeaderValue, StatusCode, header};
use phial::sql::{Databases, Db};
use phial::testing::{TestClient, TestResponse};

/// What Firefox sends.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A started app on its own SQLite file, and its client.
pub(crate) struct Site {
    /// The started app.
    pub(crate) app: RunningApp,
    /// A client with its own cookie jar.
    pub(crate) client: TestClient,
    /// What must outlive the app: its temporary folder or database.
    _keep: Box<dyn std::any::Any + Send>,
}

impl Site {
    /// A fresh site with an empty, migrated database.
    pub(crate) async fn new() -> Self {
        Self::with(&[]).await
    }

    /// A fresh site with these extra environment variables.
    pub(crate) async fn with(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("app.db").display());
        Self::at_with(&url, extra, Box::new(dir)).await
    }

    /// A site on the database `dir/app.db`, which may already exist.
    pub(crate) async fn on(dir: tempfile::TempDir) -> Self {
        let url = format!("sqlite:///{}", dir.path().join("app.db").display());
        Self::at(&url, Box::new(dir)).await
    }

    /// A site on the database at `url`, keeping `keep` (what owns the database) alive.
    pub(crate) async fn at(url: &str, keep: Box<dyn std::any::Any + Send>) -> Self {
        Self::at_with(url, &[], keep).await
    }

    /// As [`Site::at`], with extra environment variables.
    pub(crate) async fn at_with(url: &str, extra: &[(&str, &str)], keep: Box<dyn std::any::Any + Send>) -> Self {
        let env = test_env(url, extra);
        let app = microblog::app(env).profile(Profile::Testing).build().unwrap().start().await.unwrap();
        // A browser: it asks for HTML. (Without `Accept`, phial answers 401s and errors with
        // JSON, as the original's error pages do for 404 and 500.)
        let browser = phial::tower::ServiceBuilder::new()
            .map_request(|mut request: phial::axum::extract::Request| {
                request.headers_mut().entry(header::ACCEPT).or_insert(HeaderValue::from_static(BROWSER_ACCEPT));
                request
            })
            .service(app.service());
        let client = TestClient::from_service(browser);
        Self { app, client, _keep: keep }
    }

    /// The app's mail handle.
    pub(crate) fn mail(&self) -> phial::mail::Mail {
        self.app.state().get::<phial::mail::Mail>().unwrap().clone()
    }

    /// The app's database.
    pub(crate) fn db(&self) -> Db {
        self.app.state().get::<Databases>().unwrap().default_db().clone()
    }

    /// Registers `username` (`<username>@example.com`, password `cat`) through the form.
    pub(crate) async fn register(&self, username: &str) {
        let client = self.client.new_session();
        let token = csrf_token(&client, "/auth/register").await;
        let email = format!("{username}@example.com");
        let response = client
            .post("/auth/register")
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", username),
                ("email", &email),
                ("password", "cat"),
                ("password2", "cat"),
                ("submit", "Register"),
            ])
            .send()
            .await;
        assert_eq!(response.location(), Some("/auth/login"), "{}", response.text());
    }

    /// Logs `client` in as `username` with password `cat`.
    pub(crate) async fn login(&self, client: &TestClient, username: &str) {
        let response = login_with(client, username, "cat", "").await;
        assert_eq!(response.status(), StatusCode::FOUND, "{}", response.text());
        assert_eq!(response.location(), Some("/index"));
    }
}

/// The environment of a test app on the database at `url`, plus `extra` variables.
pub(crate) fn test_env(url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("SECRET_KEY", "test-secret-key"),
        ("DATABASE_URL", url),
        // Cheap argon2id: these tests are about flows, not hash strength.
        ("PHIAL_LOGIN__PASSWORD__MEMORY_KIB", "64"),
        ("PHIAL_LOGIN__PASSWORD__ITERATIONS", "1"),
    ];
    env.extend_from_slice(extra);
    env.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Submits the login form with `query` after `/auth/login`.
pub(crate) async fn login_with(client: &TestClient, username: &str, password: &str, query: &str) -> TestResponse {
    let token = csrf_token(client, "/auth/login").await;
    client
        .post(format!("/auth/login{query}"))
        .form(&[("csrf_token", token.as_str()), ("username", username), ("password", password), ("submit", "Sign In")])
        .send()
        .await
}

/// The CSRF token of the form on `path`.
pub(crate) async fn csrf_token(client: &TestClient, path: &str) -> String {
    let response = client.get(path).send().await;
    let html = response.html();
    let marker = r#"name="csrf_token" type="hidden" value=""#;
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF token on {path}: {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The flash messages on the page a redirect leads to.
pub(crate) async fn follow_flash(client: &TestClient, response: &TestResponse) -> String {
    let location = response.location().unwrap_or_else(|| panic!("not a redirect: {}", response.text())).to_owned();
    client.get(location).send().await.html().to_owned()
}

/// Waits (up to 20 s) until `done` holds; whether it did.
pub(crate) async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if done().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The decoded body of the first MIME part of type `content_type` in a raw message.
pub(crate) fn mime_part(raw: &str, content_type: &str) -> Option<String> {
    use base64::Engine as _;
    let start = raw.find(&format!("Content-Type: {content_type}"))?;
    let rest = &raw[start..];
    let header_end = rest.find("\r\n\r\n")?;
    let headers = &rest[..header_end];
    let body = &rest[header_end + 4..];
    let body = &body[..body.find("\r\n--").unwrap_or(body.len())];
    let encoding = headers
        .lines()
        .find_map(|line| line.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(compact).ok()?).ok()
        }
        "quoted-printable" => Some(quoted_printable(body)),
        _ => Some(body.to_owned()),
    }
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(byte) = joined.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
