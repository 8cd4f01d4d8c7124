//! The extractors: [`CurrentUser`], [`FreshUser`], [`MaybeUser`] and the [`Login`] handle.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use phial_core::AppState;

use crate::context::{LoginContext, LoginOptions, RequestFacts, context_of};
use crate::error::LoginError;
use crate::guard::{deny, found};
use crate::redirect::next_or;
use crate::user::AuthUser;

/// The logged-in user; refuses anonymous requests as [`login_required`](crate::login_required)
/// does (redirect to the login view, or 401). Flask-Login: `current_user` in a
/// `@login_required` view.
///
/// # Examples
///
/// ```
/// use phial_login::{AuthUser, CurrentUser};
///
/// #[derive(Clone)]
/// struct User { name: String }
/// impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
///
/// async fn profile(CurrentUser(user): CurrentUser<User>) -> String {
///     format!("Hello, {}", user.name)
/// }
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::get(profile);
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser<U>(pub U);

/// The logged-in user, if the login is fresh; refuses as
/// [`fresh_login_required`](crate::fresh_login_required) does.
///
/// # Examples
///
/// ```
/// use phial_login::{AuthUser, FreshUser};
///
/// #[derive(Clone)]
/// struct User { name: String }
/// impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
///
/// async fn delete_account(FreshUser(user): FreshUser<User>) -> String {
///     format!("{} deleted", user.name)
/// }
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(delete_account);
/// ```
#[derive(Debug, Clone)]
pub struct FreshUser<U>(pub U);

/// The user, or `None` for the anonymous user: Flask-Login's `current_user` anywhere.
///
/// # Examples
///
/// ```
/// use phial_login::{AuthUser, MaybeUser};
///
/// #[derive(Clone)]
/// struct User { name: String }
/// impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
///
/// async fn index(MaybeUser(user): MaybeUser<User>) -> String {
///     match user {
///         Some(user) => format!("Hello, {}", user.name),
///         None => "Hello, stranger".to_owned(),
///     }
/// }
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::get(index);
/// ```
#[derive(Debug, Clone)]
pub struct MaybeUser<U>(pub Option<U>);

impl<U> Deref for CurrentUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U> Deref for FreshUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

async fn required<U: AuthUser, S>(parts: &mut Parts, state: &S, fresh: bool) -> Result<U, Response>
where
    AppState: FromRef<S>,
{
    let app = AppState::from_ref(state);
    let context = context_of::<U>(parts).map_err(IntoResponse::into_response)?;
    let resolved = context.resolve(parts).await.map_err(IntoResponse::into_response)?;
    match resolved.user {
        None => Err(deny(&context, parts, false, Some(&app))),
        Some(_) if fresh && !resolved.fresh => Err(deny(&context, parts, true, Some(&app))),
        Some(user) => Ok(user),
    }
}

impl<U: AuthUser, S: Send + Sync> FromRequestParts<S> for CurrentUser<U>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        required(parts, state, false).await.map(CurrentUser)
    }
}

impl<U: AuthUser, S: Send + Sync> FromRequestParts<S> for FreshUser<U>
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        required(parts, state, true).await.map(FreshUser)
    }
}

impl<U: AuthUser, S: Send + Sync> FromRequestParts<S> for MaybeUser<U> {
    type Rejection = LoginError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, LoginError> {
        let context = context_of::<U>(parts)?;
        Ok(MaybeUser(context.resolve(parts).await?.user))
    }
}

/// The login handle of a request: `login_user`, `logout_user` and friends.
///
/// # Examples
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use phial_login::{AuthUser, Login, LoginOptions};
///
/// #[derive(Clone)]
/// struct User { name: String }
/// impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
///
/// async fn login(mut login: Login<User>) -> Result<Response, phial_login::LoginError> {
///     let user = User { name: "ada".into() }; // after checking the password
///     login.login_user(&user, LoginOptions::new().remember(true)).await?;
///     Ok(login.redirect_next(None, "/"))
/// }
///
/// async fn logout(mut login: Login<User>) -> Result<Response, phial_login::LoginError> {
///     login.logout_user().await?;
///     Ok(login.redirect_next(None, "/"))
/// }
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(login);
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(logout);
/// ```
pub struct Login<U: AuthUser> {
    context: Arc<LoginContext<U>>,
    facts: RequestFacts,
    user: Option<U>,
    fresh: bool,
}

impl<U: AuthUser> std::fmt::Debug for Login<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("authenticated", &self.user.is_some())
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser, S: Send + Sync> FromRequestParts<S> for Login<U> {
    type Rejection = LoginError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, LoginError> {
        let context = context_of::<U>(parts)?;
        let resolved = context.resolve(parts).await?;
        let facts = RequestFacts::from_parts(parts, &context.shared.config).await?;
        Ok(Self { context, facts, user: resolved.user, fresh: resolved.fresh })
    }
}

impl<U: AuthUser> Login<U> {
    /// The user as the request arrived, or after [`login_user`](Self::login_user) /
    /// [`logout_user`](Self::logout_user) in this handler.
    pub fn user(&self) -> Option<&U> {
        self.user.as_ref()
    }

    /// Whether the login is fresh. Flask-Login: `login_fresh()`.
    pub fn is_fresh(&self) -> bool {
        self.user.is_some() && self.fresh
    }

    /// Logs `user` in: Flask-Login's `login_user(user, remember, duration, force, fresh)`.
    ///
    /// The session id is rotated (session fixation); with `remember`, a remember-me token is
    /// stored and its cookie set; any remember-me token the request carried is revoked.
    ///
    /// # Errors
    ///
    /// [`LoginError::InactiveUser`] when `user.is_active()` is false and `force` is not set;
    /// [`LoginError::Unavailable`] when the remember store fails.
    pub async fn login_user(&mut self, user: &U, options: LoginOptions) -> Result<(), LoginError> {
        self.context.login(&self.facts, user, &options).await?;
        self.user = Some(user.clone());
        self.fresh = options.fresh;
        Ok(())
    }

    /// Logs the user out: Flask-Login's `logout_user()`. Removes the user and the freshness
    /// from the session, rotates the session id, revokes the request's remember-me token and
    /// clears its cookie (with the attributes it was set with).
    ///
    /// # Errors
    ///
    /// [`LoginError::Unavailable`] when the remember store fails.
    pub async fn logout_user(&mut self) -> Result<(), LoginError> {
        self.context.logout(&self.facts).await?;
        self.user = None;
        self.fresh = false;
        Ok(())
    }

    /// Ends every session and remember-me token of the logged-in user, here and elsewhere,
    /// then logs this request out.
    ///
    /// # Errors
    ///
    /// [`LoginError::Unavailable`] when the remember store fails.
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, Login, LoginError};
    ///
    /// #[derive(Clone)]
    /// struct User { name: String, password_hash: String }
    /// impl AuthUser for User {
    ///     fn auth_id(&self) -> String { self.name.clone() }
    ///     fn session_auth_hash(&self) -> Option<String> { Some(self.password_hash.clone()) }
    /// }
    ///
    /// async fn sign_out_everywhere(mut login: Login<User>) -> Result<&'static str, LoginError> {
    ///     login.logout_everywhere().await?;
    ///     Ok("Signed out on every device.")
    /// }
    /// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(sign_out_everywhere);
    /// ```
    pub async fn logout_everywhere(&mut self) -> Result<(), LoginError> {
        if let Some(user) = &self.user {
            let shared = &self.context.shared;
            let id = user.auth_id();
            shared.bounded("the remember store", shared.store()?.bump_epoch(&id)).await?;
        }
        self.logout_user().await
    }

    /// After a password change: keeps this session logged in under the user's new
    /// [`session_auth_hash`](AuthUser::session_auth_hash), while the user's other sessions and
    /// remember-me tokens end on their next request; this browser's remember-me token is
    /// replaced by one under the new hash. Django's `update_session_auth_hash`.
    ///
    /// # Errors
    ///
    /// [`LoginError::Session`] when the session cannot be written;
    /// [`LoginError::Unavailable`] when the remember store fails.
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, Login, LoginError};
    ///
    /// #[derive(Clone)]
    /// struct User { name: String, password_hash: String }
    /// impl AuthUser for User {
    ///     fn auth_id(&self) -> String { self.name.clone() }
    ///     fn session_auth_hash(&self) -> Option<String> { Some(self.password_hash.clone()) }
    /// }
    ///
    /// async fn change_password(mut login: Login<User>) -> Result<&'static str, LoginError> {
    ///     let Some(user) = login.user().cloned() else { return Ok("log in first") };
    ///     let changed = User { password_hash: "new hash".into(), ..user }; // and saved to the database
    ///     login.update_auth_hash(&changed).await?;
    ///     Ok("Password changed; other devices are logged out.")
    /// }
    /// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(change_password);
    /// ```
    pub async fn update_auth_hash(&mut self, user: &U) -> Result<(), LoginError> {
        self.context.update_auth_hash(&self.facts, user).await?;
        self.user = Some(user.clone());
        Ok(())
    }

    /// Marks the login fresh again (after the user re-entered the password).
    /// Flask-Login: `confirm_login()`.
    ///
    /// # Errors
    ///
    /// [`LoginError::Session`] when the session cannot be written.
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, Login, LoginError};
    ///
    /// #[derive(Clone)]
    /// struct User { name: String, password_hash: String }
    /// impl AuthUser for User {
    ///     fn auth_id(&self) -> String { self.name.clone() }
    ///     fn session_auth_hash(&self) -> Option<String> { Some(self.password_hash.clone()) }
    /// }
    ///
    /// async fn reauthenticate(mut login: Login<User>) -> Result<&'static str, LoginError> {
    ///     // after checking the password again
    ///     login.confirm_login()?;
    ///     Ok(if login.is_fresh() { "fresh" } else { "anonymous" })
    /// }
    /// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(reauthenticate);
    /// ```
    pub fn confirm_login(&mut self) -> Result<(), LoginError> {
        self.context.confirm(&self.facts)?;
        self.fresh = true;
        Ok(())
    }

    /// The user with `id`, through the app's user loader (inactive users included).
    ///
    /// # Errors
    ///
    /// [`LoginError::Unavailable`] when the loader fails or times out.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, Login, LoginError, LoginOptions};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// async fn impersonate(mut login: Login<User>) -> Result<&'static str, LoginError> {
    ///     match login.load_user("ada").await? {
    ///         Some(ada) => login.login_user(&ada, LoginOptions::new()).await.map(|()| "now ada"),
    ///         None => Ok("no such user"),
    ///     }
    /// }
    /// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(impersonate);
    /// ```
    pub async fn load_user(&self, id: &str) -> Result<Option<U>, LoginError> {
        let shared = &self.context.shared;
        shared.bounded("the user loader", shared.loader()?.load_user(id.to_owned())).await
    }

    /// The `next` URL that a guard kept in the session (with `login.use_session_for_next`),
    /// removed from it, if [`safe_next`](crate::safe_next) accepts it.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::Response;
    /// use phial_login::{AuthUser, Login, LoginError, LoginOptions};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// async fn login(mut login: Login<User>) -> Result<Response, LoginError> {
    ///     login.login_user(&User("ada".into()), LoginOptions::new()).await?;
    ///     let next = login.take_next();
    ///     Ok(login.redirect_next(next.as_deref(), "/"))
    /// }
    /// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(login);
    /// ```
    pub fn take_next(&self) -> Option<String> {
        let next: String = self.facts.session.pop(crate::guard::NEXT_KEY)?;
        crate::safe_next(&next).is_some().then_some(next)
    }

    /// A 302 to `next` when [`safe_next`](crate::safe_next) accepts it, else to `default`.
    pub fn redirect_next(&self, next: Option<&str>, default: &str) -> Response {
        found(next_or(next, default))
    }
}
