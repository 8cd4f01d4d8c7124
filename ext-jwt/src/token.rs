//! Encoding and decoding tokens in `PyJWT`'s exact shape and order of checks.
//!
//! Signing and signature checks are jsonwebtoken's (`crypto::sign` / `crypto::verify`). The
//! framing and claim checks are written here rather than taken from `jsonwebtoken::decode`
//! because Flask-JWT-Extended's clients see `PyJWT`'s messages, which depend on the order of
//! checks (`crit` before the signature, the algorithm allow-list before the key, `iat`, `nbf`,
//! `exp`, `iss`, `aud`, `sub`, `jti` after it), and because minted tokens must be byte-for-byte
//! `PyJWT`'s layout (sorted header keys, claims in Flask-JWT-Extended's order).

use std::str::FromStr as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::ser::SerializeMap as _;
use serde_json::{Map, Value};

use crate::error::JwtError;

/// A decoded, verified token: its header and claims.
///
/// # Examples
///
/// ```
/// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
///
/// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
/// let token = auth.create_access_token("alice", MintOptions::new())?;
/// let decoded = auth.decode_token(&token, false)?;
/// assert_eq!(decoded.claims()["sub"], "alice");
/// assert_eq!(decoded.header()["alg"], "HS256");
/// # Ok::<(), phial_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedToken {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
}

impl DecodedToken {
    /// The JOSE header (`get_jwt_header()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(token.header()["alg"], "HS256");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The claims (`get_jwt()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(token.claims()["sub"], "alice");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The `jti` claim, if a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(token.jti().map(str::len), Some(36));
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn jti(&self) -> Option<&str> {
        self.claims.get("jti").and_then(Value::as_str)
    }

    /// `"access"` or `"refresh"` (a token without `type` is an access token, as in Flask).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(token.token_type(), "access");
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn token_type(&self) -> &str {
        self.claims.get("type").and_then(Value::as_str).unwrap_or("access")
    }

    /// `exp` in seconds since the epoch, if the token expires.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
    /// let auth = JwtAuth::builder(JwtConfig::default()).secret("s3cret").build()?;
    /// let token = auth.decode_token(&auth.create_access_token("alice", MintOptions::new())?, false)?;
    /// assert_eq!(token.expires_at().is_some(), true);
    /// # Ok::<(), phial_jwt::JwtError>(())
    /// ```
    pub fn expires_at(&self) -> Option<i64> {
        self.claims.get("exp").and_then(number_as_i64)
    }
}

/// Claims kept in insertion order, so minted tokens list them as Flask-JWT-Extended does.
pub(crate) struct OrderedClaims(pub(crate) Vec<(String, Value)>);

impl serde::Serialize for OrderedClaims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `base64url(header).base64url(claims).base64url(signature)`; the header's keys sorted as
/// `PyJWT` writes them (`serde_json::Map` is ordered by key).
pub(crate) fn encode(
    header: &Map<String, Value>,
    claims: &OrderedClaims,
    key: &EncodingKey,
    algorithm: Algorithm,
) -> Result<String, JwtError> {
    let header = serde_json::to_vec(header).map_err(|err| JwtError::Mint(err.to_string()))?;
    let claims = serde_json::to_vec(claims).map_err(|err| JwtError::Mint(err.to_string()))?;
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm)
        .map_err(|err| JwtError::Mint(err.to_string()))?;
    Ok(format!("{message}.{signature}"))
}

/// A token split into its parts, before the signature is checked.
pub(crate) struct Unverified<'a> {
    pub(crate) header: Map<String, Value>,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Splits and decodes the segments, with `PyJWT`'s messages.
pub(crate) fn split(token: &str) -> Result<Unverified<'_>, JwtError> {
    let (signing_input, crypto) = token.rsplit_once('.').ok_or_else(|| JwtError::invalid("Not enough segments"))?;
    let (header_segment, payload_segment) =
        signing_input.split_once('.').ok_or_else(|| JwtError::invalid("Not enough segments"))?;
    let header_bytes = b64(header_segment).ok_or_else(|| JwtError::invalid("Invalid header padding"))?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .map_err(|err| JwtError::Invalid(format!("Invalid header string: {err}")))?;
    let Value::Object(header) = header else {
        return Err(JwtError::invalid("Invalid header string: must be a json object"));
    };
    let payload = b64(payload_segment).ok_or_else(|| JwtError::invalid("Invalid payload padding"))?;
    let signature = b64(crypto).ok_or_else(|| JwtError::invalid("Invalid crypto padding"))?;
    check_header(&header)?;
    Ok(Unverified { header, payload, signing_input, signature })
}

/// `PyJWT`'s header checks: `kid` a string, `crit` a non-empty list naming only extensions
/// understood (none here: phial-jwt does not support `b64: false`).
fn check_header(header: &Map<String, Value>) -> Result<(), JwtError> {
    if header.get("kid").is_some_and(|kid| !kid.is_string()) {
        return Err(JwtError::invalid("Key ID header parameter must be a string"));
    }
    if let Some(crit) = header.get("crit") {
        let Some(list) = crit.as_array().filter(|list| !list.is_empty()) else {
            return Err(JwtError::invalid("Invalid 'crit' header: must be a non-empty list"));
        };
        let names: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
        let Some(names) = names else {
            return Err(JwtError::invalid("Invalid 'crit' header: values must be strings"));
        };
        // No extension is supported, so the first one named is the unsupported one.
        if let Some(name) = names.first() {
            return Err(JwtError::Invalid(format!("Unsupported critical extension: {name}")));
        }
    }
    Ok(())
}

/// `PyJWT` accepts base64url with or without `=` padding, and nothing else.
fn b64(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()
}

impl Unverified<'_> {
    /// The header's `alg`, if the config allows it.
    pub(crate) fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, JwtError> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|alg| Algorithm::from_str(alg).ok())
            .filter(|alg| allowed.contains(alg))
            .ok_or_else(|| JwtError::invalid("The specified alg value is not allowed"))
    }

    /// Checks the signature with `key` and parses the claims.
    pub(crate) fn verify(self, key: &DecodingKey, algorithm: Algorithm) -> Result<DecodedToken, JwtError> {
        let signature = URL_SAFE_NO_PAD.encode(&self.signature);
        let valid =
            jsonwebtoken::crypto::verify(&signature, self.signing_input.as_bytes(), key, algorithm).unwrap_or(false);
        if !valid {
            return Err(JwtError::invalid("Signature verification failed"));
        }
        let claims: Value = serde_json::from_slice(&self.payload)
            .map_err(|err| JwtError::Invalid(format!("Invalid payload string: {err}")))?;
        let Value::Object(claims) = claims else {
            return Err(JwtError::invalid("Invalid payload string: must be a json object"));
        };
        Ok(DecodedToken { header: self.header, claims })
    }
}

/// What the registered claims are checked against.
pub(crate) struct ClaimRules<'a> {
    pub(crate) now: i64,
    pub(crate) leeway: i64,
    pub(crate) verify_exp: bool,
    pub(crate) issuer: Option<&'a str>,
    pub(crate) audience: &'a [String],
    pub(crate) verify_sub: bool,
}

/// `PyJWT`'s `_validate_claims`, in its order. Unlike Python's `int()`, a numeric string is not
/// a time: `exp: "9999999999"` is refused.
pub(crate) fn check_claims(claims: &Map<String, Value>, rules: &ClaimRules<'_>) -> Result<(), JwtError> {
    let time = |name: &str, message: &str| -> Result<Option<i64>, JwtError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => number_as_i64(value).map(Some).ok_or_else(|| JwtError::invalid(message)),
        }
    };
    if let Some(iat) = time("iat", "Issued At claim (iat) must be an integer.")?
        && iat > rules.now + rules.leeway
    {
        return Err(JwtError::invalid("The token is not yet valid (iat)"));
    }
    if let Some(nbf) = time("nbf", "Not Before claim (nbf) must be an integer.")?
        && nbf > rules.now + rules.leeway
    {
        return Err(JwtError::invalid("The token is not yet valid (nbf)"));
    }
    if rules.verify_exp
        && let Some(exp) = time("exp", "Expiration Time claim (exp) must be an integer.")?
        && exp <= rules.now - rules.leeway
    {
        return Err(JwtError::Expired);
    }
    if let Some(issuer) = rules.issuer {
        match claims.get("iss") {
            None => return Err(JwtError::invalid("Token is missing the \"iss\" claim")),
            Some(Value::String(iss)) if iss == issuer => {}
            Some(Value::String(_)) => return Err(JwtError::invalid("Invalid issuer")),
            Some(_) => return Err(JwtError::invalid("Payload Issuer (iss) must be a string")),
        }
    }
    if !rules.audience.is_empty() {
        check_audience(claims.get("aud"), rules.audience)?;
    }
    if rules.verify_sub && claims.get("sub").is_some_and(|sub| !sub.is_string()) {
        return Err(JwtError::invalid("Subject must be a string"));
    }
    if claims.get("jti").is_some_and(|jti| !jti.is_string()) {
        return Err(JwtError::invalid("JWT ID must be a string"));
    }
    Ok(())
}

fn check_audience(aud: Option<&Value>, expected: &[String]) -> Result<(), JwtError> {
    let in_token: Vec<&str> = match aud {
        None => return Err(JwtError::invalid("Token is missing the \"aud\" claim")),
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(list)) => list
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| JwtError::invalid("Invalid claim format in token"))?,
        Some(_) => return Err(JwtError::invalid("Invalid claim format in token")),
    };
    if in_token.iter().any(|aud| expected.iter().any(|e| e == aud)) {
        Ok(())
    } else {
        Err(JwtError::invalid("Audience doesn't match"))
    }
}

/// A JSON number as whole seconds (`PyJWT`'s `int()` truncates floats); strings are not numbers.
#[expect(clippy::cast_possible_truncation, reason = "seconds since the epoch fit i64; truncation is int()'s")]
pub(crate) fn number_as_i64(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    number.as_i64().or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_padding_errors_are_pyjwt_ones() {
        let msg = |token: &str| split(token).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg("abc"), "Not enough segments");
        assert_eq!(msg("a.b"), "Not enough segments");
        assert_eq!(msg("!!.e30.sig"), "Invalid header padding");
        assert_eq!(msg("WzFd.e30.c2ln"), "Invalid header string: must be a json object");
    }

    #[test]
    fn unknown_crit_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","crit":["exp"],"typ":"JWT"}"#);
        let err = split(&format!("{header}.e30.c2ln")).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Unsupported critical extension: exp"));
    }

    #[test]
    fn times_must_be_numbers() {
        let rules = ClaimRules { now: 100, leeway: 0, verify_exp: true, issuer: None, audience: &[], verify_sub: true };
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        let err = check_claims(&claims(serde_json::json!({"exp": "9999999999"})), &rules).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Expiration Time claim (exp) must be an integer."));
        let err = check_claims(&claims(serde_json::json!({"nbf": "1"})), &rules).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Not Before claim (nbf) must be an integer."));
        assert!(matches!(check_claims(&claims(serde_json::json!({"exp": 100})), &rules), Err(JwtError::Expired)));
        assert!(check_claims(&claims(serde_json::json!({"exp": 101.5, "sub": "1"})), &rules).is_ok());
    }
}
