//! The `api` blueprint (`app/api/`): users, followers and following as JSON with `_meta` and
//! `_links`, tokens issued for HTTP Basic credentials and revoked, errors as
//! `{"error": ..., "message": ...}` with Flask-HTTPAuth's 401 challenges.

use base64::Engine as _;
use phial::axum::Json;
use phial::axum::extract::{FromRequestParts, Path, Query, State};
use phial::axum::http::{HeaderMap, StatusCode, header, request::Parts};
use phial::axum::response::{IntoResponse, Response};
use phial::axum::routing::get;
use phial::login::password::PasswordHasher;
use phial::prelude::*;
use phial::sql::{Databases, Db};
use sea_query::{Expr, ExprTrait, Order, Query as Sql, SelectStatement};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, PrimitiveDateTime};

use crate::models::{self, CountedUser, Counts, Prepared, Statement, User};

/// The blueprint, mounted at `/api`.
pub fn blueprint() -> Blueprint {
    Blueprint::new("api")
        .endpoint("get_token", "/tokens", phial::axum::routing::post(get_token).delete(revoke_token))
        .endpoint("get_users", "/users", get(get_users).post(create_user))
        .endpoint("get_user", "/users/{id}", get(get_user).put(update_user))
        .endpoint("get_followers", "/users/{id}/followers", get(get_followers))
        .endpoint("get_following", "/users/{id}/following", get(get_following))
}

/// An API error, answered as `error_response(status, message)` does: `{"error": <reason>,
/// "message": ...}`, and for a 401 with Flask-HTTPAuth's challenge.
#[derive(Debug, Clone, Copy)]
pub struct ApiError {
    status: StatusCode,
    message: Option<&'static str>,
    challenge: Option<&'static str>,
}

impl ApiError {
    /// `error_response(status)`.
    pub fn status(status: StatusCode) -> Self {
        Self { status, message: None, challenge: None }
    }

    /// `bad_request(message)`.
    pub fn bad_request(message: &'static str) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: Some(message), challenge: None }
    }

    /// A 401 asking for credentials of `scheme` (`Basic`, `Bearer`).
    pub fn unauthorized(scheme: &'static str) -> Self {
        Self { status: StatusCode::UNAUTHORIZED, message: None, challenge: Some(scheme) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut payload = json!({ "error": self.status.canonical_reason().unwrap_or("Unknown error") });
        if let Some(message) = self.message {
            payload["message"] = message.into();
        }
        let mut response = (self.status, Json(payload)).into_response();
        if let Some(scheme) = self.challenge
            && let Ok(value) = format!(r#"{scheme} realm="Authentication Required""#).parse()
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn bad_request(message: &'static str) -> ApiError {
    ApiError::bad_request(message)
}

fn unauthorized(scheme: &'static str) -> ApiError {
    ApiError::unauthorized(scheme)
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "API request failed");
    ApiError::status(StatusCode::INTERNAL_SERVER_ERROR)
}

fn db_of(state: &AppState) -> Result<Db, ApiError> {
    state.get::<Databases>().map(|databases| databases.default_db().clone()).ok_or_else(|| internal("no database"))
}

/// A user's API token columns.
#[derive(Debug, sqlx::FromRow)]
struct TokenRow {
    token: Option<String>,
    token_expiration: Option<PrimitiveDateTime>,
}

/// A user row read by its token, with the token's expiry.
#[derive(Debug, sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    user: User,
    token_expiration: Option<PrimitiveDateTime>,
}

/// [`TokenUserRow`] with the user's counts, for `GET /users/<id>` of the token's own user.
#[derive(Debug, sqlx::FromRow)]
struct CountedTokenUserRow {
    #[sqlx(flatten)]
    user: CountedUser,
    token_expiration: Option<PrimitiveDateTime>,
}

/// The user of a valid bearer token: `token_auth.login_required`.
struct TokenUser(User);

impl FromRequestParts<AppState> for TokenUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| unauthorized("Bearer"))?;
        let db = db_of(state)?;
        let row: Option<TokenUserRow> = db.fetch_optional(&token_select(&db, &token, false)).await.map_err(internal)?;
        match row.filter(|row| token_valid(row.token_expiration)) {
            Some(row) => Ok(Self(row.user)),
            None => Err(unauthorized("Bearer")),
        }
    }
}

/// A bearer token, not yet checked: the handler checks it (see [`get_user`]), so the check can
/// share a statement with what the handler reads.
struct BearerToken(String);

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        bearer(&parts.headers).map(Self).ok_or_else(|| unauthorized("Bearer"))
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

/// `User.check_token`, in one statement: the user row holding `token` and its expiry, and with
/// `counts` the user's [`Counts`] too.
fn token_select(db: &Db, token: &str, counts: bool) -> Prepared {
    static PLAIN: Statement = Statement::new();
    static COUNTED: Statement = Statement::new();
    let shape = || {
        let mut select = users_select();
        select.column(("user", "token_expiration")).and_where(Expr::col(("user", "token")).eq(""));
        if counts {
            models::with_counts(&mut select);
        }
        select
    };
    let statement = if counts { &COUNTED } else { &PLAIN };
    statement.prepare(db.backend(), shape, vec![token.into()])
}

/// `User.check_token`'s test: a token is refused once it has expired.
fn token_valid(expiration: Option<PrimitiveDateTime>) -> bool {
    expiration.is_some_and(|expires| expires >= models::now())
}

/// `User.get_token()`: the current token while more than a minute remains, else a new one for
/// an hour (32 hex digits).
async fn issue_token(db: &Db, user_id: i32) -> Result<String, ApiError> {
    let select = Sql::select()
        .columns(["token", "token_expiration"])
        .from("user")
        .and_where(Expr::col("id").eq(user_id))
        .to_owned();
    let row: TokenRow = db.fetch_optional(&select).await.map_err(internal)?.ok_or_else(|| internal("user vanished"))?;
    let now = models::now();
    if let (Some(token), Some(expires)) = (row.token, row.token_expiration)
        && expires > now + Duration::seconds(60)
    {
        return Ok(token);
    }
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(internal)?;
    let token = hex::encode(bytes);
    let update = Sql::update()
        .table("user")
        .value("token", token.as_str())
        .value("token_expiration", models::timestamp_value(db.backend(), now + Duration::seconds(3600)))
        .and_where(Expr::col("id").eq(user_id))
        .to_owned();
    db.execute(&update).await.map_err(internal)?;
    Ok(token)
}

/// `POST /api/tokens` with HTTP Basic credentials: `{"token": ...}`.
async fn get_token(
    State(state): State<AppState>,
    Ext(hasher): Ext<PasswordHasher>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (username, password) = basic_credentials(&headers).ok_or_else(|| unauthorized("Basic"))?;
    let db = db_of(&state)?;
    let user = crate::auth::check_password(&db, &hasher, &username, &password)
        .await
        .map_err(internal)?
        .ok_or_else(|| unauthorized("Basic"))?;
    Ok(Json(json!({ "token": issue_token(&db, user.id).await? })))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

/// `DELETE /api/tokens`: the token expires now; 204.
async fn revoke_token(State(state): State<AppState>, TokenUser(user): TokenUser) -> Result<StatusCode, ApiError> {
    let db = db_of(&state)?;
    let update = Sql::update()
        .table("user")
        .value("token_expiration", models::timestamp_value(db.backend(), models::now() - Duration::seconds(1)))
        .and_where(Expr::col("id").eq(user.id))
        .to_owned();
    db.execute(&update).await.map_err(internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/users/<int:id>`: anything but an integer is no route (404).
fn parse_id(id: &str) -> Result<i32, ApiError> {
    id.parse::<i32>().map_err(|_| ApiError::status(StatusCode::NOT_FOUND))
}

async fn user_or_404(db: &Db, id: i32) -> Result<User, ApiError> {
    models::user_by_id(db, id).await.map_err(internal)?.ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND))
}

async fn counted_user_or_404(db: &Db, id: i32) -> Result<CountedUser, ApiError> {
    models::counted_user_by_id(db, id).await.map_err(internal)?.ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND))
}

/// `User.to_dict()`: written straight to the response, its fields in sorted key order as
/// Flask's JSON provider sorts them (the bytes `json!` with a sorted map would give).
#[derive(Debug, Serialize)]
struct UserDict<'a> {
    #[serde(rename = "_links")]
    links: UserLinks,
    about_me: Option<&'a str>,
    follower_count: i64,
    following_count: i64,
    id: i32,
    last_seen: Option<String>,
    post_count: i64,
    username: &'a str,
}

#[derive(Debug, Serialize)]
struct UserLinks {
    avatar: String,
    followers: String,
    following: String,
    #[serde(rename = "self")]
    this: String,
}

/// `User.to_dict()`, of a user read with its counts ([`models::with_counts`]).
fn to_dict(counted: &CountedUser) -> UserDict<'_> {
    let CountedUser { user, counts: Counts { post_count, follower_count, following_count } } = counted;
    let id = user.id;
    UserDict {
        links: UserLinks {
            avatar: user.avatar(128),
            followers: format!("/api/users/{id}/followers"),
            following: format!("/api/users/{id}/following"),
            this: format!("/api/users/{id}"),
        },
        about_me: user.about_me.as_deref(),
        follower_count: *follower_count,
        following_count: *following_count,
        id,
        last_seen: user.last_seen.map(|at| models::python_isoformat(at, "+00:00")),
        post_count: *post_count,
        username: &user.username,
    }
}

async fn count(db: &Db, select: SelectStatement) -> Result<i64, ApiError> {
    let count = Sql::select().expr(Expr::cust("COUNT(*)")).from_subquery(select, "counted").to_owned();
    db.fetch_scalar(&count).await.map_err(internal)
}

/// `?page=&per_page=` read as `request.args.get(..., type=int)`.
#[derive(Debug, Deserialize)]
struct PageArgs {
    page: Option<String>,
    per_page: Option<String>,
}

impl PageArgs {
    fn page(&self) -> i64 {
        self.page.as_deref().and_then(|page| page.trim().parse().ok()).unwrap_or(1)
    }

    /// `min(per_page or 10, 100)`.
    fn per_page(&self) -> i64 {
        let per_page = self.per_page.as_deref().and_then(|per_page| per_page.trim().parse().ok()).unwrap_or(10);
        Ord::min(per_page, 100)
    }
}

/// `PaginatedAPIMixin.to_collection_dict`: one page of users with `_meta` and `_links`.
async fn collection(db: &Db, users: SelectStatement, args: &PageArgs, path: &str) -> Result<Value, ApiError> {
    let (page, per_page) = (args.page(), args.per_page());
    // db.paginate(error_out=False) clamps what it queries, while _meta shows what was asked.
    let (query_page, query_per_page) = (Ord::max(page, 1), if per_page < 1 { 20 } else { per_page });
    let total = count(db, users.clone()).await?;
    let pages = if total == 0 { 0 } else { (total + query_per_page - 1) / query_per_page };
    let mut select = users;
    models::with_counts(&mut select)
        .order_by(("user", "id"), Order::Asc)
        .limit(query_per_page.unsigned_abs())
        .offset(((query_page - 1) * query_per_page).unsigned_abs());
    let rows: Vec<CountedUser> = db.fetch_all(&select).await.map_err(internal)?;
    let items: Vec<UserDict<'_>> = rows.iter().map(to_dict).collect();
    let link = |page: i64| format!("{path}?page={page}&per_page={per_page}");
    Ok(json!({
        "_links": {
            "next": (query_page < pages).then(|| link(page + 1)),
            "prev": (query_page > 1).then(|| link(page - 1)),
            "self": link(page),
        },
        "_meta": { "page": page, "per_page": per_page, "total_items": total, "total_pages": pages },
        "items": items,
    }))
}

fn users_select() -> SelectStatement {
    let mut select = Sql::select();
    select.columns(User::COLUMNS.map(|column| ("user", column))).from("user");
    select
}

/// `GET /users/<id>`. The token check reads the token's user with its counts in the same
/// statement, so a user asking for themselves (the common case) costs one query; another id
/// costs a second.
async fn get_user(State(state): State<AppState>, BearerToken(token): BearerToken, Path(id): Path<String>) -> Response {
    respond(async {
        let db = db_of(&state)?;
        let row: Option<CountedTokenUserRow> =
            db.fetch_optional(&token_select(&db, &token, true)).await.map_err(internal)?;
        let me = row.filter(|row| token_valid(row.token_expiration)).ok_or_else(|| unauthorized("Bearer"))?.user;
        let id = parse_id(&id)?;
        let user = if me.user.id == id { me } else { counted_user_or_404(&db, id).await? };
        Ok(Json(to_dict(&user)).into_response())
    })
    .await
}

async fn get_users(State(state): State<AppState>, _auth: TokenUser, Query(args): Query<PageArgs>) -> Response {
    respond(async {
        let db = db_of(&state)?;
        Ok(Json(collection(&db, users_select(), &args, "/api/users").await?).into_response())
    })
    .await
}

/// The followers (`followers`) or the followed users of user `id`.
async fn relation(state: &AppState, id: &str, args: &PageArgs, followers: bool) -> Result<Response, ApiError> {
    let db = db_of(state)?;
    let user = user_or_404(&db, parse_id(id)?).await?;
    let (join_on, filter, name) = if followers {
        ("follower_id", "followed_id", "followers")
    } else {
        ("followed_id", "follower_id", "following")
    };
    let mut select = users_select();
    select
        .inner_join("followers", Expr::col(("followers", join_on)).equals(("user", "id")))
        .and_where(Expr::col(("followers", filter)).eq(user.id));
    let path = format!("/api/users/{}/{name}", user.id);
    Ok(Json(collection(&db, select, args, &path).await?).into_response())
}

async fn get_followers(
    State(state): State<AppState>,
    _auth: TokenUser,
    Path(id): Path<String>,
    Query(args): Query<PageArgs>,
) -> Response {
    respond(relation(&state, &id, &args, true)).await
}

async fn get_following(
    State(state): State<AppState>,
    _auth: TokenUser,
    Path(id): Path<String>,
    Query(args): Query<PageArgs>,
) -> Response {
    respond(relation(&state, &id, &args, false)).await
}

/// The JSON body, as `request.get_json()` reads it: not JSON is a 400.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::status(StatusCode::BAD_REQUEST))
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str)
}

async fn taken(db: &Db, field: &str, value: &str) -> Result<bool, ApiError> {
    let found = match field {
        "username" => models::user_by_username(db, value).await,
        _ => models::user_by_email(db, value).await,
    };
    Ok(found.map_err(internal)?.is_some())
}

async fn create_user(
    State(state): State<AppState>,
    Ext(hasher): Ext<PasswordHasher>,
    body: phial::axum::body::Bytes,
) -> Response {
    respond(async {
        let db = db_of(&state)?;
        let data = json_body(&body)?;
        let (Some(username), Some(email), Some(password)) =
            (text(&data, "username"), text(&data, "email"), text(&data, "password"))
        else {
            return Err(bad_request("must include username, email and password fields"));
        };
        if taken(&db, "username", username).await? {
            return Err(bad_request("please use a different username"));
        }
        if taken(&db, "email", email).await? {
            return Err(bad_request("please use a different email address"));
        }
        let hash = hasher.hash(password).await.map_err(internal)?;
        let id = models::create_user(&db, username, email, &hash).await.map_err(internal)?;
        if let Some(about_me) = text(&data, "about_me") {
            models::update_profile(&db, id, username, Some(about_me)).await.map_err(internal)?;
        }
        let user = counted_user_or_404(&db, id).await?;
        let location = format!("/api/users/{id}");
        Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(to_dict(&user))).into_response())
    })
    .await
}

async fn update_user(
    State(state): State<AppState>,
    TokenUser(me): TokenUser,
    Path(id): Path<String>,
    body: phial::axum::body::Bytes,
) -> Response {
    respond(async {
        let id = parse_id(&id)?;
        if me.id != id {
            return Err(ApiError::status(StatusCode::FORBIDDEN));
        }
        let db = db_of(&state)?;
        // `db.get_or_404(User, id)` is the token's user, read by the token check.
        let user = me;
        let data = json_body(&body)?;
        if let Some(username) = text(&data, "username")
            && username != user.username
            && taken(&db, "username", username).await?
        {
            return Err(bad_request("please use a different username"));
        }
        if let Some(email) = text(&data, "email")
            && email != user.email
            && taken(&db, "email", email).await?
        {
            return Err(bad_request("please use a different email address"));
        }
        let mut update = Sql::update();
        update.table("user").and_where(Expr::col("id").eq(id));
        let mut changed = false;
        for field in ["username", "email", "about_me"] {
            if let Some(value) = data.get(field) {
                update.value(field, value.as_str().map(str::to_owned));
                changed = true;
            }
        }
        if changed {
            db.execute(&update).await.map_err(internal)?;
            // Posts show their author's name and avatar (from the address).
            crate::cache::posts_changed_in(&state).await;
        }
        let user = counted_user_or_404(&db, id).await?;
        Ok(Json(to_dict(&user)).into_response())
    })
    .await
}

async fn respond(work: impl Future<Output = Result<Response, ApiError>>) -> Response {
    work.await.unwrap_or_else(IntoResponse::into_response)
}
