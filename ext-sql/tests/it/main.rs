//! Integration tests of phial-sql, on SQLite always and on PostgreSQL and MariaDB when their
//! servers are reachable (required in CI).
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod app;
mod binds;
mod outage;
mod pagination;
mod session;
mod transactions;

use axum::routing::{get, post};
use phial_core::prelude::*;
use phial_core::{axum, testing::TestClient};
use phial_sql::testing::TestDatabase;
use phial_sql::{Db, SqlError, SqlExtension, Table, Tx};
use sea_query::{ColumnDef, Expr, ExprTrait, Order, Query};
use serde::Serialize;

/// The table every test uses.
pub(crate) fn items_table() -> Table {
    Table::new(
        sea_query::Table::create()
            .table("item")
            .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
            .col(ColumnDef::new("name").string_len(100).not_null().unique_key())
            .to_owned(),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub(crate) struct Item {
    pub(crate) id: i64,
    pub(crate) name: String,
}

pub(crate) fn select_items() -> sea_query::SelectStatement {
    Query::select().columns(["id", "name"]).from("item").order_by("id", Order::Asc).to_owned()
}

pub(crate) fn insert_item(name: &str) -> sea_query::InsertStatement {
    Query::insert().into_table("item").columns(["name"]).values_panic([name.into()]).to_owned()
}

pub(crate) async fn count(db: &Db) -> i64 {
    let select = Query::select().expr(Expr::col(sea_query::Asterisk).count()).from("item").to_owned();
    db.fetch_scalar(&select).await.unwrap()
}

pub(crate) async fn names(db: &Db) -> Vec<String> {
    db.fetch_all::<Item, _>(&select_items()).await.unwrap().into_iter().map(|i| i.name).collect()
}

/// An app on `database` with the items table and a few routes every module can use.
pub(crate) fn app(database: &TestDatabase) -> AppBuilder {
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test")
        .set("sql.url", database.url())
        .extension(SqlExtension::new().table(items_table()).create_all_on_start())
        .endpoint("item", "/items/{id}", get(show_item))
        .endpoint("create", "/items", post(create_item))
}

async fn show_item(db: Db, axum::extract::Path(id): axum::extract::Path<i64>) -> Result<axum::Json<Item>, SqlError> {
    let select = select_items().and_where(Expr::col("id").eq(id)).to_owned();
    Ok(axum::Json(db.get_or_404(&select).await?))
}

async fn create_item(tx: Tx, body: String) -> Result<(http::StatusCode, String), SqlError> {
    let id = tx.insert(&insert_item(&body), "id").await?;
    Ok((http::StatusCode::CREATED, id.to_string()))
}

/// Starts `builder` and returns its client and default database.
pub(crate) async fn start(builder: AppBuilder) -> (RunningApp, TestClient, Db) {
    let running = builder.build().unwrap().start().await.unwrap();
    let client = running.test_client();
    let db = running.state().require::<phial_sql::Databases>().default_db().clone();
    (running, client, db)
}
