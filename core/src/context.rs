//! What extensions are handed in their hooks: [`BuildCtx`] and [`StartCtx`].

use std::any::{TypeId, type_name};
use std::sync::Arc;

use axum::routing::MethodRouter;

use crate::app::AppParts;
use crate::cli::CliCommand;
use crate::config::{AppConfig, ConfigSource, Profile};
use crate::error::Error;
use crate::middleware::{LayerFn, Stage, StagedLayer};
use crate::routing::{Blueprint, RouteDef};
use crate::session::SessionStore;
use crate::state::{AppState, Registry};

/// What an extension's `build` hook may add to the app.
///
/// Everything added is owned by the extension for listings (`<app> routes`, `<app> middleware`).
pub struct BuildCtx<'a> {
    pub(crate) parts: &'a mut AppParts,
    pub(crate) owner: String,
    pub(crate) source: &'a ConfigSource,
    pub(crate) app: &'a AppConfig,
}

impl BuildCtx<'_> {
    /// The name of the extension being built.
    pub fn extension_name(&self) -> &str {
        &self.owner
    }

    /// The merged config, e.g. to read another section.
    pub fn config(&self) -> &ConfigSource {
        self.source
    }

    /// The core's `[app]` config.
    pub fn app_config(&self) -> &AppConfig {
        self.app
    }

    /// The active profile.
    pub fn profile(&self) -> Profile {
        self.source.profile()
    }

    /// Adds a named route at `path` (full endpoint name, e.g. `"sql.health"`).
    pub fn endpoint(&mut self, endpoint: &str, path: &str, router: MethodRouter<AppState>) -> &mut Self {
        self.parts.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            router,
            origin: format!("extension {}", self.owner),
        });
        self
    }

    /// Adds an unnamed route at `path`.
    pub fn route(&mut self, path: &str, router: MethodRouter<AppState>) -> &mut Self {
        self.parts.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: None,
            router,
            origin: format!("extension {}", self.owner),
        });
        self
    }

    /// Mounts a blueprint at `prefix` (`""` for none).
    pub fn blueprint(&mut self, prefix: &str, blueprint: Blueprint) -> &mut Self {
        self.parts.blueprints.push((prefix.to_owned(), blueprint, format!("extension {}", self.owner)));
        self
    }

    /// Adds an app-wide layer at `stage`; see [`Stage`] for the order.
    pub fn layer<L>(&mut self, stage: Stage, name: &str, layer: L) -> &mut Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service:
            tower::Service<axum::extract::Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        let apply: LayerFn = Box::new(move |router| router.layer(layer));
        self.parts.layers.push(StagedLayer { stage, name: name.to_owned(), owner: self.owner.clone(), apply });
        self
    }

    /// Adds a CLI subcommand (e.g. `db upgrade`).
    pub fn command(&mut self, command: CliCommand) -> &mut Self {
        self.parts.commands.push((self.owner.clone(), command));
        self
    }

    /// Promises that `start` will [provide](StartCtx::provide) a value of type `T`; startup
    /// fails with an error naming `T` if it does not.
    pub fn promise<T: Send + Sync + 'static>(&mut self) -> &mut Self {
        self.parts.promises.push((self.owner.clone(), TypeId::of::<T>(), type_name::<T>()));
        self
    }

    /// Registers a value known at build time.
    pub fn state<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.parts.registry.insert(value);
        self
    }

    /// Adds a global to every template (feature `templates`).
    #[cfg(feature = "templates")]
    #[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
    pub fn template_global(&mut self, name: &str, value: minijinja::Value) -> &mut Self {
        self.parts.template_globals.push((name.to_owned(), value));
        self
    }

    /// Adds a context processor (Flask's `@app.context_processor`; feature `templates`): `f`
    /// adds values to the templates of a request when its handler takes a
    /// [`Template`](crate::Template). Requests that render no template never run it, so an
    /// extension's per-request template helpers (a CSRF token, the current user) cost nothing
    /// on the others. It runs while the `Template` is extracted and gets the request's parts
    /// mutably, as an extractor does: it may leave a value there for the handler's later
    /// extractors (phial-login leaves the login context that `current_user` reads when the
    /// template renders).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// use phial_core::RequestId;
    ///
    /// struct RequestIds;
    ///
    /// impl Extension for RequestIds {
    ///     const NAME: &'static str = "request-ids";
    ///     type Config = ();
    ///
    ///     fn build(&self, _: &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
    ///         ctx.context_processor(|parts, vars| {
    ///             if let Some(id) = RequestId::from_extensions(&parts.extensions) {
    ///                 vars.insert("request_id", id.as_str());
    ///             }
    ///         });
    ///         Ok(())
    ///     }
    /// }
    /// ```
    #[cfg(feature = "templates")]
    #[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
    pub fn context_processor(
        &mut self,
        f: impl Fn(&mut http::request::Parts, &mut crate::templates::TemplateVars) + Send + Sync + 'static,
    ) -> &mut Self {
        self.parts.context_processors.push(Arc::new(f));
        self
    }
}

/// What an extension's `start` hook works with: config, and the registry it fills.
pub struct StartCtx {
    pub(crate) registry: Registry,
    pub(crate) source: ConfigSource,
    pub(crate) app: AppConfig,
    pub(crate) session_stores: Vec<(String, Arc<dyn SessionStore>)>,
    pub(crate) tasks: crate::tasks::Tasks,
}

impl StartCtx {
    /// Provides a value of type `T` to handlers ([`Ext<T>`](crate::Ext)) and to extensions
    /// that start later.
    pub fn provide<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.registry.insert(value);
        self
    }

    /// A value provided by an extension that started earlier.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.registry.get::<T>()
    }

    /// Like [`get`](Self::get), as an error naming `T` when missing.
    ///
    /// # Errors
    ///
    /// When no value of type `T` was provided (the providing extension is missing or ordered
    /// after this one).
    pub fn require<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.get::<T>().ok_or_else(|| {
            Error::msg(format!(
                "`{}` is not available yet: the extension that provides it must be added and ordered first \
                 (declare it with `Deps::requires`)",
                type_name::<T>()
            ))
        })
    }

    /// The merged config.
    pub fn config(&self) -> &ConfigSource {
        &self.source
    }

    /// The core's `[app]` config.
    pub fn app_config(&self) -> &AppConfig {
        &self.app
    }

    /// The active profile.
    pub fn profile(&self) -> Profile {
        self.source.profile()
    }

    /// Spawns a background task that the app stops at shutdown: its [`StopSignal`] completes
    /// when shutdown begins, and the app waits for it (bounded by `app.shutdown_timeout`)
    /// before running the extensions' shutdown hooks, so a task never outlives the resources
    /// those hooks release.
    ///
    /// [`StopSignal`]: crate::tasks::StopSignal
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let ticker = FnExtension::new("ticker", |_| Ok(())).on_start(|ctx| {
    ///     Box::pin(async move {
    ///         ctx.spawn("ticker", |mut stop| async move {
    ///             stop.stopped().await;
    ///         });
    ///         Ok(())
    ///     })
    /// });
    /// # let _ = ticker;
    /// ```
    pub fn spawn<F, Fut>(&mut self, name: &str, task: F) -> &mut Self
    where
        F: FnOnce(crate::tasks::StopSignal) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(name, task);
        self
    }

    /// Offers a server-side session store under `name`, selectable with
    /// `app.session.store = "<name>"` (the core offers `memory`).
    pub fn session_store(&mut self, name: &str, store: Arc<dyn SessionStore>) -> &mut Self {
        self.session_stores.push((name.to_owned(), store));
        self
    }
}
