//! Key functions: who a hit is counted against (Flask-Limiter's `key_func`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::HeaderName;
use http::request::Parts;

type CustomKey = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// Who a hit counts against: the client's address (default), an API key header, a user id, or
/// anything a closure reads from the request.
///
/// A key function that finds nothing (`None`) skips the limit for that request, as
/// Flask-Limiter skips a limit whose key is empty.
///
/// # Examples
///
/// ```
/// use phial_limiter::KeyFunc;
///
/// let by_address = KeyFunc::peer_address();
/// let by_api_key = KeyFunc::header("x-api-key");
/// // A user id that an auth layer put in the request extensions.
/// #[derive(Clone)]
/// struct UserId(u64);
/// let by_user = KeyFunc::custom(|parts| parts.extensions.get::<UserId>().map(|id| id.0.to_string()));
/// # let _ = (by_address, by_api_key, by_user);
/// ```
#[derive(Clone)]
pub struct KeyFunc(Kind);

#[derive(Clone)]
enum Kind {
    Peer,
    Header(HeaderName),
    Custom(Arc<CustomKey>),
}

impl fmt::Debug for KeyFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Peer => f.write_str("KeyFunc::peer_address()"),
            Kind::Header(name) => write!(f, "KeyFunc::header({name:?})"),
            Kind::Custom(_) => f.write_str("KeyFunc::custom(..)"),
        }
    }
}

impl Default for KeyFunc {
    fn default() -> Self {
        Self::peer_address()
    }
}

impl KeyFunc {
    /// The client's IP address (`get_remote_address`): the TCP peer from axum's
    /// `ConnectInfo`, or with trusted proxies the address the outermost trusted proxy saw
    /// (see [`client_address`]).
    pub fn peer_address() -> Self {
        Self(Kind::Peer)
    }

    /// The value of request header `name`, e.g. an API key. A missing header skips the limit;
    /// combine with a default limit keyed by address to limit anonymous clients too. A value
    /// longer than 128 bytes (as with [`custom`](Self::custom) keys) is stored by its SHA-256,
    /// so a client's long header costs the storage no more than a short one.
    ///
    /// # Panics
    ///
    /// When `name` is not a valid header name (a programming error, found at startup).
    #[track_caller]
    pub fn header(name: &str) -> Self {
        Self(Kind::Header(HeaderName::from_bytes(name.as_bytes()).expect("a valid header name")))
    }

    /// Any key read from the request head (user id, tenant, ...).
    pub fn custom(key: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Kind::Custom(Arc::new(key)))
    }

    /// The key of this request, if any.
    pub(crate) fn key(&self, parts: &Parts, trusted_proxies: usize) -> Option<ClientKey> {
        match &self.0 {
            Kind::Peer => client_address(parts, trusted_proxies).map(ClientKey::Ip),
            Kind::Header(name) => parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(|v| ClientKey::text(v.to_owned())),
            Kind::Custom(key) => key(parts).filter(|k| !k.is_empty()).map(ClientKey::text),
        }
    }
}

/// Text keys longer than this are stored as their SHA-256 (`sha256:` and 64 hex digits).
const MAX_KEY_TEXT: usize = 128;

/// A key function's answer. An address stays an address until it is written into the
/// storage key, so the common case formats it once, straight into that key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientKey {
    Ip(IpAddr),
    Text(String),
}

impl ClientKey {
    /// A text key; a long one (a header is the client's to fill) by its digest, so that each
    /// of the storage's keys costs at most a few hundred bytes whatever the client sent.
    fn text(text: String) -> Self {
        if text.len() <= MAX_KEY_TEXT {
            return Self::Text(text);
        }
        Self::Text(format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))))
    }

    /// Appends the key's text to `out`.
    pub(crate) fn push_to(&self, out: &mut String) {
        match self {
            Self::Ip(ip) => push_ip(out, *ip),
            Self::Text(text) => out.push_str(text),
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// Appends `ip` as `Display` writes it; version 4 addresses by hand, because `Display` goes
/// through the formatter's padding machinery and this runs on every request.
fn push_ip(out: &mut String, ip: IpAddr) {
    let IpAddr::V4(v4) = ip else {
        use fmt::Write as _;
        let _ = write!(out, "{ip}");
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// The client's address: the TCP peer, or with `trusted_proxies = N > 0` the N-th address from
/// the right of `X-Forwarded-For` (Werkzeug's `ProxyFix(x_for=N)`): each trusted proxy appends
/// the address it saw, so that entry is the right-most one no client could forge. Entries left
/// of it are the client's own words and are never used. Without enough entries, or with an
/// entry that is not an IP address (with or without a port), the TCP peer is used. The same
/// rule as phial-login's, from [`phial_core::request::client_ip`].
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use axum::extract::ConnectInfo;
/// use phial_limiter::client_address;
///
/// let (mut parts, ()) = http::Request::builder()
///     .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
///     .body(())
///     .unwrap()
///     .into_parts();
/// parts.extensions.insert(ConnectInfo("10.0.0.2:5000".parse::<SocketAddr>().unwrap()));
/// assert_eq!(client_address(&parts, 0).unwrap().to_string(), "10.0.0.2");
/// assert_eq!(client_address(&parts, 1).unwrap().to_string(), "203.0.113.7");
/// ```
pub fn client_address(parts: &Parts, trusted_proxies: usize) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    phial_core::request::client_ip(&parts.headers, peer, trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(forwarded: &[&str]) -> Parts {
        let mut builder = http::Request::builder();
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 1234))));
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        assert_eq!(
            KeyFunc::peer_address().key(&parts(&["6.6.6.6"]), 0).map(|k| k.to_string()).as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn trusted_proxies_take_the_right_most_untrusted_hop() {
        let p = parts(&["1.1.1.1, 2.2.2.2", "3.3.3.3"]);
        assert_eq!(KeyFunc::peer_address().key(&p, 1).map(|k| k.to_string()).as_deref(), Some("3.3.3.3"));
        assert_eq!(KeyFunc::peer_address().key(&p, 2).map(|k| k.to_string()).as_deref(), Some("2.2.2.2"));
        // Fewer entries than proxies: the header is not what the proxies wrote.
        assert_eq!(KeyFunc::peer_address().key(&p, 4).map(|k| k.to_string()).as_deref(), Some("10.0.0.1"));
        // Garbage is not a key.
        assert_eq!(
            KeyFunc::peer_address().key(&parts(&["nonsense"]), 1).map(|k| k.to_string()).as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn ipv4_text_matches_display() {
        for ip in ["0.0.0.0", "10.0.0.1", "203.0.113.255", "99.100.9.199", "255.255.255.255", "::1", "2001:db8::7"] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut text = String::new();
            push_ip(&mut text, ip);
            assert_eq!(text, ip.to_string());
        }
    }

    #[test]
    fn long_text_keys_are_stored_by_their_digest() {
        let key = |value: &str| {
            let p = parts(&[]);
            KeyFunc::custom({
                let value = value.to_owned();
                move |_| Some(value.clone())
            })
            .key(&p, 0)
            .map(|k| k.to_string())
            .unwrap()
        };
        let short = "k".repeat(MAX_KEY_TEXT);
        assert_eq!(key(&short), short);
        let long = key(&"k".repeat(64 * 1024));
        assert_eq!(long.len(), "sha256:".len() + 64, "{long}");
        assert!(long.starts_with("sha256:"));
        assert_eq!(long, key(&"k".repeat(64 * 1024)), "the same text, the same key");
        assert_ne!(long, key(&("k".repeat(64 * 1024 - 1) + "j")));
    }

    #[test]
    fn header_and_custom_keys_skip_when_absent() {
        let p = parts(&[]);
        assert_eq!(KeyFunc::header("x-api-key").key(&p, 0), None);
        assert_eq!(
            KeyFunc::custom(|_| Some("tenant-1".into())).key(&p, 0).map(|k| k.to_string()).as_deref(),
            Some("tenant-1")
        );
    }
}
