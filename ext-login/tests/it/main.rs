//! Integration tests of phial-login: a real app, real requests through `TestClient`.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly on unexpected errors")]

mod guards;
mod login;
mod password;
mod protection;
mod redirects;
mod remember;
#[cfg(feature = "redis")]
mod remember_redis;
#[cfg(feature = "sql")]
mod remember_sql;
mod signals;
#[cfg(feature = "templates")]
mod templates;
#[cfg(feature = "testing")]
mod testing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use phial_core::prelude::*;
use phial_core::testing::TestClient;
use phial_login::{
    AuthUser, CurrentUser, FreshUser, Login, LoginExtension, LoginOptions, MaybeUser, fresh_login_required,
    login_required, login_view,
};
use serde::Deserialize;

/// A user whose password (and so `session_auth_hash`) tests can change.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) active: bool,
    pub(crate) password: String,
}

impl AuthUser for User {
    fn auth_id(&self) -> String {
        self.name.clone()
    }

    fn is_active(&self) -> bool {
        self.active
    }

    fn session_auth_hash(&self) -> Option<String> {
        Some(format!("hash-of-{}", self.password))
    }

    fn template_fields(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name })
    }
}

/// The app's user table.
#[derive(Clone, Default)]
pub(crate) struct Users(Arc<Mutex<HashMap<String, User>>>);

impl Users {
    pub(crate) fn with(names: &[&str]) -> Self {
        let users = Self::default();
        for name in names {
            users.put(User { name: (*name).to_owned(), active: true, password: "pw".to_owned() });
        }
        users
    }

    pub(crate) fn put(&self, user: User) {
        self.0.lock().unwrap().insert(user.name.clone(), user);
    }

    pub(crate) fn get(&self, name: &str) -> Option<User> {
        self.0.lock().unwrap().get(name).cloned()
    }
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    #[serde(default)]
    remember: bool,
    #[serde(default)]
    force: bool,
    next: Option<String>,
}

async fn login(
    mut login: Login<User>,
    axum::extract::State(state): axum::extract::State<AppState>,
    Form(form): Form<LoginForm>,
) -> Response {
    let users = state.get::<Users>().unwrap();
    let Some(user) = users.get(&form.name) else {
        return (http::StatusCode::UNAUTHORIZED, "no such user").into_response();
    };
    match login.login_user(&user, LoginOptions::new().remember(form.remember).force(form.force)).await {
        Ok(()) => {
            let next = form.next.or_else(|| login.take_next());
            login.redirect_next(next.as_deref(), "/")
        }
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
struct LogoutQuery {
    #[serde(default)]
    clear: bool,
}

async fn logout(
    mut login: Login<User>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<LogoutQuery>,
) -> Response {
    login.logout_user().await.unwrap();
    if query.clear {
        session.clear();
    }
    login.redirect_next(None, "/")
}

async fn change_password(
    CurrentUser(user): CurrentUser<User>,
    mut login: Login<User>,
    axum::extract::State(state): axum::extract::State<AppState>,
) -> &'static str {
    let users = state.get::<Users>().unwrap();
    let changed = User { password: "new-password".to_owned(), ..user };
    users.put(changed.clone());
    login.update_auth_hash(&changed).await.unwrap();
    "changed"
}

async fn logout_everywhere(mut login: Login<User>) -> &'static str {
    login.logout_everywhere().await.unwrap();
    "gone"
}

async fn reauth(mut login: Login<User>) -> &'static str {
    // The password was checked here.
    login.confirm_login().unwrap();
    "confirmed"
}

/// An admin action: logs another user out everywhere.
async fn ban(
    Ext(login): Ext<phial_login::LoginState<User>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> &'static str {
    login.logout_everywhere(&name).await.unwrap();
    "banned"
}

/// The request loader: `X-Api-Key: bob-key` is bob.
async fn api_keys(headers: http::HeaderMap) -> Result<Option<User>, phial_core::BoxError> {
    let key = headers.get("x-api-key").and_then(|value| value.to_str().ok());
    Ok((key == Some("bob-key")).then(|| User { name: "bob".into(), active: true, password: "pw".into() }))
}

/// `GET /`: who the request is, for every test.
async fn whoami(MaybeUser(user): MaybeUser<User>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |user| format!("user:{}", user.name))
}

/// Writes something into the session, so that a session id exists before login.
async fn visit(session: Session) -> String {
    session.insert("visited", true).unwrap();
    "visited".to_owned()
}

async fn visited(session: Session) -> String {
    session.get::<bool>("visited").unwrap_or(false).to_string()
}

async fn flashes(session: Session) -> String {
    let flashes = session.take_flashes();
    flashes.into_iter().map(|flash| format!("{}:{}", flash.category, flash.message)).collect::<Vec<_>>().join("|")
}

/// An app with `users`, `[login]` from `login_toml`, and sessions in `store`.
pub(crate) async fn app_with(users: &Users, login_toml: &str, store: &str) -> RunningApp {
    app_builder(users, login_toml, store).build().unwrap().start().await.unwrap()
}

/// The builder of [`app_with`], for tests that add to it.
pub(crate) fn app_builder(users: &Users, login_toml: &str, store: &str) -> AppBuilder {
    app_builder_with(users, login_toml, store, |login| login)
}

/// [`app_builder`] with the login extension shaped by `extend` (hooks, say).
pub(crate) fn app_builder_with(
    users: &Users,
    login_toml: &str,
    store: &str,
    extend: impl FnOnce(LoginExtension<User>) -> LoginExtension<User>,
) -> AppBuilder {
    let loader_users = users.clone();
    let loader = move |id: String| {
        let user = loader_users.get(&id);
        async move { Ok(user) }
    };
    let admin = Blueprint::new("admin")
        .endpoint("index", "/", get(|| async { "admin page" }).options(|| async { "preflight" }))
        .layer(Stage::Auth, "login_required", login_required::<User>().login_view("/admin/login"));
    let vault = Blueprint::new("vault").endpoint("index", "/", get(|| async { "vault" })).layer(
        Stage::Auth,
        "fresh_login_required",
        fresh_login_required::<User>(),
    );
    let shop = Blueprint::new("shop")
        .endpoint("catalog", "/", get(|| async { "catalog" }))
        .endpoint(
            "orders",
            "/orders",
            get(|CurrentUser(user): CurrentUser<User>| async move { format!("orders:{}", user.name) }),
        )
        .layer(Stage::Auth, "login_view", login_view("/shop/login"));
    let members = Blueprint::new("members").endpoint("index", "/", get(|| async { "members" })).layer(
        Stage::Auth,
        "login_required",
        login_required::<User>(),
    );
    App::builder()
        .profile(Profile::Testing)
        .set("app.secret_key", "test-secret-key")
        .config_toml(&format!("[app.session]\nstore = \"{store}\"\n[login]\n{login_toml}\n"))
        .state(users.clone())
        .extension(extend(LoginExtension::new(loader).request_loader(api_keys)))
        .endpoint("index", "/", get(whoami))
        .endpoint("login", "/login", get(|| async { "login page" }).post(login))
        .endpoint("logout", "/logout", post(logout))
        .endpoint(
            "account",
            "/account",
            get(|CurrentUser(user): CurrentUser<User>| async move { format!("account:{}", user.name) }),
        )
        .endpoint(
            "settings",
            "/settings",
            get(|FreshUser(user): FreshUser<User>| async move { format!("fresh:{}", user.name) }),
        )
        .endpoint("password", "/password", post(change_password))
        .endpoint("everywhere", "/logout-everywhere", post(logout_everywhere))
        .endpoint("reauth", "/reauth", post(reauth))
        .endpoint("ban", "/ban/{name}", post(ban))
        .endpoint("visit", "/visit", get(visit))
        .endpoint("visited", "/visited", get(visited))
        .endpoint("public", "/public", get(|| async { "public" }))
        .endpoint("flashes", "/flashes", get(flashes))
        .blueprint("/admin", admin)
        .blueprint("/vault", vault)
        .blueprint("/members", members)
        .blueprint("/shop", shop)
}

/// The default app: login view `/login`, server-side sessions in memory.
pub(crate) async fn client() -> (TestClient, Users) {
    let users = Users::with(&["ada", "bob"]);
    let app = app_with(&users, "login_view = \"/login\"\nrefresh_view = \"/login\"", "memory").await;
    (app.test_client(), users)
}

/// Logs `name` in through the login form.
pub(crate) async fn log_in(client: &TestClient, name: &str, remember: bool) {
    let res =
        client.post("/login").form(&[("name", name), ("remember", if remember { "true" } else { "false" })]).await;
    assert_eq!(res.status(), http::StatusCode::FOUND, "{}", res.text());
}

/// A browser's `Accept` header.
pub(crate) const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
