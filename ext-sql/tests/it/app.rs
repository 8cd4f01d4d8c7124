//! Configuration, startup errors, 404 helpers, recording, CLI and health.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::StatusCode;
use phial_core::axum;
use phial_core::cli::Output;
use phial_core::prelude::*;
use phial_sql::testing::TestDatabase;
use phial_sql::{RecordedQueries, SqlExtension};
use sea_query::{Expr, ExprTrait};

use crate::{Item, app, count, insert_item, select_items, start};

#[tokio::test]
async fn missing_url_is_a_build_error_naming_the_key() {
    let err =
        App::builder().profile(Profile::Testing).extension(SqlExtension::new()).build().err().unwrap().to_string();
    assert!(err.contains("sql.url") && err.contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn database_url_env_is_honoured() {
    let database = TestDatabase::sqlite();
    let app = App::builder()
        .profile(Profile::Testing)
        .env([("DATABASE_URL", database.url())])
        .extension(SqlExtension::new())
        .build()
        .unwrap();
    let running = app.start().await.unwrap();
    assert!(running.state().require::<phial_sql::Databases>().default_db().ping().await.is_ok());
}

#[tokio::test]
async fn unreachable_database_fails_startup_in_bounded_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let started = Instant::now();
    let result = App::builder()
        .profile(Profile::Testing)
        .set("sql.url", format!("postgres://postgres@127.0.0.1:{port}/none"))
        .set("sql.acquire_timeout", 1.0)
        .extension(SqlExtension::new())
        .build()
        .unwrap()
        .start()
        .await;
    let err = result.err().unwrap().to_string();
    assert!(err.contains("sql") && err.contains("unavailable"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "startup gave up instead of hanging");
}

#[tokio::test]
async fn get_or_404_answers_404_for_a_missing_row() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(app(&database)).await;
        db.execute(&insert_item("apple")).await.unwrap();
        let found = client.get("/items/1").accept_json().await;
        found.assert_status(StatusCode::OK);
        assert_eq!(found.json::<serde_json::Value>()["name"], "apple", "{:?}", database.backend());
        let missing = client.get("/items/999").accept_json().await;
        missing.assert_status(StatusCode::NOT_FOUND);
        assert_eq!(missing.json_value()["error"], "Not Found");
    }
}

#[tokio::test]
async fn one_or_404_refuses_several_rows() {
    for database in TestDatabase::available().await {
        let (_running, _client, db) = start(app(&database)).await;
        db.execute(&insert_item("a")).await.unwrap();
        let one: Item = db.one_or_404(&select_items()).await.unwrap();
        assert_eq!(one.name, "a");
        db.execute(&insert_item("b")).await.unwrap();
        let several = db.one_or_404::<Item>(&select_items()).await.unwrap_err();
        assert_eq!(several.status(), StatusCode::NOT_FOUND, "{:?}", database.backend());
        let none = select_items().and_where(Expr::col("name").eq("zzz")).to_owned();
        assert_eq!(db.one_or_404::<Item>(&none).await.unwrap_err().status(), StatusCode::NOT_FOUND);
        assert_eq!(db.first_or_404::<Item>(&select_items()).await.unwrap().name, "a");
    }
}

#[tokio::test]
async fn unique_violation_is_409_and_writes_nothing() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(app(&database)).await;
        client.post("/items").body("pear").await.assert_status(StatusCode::CREATED);
        let again = client.post("/items").body("pear").accept_json().await;
        again.assert_status(StatusCode::CONFLICT);
        assert_eq!(count(&db).await, 1, "{:?}", database.backend());
    }
}

#[tokio::test]
async fn recorded_queries_list_the_request_statements() {
    let database = TestDatabase::sqlite();
    let (_running, client, _db) = start(app(&database).set("sql.record_queries", true).endpoint(
        "recorded",
        "/recorded",
        axum::routing::get(|db: phial_sql::Db, queries: RecordedQueries| async move {
            let _ = db.fetch_all::<Item, _>(&select_items()).await;
            let records = queries.records();
            format!("{}|{}|{}", records.len(), records[0].sql.contains("SELECT"), records[0].location.file())
        }),
    ))
    .await;
    let text = client.get("/recorded").await.text().to_owned();
    assert!(text.starts_with("1|true|"), "{text}");
    assert!(text.ends_with("app.rs"), "the caller's file is recorded: {text}");
}

#[tokio::test]
async fn sql_check_command_and_readiness() {
    let database = TestDatabase::sqlite();
    let (out, text) = Output::buffer();
    let code = app(&database).build().unwrap().run_with(["app", "sql", "check"], out).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(text.text().starts_with("default (sqlite) ok in "), "{}", text.text());

    let (_running, client, _db) = start(app(&database)).await;
    let ready = client.get("/readyz").await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.json_value()["checks"][0]["name"], "sql");
}

#[tokio::test]
async fn in_memory_sqlite_survives_an_idle_pool() {
    let (_running, _client, db) = start(
        App::builder()
            .profile(Profile::Testing)
            .set("sql.url", "sqlite://")
            .set("sql.idle_timeout", 0.2)
            .extension(SqlExtension::new().table(crate::items_table()).create_all_on_start()),
    )
    .await;
    db.execute(&insert_item("kept")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(crate::names(&db).await, ["kept"]);
}

#[tokio::test]
async fn sqlite_relative_path_lives_in_the_instance_folder() {
    let instance = tempfile::tempdir().unwrap();
    let (_running, _client, db) = start(
        App::builder()
            .profile(Profile::Testing)
            .set("app.instance_path", instance.path().join("nested").to_str().unwrap())
            .set("sql.url", "sqlite:///app.db")
            .extension(SqlExtension::new().table(crate::items_table()).create_all_on_start()),
    )
    .await;
    db.execute(&insert_item("x")).await.unwrap();
    assert!(instance.path().join("nested/app.db").is_file());
}

#[tokio::test]
async fn concurrent_autocommit_writes_on_sqlite_take_turns_instead_of_timing_out() {
    let instance = tempfile::tempdir().unwrap();
    // A busy timeout far shorter than 40 writers waiting in SQLite's busy handler would need:
    // writers that collided inside SQLite would fail with "database is locked".
    let (_running, _client, db) = start(
        App::builder()
            .profile(Profile::Testing)
            .set("app.instance_path", instance.path().to_str().unwrap())
            .set("sql.url", "sqlite:///writers.db")
            .set("sql.pool_size", 8)
            .set("sql.busy_timeout", 0.001)
            .extension(SqlExtension::new().table(crate::items_table()).create_all_on_start()),
    )
    .await;
    let writers = (0..40).map(|i| {
        let db = db.clone();
        tokio::spawn(async move { db.execute(&insert_item(&format!("item {i}"))).await })
    });
    for writer in futures_util::future::join_all(writers).await {
        writer.expect("the writer task ran").expect("every write got its turn");
    }
    assert_eq!(crate::names(&db).await.len(), 40);
}
