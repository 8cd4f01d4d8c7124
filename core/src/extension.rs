//! The [`Extension`] trait, its erased form, closures as extensions, and extension groups.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppBuilder;
use crate::config::ConfigSource;
use crate::context::{BuildCtx, StartCtx};
use crate::error::{BoxError, Error};
use crate::health::Health;
use crate::state::AppState;

/// A boxed, sendable future, as stored for erased hooks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A unit of functionality added to an app: the Rust form of a Flask extension's `init_app`.
///
/// Only [`NAME`](Self::NAME), [`Config`](Self::Config) and [`build`](Self::build) are
/// required. The hooks run in dependency order (see [`Deps`]):
///
/// 1. `build` (sync, in [`AppBuilder::build`]): read config; add routes, layers, CLI
///    subcommands, health checks; [promise](BuildCtx::promise) state.
/// 2. `start` (async, in [`App::start`](crate::App::start)): connect to services and
///    [provide](StartCtx::provide) state. The first error stops startup; extensions already
///    started are shut down in reverse order.
/// 3. `health` (async): called by `/readyz` and the `check` command.
/// 4. `shutdown` (async, reverse order, each bounded by `app.shutdown_timeout`).
///
/// An extension never holds the app: everything it adds goes through the context it is given.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// /// Adds a greeting route whose text comes from config section `[greeter]`.
/// struct Greeter;
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// #[serde(default)]
/// struct GreeterConfig {
///     greeting: String,
/// }
///
/// impl Extension for Greeter {
///     const NAME: &'static str = "greeter";
///     type Config = GreeterConfig;
///
///     fn build(&self, config: &GreeterConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
///         let text = if config.greeting.is_empty() { "hello".to_owned() } else { config.greeting.clone() };
///         ctx.endpoint("greeter.hello", "/greet", get(move || async move { text }));
///         Ok(())
///     }
/// }
///
/// let app = App::builder().profile(Profile::Testing).extension(Greeter).build()?;
/// assert!(app.routes().iter().any(|r| r.endpoint.as_deref() == Some("greeter.hello")));
/// # Ok::<(), phial_core::Error>(())
/// ```
pub trait Extension: Send + Sync + 'static {
    /// The registry key, config section (`[NAME]`) and env prefix (`PHIAL_<NAME>__`).
    const NAME: &'static str;

    /// The typed config of section `[NAME]`; `Default` gives the extension's defaults.
    type Config: DeserializeOwned + Serialize + Default + Clone + Send + Sync + 'static;

    /// The Flask extension's environment variables for this section, each with the key of
    /// `[NAME]` it sets: `("MAIL_SERVER", "server")`. They are read where the core reads
    /// `DATABASE_URL` (above the config files, below `PHIAL_<NAME>__<FIELD>`), so an app moved
    /// from Flask keeps its deployment's variables.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// #[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
    /// #[serde(default)]
    /// struct Config { server: String }
    ///
    /// struct Mailer;
    /// impl Extension for Mailer {
    ///     const NAME: &'static str = "mailer";
    ///     const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[("MAIL_SERVER", "server")];
    ///     type Config = Config;
    ///     fn build(&self, _: &Config, _: &mut BuildCtx<'_>) -> Result<(), phial_core::Error> { Ok(()) }
    /// }
    /// # let _ = Mailer;
    /// ```
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[];

    /// The name of this instance. Extensions that support several instances override it
    /// (e.g. `Sql::named("analytics")`); the config section stays [`NAME`](Self::NAME).
    fn name(&self) -> String {
        Self::NAME.to_owned()
    }

    /// Ordering constraints on other extensions.
    fn deps(&self) -> Deps {
        Deps::none()
    }

    /// Reads config and registers the extension's parts.
    fn build(&self, config: &Self::Config, ctx: &mut BuildCtx<'_>) -> Result<(), Error>;

    /// Connects to services and provides state. Runs in dependency order.
    fn start(&self, config: &Self::Config, ctx: &mut StartCtx) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (config, ctx);
        async { Ok(()) }
    }

    /// Releases resources. Runs in reverse order, bounded by `app.shutdown_timeout`.
    fn shutdown(&self, state: &AppState) -> impl Future<Output = ()> + Send {
        let _ = state;
        async {}
    }

    /// Reports whether the extension can serve (e.g. its database answers).
    fn health(&self, state: &AppState) -> impl Future<Output = Health> + Send {
        let _ = state;
        async { Health::Healthy }
    }
}

/// Ordering constraints of an extension on others, by name.
///
/// - `requires`: the other must be present and comes first; absent → a build error.
/// - `after`: if the other is present, it comes first.
/// - `before`: if the other is present, it comes after this one.
///
/// # Examples
///
/// ```
/// use phial_core::Deps;
///
/// let deps = Deps::none().requires("sql").after("cache");
/// assert_eq!(deps.required(), ["sql"]);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Deps {
    requires: Vec<String>,
    after: Vec<String>,
    before: Vec<String>,
}

impl Deps {
    /// No constraints.
    pub fn none() -> Self {
        Self::default()
    }

    /// A hard dependency on the extension named `name`.
    pub fn requires(mut self, name: impl Into<String>) -> Self {
        self.requires.push(name.into());
        self
    }

    /// A hard dependency on extension type `E` (by its [`Extension::NAME`]).
    pub fn requires_ext<E: Extension>(self) -> Self {
        self.requires(E::NAME)
    }

    /// Runs after `name` if it is present.
    pub fn after(mut self, name: impl Into<String>) -> Self {
        self.after.push(name.into());
        self
    }

    /// Runs before `name` if it is present.
    pub fn before(mut self, name: impl Into<String>) -> Self {
        self.before.push(name.into());
        self
    }

    /// The hard dependencies.
    pub fn required(&self) -> &[String] {
        &self.requires
    }

    /// The soft "after" constraints.
    pub fn runs_after(&self) -> &[String] {
        &self.after
    }

    /// The soft "before" constraints.
    pub fn runs_before(&self) -> &[String] {
        &self.before
    }
}

/// The object-safe form of an [`Extension`] the app stores, with its config once loaded.
pub(crate) trait DynExtension: Send + Sync {
    fn name(&self) -> String;
    fn section(&self) -> &'static str;
    fn env_aliases(&self) -> &'static [(&'static str, &'static str)];
    fn deps(&self) -> Deps;
    fn default_config(&self) -> Result<serde_json::Value, Error>;
    /// Extracts the typed config from the merged sources and keeps it.
    fn load_config(&mut self, source: &ConfigSource) -> Result<serde_json::Value, Error>;
    fn build(&self, ctx: &mut BuildCtx<'_>) -> Result<(), Error>;
    fn start<'a>(&'a self, ctx: &'a mut StartCtx) -> BoxFuture<'a, Result<(), Error>>;
    fn shutdown<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, ()>;
    fn health<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, Health>;
}

pub(crate) struct Erased<E: Extension> {
    ext: E,
    config: Option<E::Config>,
}

impl<E: Extension> Erased<E> {
    pub(crate) fn boxed(ext: E) -> Box<dyn DynExtension> {
        Box::new(Self { ext, config: None })
    }

    fn config(&self) -> &E::Config {
        self.config.as_ref().expect("config is loaded before any hook runs")
    }
}

impl<E: Extension> DynExtension for Erased<E> {
    fn name(&self) -> String {
        self.ext.name()
    }

    fn section(&self) -> &'static str {
        E::NAME
    }

    fn env_aliases(&self) -> &'static [(&'static str, &'static str)] {
        E::ENV_ALIASES
    }

    fn deps(&self) -> Deps {
        self.ext.deps()
    }

    fn default_config(&self) -> Result<serde_json::Value, Error> {
        crate::config::defaults_to_value(&E::Config::default(), E::NAME)
    }

    fn load_config(&mut self, source: &ConfigSource) -> Result<serde_json::Value, Error> {
        // A config that serializes to nothing (`()`) has no section to read.
        if self.default_config()?.is_null() {
            self.config = Some(E::Config::default());
            return Ok(serde_json::Value::Null);
        }
        let config: E::Config = source.extract_section(E::NAME)?;
        let value = crate::config::to_masked_value(&config);
        self.config = Some(config);
        Ok(value)
    }

    fn build(&self, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        self.ext.build(self.config(), ctx).map_err(|err| wrap(self.name(), "build", err))
    }

    fn start<'a>(&'a self, ctx: &'a mut StartCtx) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { self.ext.start(self.config(), ctx).await.map_err(|err| wrap(self.name(), "start", err)) })
    }

    fn shutdown<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, ()> {
        Box::pin(self.ext.shutdown(state))
    }

    fn health<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, Health> {
        Box::pin(self.ext.health(state))
    }
}

/// Keeps the ordering/config errors as they are and names the extension on any other.
fn wrap(extension: String, hook: &'static str, err: Error) -> Error {
    match err {
        Error::Other(source) => Error::Extension { extension, hook, source },
        other => other,
    }
}

type BuildFn = dyn Fn(&mut BuildCtx<'_>) -> Result<(), Error> + Send + Sync;

/// A closure as a small extension: a name, a `build` step, and optionally a `start` step.
///
/// For one-off wiring that does not deserve a type. It has no config section of its own.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use phial_core::prelude::*;
///
/// let ping = FnExtension::new("ping", |ctx| {
///     ctx.endpoint("ping", "/ping", get(|| async { "pong" }));
///     Ok(())
/// });
/// let app = App::builder().profile(Profile::Testing).extension(ping).build()?;
/// assert_eq!(app.extension_order(), ["ping"]);
/// # Ok::<(), phial_core::Error>(())
/// ```
pub struct FnExtension {
    name: String,
    deps: Deps,
    build: Box<BuildFn>,
    start: Option<Arc<StartFn>>,
}

type StartFn = dyn for<'a> Fn(&'a mut StartCtx) -> BoxFuture<'a, Result<(), Error>> + Send + Sync;

impl FnExtension {
    /// An extension named `name` whose `build` hook is `build`.
    pub fn new(
        name: impl Into<String>,
        build: impl Fn(&mut BuildCtx<'_>) -> Result<(), Error> + Send + Sync + 'static,
    ) -> Self {
        Self { name: name.into(), deps: Deps::none(), build: Box::new(build), start: None }
    }

    /// Sets ordering constraints.
    #[must_use]
    pub fn with_deps(mut self, deps: Deps) -> Self {
        self.deps = deps;
        self
    }

    /// Adds a `start` hook, e.g. to [provide](StartCtx::provide) state.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// #[derive(Clone)]
    /// struct Motd(&'static str);
    ///
    /// let motd = FnExtension::new("motd", |_| Ok(()))
    ///     .on_start(|ctx| Box::pin(async move { ctx.provide(Motd("hi")); Ok(()) }));
    /// # let _ = motd;
    /// ```
    #[must_use]
    pub fn on_start(
        mut self,
        start: impl for<'a> Fn(&'a mut StartCtx) -> BoxFuture<'a, Result<(), Error>> + Send + Sync + 'static,
    ) -> Self {
        self.start = Some(Arc::new(start));
        self
    }
}

impl Extension for FnExtension {
    const NAME: &'static str = "fn";
    type Config = ();

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Deps {
        self.deps.clone()
    }

    fn build(&self, _config: &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        (self.build)(ctx)
    }

    fn start(&self, _config: &(), ctx: &mut StartCtx) -> impl Future<Output = Result<(), Error>> + Send {
        let start = self.start.clone();
        async move {
            match start {
                Some(start) => start(ctx).await,
                None => Ok(()),
            }
        }
    }
}

/// A set of extensions added together, like Bevy's plugin groups.
///
/// # Examples
///
/// ```
/// use phial_core::prelude::*;
///
/// struct Basics;
///
/// impl ExtensionGroup for Basics {
///     fn add_to(self, app: AppBuilder) -> AppBuilder {
///         app.extension(FnExtension::new("a", |_| Ok(())))
///             .extension(FnExtension::new("b", |_| Ok(())))
///     }
/// }
///
/// let app = App::builder().profile(Profile::Testing).extensions(Basics).build()?;
/// assert_eq!(app.extension_order(), ["a", "b"]);
/// # Ok::<(), phial_core::Error>(())
/// ```
pub trait ExtensionGroup {
    /// Adds the group's extensions to `app`, in order.
    fn add_to(self, app: AppBuilder) -> AppBuilder;
}

/// The outcome of a shutdown hook, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShutdownOutcome {
    Done,
    TimedOut(Duration),
}

/// Runs one extension's shutdown hook bounded by `timeout`.
pub(crate) async fn shutdown_one(ext: &dyn DynExtension, state: &AppState, timeout: Duration) -> ShutdownOutcome {
    let name = ext.name();
    // A panicking hook must not stop the others: run it as its own task-like future and
    // catch the unwind.
    let hook = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(ext.shutdown(state)));
    match tokio::time::timeout(timeout, hook).await {
        Ok(Ok(())) => {
            tracing::info!(extension = %name, "extension shut down");
            ShutdownOutcome::Done
        }
        Ok(Err(_)) => {
            tracing::error!(extension = %name, "extension shutdown hook panicked");
            ShutdownOutcome::Done
        }
        Err(_) => {
            tracing::error!(extension = %name, timeout_ms = timeout.as_millis(), "extension shutdown hook timed out");
            ShutdownOutcome::TimedOut(timeout)
        }
    }
}

/// A boxed error to [`Error::Other`], for `?` in hooks.
impl From<BoxError> for Error {
    fn from(err: BoxError) -> Self {
        Self::Other(err)
    }
}
