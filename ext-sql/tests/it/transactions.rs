//! The request transaction: commit on success, rollback on error or panic, shared with
//! middleware, connections always returned.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::post;
use http::StatusCode;
use phial_core::axum;
use phial_sql::testing::{TestDatabase, TestTransaction};
use phial_sql::{Databases, SqlError, Tx};

use crate::{app, count, insert_item, names, start};

async fn insert_then(tx: Tx, status: StatusCode) -> Result<StatusCode, SqlError> {
    tx.execute(&insert_item("written")).await?;
    Ok(status)
}

async fn insert_then_panic(tx: Tx) -> StatusCode {
    tx.execute(&insert_item("doomed")).await.unwrap();
    let boom = std::hint::black_box(true);
    assert!(!boom, "handler exploded after writing");
    StatusCode::OK
}

#[tokio::test]
async fn success_commits_and_error_status_rolls_back() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(
            app(&database)
                .endpoint("ok", "/ok", post(|tx: Tx| insert_then(tx, StatusCode::OK)))
                .endpoint("redirect", "/redirect", post(|tx: Tx| insert_then(tx, StatusCode::SEE_OTHER)))
                .endpoint("bad", "/bad", post(|tx: Tx| insert_then(tx, StatusCode::UNPROCESSABLE_ENTITY)))
                .endpoint("fail", "/fail", post(|tx: Tx| insert_then(tx, StatusCode::INTERNAL_SERVER_ERROR))),
        )
        .await;
        client.post("/bad").await.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        client.post("/fail").await.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(count(&db).await, 0, "{:?}: failed requests leave no row", database.backend());
        client.post("/ok").await.assert_status(StatusCode::OK);
        assert_eq!(count(&db).await, 1, "{:?}: a successful request commits", database.backend());
        db.execute(&sea_query::Query::delete().from_table("item").to_owned()).await.unwrap();
        client.post("/redirect").await.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(count(&db).await, 1, "{:?}: a redirect commits", database.backend());
    }
}

#[tokio::test]
async fn panic_rolls_back() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(app(&database).endpoint("boom", "/boom", post(insert_then_panic))).await;
        client.post("/boom").await.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        // The rollback of a dropped transaction completes as the connection returns.
        for _ in 0..50 {
            if count(&db).await == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(count(&db).await, 0, "{:?}", database.backend());
    }
}

#[tokio::test]
async fn explicit_commit_keeps_writes_on_a_4xx() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(app(&database).endpoint(
            "audit",
            "/audit",
            post(|tx: Tx| async move {
                tx.execute(&insert_item("audit-log")).await?;
                tx.commit().await?;
                tx.execute(&insert_item("not-kept")).await?;
                Ok::<_, SqlError>(StatusCode::FORBIDDEN)
            }),
        ))
        .await;
        client.post("/audit").await.assert_status(StatusCode::FORBIDDEN);
        assert_eq!(names(&db).await, ["audit-log"], "{:?}", database.backend());
    }
}

async fn audit_middleware(tx: Tx, request: Request, next: Next) -> Response {
    tx.execute(&insert_item("from-middleware")).await.unwrap();
    next.run(request).await
}

#[tokio::test]
async fn middleware_and_handler_share_the_transaction() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(
            app(&database)
                .endpoint(
                    "shared_ok",
                    "/shared/ok",
                    post(|tx: Tx| insert_then(tx, StatusCode::OK)).route_layer(from_fn(audit_middleware)),
                )
                .endpoint(
                    "shared_fail",
                    "/shared/fail",
                    post(|tx: Tx| insert_then(tx, StatusCode::CONFLICT)).route_layer(from_fn(audit_middleware)),
                ),
        )
        .await;
        let fail = tokio::time::timeout(Duration::from_secs(10), client.post("/shared/fail").send())
            .await
            .expect("no deadlock");
        fail.assert_status(StatusCode::CONFLICT);
        assert_eq!(count(&db).await, 0, "{:?}: both writes rolled back", database.backend());
        client.post("/shared/ok").await.assert_status(StatusCode::OK);
        assert_eq!(count(&db).await, 2, "{:?}: both writes committed", database.backend());
    }
}

#[tokio::test]
async fn a_thousand_failing_requests_return_every_connection() {
    for database in TestDatabase::available().await {
        let (running, client, db) =
            start(app(&database).endpoint("fail", "/fail", post(|tx: Tx| insert_then(tx, StatusCode::BAD_REQUEST))))
                .await;
        let databases = running.state().require::<Databases>().clone();
        let (_, baseline_idle) = db.pool_status();
        for _ in 0..1000 {
            client.post("/fail").await.assert_status(StatusCode::BAD_REQUEST);
        }
        let mut status = db.pool_status();
        for _ in 0..50 {
            if status.0 as usize == status.1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            status = db.pool_status();
        }
        let (size, idle) = status;
        assert_eq!(size as usize, idle, "{:?}: every connection is idle again", database.backend());
        assert!(idle >= baseline_idle, "{:?}: idle {idle} below baseline {baseline_idle}", database.backend());
        assert_eq!(count(databases.default_db()).await, 0);
    }
}

#[tokio::test]
async fn test_transaction_discards_everything_and_keeps_request_semantics() {
    for database in TestDatabase::available().await {
        let (running, client, db) = start(
            app(&database)
                .endpoint("ok", "/ok", post(|tx: Tx| insert_then(tx, StatusCode::OK)))
                .endpoint("bad", "/bad", post(|tx: Tx| insert_then(tx, StatusCode::BAD_REQUEST)))
                .endpoint("boom", "/boom", post(insert_then_panic)),
        )
        .await;
        let backend = database.backend();
        db.execute(&insert_item("before")).await.unwrap();
        let databases = running.state().require::<Databases>();

        let test = TestTransaction::begin(databases).await.unwrap();
        let again = TestTransaction::begin(databases).await;
        assert!(again.is_err(), "{backend:?}: one test transaction per database at a time");
        db.execute(&insert_item("direct")).await.unwrap();
        client.post("/bad").await.assert_status(StatusCode::BAD_REQUEST);
        client.post("/boom").await.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(names(&db).await, ["before", "direct"], "{backend:?}: failed requests roll back");
        client.post("/ok").await.assert_status(StatusCode::OK);
        assert_eq!(names(&db).await, ["before", "direct", "written"], "{backend:?}: a success is kept");
        test.rollback().await.unwrap();

        assert_eq!(names(&db).await, ["before"], "{backend:?}: the test's writes are gone");
        client.post("/ok").await.assert_status(StatusCode::OK);
        assert_eq!(count(&db).await, 2, "{backend:?}: back to normal commits afterwards");
    }
}

#[tokio::test]
async fn test_transactions_on_one_server_database_do_not_see_each_other() {
    for database in TestDatabase::available().await {
        if database.backend() == phial_sql::Backend::Sqlite {
            continue; // one writer at a time: documented, each SQLite test gets its own file
        }
        let (first_app, first, first_db) = start(app(&database)).await;
        let (second_app, second, second_db) = start(app(&database)).await;
        let first_test = TestTransaction::begin(first_app.state().require::<Databases>()).await.unwrap();
        let second_test = TestTransaction::begin(second_app.state().require::<Databases>()).await.unwrap();
        first.post("/items").body("one").await.assert_status(StatusCode::CREATED);
        second.post("/items").body("two").await.assert_status(StatusCode::CREATED);
        assert_eq!(names(&first_db).await, ["one"], "{:?}", database.backend());
        assert_eq!(names(&second_db).await, ["two"], "{:?}", database.backend());
        first_test.rollback().await.unwrap();
        drop(second_test); // dropping rolls back too
        assert_eq!(count(&first_db).await, 0, "{:?}", database.backend());
    }
}
