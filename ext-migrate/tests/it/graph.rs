//! Branches: two heads refuse `upgrade head`, `heads` applies both, a merge revision joins them;
//! ambiguous prefixes list their candidates.

use crate::{Fixture, shown};

#[tokio::test]
async fn two_heads_refuse_upgrade_head_naming_both() {
    for fx in Fixture::all().await {
        fx.write("base1", "", "CREATE TABLE b (x INTEGER);", Some("DROP TABLE b;"));
        let left = fx.write("left1", "base1", "CREATE TABLE l (x INTEGER);", Some("DROP TABLE l;"));
        let right = fx.write("right1", "base1", "CREATE TABLE r (x INTEGER);", Some("DROP TABLE r;"));
        let err = fx.err(&["upgrade"]).await;
        assert!(err.contains(&format!("left1 ({})", shown(&left))), "{err}");
        assert!(err.contains(&format!("right1 ({})", shown(&right))), "{err}");
        assert!(err.contains("--head left1 --head right1"), "the error shows how to merge: {err}");
        assert!(fx.applied().await.is_empty(), "{:?}: nothing ran", fx.backend());
        let heads = fx.ok(&["heads"]).await;
        assert_eq!(heads.lines().count(), 2, "{heads}");

        // `revision` without --head refuses the same way; with both heads it writes a merge.
        assert!(fx.err(&["revision", "-m", "next"]).await.contains("several heads"));
        fx.ok(&["revision", "-m", "merge", "--head", "left1", "--head", "right1", "--rev-id", "merge1"]).await;
        let merge = std::fs::read_to_string(fx.dir().join("merge1_merge.sql")).unwrap();
        assert!(merge.contains("-- down_revision: left1, right1"), "{merge}");

        fx.ok(&["upgrade", "left1"]).await;
        assert_eq!(fx.applied().await, ["base1", "left1"]);
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.applied().await, ["base1", "left1", "merge1", "right1"]);
        fx.ok(&["downgrade", "base"]).await;
        assert!(fx.applied().await.is_empty());
    }
}

#[tokio::test]
async fn upgrade_heads_applies_every_branch() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("aa01", "", "SELECT 1;", Some(""));
    fx.write("aa02", "aa01", "SELECT 1;", Some(""));
    fx.write("ab03", "aa01", "SELECT 1;", Some(""));
    fx.ok(&["upgrade", "heads"]).await;
    assert_eq!(fx.applied().await, ["aa01", "aa02", "ab03"]);
    let err = fx.err(&["downgrade", "a"]).await;
    assert!(err.contains("ambiguous") && err.contains("aa01") && err.contains("ab03"), "{err}");
    let err = fx.err(&["downgrade", "-1"]).await;
    assert!(err.contains("several revisions (aa02, ab03)"), "{err}");
    fx.ok(&["downgrade", "aa01"]).await;
    assert_eq!(fx.applied().await, ["aa01"]);
}

#[tokio::test]
async fn invalid_files_refuse_before_anything_runs() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("ok1", "", "CREATE TABLE ok (x INTEGER);", None);
    let bad = fx.dir().join("bad_rev.sql");
    std::fs::write(&bad, "-- revision: bad\n-- down_revision: ok1\n-- author: me\n-- +up\nSELECT 1;\n").unwrap();
    let err = fx.err(&["upgrade"]).await;
    assert_eq!(
        err,
        format!(
            "{}:3: unknown header key `author`; the keys are revision, down_revision, branch_labels, message, created",
            shown(&bad)
        )
    );
    std::fs::write(&bad, "-- revision: bad\n-- down_revision: nope\n-- +up\nSELECT 1;\n").unwrap();
    assert!(fx.err(&["upgrade"]).await.contains("has down_revision nope, which no file"));
    assert_eq!(fx.count("ok").await, None, "nothing ran");
}
