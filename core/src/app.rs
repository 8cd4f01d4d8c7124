//! The app's phases: [`AppBuilder`] → [`App`] (built) → [`RunningApp`] (started).
//!
//! Each phase is its own type, so a setup call made too late does not compile: routes and
//! extensions are added to the builder, `build` validates and runs every `build` hook, `start`
//! runs every `start` hook and freezes the state.

use std::any::TypeId;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::CliCommand;
use crate::config::{AppConfig, ConfigInputs, ConfigSource, Profile, defaults_to_value};
use crate::context::{BuildCtx, StartCtx};
use crate::error::{Error, HttpError};
use crate::extension::{DynExtension, Erased, Extension, ExtensionGroup, shutdown_one};
use crate::health::HealthReport;
use crate::middleware::{ErrorContext, ErrorHandlerFn, LayerInfo, Stage, StagedLayer};
use crate::routing::{Blueprint, RouteDef, RouteInfo, UrlMap};
use crate::service::AppService;
use crate::state::{AppState, Registry};

/// Everything the builder and the extensions' `build` hooks collect.
#[derive(Default)]
pub(crate) struct AppParts {
    pub(crate) routes: Vec<RouteDef>,
    pub(crate) blueprints: Vec<(String, Blueprint, String)>,
    pub(crate) layers: Vec<StagedLayer>,
    pub(crate) commands: Vec<(String, CliCommand)>,
    pub(crate) promises: Vec<(String, TypeId, &'static str)>,
    pub(crate) registry: Registry,
    pub(crate) error_handlers: HashMap<u16, ErrorHandlerFn>,
    #[cfg(feature = "templates")]
    pub(crate) template_globals: Vec<(String, minijinja::Value)>,
    #[cfg(feature = "templates")]
    pub(crate) context_processors: Vec<crate::templates::ContextProcessor>,
}

type SectionLoader = Box<dyn Fn(&ConfigSource, &mut Registry) -> Result<(), Error> + Send + Sync>;

/// Entry point: `App::builder()`.
///
/// # Examples
///
/// ```no_run
/// use axum::routing::get;
/// use phial_core::prelude::*;
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     App::builder()
///         .endpoint("index", "/", get(|| async { "Hello, World!" }))
///         .run()
///         .await
/// }
/// ```
#[must_use]
#[derive(Default)]
pub struct AppBuilder {
    extensions: Vec<Box<dyn DynExtension>>,
    parts: AppParts,
    inputs: ConfigInputs,
    sections: Vec<(String, serde_json::Value, SectionLoader)>,
}

impl AppBuilder {
    /// Adds an extension. Its hooks run in dependency order, ties in the order added.
    pub fn extension<E: Extension>(mut self, extension: E) -> Self {
        self.extensions.push(Erased::boxed(extension));
        self
    }

    /// Adds a group of extensions.
    pub fn extensions(self, group: impl ExtensionGroup) -> Self {
        group.add_to(self)
    }

    /// Adds a named route at `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::routing::get;
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder()
    ///     .profile(Profile::Testing)
    ///     .endpoint("user", "/user/{username}", get(|| async { "profile" }))
    ///     .build()?;
    /// let user = app.routes().iter().find(|r| r.endpoint.as_deref() == Some("user")).unwrap();
    /// assert_eq!(user.path, "/user/{username}");
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    #[track_caller]
    pub fn endpoint(mut self, endpoint: &str, path: &str, router: MethodRouter<AppState>) -> Self {
        self.parts.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            router,
            origin: std::panic::Location::caller().to_string(),
        });
        self
    }

    /// Adds an unnamed route at `path`.
    #[track_caller]
    pub fn route(mut self, path: &str, router: MethodRouter<AppState>) -> Self {
        self.parts.routes.push(RouteDef {
            path: path.to_owned(),
            endpoint: None,
            router,
            origin: std::panic::Location::caller().to_string(),
        });
        self
    }

    /// Mounts `blueprint` under `prefix` (`""` for none).
    #[track_caller]
    pub fn blueprint(mut self, prefix: &str, blueprint: Blueprint) -> Self {
        let origin = std::panic::Location::caller().to_string();
        self.parts.blueprints.push((prefix.to_owned(), blueprint, origin));
        self
    }

    /// Adds an app-wide layer at `stage`; see [`Stage`] for the order.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// use tower_http::set_header::SetResponseHeaderLayer;
    ///
    /// let app = App::builder().profile(Profile::Testing).layer(
    ///     Stage::Outer,
    ///     "server-header",
    ///     SetResponseHeaderLayer::if_not_present(http::header::SERVER, http::HeaderValue::from_static("phial")),
    /// );
    /// # let _ = app;
    /// ```
    pub fn layer<L>(mut self, stage: Stage, name: &str, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service:
            tower::Service<axum::extract::Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        let apply: crate::middleware::LayerFn = Box::new(move |router| router.layer(layer));
        self.parts.layers.push(StagedLayer { stage, name: name.to_owned(), owner: "app".to_owned(), apply });
        self
    }

    /// Registers a value for handlers to extract with [`Ext<T>`](crate::Ext).
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.parts.registry.insert(value);
        self
    }

    /// Declares an app-owned config section `[name]` of type `T`, loaded like an extension's
    /// and registered as state (extract it with [`Ext<T>`](crate::Ext)).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// #[serde(default)]
    /// struct Blog { posts_per_page: u32 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), phial_core::Error> {
    /// let app = App::builder()
    ///     .profile(Profile::Testing)
    ///     .config_section::<Blog>("blog")
    ///     .config_toml("[blog]\nposts_per_page = 25\n")
    ///     .build()?
    ///     .start()
    ///     .await?;
    /// assert_eq!(app.state().get::<Blog>().map(|b| b.posts_per_page), Some(25));
    /// # Ok(()) }
    /// ```
    pub fn config_section<T>(mut self, name: &str) -> Self
    where
        T: DeserializeOwned + Serialize + Default + Send + Sync + 'static,
    {
        let section = name.to_owned();
        let default = defaults_to_value(&T::default(), name).unwrap_or(serde_json::Value::Null);
        let loader: SectionLoader = Box::new(move |source, registry| {
            registry.insert(source.extract_section::<T>(&section)?);
            Ok(())
        });
        self.sections.push((name.to_owned(), default, loader));
        self
    }

    /// Adds TOML text as the app's own defaults (above section defaults, below `phial.toml`).
    pub fn config_toml(mut self, toml: &str) -> Self {
        self.inputs.app_toml.push(toml.to_owned());
        self
    }

    /// Sets one config value above every other source, e.g. in tests.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder().profile(Profile::Testing).set("app.body_limit", 1024).build()?;
    /// assert_eq!(app.app_config().body_limit, 1024);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn set(mut self, key: &str, value: impl Into<figment::value::Value>) -> Self {
        self.inputs.overrides.push((key.to_owned(), value.into()));
        self
    }

    /// Sets the profile instead of reading `PHIAL_PROFILE`. The `testing` profile reads no
    /// files and no environment unless [`config_dir`](Self::config_dir) or
    /// [`env`](Self::env) say so, which keeps tests independent of the machine.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.inputs.profile = Some(profile);
        self
    }

    /// Reads `phial.toml` and `phial.<profile>.toml` from `dir` instead of the working directory.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.inputs.dir = Some(dir.into());
        self
    }

    /// Uses exactly these environment variables instead of the process environment.
    pub fn env<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.inputs.env = Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Renders errors of `status` with `handler`: Flask's `@app.errorhandler(status)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::{Html, IntoResponse};
    /// use http::StatusCode;
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder().error_handler(StatusCode::NOT_FOUND, |ctx: ErrorContext| {
    ///     (ctx.status, Html("<h1>File Not Found</h1>")).into_response()
    /// });
    /// # let _ = app;
    /// ```
    pub fn error_handler(
        mut self,
        status: StatusCode,
        handler: impl Fn(ErrorContext) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.parts.error_handlers.insert(status.as_u16(), Arc::new(handler));
        self
    }

    /// Adds a CLI subcommand owned by the app.
    pub fn command(mut self, command: CliCommand) -> Self {
        self.parts.commands.push(("app".to_owned(), command));
        self
    }

    /// Adds a global to every template (feature `templates`).
    #[cfg(feature = "templates")]
    #[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
    pub fn template_global(mut self, name: &str, value: impl Into<minijinja::Value>) -> Self {
        self.parts.template_globals.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a context processor (Flask's `@app.context_processor`; feature `templates`): `f`
    /// adds values to the templates of a request when its handler takes a
    /// [`Template`](crate::Template), and is not run for requests that render none. The app's
    /// processors run after the extensions', so a value both set is the app's.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::prelude::*;
    ///
    /// let app = App::builder().context_processor(|parts, vars| {
    ///     let agent = parts.headers.get("user-agent").and_then(|value| value.to_str().ok());
    ///     vars.insert("is_mobile", agent.is_some_and(|agent| agent.contains("Mobile")));
    /// });
    /// ```
    #[cfg(feature = "templates")]
    #[cfg_attr(docsrs, doc(cfg(feature = "templates")))]
    pub fn context_processor(
        mut self,
        f: impl Fn(&mut http::request::Parts, &mut crate::templates::TemplateVars) + Send + Sync + 'static,
    ) -> Self {
        self.parts.context_processors.push(std::sync::Arc::new(f));
        self
    }

    /// Validates the app: loads config, orders the extensions, runs every `build` hook.
    ///
    /// # Panics
    ///
    /// Never in practice: the one `expect` guards an invariant of the ordering.
    ///
    /// # Errors
    ///
    /// Config errors, a missing required extension, a cycle, a duplicate name, a duplicate
    /// endpoint, conflicting routes, or an extension's `build` error.
    pub fn build(self) -> Result<App, Error> {
        let Self { mut extensions, mut parts, inputs, sections } = self;
        let mut defaults = vec![("app".to_owned(), defaults_to_value(&AppConfig::default(), "app")?)];
        for ext in &extensions {
            let value = ext.default_config()?;
            if !value.is_null() && !defaults.iter().any(|(s, _)| s == ext.section()) {
                defaults.push((ext.section().to_owned(), value));
            }
        }
        for (name, value, _) in &sections {
            if defaults.iter().any(|(s, _)| s == name) {
                return Err(Error::config(name, "this config section is already owned by the core or an extension"));
            }
            defaults.push((name.clone(), value.clone()));
        }
        let aliases: Vec<(&'static str, String)> = extensions
            .iter()
            .flat_map(|ext| ext.env_aliases().iter().map(|(var, key)| (*var, format!("{}.{key}", ext.section()))))
            .collect();
        let source = ConfigSource::load_with_aliases(&inputs, &defaults, &aliases)?;
        let app_config: AppConfig = source.extract_section("app")?;
        app_config.session.validate()?;
        for (_, _, loader) in &sections {
            loader(&source, &mut parts.registry)?;
        }
        let mut config_values = vec![("app".to_owned(), crate::config::to_masked_value(&app_config))];
        for ext in &mut extensions {
            let value = ext.load_config(&source)?;
            if !value.is_null() && !config_values.iter().any(|(s, _)| s == ext.section()) {
                config_values.push((ext.section().to_owned(), value));
            }
        }

        let items: Vec<_> = extensions.iter().map(|e| (e.name(), e.deps())).collect();
        let order = crate::order::resolve(&items)?;
        let mut slots: Vec<Option<Box<dyn DynExtension>>> = extensions.into_iter().map(Some).collect();
        let extensions: Vec<Box<dyn DynExtension>> =
            order.into_iter().map(|i| slots[i].take().expect("each index appears once in the order")).collect();
        let names: Vec<String> = extensions.iter().map(|e| e.name()).collect();
        tracing::info!(order = %names.join(", "), "extension order resolved");

        // The app's own context processors run after the extensions' (in extension order), so
        // the app has the last word on a value both set.
        #[cfg(feature = "templates")]
        let app_processors = std::mem::take(&mut parts.context_processors);
        for ext in &extensions {
            let mut ctx = BuildCtx { parts: &mut parts, owner: ext.name(), source: &source, app: &app_config };
            ext.build(&mut ctx)?;
        }
        #[cfg(feature = "templates")]
        parts.context_processors.extend(app_processors);
        crate::assembly::assemble(extensions, parts, source, app_config, config_values)
    }

    /// Builds, starts and runs the command line (see [`App::run`]).
    pub async fn run(self) -> std::process::ExitCode {
        crate::cli::init_tracing();
        match self.build() {
            Ok(app) => app.run().await,
            Err(err) => {
                crate::cli::report_startup_error(&err);
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// A built app: validated, ordered, every `build` hook run. Start it with [`App::start`].
#[expect(clippy::struct_field_names, reason = "`app_config` is the `[app]` section, not the app")]
pub struct App {
    pub(crate) extensions: Vec<Box<dyn DynExtension>>,
    pub(crate) router: Router<AppState>,
    pub(crate) layers: Vec<StagedLayer>,
    pub(crate) route_infos: Vec<RouteInfo>,
    pub(crate) urls: UrlMap,
    pub(crate) source: ConfigSource,
    pub(crate) app_config: AppConfig,
    pub(crate) config_values: Vec<(String, serde_json::Value)>,
    pub(crate) registry: Registry,
    pub(crate) promises: Vec<(String, TypeId, &'static str)>,
    pub(crate) error_handlers: HashMap<u16, ErrorHandlerFn>,
    pub(crate) commands: Vec<(String, CliCommand)>,
    #[cfg(feature = "templates")]
    pub(crate) template_globals: Vec<(String, minijinja::Value)>,
    #[cfg(feature = "templates")]
    pub(crate) context_processors: Vec<crate::templates::ContextProcessor>,
}

impl App {
    /// Starts building an app.
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

    /// The extensions' names in the order their hooks run.
    pub fn extension_order(&self) -> Vec<String> {
        self.extensions.iter().map(|e| e.name()).collect()
    }

    /// Every route: methods, path, endpoint, origin; sorted by path.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.route_infos
    }

    /// The layers a request meets, outermost first.
    pub fn middleware(&self) -> Vec<LayerInfo> {
        let mut infos = crate::assembly::core_layers(&self.app_config);
        let mut staged: Vec<&StagedLayer> = self.layers.iter().collect();
        staged.sort_by_key(|l| l.stage);
        infos.extend(staged.into_iter().map(|l| LayerInfo {
            stage: l.stage,
            name: l.name.clone(),
            owner: l.owner.clone(),
        }));
        infos.sort_by_key(|l| l.stage);
        infos
    }

    /// The core's `[app]` config.
    pub fn app_config(&self) -> &AppConfig {
        &self.app_config
    }

    /// The active profile.
    pub fn profile(&self) -> Profile {
        self.source.profile()
    }

    /// The merged config of every section, secrets masked, as `<app> config` prints it.
    pub fn config_listing(&self) -> serde_json::Value {
        serde_json::Value::Object(self.config_values.iter().cloned().collect())
    }

    /// Runs every `start` hook in order and freezes the state.
    ///
    /// # Errors
    ///
    /// The first failing hook's error, after the extensions already started were shut down in
    /// reverse order; or a promised state that no extension provided.
    pub async fn start(mut self) -> Result<RunningApp, Error> {
        let ctx = StartCtx {
            registry: std::mem::take(&mut self.registry),
            source: self.source.clone(),
            app: self.app_config.clone(),
            session_stores: Vec::new(),
            tasks: crate::tasks::Tasks::default(),
        };
        crate::assembly::start(self, ctx).await
    }
}

/// A started app: state frozen, router assembled. Serve it, drive it with a test client, or
/// run commands against it.
pub struct RunningApp {
    pub(crate) state: AppState,
    pub(crate) service: AppService,
    pub(crate) extensions: Arc<Vec<Box<dyn DynExtension>>>,
    pub(crate) route_infos: Vec<RouteInfo>,
    pub(crate) layer_infos: Vec<LayerInfo>,
    pub(crate) tasks: crate::tasks::Tasks,
}

impl RunningApp {
    /// The frozen state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The app as one tower service: what [`serve`](Self::serve) serves. Call it in process
    /// (`tower::ServiceExt::oneshot`) or serve it with your own server.
    pub fn service(&self) -> AppService {
        self.service.clone()
    }

    /// The app as an axum [`Router`], state applied, to nest or merge into a larger axum app
    /// (`Router::new().nest_service("/blog", blog.router())`). Serving
    /// [`service`](Self::service) directly saves one boxed call per request.
    pub fn router(&self) -> Router {
        Router::new().fallback_service(self.service.clone())
    }

    /// Every route, sorted by path.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.route_infos
    }

    /// The layers a request meets, outermost first.
    pub fn middleware(&self) -> &[LayerInfo] {
        &self.layer_infos
    }

    /// The extensions' names in hook order.
    pub fn extension_order(&self) -> Vec<String> {
        self.extensions.iter().map(|e| e.name()).collect()
    }

    /// Runs every extension's health check (each bounded by 5 s).
    pub async fn health(&self) -> HealthReport {
        crate::assembly::health_report(&self.extensions, &self.state).await
    }

    /// A [`TestClient`](crate::testing::TestClient) for this app (feature `testing`).
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn test_client(&self) -> crate::testing::TestClient {
        crate::testing::TestClient::new(self.router())
    }

    /// Stops the background tasks (see [`StartCtx::spawn`](crate::StartCtx::spawn)), then runs
    /// every `shutdown` hook in reverse order, each bounded by `app.shutdown_timeout`, all of
    /// them even when one fails or times out.
    pub async fn shutdown(self) {
        let timeout = Duration::from_secs_f64(self.state.app_config().shutdown_timeout.max(0.0));
        self.tasks.stop(timeout).await;
        for ext in self.extensions.iter().rev() {
            shutdown_one(ext.as_ref(), &self.state, timeout).await;
        }
    }
}

pub(crate) async fn not_found_fallback() -> Response {
    HttpError::not_found().into_response()
}
