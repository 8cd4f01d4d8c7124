//! The flag file that persists maintenance mode across processes, and the task that polls it.
//!
//! `<app> maintenance on` runs in its own process, so it cannot flip the running server's
//! in-memory switch. It creates a file in the instance folder instead; every running instance
//! that shares that folder checks the file's existence every `poll_interval` seconds (one
//! `stat` on a blocking thread) and sets its switch. Polling is used rather than a file-system
//! watcher (inotify and friends) because it needs no extra dependency, behaves the same on
//! every OS and on network file systems, and a delay of a few seconds is fine for maintenance.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::switch::MaintenanceSwitch;

/// What `<app> maintenance on` writes; only the file's existence is read.
const FLAG_TEXT: &str = "Maintenance mode is on. Run `<app> maintenance off` or delete this file to end it.\n";

/// The flag file's location, resolved against the instance folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlagFile {
    path: PathBuf,
}

impl FlagFile {
    /// `flag_file` under `instance_path`; `None` when `flag_file` is empty (no flag file).
    pub(crate) fn resolve(instance_path: &Path, flag_file: &Path) -> Option<Self> {
        (!flag_file.as_os_str().is_empty()).then(|| Self { path: instance_path.join(flag_file) })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists. File IO goes to a blocking thread.
    pub(crate) async fn exists(&self) -> io::Result<bool> {
        let path = self.path.clone();
        blocking(move || path.try_exists()).await
    }

    /// Creates the file (and the instance folder).
    pub(crate) async fn create(&self) -> io::Result<()> {
        let path = self.path.clone();
        blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, FLAG_TEXT)
        })
        .await
    }

    /// Removes the file; returns whether it existed.
    pub(crate) async fn remove(&self) -> io::Result<bool> {
        let path = self.path.clone();
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

/// The polling task of a running app, and the way to stop it.
#[derive(Debug)]
pub(crate) struct Watcher {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Watcher {
    /// Every `every`, sets `switch` to `forced || the file exists`.
    ///
    /// Level-triggered on purpose: whatever happened in between (a missed poll, an in-process
    /// [`MaintenanceSwitch::set`]), the switch ends up where the file and config say.
    pub(crate) fn spawn(switch: MaintenanceSwitch, flag: FlagFile, forced: bool, every: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate; `start` has just read the file
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticks.tick() => poll_once(&switch, &flag, forced).await,
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the task and waits for it to end.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "maintenance flag watcher ended abnormally");
        }
    }
}

async fn poll_once(switch: &MaintenanceSwitch, flag: &FlagFile, forced: bool) {
    match flag.exists().await {
        Ok(exists) => {
            let on = forced || exists;
            if switch.set(on) != on {
                let flag_file = flag.path().display();
                if on {
                    tracing::warn!(%flag_file, "maintenance mode turned on by the flag file");
                } else {
                    tracing::info!(%flag_file, "maintenance mode turned off: the flag file is gone");
                }
            }
        }
        // Keep the current state: a transient error must not end (or start) maintenance.
        Err(err) => tracing::warn!(error = %err, flag_file = %flag.path().display(), "cannot check the flag file"),
    }
}
