//! `upgrade --sql` and `downgrade --sql FROM:TO`: the SQL without touching a database, and
//! that SQL, run by hand, leaves the version table as a real run would.

use std::process::Stdio;

use phial_sql::Backend;

use crate::Fixture;

const BINARY: &str = env!("CARGO_BIN_EXE_phial-migrate");

async fn offline(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let cwd = tempfile::tempdir().unwrap();
    tokio::process::Command::new(BINARY)
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env_remove("PHIAL_SQL__URL")
        .arg("--directory")
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap()
}

fn write_two(fx: &Fixture) {
    fx.write("o1", "", "CREATE TABLE offline_t (x INTEGER);", Some("DROP TABLE offline_t;"));
    fx.write("o2", "o1", "INSERT INTO offline_t VALUES (1);", Some("DELETE FROM offline_t;"));
}

#[tokio::test]
async fn offline_sql_needs_no_reachable_database() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    write_two(&fx);
    // Port 1 on localhost: nothing listens, and nothing must try.
    let unreachable = "postgres://nobody:secret@127.0.0.1:1/none";
    let out = offline(&fx.dir(), &["--database-url", unreachable, "upgrade", "--sql"]).await;
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sql.starts_with("-- phial-migrate upgrade base:head (postgres)"), "{sql}");
    assert!(sql.contains("CREATE TABLE IF NOT EXISTS phial_migrations (revision VARCHAR(64) PRIMARY KEY"), "{sql}");
    let o1 = sql.find("BEGIN;\n\nCREATE TABLE offline_t (x INTEGER);\n\nINSERT INTO phial_migrations").unwrap();
    assert!(sql[o1..].contains("COMMIT;"), "{sql}");
    assert!(sql.find("-- upgrade o2").unwrap() > o1, "in order: {sql}");

    let out = offline(&fx.dir(), &["downgrade", "--sql", "--dialect", "mysql", "o2:base"]).await;
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!sql.contains("BEGIN;"), "MariaDB DDL commits itself: {sql}");
    assert!(sql.find("DELETE FROM offline_t;").unwrap() < sql.find("DROP TABLE offline_t;").unwrap(), "{sql}");
    assert!(sql.contains("DELETE FROM phial_migrations WHERE revision = 'o1';"), "{sql}");

    let out = offline(&fx.dir(), &["--database-url", unreachable, "downgrade", "--sql", "-1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs FROM:TO"));
    let out = offline(&fx.dir(), &["upgrade", "--sql"]).await;
    assert_eq!(out.status.code(), Some(2), "no dialect and no URL");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dialect"));
}

#[tokio::test]
async fn offline_sql_run_by_hand_records_the_revisions() {
    for fx in Fixture::all().await {
        write_two(&fx);
        let dialect = match fx.backend() {
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
            _ => "sqlite",
        };
        let (result, sql) = fx.run(&["upgrade", "--sql", "--dialect", dialect, "o1"]).await;
        result.unwrap();
        assert!(fx.applied().await.is_empty(), "{:?}: --sql ran nothing", fx.backend());
        fx.exec(&sql).await;
        assert_eq!(fx.applied().await, ["o1"], "{:?}", fx.backend());
        // The recorded checksums match: a real upgrade continues from there.
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.count("offline_t").await, Some(1));
        let (result, sql) = fx.run(&["downgrade", "--sql", "o2:base"]).await;
        result.unwrap();
        fx.exec(&sql).await;
        assert!(fx.applied().await.is_empty(), "{:?}", fx.backend());
        assert_eq!(fx.count("offline_t").await, None);
    }
}
