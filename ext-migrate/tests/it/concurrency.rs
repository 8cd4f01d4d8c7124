//! Several runners at once, and the lock after a failure. The runners are real processes of
//! the `phial-migrate` binary.

use std::process::Output;
use std::time::Duration;

use phial_migrate::{MigrateError, Target};
use phial_sql::Backend;

use crate::Fixture;

const BINARY: &str = env!("CARGO_BIN_EXE_phial-migrate");

/// The binary against the fixture's database and folder, from an empty working directory.
fn command(fx: &Fixture, cwd: &std::path::Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("PHIAL_SQL__URL")
        .arg("--database-url")
        .arg(fx.database.url())
        .arg("--directory")
        .arg(fx.dir())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Waits for a runner, bounded so that a hang fails the test instead of stalling it.
async fn finish(child: tokio::process::Child) -> Output {
    tokio::time::timeout(Duration::from_mins(2), child.wait_with_output())
        .await
        .expect("the binary finishes instead of hanging")
        .unwrap()
}

/// Runs the binary once.
async fn binary(fx: &Fixture, args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    finish(command(fx, cwd.path(), args).spawn().unwrap()).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A statement that takes a while, so that the runners overlap.
fn slow(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "SELECT pg_sleep(1);",
        Backend::MySql => "SELECT SLEEP(1);",
        _ => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT COUNT(*) FROM c;"
        }
    }
}

#[tokio::test]
async fn five_concurrent_upgrades_apply_each_revision_once() {
    let mut postgres_ran = false;
    for fx in Fixture::all().await {
        postgres_ran |= fx.backend() == Backend::Postgres;
        let sleep = slow(fx.backend());
        fx.write("c1", "", &format!("CREATE TABLE c_one (x INTEGER);\n{sleep}"), Some("DROP TABLE c_one;"));
        fx.write("c2", "c1", &format!("{sleep}\nCREATE TABLE c_two (x INTEGER);"), Some("DROP TABLE c_two;"));
        let cwd = tempfile::tempdir().unwrap();
        // All five are started before any is waited for, so they race for the lock.
        let runners: Vec<_> = (0..5).map(|_| command(&fx, cwd.path(), &["upgrade"]).spawn().unwrap()).collect();
        let mut outputs = Vec::new();
        for runner in runners {
            outputs.push(finish(runner).await);
        }
        let mut applied_lines = Vec::new();
        for output in &outputs {
            assert!(
                output.status.success(),
                "{:?}: a runner failed:\nstdout: {}\nstderr: {}",
                fx.backend(),
                text(&output.stdout),
                text(&output.stderr)
            );
            applied_lines.extend(text(&output.stdout).lines().filter(|l| l.starts_with("applied")).map(str::to_owned));
        }
        applied_lines.sort();
        assert_eq!(
            applied_lines.len(),
            2,
            "{:?}: each revision applied by exactly one runner: {applied_lines:?}",
            fx.backend()
        );
        assert!(applied_lines[0].starts_with("applied  c1") && applied_lines[1].starts_with("applied  c2"));
        assert_eq!(fx.applied().await, ["c1", "c2"]);
        assert_eq!(fx.count("c_one").await, Some(0));
        assert_eq!(fx.count("c_two").await, Some(0));
    }
    if !postgres_ran {
        #[expect(clippy::print_stderr, reason = "tell the person running tests what was skipped")]
        {
            eprintln!("SKIPPED: the PostgreSQL part of five_concurrent_upgrades_apply_each_revision_once");
        }
    }
}

#[tokio::test]
async fn a_failing_migration_releases_the_lock() {
    for fx in Fixture::all().await {
        fx.write("ok1", "", "CREATE TABLE ok_one (x INTEGER);", Some("DROP TABLE ok_one;"));
        fx.write("bad2", "ok1", "CREATE TABLE bad_two (x INTEGER);\nINSERT INTO bad_nowhere VALUES (1);", None);
        // In one process: the second run gets the lock at once and fails the same way. A
        // leaked lock would end in a lock timeout instead.
        let migrator = fx.migrator().lock_timeout(Duration::from_secs(20));
        let first = migrator.upgrade(&Target::Head).await.unwrap_err().to_string();
        let second = tokio::time::timeout(Duration::from_mins(1), migrator.upgrade(&Target::Head))
            .await
            .expect("the rerun finishes")
            .unwrap_err()
            .to_string();
        assert!(first.contains("bad2") && first.contains("failed at statement 2"), "{first}");
        if fx.backend() == Backend::MySql {
            // MariaDB committed the CREATE TABLE: the rerun refuses the dirty revision.
            assert!(second.starts_with("bad2 is dirty"), "{second}");
            continue;
        }
        assert_eq!(first, second, "{:?}", fx.backend());
        assert_eq!(fx.applied().await, ["ok1"], "{:?}: ok1 stays applied", fx.backend());
        assert_eq!(fx.count("bad_two").await, None, "{:?}: bad2 was rolled back", fx.backend());

        // Across processes: both exit 1 with the same message, the second without waiting.
        let one = binary(&fx, &["upgrade"]).await;
        let two = binary(&fx, &["upgrade", "--lock-timeout", "30"]).await;
        assert_eq!(one.status.code(), Some(1), "{}", text(&one.stderr));
        assert_eq!(two.status.code(), Some(1), "{}", text(&two.stderr));
        assert_eq!(text(&one.stderr), text(&two.stderr));
        assert!(text(&one.stderr).starts_with("error: bad2 ("), "{}", text(&one.stderr));
    }
}

#[tokio::test]
async fn binary_exit_codes_and_negative_targets() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("e1", "", "CREATE TABLE e (x INTEGER);", Some("DROP TABLE e;"));
    fx.write("e2", "e1", "CREATE TABLE e_two (x INTEGER);", Some("DROP TABLE e_two;"));
    let up = binary(&fx, &["upgrade"]).await;
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    let down = binary(&fx, &["downgrade", "-1"]).await;
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    assert!(text(&down.stdout).starts_with("reverted e2"), "{}", text(&down.stdout));
    assert_eq!(fx.applied().await, ["e1"]);
    let usage = binary(&fx, &["upgrade", "+x"]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
    let unknown = binary(&fx, &["frobnicate"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    let refused = binary(&fx, &["downgrade", "e2"]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    let quiet = binary(&fx, &["upgrade", "--quiet"]).await;
    assert_eq!((quiet.status.code(), text(&quiet.stdout)), (Some(0), String::new()));
    let heads = binary(&fx, &["heads"]).await;
    assert_eq!(text(&heads.stdout).trim(), "e1 -> e2 (head), rev e2");
}

#[tokio::test]
async fn waiting_for_a_held_lock_ends_at_the_lock_timeout() {
    for fx in Fixture::all().await {
        let impatient = fx.migrator().lock_timeout(Duration::from_secs(1));
        if fx.backend() == Backend::Sqlite {
            // Another writer holds the database.
            let mut holder = fx.db().sqlite_pool().unwrap().acquire().await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
            fx.write("w1", "", "SELECT 1;", None);
            let err = impatient.upgrade(&Target::Head).await.unwrap_err();
            assert!(matches!(err, MigrateError::LockTimeout(_)), "{err}");
            sqlx::raw_sql("ROLLBACK").execute(&mut *holder).await.unwrap();
            continue;
        }
        // A slow upgrade holds the lock; a second runner gives up after its timeout.
        let (sleep, sleeping) = match fx.backend() {
            Backend::Postgres => (
                "SELECT pg_sleep(3);",
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%'",
            ),
            _ => (
                "SELECT SLEEP(3);",
                "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'SELECT SLEEP%'",
            ),
        };
        fx.write("w1", "", sleep, None);
        let first = fx.migrator();
        let first = tokio::spawn(async move { first.upgrade(&Target::Head).await });
        for _ in 0..200 {
            if fx.scalar(sleeping).await > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let err = impatient.upgrade(&Target::Head).await.unwrap_err();
        assert!(matches!(err, MigrateError::LockTimeout(_)), "{:?}: {err}", fx.backend());
        assert!(err.to_string().starts_with("could not take the migration lock within 1 s"), "{err}");
        let report = first.await.unwrap().unwrap();
        assert_eq!(report.current, ["w1"]);
    }
}

#[tokio::test]
async fn binary_reads_phial_toml_then_database_url() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("t1", "", "CREATE TABLE from_toml (x INTEGER);", None);
    let cwd = tempfile::tempdir().unwrap();
    let toml = format!(
        "[app]\nsecret_key = \"x\"\n\n[sql]\nurl = \"{}\"\n\n[migrate]\ndirectory = \"{}\"\nversion_table = \"my_versions\"\n\n[login]\nunknown_to_the_binary = true\n",
        fx.database.url(),
        fx.dir().display()
    );
    std::fs::write(cwd.path().join("phial.toml"), toml).unwrap();
    let run = |args: &[&str], database_url: Option<&str>| {
        let mut command = tokio::process::Command::new(BINARY);
        command.current_dir(cwd.path()).env_remove("PHIAL_SQL__URL").env_remove("PHIAL_PROFILE").args(args);
        match database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        async move { tokio::time::timeout(Duration::from_mins(1), command.output()).await.unwrap().unwrap() }
    };
    let up = run(&["upgrade"], None).await;
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert!(text(&up.stdout).starts_with("applied  t1"), "{}", text(&up.stdout));
    assert_eq!(fx.count("my_versions").await, Some(1), "the version table named in phial.toml");
    // DATABASE_URL wins over phial.toml: an unreachable server fails instead of finding t1.
    let elsewhere = run(&["current"], Some("postgres://nobody@127.0.0.1:9/none")).await;
    assert_eq!(elsewhere.status.code(), Some(1), "{}", text(&elsewhere.stderr));
    let missing = run(&["--config-dir", "/nonexistent", "upgrade"], None).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no database URL"), "{}", text(&missing.stderr));
}
