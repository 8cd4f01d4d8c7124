//! Revocation: logout, refresh-token rotation with reuse detection, Redis across instances.

use phial_jwt::{JwtAuth, JwtConfig, JwtError, MintOptions};
use serde_json::json;

use crate::app;

#[tokio::test]
async fn revoking_a_refresh_token_refuses_it_at_refresh() {
    let (client, auth) = app().await;
    let refresh = auth.create_refresh_token("alice", MintOptions::new()).unwrap();
    assert_eq!(client.post("/refresh").bearer(&refresh).send().await.status().as_u16(), 200);
    auth.revoke(&auth.decode_token(&refresh, false).unwrap()).await.unwrap();
    let response = client.post("/refresh").bearer(&refresh).send().await;
    assert_eq!((response.status().as_u16(), response.json_value()), (401, json!({"msg": "Token has been revoked"})));
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_its_family() {
    let auth = JwtAuth::builder(JwtConfig::default()).secret(crate::SECRET).build().unwrap();
    let first = auth.decode_token(&auth.create_refresh_token("alice", MintOptions::new()).unwrap(), false).unwrap();
    let second = auth.decode_token(&auth.rotate_refresh_token(&first).await.unwrap(), false).unwrap();
    assert_eq!(second.claims()["family"], first.claims()["jti"]);
    assert_eq!(second.claims()["sub"], "alice");
    let third = auth.decode_token(&auth.rotate_refresh_token(&second).await.unwrap(), false).unwrap();
    assert!(!auth.is_revoked(&third).await.unwrap());
    // An attacker replays the first token: the family dies, the legitimate holder too.
    assert!(matches!(auth.rotate_refresh_token(&first).await, Err(JwtError::Revoked)));
    assert!(auth.is_revoked(&third).await.unwrap());
    assert!(auth.is_revoked(&second).await.unwrap());
    let other = auth.decode_token(&auth.create_refresh_token("bob", MintOptions::new()).unwrap(), false).unwrap();
    assert!(!auth.is_revoked(&other).await.unwrap(), "other families are untouched");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_blocklist_is_shared_by_two_instances() {
    use phial_core::prelude::*;
    use phial_core::redis::RedisExtension;
    use phial_core::testing::{Service, service_url};

    use crate::get_with;

    let Some(url) = service_url(Service::Redis) else { return };
    let prefix = format!("phial-test-{}:", uuid::Uuid::new_v4());
    let instance = || async {
        let app = App::builder()
            .profile(Profile::Testing)
            .config_toml(&format!(
                "[redis]\nurl = \"{url}\"\nkey_prefix = \"{prefix}\"\n[jwt]\nsecret_key = \"{}\"\n[jwt.blocklist]\nstore = \"redis\"\n",
                crate::SECRET
            ))
            .extension(RedisExtension::new())
            .extension(phial_jwt::JwtExtension::new())
            .endpoint("protected", "/protected", phial_core::axum::routing::get(crate::protected))
            .build()
            .unwrap()
            .start()
            .await
            .unwrap();
        let auth = app.state().get::<JwtAuth>().unwrap().clone();
        (app.test_client(), auth)
    };
    let (one, auth_one) = instance().await;
    let (two, auth_two) = instance().await;
    let token = auth_one.create_access_token("alice", MintOptions::new()).unwrap();
    assert_eq!(get_with(&two, "/protected", &token).await.0, 200);
    auth_one.revoke(&auth_one.decode_token(&token, false).unwrap()).await.unwrap();
    assert_eq!(get_with(&two, "/protected", &token).await, (401, json!({"msg": "Token has been revoked"})));
    assert_eq!(get_with(&one, "/protected", &token).await.0, 401);
    // Rotation reuse seen by the other instance.
    let refresh =
        auth_one.decode_token(&auth_one.create_refresh_token("bob", MintOptions::new()).unwrap(), false).unwrap();
    let next = auth_one.decode_token(&auth_one.rotate_refresh_token(&refresh).await.unwrap(), false).unwrap();
    assert!(matches!(auth_two.rotate_refresh_token(&refresh).await, Err(JwtError::Revoked)));
    assert!(auth_one.is_revoked(&next).await.unwrap());
}
