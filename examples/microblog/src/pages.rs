//! The `main` blueprint (`app/main/routes.py`): index, explore, profiles, edit profile,
//! follow and unfollow.

use phial::axum::Json;
use phial::axum::extract::{Path, Query, State};
use phial::axum::response::{IntoResponse, Response};
use phial::axum::routing::{get, post};
use phial::cache::Cache;
use phial::forms::{Csrf, Form};
use phial::login::CurrentUser;
use phial::minijinja::{Value, context};
use phial::prelude::*;
use phial::sql::Db;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cache;
use crate::config::MicroblogConfig;
use crate::forms::{EditProfileForm, EmptyForm, FormView, Kind, MessageForm, PostForm, validate_on_submit};
use crate::i18n::Locale;
use crate::models::{self, PostView, User};
use crate::tasks;
use crate::web::{PageLinks, PageQuery, found, render};

/// The blueprint, mounted at the root.
pub fn blueprint() -> Blueprint {
    Blueprint::new("main")
        // Flask builds `url_for('main.index')` from the rule registered first, `/index`.
        .endpoint("index", "/index", get(index).post(index))
        .route("/", get(index).post(index))
        .endpoint("explore", "/explore", get(explore))
        .endpoint("user", "/user/{username}", get(user))
        .endpoint("user_popup", "/user/{username}/popup", get(user_popup))
        .endpoint("edit_profile", "/edit_profile", get(edit_profile).post(edit_profile))
        .endpoint("follow", "/follow/{username}", post(follow))
        .endpoint("unfollow", "/unfollow/{username}", post(unfollow))
        .endpoint("send_message", "/send_message/{recipient}", get(send_message).post(send_message))
        .endpoint("messages", "/messages", get(messages))
        .endpoint("notifications", "/notifications", get(notifications))
        .endpoint("translate_text", "/translate", post(crate::translate::translate_text))
        .endpoint("export_posts", "/export_posts", get(export_posts))
        .endpoint("search", "/search", get(search))
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn index(
    locale: Locale,
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    Ext(config): Ext<MicroblogConfig>,
    session: Session,
    csrf: Csrf,
    template: Template,
    Query(query): Query<PageQuery>,
    mut form: Form<PostForm>,
) -> Result<Response, HttpError> {
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        let language = crate::translate::detect_language(&valid.post);
        models::create_post(&db, me.id, &valid.post, language).await?;
        cache::posts_changed_in(&state).await;
        session.flash(locale.gettext("Your post is now live!"));
        return Ok(found("/index"));
    }
    let page = query.page();
    let (posts, has_next) =
        models::page_of_posts(&db, models::following_posts(me.id), page, config.posts_per_page).await?;
    let links = PageLinks::new(&state, "main.index", &[], page, has_next)?;
    let form = FormView::new("Submit").hidden(&form).field(&form, "post", "Say something", Kind::Textarea, true);
    let posts: Vec<PostView> = posts.into_iter().map(PostView::from).collect();
    let html = render(
        &template,
        "index.html",
        context! { title => "Home", form, posts, prev_url => links.prev_url, next_url => links.next_url },
    )?;
    Ok(html.into_response())
}

async fn explore(
    CurrentUser(_me): CurrentUser<User>,
    State(state): State<AppState>,
    cache: Cache,
    Ext(config): Ext<MicroblogConfig>,
    template: Template,
    locale: Locale,
    Query(query): Query<PageQuery>,
) -> Result<Response, HttpError> {
    let template = Arc::new(template);
    let page = cache::explore_page(&cache, &state, Arc::clone(&template), locale, query.page(), config.posts_per_page);
    let posts_html = Value::from_safe_string(page.await?);
    Ok(render(&template, "index.html", context! { title => "Explore", posts_html })?.into_response())
}

/// A profile as `user.html` and `user_popup.html` show it.
#[derive(Debug, Serialize)]
struct Profile {
    username: String,
    about_me: Option<String>,
    last_seen: Option<String>,
    avatar: String,
    avatar_small: String,
    followers_count: i64,
    following_count: i64,
    is_me: bool,
    is_following: bool,
    /// Whether `me` has a posts export running (no "Export your posts" link then).
    exporting: bool,
}

impl Profile {
    async fn load(db: &Db, user: &User, me: &User) -> Result<Self, HttpError> {
        Ok(Self {
            username: user.username.clone(),
            about_me: user.about_me.clone().filter(|about| !about.is_empty()),
            last_seen: user.last_seen.map(models::iso_utc),
            avatar: user.avatar(256),
            avatar_small: user.avatar(64),
            followers_count: models::followers_count(db, user.id).await?,
            following_count: models::following_count(db, user.id).await?,
            is_me: user.id == me.id,
            is_following: user.id != me.id && models::is_following(db, me.id, user.id).await?,
            exporting: me.tasks.iter().any(|task| task.name == tasks::EXPORT_POSTS),
        })
    }
}

async fn user(
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    Ext(config): Ext<MicroblogConfig>,
    template: Template,
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, HttpError> {
    let user = models::user_or_404(&db, &username).await?;
    let page = query.page();
    let (posts, has_next) = models::page_of_posts(&db, models::posts_of(user.id), page, config.posts_per_page).await?;
    let links = PageLinks::new(&state, "main.user", &[("username", &user.username)], page, has_next)?;
    let profile = Profile::load(&db, &user, &me).await?;
    let posts: Vec<PostView> = posts.into_iter().map(PostView::from).collect();
    let html = render(
        &template,
        "user.html",
        context! { user => profile, posts, prev_url => links.prev_url, next_url => links.next_url },
    )?;
    Ok(html.into_response())
}

async fn user_popup(
    CurrentUser(me): CurrentUser<User>,
    db: Db,
    template: Template,
    Path(username): Path<String>,
) -> Result<Response, HttpError> {
    let user = models::user_or_404(&db, &username).await?;
    let profile = Profile::load(&db, &user, &me).await?;
    Ok(render(&template, "user_popup.html", context! { user => profile })?.into_response())
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn edit_profile(
    locale: Locale,
    CurrentUser(me): CurrentUser<User>,
    db: Db,
    cache: Cache,
    session: Session,
    csrf: Csrf,
    template: Template,
    mut form: Form<EditProfileForm>,
) -> Result<Response, HttpError> {
    if form.is_submitted() && form.errors_for("username").is_empty() {
        // `validate_username`: a new name must be free.
        let username = form.value("username").map(std::borrow::Cow::into_owned).unwrap_or_default();
        if username != me.username && models::user_by_username(&db, &username).await?.is_some() {
            form.add_error("username", locale.gettext("Please use a different username."));
        }
    }
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        models::update_profile(&db, me.id, &valid.username, valid.about_me.as_deref()).await?;
        if valid.username != me.username {
            cache::posts_changed(&cache).await;
        }
        session.flash(locale.gettext("Your changes have been saved."));
        return Ok(found("/edit_profile"));
    }
    let mut view = FormView::new("Submit").hidden(&form).field(&form, "username", "Username", Kind::Text, true).field(
        &form,
        "about_me",
        "About me",
        Kind::Textarea,
        false,
    );
    if !form.is_submitted() {
        view = view.with_value("username", &me.username).with_value("about_me", me.about_me.as_deref().unwrap_or(""));
    }
    Ok(render(&template, "edit_profile.html", context! { title => "Edit Profile", form => view })?.into_response())
}

/// Follow or unfollow, the two routes' shared steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Follow,
    Unfollow,
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn follow(
    locale: Locale,
    me: CurrentUser<User>,
    state: State<AppState>,
    db: Db,
    session: Session,
    csrf: Csrf,
    username: Path<String>,
    form: Form<EmptyForm>,
) -> Result<Response, HttpError> {
    follow_or_unfollow(Action::Follow, locale, me, state, db, session, csrf, username, form).await
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn unfollow(
    locale: Locale,
    me: CurrentUser<User>,
    state: State<AppState>,
    db: Db,
    session: Session,
    csrf: Csrf,
    username: Path<String>,
    form: Form<EmptyForm>,
) -> Result<Response, HttpError> {
    follow_or_unfollow(Action::Unfollow, locale, me, state, db, session, csrf, username, form).await
}

#[expect(clippy::too_many_arguments, reason = "the handlers' extractors, passed on")]
async fn follow_or_unfollow(
    action: Action,
    locale: Locale,
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    session: Session,
    csrf: Csrf,
    Path(username): Path<String>,
    mut form: Form<EmptyForm>,
) -> Result<Response, HttpError> {
    if validate_on_submit(&csrf, locale, &mut form).is_none() {
        return Ok(found("/index"));
    }
    let Some(user) = models::user_by_username(&db, &username).await? else {
        session.flash(locale.format("User %(username)s not found.", &[("username", &username)]));
        return Ok(found("/index"));
    };
    let profile = state.url_for("main.user", [("username", username.as_str())])?;
    if user.id == me.id {
        session.flash(locale.gettext(match action {
            Action::Follow => "You cannot follow yourself!",
            Action::Unfollow => "You cannot unfollow yourself!",
        }));
        return Ok(found(&profile));
    }
    match action {
        Action::Follow => {
            models::follow(&db, me.id, user.id).await?;
            session.flash(locale.format("You are following %(username)s!", &[("username", &username)]));
        }
        Action::Unfollow => {
            models::unfollow(&db, me.id, user.id).await?;
            session.flash(locale.format("You are not following %(username)s.", &[("username", &username)]));
        }
    }
    Ok(found(&profile))
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn send_message(
    locale: Locale,
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    session: Session,
    csrf: Csrf,
    template: Template,
    Path(recipient): Path<String>,
    mut form: Form<MessageForm>,
) -> Result<Response, HttpError> {
    let user = models::user_or_404(&db, &recipient).await?;
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        models::create_message(&db, me.id, user.id, &valid.message).await?;
        let unread = models::unread_message_count(&db, &user).await?;
        models::add_notification(&db, user.id, "unread_message_count", &unread.into()).await?;
        session.flash(locale.gettext("Your message has been sent."));
        return Ok(found(&state.url_for("main.user", [("username", recipient.as_str())])?));
    }
    let view = FormView::new("Submit").hidden(&form).field(&form, "message", "Message", Kind::Textarea, true);
    let html = render(&template, "send_message.html", context! { title => "Send Message", form => view, recipient })?;
    Ok(html.into_response())
}

async fn messages(
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    Ext(config): Ext<MicroblogConfig>,
    template: Template,
    Query(query): Query<PageQuery>,
) -> Result<Response, HttpError> {
    models::mark_messages_read(&db, me.id, models::now()).await?;
    models::add_notification(&db, me.id, "unread_message_count", &0.into()).await?;
    let page = query.page();
    let (messages, has_next) =
        models::page_of_posts(&db, models::messages_received(me.id), page, config.posts_per_page).await?;
    let links = PageLinks::new(&state, "main.messages", &[], page, has_next)?;
    let messages: Vec<PostView> = messages.into_iter().map(PostView::from).collect();
    // The badge was counted before this request read the messages.
    let html = render(
        &template,
        "messages.html",
        context! { messages, prev_url => links.prev_url, next_url => links.next_url, unread_override => 0 },
    )?;
    Ok(html.into_response())
}

/// `?since=` of the notifications endpoint, read as `request.args.get('since', 0.0, type=float)`.
#[derive(Debug, Deserialize)]
struct SinceQuery {
    since: Option<String>,
}

async fn notifications(
    CurrentUser(me): CurrentUser<User>,
    db: Db,
    Query(query): Query<SinceQuery>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let since = query.since.as_deref().and_then(|since| since.trim().parse::<f64>().ok()).unwrap_or(0.0);
    let rows = models::notifications_since(&db, me.id, since).await?;
    let list: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|row| {
            let data: serde_json::Value = serde_json::from_str(&row.payload_json).unwrap_or(serde_json::Value::Null);
            serde_json::json!({ "name": row.name, "data": data, "timestamp": row.timestamp })
        })
        .collect();
    Ok(Json(list.into()))
}

/// `/export_posts`: starts the export unless one is running, then back to the profile.
async fn export_posts(
    locale: Locale,
    CurrentUser(me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    session: Session,
) -> Result<Response, HttpError> {
    if me.tasks.iter().any(|task| task.name == tasks::EXPORT_POSTS) {
        session.flash(locale.gettext("An export task is currently in progress"));
    } else {
        tasks::launch_export(&state, &db, me.id, locale.gettext("Exporting posts...")).await?;
    }
    Ok(found(&state.url_for("main.user", [("username", me.username.as_str())])?))
}

/// `?q=&page=` of the search page (the original's `SearchForm`, read from the query string).
#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `/search?q=`: posts matching `q`, 25 per page; no `q` → `/explore`, as the original when
/// its form does not validate.
async fn search(
    CurrentUser(_me): CurrentUser<User>,
    State(state): State<AppState>,
    db: Db,
    Ext(config): Ext<MicroblogConfig>,
    template: Template,
    Query(query): Query<SearchQuery>,
) -> Result<Response, HttpError> {
    let q = query.q.unwrap_or_default();
    let Some(select) = models::search_posts(db.backend(), &q) else { return Ok(found("/explore")) };
    let page = query.page.page();
    let (posts, has_next) = models::page_of_posts(&db, select, page, config.posts_per_page).await?;
    let links = PageLinks::new(&state, "main.search", &[("q", q.as_str())], page, has_next)?;
    let posts: Vec<PostView> = posts.into_iter().map(PostView::from).collect();
    let html = render(
        &template,
        "search.html",
        context! { title => "Search", posts, q, prev_url => links.prev_url, next_url => links.next_url },
    )?;
    Ok(html.into_response())
}
