//! [`Db`]: a handle on one database, and the statements it runs.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use phial_core::axum;
use sea_query::{InsertStatement, SelectStatement};
use sea_query_sqlx::SqlxBinder;

use crate::backend::{Backend, Pool};
use crate::databases::Databases;
use crate::error::SqlError;
use crate::record::{QueryLog, QueryRecord};
use crate::row::{FromDbRow, FromDbValue};
use crate::tx::{Pinned, RequestScope, TxConn};

/// The one place built SQL meets sqlx.
///
/// sea-query renders statements with placeholders and returns every value separately, and
/// those values are always bound as parameters, so the rendered string contains no user input
/// unless the app wrote it into the statement itself with `Expr::cust` and friends (which the
/// rustdoc of [`Db`] warns about). That is the audit `AssertSqlSafe` asks for.
pub(crate) fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// A `SELECT` for the helpers that add a `LIMIT` or `OFFSET` to it ([`Db::first_or_404`],
/// [`Db::paginate`], ...): pass it by value and it is used as is, or by reference and it is
/// copied first.
///
/// A statement built for one call is best passed by value: copying a sea-query statement
/// costs about as much as rendering it.
///
/// # Examples
///
/// ```
/// use phial_sql::{Db, SqlError};
/// use sea_query::{Expr, ExprTrait, Query};
///
/// #[derive(sqlx::FromRow)]
/// struct User { id: i64, username: String }
///
/// async fn by_id(db: Db, id: i64) -> Result<User, SqlError> {
///     // Built for this call: by value, no copy.
///     db.get_or_404(Query::select().columns(["id", "username"]).from("user").and_where(Expr::col("id").eq(id)).to_owned()).await
/// }
///
/// async fn first_and_only(db: Db, select: &sea_query::SelectStatement) -> Result<(User, User), SqlError> {
///     // Reused: by reference.
///     Ok((db.first_or_404(select).await?, db.one_or_404(select).await?))
/// }
/// ```
pub trait IntoSelect<'a> {
    /// The statement, borrowed or owned.
    fn into_select(self) -> Cow<'a, SelectStatement>;
}

impl<'a> IntoSelect<'a> for SelectStatement {
    fn into_select(self) -> Cow<'a, SelectStatement> {
        Cow::Owned(self)
    }
}

impl<'a> IntoSelect<'a> for &'a SelectStatement {
    fn into_select(self) -> Cow<'a, SelectStatement> {
        Cow::Borrowed(self)
    }
}

/// `statement` with `LIMIT limit`, copied only when borrowed.
pub(crate) fn limited<'a>(statement: impl IntoSelect<'a>, limit: u64) -> SelectStatement {
    let mut statement = statement.into_select().into_owned();
    statement.limit(limit);
    statement
}

/// Where a statement runs: the pool, or a request's open transaction.
pub(crate) enum Target<'a> {
    Pool(&'a Pool),
    Tx(&'a mut TxConn),
}

/// Runs `$body` with `$exec` (an sqlx executor) and `$builder` (the sea-query builder) of the
/// target's backend; the body is compiled once per enabled backend.
macro_rules! on_backend {
    ($target:expr, |$exec:ident, $builder:ident| $body:expr) => {
        match $target {
            #[cfg(feature = "sqlite")]
            $crate::db::Target::Pool($crate::backend::Pool::Sqlite(pool)) => {
                let $exec = pool;
                let $builder = sea_query::SqliteQueryBuilder;
                $body
            }
            #[cfg(feature = "sqlite")]
            $crate::db::Target::Tx($crate::tx::TxConn::Sqlite(tx)) => {
                let $exec = &mut **tx;
                let $builder = sea_query::SqliteQueryBuilder;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::db::Target::Pool($crate::backend::Pool::Postgres(pool)) => {
                let $exec = pool;
                let $builder = sea_query::PostgresQueryBuilder;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::db::Target::Tx($crate::tx::TxConn::Postgres(tx)) => {
                let $exec = &mut **tx;
                let $builder = sea_query::PostgresQueryBuilder;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::db::Target::Pool($crate::backend::Pool::MySql(pool)) => {
                let $exec = pool;
                let $builder = sea_query::MysqlQueryBuilder;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::db::Target::Tx($crate::tx::TxConn::MySql(tx)) => {
                let $exec = &mut **tx;
                let $builder = sea_query::MysqlQueryBuilder;
                $body
            }
        }
    };
}

/// Runs `$op` with `$target`: the database's test transaction when one is open (see
/// [`TestTransaction`](crate::testing::TestTransaction)), its pool otherwise.
macro_rules! on_db {
    ($db:expr, |$target:ident| $op:expr) => {{
        let db: &$crate::Db = $db;
        match db.pinned() {
            Some(pinned) => {
                let mut conn = pinned.lock().await?;
                let $target = $crate::db::Target::Tx(&mut conn);
                $op
            }
            None => {
                let $target = $crate::db::Target::Pool(&db.inner.pool);
                $op
            }
        }
    }};
}

pub(crate) struct DbInner {
    pub(crate) name: String,
    pub(crate) backend: Backend,
    pub(crate) pool: Pool,
    pub(crate) echo: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) description: String,
    #[cfg(feature = "sqlite")]
    pub(crate) _keepalive: Option<std::sync::Mutex<sqlx::SqliteConnection>>,
    /// SQLite lets one connection write at a time; writers that collide wait in its busy
    /// handler, which sleeps 1, 2, 5, 10 … 100 ms between tries. Autocommit writes of this
    /// process queue here instead (first come, first served, no sleeping).
    #[cfg(feature = "sqlite")]
    pub(crate) writer: tokio::sync::Mutex<()>,
    /// The open test transaction every statement runs in, if any.
    #[cfg(feature = "testing")]
    pub(crate) pinned: std::sync::Mutex<Option<Arc<Pinned>>>,
}

/// A handle on one database (the default one, or a bind): Flask-SQLAlchemy's `db.session`
/// for statements that need no request transaction.
///
/// Statements are sea-query statements; values are always bound as parameters. Rows are read
/// into any type that derives `sqlx::FromRow` (see [`FromDbRow`]). Each statement takes a
/// pooled connection and gives it back; for several statements that must commit together use
/// [`Tx`](crate::Tx). SQL written into a statement by hand (`Expr::cust`) is sent as written:
/// never put user input there.
///
/// # Examples
///
/// ```
/// use phial_sql::{Db, SqlError};
/// use sea_query::{Expr, ExprTrait, Query};
///
/// #[derive(sqlx::FromRow)]
/// struct User { id: i64, username: String }
///
/// async fn user(db: Db, id: i64) -> Result<String, SqlError> {
///     let select = Query::select()
///         .columns(["id", "username"])
///         .from("user")
///         .and_where(Expr::col("id").eq(id))
///         .to_owned();
///     let user: User = db.get_or_404(&select).await?;
///     Ok(user.username)
/// }
/// ```
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<DbInner>,
    pub(crate) log: Option<QueryLog>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("bind", &self.inner.name)
            .field("backend", &self.inner.backend)
            .field("database", &self.inner.description)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// The turn of an autocommit write on SQLite (see `DbInner::writer`); `None` elsewhere and
    /// inside a pinned test transaction, which already holds its connection.
    #[cfg(feature = "sqlite")]
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.inner.backend != Backend::Sqlite || self.pinned().is_some() {
            return None;
        }
        Some(self.inner.writer.lock().await)
    }

    #[cfg(not(feature = "sqlite"))]
    #[expect(clippy::unused_async, reason = "the same signature as with the sqlite feature")]
    async fn write_turn(&self) -> Option<()> {
        None
    }

    /// The test transaction statements run in instead of the pool, if one is open.
    #[inline]
    #[cfg_attr(not(feature = "testing"), expect(clippy::unused_self, reason = "test transactions need `testing`"))]
    pub(crate) fn pinned(&self) -> Option<Arc<Pinned>> {
        #[cfg(feature = "testing")]
        {
            self.inner.pinned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        }
        #[cfg(not(feature = "testing"))]
        {
            None
        }
    }

    /// The bind name (`"default"` for the main database).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The same handle, recording into `log`.
    #[must_use]
    pub fn with_log(mut self, log: QueryLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The SQLite pool, for anything phial-sql does not wrap.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        #[cfg_attr(
            not(any(feature = "postgres", feature = "mysql")),
            expect(irrefutable_let_patterns, reason = "the only backend compiled in")
        )]
        if let Pool::Sqlite(pool) = &self.inner.pool { Some(pool) } else { None }
    }

    /// The Postgres pool, for anything phial-sql does not wrap.
    #[cfg(feature = "postgres")]
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        #[cfg_attr(
            not(any(feature = "sqlite", feature = "mysql")),
            expect(irrefutable_let_patterns, reason = "the only backend compiled in")
        )]
        if let Pool::Postgres(pool) = &self.inner.pool { Some(pool) } else { None }
    }

    /// The MariaDB/MySQL pool, for anything phial-sql does not wrap.
    #[cfg(feature = "mysql")]
    pub fn mysql_pool(&self) -> Option<&sqlx::MySqlPool> {
        #[cfg_attr(
            not(any(feature = "sqlite", feature = "postgres")),
            expect(irrefutable_let_patterns, reason = "the only backend compiled in")
        )]
        if let Pool::MySql(pool) = &self.inner.pool { Some(pool) } else { None }
    }

    /// Open connections and idle ones, e.g. to check that connections go back to the pool.
    pub fn pool_status(&self) -> (u32, usize) {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// Every row of `statement`.
    ///
    /// # Errors
    ///
    /// [`SqlError`]: 503 when the database is unreachable, 500 for other failures.
    #[track_caller]
    pub fn fetch_all<'a, T: FromDbRow, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<Vec<T>, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { on_db!(self, |target| run_fetch_all(self, target, statement, at).await) }
    }

    /// The first row of `statement`, if any.
    ///
    /// # Errors
    ///
    /// As [`fetch_all`](Self::fetch_all).
    #[track_caller]
    pub fn fetch_optional<'a, T: FromDbRow, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<Option<T>, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { on_db!(self, |target| run_fetch_optional(self, target, statement, at).await) }
    }

    /// The first column of the first row, e.g. a `COUNT(*)`.
    ///
    /// # Errors
    ///
    /// As [`fetch_all`](Self::fetch_all); [`SqlError::NotFound`] when there is no row.
    #[track_caller]
    pub fn fetch_scalar<'a, T: FromDbValue, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { on_db!(self, |target| run_fetch_scalar(self, target, statement, at).await) }
    }

    /// Runs an insert, update or delete; returns the number of rows affected.
    ///
    /// On SQLite, which lets one connection write at a time, the writes of this process made
    /// here and by [`insert`](Self::insert) take turns in a queue instead of colliding in
    /// SQLite's busy handler (which sleeps up to 100 ms between tries): many concurrent
    /// requests writing, say, a `last_seen` column wait microseconds, not milliseconds.
    ///
    /// # Errors
    ///
    /// As [`fetch_all`](Self::fetch_all); 409 for a constraint violation.
    #[track_caller]
    pub fn execute<'a, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move {
            let _turn = self.write_turn().await;
            on_db!(self, |target| run_execute(self, target, statement, at).await)
        }
    }

    /// Runs an insert and returns the new row's integer key from column `id_column`
    /// (`RETURNING` on SQLite and Postgres, `LAST_INSERT_ID()` on MariaDB/MySQL).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    #[track_caller]
    pub fn insert<'a>(
        &'a self,
        statement: &'a InsertStatement,
        id_column: &'static str,
    ) -> impl Future<Output = Result<i64, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move {
            let _turn = self.write_turn().await;
            on_db!(self, |target| run_insert(self, target, statement, id_column, at).await)
        }
    }

    /// The row `statement` selects, or 404: Flask-SQLAlchemy's `db.get_or_404`. Pass the
    /// statement by value when it is built for this call (see [`IntoSelect`]).
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] (404) when no row matches; as [`fetch_all`](Self::fetch_all).
    #[track_caller]
    pub fn get_or_404<'a, T: FromDbRow>(
        &'a self,
        statement: impl IntoSelect<'a>,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        self.first_or_404(statement)
    }

    /// The first row `statement` selects, or 404: Flask-SQLAlchemy's `first_or_404`.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] (404) when no row matches.
    #[track_caller]
    pub fn first_or_404<'a, T: FromDbRow>(
        &'a self,
        statement: impl IntoSelect<'a>,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        let at = Location::caller();
        let limited = limited(statement, 1);
        async move {
            on_db!(self, |target| run_fetch_optional(self, target, &limited, at).await)?.ok_or(SqlError::NotFound(None))
        }
    }

    /// The only row `statement` selects, or 404 when it selects none **or several**:
    /// Flask-SQLAlchemy's `one_or_404`.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] (404) unless exactly one row matches.
    #[track_caller]
    pub fn one_or_404<'a, T: FromDbRow>(
        &'a self,
        statement: impl IntoSelect<'a>,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        let at = Location::caller();
        let limited = limited(statement, 2);
        async move {
            let mut rows: Vec<T> = on_db!(self, |target| run_fetch_all(self, target, &limited, at).await)?;
            match rows.len() {
                1 => Ok(rows.remove(0)),
                _ => Err(SqlError::NotFound(None)),
            }
        }
    }

    /// Runs one schema statement (`CREATE TABLE`, `CREATE INDEX`, `DROP TABLE`).
    pub(crate) async fn execute_schema<S: SchemaStatement>(&self, statement: &S) -> Result<(), SqlError> {
        let started = Instant::now();
        let at = Location::caller();
        on_db!(self, |target| {
            on_backend!(target, |exec, builder| {
                let sql = statement.render(builder);
                let result = sqlx::query(built(sql.clone())).execute(exec).await;
                observe(self, &sql, 0, started, at);
                result?;
            });
        });
        Ok(())
    }

    pub(crate) async fn close(&self) {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.close().await,
        }
    }

    /// Runs `SELECT 1` and returns how long it took.
    ///
    /// # Errors
    ///
    /// As [`fetch_all`](Self::fetch_all).
    pub async fn ping(&self) -> Result<Duration, SqlError> {
        let started = Instant::now();
        let select = sea_query::Query::select().expr(sea_query::Expr::val(1)).to_owned();
        // Executed rather than decoded: `1` is INT4 on Postgres but BIGINT on MariaDB.
        on_db!(self, |target| run_execute(self, target, &select, Location::caller()).await)?;
        Ok(started.elapsed())
    }
}

/// Schema statements, rendered per backend (sea-query's `build` for them takes the builder by
/// value and returns only SQL: DDL has no bound values).
pub(crate) trait SchemaStatement {
    fn render<B: sea_query::SchemaBuilder>(&self, builder: B) -> String;
}

impl SchemaStatement for sea_query::TableCreateStatement {
    fn render<B: sea_query::SchemaBuilder>(&self, builder: B) -> String {
        self.build(builder)
    }
}

impl SchemaStatement for sea_query::TableDropStatement {
    fn render<B: sea_query::SchemaBuilder>(&self, builder: B) -> String {
        self.build(builder)
    }
}

impl SchemaStatement for sea_query::IndexCreateStatement {
    fn render<B: sea_query::SchemaBuilder>(&self, builder: B) -> String {
        self.build(builder)
    }
}

/// Records, echoes and times one statement.
pub(crate) fn observe(db: &Db, sql: &str, params: usize, started: Instant, at: &'static Location<'static>) {
    let duration = started.elapsed();
    if db.inner.echo {
        tracing::info!(bind = %db.inner.name, sql, params, duration_ms = duration.as_secs_f64() * 1000.0, "sql");
    }
    if db.inner.slow.is_some_and(|slow| duration >= slow) {
        tracing::warn!(bind = %db.inner.name, sql, duration_ms = duration.as_secs_f64() * 1000.0, location = %at, "slow query");
    }
    if let Some(log) = &db.log {
        log.push(QueryRecord { sql: sql.to_owned(), params, duration, location: at, bind: db.inner.name.clone() });
    }
}

pub(crate) async fn run_fetch_all<T: FromDbRow, S: SqlxBinder>(
    db: &Db,
    target: Target<'_>,
    statement: &S,
    at: &'static Location<'static>,
) -> Result<Vec<T>, SqlError> {
    on_backend!(target, |exec, builder| {
        let (sql, values) = statement.build_sqlx(builder);
        let (started, params) = (Instant::now(), values.0.0.len());
        let result = sqlx::query_as_with(built(sql.clone()), values).fetch_all(exec).await;
        observe(db, &sql, params, started, at);
        Ok(result?)
    })
}

pub(crate) async fn run_fetch_optional<T: FromDbRow, S: SqlxBinder>(
    db: &Db,
    target: Target<'_>,
    statement: &S,
    at: &'static Location<'static>,
) -> Result<Option<T>, SqlError> {
    on_backend!(target, |exec, builder| {
        let (sql, values) = statement.build_sqlx(builder);
        let (started, params) = (Instant::now(), values.0.0.len());
        let result = sqlx::query_as_with(built(sql.clone()), values).fetch_optional(exec).await;
        observe(db, &sql, params, started, at);
        Ok(result?)
    })
}

pub(crate) async fn run_fetch_scalar<T: FromDbValue, S: SqlxBinder>(
    db: &Db,
    target: Target<'_>,
    statement: &S,
    at: &'static Location<'static>,
) -> Result<T, SqlError> {
    on_backend!(target, |exec, builder| {
        let (sql, values) = statement.build_sqlx(builder);
        let (started, params) = (Instant::now(), values.0.0.len());
        let result = sqlx::query_scalar_with(built(sql.clone()), values).fetch_one(exec).await;
        observe(db, &sql, params, started, at);
        Ok(result?)
    })
}

pub(crate) async fn run_execute<S: SqlxBinder>(
    db: &Db,
    target: Target<'_>,
    statement: &S,
    at: &'static Location<'static>,
) -> Result<u64, SqlError> {
    on_backend!(target, |exec, builder| {
        let (sql, values) = statement.build_sqlx(builder);
        let (started, params) = (Instant::now(), values.0.0.len());
        let result = sqlx::query_with(built(sql.clone()), values).execute(exec).await;
        observe(db, &sql, params, started, at);
        Ok(result?.rows_affected())
    })
}

pub(crate) async fn run_insert(
    db: &Db,
    target: Target<'_>,
    statement: &InsertStatement,
    id_column: &'static str,
    at: &'static Location<'static>,
) -> Result<i64, SqlError> {
    match target {
        #[cfg(feature = "mysql")]
        Target::Pool(Pool::MySql(pool)) => mysql_insert(db, pool, statement, at).await,
        #[cfg(feature = "mysql")]
        Target::Tx(TxConn::MySql(tx)) => mysql_insert(db, &mut **tx, statement, at).await,
        #[cfg_attr(
            not(any(feature = "sqlite", feature = "postgres")),
            expect(unreachable_patterns, reason = "only MariaDB/MySQL is compiled in")
        )]
        other => {
            // Cast so that 32-bit keys (PostgreSQL's SERIAL, which Flask-SQLAlchemy's
            // `db.Integer` primary keys are) read as `i64` too.
            let id = sea_query::ExprTrait::cast_as(sea_query::Expr::col(id_column), "BIGINT");
            let returning = statement.clone().returning(sea_query::Query::returning().expr(id)).to_owned();
            run_fetch_scalar(db, other, &returning, at).await
        }
    }
}

#[cfg(feature = "mysql")]
async fn mysql_insert<'e>(
    db: &Db,
    exec: impl sqlx::Executor<'e, Database = sqlx::MySql>,
    statement: &InsertStatement,
    at: &'static Location<'static>,
) -> Result<i64, SqlError> {
    let (sql, values) = statement.build_sqlx(sea_query::MysqlQueryBuilder);
    let (started, params) = (Instant::now(), values.0.0.len());
    let result = sqlx::query_with(built(sql.clone()), values).execute(exec).await;
    observe(db, &sql, params, started, at);
    i64::try_from(result?.last_insert_id()).map_err(|err| SqlError::Config(format!("insert id out of range: {err}")))
}

/// The default database of the app, with the request's query log attached.
impl<S> FromRequestParts<S> for Db
where
    Databases: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let db = Databases::from_ref(state).default_db().clone();
        Ok(match parts.extensions.get::<RequestScope>().and_then(|scope| scope.log.clone()) {
            Some(log) => db.with_log(log),
            None => db,
        })
    }
}
