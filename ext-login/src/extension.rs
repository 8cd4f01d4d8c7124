//! [`LoginExtension`]: the `Extension` impl, thin glue around the layer and the stores.

use std::sync::{Arc, OnceLock};

use phial_core::prelude::*;

use crate::config::LoginConfig;
use crate::context::{CALL_TIMEOUT, LoginShared};
use crate::remember::{MemoryRememberStore, RememberStore};
use crate::signals::{Signals, Unauthorized};
use crate::user::{AuthUser, DynRequestLoader, DynUserLoader, RequestLoader, UserLoader};

type LoaderFactory<U> = Box<dyn Fn(&StartCtx) -> Result<DynUserLoader<U>, Error> + Send + Sync>;

enum LoaderSource<U> {
    Ready(DynUserLoader<U>),
    FromStart(LoaderFactory<U>),
}

/// Logins for a phial app, for user type `U`: Flask-Login's `LoginManager`.
///
/// Reads section `[login]` ([`LoginConfig`]) and registers a [`LoginState`] (for
/// [`Ext<LoginState<U>>`](phial_core::Ext)), where the extractors and guards find the
/// settings; it adds no layer (see [`LoginLayer`](crate::LoginLayer) for how the remember-me
/// cookie is written without one).
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, CurrentUser, LoginExtension};
///
/// #[derive(Clone)]
/// struct User { name: String }
/// impl AuthUser for User { fn auth_id(&self) -> String { self.name.clone() } }
///
/// async fn secret(CurrentUser(user): CurrentUser<User>) -> String {
///     format!("hello {}", user.name)
/// }
///
/// let login = LoginExtension::new(|id: String| async move {
///     Ok((id == "ada").then(|| User { name: id }))
/// });
/// let app = App::builder()
///     .profile(Profile::Testing)
///     .config_toml("[login]\nlogin_view = \"/login\"\n")
///     .extension(login)
///     .endpoint("secret", "/secret", get(secret))
///     .build()?;
/// # Ok::<(), phial_core::Error>(())
/// ```
pub struct LoginExtension<U> {
    loader: LoaderSource<U>,
    request_loader: Option<DynRequestLoader<U>>,
    store: Option<Arc<dyn RememberStore>>,
    signals: Signals<U>,
    shared: OnceLock<Arc<LoginShared<U>>>,
}

impl<U> std::fmt::Debug for LoginExtension<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginExtension").field("signals", &self.signals).finish_non_exhaustive()
    }
}

impl<U: AuthUser> LoginExtension<U> {
    /// Logins whose users come from `loader` (Flask-Login's `@user_loader`), a closure that
    /// captures what it needs.
    pub fn new(loader: impl UserLoader<U>) -> Self {
        Self::from_source(LoaderSource::Ready(Arc::new(loader)))
    }

    /// Logins whose loader is made in `start` from state that earlier extensions provided
    /// (a database pool, say): `make` gets the [`StartCtx`].
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// use phial_login::{AuthUser, LoginExtension};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// #[derive(Clone)]
    /// struct Directory(Vec<String>);
    ///
    /// let login = LoginExtension::with_loader_from(|ctx: &StartCtx| {
    ///     let directory = ctx.require::<Directory>()?.clone();
    ///     Ok(move |id: String| {
    ///         let found = directory.0.contains(&id);
    ///         async move { Ok(found.then(|| User(id))) }
    ///     })
    /// });
    /// # let _ = login;
    /// ```
    pub fn with_loader_from<L, F>(make: F) -> Self
    where
        L: UserLoader<U>,
        F: Fn(&StartCtx) -> Result<L, Error> + Send + Sync + 'static,
    {
        let factory: LoaderFactory<U> = Box::new(move |ctx| Ok(Arc::new(make(ctx)?) as DynUserLoader<U>));
        Self::from_source(LoaderSource::FromStart(factory))
    }

    fn from_source(loader: LoaderSource<U>) -> Self {
        Self { loader, request_loader: None, store: None, signals: Signals::default(), shared: OnceLock::new() }
    }

    /// Also authenticates requests by `loader` (Flask-Login's `@request_loader`), when neither
    /// the session nor a remember-me cookie gives a user.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, LoginExtension};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// let loader = |id: String| async move { Ok(Some(User(id))) };
    /// let login = LoginExtension::new(loader).request_loader(|headers: http::HeaderMap| async move {
    ///     let key = headers.get("x-api-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    ///     Ok(key.filter(|key| key == "ada-secret-key").map(|_| User("ada".into())))
    /// });
    /// # let _ = login;
    /// ```
    #[must_use]
    pub fn request_loader(mut self, loader: impl RequestLoader<U>) -> Self {
        self.request_loader = Some(Arc::new(loader));
        self
    }

    /// Keeps remember-me tokens and epochs in `store`, whatever `login.remember_store` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, LoginExtension};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// let loader = |id: String| async move { Ok(Some(User(id))) };
    /// let store = std::sync::Arc::new(phial_login::MemoryRememberStore::new());
    /// let login = LoginExtension::new(loader).remember_store(store);
    /// # let _ = login;
    /// ```
    #[must_use]
    pub fn remember_store(mut self, store: Arc<dyn RememberStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Runs `hook` after each login. Flask-Login: `user_logged_in`. Hooks run on the
    /// request's task in the order registered; keep them quick.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::{AuthUser, LoginExtension};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
    ///
    /// let loader = |id: String| async move { Ok(Some(User(id))) };
    /// let login = LoginExtension::new(loader)
    ///     .on_login(|user: &User| tracing::info!(user = %user.0, "logged in"))
    ///     .on_logout(|user: &User| tracing::info!(user = %user.0, "logged out"))
    ///     .on_remember(|user: &User| tracing::info!(user = %user.0, "remembered"))
    ///     .on_unauthorized(|event| tracing::info!(path = %event.path, "refused"));
    /// # let _ = login;
    /// ```
    #[must_use]
    pub fn on_login(mut self, hook: impl Fn(&U) + Send + Sync + 'static) -> Self {
        self.signals.logged_in.push(Arc::new(hook));
        self
    }

    /// Runs `hook` after each logout. Flask-Login: `user_logged_out`.
    #[must_use]
    pub fn on_logout(mut self, hook: impl Fn(&U) + Send + Sync + 'static) -> Self {
        self.signals.logged_out.push(Arc::new(hook));
        self
    }

    /// Runs `hook` when a remember-me cookie logs a user in. Flask-Login:
    /// `user_loaded_from_cookie`.
    #[must_use]
    pub fn on_remember(mut self, hook: impl Fn(&U) + Send + Sync + 'static) -> Self {
        self.signals.remembered.push(Arc::new(hook));
        self
    }

    /// Runs `hook` when a guard refuses a request. Flask-Login: `user_unauthorized` and
    /// `user_needs_refresh`.
    #[must_use]
    pub fn on_unauthorized(mut self, hook: impl Fn(&Unauthorized) + Send + Sync + 'static) -> Self {
        self.signals.unauthorized.push(Arc::new(hook));
        self
    }
}

impl<U: AuthUser> Extension for LoginExtension<U> {
    const NAME: &'static str = "login";
    type Config = LoginConfig;

    fn deps(&self) -> Deps {
        // A loader made in `start` reads what a database extension provides; the Redis
        // remember store takes the shared connection.
        Deps::none().after("sql").after("redis")
    }

    fn build(&self, config: &LoginConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        config.validate()?;
        let hasher = crate::password::PasswordHasher::new(config.password.clone())
            .map_err(|err| Error::config("login.password", err.to_string()))?;
        ctx.state(hasher);
        let production = ctx.profile() == Profile::Production;
        let store = OnceLock::new();
        if let Some(given) = &self.store {
            let _ = store.set(Arc::clone(given));
        } else {
            match config.remember_store.as_str() {
                "memory" => {
                    if production {
                        tracing::warn!(
                            "login: remember-me tokens are kept in memory; set login.remember_store = \"redis\" \
                             when the app runs as several instances"
                        );
                    }
                    let _ = store.set(Arc::new(MemoryRememberStore::new()) as Arc<dyn RememberStore>);
                }
                #[cfg(feature = "redis")]
                "redis" => {} // in `start`, from the shared connection
                #[cfg(feature = "sql")]
                "sql" => {} // in `start`, from phial-sql's default database
                #[cfg(not(feature = "sql"))]
                "sql" => {
                    return Err(Error::config(
                        "login.remember_store",
                        "`sql` needs the `sql` feature of phial-login (phial's `login` and `sql` features)",
                    ));
                }
                #[cfg(not(feature = "redis"))]
                "redis" => {
                    return Err(Error::config(
                        "login.remember_store",
                        "`redis` needs the `redis` feature of phial (or phial-login)",
                    ));
                }
                other => {
                    return Err(Error::config(
                        "login.remember_store",
                        format!("unknown remember store `{other}`; use `memory`, `redis` or `sql`"),
                    ));
                }
            }
        }
        let loader = OnceLock::new();
        if let LoaderSource::Ready(ready) = &self.loader {
            let _ = loader.set(Arc::clone(ready));
        }
        let shared = Arc::new(LoginShared {
            config: config.clone(),
            secure: config.remember_cookie_secure.unwrap_or(production),
            loader,
            request_loader: self.request_loader.clone(),
            store,
            signals: self.signals.clone(),
            timeout: CALL_TIMEOUT,
        });
        ctx.state(LoginState { shared: Arc::clone(&shared) });
        #[cfg(feature = "templates")]
        ctx.context_processor(crate::context::TemplateUser::<U>::add);
        self.shared.set(shared).map_err(|_| Error::msg("the login extension was built twice"))?;
        Ok(())
    }

    async fn start(&self, config: &LoginConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        let shared = self.shared.get().ok_or_else(|| Error::msg("the login extension started before its build"))?;
        if let LoaderSource::FromStart(make) = &self.loader {
            let _ = shared.loader.set(make(ctx)?);
        }
        #[cfg(feature = "redis")]
        if self.store.is_none() && config.remember_store == "redis" {
            let redis = ctx.require::<phial_core::redis::Redis>()?.clone();
            let _ = shared.store.set(Arc::new(crate::RedisRememberStore::new(redis)) as Arc<dyn RememberStore>);
        }
        #[cfg(feature = "sql")]
        if self.store.is_none() && config.remember_store == "sql" {
            let db = ctx
                .require::<phial_sql::Databases>()
                .map_err(|_| {
                    Error::config(
                        "login.remember_store",
                        "`sql` needs `SqlExtension` with `.tables(SqlRememberStore::tables())`",
                    )
                })?
                .default_db()
                .clone();
            let store = crate::SqlRememberStore::new(db);
            let sweeper = store.clone();
            ctx.spawn("remember-token-cleanup", move |mut stop| async move {
                let mut ticks = tokio::time::interval(std::time::Duration::from_hours(1));
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {
                            if let Err(err) = sweeper.delete_expired().await {
                                tracing::warn!(error = %err, "login: deleting expired remember tokens failed; will retry");
                            }
                        }
                        () = stop.stopped() => return,
                    }
                }
            });
            let _ = shared.store.set(Arc::new(store) as Arc<dyn RememberStore>);
        }
        #[cfg(not(any(feature = "redis", feature = "sql")))]
        let _ = config;
        if ctx.profile() == Profile::Production {
            // The dummy hash that makes an unknown user cost a wrong password's time, made now
            // rather than by the first unknown user's login.
            let hasher = ctx.require::<crate::password::PasswordHasher>()?.clone();
            ctx.spawn("password-warm-up", move |_stop| async move {
                if let Err(err) = hasher.warm_up().await {
                    tracing::warn!(error = %err, "login: could not prepare the unknown-user hash");
                }
            });
        }
        Ok(())
    }
}

/// The app-wide login handle, registered as state: config, and logging a user out everywhere
/// from outside that user's requests (an admin action, a password reset by mail).
///
/// # Examples
///
/// ```
/// use phial_core::Ext;
/// use phial_login::{AuthUser, LoginState};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// async fn ban(Ext(login): Ext<LoginState<User>>) -> Result<&'static str, phial_login::LoginError> {
///     login.logout_everywhere("mallory").await?;
///     Ok("banned")
/// }
/// # let _: axum::routing::MethodRouter<phial_core::AppState> = axum::routing::post(ban);
/// ```
pub struct LoginState<U> {
    pub(crate) shared: Arc<LoginShared<U>>,
}

impl<U> Clone for LoginState<U> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared) }
    }
}

impl<U> std::fmt::Debug for LoginState<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginState").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl<U> LoginState<U> {
    /// The `[login]` config.
    pub fn config(&self) -> &LoginConfig {
        &self.shared.config
    }

    /// Ends every session and remember-me token of user `user_id` on their next request.
    ///
    /// # Errors
    ///
    /// [`LoginError::Unavailable`](crate::LoginError::Unavailable) when the store fails.
    pub async fn logout_everywhere(&self, user_id: &str) -> Result<(), crate::LoginError> {
        self.shared.bounded("the remember store", self.shared.store()?.bump_epoch(user_id)).await.map(drop)
    }
}
