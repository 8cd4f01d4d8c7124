//! `GET /items/{id}` and `GET /items?page=N` on PostgreSQL: through phial-sql in a phial app
//! (`phial-sql` mode), and with plain sqlx in a bare axum app (`axum-sql` mode).
//!
//! Both read `BENCH_DATABASE_URL` (default: the local test server), use a pool of 10
//! connections, and serve the same JSON. The phial app seeds the table on start when it is
//! empty (10,000 rows); `bench/sql.sh` starts it first.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use phial_core::prelude::*;
use phial_sql::{Db, Page, PageRequest, SqlError, SqlExtension, Table};
use sea_query::{ColumnDef, Expr, ExprTrait, Order};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::common::TEXT;

/// Rows in the table.
const ROWS: i64 = 10_000;

const TABLE: &str = "phial_bench_item";

#[derive(Debug, Serialize, sqlx::FromRow)]
struct Item {
    id: i64,
    name: String,
    price: i64,
}

fn database_url() -> String {
    std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn table() -> Table {
    Table::new(
        sea_query::Table::create()
            .table(TABLE)
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("name").string_len(64).not_null())
            .col(ColumnDef::new("price").big_integer().not_null())
            .to_owned(),
    )
}

// ---- phial-sql ----

pub(crate) async fn serve_phial(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = App::builder()
        .profile(Profile::Production)
        .set("app.secret_key", crate::phial_app::BENCH_SECRET)
        .set("sql.url", database_url())
        .set("sql.pool_size", 10)
        .extension(SqlExtension::new().table(table()).create_all_on_start())
        .endpoint("text", "/text", get(|| async { TEXT }))
        .endpoint("item", "/items/{id}", get(phial_item))
        .endpoint("items", "/items", get(phial_items))
        .build()?
        .start()
        .await?;
    seed(app.state().require::<phial_sql::Databases>().default_db()).await?;
    app.serve(listener).await?;
    Ok(())
}

/// The statement, built without `to_owned()` copies (each one clones the whole statement).
fn select_items() -> sea_query::SelectStatement {
    let mut select = sea_query::Query::select();
    select.columns(["id", "name", "price"]).from(TABLE);
    select
}

async fn phial_item(db: Db, Path(id): Path<i64>) -> Result<Json<Item>, SqlError> {
    let mut select = select_items();
    select.and_where(Expr::col("id").eq(id));
    Ok(Json(db.get_or_404(select).await?))
}

async fn phial_items(db: Db, page: PageRequest) -> Result<Json<Page<Item>>, SqlError> {
    let mut select = select_items();
    select.order_by("id", Order::Asc);
    Ok(Json(db.paginate(select, &page).await?))
}

/// Fills the table when it is empty.
async fn seed(db: &Db) -> anyhow::Result<()> {
    let count = sea_query::Query::select().expr(Expr::col(sea_query::Asterisk).count()).from(TABLE).to_owned();
    if db.fetch_scalar::<i64, _>(&count).await? > 0 {
        return Ok(());
    }
    for chunk in (1..=ROWS).collect::<Vec<_>>().chunks(1000) {
        let mut insert = sea_query::Query::insert().into_table(TABLE).columns(["id", "name", "price"]).to_owned();
        for &id in chunk {
            insert.values_panic([id.into(), format!("item {id}").into(), (id * 7 % 1000).into()]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

// ---- plain sqlx in bare axum ----

pub(crate) async fn serve_axum(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(10).connect(&database_url()).await?;
    let router = Router::new()
        .route("/text", get(|| async { TEXT }))
        .route("/items/{id}", get(axum_item))
        .route("/items", get(axum_items))
        .with_state(pool);
    axum::serve(listener, router).await?;
    Ok(())
}

async fn axum_item(State(pool): State<PgPool>, Path(id): Path<i64>) -> Result<Json<Item>, StatusCode> {
    sqlx::query_as::<_, Item>("SELECT id, name, price FROM phial_bench_item WHERE id = $1 LIMIT 1")
        .bind(id)
        .fetch_optional(&pool)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
    per_page: Option<u64>,
}

/// The JSON of phial-sql's `Page`, written out by hand.
#[derive(Serialize)]
struct PageBody {
    items: Vec<Item>,
    page: u64,
    per_page: u64,
    total: Option<u64>,
}

async fn axum_items(State(pool): State<PgPool>, Query(query): Query<PageQuery>) -> Result<Json<PageBody>, StatusCode> {
    let page = Ord::max(query.page.unwrap_or(1), 1);
    let per_page = Ord::clamp(query.per_page.unwrap_or(20), 1, 100);
    let offset = i64::try_from((page - 1) * per_page).map_err(|_| StatusCode::NOT_FOUND)?;
    let unavailable = |_| StatusCode::SERVICE_UNAVAILABLE;
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM phial_bench_item").fetch_one(&pool).await.map_err(unavailable)?;
    let items =
        sqlx::query_as::<_, Item>("SELECT id, name, price FROM phial_bench_item ORDER BY id LIMIT $1 OFFSET $2")
            .bind(i64::try_from(per_page).map_err(|_| StatusCode::NOT_FOUND)?)
            .bind(offset)
            .fetch_all(&pool)
            .await
            .map_err(unavailable)?;
    Ok(Json(PageBody { items, page, per_page, total: u64::try_from(total).ok() }))
}
