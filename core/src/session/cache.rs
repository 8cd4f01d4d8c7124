//! [`DecodedCookies`]: cookie sessions already verified and parsed, kept by cookie value.
//!
//! A browser sends the same session cookie on every request until the session changes, and
//! checking its signature and parsing its JSON again costs more than the rest of a small
//! request. The cache maps the exact cookie value to its contents:
//!
//! - A hit is as good as verifying: the same bytes verified before, under the same keys (a
//!   layer's keys never change), and the value's age is checked again on every hit.
//! - Values are compared in constant time, so a probe learns nothing of a cached cookie.
//! - The slot is chosen by a keyed hash of the value's last bytes (the signature), so an
//!   attacker cannot aim at another user's slot; a collision only evicts.
//! - It is direct-mapped: a fixed number of slots, a new value replaces what its slot held. No
//!   eviction bookkeeping, memory bounded by `slots × MAX_VALUE_LEN` plus the parsed contents.
//! - Contents are shared (`Arc`) and copied only when a request changes them.

use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::store::Record;

/// Cookie values longer than this are not kept: sessions that large are rare and usually
/// change on every request (flashes), and the cap bounds the cache's memory.
pub(super) const MAX_VALUE_LEN: usize = 1024;

/// How many trailing bytes of a value choose its slot: part of the base64 signature.
const HASHED_TAIL: usize = 16;

/// A session the cache hands back: its contents and whether a fallback key verified it.
pub(super) struct Hit {
    pub(super) record: Arc<Record>,
    pub(super) resign: bool,
}

struct Entry {
    value: Box<str>,
    record: Arc<Record>,
    issued_at: SystemTime,
    resign: bool,
}

/// Verified cookie sessions by cookie value; see the module documentation.
pub(super) struct DecodedCookies {
    slots: Box<[Mutex<Option<Entry>>]>,
    /// Random per cache: what the slot hash mixes into the value's tail.
    keys: [u64; 4],
    /// `64 - log2(slots)`: the hash's top bits choose the slot.
    shift: u32,
}

impl DecodedCookies {
    /// A cache of `slots` entries (rounded up to a power of two), or `None` for `0`.
    pub(super) fn new(slots: usize) -> Option<Self> {
        if slots == 0 {
            return None;
        }
        let slots = slots.checked_next_power_of_two().unwrap_or(1 << (usize::BITS - 1));
        // Keys from the standard library's randomly seeded hasher (the OS's randomness).
        let seed = std::hash::RandomState::new();
        let keys = [1_u8, 2, 3, 4].map(|n| seed.hash_one(n));
        Some(Self { slots: (0..slots).map(|_| Mutex::new(None)).collect(), keys, shift: 64 - slots.trailing_zeros() })
    }

    /// The slot of `value`: a keyed multiply-xor hash of its last 16 bytes (a few instructions,
    /// where `SipHash` took a few hundred on every request). The tail is signature bytes, and
    /// only values the layer signed itself are ever stored, so the keys need not resist more
    /// than guessing which slot a value lands in.
    fn slot(&self, value: &str) -> &Mutex<Option<Entry>> {
        let tail = &value.as_bytes()[value.len().saturating_sub(HASHED_TAIL)..];
        let mut bytes = [0_u8; HASHED_TAIL];
        bytes[HASHED_TAIL - tail.len()..].copy_from_slice(tail);
        let [low, high] =
            [&bytes[..8], &bytes[8..]].map(|half| u64::from_le_bytes(half.try_into().unwrap_or_default()));
        let [k0, k1, k2, k3] = self.keys;
        let mixed = ((low ^ k0).wrapping_mul(k2 | 1) ^ high ^ k1).wrapping_mul(k3 | 1);
        // The product's top bits depend on every input bit; one slot takes none of them.
        let index = usize::try_from(mixed.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0);
        &self.slots[index]
    }

    /// The contents of `value` if it was verified before and is not older than `max_age`.
    pub(super) fn get(&self, value: &str, max_age: Duration) -> Option<Hit> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let slot = self.slot(value).lock().unwrap_or_else(PoisonError::into_inner);
        let entry = slot.as_ref()?;
        if !same_bytes(entry.value.as_bytes(), value.as_bytes()) {
            return None;
        }
        // Anything but a known age within bounds (a clock that went back, say) goes the long way.
        let age = SystemTime::now().duration_since(entry.issued_at).ok()?;
        (age <= max_age).then(|| Hit { record: Arc::clone(&entry.record), resign: entry.resign })
    }

    /// Keeps `value`'s contents, verified (or just signed) with the issue time it carries.
    pub(super) fn put(&self, value: &str, record: Arc<Record>, issued_at: SystemTime, resign: bool) {
        if value.len() > MAX_VALUE_LEN {
            return;
        }
        let entry = Entry { value: value.into(), record, issued_at, resign };
        // The old entry is dropped after the lock is released.
        let _old = self.slot(value).lock().unwrap_or_else(PoisonError::into_inner).replace(entry);
    }
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only: eight bytes at a
/// time, differences OR-ed together, one decision at the end (`subtle`'s slice comparison
/// decides byte by byte behind an optimization barrier, ten times slower on a cookie).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a_words.remainder().iter().zip(b_words.remainder()).fold(0_u64, |acc, (x, y)| acc | u64::from(x ^ y));
    let diff = a_words.zip(b_words).fold(tail, |acc, (x, y)| acc | (word(x) ^ word(y)));
    std::hint::black_box(diff) == 0
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_ne_bytes(bytes.try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;

    const HOUR: Duration = Duration::from_hours(1);

    fn record(n: i64) -> Arc<Record> {
        let mut data = Map::new();
        data.insert("n".to_owned(), Value::from(n));
        Arc::new(Record::new(data, false))
    }

    #[test]
    fn zero_slots_is_no_cache_and_others_round_up_to_a_power_of_two() {
        assert!(DecodedCookies::new(0).is_none());
        assert_eq!(DecodedCookies::new(1000).expect("cache").slots.len(), 1024);
        assert_eq!(DecodedCookies::new(1).expect("cache").slots.len(), 1);
    }

    #[test]
    fn a_kept_value_is_found_and_any_other_value_is_not() {
        let cache = DecodedCookies::new(64).expect("cache");
        cache.put("payload.time.signature1", record(1), SystemTime::now(), true);
        let hit = cache.get("payload.time.signature1", HOUR).expect("hit");
        assert_eq!(hit.record.data["n"], 1);
        assert!(hit.resign);
        for other in ["payload.time.signature2", "payload.time.signature", "xpayload.time.signature1", ""] {
            assert!(cache.get(other, HOUR).is_none(), "{other:?} found");
        }
    }

    #[test]
    fn an_entry_past_max_age_or_from_the_future_is_not_a_hit() {
        let cache = DecodedCookies::new(64).expect("cache");
        cache.put("old", record(1), SystemTime::now() - 2 * HOUR, false);
        assert!(cache.get("old", HOUR).is_none());
        assert!(cache.get("old", 3 * HOUR).is_some());
        cache.put("ahead", record(2), SystemTime::now() + HOUR, false);
        assert!(cache.get("ahead", 3 * HOUR).is_none());
    }

    #[test]
    fn one_slot_keeps_the_latest_value_only() {
        let cache = DecodedCookies::new(1).expect("cache");
        cache.put("first", record(1), SystemTime::now(), false);
        cache.put("second", record(2), SystemTime::now(), false);
        assert!(cache.get("first", HOUR).is_none());
        assert_eq!(cache.get("second", HOUR).expect("hit").record.data["n"], 2);
    }

    #[test]
    fn same_bytes_compares_every_byte_of_any_length() {
        let value = b"payload.time.signature-0123456789";
        for len in 0..value.len() {
            let a = &value[..len];
            assert!(same_bytes(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "difference at {at} of {len} missed");
            }
        }
        assert!(!same_bytes(b"abc", b"abcd"));
    }

    /// The slot hash spreads values over the slots by their last bytes (a hash that ignored a
    /// byte, or the keys, would crowd them): 1 024 signatures that differ in one tail byte or
    /// another fill most of 1 024 slots (a random spread fills about 63 %).
    #[test]
    fn signatures_spread_over_the_slots() {
        let cache = DecodedCookies::new(1024).expect("cache");
        let mut used = std::collections::HashSet::new();
        for n in 0_u32..1024 {
            let [a, b, c, d] = n.to_le_bytes();
            // The varying bytes at the tail's start, middle and end in turn.
            let mut tail: Vec<u8> = (b'A'..).take(HASHED_TAIL).collect();
            tail[usize::from(a) % HASHED_TAIL] = b'a' + b % 26;
            tail[(usize::from(c) + 7) % HASHED_TAIL] = b'0' + d % 10;
            tail[HASHED_TAIL - 1] = b'a' + u8::try_from(n % 26).unwrap_or(0);
            let value = format!("payload.time.{}", String::from_utf8(tail).expect("ASCII"));
            used.insert(std::ptr::from_ref(cache.slot(&value)));
        }
        assert!(used.len() > 400, "1 024 values in only {} slots", used.len());
        let one = DecodedCookies::new(1).expect("cache");
        assert!(std::ptr::eq(one.slot("a"), one.slot("b")));
    }

    #[test]
    fn values_over_the_size_cap_are_not_kept() {
        let cache = DecodedCookies::new(64).expect("cache");
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        cache.put(&long, record(1), SystemTime::now(), false);
        assert!(cache.get(&long, HOUR).is_none());
        let longest = "y".repeat(MAX_VALUE_LEN);
        cache.put(&longest, record(1), SystemTime::now(), false);
        assert!(cache.get(&longest, HOUR).is_some());
    }
}
