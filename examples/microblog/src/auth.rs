//! The `auth` blueprint (`app/auth/routes.py`): login, logout, register and the password
//! reset under `/auth`.

use phial::axum::extract::{Path, Query, State};
use phial::axum::response::{Html, IntoResponse, Response};
use phial::axum::routing::get;
use phial::forms::{Csrf, Form};
use phial::login::password::{PasswordError, PasswordHasher, Verified};
use phial::login::{Login, LoginOptions, MaybeUser};
use phial::mail::Mail;
use phial::minijinja::context;
use phial::prelude::*;
use phial::sql::Db;
use serde::Deserialize;

use crate::config::MicroblogConfig;
use crate::email::{Email, send_email};
use crate::forms::{
    FormView, Kind, LoginForm, RegistrationForm, ResetPasswordForm, ResetPasswordRequestForm, validate_on_submit,
};
use crate::i18n::Locale;
use crate::models::{self, User};
use crate::reset::ResetTokens;
use crate::web::{external_url, found, render};

/// The blueprint, mounted at `/auth`.
pub fn blueprint() -> Blueprint {
    Blueprint::new("auth")
        .endpoint("login", "/login", get(login).post(login))
        .endpoint("logout", "/logout", get(logout))
        .endpoint("register", "/register", get(register).post(register))
        .endpoint(
            "reset_password_request",
            "/reset_password_request",
            get(reset_password_request).post(reset_password_request),
        )
        .endpoint("reset_password", "/reset_password/{token}", get(reset_password).post(reset_password))
}

/// Where a failed login sends the browser: the login page again. The rate limit on logins
/// counts exactly the responses that go there from `POST /auth/login` (see `crate::limits`).
pub const FAILED_LOGIN_LOCATION: &str = "/auth/login";

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
            return Ok(found(FAILED_LOGIN_LOCATION));
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

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn reset_password_request(
    locale: Locale,
    MaybeUser(user): MaybeUser<User>,
    State(state): State<AppState>,
    db: Db,
    mail: Mail,
    urls: Urls,
    session: Session,
    csrf: Csrf,
    template: Template,
    mut form: Form<ResetPasswordRequestForm>,
) -> Result<Response, HttpError> {
    if user.is_some() {
        return Ok(found("/index"));
    }
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        // The same answer whether or not the address is known; a failure to queue the mail
        // is logged, not shown, for the same reason.
        if let Some(user) = models::user_by_email(&db, &valid.email).await?
            && let Err(err) = send_password_reset_email(&state, &urls, &mail, &template, locale, &user).await
        {
            tracing::error!(error = %err, user = user.id, "the password reset mail was not queued");
        }
        session.flash(locale.gettext("Check your email for the instructions to reset your password"));
        return Ok(found("/auth/login"));
    }
    let view = FormView::new("Request Password Reset").hidden(&form).field(&form, "email", "Email", Kind::Text, true);
    page(&template, "auth/reset_password_request.html", "Reset Password", &view)
}

/// `send_password_reset_email(user)` (`app/auth/email.py`): the link with a fresh token, from
/// `ADMINS[0]`, text and HTML from the `email/reset_password.*` templates.
async fn send_password_reset_email(
    state: &AppState,
    urls: &Urls,
    mail: &Mail,
    template: &Template,
    locale: Locale,
    user: &User,
) -> Result<(), HttpError> {
    let tokens = state.get::<ResetTokens>().ok_or_else(|| HttpError::internal("no reset tokens"))?;
    let config = state.get::<MicroblogConfig>().ok_or_else(|| HttpError::internal("no [microblog] config"))?;
    let token = tokens.mint(user.id).map_err(|err| HttpError::internal(err.to_string()))?;
    let reset_url = external_url(state, urls, "auth.reset_password", &[("token", &token)])?;
    let context = context! { user => context! { username => &user.username }, token, reset_url };
    let sender = config.admins.first().map_or("", String::as_str);
    let email = Email {
        subject: locale.gettext("[Microblog] Reset Your Password"),
        sender,
        recipients: &[user.email.as_str()],
        text_body: template.render_text("email/reset_password.txt", &context)?,
        html_body: template.render_text("email/reset_password.html", &context)?,
        attachments: Vec::new(),
    };
    send_email(mail, email).await.map_err(|err| HttpError::internal(err.to_string()))
}

#[expect(clippy::too_many_arguments, reason = "an axum handler takes what it uses as extractors")]
async fn reset_password(
    locale: Locale,
    MaybeUser(user): MaybeUser<User>,
    db: Db,
    Ext(hasher): Ext<PasswordHasher>,
    Ext(tokens): Ext<ResetTokens>,
    session: Session,
    csrf: Csrf,
    template: Template,
    Path(token): Path<String>,
    mut form: Form<ResetPasswordForm>,
) -> Result<Response, HttpError> {
    if user.is_some() {
        return Ok(found("/index"));
    }
    let Some(id) = tokens.verify(&token) else { return Ok(found("/index")) };
    let Some(user) = models::user_by_id(&db, id).await? else { return Ok(found("/index")) };
    if let Some(valid) = validate_on_submit(&csrf, locale, &mut form) {
        let hash = hasher.hash(&valid.password).await.map_err(|err| HttpError::internal(err.to_string()))?;
        // A new hash ends the user's other sessions and remember-me tokens (`session_auth_hash`).
        models::set_password_hash(&db, user.id, &hash).await?;
        session.flash(locale.gettext("Your password has been reset."));
        return Ok(found("/auth/login"));
    }
    let view = FormView::new("Request Password Reset")
        .hidden(&form)
        .field(&form, "password", "Password", Kind::Password, true)
        .field(&form, "password2", "Repeat Password", Kind::Password, true);
    // The original renders this page without a title.
    let html: Html<String> = render(&template, "auth/reset_password.html", context! { form => view })?;
    Ok(html.into_response())
}

fn page(template: &Template, name: &str, title: &str, form: &FormView) -> Result<Response, HttpError> {
    let html: Html<String> = render(template, name, phial::minijinja::context! { title, form })?;
    Ok(html.into_response())
}
