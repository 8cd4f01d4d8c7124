//! Forged tokens are refused with `PyJWT`'s messages.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::{SECRET, app, app_with, claims, forge, get_with, hs256, now};

fn msg((status, body): (u16, serde_json::Value)) -> (u16, String) {
    let serde_json::Value::Object(mut body) = body else { return (status, String::new()) };
    match body.remove("msg") {
        Some(serde_json::Value::String(msg)) => (status, msg),
        _ => (status, String::new()),
    }
}

const NOT_ALLOWED: &str = "The specified alg value is not allowed";

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let (client, _) = app().await;
    for alg in ["none", "NONE", "None"] {
        let token = forge(&json!({"alg": alg, "typ": "JWT"}), &claims("admin"), None);
        assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, NOT_ALLOWED.into()), "{alg}");
    }
}

#[tokio::test]
async fn hs512_token_is_refused_by_an_hs256_app() {
    let (client, _) = app().await;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims("admin"),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, NOT_ALLOWED.into()));
}

const PUBLIC_PEM: &str = include_str!("../fixtures/rsa_public.pem");
const PRIVATE_PEM: &str = include_str!("../fixtures/rsa_private.pem");

#[tokio::test]
async fn hs256_signed_with_the_rs256_public_key_is_refused() {
    let toml = format!(
        "algorithm = \"RS256\"\npublic_key = \"\"\"\n{PUBLIC_PEM}\"\"\"\nprivate_key = \"\"\"\n{PRIVATE_PEM}\"\"\""
    );
    let (client, auth) = app_with(&toml, phial_jwt::JwtExtension::new()).await;
    let good = auth.create_access_token("alice", phial_jwt::MintOptions::new()).unwrap();
    assert_eq!(crate::parts(&good).0, json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(get_with(&client, "/protected", &good).await.0, 200);
    // Key confusion: the attacker signs HS256 with the public key as the HMAC secret.
    let token = forge(&hs256(), &claims("admin"), Some(PUBLIC_PEM.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, NOT_ALLOWED.into()));
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let (client, _) = app().await;
    let token = forge(&hs256(), &claims("alice"), Some(SECRET.as_bytes()));
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    segments[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims("admin")).unwrap());
    let tampered = segments.join(".");
    assert_eq!(msg(get_with(&client, "/protected", &tampered).await), (422, "Signature verification failed".into()));
}

#[tokio::test]
async fn string_times_are_refused() {
    let (client, _) = app().await;
    let mut exp = claims("alice");
    exp["exp"] = json!((now() + 600).to_string());
    let token = forge(&hs256(), &exp, Some(SECRET.as_bytes()));
    assert_eq!(
        msg(get_with(&client, "/protected", &token).await),
        (422, "Expiration Time claim (exp) must be an integer.".into())
    );
    let mut nbf = claims("alice");
    nbf["nbf"] = json!("0");
    let token = forge(&hs256(), &nbf, Some(SECRET.as_bytes()));
    assert_eq!(
        msg(get_with(&client, "/protected", &token).await),
        (422, "Not Before claim (nbf) must be an integer.".into())
    );
    let mut future = claims("alice");
    future["nbf"] = json!(now() + 60);
    let token = forge(&hs256(), &future, Some(SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, "The token is not yet valid (nbf)".into()));
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let (client, _) = app().await;
    let token = forge(&json!({"alg": "HS256", "crit": ["exp"], "typ": "JWT"}), &claims("a"), Some(SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, "Unsupported critical extension: exp".into()));
}

#[tokio::test]
async fn audience_and_issuer_are_checked_when_configured() {
    let toml =
        "decode_audience = [\"api\"]\ndecode_issuer = \"me\"\nencode_audience = [\"api\"]\nencode_issuer = \"me\"";
    let (client, auth) = app_with(toml, phial_jwt::JwtExtension::new()).await;
    let good = auth.create_access_token("alice", phial_jwt::MintOptions::new()).unwrap();
    assert_eq!(get_with(&client, "/protected", &good).await.0, 200);
    let mut other = claims("alice");
    other["iss"] = json!("me");
    other["aud"] = json!("web");
    let token = forge(&hs256(), &other, Some(SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, "Audience doesn't match".into()));
    // Neither `iss` nor `aud`: `iss` is checked first, as PyJWT does.
    let token = forge(&hs256(), &claims("alice"), Some(SECRET.as_bytes()));
    assert_eq!(msg(get_with(&client, "/protected", &token).await), (422, "Token is missing the \"iss\" claim".into()));
}
