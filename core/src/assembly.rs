//! Assembling the router from what `build` collected, and running the `start` hooks.
//!
//! Kept apart from `app.rs` (the public phase types) because it is all order-sensitive
//! plumbing: which layer wraps which, and what is cleaned up when a hook fails.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::{App, AppParts, RunningApp, not_found_fallback};
use crate::config::{AppConfig, ConfigSource};
use crate::context::StartCtx;
use crate::error::Error;
use crate::extension::{DynExtension, shutdown_one};
use crate::health::{HealthReport, timed};
use crate::middleware::{LayerInfo, Stage, StagedLayer, apply_staged};
use crate::outer::OuterLayer;
use crate::routing::{RouteDef, RouteInfo, UrlMap, methods_of};
use crate::service::AppService;
use crate::session::{CookieSigner, MemoryStore, SessionLayer, SessionStore};
use crate::state::{AppState, StateInner};

/// Turns collected parts into a built [`App`]: URL map, routes, listings.
pub(crate) fn assemble(
    extensions: Vec<Box<dyn DynExtension>>,
    parts: AppParts,
    source: ConfigSource,
    app_config: AppConfig,
    config_values: Vec<(String, serde_json::Value)>,
) -> Result<App, Error> {
    let AppParts {
        routes,
        blueprints,
        layers,
        commands,
        promises,
        mut registry,
        error_handlers,
        #[cfg(feature = "templates")]
        template_globals,
        #[cfg(feature = "templates")]
        context_processors,
    } = parts;
    let mut urls = UrlMap::new(app_config.server_name.clone(), app_config.preferred_url_scheme.clone());
    let mut infos = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut add_info = |def: &RouteDef, path: String, endpoint: Option<String>| -> Result<(), Error> {
        if let Some(name) = &endpoint {
            if let Some(first) = seen.insert(name.clone(), def.origin.clone()) {
                return Err(Error::msg(format!(
                    "endpoint `{name}` is defined twice ({first} and {}); endpoint names must be unique",
                    def.origin
                )));
            }
            urls.insert(name, &path);
        }
        infos.push(RouteInfo { methods: methods_of(&def.router), path, endpoint, origin: def.origin.clone() });
        Ok(())
    };

    let mut router: Router<AppState> = Router::new();
    for def in routes {
        add_info(&def, def.path.clone(), def.endpoint.clone())?;
        router = add_route(router, &def.path, def.router, &def.origin)?;
    }
    for (prefix, blueprint, origin) in blueprints {
        let mut sub: Router<AppState> = Router::new();
        for def in blueprint.routes {
            let path = join_path(&prefix, &def.path);
            let endpoint = def.endpoint.as_ref().map(|e| format!("{}.{e}", blueprint.name));
            add_info(&def, path.clone(), endpoint)?;
            sub = add_route(sub, &path, def.router, &def.origin)?;
        }
        let sub = apply_staged(sub, blueprint.layers);
        router = std::panic::catch_unwind(AssertUnwindSafe(|| router.merge(sub))).map_err(|panic| {
            Error::msg(format!(
                "blueprint `{}` mounted at {origin} conflicts with another route: {}",
                blueprint.name,
                panic_text(&*panic)
            ))
        })?;
    }
    if !app_config.static_url_path.is_empty() && !app_config.static_folder.as_os_str().is_empty() {
        let path = format!("{}/{{*filename}}", app_config.static_url_path.trim_end_matches('/'));
        if seen.contains_key("static") {
            return Err(Error::msg(
                "endpoint `static` is reserved for static files; set `app.static_url_path = \"\"` to free it",
            ));
        }
        urls.insert("static", &path);
        infos.push(RouteInfo {
            methods: "GET,HEAD".into(),
            path,
            endpoint: Some("static".into()),
            origin: "core".into(),
        });
    }
    for (path, name) in [(&app_config.liveness_path, "healthz"), (&app_config.readiness_path, "readyz")] {
        if !path.is_empty() {
            infos.push(RouteInfo {
                methods: "GET,HEAD".into(),
                path: path.clone(),
                endpoint: Some(name.into()),
                origin: "core".into(),
            });
        }
    }
    infos.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.methods.cmp(&b.methods)));
    // Commands and `start` hooks read the listing from the state (see `Routes`).
    registry.insert(crate::routing::Routes::new(&infos));

    Ok(App {
        extensions,
        router,
        layers,
        route_infos: infos,
        urls,
        source,
        app_config,
        config_values,
        registry,
        promises,
        error_handlers,
        commands,
        #[cfg(feature = "templates")]
        template_globals,
        #[cfg(feature = "templates")]
        context_processors,
    })
}

fn add_route(
    router: Router<AppState>,
    path: &str,
    method_router: axum::routing::MethodRouter<AppState>,
    origin: &str,
) -> Result<Router<AppState>, Error> {
    // axum panics on an invalid or overlapping route; at build time that is a setup error.
    std::panic::catch_unwind(AssertUnwindSafe(|| router.route(path, method_router)))
        .map_err(|panic| Error::msg(format!("route `{path}` ({origin}) is invalid: {}", panic_text(&*panic))))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown reason".to_owned())
}

fn join_path(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    match (prefix.is_empty(), path) {
        (true, _) => path.to_owned(),
        (false, "/" | "") => prefix.to_owned(),
        (false, _) => format!("{prefix}{path}"),
    }
}

/// The core's own layers, outermost first, as `<app> middleware` lists them.
pub(crate) fn core_layers(app: &AppConfig) -> Vec<LayerInfo> {
    let core = |stage, name: &str| LayerInfo { stage, name: name.to_owned(), owner: "core".to_owned() };
    let outer = if app.request_timeout > 0.0 {
        "request-id, body-limit, timeout, catch-panic, error-render"
    } else {
        "request-id, body-limit, catch-panic, error-render"
    };
    vec![core(Stage::Outer, outer), core(Stage::Session, &format!("session ({})", app.session.store))]
}

/// Runs the `start` hooks, freezes the state and assembles the final router.
pub(crate) async fn start(app: App, mut ctx: StartCtx) -> Result<RunningApp, Error> {
    let App {
        extensions,
        router,
        layers,
        route_infos,
        urls,
        source,
        app_config,
        promises,
        error_handlers,
        #[cfg(feature = "templates")]
        config_values,
        #[cfg(feature = "templates")]
        template_globals,
        #[cfg(feature = "templates")]
        context_processors,
        ..
    } = app;
    ctx.session_stores.push(("memory".to_owned(), Arc::new(MemoryStore::new())));
    let timeout = Duration::from_secs_f64(app_config.shutdown_timeout.max(0.0));

    let mut failure = None;
    let mut started = 0;
    for ext in &extensions {
        if let Err(err) = ext.start(&mut ctx).await {
            failure = Some(err);
            break;
        }
        started += 1;
        tracing::info!(extension = %ext.name(), "extension started");
    }
    if failure.is_none()
        && let Some((extension, _, type_name)) = promises.iter().find(|(_, id, _)| !ctx.registry.contains_type(*id))
    {
        failure = Some(Error::MissingState { extension: extension.clone(), type_name });
    }
    let store = match failure {
        None => select_store(&app_config, &mut ctx),
        Some(err) => Err(err),
    };
    let store = match store {
        Ok(store) => store,
        Err(err) => {
            tracing::error!(error = %err, "startup failed; shutting down the extensions already started");
            let tasks = std::mem::take(&mut ctx.tasks);
            tasks.stop(timeout).await;
            let state = freeze(ctx, &app_config, &source, urls);
            for ext in extensions[..started].iter().rev() {
                shutdown_one(ext.as_ref(), &state, timeout).await;
            }
            return Err(err);
        }
    };

    #[cfg(feature = "templates")]
    {
        let templates = crate::templates::Templates::new(
            &app_config,
            source.profile(),
            urls.clone(),
            &config_values,
            template_globals,
            context_processors,
        );
        ctx.registry.insert(templates);
    }

    let tasks = std::mem::take(&mut ctx.tasks);
    let state = freeze(ctx, &app_config, &source, urls);
    let extensions = Arc::new(extensions);
    let mut layer_infos = core_layers(&app_config);
    layer_infos.extend(layers.iter().map(|l| LayerInfo {
        stage: l.stage,
        name: l.name.clone(),
        owner: l.owner.clone(),
    }));
    layer_infos.sort_by_key(|l| l.stage);
    let service = final_service(router, layers, &state, &app_config, store, error_handlers, &extensions)?;
    Ok(RunningApp { state, service, extensions, route_infos, layer_infos, tasks })
}

fn select_store(app: &AppConfig, ctx: &mut StartCtx) -> Result<Option<Arc<dyn SessionStore>>, Error> {
    let name = app.session.store.as_str();
    if name == "cookie" {
        return Ok(None);
    }
    let known: Vec<&str> = ctx.session_stores.iter().map(|(n, _)| n.as_str()).collect();
    ctx.session_stores.iter().find(|(n, _)| n == name).map(|(_, s)| Some(Arc::clone(s))).ok_or_else(|| {
        let hint = match name {
            "redis" => "; add `RedisExtension` (feature `redis`) to offer it",
            "sql" => "; call `SqlExtension::session_store()` to offer it",
            _ => "",
        };
        Error::config(
            "app.session.store",
            format!("unknown session store `{name}`; available: cookie, {}{hint}", known.join(", ")),
        )
    })
}

fn freeze(ctx: StartCtx, app: &AppConfig, source: &ConfigSource, urls: UrlMap) -> AppState {
    AppState(Arc::new(StateInner { registry: ctx.registry, app: app.clone(), source: source.clone(), urls }))
}

/// Adds the core routes, then the layers: extension stages inside, the core's session and outer
/// layers outside everything.
fn final_service(
    mut router: Router<AppState>,
    layers: Vec<StagedLayer>,
    state: &AppState,
    app: &AppConfig,
    store: Option<Arc<dyn SessionStore>>,
    error_handlers: HashMap<u16, crate::middleware::ErrorHandlerFn>,
    extensions: &Arc<Vec<Box<dyn DynExtension>>>,
) -> Result<AppService, Error> {
    if !app.liveness_path.is_empty() {
        router = add_route(router, &app.liveness_path, get(|| async { "ok" }), "core")?;
    }
    if !app.readiness_path.is_empty() {
        let extensions = Arc::clone(extensions);
        let handler = move |axum::extract::State(state): axum::extract::State<AppState>| {
            let extensions = Arc::clone(&extensions);
            async move {
                let report = health_report(&extensions, &state).await;
                let status = if report.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                (status, axum::Json(report)).into_response()
            }
        };
        router = add_route(router, &app.readiness_path, get(handler), "core")?;
    }
    if !app.static_url_path.is_empty() && !app.static_folder.as_os_str().is_empty() {
        let cache = HeaderValue::from_str(&format!("public, max-age={}", app.static_max_age))
            .map_err(|err| Error::config("app.static_max_age", err.to_string()))?;
        let files = tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, cache))
            .service(ServeDir::new(&app.static_folder).append_index_html_on_directories(false));
        let path = app.static_url_path.trim_end_matches('/').to_owned();
        router = std::panic::catch_unwind(AssertUnwindSafe(|| router.nest_service(&path, files))).map_err(|panic| {
            Error::msg(format!("static path `{path}` conflicts with a route: {}", panic_text(&*panic)))
        })?;
    }
    router = router.fallback(not_found_fallback);

    let router = apply_staged(router, layers);

    // The core's session and outer layers wrap the whole router as plain types, not through
    // `Router::layer` (see `crate::service`): outer first, then the session, then routing and
    // the extensions' layers. The session loads lazily, so extensions' `Security`-stage layers
    // inside it pay nothing for it unless they use it.
    let secure = app.session.resolve_secure(state.profile() == crate::Profile::Production);
    let signer = CookieSigner::new(&app.secret_key, &app.secret_key_fallbacks)?;
    let session = SessionLayer::new(signer, app.session.clone(), secure, store);
    let timeout = (app.request_timeout > 0.0).then(|| Duration::from_secs_f64(app.request_timeout));
    let outer = OuterLayer::new(error_handlers, state.clone(), timeout, app.body_limit);
    Ok(AppService::new(router.with_state(state.clone()), &session, &outer))
}

/// Every extension's health, concurrently, each bounded.
pub(crate) async fn health_report(extensions: &[Box<dyn DynExtension>], state: &AppState) -> HealthReport {
    let checks =
        futures_util::future::join_all(extensions.iter().map(|ext| timed(ext.name(), ext.health(state)))).await;
    let status = if checks.iter().all(|c| c.health.is_ok()) { "ok" } else { "unavailable" };
    HealthReport { status, checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_join_without_double_slashes() {
        assert_eq!(join_path("/auth/", "/login"), "/auth/login");
        assert_eq!(join_path("/auth", "/"), "/auth");
        assert_eq!(join_path("", "/x"), "/x");
    }
}
