//! The `auth` blueprint (`app/auth/routes.py`): login, logout, register under `/auth`.

use phial::axum::extract::Query;
use phial::axum::response::{Html, IntoResponse, Response};
use phial::axum::routing::get;
use phial::forms::{Csrf, Form};
use phial::login::password::{PasswordError, PasswordHasher, Verified};
use phial::login::{Login, LoginOptions, MaybeUser};
use phial::prelude::*;
use phial::sql::Db;
use serde::Deserialize;

use crate::forms::{FormView, Kind, LoginForm, RegistrationForm, validate_on_submit};
use crate::i18n::Locale;
use crate::models::{self, User};
use crate::web::{found, render};

/// The blueprint, mounted at `/auth`.
pub fn blueprint() -> Blueprint {
    Blueprint::new("auth")
        .endpoint("login", "/login", get(login).post(login))
        .endpoint("logout", "/logout", get(logout))
        .endpoint("register", "/register", get(register).post(register))
}

/// `?next=` of the login page.
#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn login(
    locale: Locale,
    mut login: Login<User>,
    db: Db,
    Ext(hasher): Ext<PasswordHasher>,
    session: Session,
    csrf: Csrf,
    template: Template,
    Query(query): Query<NextQuery>,
    mut form: Form<LoginForm>,
) -> Result<Response, HttpError> {
    if login.user().is_some() {
        return Ok(found("/index"));
    }
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        let Some(user) = check_password(&db, &hasher, &valid.username, &valid.password).await? else {
            session.flash(locale.gettext("Invalid username or password"));
            return Ok(found("/auth/login"));
        };
        login.login_user(&user, LoginOptions::new().remember(valid.remember_me)).await?;
        // Stricter than the original's netloc check: `safe_next` also refuses `//host`,
        // backslashes and encoded variants (see the README).
        return Ok(login.redirect_next(query.next.as_deref(), "/index"));
    }
    let view = FormView::new("Sign In")
        .hidden(&form)
        .field(&form, "username", "Username", Kind::Text, true)
        .field(&form, "password", "Password", Kind::Password, true)
        .field(&form, "remember_me", "Remember Me", Kind::Checkbox, false);
    page(&template, "auth/login.html", "Sign In", &view)
}

/// The user named `username` if `password` is theirs; an outdated hash (Werkzeug's, or
/// argon2id with other parameters) is replaced by a fresh argon2id one first, so the login's
/// session records the hash the row now holds.
pub(crate) async fn check_password(
    db: &Db,
    hasher: &PasswordHasher,
    username: &str,
    password: &str,
) -> Result<Option<User>, HttpError> {
    let user = models::user_by_username(db, username).await?;
    let verified = match user.as_ref().and_then(|user| user.password_hash.as_deref()) {
        Some(stored) => hasher.verify(password, stored).await,
        None => hasher.verify_missing_user(password).await,
    };
    let rehash = match verified {
        Ok(Verified::Match { rehash }) => rehash,
        Ok(Verified::Mismatch) => return Ok(None),
        // A hash this app cannot read (an old Werkzeug format) is a failed login, as a
        // wrong password is; the log says why.
        Err(
            err @ (PasswordError::UnknownFormat | PasswordError::Unsupported(_) | PasswordError::LegacyNotAllowed(_)),
        ) => {
            tracing::warn!(%username, error = %err, "stored password hash not accepted");
            return Ok(None);
        }
        Err(err) => return Err(HttpError::internal(err.to_string())),
    };
    let Some(mut user) = user else { return Ok(None) };
    if let Some(new_hash) = rehash {
        models::set_password_hash(db, user.id, &new_hash).await?;
        user.password_hash = Some(new_hash);
    }
    Ok(Some(user))
}

async fn logout(mut login: Login<User>) -> Result<Response, HttpError> {
    login.logout_user().await?;
    Ok(found("/index"))
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn register(
    locale: Locale,
    MaybeUser(user): MaybeUser<User>,
    db: Db,
    Ext(hasher): Ext<PasswordHasher>,
    session: Session,
    csrf: Csrf,
    template: Template,
    mut form: Form<RegistrationForm>,
) -> Result<Response, HttpError> {
    if user.is_some() {
        return Ok(found("/index"));
    }
    if form.is_submitted() {
        // `validate_username` / `validate_email`: only for a field that passed its own checks.
        let username = form.value("username").map(std::borrow::Cow::into_owned).unwrap_or_default();
        let email = form.value("email").map(std::borrow::Cow::into_owned).unwrap_or_default();
        if form.errors_for("username").is_empty() && models::user_by_username(&db, &username).await?.is_some() {
            form.add_error("username", locale.gettext("Please use a different username."));
        }
        if form.errors_for("email").is_empty() && models::user_by_email(&db, &email).await?.is_some() {
            form.add_error("email", locale.gettext("Please use a different email address."));
        }
    }
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        let hash = hasher.hash(&valid.password).await.map_err(|err| HttpError::internal(err.to_string()))?;
        models::create_user(&db, &valid.username, &valid.email, &hash).await?;
        session.flash(locale.gettext("Congratulations, you are now a registered user!"));
        return Ok(found("/auth/login"));
    }
    let view = FormView::new("Register")
        .hidden(&form)
        .field(&form, "username", "Username", Kind::Text, true)
        .field(&form, "email", "Email", Kind::Text, true)
        .field(&form, "password", "Password", Kind::Password, true)
        .field(&form, "password2", "Repeat Password", Kind::Password, true);
    page(&template, "auth/register.html", "Register", &view)
}

fn page(template: &Template, name: &str, title: &str, form: &FormView) -> Result<Response, HttpError> {
    let html: Html<String> = render(template, name, phial::minijinja::context! { title, form })?;
    Ok(html.into_response())
}
