//! Edited, re-saved, deleted and late revision files.

use crate::{Fixture, shown};

#[tokio::test]
async fn crlf_resave_is_not_drift_but_an_edit_is_until_repaired() {
    for fx in Fixture::all().await {
        let first = fx.write("d1", "", "CREATE TABLE d (x INTEGER);", Some("DROP TABLE d;"));
        fx.ok(&["upgrade"]).await;
        fx.write("d2", "d1", "CREATE TABLE d_two (x INTEGER);", Some("DROP TABLE d_two;"));

        // The same file checked out on Windows, with a BOM: not a change.
        let text = std::fs::read_to_string(&first).unwrap();
        let mut resaved = b"\xEF\xBB\xBF".to_vec();
        resaved.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
        std::fs::write(&first, resaved).unwrap();
        fx.ok(&["upgrade", "d2"]).await;
        assert_eq!(fx.applied().await, ["d1", "d2"], "{:?}", fx.backend());

        // A real edit: refused, nothing runs, until `repair` accepts it.
        fx.write("d3", "d2", "CREATE TABLE d_three (x INTEGER);", Some("DROP TABLE d_three;"));
        std::fs::write(&first, text.replace("x INTEGER", "x BIGINT")).unwrap();
        let err = fx.err(&["upgrade"]).await;
        assert!(err.starts_with(&format!("d1 ({}) modified after it was applied", shown(&first))), "{err}");
        assert!(err.contains("`repair d1`"), "{err}");
        assert_eq!(fx.count("d_three").await, None, "{:?}: nothing ran", fx.backend());
        assert!(fx.err(&["downgrade"]).await.contains("modified after it was applied"));
        let current = fx.ok(&["current"]).await;
        assert!(current.contains("d1 modified after it was applied"), "{current}");
        let history = fx.ok(&["history"]).await;
        assert!(history.lines().any(|l| l.starts_with("<base> -> d1") && l.contains("[modified ")), "{history}");

        let repaired = fx.ok(&["repair", "d1"]).await;
        assert!(repaired.starts_with("d1: accepted the edited file (checksum "), "{repaired}");
        assert!(fx.ok(&["repair", "d1"]).await.contains("nothing to repair"));
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.count("d_three").await, Some(0));
    }
}

#[tokio::test]
async fn applied_revision_without_a_file_is_named() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("m1", "", "SELECT 1;", Some("SELECT 1;"));
    let second = fx.write("m2", "m1", "SELECT 2;", Some("SELECT 2;"));
    fx.ok(&["upgrade"]).await;
    std::fs::remove_file(second).unwrap();
    let err = fx.err(&["upgrade"]).await;
    assert!(err.starts_with(&format!("applied revision m2 has no file in {}", shown(&fx.dir()))), "{err}");
    assert!(fx.ok(&["current"]).await.contains("m2 (no file)"));
    assert_eq!(fx.ok(&["repair", "m2"]).await.trim(), "m2: forgotten (its file is gone)");
    assert_eq!(fx.applied().await, ["m1"]);
    assert!(fx.ok(&["upgrade"]).await.starts_with("nothing to upgrade"));
}

#[tokio::test]
async fn out_of_order_revision_is_refused_unless_allowed() {
    for fx in Fixture::all().await {
        fx.write("o1", "", "CREATE TABLE o_one (x INTEGER);", Some("DROP TABLE o_one;"));
        let later = fx.write("o3", "o1", "CREATE TABLE o_three (x INTEGER);", Some("DROP TABLE o_three;"));
        fx.ok(&["upgrade"]).await;
        // A teammate's revision lands between o1 and o3, and o3 is re-pointed at it (and
        // accepted with `repair`): o2 is older than the applied o3 on the same branch.
        fx.write("o2", "o1", "CREATE TABLE o_two (x INTEGER);", Some("DROP TABLE o_two;"));
        let text = std::fs::read_to_string(&later).unwrap().replace("-- down_revision: o1", "-- down_revision: o2");
        std::fs::write(&later, text).unwrap();
        fx.ok(&["repair", "o3"]).await;
        let err = fx.err(&["upgrade"]).await;
        assert!(err.starts_with("out of order: o2 ("), "{err}");
        assert!(err.contains("--allow-out-of-order"), "{err}");
        assert_eq!(fx.count("o_two").await, None, "{:?}: refused before running", fx.backend());
        let applied = fx.ok(&["upgrade", "--allow-out-of-order"]).await;
        assert!(applied.starts_with("applied  o2"), "{applied}");
        assert_eq!(fx.applied().await, ["o1", "o2", "o3"]);
    }
}
