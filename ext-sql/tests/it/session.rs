//! The SQL session store on every backend: the store's contract, expiry and cleanup, and
//! sessions in an app (`SqlExtension::session_store`, `app.session.store = "sql"`).

use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use http::StatusCode;
use phial_core::axum;
use phial_core::prelude::*;
use phial_core::session::{Record, SessionId, SessionStore};
use phial_core::testing::TestClient;
use phial_sql::testing::TestDatabase;
use phial_sql::{Databases, Db, SqlExtension, SqlSessionStore};
use sea_query::{Asterisk, Expr, ExprTrait, Query};
use time::OffsetDateTime;

/// An app on `database` whose sessions live in its `phial_session` table.
fn session_app(database: &TestDatabase) -> AppBuilder {
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .set("sql.url", database.url())
        .set("app.session.store", "sql")
        .extension(SqlExtension::new().session_store().create_all_on_start())
        .endpoint("show", "/", get(show))
        .endpoint("visit", "/visit/{user}", post(visit))
        .endpoint("login", "/login/{user}", post(login))
}

async fn show(session: Session) -> String {
    session.get::<String>("user").unwrap_or_else(|| "anonymous".to_owned())
}

async fn visit(session: Session, Path(user): Path<String>) -> Result<&'static str, HttpError> {
    session.insert("user", user)?;
    Ok("saved")
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, HttpError> {
    session.cycle_id();
    session.insert("user", user)?;
    Ok("logged in")
}

async fn start(builder: AppBuilder) -> (RunningApp, TestClient, Db) {
    let running = builder.build().unwrap().start().await.unwrap();
    let client = running.test_client();
    let db = running.state().require::<Databases>().default_db().clone();
    (running, client, db)
}

/// Closes the app's pools while the runtime still runs, so that dropping the test database
/// never waits on a connection nobody can close any more.
async fn stop(running: RunningApp) {
    tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await.expect("shutdown ends");
}

async fn rows(db: &Db) -> i64 {
    let select = Query::select().expr(Expr::col(Asterisk).count()).from(SqlSessionStore::TABLE).to_owned();
    db.fetch_scalar(&select).await.unwrap()
}

fn record(n: i64) -> Record {
    let mut data = serde_json::Map::new();
    data.insert("n".into(), n.into());
    Record::new(data, true)
}

fn id() -> SessionId {
    SessionId::generate().unwrap()
}

#[tokio::test]
async fn sql_store_saves_loads_replaces_and_deletes() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        let (running, _client, db) = start(session_app(&database)).await;
        let store = SqlSessionStore::new(db.clone());
        let (a, b) = (id(), id());
        let later = OffsetDateTime::now_utc() + time::Duration::hours(1);

        assert_eq!(store.load(&a).await.unwrap(), None, "{backend:?}");
        store.save(&a, &record(1), later).await.unwrap();
        store.save(&b, &record(9), later).await.unwrap();
        assert_eq!(store.load(&a).await.unwrap(), Some(record(1)), "{backend:?}");
        store.save(&a, &record(2), later).await.unwrap();
        assert_eq!(store.load(&a).await.unwrap(), Some(record(2)), "{backend:?}: a save replaces");
        assert_eq!(rows(&db).await, 2, "{backend:?}");

        store.delete(&a).await.unwrap();
        assert_eq!(store.load(&a).await.unwrap(), None, "{backend:?}");
        store.delete(&a).await.expect("deleting an absent id succeeds");
        assert_eq!(store.load(&b).await.unwrap(), Some(record(9)), "{backend:?}: other sessions stay");
        stop(running).await;
    }
}

#[tokio::test]
async fn expired_rows_do_not_load_and_cleanup_removes_only_them() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        let (running, _client, db) = start(session_app(&database)).await;
        let store = SqlSessionStore::new(db.clone());
        let (old, soon, live) = (id(), id(), id());
        let now = OffsetDateTime::now_utc();

        store.save(&old, &record(1), now - time::Duration::seconds(1)).await.unwrap();
        store.save(&soon, &record(2), now + time::Duration::milliseconds(300)).await.unwrap();
        store.save(&live, &record(3), now + time::Duration::hours(1)).await.unwrap();
        assert_eq!(store.load(&old).await.unwrap(), None, "{backend:?}: an expired row is ignored");
        assert_eq!(store.load(&soon).await.unwrap(), Some(record(2)), "{backend:?}");

        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(store.load(&soon).await.unwrap(), None, "{backend:?}: ignored once its expiry passes");
        assert_eq!(rows(&db).await, 3, "{backend:?}: expired rows stay until cleanup");
        assert_eq!(store.cleanup_expired().await.unwrap(), 2, "{backend:?}");
        assert_eq!(rows(&db).await, 1, "{backend:?}");
        assert_eq!(store.load(&live).await.unwrap(), Some(record(3)), "{backend:?}: live sessions are kept");
        assert_eq!(store.cleanup_expired().await.unwrap(), 0, "{backend:?}");
        stop(running).await;
    }
}

#[tokio::test]
async fn session_id_before_rotation_no_longer_resolves_after_it() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        let (running, client, db) = start(session_app(&database)).await;

        client.post("/visit/guest").await.assert_status(StatusCode::OK);
        let before = client.cookie("session").expect("a session cookie");
        assert_eq!(client.get("/").await.text(), "guest", "{backend:?}");

        client.post("/login/alice").await.assert_status(StatusCode::OK);
        let after = client.cookie("session").expect("a session cookie");
        assert_ne!(before, after, "{backend:?}: login gives the session a new id");
        assert_eq!(client.get("/").await.text(), "alice", "{backend:?}");
        assert_eq!(rows(&db).await, 1, "{backend:?}: the row under the old id is deleted");

        let attacker = client.new_session();
        attacker.set_cookie("session", &before);
        assert_eq!(attacker.get("/").await.text(), "anonymous", "{backend:?}: the old id resolves to nothing");
        stop(running).await;
    }
}

#[tokio::test]
async fn background_task_deletes_expired_rows_and_keeps_live_ones() {
    for database in TestDatabase::available().await {
        let backend = database.backend();
        let (running, _client, db) = start(session_app(&database).set("sql.session_cleanup_interval", 0.1)).await;
        let store = SqlSessionStore::new(db.clone());
        let (old, live) = (id(), id());
        let now = OffsetDateTime::now_utc();
        store.save(&old, &record(1), now - time::Duration::seconds(1)).await.unwrap();
        store.save(&live, &record(2), now + time::Duration::hours(1)).await.unwrap();

        let mut remaining = rows(&db).await;
        for _ in 0..50 {
            if remaining == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            remaining = rows(&db).await;
        }
        assert_eq!(remaining, 1, "{backend:?}: the cleanup task removed the expired row");
        assert_eq!(store.load(&live).await.unwrap(), Some(record(2)), "{backend:?}");
        stop(running).await;
    }
}

#[tokio::test]
async fn session_table_is_declared_for_create_all_and_migrations() {
    let database = TestDatabase::sqlite();
    let (_running, _client, db) = start(session_app(&database)).await;
    assert_eq!(rows(&db).await, 0, "create_all made the table");
    let running = session_app(&database).build().unwrap().start().await.unwrap();
    let tables: Vec<&str> =
        running.state().require::<Databases>().tables().iter().map(phial_sql::Table::name).collect();
    assert_eq!(tables, [SqlSessionStore::TABLE]);
}

#[tokio::test]
async fn sql_store_without_session_store_call_says_what_to_add() {
    let database = TestDatabase::sqlite();
    let err = App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .set("sql.url", database.url())
        .set("app.session.store", "sql")
        .extension(SqlExtension::new())
        .build()
        .unwrap()
        .start()
        .await
        .err()
        .expect("startup fails");
    assert!(err.to_string().contains("SqlExtension::session_store()"), "{err}");
}

#[tokio::test]
async fn create_all_twice_leaves_tables_and_indexes_as_they_are_on_every_backend() {
    for db in TestDatabase::available().await {
        let databases =
            Databases::connect(&db.config(), std::path::Path::new("."), vec![SqlSessionStore::table()]).await.unwrap();
        // A second instance of an app starting on the same database runs create_all again.
        databases.create_all("default").await.unwrap();
        databases.create_all("default").await.unwrap_or_else(|err| panic!("{:?}: {err}", db.backend()));
        databases.close().await;
    }
}

#[tokio::test]
async fn insert_returns_32_bit_keys_as_i64_on_every_backend() {
    // Flask-SQLAlchemy's `db.Integer` primary keys are 32-bit (`SERIAL` on PostgreSQL).
    let table = phial_sql::Table::new(
        sea_query::Table::create()
            .table("small_key")
            .col(sea_query::ColumnDef::new("id").integer().not_null().auto_increment().primary_key())
            .col(sea_query::ColumnDef::new("name").string_len(20).not_null())
            .to_owned(),
    );
    for db in TestDatabase::available().await {
        let databases = Databases::connect(&db.config(), std::path::Path::new("."), vec![table.clone()]).await.unwrap();
        databases.create_all("default").await.unwrap();
        let insert = |name: &str| {
            Query::insert().into_table("small_key").columns(["name"]).values_panic([name.into()]).to_owned()
        };
        let first = databases
            .default_db()
            .insert(&insert("a"), "id")
            .await
            .unwrap_or_else(|err| panic!("{:?}: {err}", db.backend()));
        let second = databases.default_db().insert(&insert("b"), "id").await.unwrap();
        assert_eq!(second, first + 1, "{:?}", db.backend());
        databases.close().await;
    }
}
