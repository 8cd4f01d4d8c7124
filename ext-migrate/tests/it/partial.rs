//! Revisions that fail part-way with statements committed: MariaDB (DDL commits itself) and
//! `-- no-transaction` revisions elsewhere.

use phial_migrate::MigrateError;
use phial_sql::Backend;

use crate::Fixture;

const UP: &str = "CREATE TABLE p_one (x INTEGER);\nCREATE TABLE p_two (x INTEGER);\nINSERT INTO p_missing VALUES (1);";

async fn fails_part_way_and_is_marked_dirty(fx: &Fixture) {
    let path = fx.write("p1", "", UP, Some("DROP TABLE p_two;\nDROP TABLE p_one;"));
    let (result, _) = fx.run(&["upgrade"]).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, MigrateError::Failed(f) if f.statement == 3 && f.committed == Some(2)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("p1 ({}:8) failed at statement 3 of its upgrade: ", path.display())),
        "{message}"
    );
    assert!(message.ends_with("2 earlier statement(s) had committed, so it is marked dirty"), "{message}");
    let status = fx.migrator().status().await.unwrap();
    let row = status.row("p1").unwrap();
    assert!(row.dirty && row.statements_applied == 2 && row.operation == "upgrade", "{row:?}");
    assert_eq!(fx.count("p_two").await, Some(0), "{:?}: the committed statements stay", fx.backend());

    let refused = fx.err(&["upgrade"]).await;
    assert!(refused.starts_with("p1 is dirty: its upgrade stopped"), "{refused}");
    assert!(refused.contains("after 2 statement(s) had committed"), "{refused}");
    assert!(refused.contains("`stamp p1`") && refused.contains("`repair p1`"), "{refused}");
    assert!(fx.err(&["downgrade"]).await.starts_with("p1 is dirty"));
    assert!(fx.ok(&["current"]).await.contains("p1 is dirty"));
}

#[tokio::test]
async fn mariadb_partial_failure_is_dirty_until_stamped() {
    for fx in Fixture::all().await {
        if fx.backend() != Backend::MySql {
            continue;
        }
        fails_part_way_and_is_marked_dirty(&fx).await;
        // Finished by hand: the table the failing statement needed now exists.
        fx.write("p2", "p1", "CREATE TABLE p_three (x INTEGER);", Some("DROP TABLE p_three;"));
        let stamped = fx.ok(&["stamp", "p1"]).await;
        assert_eq!(stamped.trim(), "stamped p1: marked p1; unmarked none");
        assert!(!fx.migrator().status().await.unwrap().row("p1").unwrap().dirty);
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.applied().await, ["p1", "p2"]);
    }
}

#[tokio::test]
async fn mariadb_partial_failure_repaired_runs_again() {
    for fx in Fixture::all().await {
        if fx.backend() != Backend::MySql {
            continue;
        }
        fails_part_way_and_is_marked_dirty(&fx).await;
        // Undone by hand, and the file fixed; `repair` clears the mark, `upgrade` runs it again.
        fx.exec("DROP TABLE p_one, p_two").await;
        let fixed = UP.replace("INSERT INTO p_missing VALUES (1);", "INSERT INTO p_two VALUES (1);");
        fx.write("p1", "", &fixed, Some("DROP TABLE p_two;\nDROP TABLE p_one;"));
        let repaired = fx.ok(&["repair", "p1"]).await;
        assert!(repaired.starts_with("p1: cleared the failed upgrade"), "{repaired}");
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.count("p_two").await, Some(1));
        assert!(!fx.migrator().status().await.unwrap().row("p1").unwrap().dirty);
    }
}

#[tokio::test]
async fn no_transaction_revisions_track_progress_on_every_backend() {
    for fx in Fixture::all().await {
        if fx.backend() == Backend::MySql {
            continue; // every MariaDB revision runs this way; see the tests above
        }
        let text = format!(
            "-- revision: p1\n-- down_revision:\n-- no-transaction\n\n-- +up\n{UP}\n\n-- +down\nDROP TABLE p_two;\nDROP TABLE p_one;\n"
        );
        std::fs::write(fx.dir().join("p1_rev.sql"), text).unwrap();
        let err = fx.err(&["upgrade"]).await;
        assert!(
            err.contains("2 earlier statement(s) had committed, so it is marked dirty"),
            "{:?}: {err}",
            fx.backend()
        );
        assert!(fx.err(&["upgrade"]).await.starts_with("p1 is dirty"));
        // Undone by hand: `stamp base` records that p1 is not applied.
        fx.ok(&["stamp", "base"]).await;
        assert!(fx.applied().await.is_empty());
    }
}

#[tokio::test]
async fn a_failing_first_statement_leaves_no_dirty_mark() {
    for fx in Fixture::all().await {
        fx.write("f1", "", "INSERT INTO f_missing VALUES (1);\nCREATE TABLE f_one (x INTEGER);", None);
        let err = fx.err(&["upgrade"]).await;
        assert!(err.contains("failed at statement 1 of its upgrade"), "{err}");
        assert!(fx.applied().await.is_empty(), "{:?}: no row is left behind", fx.backend());
        // The same error again, not a dirty refusal.
        assert!(fx.err(&["upgrade"]).await.contains("failed at statement 1 of its upgrade"));
    }
}
