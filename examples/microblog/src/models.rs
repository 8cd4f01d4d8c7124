//! The original's models as rows and sea-query statements: `user`, `post`, `followers`.
//!
//! Timestamps are naive UTC, as SQLAlchemy stores `DateTime` columns. On SQLite they are
//! written as SQLAlchemy writes them (`2024-05-01 12:00:00.123456`, always six fractional
//! digits) so the original can read rows the port wrote, and text order is time order.

use phial::login::AuthUser;
use phial::sql::{Backend, Db, SqlError};
use std::sync::OnceLock;

use sea_query::{
    Cond, Expr, ExprTrait, InsertStatement, MysqlQueryBuilder, Order, PostgresQueryBuilder, Query, QueryBuilder,
    QueryStatementWriter, SelectStatement, SqliteQueryBuilder, Value, Values,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde::Serialize;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::md5;

/// A row of `user`, and the logged-in user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Primary key (`INTEGER`: 32 bits on PostgreSQL and MariaDB, as the original declares it).
    pub id: i32,
    /// Unique user name.
    pub username: String,
    /// Unique e-mail address.
    pub email: String,
    /// Werkzeug or argon2id hash; `NULL` for users who cannot log in with a password.
    pub password_hash: Option<String>,
    /// The profile text.
    pub about_me: Option<String>,
    /// When the user last made a request (naive UTC).
    pub last_seen: Option<PrimitiveDateTime>,
    /// When the user last opened their messages (naive UTC).
    pub last_message_read_time: Option<PrimitiveDateTime>,
    /// Messages received since then; set by the user loader for the navigation bar's badge.
    #[sqlx(skip)]
    pub unread_messages: i64,
    /// The user's background tasks in progress; set by the user loader for the tasks banner.
    #[sqlx(skip)]
    pub tasks: Vec<TaskView>,
}

impl User {
    /// The columns [`User`] reads.
    pub const COLUMNS: [&'static str; 7] =
        ["id", "username", "email", "password_hash", "about_me", "last_seen", "last_message_read_time"];

    /// The Gravatar URL of the user's avatar, `size` pixels square.
    pub fn avatar(&self, size: u32) -> String {
        avatar(&self.email, size)
    }
}

impl AuthUser for User {
    fn auth_id(&self) -> String {
        self.id.to_string()
    }

    // A password change (reset, rehash) ends the user's other sessions and remember-me tokens.
    fn session_auth_hash(&self) -> Option<String> {
        self.password_hash.clone()
    }

    fn template_fields(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username,
            "unread_message_count": self.unread_messages,
            "tasks": self.tasks,
        })
    }
}

/// `User.avatar(size)`: Gravatar's identicon for the MD5 of the lowercased address.
pub fn avatar(email: &str, size: u32) -> String {
    let digest = md5::hex_digest(email.to_lowercase().as_bytes());
    format!("https://www.gravatar.com/avatar/{digest}?d=identicon&s={size}")
}

/// A post with its author's name and address, as the templates show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostRow {
    /// Primary key (`INTEGER`: 32 bits on PostgreSQL and MariaDB, as the original declares it).
    pub id: i32,
    /// The text.
    pub body: String,
    /// When it was written (naive UTC).
    pub timestamp: PrimitiveDateTime,
    /// The language detected when it was written.
    pub language: Option<String>,
    /// The author's user name.
    pub username: String,
    /// The author's e-mail address (for the avatar).
    pub email: String,
}

/// A post as templates see it.
#[derive(Debug, Serialize)]
pub struct PostView {
    id: i32,
    body: String,
    timestamp: String,
    language: Option<String>,
    author: AuthorView,
}

#[derive(Debug, Serialize)]
struct AuthorView {
    username: String,
    avatar: String,
}

impl From<PostRow> for PostView {
    fn from(row: PostRow) -> Self {
        Self {
            id: row.id,
            timestamp: iso_utc(row.timestamp),
            language: row.language.filter(|language| !language.is_empty()),
            author: AuthorView { avatar: avatar(&row.email, 70), username: row.username },
            body: row.body,
        }
    }
}

/// `2024-05-01T12:00:00.123456Z`: a naive UTC time for the browser to show in local time.
pub fn iso_utc(at: PrimitiveDateTime) -> String {
    datetime_text(at, 'T', Micros::Always, "Z")
}

/// Python's `datetime.isoformat()` of a naive UTC time, then `suffix` (`"Z"` as the posts
/// export writes it, `"+00:00"` as an aware UTC time prints): microseconds only when not zero.
pub fn python_isoformat(at: PrimitiveDateTime, suffix: &str) -> String {
    datetime_text(at, 'T', Micros::UnlessZero, suffix)
}

/// Whether [`datetime_text`] writes the microseconds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Micros {
    Always,
    UnlessZero,
}

/// `YYYY-MM-DD`, `separator`, `HH:MM:SS`, `.ffffff` as `micros` says, then `suffix`.
fn datetime_text(at: PrimitiveDateTime, separator: char, micros: Micros, suffix: &str) -> String {
    let fraction = match (micros, at.microsecond()) {
        (Micros::UnlessZero, 0) => String::new(),
        (_, micro) => format!(".{micro:06}"),
    };
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}{fraction}{suffix}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Now, as a naive UTC time with microseconds (what Python's `datetime` holds).
pub fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.microsecond() * 1000).unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// A timestamp as a bound value for `backend` (see the module docs).
pub fn timestamp_value(backend: Backend, at: PrimitiveDateTime) -> Expr {
    Expr::val(timestamp_bound(backend, at))
}

/// [`timestamp_value`] as a [`Value`], for [`Prepared`] statements.
pub fn timestamp_bound(backend: Backend, at: PrimitiveDateTime) -> Value {
    if backend == Backend::Sqlite {
        // SQLAlchemy's SQLite format, `2024-01-02 03:04:05.123456`.
        Value::from(datetime_text(at, ' ', Micros::Always, ""))
    } else {
        Value::from(at)
    }
}

/// A statement of a fixed shape: its SQL, built once per backend by a [`Statement`], and
/// this call's values. The hot queries (the token check, the user loader) use it, so a
/// request does not build and render the same sea-query tree again.
#[derive(Debug, Clone)]
pub struct Prepared {
    sql: &'static str,
    values: Vec<Value>,
}

impl SqlxBinder for Prepared {
    fn build_sqlx<T: QueryBuilder>(&self, _builder: T) -> (String, SqlxValues) {
        (self.sql.to_owned(), SqlxValues(Values(self.values.clone())))
    }
}

/// The SQL of one statement shape, rendered once per backend on first use.
///
/// ```
/// use microblog::models::Statement;
/// use phial::sql::Backend;
/// use sea_query::{Expr, ExprTrait, Query};
///
/// static BY_ID: Statement = Statement::new();
/// let shape = || Query::select().column("username").from("user").and_where(Expr::col("id").eq(0)).to_owned();
/// let prepared = BY_ID.prepare(Backend::Sqlite, shape, vec![7.into()]);
/// assert_eq!(prepared.sql(), r#"SELECT "username" FROM "user" WHERE "id" = ?"#);
/// ```
#[derive(Debug)]
pub struct Statement {
    sqlite: OnceLock<(String, usize)>,
    postgres: OnceLock<(String, usize)>,
    mysql: OnceLock<(String, usize)>,
}

impl Statement {
    /// An empty cache, for a `static`.
    pub const fn new() -> Self {
        Self { sqlite: OnceLock::new(), postgres: OnceLock::new(), mysql: OnceLock::new() }
    }

    /// `shape`'s SQL on `backend` (rendered on the first call; `shape` must always give the
    /// same statement, with placeholder values) with `values`: one for each of its parameters,
    /// in their order (checked in debug builds).
    pub fn prepare<S: QueryStatementWriter>(
        &'static self,
        backend: Backend,
        shape: impl FnOnce() -> S,
        values: Vec<Value>,
    ) -> Prepared {
        let render = |(sql, values): (String, Values)| (sql, values.0.len());
        let (sql, parameters) = match backend {
            Backend::Postgres => self.postgres.get_or_init(|| render(shape().build(PostgresQueryBuilder))),
            Backend::MySql => self.mysql.get_or_init(|| render(shape().build(MysqlQueryBuilder))),
            _ => self.sqlite.get_or_init(|| render(shape().build(SqliteQueryBuilder))),
        };
        debug_assert_eq!(*parameters, values.len(), "the values of {sql}");
        Prepared { sql, values }
    }
}

impl Default for Statement {
    fn default() -> Self {
        Self::new()
    }
}

impl Prepared {
    /// The SQL.
    pub fn sql(&self) -> &str {
        self.sql
    }
}

fn select_user() -> SelectStatement {
    let mut select = Query::select();
    select.columns(User::COLUMNS.map(|column| ("user", column))).from("user");
    select
}

/// The user with `id`.
pub async fn user_by_id(db: &Db, id: i32) -> Result<Option<User>, SqlError> {
    db.fetch_optional(select_user().and_where(Expr::col("id").eq(id))).await
}

/// The user named `username`.
pub async fn user_by_username(db: &Db, username: &str) -> Result<Option<User>, SqlError> {
    db.fetch_optional(select_user().and_where(Expr::col("username").eq(username))).await
}

/// The user with address `email`.
pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<User>, SqlError> {
    db.fetch_optional(select_user().and_where(Expr::col("email").eq(email))).await
}

/// The user named `username`, or 404: `db.first_or_404(select(User).where(...))`.
pub async fn user_or_404(db: &Db, username: &str) -> Result<User, SqlError> {
    let mut select = select_user();
    select.and_where(Expr::col("username").eq(username));
    db.first_or_404(select).await
}

/// Adds a user; returns its id.
pub async fn create_user(db: &Db, username: &str, email: &str, password_hash: &str) -> Result<i32, SqlError> {
    let insert = Query::insert()
        .into_table("user")
        .columns(["username", "email", "password_hash", "last_seen"])
        .values_panic([username.into(), email.into(), password_hash.into(), timestamp_value(db.backend(), now())])
        .to_owned();
    insert_returning_id(db, insert).await
}

/// Stores a new password hash (a rehash at login, or a reset).
pub async fn set_password_hash(db: &Db, id: i32, hash: &str) -> Result<(), SqlError> {
    let update =
        Query::update().table("user").value("password_hash", hash).and_where(Expr::col("id").eq(id)).to_owned();
    db.execute(&update).await.map(drop)
}

/// The original's `before_request`: `current_user.last_seen = now`.
pub async fn touch_last_seen(db: &Db, id: i32, at: PrimitiveDateTime) -> Result<(), SqlError> {
    static TOUCH: Statement = Statement::new();
    let backend = db.backend();
    let shape = || {
        Query::update()
            .table("user")
            .value("last_seen", timestamp_value(backend, at))
            .and_where(Expr::col("id").eq(0))
            .to_owned()
    };
    db.execute(&TOUCH.prepare(backend, shape, vec![timestamp_bound(backend, at), id.into()])).await.map(drop)
}

/// Saves the edit-profile form.
pub async fn update_profile(db: &Db, id: i32, username: &str, about_me: Option<&str>) -> Result<(), SqlError> {
    let update = Query::update()
        .table("user")
        .values([("username", username.into()), ("about_me", about_me.map(str::to_owned).into())])
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    db.execute(&update).await.map(drop)
}

/// Adds a post by `user_id`.
pub async fn create_post(db: &Db, user_id: i32, body: &str, language: &str) -> Result<i32, SqlError> {
    let insert = Query::insert()
        .into_table("post")
        .columns(["body", "timestamp", "user_id", "language"])
        .values_panic([body.into(), timestamp_value(db.backend(), now()), user_id.into(), language.into()])
        .to_owned();
    insert_returning_id(db, insert).await
}

/// Runs `insert` and returns the new row's `id`. `Db::insert` reads the id as a `BIGINT`,
/// which PostgreSQL refuses for the original's `SERIAL` (32-bit) keys, so there the id comes
/// back through `RETURNING` as an `i32`.
async fn insert_returning_id(db: &Db, mut insert: InsertStatement) -> Result<i32, SqlError> {
    if db.backend() == Backend::Postgres {
        insert.returning_col("id");
        return db.fetch_scalar(&insert).await;
    }
    let id = db.insert(&insert, "id").await?;
    i32::try_from(id).map_err(|_| SqlError::Config(format!("row id {id} does not fit the INTEGER column")))
}

/// Posts with their authors, newest first; narrowed by the callers.
fn select_posts() -> SelectStatement {
    let mut select = Query::select();
    select
        .columns([("post", "id"), ("post", "body"), ("post", "timestamp"), ("post", "language")])
        .columns([("user", "username"), ("user", "email")])
        .from("post")
        .inner_join("user", Expr::col(("user", "id")).equals(("post", "user_id")))
        .order_by(("post", "timestamp"), Order::Desc)
        .order_by(("post", "id"), Order::Desc);
    select
}

/// `User.following_posts()`: the user's own posts and those of the users they follow.
pub fn following_posts(user_id: i32) -> SelectStatement {
    let followed = Query::select()
        .column("followed_id")
        .from("followers")
        .and_where(Expr::col("follower_id").eq(user_id))
        .to_owned();
    let mut select = select_posts();
    select.cond_where(
        Cond::any()
            .add(Expr::col(("post", "user_id")).eq(user_id))
            .add(Expr::col(("post", "user_id")).in_subquery(followed)),
    );
    select
}

/// Every post (explore).
pub fn all_posts() -> SelectStatement {
    select_posts()
}

/// At most this many distinct words of a query are searched for: on SQLite and MariaDB each
/// is a pass over every post's body, and the query string is the client's.
const MAX_SEARCH_WORDS: usize = 8;

/// The distinct words of `query` (lowercased), the first [`MAX_SEARCH_WORDS`] of them.
fn search_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in query.split_whitespace().map(str::to_lowercase) {
        if !words.contains(&word) {
            words.push(word);
            if words.len() == MAX_SEARCH_WORDS {
                break;
            }
        }
    }
    words
}

/// Posts that contain every word of `query`, in the database's own way (the original asks
/// Elasticsearch): on PostgreSQL full-text search with the `simple` configuration (no
/// stemming, any language; `to_tsvector` against `plainto_tsquery`, best match first, on the
/// GIN index of revision `a1f0c3e5d7b9`); on SQLite and MariaDB a case-insensitive `LIKE` per
/// word, newest first. Repeated words count once, and only the first eight distinct words
/// are searched for. `None` when `query` has no words.
pub fn search_posts(backend: Backend, query: &str) -> Option<SelectStatement> {
    let words = search_words(query);
    if words.is_empty() {
        return None;
    }
    let mut select = select_posts();
    if backend == Backend::Postgres {
        let query = words.join(" ");
        let matches = "to_tsvector('simple', \"post\".\"body\") @@ plainto_tsquery('simple', $1)";
        let rank = "ts_rank(to_tsvector('simple', \"post\".\"body\"), plainto_tsquery('simple', $1))";
        select.and_where(Expr::cust_with_values(matches, [query.as_str()]));
        select.clear_order_by();
        select
            .order_by_expr(Expr::cust_with_values(rank, [query.as_str()]), Order::Desc)
            .order_by(("post", "timestamp"), Order::Desc)
            .order_by(("post", "id"), Order::Desc);
    } else {
        for word in words {
            let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\');
            // Lowercased on both sides: SQLite's LIKE folds ASCII letters only.
            select.and_where(sea_query::Func::lower(Expr::col(("post", "body"))).like(pattern));
        }
    }
    Some(select)
}

/// The posts of one user (profile).
pub fn posts_of(user_id: i32) -> SelectStatement {
    let mut select = select_posts();
    select.and_where(Expr::col(("post", "user_id")).eq(user_id));
    select
}

/// One page of posts, as Flask-SQLAlchemy's `paginate(error_out=False)` pages them: a page
/// past the end is empty (with a link back), not an error. Returns the posts and whether
/// there is a next page.
pub async fn page_of_posts(
    db: &Db,
    mut select: SelectStatement,
    page: u64,
    per_page: u64,
) -> Result<(Vec<PostRow>, bool), SqlError> {
    // One extra row says whether a next page exists, without a COUNT over the feed.
    select.limit(per_page + 1).offset((page - 1).saturating_mul(per_page));
    let mut posts: Vec<PostRow> = db.fetch_all(&select).await?;
    let more = posts.len() as u64 > per_page;
    posts.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok((posts, more))
}

async fn count(db: &Db, select: SelectStatement) -> Result<i64, SqlError> {
    let count = Query::select().expr(Expr::cust("COUNT(*)")).from_subquery(select, "counted").to_owned();
    db.fetch_scalar(&count).await
}

/// A user's post, follower and following counts, as the API's `to_dict()` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    /// `posts_count()`.
    pub post_count: i64,
    /// `followers_count()`.
    pub follower_count: i64,
    /// `following_count()`.
    pub following_count: i64,
}

/// A user row with its [`Counts`], read in one statement.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CountedUser {
    /// The row.
    #[sqlx(flatten)]
    pub user: User,
    /// Its counts.
    #[sqlx(flatten)]
    pub counts: Counts,
}

/// Adds the [`Counts`] of each selected `user` row to `select` as scalar subqueries (one
/// statement instead of a round trip per count).
pub fn with_counts(select: &mut SelectStatement) -> &mut SelectStatement {
    select
        .expr_as(Expr::from(count_per_user("post", "user_id")), "post_count")
        .expr_as(Expr::from(count_per_user("followers", "followed_id")), "follower_count")
        .expr_as(Expr::from(count_per_user("followers", "follower_id")), "following_count")
}

/// `SELECT COUNT(*) FROM table WHERE table.column = user.id`: a scalar subquery counting the
/// rows of the outer query's `user`; add conditions to count fewer.
fn count_per_user(table: &str, column: &str) -> SelectStatement {
    Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(table.to_owned())
        .and_where(Expr::col((table.to_owned(), column.to_owned())).equals(("user", "id")))
        .to_owned()
}

/// The user with `id` and their [`Counts`].
pub async fn counted_user_by_id(db: &Db, id: i32) -> Result<Option<CountedUser>, SqlError> {
    static BY_ID: Statement = Statement::new();
    let shape = || with_counts(select_user().and_where(Expr::col(("user", "id")).eq(0))).to_owned();
    db.fetch_optional(&BY_ID.prepare(db.backend(), shape, vec![id.into()])).await
}

/// A user row as the user loader reads it: with the unread message count and whether any task
/// is in progress, in one statement.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadedUser {
    /// The row.
    #[sqlx(flatten)]
    pub user: User,
    /// [`unread_message_count`].
    pub unread_messages: i64,
    /// How many of the user's tasks are not complete (0: [`tasks_in_progress`] has nothing).
    pub open_tasks: i64,
}

/// The user with `id`, with [`LoadedUser`]'s extras.
pub async fn loaded_user_by_id(db: &Db, id: i32) -> Result<Option<LoadedUser>, SqlError> {
    static BY_ID: Statement = Statement::new();
    let shape = || {
        // `unread_message_count()`: received after `last_message_read_time`, all when never read.
        let read = ("user", "last_message_read_time");
        let unread = count_per_user("message", "recipient_id")
            .cond_where(
                Cond::any().add(Expr::col(read).is_null()).add(Expr::col(("message", "timestamp")).gt(Expr::col(read))),
            )
            .to_owned();
        let open_tasks =
            count_per_user("task", "user_id").and_where(Expr::col(("task", "complete")).eq(false)).to_owned();
        select_user()
            .expr_as(Expr::from(unread), "unread_messages")
            .expr_as(Expr::from(open_tasks), "open_tasks")
            .and_where(Expr::col(("user", "id")).eq(0))
            .to_owned()
    };
    db.fetch_optional(&BY_ID.prepare(db.backend(), shape, vec![false.into(), id.into()])).await
}

/// How many users follow `user_id`.
pub async fn followers_count(db: &Db, user_id: i32) -> Result<i64, SqlError> {
    count(
        db,
        Query::select()
            .column("follower_id")
            .from("followers")
            .and_where(Expr::col("followed_id").eq(user_id))
            .to_owned(),
    )
    .await
}

/// How many users `user_id` follows.
pub async fn following_count(db: &Db, user_id: i32) -> Result<i64, SqlError> {
    count(
        db,
        Query::select()
            .column("followed_id")
            .from("followers")
            .and_where(Expr::col("follower_id").eq(user_id))
            .to_owned(),
    )
    .await
}

/// Whether `fan` follows `star`.
pub async fn is_following(db: &Db, fan: i32, star: i32) -> Result<bool, SqlError> {
    let select = Query::select()
        .column("follower_id")
        .from("followers")
        .and_where(Expr::col("follower_id").eq(fan))
        .and_where(Expr::col("followed_id").eq(star))
        .to_owned();
    Ok(db.fetch_optional::<(i32,), _>(&select).await?.is_some())
}

/// `User.follow`: `fan` follows `star` (once, however often asked).
pub async fn follow(db: &Db, fan: i32, star: i32) -> Result<(), SqlError> {
    if is_following(db, fan, star).await? {
        return Ok(());
    }
    let insert = Query::insert()
        .into_table("followers")
        .columns(["follower_id", "followed_id"])
        .values_panic([fan.into(), star.into()])
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// `User.unfollow`: `fan` stops following `star`.
pub async fn unfollow(db: &Db, fan: i32, star: i32) -> Result<(), SqlError> {
    let delete = Query::delete()
        .from_table("followers")
        .and_where(Expr::col("follower_id").eq(fan))
        .and_where(Expr::col("followed_id").eq(star))
        .to_owned();
    db.execute(&delete).await.map(drop)
}

/// `User.unread_message_count()`: messages received after `last_message_read_time`.
pub async fn unread_message_count(db: &Db, user: &User) -> Result<i64, SqlError> {
    let mut select = Query::select();
    select.column("id").from("message").and_where(Expr::col("recipient_id").eq(user.id));
    if let Some(read) = user.last_message_read_time {
        select.and_where(Expr::col("timestamp").gt(timestamp_value(db.backend(), read)));
    }
    count(db, select).await
}

/// Sends a message.
pub async fn create_message(db: &Db, sender: i32, recipient: i32, body: &str) -> Result<i32, SqlError> {
    let insert = Query::insert()
        .into_table("message")
        .columns(["sender_id", "recipient_id", "body", "timestamp"])
        .values_panic([sender.into(), recipient.into(), body.into(), timestamp_value(db.backend(), now())])
        .to_owned();
    insert_returning_id(db, insert).await
}

/// The messages `recipient` received, with their senders, newest first, as [`PostRow`]s (the
/// original shows them with the post template).
pub fn messages_received(recipient: i32) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns([("message", "id"), ("message", "body"), ("message", "timestamp")])
        .expr_as(Expr::val(Option::<String>::None), "language")
        .columns([("user", "username"), ("user", "email")])
        .from("message")
        .inner_join("user", Expr::col(("user", "id")).equals(("message", "sender_id")))
        .and_where(Expr::col(("message", "recipient_id")).eq(recipient))
        .order_by(("message", "timestamp"), Order::Desc)
        .order_by(("message", "id"), Order::Desc);
    select
}

/// Records that the user read their messages now.
pub async fn mark_messages_read(db: &Db, user_id: i32, at: PrimitiveDateTime) -> Result<(), SqlError> {
    let update = Query::update()
        .table("user")
        .value("last_message_read_time", timestamp_value(db.backend(), at))
        .and_where(Expr::col("id").eq(user_id))
        .to_owned();
    db.execute(&update).await.map(drop)
}

/// `User.add_notification(name, data)`: replaces the user's notification of that name.
pub async fn add_notification(db: &Db, user_id: i32, name: &str, data: &serde_json::Value) -> Result<(), SqlError> {
    // `time.time()`: seconds since the epoch as a float.
    let timestamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64());
    // The original deletes and inserts in one transaction. Replacing the row in place gives
    // the same result without one, and a reader polling between two statements never finds
    // the notification gone; only a user's first notification of a name is inserted.
    let update = Query::update()
        .table("notification")
        .values([("timestamp", timestamp.into()), ("payload_json", data.to_string().into())])
        .and_where(Expr::col("user_id").eq(user_id))
        .and_where(Expr::col("name").eq(name))
        .to_owned();
    if db.execute(&update).await? > 0 {
        return Ok(());
    }
    let insert = Query::insert()
        .into_table("notification")
        .columns(["name", "user_id", "timestamp", "payload_json"])
        .values_panic([name.into(), user_id.into(), timestamp.into(), data.to_string().into()])
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// A row of `notification`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    /// What it is about (`unread_message_count`, `task_progress`).
    pub name: String,
    /// Seconds since the epoch.
    pub timestamp: f64,
    /// The JSON payload, as text.
    pub payload_json: String,
}

/// The user's notifications newer than `since`, oldest first.
pub async fn notifications_since(db: &Db, user_id: i32, since: f64) -> Result<Vec<NotificationRow>, SqlError> {
    let select = Query::select()
        .columns(["name", "timestamp", "payload_json"])
        .from("notification")
        .and_where(Expr::col("user_id").eq(user_id))
        .and_where(Expr::col("timestamp").gt(since))
        .order_by("timestamp", Order::Asc)
        .to_owned();
    db.fetch_all(&select).await
}

/// A background task in progress, as the tasks banner shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    /// The task's id (36 characters, as RQ's job ids).
    pub id: String,
    /// What it does (`export_posts`).
    pub name: String,
    /// "Exporting posts...", in the language of the request that started it.
    pub description: Option<String>,
    /// Percent done, from the user's last `task_progress` notification for it (0 before one).
    pub progress: i64,
}

/// `User.get_tasks_in_progress()`, each with its progress (`Task.get_progress()`).
pub async fn tasks_in_progress(db: &Db, user_id: i32) -> Result<Vec<TaskView>, SqlError> {
    let select = Query::select()
        .columns(["id", "name", "description"])
        .from("task")
        .and_where(Expr::col("user_id").eq(user_id))
        .and_where(Expr::col("complete").eq(false))
        .order_by("id", Order::Asc)
        .to_owned();
    let rows: Vec<(String, String, Option<String>)> = db.fetch_all(&select).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let latest = last_task_progress(db, user_id).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description)| {
            let progress = latest.as_ref().filter(|(task, _)| *task == id).map_or(0, |(_, progress)| *progress);
            TaskView { id, name, description, progress }
        })
        .collect())
}

/// The task and percentage of the user's last `task_progress` notification.
async fn last_task_progress(db: &Db, user_id: i32) -> Result<Option<(String, i64)>, SqlError> {
    let select = Query::select()
        .column("payload_json")
        .from("notification")
        .and_where(Expr::col("user_id").eq(user_id))
        .and_where(Expr::col("name").eq("task_progress"))
        .to_owned();
    let Some((payload,)) = db.fetch_optional::<(String,), _>(&select).await? else { return Ok(None) };
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
    let task = payload["task_id"].as_str().map(str::to_owned);
    Ok(task.map(|task| (task, payload["progress"].as_i64().unwrap_or(0))))
}

/// Adds a `task` row, not complete (`User.launch_task`).
pub async fn create_task(db: &Db, id: &str, name: &str, description: &str, user_id: i32) -> Result<(), SqlError> {
    let insert = Query::insert()
        .into_table("task")
        .columns(["id", "name", "description", "user_id", "complete"])
        .values_panic([id.into(), name.into(), description.into(), user_id.into(), false.into()])
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// Marks a task complete.
pub async fn complete_task(db: &Db, id: &str) -> Result<(), SqlError> {
    let update = Query::update().table("task").value("complete", true).and_where(Expr::col("id").eq(id)).to_owned();
    db.execute(&update).await.map(drop)
}

/// Marks every task still in progress complete; returns how many there were.
pub async fn complete_all_tasks(db: &Db) -> Result<u64, SqlError> {
    let update =
        Query::update().table("task").value("complete", true).and_where(Expr::col("complete").eq(false)).to_owned();
    db.execute(&update).await
}

/// A user's posts for the export, oldest first: body and time.
pub async fn posts_for_export(db: &Db, user_id: i32) -> Result<Vec<(String, PrimitiveDateTime)>, SqlError> {
    let select = Query::select()
        .columns(["body", "timestamp"])
        .from("post")
        .and_where(Expr::col("user_id").eq(user_id))
        .order_by("timestamp", Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned();
    db.fetch_all(&select).await
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn timestamps_print_as_the_browser_python_and_sqlalchemy_read_them() {
        let with_micros = datetime!(2024-01-02 03:04:05.123456);
        let whole = datetime!(2024-01-02 03:04:05);
        assert_eq!(iso_utc(with_micros), "2024-01-02T03:04:05.123456Z");
        assert_eq!(iso_utc(whole), "2024-01-02T03:04:05.000000Z");
        assert_eq!(python_isoformat(with_micros, "+00:00"), "2024-01-02T03:04:05.123456+00:00");
        assert_eq!(python_isoformat(whole, "Z"), "2024-01-02T03:04:05Z");
        assert_eq!(timestamp_bound(Backend::Sqlite, whole), Value::from("2024-01-02 03:04:05.000000"));
        assert_eq!(timestamp_bound(Backend::Postgres, whole), Value::from(whole));
    }

    #[test]
    fn a_search_takes_each_word_once_and_at_most_eight() {
        assert_eq!(search_words("  Rust rust RUST  axum "), ["rust", "axum"]);
        let many = (0..1000).map(|i| format!("w{}", i % 50)).collect::<Vec<_>>().join(" ");
        assert_eq!(search_words(&many), (0..8).map(|i| format!("w{i}")).collect::<Vec<_>>());
        let sql = search_posts(Backend::Sqlite, &many).expect("words").to_string(sea_query::SqliteQueryBuilder);
        assert_eq!(sql.matches(" LIKE ").count(), 8, "{sql}");
        assert!(search_posts(Backend::Sqlite, " \t ").is_none());
    }
}
