//! A database the Flask original created and filled, on SQLite, PostgreSQL and MariaDB: the
//! schema its nine Alembic revisions leave there (as SQLAlchemy 2 and Alembic emit it),
//! `alembic_version` at its head, and rows written as the original writes them (no explicit
//! ids, so the sequences and auto-increment counters stand where the original left them). The
//! port adopts it, serves its rows, logs its users in with their old passwords, writes after
//! them, and can step back off it. PostgreSQL and MariaDB skip with a notice when their server
//! is down, unless `PHIAL_TEST_REQUIRE_SERVICES=1`.

use base64::Engine as _;
use phial::axum::http::StatusCode;
use phial::migrate::{MigrateConfig, Migrator, Target};
use phial::sql::testing::TestDatabase;
use phial::sql::{Backend, Db};
use sea_query::{Expr, ExprTrait, Query};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::{Site, csrf_token, follow_flash, login_with};

/// `alembic upgrade head` of the original on PostgreSQL: each revision's DDL as SQLAlchemy 2's
/// PostgreSQL dialect renders it, then Alembic's bookkeeping.
const POSTGRES: &str = r#"
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE "user" (
    id SERIAL NOT NULL,
    username VARCHAR(64) NOT NULL,
    email VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);
CREATE UNIQUE INDEX ix_user_username ON "user" (username);
INSERT INTO alembic_version (version_num) VALUES ('e517276bb1c2');
CREATE TABLE post (
    id SERIAL NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_post_timestamp ON post (timestamp);
CREATE INDEX ix_post_user_id ON post (user_id);
UPDATE alembic_version SET version_num='780739b227a7' WHERE alembic_version.version_num = 'e517276bb1c2';
ALTER TABLE "user" ADD COLUMN about_me VARCHAR(140);
ALTER TABLE "user" ADD COLUMN last_seen TIMESTAMP WITHOUT TIME ZONE;
UPDATE alembic_version SET version_num='37f06a334dbf' WHERE alembic_version.version_num = '780739b227a7';
CREATE TABLE followers (
    follower_id INTEGER NOT NULL,
    followed_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followed_id),
    FOREIGN KEY(followed_id) REFERENCES "user" (id),
    FOREIGN KEY(follower_id) REFERENCES "user" (id)
);
UPDATE alembic_version SET version_num='ae346256b650' WHERE alembic_version.version_num = '37f06a334dbf';
ALTER TABLE post ADD COLUMN language VARCHAR(5);
UPDATE alembic_version SET version_num='2b017edaa91f' WHERE alembic_version.version_num = 'ae346256b650';
CREATE TABLE message (
    id SERIAL NOT NULL,
    sender_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(recipient_id) REFERENCES "user" (id),
    FOREIGN KEY(sender_id) REFERENCES "user" (id)
);
CREATE INDEX ix_message_recipient_id ON message (recipient_id);
CREATE INDEX ix_message_sender_id ON message (sender_id);
CREATE INDEX ix_message_timestamp ON message (timestamp);
ALTER TABLE "user" ADD COLUMN last_message_read_time TIMESTAMP WITHOUT TIME ZONE;
UPDATE alembic_version SET version_num='d049de007ccf' WHERE alembic_version.version_num = '2b017edaa91f';
CREATE TABLE notification (
    id SERIAL NOT NULL,
    name VARCHAR(128) NOT NULL,
    user_id INTEGER NOT NULL,
    timestamp FLOAT NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_notification_name ON notification (name);
CREATE INDEX ix_notification_timestamp ON notification (timestamp);
CREATE INDEX ix_notification_user_id ON notification (user_id);
UPDATE alembic_version SET version_num='f7ac3d27bb1d' WHERE alembic_version.version_num = 'd049de007ccf';
CREATE TABLE task (
    id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description VARCHAR(128),
    user_id INTEGER NOT NULL,
    complete BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_task_name ON task (name);
UPDATE alembic_version SET version_num='c81bac34faab' WHERE alembic_version.version_num = 'f7ac3d27bb1d';
ALTER TABLE "user" ADD COLUMN token VARCHAR(32);
ALTER TABLE "user" ADD COLUMN token_expiration TIMESTAMP WITHOUT TIME ZONE;
CREATE UNIQUE INDEX ix_user_token ON "user" (token);
UPDATE alembic_version SET version_num='834b1a697901' WHERE alembic_version.version_num = 'c81bac34faab';
"#;

/// The same on MariaDB, as SQLAlchemy 2's MySQL dialect renders it: `AUTO_INCREMENT` keys,
/// `DATETIME` without fractional seconds, `BOOL`, a 4-byte `FLOAT`.
const MARIADB: &str = r"
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE `user` (
    id INTEGER NOT NULL AUTO_INCREMENT,
    username VARCHAR(64) NOT NULL,
    email VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON `user` (email);
CREATE UNIQUE INDEX ix_user_username ON `user` (username);
INSERT INTO alembic_version (version_num) VALUES ('e517276bb1c2');
CREATE TABLE post (
    id INTEGER NOT NULL AUTO_INCREMENT,
    body VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES `user` (id)
);
CREATE INDEX ix_post_timestamp ON post (timestamp);
CREATE INDEX ix_post_user_id ON post (user_id);
UPDATE alembic_version SET version_num='780739b227a7' WHERE alembic_version.version_num = 'e517276bb1c2';
ALTER TABLE `user` ADD COLUMN about_me VARCHAR(140);
ALTER TABLE `user` ADD COLUMN last_seen DATETIME;
UPDATE alembic_version SET version_num='37f06a334dbf' WHERE alembic_version.version_num = '780739b227a7';
CREATE TABLE followers (
    follower_id INTEGER NOT NULL,
    followed_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followed_id),
    FOREIGN KEY(followed_id) REFERENCES `user` (id),
    FOREIGN KEY(follower_id) REFERENCES `user` (id)
);
UPDATE alembic_version SET version_num='ae346256b650' WHERE alembic_version.version_num = '37f06a334dbf';
ALTER TABLE post ADD COLUMN language VARCHAR(5);
UPDATE alembic_version SET version_num='2b017edaa91f' WHERE alembic_version.version_num = 'ae346256b650';
CREATE TABLE message (
    id INTEGER NOT NULL AUTO_INCREMENT,
    sender_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(recipient_id) REFERENCES `user` (id),
    FOREIGN KEY(sender_id) REFERENCES `user` (id)
);
CREATE INDEX ix_message_recipient_id ON message (recipient_id);
CREATE INDEX ix_message_sender_id ON message (sender_id);
CREATE INDEX ix_message_timestamp ON message (timestamp);
ALTER TABLE `user` ADD COLUMN last_message_read_time DATETIME;
UPDATE alembic_version SET version_num='d049de007ccf' WHERE alembic_version.version_num = '2b017edaa91f';
CREATE TABLE notification (
    id INTEGER NOT NULL AUTO_INCREMENT,
    name VARCHAR(128) NOT NULL,
    user_id INTEGER NOT NULL,
    timestamp FLOAT NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES `user` (id)
);
CREATE INDEX ix_notification_name ON notification (name);
CREATE INDEX ix_notification_timestamp ON notification (timestamp);
CREATE INDEX ix_notification_user_id ON notification (user_id);
UPDATE alembic_version SET version_num='f7ac3d27bb1d' WHERE alembic_version.version_num = 'd049de007ccf';
CREATE TABLE task (
    id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description VARCHAR(128),
    user_id INTEGER NOT NULL,
    complete BOOL NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES `user` (id)
);
CREATE INDEX ix_task_name ON task (name);
UPDATE alembic_version SET version_num='c81bac34faab' WHERE alembic_version.version_num = 'f7ac3d27bb1d';
ALTER TABLE `user` ADD COLUMN token VARCHAR(32);
ALTER TABLE `user` ADD COLUMN token_expiration DATETIME;
CREATE UNIQUE INDEX ix_user_token ON `user` (token);
UPDATE alembic_version SET version_num='834b1a697901' WHERE alembic_version.version_num = 'c81bac34faab';
";

/// The same on SQLite, as SQLAlchemy 2's SQLite dialect renders it (Alembic's batch mode adds
/// these columns with a plain `ALTER TABLE`): `INTEGER` keys (SQLite's row ids), `DATETIME`
/// holding SQLAlchemy's text, `BOOLEAN` holding 0 and 1.
const SQLITE: &str = r"
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE user (
    id INTEGER NOT NULL,
    username VARCHAR(64) NOT NULL,
    email VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON user (email);
CREATE UNIQUE INDEX ix_user_username ON user (username);
INSERT INTO alembic_version (version_num) VALUES ('e517276bb1c2');
CREATE TABLE post (
    id INTEGER NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES user (id)
);
CREATE INDEX ix_post_timestamp ON post (timestamp);
CREATE INDEX ix_post_user_id ON post (user_id);
UPDATE alembic_version SET version_num='780739b227a7' WHERE alembic_version.version_num = 'e517276bb1c2';
ALTER TABLE user ADD COLUMN about_me VARCHAR(140);
ALTER TABLE user ADD COLUMN last_seen DATETIME;
UPDATE alembic_version SET version_num='37f06a334dbf' WHERE alembic_version.version_num = '780739b227a7';
CREATE TABLE followers (
    follower_id INTEGER NOT NULL,
    followed_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followed_id),
    FOREIGN KEY(followed_id) REFERENCES user (id),
    FOREIGN KEY(follower_id) REFERENCES user (id)
);
UPDATE alembic_version SET version_num='ae346256b650' WHERE alembic_version.version_num = '37f06a334dbf';
ALTER TABLE post ADD COLUMN language VARCHAR(5);
UPDATE alembic_version SET version_num='2b017edaa91f' WHERE alembic_version.version_num = 'ae346256b650';
CREATE TABLE message (
    id INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    body VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(recipient_id) REFERENCES user (id),
    FOREIGN KEY(sender_id) REFERENCES user (id)
);
CREATE INDEX ix_message_recipient_id ON message (recipient_id);
CREATE INDEX ix_message_sender_id ON message (sender_id);
CREATE INDEX ix_message_timestamp ON message (timestamp);
ALTER TABLE user ADD COLUMN last_message_read_time DATETIME;
UPDATE alembic_version SET version_num='d049de007ccf' WHERE alembic_version.version_num = '2b017edaa91f';
CREATE TABLE notification (
    id INTEGER NOT NULL,
    name VARCHAR(128) NOT NULL,
    user_id INTEGER NOT NULL,
    timestamp FLOAT NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES user (id)
);
CREATE INDEX ix_notification_name ON notification (name);
CREATE INDEX ix_notification_timestamp ON notification (timestamp);
CREATE INDEX ix_notification_user_id ON notification (user_id);
UPDATE alembic_version SET version_num='f7ac3d27bb1d' WHERE alembic_version.version_num = 'd049de007ccf';
CREATE TABLE task (
    id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description VARCHAR(128),
    user_id INTEGER NOT NULL,
    complete BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES user (id)
);
CREATE INDEX ix_task_name ON task (name);
UPDATE alembic_version SET version_num='c81bac34faab' WHERE alembic_version.version_num = 'f7ac3d27bb1d';
ALTER TABLE user ADD COLUMN token VARCHAR(32);
ALTER TABLE user ADD COLUMN token_expiration DATETIME;
CREATE UNIQUE INDEX ix_user_token ON user (token);
UPDATE alembic_version SET version_num='834b1a697901' WHERE alembic_version.version_num = 'c81bac34faab';
";

/// The rows, as the original's sessions insert them: keys left to the database, naive UTC
/// datetimes with microseconds (which MariaDB's `DATETIME` cuts to seconds), `time()` floats,
/// `json.dumps` payloads. `{user}` is the backend's quoted `user`. alice's password hash is
/// Werkzeug's `pbkdf2:sha256:1000`, bob's `scrypt:16384:8:1`, both of "correct horse battery
/// staple" (from phial-login's Werkzeug fixtures); bob holds an API token the original issued.
const ROWS: &str = r#"
INSERT INTO {user} (username, email, password_hash, about_me, last_seen, last_message_read_time, token, token_expiration)
    VALUES ('alice', 'alice@example.com',
    'pbkdf2:sha256:1000$C6v0ACgEhFTr8vvE$9e211e0f31ce326758b330702bc8eca68e18f53f7bb7b2c652ea6a837b439456',
    'I came from Flask', '2024-01-02 03:04:05.123456', NULL, NULL, NULL);
INSERT INTO {user} (username, email, password_hash, about_me, last_seen, last_message_read_time, token, token_expiration)
    VALUES ('bob', 'bob@example.com',
    'scrypt:16384:8:1$iH7BCDSS100UBf2O$5b3e563c78f45b6be7475649bb6ac3c23adf1216b57e80e1b686d1c2097007e5bae0a22003d25e499b75d54445b362dc908f7dda6e7ed80908339cfbbe53fc48',
    NULL, '2024-01-03 10:00:00.500000', '2024-01-03 10:00:00.400000', '0123456789abcdef0123456789abcdef',
    '2099-01-01 00:00:00.000000');
INSERT INTO post (body, timestamp, user_id, language) VALUES ('written by the original', '2024-01-02 03:04:05.654321', 1, 'en');
INSERT INTO post (body, timestamp, user_id, language) VALUES ('bob wrote this in Flask', '2024-01-03 10:00:01.000001', 2, 'en');
INSERT INTO post (body, timestamp, user_id, language) VALUES ('¿y esto? ñandú', '2024-01-03 10:00:02.250000', 2, '');
INSERT INTO followers (follower_id, followed_id) VALUES (1, 2);
INSERT INTO message (sender_id, recipient_id, body, timestamp) VALUES (2, 1, 'a message from the original', '2024-01-03 10:05:00.750000');
INSERT INTO notification (name, user_id, timestamp, payload_json) VALUES ('unread_message_count', 1, 1704276300.75, '1');
INSERT INTO notification (name, user_id, timestamp, payload_json)
    VALUES ('task_progress', 2, 1704276000.5, '{"task_id": "5f0c3c1e-8a0d-4a1b-9a57-2f6f2d1c0e01", "progress": 100}');
INSERT INTO task (id, name, description, user_id, complete)
    VALUES ('5f0c3c1e-8a0d-4a1b-9a57-2f6f2d1c0e01', 'export_posts', 'Exporting posts...', 2, true);
INSERT INTO task (id, name, description, user_id, complete)
    VALUES ('9b2d7e4a-1c3f-4e5d-8a6b-7c8d9e0f1a2b', 'export_posts', 'Exporting posts...', 2, false);
"#;

/// What alice's `last_seen` reads as in the API: the original's microseconds, or none where
/// MariaDB's `DATETIME` dropped them (as Python prints a time without them).
fn alice_last_seen(backend: Backend) -> &'static str {
    if backend == Backend::MySql { "2024-01-02T03:04:05+00:00" } else { "2024-01-02T03:04:05.123456+00:00" }
}

/// Runs the original's DDL and rows on `database`.
async fn create_originals_database(database: &TestDatabase, ddl: &str) {
    let url = database.url();
    match database.backend() {
        Backend::Postgres => {
            let rows = ROWS.replace("{user}", r#""user""#);
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            // A server clock that is not UTC: naive UTC is what both apps store regardless.
            sqlx::raw_sql(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), \
                 'Pacific/Auckland'); END $$",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("{ddl}{rows}"))).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::MySql => {
            let rows = ROWS.replace("{user}", "`user`");
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("{ddl}{rows}"))).execute(&pool).await.unwrap();
            pool.close().await;
        }
        _ => {
            let rows = ROWS.replace("{user}", "user");
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("{ddl}{rows}"))).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// `SELECT COUNT(*)` of `sql` in the backend's own dialect.
async fn count(db: &Db, sql: &'static str) -> i64 {
    if let Some(pool) = db.postgres_pool() {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    } else {
        sqlx::query_scalar(sql).fetch_one(db.sqlite_pool().unwrap()).await.unwrap()
    }
}

/// The id of the row of `table` whose `column` is `value`.
async fn id_of(db: &Db, table: &str, column: &str, value: &str) -> i32 {
    let select = Query::select()
        .column("id")
        .from(table.to_owned())
        .and_where(Expr::col(column.to_owned()).eq(value))
        .to_owned();
    db.fetch_scalar(&select).await.unwrap()
}

/// `user.password_hash` of `username`.
async fn password_hash(db: &Db, username: &str) -> String {
    let select =
        Query::select().column("password_hash").from("user").and_where(Expr::col("username").eq(username)).to_owned();
    db.fetch_scalar(&select).await.unwrap()
}

/// Rows of `table`.
async fn rows(db: &Db, table: &str) -> i64 {
    let select = Query::select().expr(Expr::cust("COUNT(*)")).from(table.to_owned()).to_owned();
    db.fetch_scalar(&select).await.unwrap()
}

async fn the_originals_database_is_adopted_and_served(database: TestDatabase, ddl: &str, revisions: i64) {
    let backend = database.backend();
    create_originals_database(&database, ddl).await;
    let url = database.url().to_owned();
    let site = Site::at(&url, Box::new(database)).await;
    adopted_with_its_rows(&site.db(), backend, revisions).await;
    originals_rows_are_served(&site, backend).await;
    new_rows_come_after_the_originals(&site).await;
    scrypt_user_logs_in_and_is_notified(&site).await;
    port_revisions_step_off_and_on(&site.db(), backend, revisions).await;
}

/// `SELECT COUNT(*)` of the port's index on `followers(followed_id)`, in `backend`'s catalog.
fn port_index(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'ix_followers_followed_id'",
        Backend::MySql => {
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() \
             AND index_name = 'ix_followers_followed_id'"
        }
        _ => "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_followers_followed_id'",
    }
}

/// Stamped from `alembic_version` (running the original's revisions again would fail on the
/// existing tables), then only the port's own revisions applied; the rows kept.
async fn adopted_with_its_rows(db: &Db, backend: Backend, revisions: i64) {
    assert_eq!(count(db, "SELECT COUNT(*) FROM phial_migrations").await, revisions);
    assert_eq!(count(db, port_index(backend)).await, 1, "the port's index is added to the original's database");
    assert_eq!(
        (rows(db, "user").await, rows(db, "post").await, rows(db, "followers").await, rows(db, "message").await),
        (2, 3, 1, 1)
    );
    // The export the original left running was interrupted: marked complete (a BOOL written).
    let running =
        Query::select().expr(Expr::cust("COUNT(*)")).from("task").and_where(Expr::col("complete").eq(false)).to_owned();
    assert_eq!((rows(db, "task").await, db.fetch_scalar::<i64, _>(&running).await.unwrap()), (2, 0));
}

/// The original's token, user, password, notification, posts, message and follow, through the
/// port's API and pages.
async fn originals_rows_are_served(site: &Site, backend: Backend) {
    let db = site.db();
    // The API token the original issued bob still works; alice as the original stored her.
    let client = &site.client;
    let api = client.new_session();
    let alice = api.get("/api/users/1").bearer("0123456789abcdef0123456789abcdef").send().await;
    alice.assert_status(StatusCode::OK);
    let alice = alice.json_value();
    assert_eq!(
        (&alice["username"], &alice["about_me"], &alice["last_seen"]),
        (&"alice".into(), &"I came from Flask".into(), &alice_last_seen(backend).into()),
        "{alice}"
    );
    assert_eq!(
        (&alice["post_count"], &alice["follower_count"], &alice["following_count"]),
        (&1.into(), &0.into(), &1.into())
    );
    let followers = api.get("/api/users/2/followers").bearer("0123456789abcdef0123456789abcdef").send().await;
    assert_eq!(followers.json_value()["items"][0]["username"], "alice", "{}", followers.text());

    // alice logs in with her Werkzeug password and is rehashed to argon2id.
    let response = login_with(client, "alice", "correct horse battery stapler", "").await;
    assert!(follow_flash(client, &response).await.contains("Invalid username or password"));
    let response = login_with(client, "alice", "correct horse battery staple", "").await;
    assert_eq!((response.status(), response.location()), (StatusCode::FOUND, Some("/index")), "{}", response.text());
    let hash = password_hash(&db, "alice").await;
    assert!(hash.starts_with("$argon2id$"), "rehashed at login: {hash}");

    // The original's notification, posts, message and follow, on the port's pages.
    let notifications = client.get("/notifications").send().await.json_value();
    assert_eq!(
        (notifications[0]["name"].as_str(), notifications[0]["data"].as_i64()),
        (Some("unread_message_count"), Some(1)),
        "{notifications}"
    );
    let html = client.get("/index").send().await.html().to_owned();
    for body in ["written by the original", "bob wrote this in Flask", "¿y esto? ñandú"] {
        assert!(html.contains(body), "{body}: {html}");
    }
    let shown = if backend == Backend::MySql { "2024-01-02T03:04:05.000000Z" } else { "2024-01-02T03:04:05.654321Z" };
    assert!(html.contains(&format!(r#"datetime="{shown}""#)), "{html}");
    assert!(client.get("/messages").send().await.html().contains("a message from the original"));
    assert!(client.get("/user/bob").send().await.html().contains("1 followers, 0 following"));
}

/// New rows take the ids after the original's (no key reused, no duplicate-key error), and
/// their timestamps are what the original writes.
async fn new_rows_come_after_the_originals(site: &Site) {
    let (client, db) = (&site.client, site.db());
    let token = csrf_token(client, "/index").await;
    let response =
        client.post("/index").form(&[("csrf_token", token.as_str()), ("post", "hello from the port")]).send().await;
    assert_eq!(response.location(), Some("/index"));
    assert_eq!(id_of(&db, "post", "body", "hello from the port").await, 4);
    let token = csrf_token(client, "/send_message/bob").await;
    let response =
        client.post("/send_message/bob").form(&[("csrf_token", token.as_str()), ("message", "psst, bob")]).send().await;
    assert_eq!(response.location(), Some("/user/bob"));
    assert_eq!(id_of(&db, "message", "body", "psst, bob").await, 2);
    site.register("carol").await;
    assert_eq!(id_of(&db, "user", "username", "carol").await, 3);
    let carol = client.new_session();
    site.login(&carol, "carol").await;
    let token = csrf_token(&carol, "/user/alice").await;
    let response = carol.post("/follow/alice").form(&[("csrf_token", token.as_str())]).send().await;
    let html = follow_flash(&carol, &response).await;
    assert!(html.contains("You are following alice!") && html.contains("1 followers, 1 following"), "{html}");

    // What the port wrote is naive UTC, whatever the server's clock zone: the original reads it
    // back as the same time.
    let select = Query::select().column("timestamp").from("post").and_where(Expr::col("id").eq(4)).to_owned();
    let written: PrimitiveDateTime = db.fetch_scalar(&select).await.unwrap();
    let skew = (written.assume_utc() - OffsetDateTime::now_utc()).abs();
    assert!(skew < time::Duration::minutes(1), "post.timestamp {written} is not UTC now");
}

/// bob logs in with his Werkzeug scrypt password, is rehashed, and is told of alice's messages
/// as they come.
async fn scrypt_user_logs_in_and_is_notified(site: &Site) {
    let (client, db) = (&site.client, site.db());
    let bob = client.new_session();
    let response = login_with(&bob, "bob", "correct horse battery staple", "").await;
    assert_eq!(response.location(), Some("/index"), "{}", response.text());
    assert!(password_hash(&db, "bob").await.starts_with("$argon2id$"));
    let polled = bob.get("/notifications?since=0").send().await.json_value();
    let unread = polled.as_array().unwrap().iter().find(|n| n["name"] == "unread_message_count").unwrap().clone();
    assert_eq!(unread["data"], 1, "{polled}");
    let token = csrf_token(client, "/send_message/bob").await;
    let response =
        client.post("/send_message/bob").form(&[("csrf_token", token.as_str()), ("message", "and again")]).send().await;
    assert_eq!(response.location(), Some("/user/bob"));
    // The page polls with the last timestamp it saw: the next count must be newer than it.
    let polled = bob.get(format!("/notifications?since={}", unread["timestamp"])).send().await.json_value();
    assert_eq!(polled[0]["data"], 2, "a notification a moment later is newer: {polled} after {unread}");
    assert!(bob.get("/messages").send().await.html().contains("psst, bob"));
    let html = bob.get("/explore").send().await.html().to_owned();
    assert!(html.contains("hello from the port") && html.contains("written by the original"), "{html}");
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:correct horse battery staple"));
    let response = bob.post("/api/tokens").header("Authorization", basic.as_str()).send().await;
    assert_eq!(
        response.json_value()["token"],
        "0123456789abcdef0123456789abcdef",
        "the original's token, good for a while yet, is handed out again"
    );
}

/// The port's revisions come off again, leaving the original's schema and `alembic_version` (to
/// go back to the original), and go on again.
async fn port_revisions_step_off_and_on(db: &Db, backend: Backend, revisions: i64) {
    let mut config = MigrateConfig::default();
    config.directory = format!("{}/migrations/{}", env!("CARGO_MANIFEST_DIR"), directory(backend)).into();
    let migrator = Migrator::new(db.clone(), &config).unwrap();
    let port = usize::try_from(revisions - 9).unwrap();
    assert_eq!(migrator.downgrade(&"834b1a697901".parse().unwrap()).await.unwrap().steps.len(), port);
    assert_eq!(count(db, port_index(backend)).await, 0);
    assert_eq!(migrator.alembic_heads().await.unwrap(), ["834b1a697901"]);
    assert_eq!(rows(db, "post").await, 4);
    assert_eq!(migrator.upgrade(&Target::Head).await.unwrap().steps.len(), port);
}

/// The folder of `backend`'s revisions.
fn directory(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
        _ => "sqlite",
    }
}

#[tokio::test]
async fn an_sqlite_database_the_original_made_is_adopted_and_served() {
    // The original's nine revisions stamped; the followers index and remember-me tokens applied.
    the_originals_database_is_adopted_and_served(TestDatabase::sqlite(), SQLITE, 11).await;
}

#[tokio::test]
async fn a_postgres_database_the_original_made_is_adopted_and_served() {
    let Some(database) = TestDatabase::postgres().await else { return };
    // The original's nine revisions stamped; the search index, followers index and
    // remember-me tokens applied.
    the_originals_database_is_adopted_and_served(database, POSTGRES, 12).await;
}

#[tokio::test]
async fn a_mariadb_database_the_original_made_is_adopted_and_served() {
    let Some(database) = TestDatabase::mysql().await else { return };
    // The original's nine revisions stamped; the followers index, remember-me tokens and
    // the DOUBLE notification timestamp applied.
    the_originals_database_is_adopted_and_served(database, MARIADB, 12).await;
}
