//! In-process storage (`memory://`): bounded, swept, exact within one process.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::parse::RateLimitItem;
use crate::strategy::{Outcome, Strategy, WindowStats};

const SHARDS: usize = 16;

/// Memory storage's bounds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_limiter::MemoryBounds;
///
/// let bounds = MemoryBounds { max_keys: 10_000, cleanup_interval: Duration::from_secs(30) };
/// assert_eq!(MemoryBounds::default().max_keys, 100_000);
/// # let _ = bounds;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBounds {
    /// The most keys tracked at once. When full, expired keys are swept first, then the
    /// keys closest to expiring are dropped (their clients start a fresh window).
    pub max_keys: usize,
    /// How often each part of the storage is swept of expired keys.
    pub cleanup_interval: Duration,
}

impl Default for MemoryBounds {
    fn default() -> Self {
        Self { max_keys: 100_000, cleanup_interval: Duration::from_mins(1) }
    }
}

/// Rate limit state in this process: `limits`' `MemoryStorage`, bounded.
///
/// Sixteen locked shards keep contention low. The number of tracked keys is capped
/// ([`MemoryBounds::max_keys`]) and expired keys are swept every
/// [`MemoryBounds::cleanup_interval`], so a flood of distinct keys cannot grow memory without
/// bound.
///
/// # Examples
///
/// ```
/// use phial_limiter::{MemoryStorage, Strategy, parse_many};
///
/// let storage = MemoryStorage::new();
/// let item = parse_many("2/minute")?[0];
/// assert!(storage.acquire(Strategy::FixedWindow, "LIMITER/a/2/1/minute", &item, 1, false).allowed);
/// assert!(storage.acquire(Strategy::FixedWindow, "LIMITER/a/2/1/minute", &item, 1, false).allowed);
/// assert!(!storage.acquire(Strategy::FixedWindow, "LIMITER/a/2/1/minute", &item, 1, false).allowed);
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStorage {
    shards: Box<[Mutex<Shard>]>,
    gcra: Mutex<HashMap<RateLimitItem, Arc<Gcra>>>,
    clock: SharedClock,
    bounds: MemoryBounds,
}

type Gcra = RateLimiter<String, DashMapStateStore<String>, GovernorClock, StateInformationMiddleware>;

/// governor reads the limiter's clock (so that tests can move it), as time since the epoch.
#[derive(Debug, Clone)]
struct GovernorClock(SharedClock);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.now()
    }
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<String, Entry, foldhash::quality::RandomState>,
    next_sweep: Duration,
}

#[derive(Debug)]
enum Entry {
    /// Fixed window: hits since the window began, and when it ends.
    Counter { count: u64, expires: Duration },
    /// Moving window: hit times, newest first, at most `amount` kept.
    Log { times: VecDeque<Duration>, expires: Duration },
    /// Sliding window counter: counts of the clock-aligned window `window` and the one before.
    Sliding { window: u64, previous: u64, current: u64, expires: Duration },
    /// GCRA: when a test (no hit) may pass again, learnt from the last hit.
    Blocked { until: Duration },
}

impl Entry {
    fn expires(&self) -> Duration {
        match self {
            Self::Counter { expires, .. } | Self::Log { expires, .. } | Self::Sliding { expires, .. } => *expires,
            Self::Blocked { until } => *until,
        }
    }

    /// Eviction order: fewest hits first, then soonest to expire.
    fn rank(&self) -> (u64, Duration) {
        let hits = match self {
            Self::Counter { count, .. } => *count,
            Self::Log { times, .. } => times.len() as u64,
            Self::Sliding { previous, current, .. } => previous + current,
            // Worth one hit: forgetting it lets one test pass that should have waited.
            Self::Blocked { .. } => 1,
        };
        (hits, self.expires())
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    /// Storage on the system clock with the default bounds.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock), MemoryBounds::default())
    }

    /// Storage on `clock` with `bounds`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use phial_limiter::{MemoryBounds, MemoryStorage, TestClock};
    ///
    /// let storage = MemoryStorage::with_clock(Arc::new(TestClock::frozen_now()), MemoryBounds::default());
    /// assert_eq!(storage.len(), 0);
    /// ```
    pub fn with_clock(clock: Arc<dyn Clock>, bounds: MemoryBounds) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self { shards, gcra: Mutex::new(HashMap::new()), clock, bounds }
    }

    /// How many keys are tracked now (GCRA keys included).
    pub fn len(&self) -> usize {
        let counted: usize = self.shards.iter().map(|s| lock(s).map.len()).sum();
        counted + lock(&self.gcra).values().map(|g| g.len()).sum::<usize>()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key that starts with `prefix` (all of them for `""`); returns how many.
    pub fn reset(&self, prefix: &str) -> usize {
        let mut removed = 0;
        for shard in &*self.shards {
            let mut shard = lock(shard);
            let before = shard.map.len();
            shard.map.retain(|key, _| !key.starts_with(prefix));
            removed += before - shard.map.len();
        }
        // governor cannot forget single keys: a reset of any prefix starts GCRA over.
        let mut gcra = lock(&self.gcra);
        removed += gcra.values().map(|g| g.len()).sum::<usize>();
        gcra.clear();
        removed
    }

    /// Hits (or, with `test`, only checks) `key` for `item` under `strategy` with `cost`.
    ///
    pub fn acquire(&self, strategy: Strategy, key: &str, item: &RateLimitItem, cost: u64, test: bool) -> Outcome {
        let now = self.clock.now();
        if strategy == Strategy::Gcra {
            return self.gcra(key, item, cost, test, now);
        }
        let mut shard = lock(&self.shards[shard_of(key)]);
        if now >= shard.next_sweep {
            shard.map.retain(|_, entry| entry.expires() > now);
            shard.next_sweep = now + self.bounds.cleanup_interval;
        }
        // One hash lookup for a known key; a new key may first need room.
        if let Some(entry) = shard.map.get_mut(key) {
            return count(strategy, entry, item, cost, test, now);
        }
        make_room(&mut shard.map, (self.bounds.max_keys / SHARDS).max(1), now);
        let entry = shard.map.entry(key.to_owned()).or_insert_with(|| fresh(strategy, item, now));
        count(strategy, entry, item, cost, test, now)
    }

    fn gcra(&self, key: &str, item: &RateLimitItem, cost: u64, test: bool, now: Duration) -> Outcome {
        let Ok(amount) = NonZeroU32::try_from(u32::try_from(item.amount()).unwrap_or(u32::MAX)) else {
            return Outcome { allowed: false, stats: WindowStats { reset: now + item.expiry(), remaining: 0 } };
        };
        let period = item.expiry() / amount.get();
        if test {
            // governor has no "peek": a test passes unless the last hit used up the burst.
            let shard = lock(&self.shards[shard_of(key)]);
            let blocked = shard.map.get(key).map_or(now, Entry::expires);
            let allowed = blocked <= now;
            return Outcome { allowed, stats: WindowStats { reset: blocked.max(now), remaining: u64::from(allowed) } };
        }
        let limiter = self.gcra_limiter(item, amount, period);
        let n = NonZeroU32::new(u32::try_from(cost).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let outcome = match limiter.check_key_n(&key.to_owned(), n) {
            Ok(Ok(snapshot)) => {
                let remaining = u64::from(snapshot.remaining_burst_capacity());
                let refill = period * u32::try_from(item.amount() - remaining.min(item.amount())).unwrap_or(u32::MAX);
                Outcome { allowed: true, stats: WindowStats { reset: now + refill, remaining } }
            }
            Ok(Err(not_until)) => {
                let reset = not_until.earliest_possible();
                Outcome { allowed: false, stats: WindowStats { reset, remaining: 0 } }
            }
            Err(_) => Outcome { allowed: false, stats: WindowStats { reset: now + item.expiry(), remaining: 0 } },
        };
        if outcome.stats.remaining == 0 {
            let until = if outcome.allowed { now + period } else { outcome.stats.reset };
            let mut shard = lock(&self.shards[shard_of(key)]);
            if !shard.map.contains_key(key) {
                make_room(&mut shard.map, (self.bounds.max_keys / SHARDS).max(1), now);
            }
            shard.map.insert(key.to_owned(), Entry::Blocked { until });
        }
        outcome
    }

    fn gcra_limiter(&self, item: &RateLimitItem, amount: NonZeroU32, period: Duration) -> Arc<Gcra> {
        let mut limiters = lock(&self.gcra);
        if let Some(limiter) = limiters.get(item) {
            let limiter = Arc::clone(limiter);
            drop(limiters);
            if limiter.len() >= self.bounds.max_keys {
                limiter.retain_recent();
                if limiter.len() >= self.bounds.max_keys {
                    // governor cannot drop single keys; starting over is the bound.
                    lock(&self.gcra).remove(item);
                }
            }
            return limiter;
        }
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is at least 1 ns")
            .allow_burst(amount);
        let clock = GovernorClock(Arc::clone(&self.clock));
        let limiter =
            Arc::new(RateLimiter::dashmap_with_clock(quota, clock).with_middleware::<StateInformationMiddleware>());
        limiters.insert(*item, Arc::clone(&limiter));
        limiter
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn count(strategy: Strategy, entry: &mut Entry, item: &RateLimitItem, cost: u64, test: bool, now: Duration) -> Outcome {
    match strategy {
        Strategy::MovingWindow => moving_window(entry, item, cost, test, now),
        Strategy::SlidingWindowCounter => sliding_window(entry, item, cost, test, now),
        _ => fixed_window(entry, item, cost, test, now),
    }
}

/// The shard of `key`: FNV-1a, cheap and good enough to spread keys over shards. Each shard's
/// map hashes keys with foldhash under a seed picked at random per map (half the cost of
/// std's `SipHash` on these short keys), so crafted keys still cannot degrade lookups.
fn shard_of(key: &str) -> usize {
    let hash = key
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    usize::try_from(hash % SHARDS as u64).expect("below SHARDS")
}

/// Keeps `map` under `cap` before an insert: expired keys go first, then the eighth of the
/// keys with the fewest hits (soonest to expire among equals). Forgetting a key lets its
/// client make as many hits again as the key held, so the keys a flood of one-hit keys
/// pushes out are its own, while a client close to its limit stays limited.
fn make_room(map: &mut HashMap<String, Entry, foldhash::quality::RandomState>, cap: usize, now: Duration) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, entry| entry.expires() > now);
    if map.len() < cap {
        return;
    }
    let mut ranks: Vec<(u64, Duration)> = map.values().map(Entry::rank).collect();
    let drop_count = (cap / 8).max(1).min(ranks.len());
    let (_, threshold, _) = ranks.select_nth_unstable(drop_count - 1);
    let threshold = *threshold;
    let mut dropped = 0;
    map.retain(|_, entry| {
        if dropped < drop_count && entry.rank() <= threshold {
            dropped += 1;
            false
        } else {
            true
        }
    });
}

fn fresh(strategy: Strategy, item: &RateLimitItem, now: Duration) -> Entry {
    match strategy {
        Strategy::MovingWindow => Entry::Log { times: VecDeque::new(), expires: now },
        Strategy::SlidingWindowCounter => {
            Entry::Sliding { window: window_index(item, now), previous: 0, current: 0, expires: now }
        }
        _ => Entry::Counter { count: 0, expires: now },
    }
}

/// `limits`' fixed window: the window starts at a key's first hit; every hit counts, also the
/// ones refused.
fn fixed_window(entry: &mut Entry, item: &RateLimitItem, cost: u64, test: bool, now: Duration) -> Outcome {
    let Entry::Counter { count, expires } = entry else {
        *entry = Entry::Counter { count: 0, expires: now };
        return fixed_window(entry, item, cost, test, now);
    };
    if *expires <= now {
        *count = 0;
    }
    if test {
        let allowed = count.saturating_add(cost) <= item.amount();
        let reset = if *count == 0 { now } else { *expires };
        return Outcome { allowed, stats: WindowStats { reset, remaining: item.amount().saturating_sub(*count) } };
    }
    if *count == 0 {
        *expires = now + item.expiry();
    }
    *count = count.saturating_add(cost);
    let allowed = *count <= item.amount();
    Outcome { allowed, stats: WindowStats { reset: *expires, remaining: item.amount().saturating_sub(*count) } }
}

/// `limits`' moving window: refused when the `amount - cost`-th newest hit lies within the
/// window; an accepted hit logs `cost` timestamps.
fn moving_window(entry: &mut Entry, item: &RateLimitItem, cost: u64, test: bool, now: Duration) -> Outcome {
    let Entry::Log { times, expires } = entry else {
        *entry = Entry::Log { times: VecDeque::new(), expires: now };
        return moving_window(entry, item, cost, test, now);
    };
    let expiry = item.expiry();
    let window_start = now.saturating_sub(expiry);
    // Newest first: the hits within the window are a prefix, found by binary search.
    let allowed = if test {
        let in_window = times.partition_point(|t| *t > window_start) as u64;
        in_window.saturating_add(cost) <= item.amount()
    } else if cost > item.amount() {
        false
    } else {
        let index = usize::try_from(item.amount() - cost).unwrap_or(usize::MAX);
        let blocked = times.get(index).is_some_and(|t| *t >= window_start);
        if !blocked {
            for _ in 0..cost {
                times.push_front(now);
            }
            times.truncate(usize::try_from(item.amount()).unwrap_or(usize::MAX));
            *expires = now + expiry;
        }
        !blocked
    };
    let in_window = times.partition_point(|t| *t > window_start);
    let reset = if in_window == 0 { now } else { times[in_window - 1] + expiry };
    let remaining = item.amount().saturating_sub(in_window as u64);
    Outcome { allowed, stats: WindowStats { reset, remaining } }
}

fn window_index(item: &RateLimitItem, now: Duration) -> u64 {
    u64::try_from(now.as_nanos() / item.expiry().as_nanos().max(1)).unwrap_or(u64::MAX)
}

/// `limits`' sliding window counter: the previous window's count weighted by the share of it
/// the sliding window still covers, plus the current window's count (integer nanoseconds, so
/// the weighting is exact).
fn sliding_window(entry: &mut Entry, item: &RateLimitItem, cost: u64, test: bool, now: Duration) -> Outcome {
    let index = window_index(item, now);
    let Entry::Sliding { window, previous, current, expires } = entry else {
        *entry = Entry::Sliding { window: index, previous: 0, current: 0, expires: now };
        return sliding_window(entry, item, cost, test, now);
    };
    if *window != index {
        *previous = if *window + 1 == index { *current } else { 0 };
        *current = 0;
        *window = index;
    }
    let expiry = item.expiry().as_nanos().max(1);
    let into_window = now.as_nanos() % expiry;
    let previous_ttl = if *previous == 0 { 0 } else { expiry - into_window };
    let weighted_previous = u64::try_from(u128::from(*previous) * previous_ttl / expiry).unwrap_or(u64::MAX);
    let allowed =
        cost <= item.amount() && weighted_previous.saturating_add(*current).saturating_add(cost) <= item.amount();
    if allowed && !test {
        *current += cost;
        *expires = now + item.expiry() * 2;
    }
    let remaining = item.amount().saturating_sub(weighted_previous.saturating_add(*current));
    let current_reset_in = expiry - into_window;
    // `limits`' estimate; a remainder of 0 means a whole period, not "now".
    let remainder = |ttl: u128, period: u128| match ttl % period.max(1) {
        0 => period.max(1),
        r => r,
    };
    let reset_in = match (*previous, *current) {
        (0, 0) => 0,
        (p, 0) => remainder(previous_ttl, expiry / u128::from(p)),
        (0, _) => current_reset_in,
        (p, _) => remainder(previous_ttl, expiry / u128::from(p)).min(current_reset_in),
    };
    let reset = now + Duration::from_nanos(u64::try_from(reset_in).unwrap_or(u64::MAX));
    Outcome { allowed, stats: WindowStats { reset, remaining } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::parse::parse_many;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn storage() -> (MemoryStorage, TestClock) {
        let clock = TestClock::at(T0);
        (MemoryStorage::with_clock(Arc::new(clock.clone()), MemoryBounds::default()), clock)
    }

    fn item(s: &str) -> RateLimitItem {
        parse_many(s).unwrap()[0]
    }

    /// 1 hit at t0, 9 at t59, 10 at t61: how many pass.
    fn boundary_burst(strategy: Strategy) -> usize {
        let (storage, clock) = storage();
        let item = item("10/minute");
        let mut passed = 0;
        for (at, hits) in [(0, 1), (59, 9), (61, 10)] {
            clock.set(T0 + Duration::from_secs(at));
            passed += (0..hits).filter(|_| storage.acquire(strategy, "k", &item, 1, false).allowed).count();
        }
        passed
    }

    #[test]
    fn fixed_window_lets_the_boundary_burst_through() {
        assert_eq!(boundary_burst(Strategy::FixedWindow), 20);
    }

    #[test]
    fn moving_window_allows_eleven_of_the_boundary_burst() {
        assert_eq!(boundary_burst(Strategy::MovingWindow), 11);
    }

    #[test]
    fn sliding_window_counter_weights_the_previous_window() {
        let (storage, clock) = storage();
        let item = item("10/minute");
        // Align to a window start so the weights are round numbers.
        let start = Duration::from_secs((T0.as_secs() / 60 + 1) * 60);
        clock.set(start);
        let hit = || storage.acquire(Strategy::SlidingWindowCounter, "k", &item, 1, false);
        assert_eq!((0..10).filter(|_| hit().allowed).count(), 10);
        assert!(!hit().allowed);
        // Half-way into the next window, half of the previous 10 still count.
        clock.set(start + Duration::from_secs(90));
        assert_eq!((0..10).filter(|_| hit().allowed).count(), 5);
        // Two windows on, nothing counts.
        clock.set(start + Duration::from_mins(3));
        assert_eq!((0..10).filter(|_| hit().allowed).count(), 10);
    }

    #[test]
    fn gcra_takes_a_burst_then_one_per_period() {
        let (storage, clock) = storage();
        let item = item("10/minute");
        let hit = || storage.acquire(Strategy::Gcra, "k", &item, 1, false);
        assert_eq!((0..12).filter(|_| hit().allowed).count(), 10);
        clock.advance(Duration::from_secs(6));
        assert!(hit().allowed);
        assert!(!hit().allowed);
    }

    #[test]
    fn governor_by_hand_is_burst_then_drip_which_is_why_it_is_not_the_default() {
        // 20 requests 3 s apart: "10/minute" as Flask-Limiter means it lets 10 through in the
        // first minute; GCRA lets most through.
        let (storage, clock) = storage();
        let item = item("10/minute");
        let mut gcra = 0;
        let mut fixed = 0;
        for _ in 0..20 {
            gcra += usize::from(storage.acquire(Strategy::Gcra, "g", &item, 1, false).allowed);
            fixed += usize::from(storage.acquire(Strategy::FixedWindow, "f", &item, 1, false).allowed);
            clock.advance(Duration::from_secs(3));
        }
        assert_eq!(fixed, 10);
        assert!(gcra > 15, "{gcra}");
    }

    #[test]
    fn zero_amount_always_rejects() {
        let (storage, _) = storage();
        let item = item("0/second");
        for strategy in [Strategy::FixedWindow, Strategy::MovingWindow, Strategy::SlidingWindowCounter, Strategy::Gcra]
        {
            assert!(!storage.acquire(strategy, "z", &item, 1, false).allowed, "{strategy:?}");
        }
    }

    #[test]
    fn cost_counts_several_hits() {
        let (storage, _) = storage();
        let item = item("10/minute");
        for strategy in [Strategy::FixedWindow, Strategy::MovingWindow, Strategy::SlidingWindowCounter, Strategy::Gcra]
        {
            let key = strategy.name();
            assert!(storage.acquire(strategy, key, &item, 6, false).allowed, "{strategy:?}");
            let second = storage.acquire(strategy, key, &item, 6, false);
            assert!(!second.allowed, "{strategy:?}");
            assert!(!storage.acquire(strategy, key, &item, 11, false).allowed, "{strategy:?}");
        }
    }

    #[test]
    fn test_does_not_consume() {
        let (storage, _) = storage();
        let item = item("1/minute");
        for strategy in [Strategy::FixedWindow, Strategy::MovingWindow, Strategy::SlidingWindowCounter] {
            let key = strategy.name();
            for _ in 0..3 {
                assert!(storage.acquire(strategy, key, &item, 1, true).allowed, "{strategy:?}");
            }
            assert!(storage.acquire(strategy, key, &item, 1, false).allowed, "{strategy:?}");
            assert!(!storage.acquire(strategy, key, &item, 1, true).allowed, "{strategy:?}");
        }
    }

    #[test]
    fn stats_report_remaining_and_reset() {
        let (storage, _) = storage();
        let item = item("2/minute");
        let first = storage.acquire(Strategy::FixedWindow, "s", &item, 1, false);
        assert_eq!(first.stats, WindowStats { reset: T0 + Duration::from_mins(1), remaining: 1 });
        let moving = storage.acquire(Strategy::MovingWindow, "m", &item, 1, false);
        assert_eq!(moving.stats, WindowStats { reset: T0 + Duration::from_mins(1), remaining: 1 });
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_keys() {
        let clock = TestClock::at(T0);
        let bounds = MemoryBounds { max_keys: 1_000, cleanup_interval: Duration::from_mins(1) };
        let item = item("5/hour");
        for strategy in [Strategy::FixedWindow, Strategy::MovingWindow, Strategy::SlidingWindowCounter, Strategy::Gcra]
        {
            let storage = MemoryStorage::with_clock(Arc::new(clock.clone()), bounds);
            let steady = "steady";
            let allowed = (0..6).filter(|_| storage.acquire(strategy, steady, &item, 1, false).allowed).count();
            assert_eq!(allowed, 5, "{strategy:?}");
            for i in 0..50_000 {
                storage.acquire(strategy, &format!("flood-{i}"), &item, 1, false);
                assert!(storage.len() <= 1_001 + SHARDS, "{strategy:?}: {} keys", storage.len());
            }
            if strategy != Strategy::Gcra {
                // The client at its limit is still limited after the flood: one-hit keys went first.
                assert!(!storage.acquire(strategy, steady, &item, 1, false).allowed, "{strategy:?}");
            }
        }
    }

    #[test]
    fn gcra_keys_that_used_their_burst_stay_bounded_too() {
        let clock = TestClock::at(T0);
        let bounds = MemoryBounds { max_keys: 1_000, cleanup_interval: Duration::from_mins(1) };
        let storage = MemoryStorage::with_clock(Arc::new(clock), bounds);
        let item = item("1/hour");
        for i in 0..20_000 {
            storage.acquire(Strategy::Gcra, &format!("k{i}"), &item, 1, false);
        }
        // At most the cap in governor's map and the cap of "burst used up" marks.
        assert!(storage.len() <= 2 * 1_000 + 1, "{} keys", storage.len());
    }

    #[test]
    fn expired_keys_are_swept_periodically() {
        let clock = TestClock::at(T0);
        let bounds = MemoryBounds { max_keys: 100_000, cleanup_interval: Duration::from_secs(10) };
        let storage = MemoryStorage::with_clock(Arc::new(clock.clone()), bounds);
        let item = item("5/second");
        for i in 0..1_000 {
            storage.acquire(Strategy::FixedWindow, &format!("k{i}"), &item, 1, false);
        }
        assert_eq!(storage.len(), 1_000);
        clock.advance(Duration::from_secs(11));
        // Touching every shard once sweeps it.
        for i in 0..200 {
            storage.acquire(Strategy::FixedWindow, &format!("late{i}"), &item, 1, false);
        }
        assert_eq!(storage.len(), 200);
    }

    #[test]
    fn reset_forgets_keys_by_prefix() {
        let (storage, _) = storage();
        let item = item("1/minute");
        storage.acquire(Strategy::FixedWindow, "LIMITER/a/x", &item, 1, false);
        storage.acquire(Strategy::FixedWindow, "LIMITER/b/x", &item, 1, false);
        assert_eq!(storage.reset("LIMITER/a/"), 1);
        assert!(storage.acquire(Strategy::FixedWindow, "LIMITER/a/x", &item, 1, false).allowed);
        assert!(!storage.acquire(Strategy::FixedWindow, "LIMITER/b/x", &item, 1, false).allowed);
    }
}
