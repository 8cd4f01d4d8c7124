//! The rate limiting strategies (`RATELIMIT_STRATEGY`), and what a check reports.
//!
//! See the guide [`crate::guide_strategies`] for which to choose.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How hits are counted against a limit; the names are `limits`' (`RATELIMIT_STRATEGY`).
///
/// # Examples
///
/// ```
/// use phial_limiter::Strategy;
///
/// let s: Strategy = serde_json::from_str("\"moving-window\"").unwrap();
/// assert_eq!(s, Strategy::MovingWindow);
/// assert_eq!(Strategy::default(), Strategy::FixedWindow);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Strategy {
    /// A counter per window that starts at the key's first hit and lasts the limit's length;
    /// cheap, but allows up to twice the amount around a window's end. Hits over the limit
    /// still count (as in `limits`).
    #[default]
    FixedWindow,
    /// An exact log of the hits of the last window length: never more than the amount in any
    /// window. Memory grows with the amount (one timestamp per allowed hit).
    MovingWindow,
    /// Two clock-aligned counters, the previous one weighted by how much of it still overlaps
    /// the sliding window: nearly as exact as the moving window at a counter's cost.
    SlidingWindowCounter,
    /// governor's generic cell rate algorithm: the amount as a burst, then one hit per
    /// `window / amount`, smoothing traffic instead of allowing it in blocks.
    Gcra,
}

impl Strategy {
    /// The name as written in config.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(phial_limiter::Strategy::SlidingWindowCounter.name(), "sliding-window-counter");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::FixedWindow => "fixed-window",
            Self::MovingWindow => "moving-window",
            Self::SlidingWindowCounter => "sliding-window-counter",
            Self::Gcra => "gcra",
        }
    }
}

/// A limit's state after a check (`limits.WindowStats`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_limiter::WindowStats;
///
/// let stats = WindowStats { reset: Duration::from_secs(100), remaining: 0 };
/// assert_eq!(stats.retry_after(Duration::from_secs(90)), 10);
/// assert_eq!(stats.retry_after(Duration::from_secs(120)), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowStats {
    /// When the window resets (the next hit would pass), since the Unix epoch.
    pub reset: Duration,
    /// How many hits remain in the window.
    pub remaining: u64,
}

impl WindowStats {
    /// Whole seconds from `now` until the reset, rounded up, never negative.
    pub fn retry_after(&self, now: Duration) -> u64 {
        let wait = self.reset.saturating_sub(now);
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
    }
}

/// The result of a hit or a test against one limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the hit passes.
    pub allowed: bool,
    /// The window after the hit.
    pub stats: WindowStats,
}
