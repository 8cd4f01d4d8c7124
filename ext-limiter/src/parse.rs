//! Limit strings, read exactly as the Python `limits` library reads them (`limits.util.parse_many`).
//!
//! Grammar (case-insensitive, whitespace allowed anywhere between tokens):
//!
//! ```text
//! limits := item ( ":"? sep item )*      sep := "," | ";" | "|"
//! item   := N ( "/" | "per" ) [M] unit   unit := second|minute|hour|day|month|year, optional "s"
//! ```
//!
//! `limits` quirks kept on purpose, so that a string means the same thing in both:
//! a month is 30 days and a year 360 days; `M = 0` means 1 (`10/0 seconds` is `10 per 1
//! second`); a stray `:` right before a separator is accepted (`limits`' pattern has `(:?`
//! where `(?:` was meant); `N = 0` is valid and rejects every request.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::LimiterError;

/// The unit of a limit's window, with `limits`' lengths (month = 30 days, year = 360 days).
///
/// # Examples
///
/// ```
/// use phial_limiter::Granularity;
///
/// assert_eq!(Granularity::Month.seconds(), 30 * 24 * 3600);
/// assert_eq!(Granularity::Year.seconds(), 360 * 24 * 3600);
/// assert_eq!(Granularity::Minute.name(), "minute");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// One second.
    Second,
    /// 60 seconds.
    Minute,
    /// 3600 seconds.
    Hour,
    /// 86 400 seconds.
    Day,
    /// 30 days, as in `limits`.
    Month,
    /// 360 days (12 months of 30 days), as in `limits`.
    Year,
}

impl Granularity {
    const ALL: [Granularity; 6] = [Self::Second, Self::Minute, Self::Hour, Self::Day, Self::Month, Self::Year];

    /// The unit's length in seconds.
    pub const fn seconds(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
            Self::Month => 86_400 * 30,
            Self::Year => 86_400 * 360,
        }
    }

    /// The singular name, as in `limits`' display form and keys.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The unit named `word` (singular or plural, any case).
    fn from_word(word: &str) -> Option<Self> {
        let lower = word.to_ascii_lowercase();
        let singular = lower.strip_suffix('s').unwrap_or(&lower);
        // "ss" is no unit: only one trailing `s` is allowed, as in `limits`.
        Self::ALL.into_iter().find(|g| g.name() == singular || g.name() == lower)
    }
}

/// One rate limit: `amount` per `multiples` × `granularity` (`limits.RateLimitItem`).
///
/// Displays as `limits` prints it: `10 per 1 minute`.
///
/// # Examples
///
/// ```
/// use phial_limiter::RateLimitItem;
///
/// let item: RateLimitItem = "10/minute".parse()?;
/// assert_eq!(item.to_string(), "10 per 1 minute");
/// assert_eq!(item.expiry().as_secs(), 60);
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimitItem {
    amount: u64,
    multiples: u64,
    granularity: Granularity,
}

impl RateLimitItem {
    /// `amount` per `multiples` units (a `multiples` of 0 means 1, as in `limits`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_limiter::{Granularity, RateLimitItem};
    ///
    /// let item = RateLimitItem::new(5, 2, Granularity::Second);
    /// assert_eq!(item.to_string(), "5 per 2 second");
    /// ```
    pub const fn new(amount: u64, multiples: u64, granularity: Granularity) -> Self {
        let multiples = if multiples == 0 { 1 } else { multiples };
        Self { amount, multiples, granularity }
    }

    /// How many hits the window allows.
    pub const fn amount(&self) -> u64 {
        self.amount
    }

    /// How many units long the window is.
    pub const fn multiples(&self) -> u64 {
        self.multiples
    }

    /// The window's unit.
    pub const fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The window's length (`limits`' `get_expiry`).
    pub const fn expiry(&self) -> Duration {
        Duration::from_secs(self.granularity.seconds().saturating_mul(self.multiples))
    }

    /// The same limit with another amount (the in-memory fallback's share of a limit).
    #[cfg(feature = "redis")]
    pub(crate) const fn with_amount(self, amount: u64) -> Self {
        Self { amount, ..self }
    }

    /// The end of `limits`' storage key for this limit: `/<amount>/<multiples>/<unit>`, after
    /// `LIMITER/<identifiers…>`.
    pub(crate) fn key_suffix(&self) -> String {
        format!("/{}/{}/{}", self.amount, self.multiples, self.granularity.name())
    }
}

impl fmt::Display for RateLimitItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {} {}", self.amount, self.multiples, self.granularity.name())
    }
}

impl FromStr for RateLimitItem {
    type Err = LimiterError;

    /// Parses the first item of a limit string, as `limits.parse` does (the whole string must
    /// still be valid).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_many(s).map(|items| items[0])
    }
}

/// Parses a limit string of one or more items (`"100/day, 500/7days"`), as `limits.parse_many`.
///
/// # Errors
///
/// [`LimiterError::Parse`] naming the string when any part of it is not a limit: a trailing
/// separator (`10/hour;`), a missing unit (`10 per`), a missing `/` or `per` (`10 hour`),
/// two items without a separator (`10/minute 20/hour`), an unknown unit (`10/fortnight`), or
/// a number too large.
///
/// # Examples
///
/// ```
/// use phial_limiter::parse_many;
///
/// let items = parse_many("5/2 seconds;10/hour;100/day;2000 per year")?;
/// let shown: Vec<String> = items.iter().map(ToString::to_string).collect();
/// assert_eq!(shown, ["5 per 2 second", "10 per 1 hour", "100 per 1 day", "2000 per 1 year"]);
/// assert!(parse_many("10/hour;").is_err());
/// # Ok::<(), phial_limiter::LimiterError>(())
/// ```
pub fn parse_many(limit_string: &str) -> Result<Vec<RateLimitItem>, LimiterError> {
    let error = || LimiterError::Parse(limit_string.to_owned());
    let mut cursor = Cursor { rest: limit_string };
    let mut items = Vec::new();
    loop {
        items.push(cursor.item().ok_or_else(error)?);
        if cursor.rest.is_empty() {
            return Ok(items);
        }
        // `limits` allows one `:` before the separator (see the module docs).
        cursor.eat(":");
        if !(cursor.eat(",") || cursor.eat(";") || cursor.eat("|")) {
            return Err(error());
        }
    }
}

/// A hand-written reader of `limits`' regular expression; each method consumes what it
/// matched, like the regex engine walking `SINGLE_EXPR`.
struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        match self.rest.get(..token.len()) {
            Some(head) if head.eq_ignore_ascii_case(token) => {
                self.rest = &self.rest[token.len()..];
                true
            }
            _ => false,
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let end = self.rest.find(|c: char| !keep(c)).unwrap_or(self.rest.len());
        let (head, tail) = self.rest.split_at(end);
        self.rest = tail;
        head
    }

    /// Digits, if any: `Ok(None)` when there are none, `Err` when they overflow.
    fn number(&mut self) -> Result<Option<u64>, ()> {
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() { Ok(None) } else { digits.parse().map(Some).map_err(|_| ()) }
    }

    /// `\s*N\s*(/|\s*per\s*)\s*M?\s*unit\s*`
    fn item(&mut self) -> Option<RateLimitItem> {
        self.skip_space();
        let amount = self.number().ok()??;
        self.skip_space();
        if !(self.eat("/") || self.eat("per")) {
            return None;
        }
        self.skip_space();
        let multiples = self.number().ok()?;
        self.skip_space();
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        let granularity = Granularity::from_word(word)?;
        self.skip_space();
        Some(RateLimitItem::new(amount, multiples.unwrap_or(1), granularity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &str) -> Vec<String> {
        parse_many(s).unwrap_or_else(|e| panic!("{s}: {e}")).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn single_items_in_every_form() {
        assert_eq!(shown("10/minute"), ["10 per 1 minute"]);
        assert_eq!(shown("10 per minute"), ["10 per 1 minute"]);
        assert_eq!(shown("10 PER Minute"), ["10 per 1 minute"]);
        assert_eq!(shown("  10  /  2  hours  "), ["10 per 2 hour"]);
        assert_eq!(shown("1/second"), ["1 per 1 second"]);
        assert_eq!(shown("3/days"), ["3 per 1 day"]);
        assert_eq!(shown("3 per 2 months"), ["3 per 2 month"]);
        assert_eq!(shown("3/YEAR"), ["3 per 1 year"]);
        assert_eq!(shown("10per minute"), ["10 per 1 minute"]);
    }

    #[test]
    fn several_items_with_every_separator() {
        assert_eq!(shown("100/day, 500/7days"), ["100 per 1 day", "500 per 7 day"]);
        assert_eq!(
            shown("5/2 seconds;10/hour;100/day;2000 per year"),
            ["5 per 2 second", "10 per 1 hour", "100 per 1 day", "2000 per 1 year"]
        );
        assert_eq!(shown("1/second|2/minute"), ["1 per 1 second", "2 per 1 minute"]);
    }

    #[test]
    fn granularities_have_limits_lengths() {
        let secs = |s: &str| parse_many(s).unwrap()[0].expiry().as_secs();
        assert_eq!(secs("1/second"), 1);
        assert_eq!(secs("1/minute"), 60);
        assert_eq!(secs("1/hour"), 3600);
        assert_eq!(secs("1/day"), 86_400);
        assert_eq!(secs("1/month"), 2_592_000);
        assert_eq!(secs("1/year"), 31_104_000);
        assert_eq!(secs("1/7 days"), 604_800);
    }

    #[test]
    fn invalid_strings_are_errors_naming_the_string() {
        for bad in [
            "10/hour;",
            "10 per",
            "10 hour",
            "10/minute 20/hour",
            "10/fortnight",
            "10/minutess",
            "",
            "per minute",
            "-1/minute",
            "10/minute;;5/second",
            "1.5/minute",
            "99999999999999999999999/second",
        ] {
            let err = parse_many(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("couldn't parse rate limit string '{bad}'"));
        }
    }

    #[test]
    fn zero_amount_is_valid_and_zero_multiples_means_one() {
        assert_eq!(parse_many("0/second").unwrap()[0].amount(), 0);
        assert_eq!(shown("10/0 seconds"), ["10 per 1 second"]);
    }

    #[test]
    fn colon_before_separator_is_accepted_as_limits_does() {
        assert_eq!(shown("1/second:;2/minute"), ["1 per 1 second", "2 per 1 minute"]);
        assert!(parse_many("1/second:").is_err());
    }

    #[test]
    fn keys_follow_limits_layout() {
        let item = parse_many("5/2 seconds").unwrap()[0];
        assert_eq!(item.key_suffix(), "/5/2/second");
    }
}
