//! The schema the migrations make is the original's, and a database the original made is
//! adopted (its `alembic_version`) and served, with its users' Werkzeug hashes.

use phial::axum::http::StatusCode;

use phial::migrate::{MigrateConfig, Migrator, Target};

use crate::{Site, follow_flash, login_with};

/// `(table, column, declared type, not null, primary key position)` of the original at v0.23.
const COLUMNS: &[(&str, &str, &str, bool, i64)] = &[
    ("user", "id", "INTEGER", true, 1),
    ("user", "username", "VARCHAR(64)", true, 0),
    ("user", "email", "VARCHAR(120)", true, 0),
    ("user", "password_hash", "VARCHAR(256)", false, 0),
    ("user", "about_me", "VARCHAR(140)", false, 0),
    ("user", "last_seen", "DATETIME", false, 0),
    ("user", "last_message_read_time", "DATETIME", false, 0),
    ("user", "token", "VARCHAR(32)", false, 0),
    ("user", "token_expiration", "DATETIME", false, 0),
    ("post", "id", "INTEGER", true, 1),
    ("post", "body", "VARCHAR(140)", true, 0),
    ("post", "timestamp", "DATETIME", true, 0),
    ("post", "user_id", "INTEGER", true, 0),
    ("post", "language", "VARCHAR(5)", false, 0),
    ("followers", "follower_id", "INTEGER", true, 1),
    ("followers", "followed_id", "INTEGER", true, 2),
    ("message", "id", "INTEGER", true, 1),
    ("message", "sender_id", "INTEGER", true, 0),
    ("message", "recipient_id", "INTEGER", true, 0),
    ("message", "body", "VARCHAR(140)", true, 0),
    ("message", "timestamp", "DATETIME", true, 0),
    ("notification", "id", "INTEGER", true, 1),
    ("notification", "name", "VARCHAR(128)", true, 0),
    ("notification", "user_id", "INTEGER", true, 0),
    ("notification", "timestamp", "FLOAT", true, 0),
    ("notification", "payload_json", "TEXT", true, 0),
    ("task", "id", "VARCHAR(36)", true, 1),
    ("task", "name", "VARCHAR(128)", true, 0),
    ("task", "description", "VARCHAR(128)", false, 0),
    ("task", "user_id", "INTEGER", true, 0),
    ("task", "complete", "BOOLEAN", true, 0),
];

/// `(index, table, unique)` of the original, plus the port's `ix_followers_followed_id` and
/// the remember-me tokens' expiry index.
const INDEXES: &[(&str, &str, bool)] = &[
    ("ix_followers_followed_id", "followers", false),
    ("ix_message_recipient_id", "message", false),
    ("ix_message_sender_id", "message", false),
    ("ix_message_timestamp", "message", false),
    ("ix_notification_name", "notification", false),
    ("ix_notification_timestamp", "notification", false),
    ("ix_notification_user_id", "notification", false),
    ("ix_phial_remember_token_expires_at", "phial_remember_token", false),
    ("ix_post_timestamp", "post", false),
    ("ix_post_user_id", "post", false),
    ("ix_task_name", "task", false),
    ("ix_user_email", "user", true),
    ("ix_user_token", "user", true),
    ("ix_user_username", "user", true),
];

#[tokio::test]
async fn migrations_make_the_originals_tables_columns_and_indexes() {
    let site = Site::new().await;
    let db = site.db();
    let pool = db.sqlite_pool().unwrap();
    let mut columns = Vec::new();
    for table in ["user", "post", "followers", "message", "notification", "task"] {
        let rows: Vec<(String, String, bool, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"SELECT name, type, "notnull", pk FROM pragma_table_info('{table}')"#
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        columns.extend(rows.into_iter().map(|(name, kind, not_null, pk)| (table, name, kind, not_null, pk)));
    }
    let expected: Vec<_> =
        COLUMNS.iter().map(|(t, c, k, n, p)| (*t, (*c).to_owned(), (*k).to_owned(), *n, *p)).collect();
    assert_eq!(columns, expected);

    let indexes: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT m.name, m.tbl_name, l.\"unique\" FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name \
         WHERE m.type = 'index' AND m.name LIKE 'ix_%' ORDER BY m.name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let expected: Vec<_> = INDEXES.iter().map(|(i, t, u)| ((*i).to_owned(), (*t).to_owned(), *u)).collect();
    assert_eq!(indexes, expected);

    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phial_migrations").fetch_one(pool).await.unwrap();
    assert_eq!(applied, 11, "the original's nine revisions, under their Alembic ids, and the port's two");
}

#[tokio::test]
async fn every_revision_downgrades_to_an_empty_database_and_upgrades_again() {
    let site = Site::new().await;
    let db = site.db();
    let mut config = MigrateConfig::default();
    config.directory = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite").into();
    let migrator = Migrator::new(db.clone(), &config).unwrap();
    let tables = || async {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'phial_migrations' ORDER BY name",
        )
        .fetch_all(db.sqlite_pool().unwrap())
        .await
        .unwrap();
        rows.into_iter().map(|(name,)| name).collect::<Vec<_>>()
    };
    let all =
        ["followers", "message", "notification", "phial_login_epoch", "phial_remember_token", "post", "task", "user"];
    assert_eq!(tables().await, all);
    let report = migrator.downgrade(&Target::Base).await.unwrap();
    assert_eq!(report.steps.len(), 11);
    assert!(tables().await.is_empty(), "{:?}", tables().await);
    migrator.upgrade(&Target::Head).await.unwrap();
    assert_eq!(tables().await, all);
}

/// The original's schema at head, as Flask-Migrate leaves an SQLite database, with one user
/// (Werkzeug pbkdf2 hash of "correct horse battery staple") and one post.
pub(crate) const ORIGINAL_DATABASE: &str = r"
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version (version_num) VALUES ('834b1a697901');
CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(64) NOT NULL, email VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256), about_me VARCHAR(140), last_seen DATETIME, last_message_read_time DATETIME,
    token VARCHAR(32), token_expiration DATETIME, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_user_email ON user (email);
CREATE UNIQUE INDEX ix_user_username ON user (username);
CREATE UNIQUE INDEX ix_user_token ON user (token);
CREATE TABLE post (id INTEGER NOT NULL, body VARCHAR(140) NOT NULL, timestamp DATETIME NOT NULL, user_id INTEGER NOT NULL,
    language VARCHAR(5), PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES user (id));
CREATE INDEX ix_post_timestamp ON post (timestamp);
CREATE INDEX ix_post_user_id ON post (user_id);
CREATE TABLE followers (follower_id INTEGER NOT NULL, followed_id INTEGER NOT NULL, PRIMARY KEY (follower_id, followed_id),
    FOREIGN KEY(followed_id) REFERENCES user (id), FOREIGN KEY(follower_id) REFERENCES user (id));
CREATE TABLE message (id INTEGER NOT NULL, sender_id INTEGER NOT NULL, recipient_id INTEGER NOT NULL, body VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL, PRIMARY KEY (id));
CREATE TABLE notification (id INTEGER NOT NULL, name VARCHAR(128) NOT NULL, user_id INTEGER NOT NULL, timestamp FLOAT NOT NULL,
    payload_json TEXT NOT NULL, PRIMARY KEY (id));
CREATE TABLE task (id VARCHAR(36) NOT NULL, name VARCHAR(128) NOT NULL, description VARCHAR(128), user_id INTEGER NOT NULL,
    complete BOOLEAN NOT NULL, PRIMARY KEY (id));
INSERT INTO user (id, username, email, password_hash, last_seen) VALUES (1, 'alice', 'alice@example.com',
    'pbkdf2:sha256:1000$C6v0ACgEhFTr8vvE$9e211e0f31ce326758b330702bc8eca68e18f53f7bb7b2c652ea6a837b439456',
    '2024-01-02 03:04:05.123456');
INSERT INTO post (id, body, timestamp, user_id, language) VALUES (1, 'written by the original', '2024-01-02 03:04:05.654321', 1, 'en');
";

#[tokio::test]
async fn a_database_the_original_made_is_adopted_and_its_users_log_in_and_are_rehashed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(ORIGINAL_DATABASE).execute(&pool).await.unwrap();
    pool.close().await;

    let site = Site::on(dir).await;
    let db = site.db();
    let pool = db.sqlite_pool().unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phial_migrations").fetch_one(pool).await.unwrap();
    // Stamped from alembic_version (nine, not run), then the port's two revisions applied.
    assert_eq!(applied, 11, "stamped from alembic_version, not run");
    let stamped: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_followers_followed_id'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(stamped, 1, "the port's index is added to the original's database");
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM post").fetch_one(pool).await.unwrap();
    assert_eq!(posts, 1, "the original's rows are kept");

    let client = &site.client;
    let response = login_with(client, "alice", "wrong", "").await;
    assert!(follow_flash(client, &response).await.contains("Invalid username or password"));
    let response = login_with(client, "alice", "correct horse battery staple", "").await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/index")));
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM user WHERE id = 1").fetch_one(pool).await.unwrap();
    assert!(hash.starts_with("$argon2id$"), "rehashed at login: {hash}");

    // The session survives the rehash, and the original's post shows on the feed.
    let index = client.get("/index").send().await;
    index.assert_status(StatusCode::OK);
    assert!(index.html().contains("written by the original"), "{}", index.html());
    assert!(index.html().contains(r#"datetime="2024-01-02T03:04:05.654321Z""#), "{}", index.html());
    // Timestamps the port writes read back in SQLAlchemy's format.
    let last_seen: String =
        sqlx::query_scalar("SELECT last_seen FROM user WHERE id = 1").fetch_one(pool).await.unwrap();
    assert_eq!(last_seen.len(), "2024-01-02 03:04:05.123456".len(), "{last_seen}");
    assert_eq!(&last_seen[10..11], " ", "{last_seen}");

    // The same password logs in again against the new hash.
    client.get("/auth/logout").send().await;
    let response = login_with(client, "alice", "correct horse battery staple", "").await;
    assert_eq!(response.location(), Some("/index"));
}
