//! Small readers of request and response headers that the core and every extension share:
//! a cookie's value, the client's address behind trusted proxies, `Vary`.
//!
//! They work on plain [`http`] types, so they serve in bare axum apps as well.

use std::net::IpAddr;
use std::ops::Range;

use http::HeaderMap;
use http::header::{COOKIE, HeaderValue, VARY};

/// The value of the first cookie called `name` in the request's `Cookie` headers, surrounding
/// double quotes removed.
///
/// HTTP/2 clients may split cookies over several `Cookie` headers; all are searched. Browsers
/// send the cookie with the most specific path first, and Flask (Werkzeug) takes the first too.
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::COOKIE};
/// use phial_core::request::cookie;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(COOKIE, HeaderValue::from_static("theme=dark; session=\"abc.def\""));
/// assert_eq!(cookie(&headers, "session"), Some("abc.def"));
/// assert_eq!(cookie(&headers, "missing"), None);
/// ```
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let (header, range) = cookie_position(headers, name)?;
    std::str::from_utf8(&header.as_bytes()[range]).ok()
}

/// Where [`cookie`] finds the value of `name`: the `Cookie` header holding it and the value's
/// byte range in that header, for callers that keep the value without copying it (a
/// `HeaderValue` clone shares the request's bytes).
///
/// Bytes, not `HeaderValue::to_str`: that checks the whole header (every cookie of the site) on
/// each lookup; only the value found needs checking. A `HeaderValue` holds no control characters
/// but tabs, so a value that is ASCII is what `to_str` would accept.
pub(crate) fn cookie_position<'a>(headers: &'a HeaderMap, name: &str) -> Option<(&'a HeaderValue, Range<usize>)> {
    let (header, range) = headers
        .get_all(COOKIE)
        .iter()
        .find_map(|header| Some((header, find_cookie(header.as_bytes(), name.as_bytes())?)))?;
    header.as_bytes()[range.clone()].is_ascii().then_some((header, range))
}

/// The range of the first `name=value` pair's value in one `Cookie` header, spaces and one pair
/// of surrounding double quotes removed.
fn find_cookie(header: &[u8], name: &[u8]) -> Option<Range<usize>> {
    let mut start = 0;
    loop {
        let end = memchr::memchr(b';', &header[start..]).map_or(header.len(), |at| start + at);
        let pair = &header[start..end];
        let key = start + (pair.len() - pair.trim_ascii_start().len());
        if header[key..end].starts_with(name) && header.get(key + name.len()) == Some(&b'=') {
            return Some(trimmed(header, key + name.len() + 1..end));
        }
        start = end.checked_add(1).filter(|&next| next <= header.len())?;
    }
}

/// `range` of `bytes` without surrounding ASCII whitespace and one pair of double quotes.
fn trimmed(bytes: &[u8], range: Range<usize>) -> Range<usize> {
    let value = &bytes[range.clone()];
    let start = range.start + (value.len() - value.trim_ascii_start().len());
    let mut range = start..start + value.trim_ascii().len();
    if range.len() >= 2 && bytes[range.start] == b'"' && bytes[range.end - 1] == b'"' {
        range.start += 1;
        range.end -= 1;
    }
    range
}

/// The client's address: the peer's, or, behind `trusted_proxies` proxies that each append the
/// address they saw to `X-Forwarded-For`, the entry that the outermost trusted proxy appended
/// (Werkzeug's `ProxyFix(x_for=trusted_proxies)`).
///
/// With `trusted_proxies = 0` the header is ignored: a client can write anything in it. With
/// `n`, only the `n` right-most entries were written by proxies you run; anything further left
/// is the client's own and is never used. A header with fewer entries than `n`, or whose entry
/// is not an IP address, leaves the peer's address.
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use http::{HeaderMap, HeaderValue};
/// use phial_core::request::client_ip;
///
/// let proxy: IpAddr = "10.0.0.2".parse().unwrap();
/// let mut headers = HeaderMap::new();
/// // The client wrote "6.6.6.6"; the one proxy in front of the app appended what it saw.
/// headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
///
/// assert_eq!(client_ip(&headers, Some(proxy), 0), Some(proxy));
/// assert_eq!(client_ip(&headers, Some(proxy), 1), Some("203.0.113.7".parse().unwrap()));
/// ```
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted_proxies: usize) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let forwarded = entries.len().checked_sub(trusted_proxies).and_then(|index| parse_ip(entries[index]));
    forwarded.or(peer)
}

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]`, or with a port.
fn parse_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    let host = match entry.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => entry.rsplit_once(':').map_or(entry, |(host, _)| host),
    };
    host.parse().ok()
}

/// Adds `name` (a header name, e.g. `"Cookie"`) to the response's `Vary` header unless a
/// `Vary` already names it, in any case, or says `*`.
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::VARY};
/// use phial_core::request::add_vary;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
/// add_vary(&mut headers, "Cookie");
/// add_vary(&mut headers, "Cookie");
/// let vary: Vec<_> = headers.get_all(VARY).iter().collect();
/// assert_eq!(vary, ["Accept-Encoding", "Cookie"]);
/// ```
pub fn add_vary(headers: &mut HeaderMap, name: &'static str) {
    let covered = headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').map(str::trim).any(|token| token == "*" || token.eq_ignore_ascii_case(name)));
    if !covered {
        headers.append(VARY, HeaderValue::from_static(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn cookies_split_over_several_headers_are_all_searched() {
        let headers = headers(&[("cookie", "a=1"), ("cookie", "b=2; session=x")]);
        assert_eq!(cookie(&headers, "session"), Some("x"));
        assert_eq!(cookie(&headers, "a"), Some("1"));
        // The first of two cookies with one name wins.
        let headers = self::headers(&[("cookie", "s=first; s=second")]);
        assert_eq!(cookie(&headers, "s"), Some("first"));
    }

    #[test]
    fn vary_is_added_once_whatever_the_case() {
        let mut headers = headers(&[("vary", "Accept-Encoding, cookie")]);
        add_vary(&mut headers, "Cookie");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
        let mut headers = self::headers(&[("vary", "*")]);
        add_vary(&mut headers, "Cookie");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
    }

    #[test]
    fn cookie_names_match_exactly() {
        let headers = headers(&[("cookie", "xsession=1; session2=2; session =3")]);
        assert_eq!(cookie(&headers, "session"), None);
    }

    #[test]
    fn values_lose_surrounding_spaces_and_one_pair_of_quotes() {
        let headers = headers(&[("cookie", "a= 1 ;b=\"2.3\";c=\"\";d=;e=\"x;f=   ;g= \" y \" ")]);
        assert_eq!(cookie(&headers, "a"), Some("1"));
        assert_eq!(cookie(&headers, "b"), Some("2.3"));
        assert_eq!(cookie(&headers, "c"), Some(""));
        assert_eq!(cookie(&headers, "d"), Some(""));
        assert_eq!(cookie(&headers, "e"), Some("\"x"));
        assert_eq!(cookie(&headers, "f"), Some(""));
        assert_eq!(cookie(&headers, "g"), Some(" y "));
    }

    #[test]
    fn only_the_value_found_must_be_visible_ascii() {
        let mut headers = HeaderMap::new();
        let value =
            HeaderValue::from_bytes(b"other=caf\xc3\xa9; session=abc; quoted=\"\xff\"").expect("obs-text is allowed");
        headers.insert(COOKIE, value);
        assert_eq!(cookie(&headers, "session"), Some("abc"));
        assert_eq!(cookie(&headers, "other"), None);
        assert_eq!(cookie(&headers, "quoted"), None);
    }

    #[test]
    fn spoofed_forwarded_for_is_ignored_without_trusted_proxies() {
        let peer: IpAddr = "198.51.100.1".parse().unwrap();
        let headers = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(&headers, Some(peer), 0), Some(peer));
    }

    #[test]
    fn the_hop_the_outermost_trusted_proxy_appended_is_the_client() {
        let peer: IpAddr = "10.0.0.3".parse().unwrap();
        // client-written, client as seen by proxy 1, proxy 1 as seen by proxy 2
        let headers = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(client_ip(&headers, Some(peer), 2), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(client_ip(&headers, Some(peer), 1), Some("10.0.0.2".parse().unwrap()));
        // Fewer entries than trusted proxies: the header cannot be trusted.
        assert_eq!(client_ip(&headers, Some(peer), 4), Some(peer));
    }

    #[test]
    fn forwarded_entries_with_ports_and_brackets_parse() {
        assert_eq!(parse_ip("203.0.113.7:4711"), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(parse_ip("[2001:db8::1]:443"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_ip("2001:db8::1"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_ip("unknown"), None);
    }
}
