//! [`CookieSigner`]: HMAC-SHA256 signatures with an issue time and key rotation.
//!
//! A signed value reads `payload.timestamp.signature`, each part base64url without padding:
//! the payload bytes, the issue time in seconds since the Unix epoch (big-endian, leading zero
//! bytes dropped, as itsdangerous writes it), and the HMAC-SHA256 of `payload.timestamp`. The
//! signature is checked before anything else in the value is decoded.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Error;
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// How far in the future an issue time may lie, for clocks that differ between instances.
const CLOCK_SKEW: Duration = Duration::from_mins(5);

/// Signs and verifies cookie values with the app's secret key.
///
/// The HMAC key is derived from the secret key and a purpose salt (`"phial.session"` for
/// [`CookieSigner::new`]), so the same secret key used for CSRF tokens or remember-me cookies
/// produces signatures that sessions refuse. Values are signed with the current secret key and
/// verified with it and then with each fallback (Flask's `SECRET_KEY_FALLBACKS`), so a key can
/// be rotated without logging everyone out.
///
/// Cloning is cheap enough for setup code (a few keyed HMAC states); share one per app.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::Secret;
/// use phial_core::session::CookieSigner;
///
/// let old = CookieSigner::new(&Secret::new("old key"), &[])?;
/// let signed = old.sign(br#"{"user_id":42}"#);
///
/// // After rotating the key, values signed with the old one still verify.
/// let rotated = CookieSigner::new(&Secret::new("new key"), &[Secret::new("old key")])?;
/// let verified = rotated.verify(&signed, Duration::from_secs(3600))?;
/// assert_eq!(verified.payload, br#"{"user_id":42}"#);
/// assert!(verified.used_fallback);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CookieSigner {
    /// The current key first, then the fallbacks, each as a keyed HMAC state ready to clone.
    keys: Vec<HmacSha256>,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieSigner").field("fallbacks", &self.keys.len().saturating_sub(1)).finish_non_exhaustive()
    }
}

impl CookieSigner {
    /// The purpose salt of session cookies.
    pub const SESSION_SALT: &'static str = "phial.session";

    /// A signer for session cookies: signs with `secret`, verifies with `secret` then each of
    /// `fallbacks`, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `secret` or a fallback is empty: an empty key would make every
    /// signature forgeable.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Secret;
    /// use phial_core::session::CookieSigner;
    ///
    /// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
    /// assert!(CookieSigner::new(&Secret::new(""), &[]).is_err());
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn new(secret: &Secret, fallbacks: &[Secret]) -> Result<Self, Error> {
        Self::with_salt(Self::SESSION_SALT, secret, fallbacks)
    }

    /// A signer for another purpose than sessions, e.g. `"phial.remember"`; signatures made
    /// with one salt never verify with another.
    ///
    /// # Errors
    ///
    /// As [`CookieSigner::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use phial_core::Secret;
    /// use phial_core::session::CookieSigner;
    ///
    /// let key = Secret::new("one secret key");
    /// let sessions = CookieSigner::new(&key, &[])?;
    /// let remember = CookieSigner::with_salt("phial.remember", &key, &[])?;
    /// let signed = remember.sign(b"user 42");
    /// assert!(sessions.verify(&signed, Duration::from_secs(60)).is_err());
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    pub fn with_salt(salt: &str, secret: &Secret, fallbacks: &[Secret]) -> Result<Self, Error> {
        let keys = std::iter::once(("app.secret_key", secret))
            .chain(fallbacks.iter().map(|fallback| ("app.secret_key_fallbacks", fallback)))
            .map(|(key, secret)| {
                if secret.is_empty() {
                    return Err(Error::config(key, "is empty; sessions need a secret key to sign cookies"));
                }
                Ok(keyed(&derive_key(secret, salt)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// Signs `payload` with the current key and the current time.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Secret;
    /// use phial_core::session::CookieSigner;
    ///
    /// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
    /// assert_eq!(signer.sign(b"hello").split('.').count(), 3);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    #[must_use]
    pub fn sign(&self, payload: &[u8]) -> String {
        self.sign_at(payload, SystemTime::now())
    }

    /// Signs `payload` with the current key and the current time, and returns the issue time
    /// the value carries (whole seconds), as [`verify`](Self::verify) will read it.
    pub(crate) fn sign_now(&self, payload: &[u8]) -> (String, SystemTime) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |age| age.as_secs());
        let issued_at = UNIX_EPOCH + Duration::from_secs(now);
        (self.sign_at(payload, issued_at), issued_at)
    }

    /// Signs `payload` as if issued at `issued_at`: for tests that need an old (expired) value
    /// without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use phial_core::Secret;
    /// use phial_core::session::{CookieSigner, SignatureError};
    ///
    /// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
    /// let old = signer.sign_at(b"hello", SystemTime::now() - Duration::from_secs(7200));
    /// assert_eq!(signer.verify(&old, Duration::from_secs(3600)).unwrap_err(), SignatureError::Expired);
    /// # Ok::<(), phial_core::Error>(())
    /// ```
    #[must_use]
    pub fn sign_at(&self, payload: &[u8], issued_at: SystemTime) -> String {
        let seconds = issued_at.duration_since(UNIX_EPOCH).map_or(0, |age| age.as_secs()).to_be_bytes();
        let first = seconds.iter().position(|&byte| byte != 0).unwrap_or(seconds.len() - 1);
        let mut value = URL_SAFE_NO_PAD.encode(payload);
        value.push('.');
        URL_SAFE_NO_PAD.encode_string(&seconds[first..], &mut value);
        let signature = self.current().chain_update(value.as_bytes()).finalize().into_bytes();
        value.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut value);
        value
    }

    /// Checks `value`'s signature (current key first, then the fallbacks) and its age, and
    /// returns the payload.
    ///
    /// The signature comparison is constant-time ([`Mac::verify_slice`] compares with `subtle`).
    ///
    /// # Errors
    ///
    /// A [`SignatureError`] saying why the value was refused. Callers that decode cookies treat
    /// every error alike, as "no value"; the kind is for debug logs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use phial_core::Secret;
    /// use phial_core::session::{CookieSigner, SignatureError};
    ///
    /// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
    /// let signed = signer.sign(b"hello");
    /// assert_eq!(signer.verify(&signed, Duration::from_secs(60))?.payload, b"hello");
    ///
    /// let tampered = signed.replacen('a', "b", 1);
    /// assert!(signer.verify(&tampered, Duration::from_secs(60)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, value: &str, max_age: Duration) -> Result<Verified, SignatureError> {
        let (signed, signature) = value.rsplit_once('.').ok_or(SignatureError::Malformed)?;
        // On the stack: an HMAC-SHA256 is 32 bytes; room for the decoder's estimate, and any
        // longer signature is malformed anyway.
        let mut buffer = [0_u8; 48];
        let length = URL_SAFE_NO_PAD.decode_slice(signature, &mut buffer).map_err(|_| SignatureError::Malformed)?;
        let signature = &buffer[..length];
        let key_index = self
            .keys
            .iter()
            .position(|key| key.clone().chain_update(signed.as_bytes()).verify_slice(signature).is_ok())
            .ok_or(SignatureError::BadSignature)?;

        let (payload, timestamp) = signed.rsplit_once('.').ok_or(SignatureError::Malformed)?;
        let issued_at = decode_timestamp(timestamp).ok_or(SignatureError::Malformed)?;
        let now = SystemTime::now();
        match now.duration_since(issued_at) {
            Ok(age) if age > max_age => return Err(SignatureError::Expired),
            Err(ahead) if ahead.duration() > CLOCK_SKEW => return Err(SignatureError::FromTheFuture),
            _ => {}
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| SignatureError::Malformed)?;
        Ok(Verified { payload, issued_at, used_fallback: key_index > 0 })
    }

    fn current(&self) -> HmacSha256 {
        self.keys.first().expect("`with_salt` always stores the current key").clone()
    }
}

/// The key for one purpose: `HMAC-SHA256(key = secret, message = salt)`.
fn derive_key(secret: &Secret, salt: &str) -> [u8; 32] {
    keyed(secret.expose().as_bytes()).chain_update(salt.as_bytes()).finalize().into_bytes().into()
}

fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn decode_timestamp(encoded: &str) -> Option<SystemTime> {
    // Eight bytes at most, in 11 characters; the decoder wants room for its estimate.
    let mut buffer = [0_u8; 12];
    let length = URL_SAFE_NO_PAD.decode_slice(encoded, &mut buffer).ok()?;
    let bytes = &buffer[..length];
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let seconds = bytes.iter().fold(0_u64, |acc, &byte| (acc << 8) | u64::from(byte));
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// A value whose signature and age [`CookieSigner::verify`] accepted.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::Secret;
/// use phial_core::session::CookieSigner;
///
/// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
/// let verified = signer.verify(&signer.sign(b"hi"), Duration::from_secs(60))?;
/// assert_eq!(verified.payload, b"hi");
/// assert!(!verified.used_fallback);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The signed bytes.
    pub payload: Vec<u8>,
    /// When the value was signed.
    pub issued_at: SystemTime,
    /// Whether a fallback key, not the current one, verified it; such values should be signed
    /// again with the current key.
    pub used_fallback: bool,
}

/// Why [`CookieSigner::verify`] refused a value.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use phial_core::Secret;
/// use phial_core::session::{CookieSigner, SignatureError};
///
/// let signer = CookieSigner::new(&Secret::new("change me"), &[])?;
/// assert_eq!(signer.verify("not a cookie", Duration::from_secs(60)), Err(SignatureError::Malformed));
/// # Ok::<(), phial_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The value is not `payload.timestamp.signature` in base64url.
    #[error("the signed value is malformed")]
    Malformed,
    /// No key produced the signature: tampered with, or signed with an unknown key.
    #[error("the signature does not match")]
    BadSignature,
    /// The value is older than the allowed age.
    #[error("the signed value has expired")]
    Expired,
    /// The value claims to be issued further in the future than clock skew explains.
    #[error("the signed value is dated in the future")]
    FromTheFuture,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_hours(1);

    fn signer(key: &str) -> CookieSigner {
        CookieSigner::new(&Secret::new(key), &[]).expect("non-empty key")
    }

    #[test]
    fn signed_value_verifies_with_its_payload_and_time() {
        let signer = signer("k1");
        let verified = signer.verify(&signer.sign(b"{\"a\":1}"), HOUR).expect("valid");
        assert_eq!(verified.payload, b"{\"a\":1}");
        assert!(!verified.used_fallback);
        let age = SystemTime::now().duration_since(verified.issued_at).expect("in the past");
        assert!(age < Duration::from_secs(5));
    }

    #[test]
    fn any_changed_part_is_rejected_as_a_bad_signature() {
        let signer = signer("k1");
        let value = signer.sign(b"payload");
        let parts: Vec<&str> = value.split('.').collect();
        let other_payload = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(b"payloaD"), parts[1], parts[2]);
        let other_time = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode([1_u8]), parts[2]);
        let zero_signature = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode([0_u8; 32]));
        for forged in [other_payload, other_time, zero_signature] {
            assert_eq!(signer.verify(&forged, HOUR), Err(SignatureError::BadSignature));
        }
    }

    #[test]
    fn value_signed_with_an_unknown_key_is_rejected() {
        assert_eq!(signer("k2").verify(&signer("k1").sign(b"x"), HOUR), Err(SignatureError::BadSignature));
    }

    #[test]
    fn fallback_key_verifies_and_is_reported() {
        let rotated = CookieSigner::new(&Secret::new("new"), &[Secret::new("older"), Secret::new("old")])
            .expect("non-empty keys");
        let verified = rotated.verify(&signer("old").sign(b"x"), HOUR).expect("fallback verifies");
        assert!(verified.used_fallback);
        assert!(!rotated.verify(&rotated.sign(b"x"), HOUR).expect("current verifies").used_fallback);
    }

    #[test]
    fn value_older_than_max_age_is_expired() {
        let signer = signer("k1");
        let old = signer.sign_at(b"x", SystemTime::now() - 2 * HOUR);
        assert_eq!(signer.verify(&old, HOUR), Err(SignatureError::Expired));
        assert!(signer.verify(&old, 3 * HOUR).is_ok());
    }

    #[test]
    fn value_from_far_in_the_future_is_rejected_but_small_skew_is_accepted() {
        let signer = signer("k1");
        let ahead = signer.sign_at(b"x", SystemTime::now() + HOUR);
        assert_eq!(signer.verify(&ahead, HOUR), Err(SignatureError::FromTheFuture));
        let skewed = signer.sign_at(b"x", SystemTime::now() + Duration::from_secs(30));
        assert!(signer.verify(&skewed, HOUR).is_ok());
    }

    #[test]
    fn same_secret_with_another_salt_does_not_verify() {
        let key = Secret::new("shared");
        let session = CookieSigner::new(&key, &[]).expect("non-empty key");
        let other = CookieSigner::with_salt("phial.csrf", &key, &[]).expect("non-empty key");
        assert_eq!(session.verify(&other.sign(b"x"), HOUR), Err(SignatureError::BadSignature));
    }

    #[test]
    fn malformed_values_are_rejected() {
        let signer = signer("k1");
        for value in ["", "abc", "a.b", "%%.%%.%%", "a.b.c.d"] {
            assert!(signer.verify(value, HOUR).is_err(), "{value:?} accepted");
        }
    }

    #[test]
    fn an_oversized_signature_or_time_is_malformed() {
        let signer = signer("k1");
        let long = URL_SAFE_NO_PAD.encode([7_u8; 64]);
        assert_eq!(signer.verify(&format!("cA.AQ.{long}"), HOUR), Err(SignatureError::Malformed));
        // Correctly signed values whose time is nine bytes, far too long, or not base64.
        for time in [URL_SAFE_NO_PAD.encode([1_u8; 9]), "A".repeat(40), "%%".to_owned()] {
            let body = format!("cA.{time}");
            let mac = signer.current().chain_update(body.as_bytes()).finalize().into_bytes();
            let value = format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac));
            assert_eq!(signer.verify(&value, HOUR), Err(SignatureError::Malformed), "{time}");
        }
    }

    #[test]
    fn empty_secret_or_fallback_is_a_config_error() {
        assert!(CookieSigner::new(&Secret::new(""), &[]).is_err());
        let err = CookieSigner::new(&Secret::new("k"), &[Secret::new("")]).expect_err("empty fallback");
        assert!(err.to_string().contains("secret_key_fallbacks"));
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let printed = format!("{:?}", signer("hunter2"));
        assert!(!printed.contains("hunter2"));
        assert!(printed.contains("fallbacks: 0"));
    }
}
