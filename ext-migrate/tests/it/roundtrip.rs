//! init → revision → upgrade → downgrade base → upgrade; relative targets; stamp; statements
//! that real migrations contain.

use phial_sql::Backend;

use crate::Fixture;

#[tokio::test]
async fn full_round_trip_through_the_commands() {
    for fx in Fixture::all().await {
        std::fs::remove_dir_all(fx.dir()).unwrap();
        let created = fx.ok(&["init"]).await;
        assert!(created.starts_with("created "), "{created}");
        assert!(fx.dir().join("README.md").is_file());
        assert!(fx.err(&["init"]).await.contains("not empty"));

        let first = fx.ok(&["revision", "-m", "create items", "--rev-id", "aaa1"]).await;
        let path = fx.dir().join("aaa1_create_items.sql");
        assert_eq!(first.trim(), format!("created {}", path.display()));
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "-- +up\n\n\n-- +down\n",
            "-- +up\nCREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\n\n-- +down\nDROP TABLE items;\n",
        );
        std::fs::write(&path, text).unwrap();
        fx.ok(&["revision", "-m", "add a row", "--rev-id", "bbb2"]).await;
        let second = fx.dir().join("bbb2_add_a_row.sql");
        let text = std::fs::read_to_string(&second).unwrap();
        assert!(text.contains("-- down_revision: aaa1"), "the new revision follows the head:\n{text}");
        let text = text.replace(
            "-- +up\n\n\n-- +down\n",
            "-- +up\nINSERT INTO items (id, name) VALUES (1, 'a;b');\n\n-- +down\nDELETE FROM items;\n",
        );
        std::fs::write(&second, text).unwrap();

        let up = fx.ok(&["upgrade"]).await;
        let lines: Vec<&str> = up.lines().collect();
        assert!(lines[0].starts_with("applied  aaa1  create items  ") && lines[0].ends_with(" ms"), "{up}");
        assert!(lines[1].starts_with("applied  bbb2  add a row  "), "{up}");
        assert!(lines[2].starts_with("upgraded 2 revision(s) in ") && lines[2].ends_with("now at bbb2"), "{up}");
        assert_eq!(fx.count("items").await, Some(1), "{:?}", fx.backend());
        assert_eq!(fx.applied().await, ["aaa1", "bbb2"]);
        assert!(fx.ok(&["upgrade"]).await.starts_with("nothing to upgrade: at bbb2"));

        let down = fx.ok(&["downgrade", "base"]).await;
        assert!(down.lines().next().unwrap().starts_with("reverted bbb2"), "{down}");
        assert!(down.contains("downgraded 2 revision(s)") && down.contains("now at base"), "{down}");
        assert_eq!(fx.count("items").await, None, "{:?}: the table is gone", fx.backend());
        assert!(fx.applied().await.is_empty());

        fx.ok(&["upgrade", "--quiet"]).await;
        assert_eq!(fx.count("items").await, Some(1));
        let current = fx.ok(&["current"]).await;
        assert!(current.starts_with("aaa1 -> bbb2 (head), add a row  [applied "), "{current}");
        let history = fx.ok(&["history"]).await;
        let history: Vec<&str> = history.lines().collect();
        assert!(history[0].starts_with("aaa1 -> bbb2 (head), add a row  [applied "), "{history:?}");
        assert!(history[1].starts_with("<base> -> aaa1, create items  [applied "), "{history:?}");
    }
}

#[tokio::test]
async fn quiet_prints_nothing_on_success() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("a1", "", "CREATE TABLE t (x INTEGER);", Some("DROP TABLE t;"));
    assert_eq!(fx.ok(&["upgrade", "-q"]).await, "");
    assert_eq!(fx.ok(&["--quiet", "downgrade"]).await, "");
    assert!(fx.applied().await.is_empty());
}

#[tokio::test]
async fn relative_targets_move_one_step_at_a_time() {
    for fx in Fixture::all().await {
        for (id, parent) in [("r1", ""), ("r2", "r1"), ("r3", "r2")] {
            fx.write(id, parent, &format!("CREATE TABLE t_{id} (x INTEGER);"), Some(&format!("DROP TABLE t_{id};")));
        }
        fx.ok(&["upgrade", "+1"]).await;
        assert_eq!(fx.applied().await, ["r1"], "{:?}", fx.backend());
        fx.ok(&["upgrade", "+2"]).await;
        assert_eq!(fx.applied().await, ["r1", "r2", "r3"]);
        fx.ok(&["downgrade", "-1"]).await;
        assert_eq!(fx.applied().await, ["r1", "r2"]);
        fx.ok(&["downgrade"]).await; // -1 by default
        assert_eq!(fx.applied().await, ["r1"]);
        fx.ok(&["upgrade", "r1+1"]).await;
        assert_eq!(fx.applied().await, ["r1", "r2"]);
        fx.ok(&["downgrade", "r2-1"]).await;
        assert_eq!(fx.applied().await, ["r1"]);
        assert!(fx.err(&["upgrade", "+5"]).await.contains("goes past the head"));
        assert!(fx.err(&["downgrade", "-2"]).await.contains("goes past the base"));
        assert!(fx.err(&["downgrade", "r3"]).await.contains("not applied"));
        assert_eq!(fx.count("t_r1").await, Some(0));
        assert_eq!(fx.count("t_r2").await, None);
    }
}

#[tokio::test]
async fn stamp_records_without_running_sql() {
    for fx in Fixture::all().await {
        fx.write("s1", "", "CREATE TABLE s_one (x INTEGER);", Some("DROP TABLE s_one;"));
        fx.write("s2", "s1", "CREATE TABLE s_two (x INTEGER);", Some("DROP TABLE s_two;"));
        let stamped = fx.ok(&["stamp", "head"]).await;
        assert_eq!(stamped.trim(), "stamped head: marked s1, s2; unmarked none");
        assert_eq!(fx.applied().await, ["s1", "s2"]);
        assert_eq!(fx.count("s_one").await, None, "{:?}: stamp ran no SQL", fx.backend());
        assert!(fx.ok(&["stamp", "head"]).await.starts_with("nothing to stamp"));
        fx.ok(&["stamp", "s1"]).await;
        assert_eq!(fx.applied().await, ["s1"]);
        fx.ok(&["stamp", "base"]).await;
        assert!(fx.applied().await.is_empty());
        // From base, upgrade now really creates the tables.
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.count("s_two").await, Some(0));
    }
}

#[tokio::test]
async fn real_world_statement_bodies_run_whole() {
    for fx in Fixture::all().await {
        let (up, down) = match fx.backend() {
            Backend::Postgres => (
                "CREATE TABLE audit (id SERIAL PRIMARY KEY, note TEXT);\n\
                 CREATE FUNCTION note_it() RETURNS trigger AS $$\nBEGIN\n  INSERT INTO audit (note) VALUES ('x;y');\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\
                 CREATE TABLE things (id INTEGER);\n\
                 CREATE TRIGGER things_audit AFTER INSERT ON things FOR EACH ROW EXECUTE FUNCTION note_it();\n\
                 INSERT INTO things VALUES (1); -- fires the trigger\n\
                 INSERT INTO audit (note) VALUES (E'it\\'s; fine');",
                "DROP TABLE things;\nDROP FUNCTION note_it();\nDROP TABLE audit;",
            ),
            Backend::MySql => (
                "CREATE TABLE audit (id INTEGER AUTO_INCREMENT PRIMARY KEY, note TEXT);\n\
                 CREATE TABLE things (id INTEGER);\n\
                 CREATE TRIGGER things_audit AFTER INSERT ON things FOR EACH ROW BEGIN\n  IF NEW.id > 0 THEN\n    INSERT INTO audit (note) VALUES ('x;y');\n  END IF;\nEND;\n\
                 INSERT INTO things VALUES (1); # fires the trigger\n\
                 INSERT INTO audit (note) VALUES ('it\\'s; fine');",
                "DROP TABLE things;\nDROP TABLE audit;",
            ),
            _ => (
                "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);\n\
                 CREATE TABLE things (id INTEGER);\n\
                 CREATE TRIGGER things_audit AFTER INSERT ON things BEGIN\n  INSERT INTO audit (note) VALUES (CASE WHEN NEW.id > 0 THEN 'x;y' ELSE 'z' END);\nEND;\n\
                 INSERT INTO things VALUES (1); /* fires; the trigger */\n\
                 INSERT INTO audit (note) VALUES ('it''s; fine');",
                "DROP TABLE things;\nDROP TABLE audit;",
            ),
        };
        fx.write("body1", "", up, Some(down));
        fx.ok(&["upgrade"]).await;
        assert_eq!(fx.count("audit").await, Some(2), "{:?}: the trigger fired once, plus the insert", fx.backend());
        let show = fx.ok(&["show", "body"]).await;
        assert!(show.contains("Revision: body1 (head)") && show.contains("State: applied"), "{show}");
        fx.ok(&["downgrade", "base"]).await;
        assert_eq!(fx.count("audit").await, None);
    }
}
