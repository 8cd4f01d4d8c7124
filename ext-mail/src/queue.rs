//! The background queue: one worker delivering in order, retrying transient failures with
//! exponential backoff, draining (bounded) at shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{QueueConfig, seconds};
use crate::error::MailError;
use crate::mail::Dispatch;
use crate::message::Email;

/// What the queue has done: see [`Mail::queue_counts`](crate::Mail::queue_counts).
///
/// # Examples
///
/// ```
/// let counts = phial_mail::QueueCounts::default();
/// assert_eq!(counts.queued, counts.sent + counts.failed);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Messages accepted by `enqueue`.
    pub queued: u64,
    /// Messages delivered.
    pub sent: u64,
    /// Attempts that failed transiently and were scheduled again.
    pub retried: u64,
    /// Messages given up: a permanent failure, or transient ones past `max_attempts`.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

struct Job {
    email: Email,
    attempt: u32,
}

pub(crate) struct Queue {
    tx: mpsc::Sender<Email>,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
    drain_timeout: Duration,
}

impl Queue {
    /// Spawns the worker on the current runtime.
    pub(crate) fn start(dispatch: Arc<Dispatch>, config: QueueConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let drain_timeout = seconds(config.drain_timeout);
        let worker = Worker { dispatch, config, counters: Arc::clone(&counters), waiting: Vec::new() };
        let handle = tokio::spawn(worker.run(rx, stopped));
        Self { tx, stop, worker: Mutex::new(Some(handle)), counters, drain_timeout }
    }

    pub(crate) async fn push(&self, email: Email) -> Result<(), MailError> {
        if *self.stop.borrow() {
            return Err(MailError::QueueClosed);
        }
        self.tx.send(email).await.map_err(|_| MailError::QueueClosed)?;
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn counts(&self) -> QueueCounts {
        let c = &self.counters;
        QueueCounts {
            queued: c.queued.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// Tells the worker to drain and waits for it, at most `drain_timeout`.
    pub(crate) async fn shutdown(&self) {
        self.stop.send_replace(true);
        let handle = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(mut handle) = handle else { return };
        if tokio::time::timeout(self.drain_timeout + Duration::from_millis(100), &mut handle).await.is_err() {
            handle.abort();
            let counts = self.counts();
            let left = counts.queued.saturating_sub(counts.sent + counts.failed);
            tracing::error!(left, "mail queue did not drain in time; {left} message(s) were not delivered");
        }
    }
}

struct Worker {
    dispatch: Arc<Dispatch>,
    config: QueueConfig,
    counters: Arc<Counters>,
    /// Messages waiting for their retry time (few; a linear scan is fine).
    waiting: Vec<(Instant, Job)>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Email>, mut stop: watch::Receiver<bool>) {
        loop {
            let next_due = self.waiting.iter().map(|(due, _)| *due).min();
            tokio::select! {
                received = rx.recv() => match received {
                    Some(email) => self.attempt(Job { email, attempt: 1 }).await,
                    None => break,
                },
                () = sleep_until(next_due), if next_due.is_some() => {
                    let now = Instant::now();
                    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting).into_iter().partition(|(at, _)| *at <= now);
                    self.waiting = later;
                    for (_, job) in due {
                        self.attempt(job).await;
                    }
                },
                () = stopped(&mut stop) => break,
            }
        }
        self.drain(rx).await;
    }

    /// At shutdown: one more attempt for everything held, without waiting for backoff.
    async fn drain(mut self, mut rx: mpsc::Receiver<Email>) {
        rx.close();
        let mut jobs: Vec<Job> = std::mem::take(&mut self.waiting).into_iter().map(|(_, job)| job).collect();
        while let Ok(email) = rx.try_recv() {
            jobs.push(Job { email, attempt: 1 });
        }
        if !jobs.is_empty() {
            tracing::info!(count = jobs.len(), "delivering queued mail before shutdown");
        }
        for job in jobs {
            self.config.max_attempts = job.attempt; // no retry from here on
            self.attempt(job).await;
        }
    }

    async fn attempt(&mut self, job: Job) {
        match self.dispatch.deliver(&job.email).await {
            Ok(()) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) if err.is_transient() && job.attempt < self.config.max_attempts => {
                let delay = backoff(&self.config, job.attempt);
                tracing::warn!(
                    message_id = %job.email.message_id(), attempt = job.attempt, retry_in_ms = delay.as_millis(),
                    error = %err, "mail delivery failed; retrying"
                );
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                self.waiting.push((Instant::now() + delay, Job { email: job.email, attempt: job.attempt + 1 }));
            }
            Err(err) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    message_id = %job.email.message_id(), to = ?job.email.to(), attempts = job.attempt,
                    permanent = !err.is_transient(), error = %err, "mail delivery failed; giving up"
                );
            }
        }
    }
}

/// The wait before attempt `attempt + 1`: `backoff * 2^(attempt-1)`, at most `max_backoff`.
pub(crate) fn backoff(config: &QueueConfig, attempt: u32) -> Duration {
    let factor = 2f64.powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(30).min(30));
    seconds((config.backoff * factor).min(config.max_backoff))
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: the handle was dropped, which is a stop too.
    let _ = stop.wait_for(|stopping| *stopping).await;
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}
