//! Tokens exchanged with Python's flask-jwt-extended, through the committed fixtures of
//! `tests/fixtures/generate.py` (see its docstring to re-run it).

use std::time::Duration;

use phial_jwt::{Fresh, JwtAuth, JwtConfig, JwtError, MintOptions, TokenLocation};
use serde_json::{Value, json};

use crate::SECRET;

fn fixtures(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn flask_token(name: &str) -> (String, Value) {
    let all = fixtures("flask_tokens.json");
    let fixture = all["tokens"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
    (fixture["token"].as_str().unwrap().to_owned(), fixture["claims"].clone())
}

#[tokio::test]
async fn flask_jwt_extended_tokens_verify_in_phial_with_the_same_claims() {
    let (client, auth) = crate::app().await;
    assert_eq!(fixtures("flask_tokens.json")["secret"], SECRET);
    for name in ["access", "fresh_access", "access_with_claims", "cookie_access"] {
        let (token, claims) = flask_token(name);
        let decoded = auth.decode_token(&token, false).unwrap();
        assert_eq!(Value::Object(decoded.claims().clone()), claims, "{name}");
        assert_eq!(decoded.header(), json!({"alg": "HS256", "typ": "JWT"}).as_object().unwrap());
        let (status, body) = crate::get_with(&client, "/protected", &token).await;
        assert_eq!((status, &body["logged_in_as"]), (200, &claims["sub"]), "{name}");
    }
    let (fresh, _) = flask_token("fresh_access");
    assert_eq!(crate::get_with(&client, "/fresh", &fresh).await.0, 200);
    let (not_fresh, _) = flask_token("access");
    assert_eq!(crate::get_with(&client, "/fresh", &not_fresh).await.0, 401);
    let (refresh, _) = flask_token("refresh");
    let response = client.post("/refresh").bearer(&refresh).send().await;
    assert_eq!(response.status().as_u16(), 200);
    let (expired, _) = flask_token("expired_access");
    assert!(matches!(auth.decode_token(&expired, false), Err(JwtError::Expired)));
    assert_eq!(auth.decode_token(&expired, true).unwrap().claims()["sub"], "alice");
}

/// The tokens phial gives flask-jwt-extended to verify: name, route, identity, options.
fn phial_tokens(auth: &JwtAuth) -> Value {
    let long = Duration::from_hours(50 * 365 * 24);
    let make = |name: &str, route: &str, token: String, custom: Value| json!({"name": name, "route": route, "identity": "alice", "token": token, "custom_claims": custom});
    let access = auth.create_access_token("alice", MintOptions::new().expires_in(long)).unwrap();
    let fresh = auth.create_access_token("alice", MintOptions::new().fresh(Fresh::Yes).expires_in(long)).unwrap();
    let claims = auth
        .create_access_token("alice", MintOptions::new().expires_in(long).claim("role", "admin").claim("n", 3))
        .unwrap();
    let refresh = auth.create_refresh_token("alice", MintOptions::new().expires_in(long)).unwrap();
    json!({"secret": SECRET, "tokens": [
        make("access", "access", access, json!({})),
        make("fresh_access", "fresh", fresh, json!({})),
        make("access_with_claims", "access", claims, json!({"role": "admin", "n": 3})),
        make("refresh", "refresh", refresh, json!({})),
    ]})
}

#[tokio::test]
async fn phial_tokens_were_verified_by_flask_jwt_extended() {
    let mut config = JwtConfig::default();
    config.token_location = vec![TokenLocation::Headers];
    let auth = JwtAuth::builder(config).secret(SECRET).build().unwrap();
    let path = format!("{}/tests/fixtures/phial_tokens.json", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("PHIAL_JWT_WRITE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::write(&path, serde_json::to_string_pretty(&phial_tokens(&auth)).unwrap() + "\n").unwrap();
        return;
    }
    let committed = fixtures("phial_tokens.json");
    assert!(
        committed["verified_by"].as_str().is_some_and(|v| v.starts_with("flask-jwt-extended")),
        "phial_tokens.json was not verified by generate.py"
    );
    for fixture in committed["tokens"].as_array().unwrap() {
        let decoded = auth.decode_token(fixture["token"].as_str().unwrap(), false).unwrap();
        assert_eq!(decoded.claims()["sub"], fixture["identity"]);
    }
    // Today's tokens have the same shape as the verified ones: same header, same claim names
    // in the same order.
    let today = phial_tokens(&auth);
    for (old, new) in committed["tokens"].as_array().unwrap().iter().zip(today["tokens"].as_array().unwrap()) {
        let shape = |token: &Value| {
            let (header, claims) = crate::parts(token.as_str().unwrap());
            (header, claims.as_object().unwrap().keys().cloned().collect::<Vec<_>>())
        };
        assert_eq!(shape(&old["token"]), shape(&new["token"]), "{}", old["name"]);
    }
}

/// The top-level claim names of a token, in the order its payload lists them.
fn claim_order(token: &str) -> Vec<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let raw = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let claims: serde_json::Map<String, Value> = serde_json::from_str(&raw).unwrap();
    let mut keys: Vec<(usize, String)> =
        claims.keys().map(|key| (raw.find(&format!("\"{key}\":")).unwrap(), key.clone())).collect();
    keys.sort();
    keys.into_iter().map(|(_, key)| key).collect()
}

#[test]
fn phial_writes_claims_in_flask_jwt_extended_order() {
    let auth = JwtAuth::builder(JwtConfig::default()).secret(SECRET).build().unwrap();
    let (flask_access, _) = flask_token("access");
    let (flask_refresh, _) = flask_token("refresh");
    let access = auth.create_access_token("alice", MintOptions::new()).unwrap();
    let refresh = auth.create_refresh_token("alice", MintOptions::new()).unwrap();
    assert_eq!(claim_order(&access), claim_order(&flask_access));
    assert_eq!(claim_order(&refresh), claim_order(&flask_refresh));
    let raw_header = |token: &str| token.split('.').next().unwrap().to_owned();
    assert_eq!(raw_header(&access), raw_header(&flask_access), "byte-identical header");
}
