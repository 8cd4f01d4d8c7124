//! Adopting a Flask-Migrate database: `alembic_version` read as the current heads, and
//! `stamp --alembic` turning it into `phial_migrations` rows without running SQL.

use crate::Fixture;

#[tokio::test]
async fn stamp_alembic_adopts_a_flask_migrate_database() {
    for fx in Fixture::all().await {
        // What Flask-Migrate left: the schema of two revisions and their head in alembic_version.
        fx.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)").await;
        fx.exec("INSERT INTO alembic_version (version_num) VALUES ('b2c3d4e5f6a1')").await;
        fx.exec("CREATE TABLE flask_users (id INTEGER PRIMARY KEY)").await;
        fx.write("a1b2c3d4e5f6", "", "CREATE TABLE flask_users (id INTEGER PRIMARY KEY);", None);
        fx.write("b2c3d4e5f6a1", "a1b2c3d4e5f6", "SELECT 1;", None);
        fx.write("c3d4e5f6a1b2", "b2c3d4e5f6a1", "CREATE TABLE flask_posts (id INTEGER PRIMARY KEY);", None);

        let current = fx.ok(&["current", "--alembic"]).await;
        assert!(current.contains("alembic_version: b2c3d4e5f6a1"), "{:?}: {current}", fx.backend());
        let stamped = fx.ok(&["stamp", "--alembic"]).await;
        assert_eq!(
            stamped.trim(),
            "stamped alembic_version's revisions: marked a1b2c3d4e5f6, b2c3d4e5f6a1; unmarked none",
            "{:?}",
            fx.backend()
        );
        assert_eq!(fx.applied().await, ["a1b2c3d4e5f6", "b2c3d4e5f6a1"]);
        // Only the revision Flask-Migrate never ran runs now.
        let up = fx.ok(&["upgrade"]).await;
        assert!(up.contains("upgraded 1 revision(s)") && up.contains("now at c3d4e5f6a1b2"), "{up}");
        assert_eq!(fx.count("flask_posts").await, Some(0));
        assert_eq!(fx.scalar("SELECT COUNT(*) FROM alembic_version").await, 1, "alembic_version is left alone");
    }
}

#[tokio::test]
async fn stamp_alembic_refuses_unknown_revisions_and_a_missing_table() {
    let fx = Fixture::new(phial_sql::testing::TestDatabase::sqlite()).await;
    fx.write("a1", "", "SELECT 1;", None);
    let err = fx.err(&["stamp", "--alembic"]).await;
    assert!(err.contains("no `alembic_version` table"), "{err}");
    fx.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)").await;
    fx.exec("INSERT INTO alembic_version VALUES ('ffff00001111')").await;
    let err = fx.err(&["stamp", "--alembic"]).await;
    assert!(err.contains("says the database is at ffff00001111, but no revision file"), "{err}");
    assert!(fx.applied().await.is_empty());
}

#[tokio::test]
async fn adopt_alembic_takes_over_a_flask_migrate_database_on_the_first_upgrade_only() {
    for fx in Fixture::all().await {
        fx.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)").await;
        fx.exec("INSERT INTO alembic_version (version_num) VALUES ('b2c3d4e5f6a1')").await;
        fx.exec("CREATE TABLE flask_users (id INTEGER PRIMARY KEY)").await;
        fx.write("a1b2c3d4e5f6", "", "CREATE TABLE flask_users (id INTEGER PRIMARY KEY);", None);
        fx.write("b2c3d4e5f6a1", "a1b2c3d4e5f6", "SELECT 1;", None);
        fx.write("c3d4e5f6a1b2", "b2c3d4e5f6a1", "CREATE TABLE flask_posts (id INTEGER PRIMARY KEY);", None);
        let mut config = fx.config();
        config.adopt_alembic = true;
        let migrator = phial_migrate::Migrator::new(fx.db().clone(), &config).unwrap();
        // Without adoption the first revision would fail: flask_users exists already.
        let report = migrator.upgrade(&phial_migrate::Target::Head).await.unwrap();
        assert_eq!(report.current, ["c3d4e5f6a1b2"], "{:?}", fx.backend());
        assert_eq!(fx.applied().await, ["a1b2c3d4e5f6", "b2c3d4e5f6a1", "c3d4e5f6a1b2"]);
        assert_eq!(fx.count("flask_posts").await, Some(0));
        // Once phial's history exists, alembic_version is never read again.
        fx.exec("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'").await;
        migrator.upgrade(&phial_migrate::Target::Head).await.unwrap();
        assert_eq!(fx.applied().await, ["a1b2c3d4e5f6", "b2c3d4e5f6a1", "c3d4e5f6a1b2"]);
    }
}
