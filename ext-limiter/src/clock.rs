//! Where the limiter reads the time: the system clock, or a [`TestClock`] that tests move by hand.
//!
//! Memory storage reads this clock; Redis storage reads the Redis server's `TIME` instead, so
//! instances with skewed clocks still share one window.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, as a duration since the Unix epoch.
///
/// # Examples
///
/// ```
/// use phial_limiter::{Clock, SystemClock};
///
/// assert!(SystemClock.now().as_secs() > 1_600_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now, since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The system's wall clock.
///
/// # Examples
///
/// ```
/// use phial_limiter::{Clock, SystemClock};
///
/// let a = SystemClock.now();
/// assert!(SystemClock.now() >= a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// A clock that stands still until a test moves it (freezegun's role in Flask-Limiter's tests).
///
/// Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_limiter::{Clock, TestClock};
///
/// let clock = TestClock::at(Duration::from_secs(1_000));
/// clock.advance(Duration::from_secs(59));
/// assert_eq!(clock.now().as_secs(), 1_059);
/// clock.set(Duration::from_secs(5));
/// assert_eq!(clock.now().as_secs(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    /// A clock showing `since_epoch`.
    pub fn at(since_epoch: Duration) -> Self {
        Self(Arc::new(AtomicU64::new(nanos(since_epoch))))
    }

    /// A clock showing the current system time, frozen.
    pub fn frozen_now() -> Self {
        Self::at(SystemClock.now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(nanos(by), Ordering::SeqCst);
    }

    /// Sets the clock to `since_epoch`.
    pub fn set(&self, since_epoch: Duration) {
        self.0.store(nanos(since_epoch), Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::frozen_now()
    }
}

impl Clock for TestClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A shared clock.
pub(crate) type SharedClock = Arc<dyn Clock>;
