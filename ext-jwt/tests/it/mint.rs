//! Minted tokens have Flask-JWT-Extended's exact shape.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use phial_jwt::{Fresh, JwtAuth, JwtConfig, JwtError, MintOptions, TokenLocation};
use serde_json::{Value, json};

use crate::{SECRET, now, parts};

fn auth(config: JwtConfig) -> JwtAuth {
    JwtAuth::builder(config).secret(SECRET).build().unwrap()
}

fn raw_segment(token: &str, index: usize) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').nth(index).unwrap()).unwrap()).unwrap()
}

#[test]
fn access_token_has_flask_jwt_extended_header_and_claims_in_order() {
    let auth = auth(JwtConfig::default());
    let token = auth.create_access_token("alice", MintOptions::new()).unwrap();
    assert_eq!(raw_segment(&token, 0), r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = raw_segment(&token, 1);
    let keys: Vec<&str> = ["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "exp"].to_vec();
    let positions: Vec<usize> = keys.iter().map(|k| payload.find(&format!("\"{k}\":")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{payload}");
    let (_, claims) = parts(&token);
    assert_eq!(claims["fresh"], false);
    assert_eq!(claims["type"], "access");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 15 * 60);
    assert_eq!(claims["nbf"], claims["iat"]);
    assert!((claims["iat"].as_i64().unwrap() - now()).abs() <= 1);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36);
    assert_eq!(jti.as_bytes()[14], b'4', "uuid4");
    assert_eq!(claims["csrf"].as_str().unwrap().len(), 36, "cookie CSRF is on by default, as in Flask");
    let mut config = JwtConfig::default();
    config.cookie_csrf_protect = false;
    let (_, claims) = parts(&auth_for(config).create_access_token("alice", MintOptions::new()).unwrap());
    assert!(claims.get("csrf").is_none());
}

fn auth_for(config: JwtConfig) -> JwtAuth {
    auth(config)
}

#[test]
fn refresh_token_lives_thirty_days() {
    let auth = auth(JwtConfig::default());
    let (_, claims) = parts(&auth.create_refresh_token("alice", MintOptions::new()).unwrap());
    assert_eq!(claims["type"], "refresh");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 30 * 24 * 3600);
}

#[test]
fn audience_and_issuer_are_written() {
    let mut config = JwtConfig::default();
    config.token_location = vec![TokenLocation::Headers, TokenLocation::Cookies];
    config.encode_audience = vec!["api".into()];
    config.encode_issuer = Some("phial".into());
    let (_, claims) = parts(&auth(config).create_access_token("alice", MintOptions::new()).unwrap());
    assert_eq!(claims["csrf"].as_str().unwrap().len(), 36);
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["iss"], "phial");
}

#[test]
fn options_set_freshness_lifetime_claims_and_headers() {
    let auth = auth(JwtConfig::default());
    let token = auth
        .create_access_token(
            "alice",
            MintOptions::new()
                .fresh(Fresh::For(Duration::from_mins(5)))
                .expires_in(Duration::from_mins(1))
                .claim("role", "admin")
                .header("kid", "k1"),
        )
        .unwrap();
    let (header, claims) = parts(&token);
    assert_eq!(header, json!({"alg": "HS256", "kid": "k1", "typ": "JWT"}));
    assert!(claims["fresh"].as_f64().unwrap() > f64::from(u32::try_from(now() + 290).unwrap()));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert_eq!(claims["role"], "admin");
    let never = auth.create_access_token("alice", MintOptions::new().never_expires()).unwrap();
    assert!(parts(&never).1.get("exp").is_none());
}

#[test]
fn additional_claims_cannot_override_reserved_claims() {
    let auth = auth(JwtConfig::default());
    for name in ["type", "sub", "exp", "jti", "fresh", "iat", "nbf"] {
        let err = auth.create_access_token("alice", MintOptions::new().claim(name, "refresh")).unwrap_err();
        assert!(matches!(err, JwtError::ReservedClaim(ref n) if n == name), "{name}: {err}");
    }
    assert!(auth.create_access_token("alice", MintOptions::new().header("alg", "none")).is_err());
}

#[test]
fn loaders_shape_identity_and_claims() {
    let auth = JwtAuth::builder(JwtConfig::default())
        .secret(SECRET)
        .user_identity_loader(|user| user["id"].to_string().into())
        .additional_claims(|user| {
            let mut claims = serde_json::Map::new();
            claims.insert("name".into(), user["name"].clone());
            claims
        })
        .additional_headers(|_| {
            let mut headers = serde_json::Map::new();
            headers.insert("kid".into(), "2026".into());
            headers
        })
        .build()
        .unwrap();
    let token = auth.create_access_token(json!({"id": 7, "name": "Ann"}), MintOptions::new()).unwrap();
    let (header, claims) = parts(&token);
    assert_eq!(header["kid"], "2026");
    assert_eq!(claims["sub"], "7");
    assert_eq!(claims["name"], "Ann");
}

#[test]
fn kid_selects_the_key_during_a_rotation() {
    let old = JwtAuth::builder(JwtConfig::default()).secret("old key").signing_kid("old").build().unwrap();
    let new = JwtAuth::builder(JwtConfig::default())
        .secret("new key")
        .signing_kid("new")
        .decode_key("old", "old key")
        .build()
        .unwrap();
    let token = old.create_access_token("alice", MintOptions::new()).unwrap();
    assert_eq!(new.decode_token(&token, false).unwrap().claims()["sub"], "alice");
    let fresh = new.create_access_token("bob", MintOptions::new()).unwrap();
    assert_eq!(parts(&fresh).0["kid"], "new");
    assert!(old.decode_token(&fresh, false).is_err());
}

#[test]
fn decode_token_allow_expired() {
    let auth = auth(JwtConfig::default());
    let token = crate::forge(
        &crate::hs256(),
        &json!({"sub": "a", "type": "access", "jti": "x", "exp": now() - 5}),
        Some(SECRET.as_bytes()),
    );
    assert!(matches!(auth.decode_token(&token, false), Err(JwtError::Expired)));
    let decoded = auth.decode_token(&token, true).unwrap();
    assert_eq!(decoded.claims()["sub"], Value::from("a"));
}

#[test]
fn inconsistent_settings_fail_at_build() {
    let mut config = JwtConfig::default();
    config.decode_algorithms = vec!["HS256".into(), "RS256".into()];
    let err = JwtAuth::builder(config).secret(SECRET).build().unwrap_err().to_string();
    assert!(err.contains("jwt.decode_algorithms"), "{err}");
    let mut config = JwtConfig::default();
    config.token_location = Vec::new();
    assert!(JwtAuth::builder(config).secret(SECRET).build().is_err());
    let mut config = JwtConfig::default();
    config.algorithm = "HS257".into();
    assert!(JwtAuth::builder(config).secret(SECRET).build().unwrap_err().to_string().contains("HS257"));
    assert!(JwtAuth::builder(JwtConfig::default()).build().unwrap_err().to_string().contains("jwt.secret_key"));
}

#[tokio::test]
async fn flask_jwt_extended_environment_variables_configure_the_extension() {
    let app = phial_core::App::builder()
        .profile(phial_core::Profile::Testing)
        .env([("JWT_SECRET_KEY", "from-the-environment"), ("JWT_ACCESS_TOKEN_EXPIRES", "60")])
        .extension(phial_jwt::JwtExtension::new())
        .build()
        .unwrap();
    let listing = app.config_listing();
    assert_eq!(listing["jwt"]["access_token_expires"], 60);
    let app = app.start().await.unwrap();
    let auth = app.state().get::<phial_jwt::JwtAuth>().unwrap().clone();
    let token = auth.create_access_token("ada", phial_jwt::MintOptions::new()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_secret(b"from-the-environment");
    let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &jsonwebtoken::Validation::default());
    assert_eq!(decoded.unwrap().claims["sub"], "ada", "signed with JWT_SECRET_KEY");
}
