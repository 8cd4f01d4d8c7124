//! Background tasks that extensions start and the app stops at shutdown.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tells a background task that the app is shutting down.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::tasks::StopSignal;
///
/// async fn sweep_every_minute(mut stop: StopSignal) {
///     loop {
///         tokio::select! {
///             () = stop.stopped() => break,
///             () = tokio::time::sleep(Duration::from_secs(60)) => { /* sweep */ }
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Completes once shutdown begins (at once if it already has).
    pub async fn stopped(&mut self) {
        // An error means the sender is gone: the app was dropped, which is a stop too.
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }

    /// Whether shutdown has begun.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// The background tasks of an app, stopped together.
pub(crate) struct Tasks {
    stop: watch::Sender<bool>,
    handles: Vec<(String, JoinHandle<()>)>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self { stop: watch::channel(false).0, handles: Vec::new() }
    }
}

impl Tasks {
    pub(crate) fn spawn<F, Fut>(&mut self, name: &str, task: F)
    where
        F: FnOnce(StopSignal) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let signal = StopSignal(self.stop.subscribe());
        self.handles.push((name.to_owned(), tokio::spawn(task(signal))));
    }

    /// Signals every task, then waits for each, aborting those still running after `timeout`.
    pub(crate) async fn stop(self, timeout: Duration) {
        self.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + timeout;
        for (name, mut handle) in self.handles {
            if let Ok(result) = tokio::time::timeout_at(deadline, &mut handle).await {
                if let Err(err) = result {
                    tracing::error!(task = %name, error = %err, "background task failed");
                }
            } else {
                tracing::error!(task = %name, "background task did not stop in time; aborting it");
                handle.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_stop_on_signal_and_stragglers_are_aborted() {
        let mut tasks = Tasks::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tasks.spawn("polite", |mut stop| async move {
            stop.stopped().await;
            let _ = done_tx.send(());
        });
        tasks.spawn("stubborn", |_stop| async move {
            tokio::time::sleep(Duration::from_hours(1)).await;
        });
        tokio::time::timeout(Duration::from_secs(5), tasks.stop(Duration::from_millis(100))).await.expect("bounded");
        done_rx.await.expect("the polite task saw the signal");
    }
}
