//! `<app> db ...` through a phial app's CLI, and `upgrade_on_start`.

use std::process::ExitCode;

use phial_core::cli::Output;
use phial_core::prelude::*;
use phial_migrate::MigrateExtension;
use phial_sql::SqlExtension;

use crate::Fixture;

fn app(fx: &Fixture) -> AppBuilder {
    App::builder()
        .profile(Profile::Testing)
        .set("sql.url", fx.database.url())
        .set("migrate.directory", fx.dir().to_str().unwrap())
        .extension(SqlExtension::new())
        .extension(MigrateExtension::new())
}

#[tokio::test]
async fn db_upgrade_through_the_app_cli() {
    for fx in Fixture::all().await {
        fx.write("a1", "", "CREATE TABLE app_items (x INTEGER);", Some("DROP TABLE app_items;"));
        fx.write("a2", "a1", "INSERT INTO app_items VALUES (1);", Some("DELETE FROM app_items;"));
        let (out, text) = Output::buffer();
        let code = app(&fx).build().unwrap().run_with(["app", "db", "upgrade"], out).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(text.text().contains("upgraded 2 revision(s)"), "{}", text.text());
        assert_eq!(fx.applied().await, ["a1", "a2"], "{:?}", fx.backend());

        let (out, text) = Output::buffer();
        let code = app(&fx).build().unwrap().run_with(["app", "db", "downgrade", "-1"], out).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(text.text().starts_with("reverted a2"), "{}", text.text());
        assert_eq!(fx.count("app_items").await, Some(0));

        let (out, text) = Output::buffer();
        app(&fx).build().unwrap().run_with(["app", "db", "current"], out).await.unwrap();
        assert!(text.text().starts_with("<base> -> a1, rev a1  [applied "), "{}", text.text());

        // A refusal is an error of the command, which the app turns into exit code 1.
        fx.write("a3", "a1", "SELECT 1;", None);
        let (out, _) = Output::buffer();
        let err = app(&fx).build().unwrap().run_with(["app", "db", "upgrade"], out).await.unwrap_err().to_string();
        assert!(err.contains("several heads: a2 (") && err.contains("a3 ("), "{err}");
    }
}

#[tokio::test]
async fn upgrade_on_start_migrates_before_the_app_serves() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("s1", "", "CREATE TABLE started (x INTEGER);", None);
    let running = app(&fx).set("migrate.upgrade_on_start", true).build().unwrap().start().await.unwrap();
    assert_eq!(fx.count("started").await, Some(0));
    running.shutdown().await;
    // A second instance finds nothing to do.
    let again = app(&fx).set("migrate.upgrade_on_start", true).build().unwrap().start().await.unwrap();
    again.shutdown().await;
    assert_eq!(fx.applied().await, ["s1"]);
}

#[tokio::test]
async fn startup_fails_on_a_malformed_file_or_config() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    std::fs::write(fx.dir().join("x.sql"), "-- revision: x\n-- +up\n").unwrap();
    let err = app(&fx).set("migrate.upgrade_on_start", true).build().err().unwrap().to_string();
    assert!(err.contains("x.sql:1: missing `-- down_revision:`"), "{err}");
    let err = app(&fx).set("migrate.lock_timeout", -1.0).build().err().unwrap().to_string();
    assert!(err.contains("migrate.lock_timeout"), "{err}");
    let err =
        App::builder().profile(Profile::Testing).extension(MigrateExtension::new()).build().err().unwrap().to_string();
    assert!(err.contains("requires `sql`"), "{err}");
}
