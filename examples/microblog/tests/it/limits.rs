//! Rate limits on failed logins and token requests (`LOGIN_RATE_LIMIT`, `RATELIMIT_ENABLED`).

use base64::Engine as _;
use phial::axum::http::StatusCode;

use crate::{Site, login_with};

fn basic(credentials: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

#[tokio::test]
async fn failed_logins_past_the_limit_get_429_per_client_and_successes_do_not_count() {
    let site = Site::with(&[("LOGIN_RATE_LIMIT", "3/minute")]).await;
    site.register("susan").await;
    let client = &site.client;
    for _ in 0..2 {
        assert_eq!(login_with(client, "susan", "dog", "").await.location(), Some("/auth/login"));
    }
    // A success in between is not counted.
    assert_eq!(login_with(client, "susan", "cat", "").await.location(), Some("/index"));
    client.get("/auth/logout").send().await;
    assert_eq!(login_with(client, "susan", "dog", "").await.location(), Some("/auth/login"));

    let refused = login_with(client, "susan", "cat", "").await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.html().contains("<h1>Too Many Requests</h1>"), "{}", refused.html());
    assert!(refused.header("retry-after").is_some_and(|seconds| seconds.parse::<u64>().is_ok()));
    // The form itself still shows; another client is not limited.
    client.get("/auth/login").send().await.assert_status(StatusCode::OK);
    let other = client.new_session().with_peer("192.0.2.7:40000".parse().unwrap());
    assert_eq!(login_with(&other, "susan", "cat", "").await.location(), Some("/index"));
}

#[tokio::test]
async fn refused_token_requests_past_the_limit_get_a_json_429() {
    let site = Site::with(&[("LOGIN_RATE_LIMIT", "2/minute")]).await;
    site.register("susan").await;
    let client = &site.client;
    let good = client.post("/api/tokens").header("Authorization", basic("susan:cat").as_str()).send().await;
    good.assert_status(StatusCode::OK);
    for _ in 0..2 {
        let bad = client.post("/api/tokens").header("Authorization", basic("susan:dog").as_str()).send().await;
        bad.assert_status(StatusCode::UNAUTHORIZED);
    }
    let refused = client.post("/api/tokens").header("Authorization", basic("susan:cat").as_str()).send().await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json_value(), serde_json::json!({ "error": "Too Many Requests", "message": "2 per 1 minute" }));
}

#[tokio::test]
async fn ratelimit_enabled_false_turns_the_limits_off() {
    let site = Site::with(&[("LOGIN_RATE_LIMIT", "1/minute"), ("RATELIMIT_ENABLED", "false")]).await;
    site.register("susan").await;
    for _ in 0..3 {
        assert_eq!(login_with(&site.client, "susan", "dog", "").await.location(), Some("/auth/login"));
    }
    assert_eq!(login_with(&site.client, "susan", "cat", "").await.location(), Some("/index"));
}

#[tokio::test]
async fn with_redis_url_the_limit_holds_across_instances() {
    let Some(url) = phial::testing::service_url(phial::testing::Service::Redis) else { return };
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let prefix = format!("microblog-test-{}:", hex::encode(bytes));
    let env =
        [("REDIS_URL", url.as_str()), ("PHIAL_REDIS__KEY_PREFIX", prefix.as_str()), ("LOGIN_RATE_LIMIT", "2/minute")];
    let (one, two) = (Site::with(&env).await, Site::with(&env).await);
    one.register("susan").await;
    two.register("susan").await;
    for _ in 0..2 {
        assert_eq!(login_with(&one.client, "susan", "dog", "").await.location(), Some("/auth/login"));
    }
    // The other instance knows: the same client is refused there.
    login_with(&two.client, "susan", "cat", "").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}
