//! Pagination over HTTP with Flask-SQLAlchemy's numbers, on every backend.

use axum::Json;
use axum::routing::get;
use http::StatusCode;
use phial_core::axum;
use phial_sql::testing::TestDatabase;
use phial_sql::{Db, Keyed, KeysetRequest, Page, PageRequest, SqlError};
use serde_json::Value;

use crate::{Item, app, insert_item, select_items, start};

async fn list(db: Db, page: PageRequest) -> Result<Json<Value>, SqlError> {
    let page: Page<Item> = db.paginate(&select_items(), &page).await?;
    let pager: Vec<Value> =
        page.iter_pages(2, 2, 4, 2).into_iter().map(|n| n.map_or(Value::Null, Value::from)).collect();
    Ok(Json(serde_json::json!({
        "first_id": page.items.first().map(|i| i.id),
        "count": page.items.len(),
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages(),
        "has_prev": page.has_prev(),
        "has_next": page.has_next(),
        "prev_num": page.prev_num(),
        "next_num": page.next_num(),
        "first": page.first(),
        "last": page.last(),
        "pager": pager,
    })))
}

async fn list_uncounted(db: Db, page: PageRequest) -> Result<Json<Value>, SqlError> {
    let page: Page<Item> = db.paginate(&select_items(), &page.without_count()).await?;
    Ok(Json(serde_json::json!({ "count": page.items.len(), "has_next": page.has_next(), "total": page.total })))
}

async fn seed(db: &Db, n: usize) {
    for i in 0..n {
        db.execute(&insert_item(&format!("item-{i:04}"))).await.unwrap();
    }
}

#[tokio::test]
async fn numbers_match_flask_sqlalchemy() {
    for database in TestDatabase::available().await {
        let (_running, client, db) = start(app(&database).endpoint("list", "/list", get(list))).await;
        seed(&db, 450).await;
        let body = client.get("/list?page=7").await.assert_status(StatusCode::OK).json_value();
        let backend = format!("{:?}", database.backend());
        assert_eq!(body["first_id"], 121, "{backend}");
        assert_eq!(body["count"], 20);
        assert_eq!((body["total"].clone(), body["pages"].clone()), (Value::from(450), Value::from(23)));
        assert_eq!((body["first"].clone(), body["last"].clone()), (Value::from(121), Value::from(140)));
        assert_eq!((body["prev_num"].clone(), body["next_num"].clone()), (Value::from(6), Value::from(8)));
        assert_eq!(body["pager"], serde_json::json!([1, 2, null, 5, 6, 7, 8, 9, 10, 11, null, 22, 23]));

        let last = client.get("/list?page=23").await.json_value();
        assert_eq!((last["count"].clone(), last["has_next"].clone()), (Value::from(10), Value::from(false)));

        // The cap applies to whatever the client asks.
        let capped = client.get("/list?per_page=100000").await.json_value();
        assert_eq!((capped["per_page"].clone(), capped["count"].clone()), (Value::from(100), Value::from(100)));

        for bad in ["page=0", "page=-1", "page=x", "per_page=0", "per_page=y", "page=24"] {
            client.get(format!("/list?{bad}")).await.assert_status(StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn lenient_mode_clamps_bad_values() {
    let database = TestDatabase::sqlite();
    let (_running, client, db) =
        start(app(&database).set("sql.error_out", false).endpoint("list", "/list", get(list))).await;
    seed(&db, 45).await;
    let body = client.get("/list?page=abc&per_page=-5").await.assert_status(StatusCode::OK).json_value();
    assert_eq!((body["page"].clone(), body["per_page"].clone()), (Value::from(1), Value::from(20)));
    let past = client.get("/list?page=99").await.assert_status(StatusCode::OK).json_value();
    assert_eq!((past["page"].clone(), past["count"].clone()), (Value::from(3), Value::from(5)));
}

#[tokio::test]
async fn empty_table_page_one_is_an_empty_page() {
    for database in TestDatabase::available().await {
        let (_running, client, _db) = start(app(&database).endpoint("list", "/list", get(list))).await;
        let body = client.get("/list").await.assert_status(StatusCode::OK).json_value();
        assert_eq!(
            (body["count"].clone(), body["pages"].clone()),
            (Value::from(0), Value::from(0)),
            "{:?}",
            database.backend()
        );
        assert_eq!(body["pager"], serde_json::json!([]));
    }
}

#[tokio::test]
async fn without_count_still_knows_has_next() {
    let database = TestDatabase::sqlite();
    let (_running, client, db) = start(app(&database).endpoint("uncounted", "/uncounted", get(list_uncounted))).await;
    seed(&db, 45).await;
    let second = client.get("/uncounted?page=2").await.json_value();
    assert_eq!(second, serde_json::json!({"count": 20, "has_next": true, "total": null}));
    let third = client.get("/uncounted?page=3").await.json_value();
    assert_eq!(third, serde_json::json!({"count": 5, "has_next": false, "total": null}));
}

impl Keyed for Item {
    fn key(&self) -> i64 {
        self.id
    }
}

#[tokio::test]
async fn keyset_pages_walk_the_table_once() {
    for database in TestDatabase::available().await {
        let (_running, _client, db) = start(app(&database)).await;
        seed(&db, 25).await;
        let mut seen = Vec::new();
        let mut request = KeysetRequest::first(10).descending();
        loop {
            let page = db.paginate_keyset::<Item>(&select_items(), "id", &request).await.unwrap();
            seen.extend(page.items.iter().map(|i| i.id));
            match page.next_cursor {
                Some(cursor) => request = KeysetRequest::first(10).descending().after_cursor(cursor),
                None => break,
            }
        }
        assert_eq!(seen, (1..=25).rev().collect::<Vec<i64>>(), "{:?}", database.backend());
        let bad = KeysetRequest::first(10).after_cursor("garbage");
        assert_eq!(
            db.paginate_keyset::<Item>(&select_items(), "id", &bad).await.unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }
}
