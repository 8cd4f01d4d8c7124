//! The cookie jar of a [`TestClient`](super::TestClient): RFC 6265 for a single host.

use time::{Date, Duration, Month, OffsetDateTime, Time};

/// The cookies a [`TestClient`] holds, following RFC 6265 for a single host.
#[derive(Clone, Debug, Default)]
pub(super) struct CookieJar {
    /// In creation order, which breaks ties when cookies are sent.
    pub(super) cookies: Vec<StoredCookie>,
}

#[derive(Clone, Debug)]
pub(super) struct StoredCookie {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) path: String,
    pub(super) expires: Option<OffsetDateTime>,
}

impl StoredCookie {
    fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

impl CookieJar {
    /// Stores `cookie`, replacing one with the same name and path; an expired cookie only
    /// removes.
    pub(super) fn store(&mut self, cookie: StoredCookie, now: OffsetDateTime) {
        let existing = self.cookies.iter().position(|c| c.name == cookie.name && c.path == cookie.path);
        if !cookie.is_live(now) {
            if let Some(index) = existing {
                self.cookies.remove(index);
            }
            return;
        }
        match existing {
            // Replacing in place keeps the original creation order, as browsers do.
            Some(index) => self.cookies[index] = cookie,
            None => self.cookies.push(cookie),
        }
    }

    /// The `Cookie` header value for a request to `path`: longest paths first.
    pub(super) fn header_for(&mut self, path: &str, now: OffsetDateTime) -> Option<String> {
        self.cookies.retain(|c| c.is_live(now));
        let mut matching: Vec<&StoredCookie> = self.cookies.iter().filter(|c| path_matches(path, &c.path)).collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching.iter().map(|c| format!("{}={}", c.name, c.value)).collect();
        Some(pairs.join("; "))
    }

    pub(super) fn value(&mut self, name: &str, now: OffsetDateTime) -> Option<String> {
        self.cookies.retain(|c| c.is_live(now));
        let named = self.cookies.iter().filter(|c| c.name == name);
        named.max_by_key(|c| c.path.len()).map(|c| c.value.clone())
    }
}

/// RFC 6265 path-match: `/admin` matches `/admin`, `/admin/` and `/admin/users`, not `/administrator`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path
        .strip_prefix(cookie_path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || cookie_path.ends_with('/'))
}

/// The path a cookie gets without a `Path` attribute: the "directory" of the request path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(index) => request_path[..index].to_owned(),
    }
}

/// Parses one `Set-Cookie` line; `None` for a line browsers would ignore.
pub(super) fn parse_set_cookie(line: &str, request_path: &str, now: OffsetDateTime) -> Option<StoredCookie> {
    let mut attributes = line.split(';');
    let (name, value) = attributes.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = StoredCookie {
        name: name.to_owned(),
        value: value.trim().to_owned(),
        path: default_path(request_path),
        expires: None,
    };
    let mut max_age = None;
    for attribute in attributes {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("path") {
            cookie.path = if value.starts_with('/') { value.to_owned() } else { default_path(request_path) };
        } else if key.eq_ignore_ascii_case("max-age") && !value.starts_with('+') {
            max_age = value.parse::<i64>().ok().or(max_age);
        } else if key.eq_ignore_ascii_case("expires") {
            cookie.expires = parse_cookie_date(value).or(cookie.expires);
        }
        // Domain, Secure, HttpOnly and SameSite change nothing for one in-process host.
    }
    // Max-Age wins over Expires, wherever it appears.
    match max_age {
        Some(seconds) if seconds <= 0 => cookie.expires = Some(OffsetDateTime::UNIX_EPOCH),
        Some(seconds) => cookie.expires = now.checked_add(Duration::seconds(seconds)),
        None => {}
    }
    Some(cookie)
}

/// Parses a cookie date with the lenient algorithm of RFC 6265, section 5.1.1, which accepts
/// `Wed, 21 Oct 2015 07:28:00 GMT` and the older variants servers still send.
pub(super) fn parse_cookie_date(input: &str) -> Option<OffsetDateTime> {
    let is_delimiter = |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~');
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in input.split(is_delimiter).filter(|t| !t.is_empty()) {
        if time.is_none()
            && let Some(found) = parse_time_token(token)
        {
            time = Some(found);
        } else if day.is_none()
            && let Some(found) = leading_number(token, 1, 2)
        {
            day = Some(found);
        } else if month.is_none()
            && let Some(found) = parse_month(token)
        {
            month = Some(found);
        } else if year.is_none()
            && let Some(found) = leading_number(token, 2, 4)
        {
            year = Some(found);
        }
    }
    let (hour, minute, second) = time?;
    let year = match year? {
        y @ 70..=99 => y + 1900,
        y @ 0..=69 => y + 2000,
        y => y,
    };
    if year < 1601 {
        return None;
    }
    let day = u8::try_from(day?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month?, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(date.with_time(time).assume_utc())
}

/// `hh:mm:ss` with one or two digits each, optionally followed by non-digits.
fn parse_time_token(token: &str) -> Option<(u8, u8, u8)> {
    let mut fields = token.splitn(3, ':');
    let hour = leading_number(fields.next()?, 1, 2)?;
    let minute = leading_number(fields.next()?, 1, 2)?;
    let second = leading_number(fields.next()?, 1, 2)?;
    Some((u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?))
}

/// A token of `min..=max` digits, optionally followed by non-digits.
fn leading_number(token: &str, min: usize, max: usize) -> Option<u32> {
    let digits = token.bytes().take_while(u8::is_ascii_digit).count();
    if !(min..=max).contains(&digits) {
        return None;
    }
    token[..digits].parse().ok()
}

fn parse_month(token: &str) -> Option<Month> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let prefix = token.get(..3)?;
    let index = MONTHS.iter().position(|m| prefix.eq_ignore_ascii_case(m))?;
    Month::try_from(u8::try_from(index + 1).ok()?).ok()
}
