//! The microblog in headless Chromium: the built binary on a TCP port, two browsers driven
//! through chromedriver in the W3C protocol for browser automation (JSON over HTTP, spoken with
//! `reqwest`). Two users register, log in, post, follow, translate a post through the page's
//! "Translate" link (against a stand-in for Microsoft Translator on a local port), send a
//! private message, watch the unread badge change through the page's own polling, and log out.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them; other paths through
//! `PHIAL_TEST_CHROMIUM` and `PHIAL_TEST_CHROMEDRIVER`). Without them the test is skipped with a
//! notice, unless `PHIAL_TEST_REQUIRE_SERVICES=1`. On failure, each browser's screenshot and page
//! source, the server's log and chromedriver's are saved under the target dir and named in the
//! panic message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Any one call to the driver (a page load is bounded below that by the session's own timeout).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Waiting for what a page shows after a click: a flash, a heading.
const PAGE_WAIT: Duration = Duration::from_secs(15);
/// Waiting for the notifications polling, which asks every 10 seconds.
const POLL_WAIT: Duration = Duration::from_secs(25);
/// The whole browser scenario, after the processes started.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(150);
/// The key of an element reference in the driver's answers (W3C "web element identifier").
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What a failed step says.
type Step<T> = Result<T, String>;

/// A child process, killed when the test ends however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromium and chromedriver, or why the test cannot run.
fn browser_paths() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("PHIAL_TEST_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    let driver =
        std::env::var_os("PHIAL_TEST_CHROMEDRIVER").map_or_else(|| "/usr/bin/chromedriver".into(), PathBuf::from);
    for path in [&chromium, &driver] {
        if !path.is_file() {
            return Err(format!("{} is missing (Debian: apt-get install chromium chromium-driver)", path.display()));
        }
    }
    Ok((chromium, driver))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits (up to 30 s) until `url` answers 2xx.
async fn wait_until_serving(http: &reqwest::Client, url: &str, what: &str) {
    let started = Instant::now();
    loop {
        if let Ok(response) = http.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{what} did not start serving at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The key the stand-in translator expects.
const TRANSLATOR_KEY: &str = "browser-test-key";
/// A post in Spanish, which an English reader gets a "Translate" link for.
const SPANISH_POST: &str = "Me voy de vacaciones la semana que viene";

/// A stand-in for Microsoft Translator on a local port: with the right key, `[{"Text": t}]`
/// becomes `translated from <from> to <to>: <t>`; its URL.
async fn start_translator() -> String {
    use phial::axum::extract::Query;
    use phial::axum::http::{HeaderMap, StatusCode};
    use phial::axum::response::IntoResponse;

    async fn translate(
        Query(query): Query<std::collections::HashMap<String, String>>,
        headers: HeaderMap,
        phial::axum::Json(body): phial::axum::Json<Value>,
    ) -> phial::axum::response::Response {
        if headers.get("ocp-apim-subscription-key").is_none_or(|key| key != TRANSLATOR_KEY) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let field = |name: &str| query.get(name).map_or("?", String::as_str).to_owned();
        let text = format!(
            "translated from {} to {}: {}",
            field("from"),
            field("to"),
            body[0]["Text"].as_str().unwrap_or("?")
        );
        phial::axum::Json(json!([{"translations": [{"text": text, "to": field("to")}]}])).into_response()
    }

    let router = phial::axum::Router::new().route("/translate", phial::axum::routing::post(translate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/translate", listener.local_addr().unwrap());
    tokio::spawn(async move { phial::axum::serve(listener, router).await.unwrap() });
    url
}

/// The built binary on its own SQLite file in `dir`, its log in `dir/server.log`, translating
/// through `translator`.
async fn start_microblog(dir: &Path, http: &reqwest::Client, translator: &str) -> (Process, String) {
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_microblog"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("SECRET_KEY", "browser-test-secret")
        .env("DATABASE_URL", format!("sqlite:///{}", dir.join("app.db").display()))
        // Cheap argon2id: this test is about the pages, not hash strength.
        .env("PHIAL_LOGIN__PASSWORD__MEMORY_KIB", "64")
        .env("PHIAL_LOGIN__PASSWORD__ITERATIONS", "1")
        .env("MS_TRANSLATOR_KEY", TRANSLATOR_KEY)
        .env("PHIAL_MICROBLOG__TRANSLATOR_URL", translator)
        .env_remove("PHIAL_PROFILE")
        .env_remove("REDIS_URL")
        .env_remove("MAIL_SERVER")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let server = Process(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_until_serving(http, &format!("{base}/healthz"), "microblog").await;
    (server, base)
}

/// chromedriver on a free port, its log in `dir/chromedriver.log`.
async fn start_chromedriver(driver: &Path, dir: &Path, http: &reqwest::Client) -> (Process, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", dir.join("chromedriver.log").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = Process(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_until_serving(http, &format!("{base}/status"), "chromedriver").await;
    (process, base)
}

/// One browser: a driver session of its own, with its own profile and cookies.
struct Browser {
    /// Who uses it, for messages and file names.
    name: &'static str,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    /// The microblog's base URL.
    site: String,
    /// The user-data dir, removed after the session.
    _profile: tempfile::TempDir,
}

/// Sends one command to the driver; its `value`, or the driver's error.
async fn command(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<&Value>) -> Step<Value> {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.header("Content-Type", "application/json").body(body.to_string());
    }
    let response = request.send().await.map_err(|error| format!("{method} {url}: {error}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|error| format!("{method} {url}: {error}"))?;
    let mut answer: Value =
        serde_json::from_str(&text).map_err(|error| format!("{method} {url}: {error} in {text:.500}"))?;
    if !status.is_success() {
        return Err(format!("{method} {url}: {status}: {} {}", answer["value"]["error"], answer["value"]["message"]));
    }
    Ok(answer["value"].take())
}

impl Browser {
    /// A new headless Chromium session on `driver` for the site at `site`.
    async fn open(name: &'static str, chromium: &Path, driver: &str, site: &str, http: &reqwest::Client) -> Step<Self> {
        let profile = tempfile::tempdir().map_err(|error| error.to_string())?;
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,1024".to_owned(),
            // The page's Bootstrap and the Gravatar avatars come from the internet: fail them at
            // once, so that the test neither needs nor waits for the network.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"pageLoad": 20_000, "script": 10_000, "implicit": 0},
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let created = command(http, reqwest::Method::POST, &format!("{driver}/session"), Some(&capabilities)).await?;
        let id = created["sessionId"].as_str().ok_or_else(|| format!("no session id in {created}"))?;
        Ok(Self {
            name,
            http: http.clone(),
            session: format!("{driver}/session/{id}"),
            site: site.to_owned(),
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Step<Value> {
        command(&self.http, method, &format!("{}{path}", self.session), body.as_ref())
            .await
            .map_err(|error| format!("{}: {error}", self.name))
    }

    /// Loads `path` of the site (waiting for the page's load event).
    async fn goto(&self, path: &str) -> Step<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": format!("{}{path}", self.site)}))).await?;
        Ok(())
    }

    /// The path and query of the current page.
    async fn path(&self) -> Step<String> {
        let url = self.call(reqwest::Method::GET, "/url", None).await?;
        let url = url.as_str().unwrap_or_default();
        Ok(url.strip_prefix(&self.site).unwrap_or(url).to_owned())
    }

    /// The first element matching `css`, now.
    async fn find(&self, css: &str) -> Step<String> {
        let body = json!({"using": "css selector", "value": css});
        let element = self.call(reqwest::Method::POST, "/element", Some(body)).await?;
        element[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: no element in {element}", self.name))
    }

    /// The rendered text of the first element matching `css` (empty when it is hidden).
    async fn text(&self, css: &str) -> Step<String> {
        let element = self.find(css).await?;
        let text = self.call(reqwest::Method::GET, &format!("/element/{element}/text"), None).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Waits up to `timeout` until the text of `css` satisfies `accept`; the last text seen.
    async fn wait_for_text(&self, css: &str, timeout: Duration, accept: impl Fn(&str) -> bool) -> Step<String> {
        let deadline = Instant::now() + timeout;
        loop {
            // A click's navigation may still be under way: the element may be missing or stale.
            let seen = self.text(css).await;
            if let Ok(text) = &seen
                && accept(text)
            {
                return Ok(text.clone());
            }
            if Instant::now() > deadline {
                let path = self.path().await.unwrap_or_default();
                return Err(format!("{}: after {timeout:?} on {path}, `{css}` shows {seen:?}", self.name));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of `css` contains `needle`.
    async fn wait_for(&self, css: &str, needle: &str) -> Step<String> {
        self.wait_for_text(css, PAGE_WAIT, |text| text.contains(needle))
            .await
            .map_err(|error| format!("{error}, expected it to contain {needle:?}"))
    }

    /// Types `text` into the field matching `css`.
    async fn type_into(&self, css: &str, text: &str) -> Step<()> {
        let element = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await?;
        Ok(())
    }

    /// Clicks the element matching `css`.
    async fn click(&self, css: &str) -> Step<()> {
        let element = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await?;
        Ok(())
    }

    /// Runs `script` in the page; what it returns.
    async fn execute(&self, script: &str) -> Step<Value> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Saves a screenshot and the page source in `dir`; the files written, or why not.
    async fn save_evidence(&self, dir: &Path) -> Vec<String> {
        use base64::Engine as _;
        let mut saved = Vec::new();
        let png = dir.join(format!("{}.png", self.name));
        let screenshot = self.call(reqwest::Method::GET, "/screenshot", None).await.and_then(|value| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.as_str().unwrap_or_default())
                .map_err(|error| error.to_string())?;
            std::fs::write(&png, bytes).map_err(|error| error.to_string())
        });
        saved.push(screenshot.map_or_else(|error| format!("no screenshot: {error}"), |()| png.display().to_string()));
        let html = dir.join(format!("{}.html", self.name));
        let source = self.call(reqwest::Method::GET, "/source", None).await.and_then(|value| {
            std::fs::write(&html, value.as_str().unwrap_or_default()).map_err(|error| error.to_string())
        });
        saved.push(source.map_or_else(|error| format!("no page source: {error}"), |()| html.display().to_string()));
        saved
    }

    /// Ends the session (closing the browser).
    async fn quit(&self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
    }
}

/// Registers `username` (password `cat`) through the form, as someone logged out.
async fn register(browser: &Browser, username: &str) -> Step<()> {
    browser.goto("/auth/register").await?;
    browser.type_into("#username", username).await?;
    browser.type_into("#email", &format!("{username}@example.com")).await?;
    browser.type_into("#password", "cat").await?;
    browser.type_into("#password2", "cat").await?;
    browser.click("#submit").await?;
    browser.wait_for(".alert-info", "Congratulations, you are now a registered user!").await?;
    expect_path(browser, "/auth/login").await
}

/// Logs in as `username` on the login page the browser shows.
async fn login(browser: &Browser, username: &str) -> Step<()> {
    browser.type_into("#username", username).await?;
    browser.type_into("#password", "cat").await?;
    browser.click("#submit").await?;
    browser.wait_for("h1", &format!("Hi, {username}!")).await?;
    expect_path(browser, "/index").await
}

/// Logs out through the navbar; the site then asks to log in again.
async fn logout(browser: &Browser) -> Step<()> {
    browser.click(r#"a[href="/auth/logout"]"#).await?;
    browser.wait_for(r#"a[href="/auth/login"]"#, "Login").await?;
    browser.goto("/index").await?;
    browser.wait_for("h1", "Sign In").await?;
    let path = browser.path().await?;
    if path.starts_with("/auth/login") {
        Ok(())
    } else {
        Err(format!("{}: after logout /index shows {path}", browser.name))
    }
}

async fn expect_path(browser: &Browser, expected: &str) -> Step<()> {
    let path = browser.path().await?;
    if path == expected { Ok(()) } else { Err(format!("{}: on {path}, expected {expected}", browser.name)) }
}

/// The scenario: susan posts in Spanish and in English; david follows her, reads her posts in
/// his feed, translates the Spanish one in place and sends her a message; susan's open page
/// shows the unread badge without a reload; both log out.
async fn scenario(susan: &Browser, david: &Browser) -> Step<()> {
    register(susan, "susan").await?;
    login(susan, "susan").await?;
    susan.type_into("#post", SPANISH_POST).await?;
    susan.click("#submit").await?;
    susan.wait_for(".alert-info", "Your post is now live!").await?;
    susan.type_into("#post", "Hello from a real browser").await?;
    susan.click("#submit").await?;
    susan.wait_for(".alert-info", "Your post is now live!").await?;
    susan.wait_for("span[id^=post]", "Hello from a real browser").await?;
    // No unread message yet: the badge is hidden. A marker in the page tells a reload apart
    // from the polling.
    susan.wait_for_text("#message_count", PAGE_WAIT, str::is_empty).await?;
    susan.execute("window.browserTestMarker = 'still here'; return null;").await?;

    register(david, "david").await?;
    login(david, "david").await?;
    david.goto("/user/susan").await?;
    david.wait_for("h1", "User: susan").await?;
    david.click(r#"input[type=submit][value="Follow"]"#).await?;
    david.wait_for(".alert-info", "You are following susan!").await?;
    david.wait_for("body", "1 followers, 0 following").await?;
    david.goto("/index").await?;
    david.wait_for("span[id^=post]", "Hello from a real browser").await?;
    // The Spanish post is post 1: its link asks /translate, whose answer replaces the link.
    david.wait_for("#translation1 a", "Translate").await?;
    david.click("#translation1 a").await?;
    david.wait_for("#translation1", &format!("translated from es to en: {SPANISH_POST}")).await?;
    david.goto("/user/susan").await?;
    david.click(r#"a[href="/send_message/susan"]"#).await?;
    david.wait_for("h1", "Send Message to susan").await?;
    david.type_into("#message", "Hi susan, read this in a browser").await?;
    david.click("#submit").await?;
    david.wait_for(".alert-info", "Your message has been sent.").await?;

    susan
        .wait_for_text("#message_count", POLL_WAIT, |text| text == "1")
        .await
        .map_err(|error| format!("the unread badge did not change to 1 through the polling: {error}"))?;
    let marker = susan.execute("return window.browserTestMarker || null;").await?;
    if marker != "still here" {
        return Err(format!("susan's page was reloaded (marker {marker}), the badge did not come from the polling"));
    }
    susan.click(r#"a[href="/messages"]"#).await?;
    susan.wait_for("h1", "Messages").await?;
    susan.wait_for("span[id^=post]", "Hi susan, read this in a browser").await?;
    susan.wait_for_text("#message_count", PAGE_WAIT, str::is_empty).await?;

    logout(susan).await?;
    logout(david).await
}

/// Where a failed run leaves its evidence: a fresh directory under the target dir.
fn evidence_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("microblog-browser-{stamp}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the screenshots, page sources and logs of a failed run; what was saved.
async fn save_failure(browsers: &[&Browser], logs: &Path) -> String {
    let dir = evidence_dir();
    let mut saved = Vec::new();
    for browser in browsers {
        saved.extend(browser.save_evidence(&dir).await);
    }
    for log in ["server.log", "chromedriver.log"] {
        if std::fs::copy(logs.join(log), dir.join(log)).is_ok() {
            saved.push(dir.join(log).display().to_string());
        }
    }
    saved.join("\n  ")
}

#[tokio::test]
async fn two_users_register_post_follow_message_see_the_badge_and_log_out_in_chromium() {
    let (chromium, driver) = match browser_paths() {
        Ok(paths) => paths,
        Err(missing) => {
            let required = std::env::var("PHIAL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(!required, "Chromium is required (PHIAL_TEST_REQUIRE_SERVICES=1): {missing}");
            eprintln!("SKIPPED: {missing}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().unwrap();
    let translator = start_translator().await;
    let (_server, site) = start_microblog(dir.path(), &http, &translator).await;
    let (_driver, driver) = start_chromedriver(&driver, dir.path(), &http).await;

    let susan = Browser::open("susan", &chromium, &driver, &site, &http).await;
    let david = Browser::open("david", &chromium, &driver, &site, &http).await;
    let (susan, david) = match (susan, david) {
        (Ok(susan), Ok(david)) => (susan, david),
        (susan, david) => {
            let log = std::fs::read_to_string(dir.path().join("chromedriver.log")).unwrap_or_default();
            panic!("no browser session: {:?} {:?}\nchromedriver.log:\n{log}", susan.err(), david.err());
        }
    };
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&susan, &david))
        .await
        .unwrap_or_else(|_| Err(format!("the scenario did not end within {SCENARIO_TIMEOUT:?}")));
    if let Err(error) = outcome {
        let saved = save_failure(&[&susan, &david], dir.path()).await;
        susan.quit().await;
        david.quit().await;
        panic!("{error}\nsaved:\n  {saved}");
    }
    susan.quit().await;
    david.quit().await;
}
