//! [`Maintenance`]: the `Extension` impl, thin glue around the layer, switch and flag file.

use std::sync::{Mutex, PoisonError};

use phial_core::axum::Json;
use phial_core::axum::extract::State;
use phial_core::axum::routing::get;
use phial_core::prelude::*;
use serde::Serialize;

use crate::config::MaintenanceConfig;
use crate::flag::{FlagFile, Watcher};
use crate::layer::MaintenanceLayer;
use crate::switch::MaintenanceSwitch;

/// Maintenance mode for a phial app: config section `[maintenance]`, a 503 layer at
/// [`Stage::Security`], the route `GET /maintenance` (`maintenance.status`), the state
/// [`MaintenanceSwitch`], the command `<app> maintenance on|off|status`, a health check, and
/// a shutdown hook that stops the flag file's polling task.
///
/// Maintenance is on when `maintenance.enabled` is true or the flag file exists; a running app
/// reads the file at start and then every `maintenance.poll_interval` seconds.
///
/// # Examples
///
/// ```no_run
/// use phial_core::axum::routing::get;
/// use phial_core::prelude::*;
/// use phial_example_maintenance::Maintenance;
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     App::builder()
///         .endpoint("index", "/", get(|| async { "Hello, World!" }))
///         .extension(Maintenance::new())
///         .run() // `serve`, or `maintenance on`, `maintenance off`, ...
///         .await
/// }
/// ```
#[derive(Debug, Default)]
pub struct Maintenance {
    /// Made here rather than in `start`, so that `build` can hand it to the layer: the layer
    /// exists before any state does.
    switch: MaintenanceSwitch,
    /// The polling task, from `start` to `shutdown`. Hooks take `&self`, hence the mutex.
    watcher: Mutex<Option<Watcher>>,
}

impl Maintenance {
    /// The extension, with its switch off until `start` reads config and flag file.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the switch the extension will drive, e.g. for an admin handler or a test.
    pub fn switch(&self) -> MaintenanceSwitch {
        self.switch.clone()
    }
}

/// The body of `GET /maintenance`.
#[derive(Debug, Serialize)]
struct Status {
    maintenance: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

fn status_blueprint(config: &MaintenanceConfig) -> Blueprint {
    let message = config.message.clone();
    let retry_after = (config.retry_after > 0).then_some(config.retry_after);
    // `State<MaintenanceSwitch>` works through `FromRef<AppState>` (see switch.rs).
    let status = move |State(switch): State<MaintenanceSwitch>| {
        let on = switch.is_on();
        let body =
            Status { maintenance: on, message: on.then(|| message.clone()), retry_after: retry_after.filter(|_| on) };
        async move { Json(body) }
    };
    // Blueprint `maintenance` + endpoint `status` = endpoint name `maintenance.status`.
    Blueprint::new("maintenance").endpoint("status", &config.status_path, get(status))
}

impl Extension for Maintenance {
    const NAME: &'static str = "maintenance";
    type Config = MaintenanceConfig;

    fn deps(&self) -> Deps {
        // Within `Stage::Security`, earlier extensions are further out. Running before the
        // rate limiter means a request refused for maintenance uses up no one's rate limit.
        Deps::none().before("limiter")
    }

    fn build(&self, config: &MaintenanceConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        // Every check that can fail runs here, so a bad config stops `build`, not a request.
        let poll = config.poll_every()?;
        let layer = MaintenanceLayer::from_config(self.switch.clone(), config)?;
        ctx.layer(Stage::Security, "maintenance", layer);
        if !config.status_path.is_empty() {
            ctx.blueprint("", status_blueprint(config));
        }
        ctx.promise::<MaintenanceSwitch>();
        let flag = FlagFile::resolve(&ctx.app_config().instance_path, &config.flag_file);
        ctx.command(crate::cli::command(flag, config.enabled, poll));
        Ok(())
    }

    async fn start(&self, config: &MaintenanceConfig, ctx: &mut StartCtx) -> Result<(), Error> {
        let flag = FlagFile::resolve(&ctx.app_config().instance_path, &config.flag_file);
        let flagged = match &flag {
            Some(flag) => flag.exists().await.map_err(|err| {
                Error::config("maintenance.flag_file", format!("cannot read {}: {err}", flag.path().display()))
            })?,
            None => false,
        };
        self.switch.set(config.enabled || flagged);
        if self.switch.is_on() {
            tracing::warn!(by_config = config.enabled, by_flag_file = flagged, "starting in maintenance mode");
        }
        ctx.provide(self.switch.clone());
        if let (Some(flag), Some(every)) = (flag, config.poll_every()?) {
            let watcher = Watcher::spawn(self.switch.clone(), flag, config.enabled, every);
            *self.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some(watcher);
        }
        Ok(())
    }

    async fn health(&self, state: &AppState) -> Health {
        match state.get::<MaintenanceSwitch>() {
            // Degraded, not unhealthy: `/readyz` stays 200, so an orchestrator keeps the
            // instance (which answers 503 on purpose) instead of restarting it.
            Some(switch) if switch.is_on() => Health::Degraded("maintenance mode is on".to_owned()),
            _ => Health::Healthy,
        }
    }

    async fn shutdown(&self, _state: &AppState) {
        let watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(watcher) = watcher {
            watcher.stop().await;
            tracing::info!("maintenance flag watcher stopped");
        }
    }
}
