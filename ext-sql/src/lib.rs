//! phial-sql: SQL databases for phial apps, in the role of Flask-SQLAlchemy, on
//! [sqlx](https://docs.rs/sqlx) and [sea-query](https://docs.rs/sea-query).
//!
//! One config section, `[sql]`, names the default database and any number of binds. Handlers
//! take a [`Db`] for plain statements or a [`Tx`] for the request's transaction, which
//! commits when the response succeeds and rolls back when it fails. Statements are written
//! with sea-query and values are always bound, never spliced; rows are read into structs that
//! derive `sqlx::FromRow`, and the same code runs on SQLite, PostgreSQL and MariaDB.
//!
//! ```no_run
//! use phial_core::axum::{Json, routing::get};
//! use phial_core::prelude::*;
//! use phial_sql::{Db, Page, PageRequest, SqlError, SqlExtension};
//! use sea_query::{Order, Query};
//!
//! #[derive(serde::Serialize, sqlx::FromRow)]
//! struct Post { id: i64, body: String }
//!
//! async fn posts(db: Db, page: PageRequest) -> Result<Json<Page<Post>>, SqlError> {
//!     let select = Query::select().columns(["id", "body"]).from("post").order_by("id", Order::Desc).to_owned();
//!     Ok(Json(db.paginate(&select, &page).await?))
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::builder()
//!         .config_toml("[sql]\nurl = \"sqlite:///app.db\"\n") // or DATABASE_URL
//!         .extension(SqlExtension::new())
//!         .endpoint("posts", "/posts", get(posts))
//!         .run()
//!         .await
//! }
//! ```
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` (default) | SQLite, bundled: the embedded default |
//! | `postgres` | PostgreSQL, over rustls |
//! | `mysql` | MariaDB and MySQL, over rustls |
//! | `testing` | [`testing::TestDatabase`] (a fresh database per test on each backend) and [`testing::TestTransaction`] (transaction-per-test: one shared schema, every test's writes rolled back) |
//!
//! # Backends done right
//!
//! - SQLite: the file (and its folder) is created if missing; a relative path in
//!   `sqlite:///app.db` is relative to `app.instance_path` (as in Flask-SQLAlchemy 3), and the
//!   resolved path is logged at startup; WAL, a busy timeout and foreign keys are on. An
//!   in-memory database (`sqlite://`) is shared by all pooled connections and kept alive by a
//!   dedicated connection, so tables do not vanish when the pool idles.
//! - PostgreSQL: `statement_timeout` from `sql.statement_timeout`. MariaDB/MySQL: `utf8mb4`,
//!   `max_statement_time` / `max_execution_time`. TLS is rustls only.
//! - A database that cannot be reached fails startup after the acquire timeout; during a
//!   request it is a 503, and the app serves again as soon as the database is back.
//!
//! # Server-side sessions
//!
//! [`SqlExtension::session_store`] keeps sessions in table `phial_session` of the default
//! database ([`SqlSessionStore`]): `app.session.store = "sql"` selects it, expired rows are
//! ignored and deleted every `sql.session_cleanup_interval` seconds (600 by default), and the
//! table is declared like any other, so `create_all` and `<app> db revision --autogenerate`
//! include it. Choosing between stores: signed cookies (the default) need nothing; this store
//! suits apps that run several instances on one database and have no Redis; with Redis (the
//! facade's `redis` feature) the `redis` store expires sessions by TTL and keeps load off the
//! database. See `phial_core::session` for the comparison.
//!
//! ```no_run
//! use phial_core::prelude::*;
//! use phial_sql::SqlExtension;
//!
//! # async fn run() -> std::process::ExitCode {
//! App::builder()
//!     .config_toml("[sql]\nurl = \"postgres://localhost/app\"\n[app.session]\nstore = \"sql\"\n")
//!     .extension(SqlExtension::new().session_store())
//!     .run()
//!     .await
//! # }
//! ```
//!
//! # Coming from Flask-SQLAlchemy
//!
//! | Flask-SQLAlchemy | phial-sql |
//! |---|---|
//! | `SQLALCHEMY_DATABASE_URI` | `[sql] url` (or env `DATABASE_URL`) |
//! | `SQLALCHEMY_BINDS` | `[sql.binds.<name>] url` |
//! | `SQLALCHEMY_ENGINE_OPTIONS` (`pool_size`, `pool_timeout`, `pool_recycle`, `pool_pre_ping`) | `pool_size`, `acquire_timeout`, `max_lifetime`, `pre_ping_after` (connections idle over 1 s are pinged; `0` = every time) |
//! | `SQLALCHEMY_ECHO`, `SQLALCHEMY_RECORD_QUERIES` | `echo`, `record_queries` |
//! | `db = SQLAlchemy(app)` | `.extension(SqlExtension::new())` |
//! | `db.session.execute(select(...))` | [`Db::fetch_all`] / [`Tx::fetch_all`] with a sea-query `SelectStatement` |
//! | `db.session.add(x); db.session.commit()` | [`Tx::insert`] / [`Tx::execute`]; the commit happens when the response succeeds ([`Tx::commit`] to force it) |
//! | `db.session.rollback()` | automatic on an error response or panic; [`Tx::rollback`] |
//! | `db.get_or_404(User, id)` | [`Db::get_or_404`] |
//! | `db.first_or_404(...)`, `db.one_or_404(...)` | [`Db::first_or_404`], [`Db::one_or_404`] (404 on several rows too) |
//! | `db.paginate(select, page=, per_page=, max_per_page=, error_out=, count=)` | [`Db::paginate`] with [`PageRequest`] (read from `?page=&per_page=`) |
//! | `pagination.iter_pages()` | [`Page::iter_pages`] |
//! | `db.create_all()` / `db.drop_all()` | [`Databases::create_all`] / [`Databases::drop_all`] per bind |
//! | `__bind_key__ = "analytics"` | [`Table::bind`], and the [`Bind`] extractor |
//! | `get_recorded_queries()` | [`RecordedQueries`] |
//! | pytest fixture wrapping each test in `connection.begin()` … `rollback()` | [`testing::TestTransaction`] (requests become savepoints inside it) |
//! | Flask-Session's `SESSION_TYPE = "sqlalchemy"`, `SESSION_SQLALCHEMY_TABLE`, `SESSION_CLEANUP_N_REQUESTS` | [`SqlExtension::session_store`] + `app.session.store = "sql"`, table `phial_session`, `sql.session_cleanup_interval` |
//!
//! Differences, each for a reason: `max_per_page` defaults to 100 and applies on every path
//! (Flask-SQLAlchemy lets `?per_page=100000` through); `one_or_404` refuses several rows;
//! writes are never committed by an error response; there is no ORM identity map — a query is
//! a query.
//!
//! # Performance
//!
//! Statements are built and rendered per call. A sea-query chain that ends in `.to_owned()`
//! copies the whole statement, and so does passing one by reference to a helper that adds a
//! `LIMIT` ([`Db::first_or_404`], [`Db::paginate`], ...). On hot paths build the statement in
//! place and pass it by value ([`IntoSelect`]):
//!
//! ```
//! use phial_sql::{Db, SqlError};
//! use sea_query::{Expr, ExprTrait, Query};
//!
//! #[derive(sqlx::FromRow)]
//! struct Item { id: i64, name: String }
//!
//! async fn item(db: Db, id: i64) -> Result<Item, SqlError> {
//!     let mut select = Query::select();
//!     select.columns(["id", "name"]).from("item").and_where(Expr::col("id").eq(id));
//!     db.get_or_404(select).await // no copy of the statement anywhere
//! }
//! ```
//!
//! `bench/sql.sh` in the repository compares phial-sql with the same queries written as SQL
//! strings for plain sqlx in a bare axum app; the numbers are in `bench/README.md`.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("phial-sql needs at least one backend feature: sqlite, postgres or mysql");

mod backend;
mod config;
mod databases;
#[macro_use]
mod db;
mod error;
mod extension;
mod paginate;
mod record;
mod row;
mod schema;
mod session;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod tx;

pub use backend::Backend;
pub use config::{BindConfig, PoolConfig, SqlConfig};
pub use databases::{Bind, BindName, DEFAULT_BIND, Databases};
pub use db::{Db, IntoSelect};
pub use error::SqlError;
pub use extension::SqlExtension;
pub use paginate::{Keyed, KeysetPage, KeysetRequest, Page, PageRequest};
pub use record::{QueryLog, QueryRecord, RecordedQueries};
pub use row::{FromDbRow, FromDbValue};
pub use schema::Table;
pub use session::SqlSessionStore;
pub use tx::{SqlLayer, SqlService, Tx};

/// The crates phial-sql builds on, re-exported so apps use the same versions.
pub use {sea_query, sqlx};

#[doc(hidden)]
pub mod __row_bounds {
    pub use crate::row::{MySqlRow, MySqlValue, PgRow, PgValue, SqliteRow, SqliteValue};
}
