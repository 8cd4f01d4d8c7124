//! The built `microblog` binary over real HTTP: `.env` in the working directory, migrations at
//! startup, pages and the API on a TCP port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server process, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_pages_and_the_api_with_settings_from_dotenv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET_KEY='from .env'\nDATABASE_URL=sqlite:///dotenv.db\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_microblog"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("SECRET_KEY")
        .env_remove("PHIAL_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let started = Instant::now();
    loop {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the binary did not start serving");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dir.path().join("instance/dotenv.db").is_file(), "DATABASE_URL from .env, in the instance folder");

    let login = http.get(format!("{base}/auth/login")).header("Accept", "text/html").send().await.unwrap();
    assert_eq!(login.status().as_u16(), 200);
    assert!(login.text().await.unwrap().contains(r#"name="csrf_token""#));
    let index = http.get(format!("{base}/index")).header("Accept", "text/html").send().await.unwrap();
    assert_eq!(index.status().as_u16(), 302);
    assert_eq!(index.headers()["location"], "/auth/login?next=/index");

    let created = http
        .post(format!("{base}/api/users"))
        .header("Content-Type", "application/json")
        .body(r#"{"username": "ada", "email": "ada@example.com", "password": "engine"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let token = http.post(format!("{base}/api/tokens")).basic_auth("ada", Some("engine")).send().await.unwrap();
    let token: serde_json::Value = serde_json::from_str(&token.text().await.unwrap()).unwrap();
    let token = token["token"].as_str().unwrap();
    let user = http.get(format!("{base}/api/users/1")).bearer_auth(token).send().await.unwrap();
    let user: serde_json::Value = serde_json::from_str(&user.text().await.unwrap()).unwrap();
    assert_eq!(user["username"], "ada");
}

/// Starts the binary in production in `dir` (with `extra` variables, stdout to `stdout.log`)
/// and waits until it serves.
async fn serve_in_production(dir: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stdout = std::fs::File::create(dir.join("stdout.log")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_microblog"));
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("PHIAL_PROFILE", "production")
        .env("SECRET_KEY", "a production secret for this test")
        .env("DATABASE_URL", "sqlite:///prod.db")
        .env_remove("LOG_TO_STDOUT")
        .env_remove("MAIL_SERVER")
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    let server = Server(command.spawn().unwrap());
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the binary did not start serving");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

#[tokio::test]
async fn in_production_the_log_goes_to_logs_microblog_log_or_with_log_to_stdout_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_in_production(dir.path(), &[]).await;
    drop(server);
    let log = std::fs::read_to_string(dir.path().join("logs/microblog.log")).unwrap();
    assert!(log.contains("Microblog startup") && log.contains("extension order resolved"), "{log}");
    assert!(!std::fs::read_to_string(dir.path().join("stdout.log")).unwrap().contains("Microblog startup"));

    let dir = tempfile::tempdir().unwrap();
    let server = serve_in_production(dir.path(), &[("LOG_TO_STDOUT", "1")]).await;
    drop(server);
    let stdout = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    assert!(stdout.contains("Microblog startup"), "{stdout}");
    assert!(!dir.path().join("logs").exists());
}

#[tokio::test]
async fn commands_other_than_serve_leave_tasks_in_progress_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let site = crate::Site::at(&url, Box::new(())).await;
    site.register("susan").await;
    let susan = microblog::models::user_by_username(&site.db(), "susan").await.unwrap().unwrap();
    microblog::models::create_task(&site.db(), "a-running-export", "export_posts", "Exporting posts...", susan.id)
        .await
        .unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_microblog"))
        .args(["db", "current"])
        .env("DATABASE_URL", &url)
        .env_remove("PHIAL_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let tasks = microblog::models::tasks_in_progress(&site.db(), susan.id).await.unwrap();
    assert_eq!(
        tasks.len(),
        1,
        "`microblog db current` (which starts the app) beside a server does not end its exports"
    );
}
