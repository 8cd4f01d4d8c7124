//! Per-request transactions: [`Tx`], and the [`SqlLayer`] that commits or rolls them back.

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::request::Parts;
use phial_core::{HttpError, axum, tower};
use sea_query::InsertStatement;
use sea_query_sqlx::SqlxBinder;
use tower::{Layer, Service};

use crate::backend::Pool;
use crate::databases::Databases;
use crate::db::{
    Db, IntoSelect, Target, limited, run_execute, run_fetch_all, run_fetch_optional, run_fetch_scalar, run_insert,
};
use crate::error::SqlError;
use crate::record::QueryLog;
use crate::row::{FromDbRow, FromDbValue};

/// An open transaction of one backend.
pub(crate) enum TxConn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

impl TxConn {
    async fn begin(pool: &Pool) -> Result<Self, SqlError> {
        Ok(match pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Self::Sqlite(pool.begin().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Self::Postgres(pool.begin().await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Self::MySql(pool.begin().await?),
        })
    }

    async fn commit(self) -> Result<(), SqlError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.commit().await?,
            #[cfg(feature = "postgres")]
            Self::Postgres(tx) => tx.commit().await?,
            #[cfg(feature = "mysql")]
            Self::MySql(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<(), SqlError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.rollback().await?,
            #[cfg(feature = "postgres")]
            Self::Postgres(tx) => tx.rollback().await?,
            #[cfg(feature = "mysql")]
            Self::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Runs fixed SQL (savepoint statements) inside the transaction.
    async fn execute_fixed(&mut self, sql: String) -> Result<(), SqlError> {
        on_backend!(crate::db::Target::Tx(self), |exec, _builder| {
            sqlx::query(crate::db::built(sql)).execute(exec).await?;
        });
        Ok(())
    }
}

/// A transaction that every statement of one database runs in while a test holds it: the
/// engine of [`TestTransaction`](crate::testing::TestTransaction). Request transactions
/// become savepoints inside it.
pub(crate) struct Pinned {
    conn: tokio::sync::Mutex<Option<TxConn>>,
    /// Savepoints whose request ended without commit or rollback (a panic): rolled back
    /// before the next statement.
    abandoned: Mutex<Vec<String>>,
    next_savepoint: std::sync::atomic::AtomicU64,
}

impl Pinned {
    #[cfg_attr(not(feature = "testing"), expect(dead_code, reason = "opened by `testing::TestTransaction`"))]
    pub(crate) async fn begin(pool: &Pool) -> Result<Self, SqlError> {
        Ok(Self {
            conn: tokio::sync::Mutex::new(Some(TxConn::begin(pool).await?)),
            abandoned: Mutex::default(),
            next_savepoint: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The transaction, after rolling back abandoned savepoints.
    pub(crate) async fn lock(&self) -> Result<tokio::sync::MappedMutexGuard<'_, TxConn>, SqlError> {
        let guard = tokio::sync::MutexGuard::try_map(self.conn.lock().await, Option::as_mut)
            .map_err(|_| SqlError::Config("the test transaction has ended".into()))?;
        let mut guard = guard;
        let abandoned = std::mem::take(&mut *self.abandoned.lock().unwrap_or_else(PoisonError::into_inner));
        for name in abandoned.into_iter().rev() {
            guard.execute_fixed(format!("ROLLBACK TO SAVEPOINT {name}")).await?;
            guard.execute_fixed(format!("RELEASE SAVEPOINT {name}")).await?;
        }
        Ok(guard)
    }

    /// Takes the transaction out, for the final rollback.
    #[cfg_attr(not(feature = "testing"), expect(dead_code, reason = "ended by `testing::TestTransaction`"))]
    pub(crate) async fn take(&self) -> Option<TxConn> {
        self.conn.lock().await.take()
    }
}

/// A request's transaction: its own, or a savepoint in the test transaction.
enum SlotConn {
    Own(TxConn),
    Savepoint(Savepoint),
}

struct Savepoint {
    pinned: Arc<Pinned>,
    name: String,
    ended: bool,
}

impl Drop for Savepoint {
    fn drop(&mut self) {
        if !self.ended {
            let name = std::mem::take(&mut self.name);
            self.pinned.abandoned.lock().unwrap_or_else(PoisonError::into_inner).push(name);
        }
    }
}

impl SlotConn {
    async fn begin(db: &Db) -> Result<Self, SqlError> {
        let Some(pinned) = db.pinned() else { return Ok(Self::Own(TxConn::begin(&db.inner.pool).await?)) };
        let name =
            format!("phial_request_{}", pinned.next_savepoint.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        pinned.lock().await?.execute_fixed(format!("SAVEPOINT {name}")).await?;
        Ok(Self::Savepoint(Savepoint { pinned, name, ended: false }))
    }

    async fn end(self, commit: bool) -> Result<(), SqlError> {
        match self {
            Self::Own(conn) if commit => conn.commit().await,
            Self::Own(conn) => conn.rollback().await,
            Self::Savepoint(mut savepoint) => {
                savepoint.ended = true;
                let mut conn = savepoint.pinned.lock().await?;
                if !commit {
                    conn.execute_fixed(format!("ROLLBACK TO SAVEPOINT {}", savepoint.name)).await?;
                }
                conn.execute_fixed(format!("RELEASE SAVEPOINT {}", savepoint.name)).await
            }
        }
    }
}

/// One bind's transaction within a request: begun on first use, ended by the layer.
struct TxSlot {
    db: Db,
    /// A tokio mutex, held for one statement at a time, so middleware and the handler can
    /// take turns on the same transaction without deadlock.
    conn: tokio::sync::Mutex<Option<SlotConn>>,
}

/// What [`SqlLayer`] puts into each request: the databases, its transactions, its query log.
#[derive(Clone)]
pub(crate) struct RequestScope {
    databases: Databases,
    slots: Arc<Mutex<Vec<Arc<TxSlot>>>>,
    pub(crate) log: Option<QueryLog>,
}

impl RequestScope {
    fn slot(&self, db: &Db) -> Arc<TxSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.iter().find(|s| s.db.name() == db.name()) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(TxSlot { db: db.clone(), conn: tokio::sync::Mutex::new(None) });
        slots.push(Arc::clone(&slot));
        slot
    }

    /// Commits each open transaction when `commit` is true, rolls back otherwise.
    async fn finish(&self, commit: bool) -> Result<(), SqlError> {
        let slots: Vec<Arc<TxSlot>> = self.slots.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        let mut first_error = None;
        for slot in slots {
            let Some(conn) = slot.conn.lock().await.take() else { continue };
            let result = conn.end(commit).await;
            if let Err(err) = result {
                tracing::error!(bind = %slot.db.name(), error = %err, commit, "ending the request transaction failed");
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The request's transaction on the default database: Flask-SQLAlchemy's `db.session` with
/// its commit made automatic.
///
/// The transaction begins at the first statement. When the response status is 2xx or 3xx,
/// [`SqlLayer`] commits it; on 4xx, 5xx or a panic it is rolled back, so a handler that
/// inserts and then fails leaves nothing behind. [`commit`](Self::commit) keeps the writes
/// so far even if the response will be an error. Every extractor of `Tx` in one request (a
/// middleware's and the handler's) shares the transaction; each statement holds it only
/// while it runs.
///
/// # Examples
///
/// ```
/// use phial_core::axum::http::StatusCode;
/// use phial_sql::{SqlError, Tx};
/// use sea_query::Query;
///
/// async fn register(tx: Tx) -> Result<StatusCode, SqlError> {
///     let insert = Query::insert().into_table("user").columns(["username"]).values_panic(["susan".into()]).to_owned();
///     let id = tx.insert(&insert, "id").await?;
///     let log = Query::insert().into_table("audit").columns(["user_id"]).values_panic([id.into()]).to_owned();
///     tx.execute(&log).await?;
///     Ok(StatusCode::CREATED) // both rows commit together, or neither does
/// }
/// ```
#[derive(Clone)]
pub struct Tx {
    slot: Arc<TxSlot>,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").field("bind", &self.slot.db.name()).finish_non_exhaustive()
    }
}

/// Runs `$op` on the slot's transaction, beginning it first if needed.
macro_rules! in_tx {
    ($self:ident, |$target:ident| $op:expr) => {{
        let mut guard = $self.slot.conn.lock().await;
        if guard.is_none() {
            *guard = Some(SlotConn::begin(&$self.slot.db).await?);
        }
        match guard.as_mut().expect("begun just above") {
            SlotConn::Own(conn) => {
                let $target = Target::Tx(conn);
                $op
            }
            SlotConn::Savepoint(savepoint) => {
                let mut conn = savepoint.pinned.lock().await?;
                let $target = Target::Tx(&mut conn);
                $op
            }
        }
    }};
}

impl Tx {
    /// The database this transaction runs on.
    pub fn db(&self) -> &Db {
        &self.slot.db
    }

    /// Every row of `statement`, inside the transaction.
    ///
    /// # Errors
    ///
    /// As [`Db::fetch_all`].
    #[track_caller]
    pub fn fetch_all<'a, T: FromDbRow, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<Vec<T>, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { in_tx!(self, |target| run_fetch_all(&self.slot.db, target, statement, at).await) }
    }

    /// The first row of `statement`, if any, inside the transaction.
    ///
    /// # Errors
    ///
    /// As [`Db::fetch_all`].
    #[track_caller]
    pub fn fetch_optional<'a, T: FromDbRow, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<Option<T>, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { in_tx!(self, |target| run_fetch_optional(&self.slot.db, target, statement, at).await) }
    }

    /// The first column of the first row, inside the transaction.
    ///
    /// # Errors
    ///
    /// As [`Db::fetch_scalar`].
    #[track_caller]
    pub fn fetch_scalar<'a, T: FromDbValue, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { in_tx!(self, |target| run_fetch_scalar(&self.slot.db, target, statement, at).await) }
    }

    /// Runs an insert, update or delete inside the transaction; returns rows affected.
    ///
    /// # Errors
    ///
    /// As [`Db::execute`].
    #[track_caller]
    pub fn execute<'a, S: SqlxBinder + Sync>(
        &'a self,
        statement: &'a S,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { in_tx!(self, |target| run_execute(&self.slot.db, target, statement, at).await) }
    }

    /// Runs an insert inside the transaction and returns the new integer key.
    ///
    /// # Errors
    ///
    /// As [`Db::insert`].
    #[track_caller]
    pub fn insert<'a>(
        &'a self,
        statement: &'a InsertStatement,
        id_column: &'static str,
    ) -> impl Future<Output = Result<i64, SqlError>> + Send + 'a {
        let at = Location::caller();
        async move { in_tx!(self, |target| run_insert(&self.slot.db, target, statement, id_column, at).await) }
    }

    /// The first row, or 404, inside the transaction.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] when no row matches.
    #[track_caller]
    pub fn first_or_404<'a, T: FromDbRow>(
        &'a self,
        statement: impl IntoSelect<'a>,
    ) -> impl Future<Output = Result<T, SqlError>> + Send + 'a {
        let at = Location::caller();
        let limited = limited(statement, 1);
        async move {
            in_tx!(self, |target| run_fetch_optional(&self.slot.db, target, &limited, at).await)?
                .ok_or(SqlError::NotFound(None))
        }
    }

    /// Commits what the request has written so far, whatever the response will be.
    ///
    /// Later statements in the same request start a new transaction, which the layer ends
    /// by status as usual.
    ///
    /// # Errors
    ///
    /// When the commit fails (the writes are then rolled back).
    pub async fn commit(&self) -> Result<(), SqlError> {
        let conn = self.slot.conn.lock().await.take();
        match conn {
            Some(conn) => conn.end(true).await,
            None => Ok(()),
        }
    }

    /// Rolls back what the request has written so far.
    ///
    /// # Errors
    ///
    /// When the rollback fails (the connection is then closed, which also rolls back).
    pub async fn rollback(&self) -> Result<(), SqlError> {
        let conn = self.slot.conn.lock().await.take();
        match conn {
            Some(conn) => conn.end(false).await,
            None => Ok(()),
        }
    }
}

impl Tx {
    /// The request's transaction on bind `bind` (`"default"` for the default database), for
    /// code that holds the request parts, e.g. a middleware.
    ///
    /// # Errors
    ///
    /// [`SqlError::MissingLayer`] without [`SqlLayer`]; [`SqlError::UnknownBind`].
    pub fn from_parts(parts: &Parts, bind: &str) -> Result<Self, SqlError> {
        let scope = parts.extensions.get::<RequestScope>().ok_or(SqlError::MissingLayer)?;
        let mut db = scope.databases.bind(bind)?.clone();
        if let Some(log) = &scope.log {
            db = db.with_log(log.clone());
        }
        Ok(Self { slot: scope.slot(&db) })
    }
}

/// The default database's transaction; it needs [`SqlLayer`], not any particular router state,
/// so middleware built with `axum::middleware::from_fn` can take it too.
impl<S: Send + Sync> FromRequestParts<S> for Tx {
    type Rejection = SqlError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, SqlError> {
        Self::from_parts(parts, crate::databases::DEFAULT_BIND)
    }
}

/// Gives each request its transactions (and query log), and ends them with the response:
/// commit on 2xx/3xx, roll back on 4xx/5xx or when the handler panics.
///
/// A phial app gets it from [`SqlExtension`](crate::SqlExtension), in stage `Outer` so that
/// every other layer can share the request's transaction. In a bare axum app, add it yourself.
///
/// # Examples
///
/// ```
/// use phial_core::axum::{Router, routing::post};
/// use phial_sql::{Databases, SqlLayer, Tx};
///
/// async fn handler(_tx: Tx) {}
///
/// fn app(databases: Databases) -> Router {
///     Router::new().route("/", post(handler)).layer(SqlLayer::new(databases, false))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SqlLayer {
    databases: Arc<OnceLock<Databases>>,
    record_queries: bool,
}

impl SqlLayer {
    /// A layer over `databases`; `record_queries` turns on each request's [`QueryLog`].
    pub fn new(databases: Databases, record_queries: bool) -> Self {
        Self { databases: Arc::new(OnceLock::from(databases)), record_queries }
    }

    /// A layer whose databases are set once they are connected (by the extension's `start`).
    pub(crate) fn deferred(cell: Arc<OnceLock<Databases>>, record_queries: bool) -> Self {
        Self { databases: cell, record_queries }
    }
}

impl<S> Layer<S> for SqlLayer {
    type Service = SqlService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SqlService { inner, databases: Arc::clone(&self.databases), record_queries: self.record_queries }
    }
}

/// The service of [`SqlLayer`].
#[derive(Debug, Clone)]
pub struct SqlService<S> {
    inner: S,
    databases: Arc<OnceLock<Databases>>,
    record_queries: bool,
}

impl<S> Service<Request> for SqlService<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // Before `start` connected the databases there is nothing to scope (and no handler
        // can run that needs it).
        let scope = self.databases.get().map(|databases| RequestScope {
            databases: databases.clone(),
            slots: Arc::default(),
            log: self.record_queries.then(QueryLog::new),
        });
        if let Some(scope) = &scope {
            req.extensions_mut().insert(scope.clone());
        }
        let future = self.inner.call(req);
        Box::pin(async move {
            // If the handler panics, this future is dropped with it: the open transactions
            // are dropped too, and sqlx rolls them back before the connections return.
            let response = future.await?;
            let Some(scope) = scope else { return Ok(response) };
            let success = response.status().is_success() || response.status().is_redirection();
            if let Err(err) = scope.finish(success).await
                && success
            {
                // The handler said it succeeded but its writes did not persist: tell the client.
                return Ok(HttpError::from(err).into_response());
            }
            Ok(response)
        })
    }
}
