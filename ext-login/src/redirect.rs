//! [`safe_next`]: the one check every redirect of this crate goes through.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// How many rounds of percent-decoding are checked; more nesting than this is refused.
const MAX_DECODE_ROUNDS: usize = 4;

/// `url` when it is a relative path on this site, else `None`.
///
/// Accepted: a path that starts with one `/`, with an optional query and fragment, such as
/// `/account?tab=2` (returned exactly as given). Refused, also when percent-encoded (once or
/// several times): scheme-relative URLs (`//x`, `///x`), backslashes that browsers read as
/// slashes (`/\x`, `\\x`), any scheme (`javascript:`, `https:`), anything not starting with
/// `/`, and control characters (which browsers strip, turning `/\t/x` into `//x`).
///
/// Flask-Login's `login_url` carries `next`, but checking it is left to each app, and the
/// usual check (`urlparse(next).netloc == ""`) lets `/\x` and `///x` through.
///
/// # Examples
///
/// ```
/// use phial_login::safe_next;
///
/// assert_eq!(safe_next("/account?tab=2"), Some("/account?tab=2"));
/// assert_eq!(safe_next("//evil.example"), None);
/// assert_eq!(safe_next("/\\evil.example"), None);
/// assert_eq!(safe_next("/%2F%2Fevil.example"), None);
/// assert_eq!(safe_next("javascript:alert(1)"), None);
/// ```
pub fn safe_next(url: &str) -> Option<&str> {
    let mut current: Cow<'_, str> = Cow::Borrowed(url);
    for _ in 0..MAX_DECODE_ROUNDS {
        if !is_safe_path(&current) {
            return None;
        }
        let decoded = percent_decode_str(&current).decode_utf8().ok()?;
        if decoded == current {
            return Some(url);
        }
        current = Cow::Owned(decoded.into_owned());
    }
    None
}

/// `next` checked by [`safe_next`], or `default`.
///
/// # Examples
///
/// ```
/// use phial_login::next_or;
///
/// assert_eq!(next_or(Some("/inbox"), "/"), "/inbox");
/// assert_eq!(next_or(Some("https://evil.example/"), "/"), "/");
/// assert_eq!(next_or(None, "/home"), "/home");
/// ```
pub fn next_or<'a>(next: Option<&'a str>, default: &'a str) -> &'a str {
    next.and_then(safe_next).unwrap_or(default)
}

fn is_safe_path(path: &str) -> bool {
    let mut chars = path.chars();
    if chars.next() != Some('/') {
        return false;
    }
    if matches!(chars.next(), Some('/' | '\\')) {
        return false;
    }
    // Only the path part decides where a browser goes; `?next=//x` in a query is harmless, but
    // a backslash or control character anywhere is suspect enough to refuse.
    !path.chars().any(|c| c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_pass_unchanged() {
        for url in ["/", "/account?tab=2", "/a/b#frag", "/search?q=%2F%2F", "/caf%C3%A9"] {
            assert_eq!(safe_next(url), Some(url), "{url}");
        }
    }

    #[test]
    fn open_redirect_vectors_are_refused() {
        for url in [
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "https://evil.example/",
            "http:evil.example",
            "evil.example",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "%2F%2Fevil.example",
            "/%2Fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%252Fevil.example",
            "/%25252F%25252Fevil.example",
            "%6Aavascript:alert(1)",
            "/%E0%A4%A",
        ] {
            assert_eq!(safe_next(url), None, "{url:?}");
        }
    }
}
