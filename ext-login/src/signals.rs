//! Hooks run on login events: Flask-Login's signals (`user_logged_in`, `user_logged_out`,
//! `user_loaded_from_cookie`, `user_unauthorized`).

use std::fmt;
use std::sync::Arc;

/// A callback; it runs on the request's task, so it must be quick (spawn for slow work).
pub(crate) type Hook<T> = Arc<dyn Fn(&T) + Send + Sync>;

/// The callbacks registered on a [`LoginExtension`](crate::LoginExtension) or
/// [`LoginLayer`](crate::LoginLayer).
pub(crate) struct Signals<U> {
    pub(crate) logged_in: Vec<Hook<U>>,
    pub(crate) logged_out: Vec<Hook<U>>,
    pub(crate) remembered: Vec<Hook<U>>,
    pub(crate) unauthorized: Vec<Hook<Unauthorized>>,
}

impl<U> Default for Signals<U> {
    fn default() -> Self {
        Self { logged_in: Vec::new(), logged_out: Vec::new(), remembered: Vec::new(), unauthorized: Vec::new() }
    }
}

impl<U> Clone for Signals<U> {
    fn clone(&self) -> Self {
        Self {
            logged_in: self.logged_in.clone(),
            logged_out: self.logged_out.clone(),
            remembered: self.remembered.clone(),
            unauthorized: self.unauthorized.clone(),
        }
    }
}

impl<U> fmt::Debug for Signals<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("logged_in", &self.logged_in.len())
            .field("logged_out", &self.logged_out.len())
            .field("remembered", &self.remembered.len())
            .field("unauthorized", &self.unauthorized.len())
            .finish()
    }
}

pub(crate) fn emit<T>(hooks: &[Hook<T>], value: &T) {
    for hook in hooks {
        hook(value);
    }
}

/// What an unauthorized hook is told: a guarded request was refused.
///
/// # Examples
///
/// ```
/// use phial_login::Unauthorized;
///
/// fn log(event: &Unauthorized) {
///     eprintln!("refused {} (fresh login needed: {})", event.path, event.needs_fresh);
/// }
/// # let _ = log;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unauthorized {
    /// The request's path.
    pub path: String,
    /// `true` when a user was logged in but not freshly (`fresh_login_required`).
    pub needs_fresh: bool,
}
