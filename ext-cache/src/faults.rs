//! How the cache lives through Redis faults: a short circuit breaker, warnings at most once
//! per interval, and the state the health check reports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Fault state of one backend connection.
///
/// After a fault, calls skip Redis for `retry_after` (they miss at once instead of each
/// waiting for a timeout), then one call tries again. Warnings are logged at most once per
/// `log_interval`, with the number of faults since the last one.
#[derive(Debug)]
pub(crate) struct Faults {
    started: Instant,
    retry_after: Duration,
    log_interval: Duration,
    /// Milliseconds since `started` until which Redis is skipped (0: not skipped).
    down_until: AtomicU64,
    /// Milliseconds since `started` of the last warning, plus one (0: never).
    last_log: AtomicU64,
    /// Faults since the last warning.
    unlogged: AtomicU64,
    /// Milliseconds since `started` of the last fault, plus one (0: never).
    last_fault: AtomicU64,
}

impl Faults {
    pub(crate) fn new(retry_after: Duration, log_interval: Duration) -> Self {
        Self {
            started: Instant::now(),
            retry_after,
            log_interval,
            down_until: AtomicU64::new(0),
            last_log: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
            last_fault: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether calls should skip the backend for now.
    pub(crate) fn is_open(&self) -> bool {
        let until = self.down_until.load(Ordering::Relaxed);
        until != 0 && self.now_ms() < until
    }

    /// Records a fault: opens the breaker and logs if the interval allows.
    pub(crate) fn record(&self, what: &str, err: &dyn std::fmt::Display) {
        let now = self.now_ms();
        let retry = u64::try_from(self.retry_after.as_millis()).unwrap_or(u64::MAX);
        self.down_until.store(now.saturating_add(retry).max(1), Ordering::Relaxed);
        self.last_fault.store(now + 1, Ordering::Relaxed);
        let unlogged = self.unlogged.fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.last_log.load(Ordering::Relaxed);
        let interval = u64::try_from(self.log_interval.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || now + 1 >= last.saturating_add(interval);
        if due && self.last_log.compare_exchange(last, now + 1, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.unlogged.store(0, Ordering::Relaxed);
            tracing::warn!(
                faults = unlogged,
                retry_after_ms = retry,
                "cache: Redis {what} failed ({err}); serving misses until it answers again"
            );
        }
    }

    /// Records a success: closes the breaker.
    pub(crate) fn clear(&self) {
        if self.down_until.swap(0, Ordering::Relaxed) != 0 {
            tracing::info!("cache: Redis answers again");
        }
    }

    /// How long ago the last fault was, if the breaker is open or one happened recently.
    pub(crate) fn last_fault_age(&self) -> Option<Duration> {
        let last = self.last_fault.load(Ordering::Relaxed);
        (last != 0).then(|| Duration::from_millis(self.now_ms() + 1 - last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_opens_the_breaker_until_retry_after_and_success_closes_it() {
        let faults = Faults::new(Duration::from_mins(1), Duration::from_mins(1));
        assert!(!faults.is_open());
        faults.record("GET", &"refused");
        assert!(faults.is_open());
        assert!(faults.last_fault_age().is_some());
        faults.clear();
        assert!(!faults.is_open());
    }

    #[test]
    fn breaker_reopens_for_a_retry_once_retry_after_passes() {
        let faults = Faults::new(Duration::from_millis(1), Duration::from_mins(1));
        faults.record("GET", &"refused");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!faults.is_open());
    }
}
