//! How values are stored: a compact, versioned byte format shared by every backend.
//!
//! - An integer (`i64`) is stored as its decimal digits (`42`, `-7`), with no header, so that
//!   Redis `INCRBY` can change it in place and other clients read it as a number, as
//!   Flask-Caching's Redis backend also does.
//! - Anything else is one version byte (`0x01`) followed by the value's JSON (`serde_json`).
//!   The byte is never a digit or `-`, so the two forms cannot be confused, and a later
//!   format gets a new byte while old entries stay readable (or read as misses).
//!
//! - Text stored with [`Cache::set_text`](crate::Cache::set_text) (rendered HTML, say) is one
//!   version byte (`0x03`) followed by its UTF-8 bytes as they are: no escaping to write, no
//!   unescaping to read, which for a page fragment full of `"` is most of what JSON would cost.
//!   Read as a `T`, it is the string handed to `T`'s `Deserialize`, so `get::<String>` works.
//!
//! JSON is chosen over a binary format because `serde_json` is already in every phial app,
//! it round-trips every serde type this crate is asked to store (maps with string keys,
//! `Option`, enums), and cached values can be read with `redis-cli` when debugging. Response
//! bodies, the bulk of what a web cache stores, bypass it: the response layer keeps them as
//! raw bytes (see `response.rs`).

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CacheError;

/// The version byte of JSON values.
pub(crate) const JSON_V1: u8 = 0x01;
/// The version byte of cached HTTP responses.
pub(crate) const RESPONSE_V1: u8 = 0x02;
/// The version byte of text stored as it is.
pub(crate) const TEXT_V1: u8 = 0x03;

/// Encodes `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, CacheError> {
    let mut out = BytesMut::with_capacity(64).writer();
    out.get_mut().put_u8(JSON_V1);
    serde_json::to_writer(&mut out, value).map_err(|err| CacheError::Encode(err.to_string()))?;
    let out = out.into_inner();
    // A bare integer is stored as digits, so INCRBY works on it.
    if is_integer(&out[1..]) {
        return Ok(out.freeze().slice(1..));
    }
    Ok(out.freeze())
}

/// Encodes an integer counter.
pub(crate) fn encode_integer(value: i64) -> Bytes {
    Bytes::from(value.to_string())
}

/// Encodes text as it is.
pub(crate) fn encode_text(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(1 + text.len());
    out.put_u8(TEXT_V1);
    out.put_slice(text.as_bytes());
    out.freeze()
}

/// Decodes what [`encode_text`] wrote, or a string [`encode`] wrote.
pub(crate) fn decode_text(key: &str, bytes: &[u8]) -> Result<String, CacheError> {
    match bytes.split_first() {
        Some((&TEXT_V1, text)) => text_of(key, text).map(str::to_owned),
        _ => decode(key, bytes),
    }
}

fn text_of<'a>(key: &str, text: &'a [u8]) -> Result<&'a str, CacheError> {
    std::str::from_utf8(text)
        .map_err(|_| CacheError::Decode { key: key.to_owned(), message: "stored text is not UTF-8".to_owned() })
}

/// Decodes what [`encode`] (or [`encode_text`]) wrote.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, CacheError> {
    let json = match bytes.first() {
        Some(&TEXT_V1) => {
            let text = text_of(key, &bytes[1..])?;
            let deserializer = serde::de::IntoDeserializer::<serde::de::value::Error>::into_deserializer(text);
            return T::deserialize(deserializer)
                .map_err(|err| CacheError::Decode { key: key.to_owned(), message: err.to_string() });
        }
        Some(&JSON_V1) => &bytes[1..],
        _ if is_integer(bytes) => bytes,
        _ => {
            return Err(CacheError::Decode {
                key: key.to_owned(),
                message: "not a value written by phial-cache (unknown format byte)".to_owned(),
            });
        }
    };
    serde_json::from_slice(json).map_err(|err| CacheError::Decode { key: key.to_owned(), message: err.to_string() })
}

/// Reads a counter.
pub(crate) fn decode_integer(bytes: &[u8]) -> Option<i64> {
    if !is_integer(bytes) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Whether `bytes` are an optional `-` and 1 to 19 digits (what `i64` prints).
fn is_integer(bytes: &[u8]) -> bool {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    (1..=19).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn integers_are_plain_digits_and_other_values_carry_a_version() {
        assert_eq!(&encode(&42_i64).unwrap()[..], b"42");
        assert_eq!(&encode(&-7_i32).unwrap()[..], b"-7");
        assert_eq!(&encode("hi").unwrap()[..], b"\x01\"hi\"");
        assert_eq!(&encode(&1.5_f64).unwrap()[..], b"\x011.5");
    }

    #[test]
    fn values_round_trip() {
        let mut map = BTreeMap::new();
        map.insert("a".to_owned(), vec![Some(1), None]);
        let bytes = encode(&map).unwrap();
        assert_eq!(decode::<BTreeMap<String, Vec<Option<i32>>>>("k", &bytes).unwrap(), map);
        assert_eq!(decode::<i64>("k", &encode(&i64::MIN).unwrap()).unwrap(), i64::MIN);
        assert_eq!(decode::<Option<u8>>("k", &encode(&None::<u8>).unwrap()).unwrap(), None);
    }

    #[test]
    fn text_is_stored_as_it_is_and_reads_as_a_string() {
        let html = r#"<a href="/u/1">"ada"</a>"#;
        let bytes = encode_text(html);
        assert_eq!(&bytes[..], [b"\x03", html.as_bytes()].concat());
        assert_eq!(decode_text("k", &bytes).unwrap(), html);
        assert_eq!(decode::<String>("k", &bytes).unwrap(), html);
        // A string stored as JSON reads as text too; a number stored as text does not read as one.
        assert_eq!(decode_text("k", &encode(html).unwrap()).unwrap(), html);
        assert!(decode::<u32>("k", &encode_text("12")).is_err());
        assert!(matches!(decode_text("k", b"\x03\xff\xfe"), Err(CacheError::Decode { .. })));
    }

    #[test]
    fn foreign_bytes_are_a_decode_error_not_a_panic() {
        let err = decode::<String>("k", b"\x7fgarbage").unwrap_err();
        assert!(matches!(err, CacheError::Decode { .. }), "{err}");
        assert!(decode::<String>("k", b"").is_err());
        assert_eq!(decode_integer(b"12"), Some(12));
        assert_eq!(decode_integer(b"\x0112"), None);
    }
}
