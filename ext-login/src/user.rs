//! The user contract ([`AuthUser`], Flask-Login's `UserMixin`) and the loaders that find users.

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::HeaderMap;
use phial_core::BoxError;

/// What phial-login needs from an app's user type: Flask-Login's `UserMixin`.
///
/// Only [`auth_id`](Self::auth_id) is required.
///
/// # Examples
///
/// ```
/// use phial_login::AuthUser;
///
/// #[derive(Clone)]
/// struct User { id: i64, active: bool, password_hash: String }
///
/// impl AuthUser for User {
///     fn auth_id(&self) -> String { self.id.to_string() }
///     fn is_active(&self) -> bool { self.active }
///     // Changes whenever the password does, so other sessions end.
///     fn session_auth_hash(&self) -> Option<String> { Some(self.password_hash.clone()) }
/// }
/// ```
pub trait AuthUser: Clone + Send + Sync + 'static {
    /// The id stored in the session and handed to the user loader. Flask-Login: `get_id()`.
    fn auth_id(&self) -> String;

    /// Whether the account may log in; inactive users are refused by
    /// [`Login::login_user`](crate::Login::login_user) (unless forced) and are anonymous when
    /// loaded from a session or a remember-me token. Flask-Login: `is_active`.
    fn is_active(&self) -> bool {
        true
    }

    /// A value that changes when the password changes (e.g. the password hash itself). It is
    /// kept, hashed, in the session and the remember-me token at login; a session or token
    /// whose value no longer matches the loaded user's is logged out. `None` turns the check
    /// off. Django's `get_session_auth_hash`; Flask-Login has none.
    fn session_auth_hash(&self) -> Option<String> {
        None
    }

    /// Extra fields for `current_user` in templates (a JSON object); `id`, `is_authenticated`,
    /// `is_active` and `is_anonymous` are always there.
    fn template_fields(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// Finds a user by the id stored in the session: Flask-Login's `@user_loader`.
///
/// Implemented by every `Fn(String) -> impl Future<Output = Result<Option<U>, BoxError>>`, so
/// a closure that captures what it needs (a pool, a map) is a loader. An `Ok(None)` means no
/// such user, which makes the request anonymous; an `Err` is a 503.
///
/// # Examples
///
/// ```
/// use phial_login::{AuthUser, UserLoader};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// fn loader() -> impl UserLoader<User> {
///     |id: String| async move { Ok((id == "ada").then(|| User(id))) }
/// }
/// # let _ = loader();
/// ```
pub trait UserLoader<U>: Send + Sync + 'static {
    /// The user with `id`, if there is one.
    fn load_user(&self, id: String) -> BoxFuture<'static, Result<Option<U>, BoxError>>;
}

impl<U, F, Fut> UserLoader<U> for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>, BoxError>> + Send + 'static,
{
    fn load_user(&self, id: String) -> BoxFuture<'static, Result<Option<U>, BoxError>> {
        Box::pin(self(id))
    }
}

/// Finds a user from the request itself (an API key header, a token): Flask-Login's
/// `@request_loader`. Asked only when neither the session nor a remember-me cookie gives a
/// user; the user it returns is not stored in the session.
///
/// # Examples
///
/// ```
/// use http::HeaderMap;
/// use phial_login::{AuthUser, RequestLoader};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// fn api_keys() -> impl RequestLoader<User> {
///     |headers: HeaderMap| async move {
///         let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
///         Ok((key == Some("secret-key-of-ada")).then(|| User("ada".into())))
///     }
/// }
/// # let _ = api_keys();
/// ```
pub trait RequestLoader<U>: Send + Sync + 'static {
    /// The user the request's headers authenticate, if any.
    fn load_from_request(&self, headers: HeaderMap) -> BoxFuture<'static, Result<Option<U>, BoxError>>;
}

impl<U, F, Fut> RequestLoader<U> for F
where
    F: Fn(HeaderMap) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>, BoxError>> + Send + 'static,
{
    fn load_from_request(&self, headers: HeaderMap) -> BoxFuture<'static, Result<Option<U>, BoxError>> {
        Box::pin(self(headers))
    }
}

pub(crate) type DynUserLoader<U> = Arc<dyn UserLoader<U>>;
pub(crate) type DynRequestLoader<U> = Arc<dyn RequestLoader<U>>;

/// The anonymous user: what `current_user` is when nobody is logged in. Flask-Login:
/// `AnonymousUserMixin`.
///
/// # Examples
///
/// ```
/// use phial_login::Anonymous;
///
/// assert!(Anonymous.is_anonymous());
/// assert!(!Anonymous.is_authenticated());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anonymous;

impl Anonymous {
    /// Always `true`.
    pub fn is_anonymous(self) -> bool {
        true
    }

    /// Always `false`.
    pub fn is_authenticated(self) -> bool {
        false
    }
}

/// `current_user` as templates see it.
#[cfg(feature = "templates")]
pub(crate) fn template_value<U: AuthUser>(user: Option<&U>) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    if let Some(user) = user {
        if let serde_json::Value::Object(fields) = user.template_fields() {
            object.extend(fields);
        }
        object.insert("id".into(), user.auth_id().into());
    } else {
        object.insert("id".into(), serde_json::Value::Null);
    }
    object.insert("is_authenticated".into(), user.is_some().into());
    object.insert("is_active".into(), user.is_some_and(AuthUser::is_active).into());
    object.insert("is_anonymous".into(), user.is_none().into());
    serde_json::Value::Object(object)
}
