//! `merge`, `branches`, `history -r/-v`, `plan` and `--json`: what scripts and reviewers read.

use serde_json::Value;

use crate::Fixture;

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|err| panic!("not JSON ({err}):\n{text}"))
}

#[tokio::test]
async fn two_heads_refuse_then_merge_heads_joins_them() {
    for fx in Fixture::all().await {
        fx.write("m0", "", "CREATE TABLE m_base (x INTEGER);", Some("DROP TABLE m_base;"));
        fx.write("m1", "m0", "CREATE TABLE m_left (x INTEGER);", Some("DROP TABLE m_left;"));
        fx.write("m2", "m0", "CREATE TABLE m_right (x INTEGER);", Some("DROP TABLE m_right;"));
        let err = fx.err(&["upgrade"]).await;
        assert!(err.contains("several heads") && err.contains("merge heads -m"), "{err}");
        assert!(fx.applied().await.is_empty(), "{:?}: nothing ran", fx.backend());

        let branches = fx.ok(&["branches"]).await;
        let lines: Vec<&str> = branches.lines().collect();
        assert_eq!(lines[0], "<base> -> m0 (branchpoint), rev m0", "{branches}");
        assert_eq!(lines[1..], ["    -> m1 (head), rev m1", "    -> m2 (head), rev m2"], "{branches}");

        let created = fx.ok(&["merge", "heads", "-m", "join the branches", "--rev-id", "mm", "--json"]).await;
        let created = json(&created);
        assert!(created["created"].as_str().unwrap().ends_with("mm_join_the_branches.sql"), "{created}");
        assert_eq!(created["parents"], serde_json::json!(["m1", "m2"]));
        let file = std::fs::read_to_string(fx.dir().join("mm_join_the_branches.sql")).unwrap();
        assert!(file.contains("-- down_revision: m1, m2\n"), "{file}");
        assert!(fx.ok(&["branches"]).await.contains("m0 (branchpoint)"), "the branch point stays");
        assert_eq!(fx.ok(&["heads"]).await.trim(), "m1, m2 -> mm (head) (mergepoint), join the branches");

        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.applied().await, ["m0", "m1", "m2", "mm"], "{:?}", fx.backend());
        assert_eq!(fx.count("m_right").await, Some(0));
        let err = fx.err(&["merge", "heads", "-m", "again"]).await;
        assert!(err.contains("nothing to merge: only mm"), "{err}");
    }
}

#[tokio::test]
async fn history_ranges_and_verbose_output() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    for (id, parent) in [("h1", ""), ("h2", "h1"), ("h3", "h2"), ("h4", "h3")] {
        fx.write(id, parent, "SELECT 1;", Some(""));
    }
    fx.ok(&["upgrade", "h2"]).await;
    let ids = |text: &str| -> Vec<String> {
        text.lines().map(|l| l.split(" -> ").nth(1).unwrap().split([' ', ',']).next().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&fx.ok(&["history", "-r", "h2:h3"]).await), ["h3", "h2"]);
    assert_eq!(ids(&fx.ok(&["history", "-r", "h3:"]).await), ["h4", "h3"]);
    assert_eq!(ids(&fx.ok(&["history", "-r", ":h1"]).await), ["h1"]);
    assert_eq!(ids(&fx.ok(&["history", "-r", "current:"]).await), ["h4", "h3", "h2"]);
    assert_eq!(ids(&fx.ok(&["history", "-r", "base:current"]).await), ["h2", "h1"]);
    assert!(fx.err(&["history", "-r", "h2"]).await.contains("not a range"));
    assert!(fx.err(&["history", "-r", "zz:"]).await.contains("no revision or branch label `zz`"));

    let verbose = fx.ok(&["history", "-v", "-r", "h1:h1"]).await;
    assert!(verbose.starts_with("Rev: h1\nParent: <base>\nPath: "), "{verbose}");
    assert!(verbose.contains("State: applied ") && verbose.contains("\n    rev h1\n"), "{verbose}");
}

#[tokio::test]
async fn json_output_for_scripts() {
    for fx in Fixture::all().await {
        fx.write("j1", "", "CREATE TABLE j (x INTEGER);", Some("DROP TABLE j;"));
        fx.write("j2", "j1", "INSERT INTO j VALUES (1);", Some("DELETE FROM j;"));
        let up = json(&fx.ok(&["upgrade", "--json"]).await);
        assert_eq!(up["direction"], "upgrade");
        assert_eq!(up["steps"].as_array().unwrap().len(), 2, "{up}");
        assert_eq!(up["steps"][0]["revision"], "j1");
        assert_eq!(up["steps"][0]["statements"], 1);
        assert_eq!(up["current"], serde_json::json!(["j2"]));

        let current = json(&fx.ok(&["current", "--json"]).await);
        assert_eq!(current["current"][0]["revision"], "j2", "{current}");
        assert_eq!(current["current"][0]["state"], "applied");
        assert_eq!(current["modified"], serde_json::json!([]));

        let history = json(&fx.ok(&["--json", "history"]).await);
        let revisions = history["revisions"].as_array().unwrap();
        assert_eq!(revisions.len(), 2);
        assert_eq!(revisions[0]["revision"], "j2");
        assert_eq!(revisions[0]["parents"], serde_json::json!(["j1"]));
        assert_eq!(revisions[1]["children"], serde_json::json!(["j2"]));

        let heads = json(&fx.ok(&["heads", "--json"]).await);
        assert_eq!(heads["heads"][0]["revision"], "j2");
        assert_eq!(json(&fx.ok(&["branches", "--json"]).await)["branches"], serde_json::json!([]));

        let down = json(&fx.ok(&["downgrade", "--json"]).await);
        assert_eq!(down["direction"], "downgrade");
        assert_eq!(down["steps"][0]["revision"], "j2");
        assert_eq!(down["current"], serde_json::json!(["j1"]));
        assert_eq!(fx.count("j").await, Some(0), "{:?}", fx.backend());
    }
}

#[tokio::test]
async fn plan_shows_what_upgrade_would_run() {
    for fx in Fixture::all().await {
        fx.write("p1", "", "CREATE TABLE p (x INTEGER, y INTEGER);", Some("DROP TABLE p;"));
        fx.ok(&["upgrade"]).await;
        fx.write(
            "p2",
            "p1",
            "ALTER TABLE p DROP COLUMN y;\nDELETE FROM p;\nINSERT INTO p (x) VALUES (1);",
            Some("ALTER TABLE p ADD COLUMN y INTEGER;"),
        );
        let text = fx.ok(&["plan"]).await;
        let lines: Vec<&str> = text.lines().collect();
        let transactional = if fx.backend() == phial_sql::Backend::MySql { "no transaction" } else { "transaction" };
        assert!(lines[0].starts_with(&format!("would apply p2  rev p2  ({transactional}, 3 statement(s), checksum ")));
        assert!(
            lines[1].contains("DESTRUCTIVE DROP COLUMN at ") && lines[1].ends_with(":6: ALTER TABLE p DROP COLUMN y")
        );
        assert!(lines[2].contains("DESTRUCTIVE DELETE without WHERE at ") && lines[2].contains(":7: "), "{text}");
        assert_eq!(lines[3], "checksums: 1 applied revision(s) verified", "{text}");
        assert_eq!(fx.applied().await, ["p1"], "{:?}: plan changes nothing", fx.backend());

        let plan = json(&fx.ok(&["plan", "--json"]).await);
        assert_eq!(plan["steps"][0]["destructive"].as_array().unwrap().len(), 2, "{plan}");
        assert_eq!(plan["steps"][0]["destructive"][0]["line"], 6);
        assert_eq!(plan["refusal"], Value::Null);

        // An edited applied file: plan names it and says upgrade would refuse, exit 1.
        let p1 = fx.dir().join("p1_rev.sql");
        let edited = std::fs::read_to_string(&p1).unwrap().replace("y INTEGER", "y BIGINT");
        std::fs::write(&p1, edited).unwrap();
        let (result, text) = fx.run(&["plan"]).await;
        assert!(result.unwrap_err().to_string().contains("p1 ("), "{text}");
        assert!(text.contains("modified since applied: p1") && text.contains("upgrade would refuse: p1 ("), "{text}");
    }
}

#[tokio::test]
async fn colour_marks_applied_revisions_and_destructive_statements_only_when_asked() {
    use clap::Parser;
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("c1", "", "CREATE TABLE c (x INTEGER);\nDROP TABLE c;", None);
    let context = |colour| phial_migrate::Context::new(fx.config(), Some(fx.db().clone())).with_colour(colour);
    let run = |args: &'static [&'static str], colour| {
        let context = context(colour);
        async move {
            let parsed = phial_migrate::DbArgs::try_parse_from(args).unwrap();
            let (out, text) = phial_core::cli::Output::buffer();
            let _ = context.execute(&parsed.command, &parsed.options, &out).await;
            text.text()
        }
    };
    assert!(run(&["db", "plan"], true).await.contains("    \u{1b}[31mDESTRUCTIVE\u{1b}[0m DROP TABLE at "));
    assert!(!run(&["db", "plan"], false).await.contains('\u{1b}'));
    assert!(run(&["db", "upgrade"], true).await.starts_with("\u{1b}[32mapplied \u{1b}[0m c1"));
}
