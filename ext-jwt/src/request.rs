//! Finding and verifying a request's token: Flask-JWT-Extended's `verify_jwt_in_request`.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method};
use phial_core::axum::extract::Query;
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use crate::auth::JwtAuth;
use crate::config::{JwtConfig, TokenLocation};
use crate::error::JwtError;
use crate::token::DecodedToken;

/// What a route requires: `jwt_required(optional, fresh, refresh, locations, verify_type,
/// skip_revocation_check)`.
///
/// # Examples
///
/// ```
/// use phial_jwt::{Requirement, TokenLocation};
///
/// let req = Requirement::access().fresh().locations([TokenLocation::Cookies]);
/// # let _ = req;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
#[expect(clippy::struct_excessive_bools, reason = "one flag per jwt_required argument")]
pub struct Requirement {
    pub(crate) optional: bool,
    pub(crate) fresh: bool,
    pub(crate) refresh: bool,
    pub(crate) skip_type: bool,
    pub(crate) skip_revocation: bool,
    pub(crate) locations: Option<Vec<TokenLocation>>,
}

impl Requirement {
    /// An access token (`@jwt_required()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::access());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn access() -> Self {
        Self::default()
    }

    /// A refresh token (`refresh=True`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::refresh());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn refresh() -> Self {
        Self { refresh: true, ..Self::default() }
    }

    /// No token is fine; a bad one is still refused (`optional=True`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::access().optional());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// A fresh token (`fresh=True`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::access().fresh());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Look only here, in this order (`locations=`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::access().locations([TokenLocation::Cookies]));
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn locations(mut self, locations: impl IntoIterator<Item = TokenLocation>) -> Self {
        self.locations = Some(locations.into_iter().collect());
        self
    }

    /// Accept access and refresh tokens alike (`verify_type=False`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::access().any_type());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn any_type(mut self) -> Self {
        self.skip_type = true;
        self
    }

    /// Do not consult the blocklist (`skip_revocation_check=True`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::{JwtRequiredLayer, Requirement, TokenLocation};
    /// let layer = JwtRequiredLayer::new(Requirement::refresh().skip_revocation_check());
    /// # let _ = (layer, TokenLocation::Headers);
    /// ```
    pub fn skip_revocation_check(mut self) -> Self {
        self.skip_revocation = true;
        self
    }
}

/// A verified token of this request, with where it came from: Flask-JWT-Extended's `get_jwt()`,
/// `get_jwt_identity()`, `get_jwt_header()`, `get_jwt_request_location()`.
///
/// It is also the extractor for routes that need an access token; see
/// [`Jwt`](crate::Jwt) and its siblings.
#[derive(Clone)]
pub struct VerifiedToken {
    pub(crate) token: DecodedToken,
    pub(crate) encoded: String,
    pub(crate) location: TokenLocation,
    pub(crate) identity_claim: String,
    pub(crate) user: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", &self.token.claims)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl VerifiedToken {
    /// `get_jwt()`: the claims.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.claims()["jti"].to_string()
    /// }
    /// ```
    pub fn claims(&self) -> &serde_json::Map<String, Value> {
        &self.token.claims
    }

    /// `get_jwt_header()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.header()["alg"].to_string()
    /// }
    /// ```
    pub fn header(&self) -> &serde_json::Map<String, Value> {
        &self.token.header
    }

    /// `get_jwt_identity()`: the identity claim (`sub`).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.identity().to_string()
    /// }
    /// ```
    pub fn identity(&self) -> &Value {
        self.token.claims.get(&self.identity_claim).unwrap_or(&Value::Null)
    }

    /// The identity as a string (`sub` is one, unless `verify_sub` is off).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.identity_str().unwrap_or_default().to_owned()
    /// }
    /// ```
    pub fn identity_str(&self) -> Option<&str> {
        self.identity().as_str()
    }

    /// `get_jwt_request_location()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.location().as_str().to_owned()
    /// }
    /// ```
    pub fn location(&self) -> TokenLocation {
        self.location
    }

    /// The decoded token.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.decoded().token_type().to_owned()
    /// }
    /// ```
    pub fn decoded(&self) -> &DecodedToken {
        &self.token
    }

    /// The token as it was sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.encoded().to_owned()
    /// }
    /// ```
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// `"access"` or `"refresh"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.token_type().to_owned()
    /// }
    /// ```
    pub fn token_type(&self) -> &str {
        self.token.token_type()
    }

    /// `get_current_user()`: the user the lookup callback loaded, if it is a `U`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_jwt::Jwt;
    ///
    /// async fn handler(jwt: Jwt) -> String {
    ///     jwt.user::<String>().map(|name| name.to_string()).unwrap_or_default()
    /// }
    /// ```
    pub fn user<U: Send + Sync + 'static>(&self) -> Option<Arc<U>> {
        self.user.clone().and_then(|user| user.downcast::<U>().ok())
    }
}

/// What [`JwtRequiredLayer`](crate::JwtRequiredLayer) read from the body: the JSON (location
/// `json`) or the form (`csrf_check_form`). Extractors do not read bodies and pass nothing.
#[derive(Debug, Default)]
pub(crate) struct BodyValues {
    pub(crate) json: Option<Value>,
    pub(crate) form: Option<Vec<(String, String)>>,
}

/// Why verification failed: the error, and the token when one was decoded (for handlers).
pub(crate) type Refusal = (JwtError, Option<DecodedToken>);

impl JwtAuth {
    /// `verify_jwt_in_request`: finds the token in the request (`json` is the parsed body, for
    /// location `json`), verifies it and its type, freshness and revocation, runs the
    /// verification callback and the user lookup. `Ok(None)`: optional and absent, or an
    /// `OPTIONS` request.
    pub(crate) async fn verify_parts(
        &self,
        parts: &Parts,
        body: &BodyValues,
        requirement: &Requirement,
    ) -> Result<Option<VerifiedToken>, Refusal> {
        if parts.method == Method::OPTIONS {
            return Ok(None);
        }
        let config = self.config();
        let locations = requirement.locations.as_deref().unwrap_or(&config.token_location);
        let mut missing = Vec::new();
        let mut found = None;
        for &location in locations {
            match find(config, parts, body, location, requirement.refresh) {
                Ok((encoded, csrf)) => {
                    let token = self.decode_token(&encoded, false).map_err(|err| {
                        // The expired handler gets the token, as Flask's `expired_token_loader`.
                        let token = matches!(err, JwtError::Expired).then(|| self.decode_token(&encoded, true).ok());
                        (err, token.flatten())
                    })?;
                    if let Some(csrf) = csrf {
                        check_csrf(&token, &csrf).map_err(|e| (e, Some(token.clone())))?;
                    }
                    found = Some((token, encoded, location));
                    break;
                }
                Err(Found::Missing(message)) => missing.push(message),
                Err(Found::Refused(error)) => return Err((error, None)),
            }
        }
        let Some((token, encoded, location)) = found else {
            if requirement.optional {
                return Ok(None);
            }
            return Err((missing_message(locations, missing), None));
        };
        self.check_token(&token, requirement).await.map_err(|e| (e, Some(token.clone())))?;
        let user = self.load_user(&token).await.map_err(|e| (e, Some(token.clone())))?;
        Ok(Some(VerifiedToken { token, encoded, location, identity_claim: config.identity_claim.clone(), user }))
    }

    /// Type, freshness, revocation and the verification callback, in Flask's order.
    pub(crate) async fn check_token(&self, token: &DecodedToken, requirement: &Requirement) -> Result<(), JwtError> {
        if !requirement.skip_type {
            match (requirement.refresh, token.token_type() == "refresh") {
                (false, true) => return Err(JwtError::invalid("Only non-refresh tokens are allowed")),
                (true, false) => return Err(JwtError::invalid("Only refresh tokens are allowed")),
                _ => {}
            }
        }
        if requirement.fresh && !is_fresh(token, self.now()) {
            return Err(JwtError::NeedsFresh);
        }
        if !requirement.skip_revocation && self.is_revoked(token).await? {
            return Err(JwtError::Revoked);
        }
        if self.0.callbacks.verification.as_ref().is_some_and(|verify| !verify(token)) {
            return Err(JwtError::VerificationFailed);
        }
        Ok(())
    }

    async fn load_user(&self, token: &DecodedToken) -> Result<Option<Arc<dyn Any + Send + Sync>>, JwtError> {
        let Some(lookup) = &self.0.callbacks.user_lookup else { return Ok(None) };
        if let Some(user) = lookup(token.clone()).await {
            return Ok(Some(user));
        }
        let identity = self.identity(token);
        let shown = identity.as_str().map_or_else(|| identity.to_string(), str::to_owned);
        Err(JwtError::UserLookup(shown))
    }
}

fn is_fresh(token: &DecodedToken, now: time::OffsetDateTime) -> bool {
    match token.claims.get("fresh") {
        Some(Value::Bool(fresh)) => *fresh,
        Some(Value::Number(until)) => until.as_f64().is_some_and(|until| until >= timestamp_f64(now)),
        _ => false,
    }
}

/// A time as a float timestamp, as Python's `datetime.timestamp()`.
#[expect(clippy::cast_precision_loss, reason = "microseconds since the epoch fit f64's mantissa")]
pub(crate) fn timestamp_f64(now: time::OffsetDateTime) -> f64 {
    let micros = now.unix_timestamp_nanos() / 1000;
    micros as f64 / 1e6
}

fn check_csrf(token: &DecodedToken, sent: &str) -> Result<(), JwtError> {
    let Some(expected) = token.claims.get("csrf").and_then(Value::as_str) else {
        return Err(JwtError::invalid("Missing claim: csrf"));
    };
    if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
        Ok(())
    } else {
        Err(JwtError::Unauthorized("CSRF double submit tokens do not match".into()))
    }
}

fn missing_message(locations: &[TokenLocation], mut missing: Vec<String>) -> JwtError {
    if locations.len() > 1 {
        let names: Vec<&str> = locations.iter().map(|l| l.as_str()).collect();
        let (last, first) = names.split_last().expect("more than one location");
        JwtError::Unauthorized(format!("Missing JWT in {} or {last} ({})", first.join(", "), missing.join("; ")))
    } else {
        JwtError::Unauthorized(missing.pop().unwrap_or_else(|| "Missing JWT".into()))
    }
}

enum Found {
    /// Nothing here (`NoAuthorizationError`): try the next location.
    Missing(String),
    /// Something malformed here: refuse now.
    Refused(JwtError),
}

/// The encoded token at `location`, and the CSRF value sent with a cookie token.
fn find(
    config: &JwtConfig,
    parts: &Parts,
    body: &BodyValues,
    location: TokenLocation,
    refresh: bool,
) -> Result<(String, Option<String>), Found> {
    match location {
        TokenLocation::Headers => from_header(config, &parts.headers).map(|t| (t, None)),
        TokenLocation::Cookies => from_cookies(config, parts, body.form.as_deref(), refresh),
        TokenLocation::QueryString => from_query(config, parts).map(|t| (t, None)),
        TokenLocation::Json => from_json(config, parts, body.json.as_ref(), refresh).map(|t| (t, None)),
    }
}

fn from_header(config: &JwtConfig, headers: &HeaderMap) -> Result<String, Found> {
    let name = &config.header_name;
    let kind = &config.header_type;
    let value = headers.get(name.as_str()).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let value = value.trim().trim_matches(',');
    if value.is_empty() {
        return Err(Found::Missing(format!("Missing {name} Header")));
    }
    if kind.is_empty() {
        let parts: Vec<&str> = value.split_whitespace().collect();
        return match parts.as_slice() {
            [token] => Ok((*token).to_owned()),
            _ => Err(Found::Refused(JwtError::Invalid(format!("Bad {name} header. Expected '{name}: <JWT>'")))),
        };
    }
    let typed: Vec<&str> = value
        .split(',')
        .map(str::trim_start)
        .filter(|field| field.split_whitespace().next() == Some(kind.as_str()))
        .collect();
    let [field] = typed.as_slice() else {
        return Err(Found::Missing(format!(
            "Missing '{kind}' type in '{name}' header. Expected '{name}: {kind} <JWT>'"
        )));
    };
    match field.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, token] => Ok((*token).to_owned()),
        _ => Err(Found::Refused(JwtError::Invalid(format!("Bad {name} header. Expected '{name}: {kind} <JWT>'")))),
    }
}

pub(crate) use phial_core::request::cookie;

fn from_cookies(
    config: &JwtConfig,
    parts: &Parts,
    form: Option<&[(String, String)]>,
    refresh: bool,
) -> Result<(String, Option<String>), Found> {
    let (cookie_name, csrf_header, csrf_field) = if refresh {
        (&config.refresh_cookie_name, &config.refresh_csrf_header_name, &config.refresh_csrf_field_name)
    } else {
        (&config.access_cookie_name, &config.access_csrf_header_name, &config.access_csrf_field_name)
    };
    let token = cookie(&parts.headers, cookie_name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Found::Missing(format!("Missing cookie \"{cookie_name}\"")))?;
    let checked =
        config.cookie_csrf_protect && config.csrf_methods.iter().any(|m| m.eq_ignore_ascii_case(parts.method.as_str()));
    if !checked {
        return Ok((token.to_owned(), None));
    }
    let from_header = parts.headers.get(csrf_header.as_str()).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let from_form = || {
        form.filter(|_| config.csrf_check_form)
            .and_then(|form| form.iter().find(|(name, _)| name == csrf_field))
            .map(|(_, value)| value.as_str())
            .filter(|v| !v.is_empty())
    };
    let csrf = from_header
        .or_else(from_form)
        .ok_or_else(|| Found::Refused(JwtError::Unauthorized("Missing CSRF token".into())))?;
    Ok((token.to_owned(), Some(csrf.to_owned())))
}

fn from_query(config: &JwtConfig, parts: &Parts) -> Result<String, Found> {
    let name = &config.query_string_name;
    let prefix = &config.query_string_value_prefix;
    let params: HashMap<String, String> =
        Query::try_from_uri(&parts.uri).map(|Query(params)| params).unwrap_or_default();
    // "paramater" is Flask-JWT-Extended's spelling; clients may match on it.
    let value = params
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Found::Missing(format!("Missing '{name}' query paramater")))?;
    value.strip_prefix(prefix.as_str()).map(str::to_owned).ok_or_else(|| {
        Found::Refused(JwtError::Invalid(format!(
            "Invalid value for query parameter '{name}'. Expected the value to start with '{prefix}'"
        )))
    })
}

fn from_json(config: &JwtConfig, parts: &Parts, json: Option<&Value>, refresh: bool) -> Result<String, Found> {
    if !is_json(&parts.headers) {
        return Err(Found::Missing("Invalid content-type. Must be application/json.".into()));
    }
    let key = if refresh { &config.refresh_json_key } else { &config.json_key };
    json.and_then(|body| body.get(key.as_str()))
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Found::Missing(format!("Missing \"{key}\" key in json data.")))
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
        |mime| {
            let mime = mime.trim();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> Result<String, String> {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        from_header(&JwtConfig::default(), &headers).map_err(|err| match err {
            Found::Missing(m) => m,
            Found::Refused(e) => format!("422 {e}"),
        })
    }

    #[test]
    fn authorization_header_parsing_is_flask_jwt_extended_s() {
        assert_eq!(header("Bearer abc").unwrap(), "abc");
        assert_eq!(header("Basic x, Bearer abc").unwrap(), "abc");
        assert_eq!(
            header("Token abc").unwrap_err(),
            "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
        );
        assert_eq!(
            header("Bearer a b").unwrap_err(),
            "422 Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"
        );
        assert_eq!(header(" , ").unwrap_err(), "Missing Authorization Header");
    }
}
