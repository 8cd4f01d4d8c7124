//! The layer in a bare axum app, on memory storage and a test clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::{Method, StatusCode};
use phial_limiter::{KeyFunc, Limit, Limiter, RetryAfter, Strategy};

use crate::support::{T0, builder, client_from, router};

#[tokio::test]
async fn two_per_minute_is_200_200_then_429_naming_the_limit() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("2/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 1]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::OK);
    let refused = client.get("/").accept_json().await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(refused.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(refused.header("x-ratelimit-reset"), Some((T0.as_secs() + 61).to_string().as_str()));
    assert_eq!(refused.json_value()["message"], "2 per 1 minute");
    assert_eq!(refused.json_value()["error"], "Too Many Requests");
    let page = client.get("/").header("accept", "text/html").await;
    page.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(page.html().contains("2 per 1 minute"), "{}", page.html());
}

/// 1 request at t0, 9 at t59, 10 at t61 against 10/minute: how many pass.
async fn boundary_burst(strategy: Strategy) -> usize {
    let (b, clock) = builder();
    let limiter = b.strategy(strategy).default_limits("10/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 2]);
    let mut passed = 0;
    for (at, count) in [(0, 1), (59, 9), (61, 10)] {
        clock.set(T0 + Duration::from_secs(at));
        for _ in 0..count {
            passed += usize::from(client.get("/").await.status() == StatusCode::OK);
        }
    }
    passed
}

#[tokio::test]
async fn fixed_window_passes_all_20_of_the_boundary_burst_moving_window_11() {
    assert_eq!(boundary_burst(Strategy::FixedWindow).await, 20);
    assert_eq!(boundary_burst(Strategy::MovingWindow).await, 11);
}

#[tokio::test]
async fn retry_after_is_never_negative_and_reaches_zero_at_reset() {
    let (b, clock) = builder();
    let limiter = b.default_limits("1/second").strategy(Strategy::MovingWindow).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 3]);
    client.get("/").await.assert_status(StatusCode::OK);
    clock.advance(Duration::from_millis(999));
    let refused = client.get("/").await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), Some("1"));
    // `limits` refuses up to and including the instant the window ends; just after, it passes.
    clock.advance(Duration::from_millis(2));
    client.get("/").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("1/minute").retry_after(RetryAfter::HttpDate).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 4]);
    client.get("/").await;
    let refused = client.get("/").await;
    // T0 + 60 s = 2023-11-14 22:14:20 UTC.
    assert_eq!(refused.header("retry-after"), Some("Tue, 14 Nov 2023 22:14:20 GMT"));
}

#[tokio::test]
async fn deduct_when_counts_only_failed_logins() {
    let (b, _clock) = builder();
    let limiter =
        b.route("/login", Limit::new("2/minute").deduct_when(|status, _| status.is_client_error())).build().unwrap();
    let app = Router::new()
        .route(
            "/login",
            post(|body: String| async move { if body == "right" { StatusCode::OK } else { StatusCode::UNAUTHORIZED } }),
        )
        .layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 5]);
    for _ in 0..5 {
        client.post("/login").body("right").await.assert_status(StatusCode::OK);
    }
    client.post("/login").body("wrong").await.assert_status(StatusCode::UNAUTHORIZED);
    client.post("/login").body("wrong").await.assert_status(StatusCode::UNAUTHORIZED);
    // Two failures used the budget: now even the right password waits.
    let refused = client.post("/login").body("right").await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
}

#[tokio::test]
async fn methods_limit_only_the_listed_methods_and_per_method_counts_apart() {
    let (b, _clock) = builder();
    let limiter = b
        .route("/", Limit::new("1/minute").methods([Method::POST]))
        .route("/other", Limit::new("1/minute").per_method())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "home" }).post(|| async { "posted" }))
        .route("/other", get(|| async { "other" }).post(|| async { "posted" }))
        .layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 6]);
    for _ in 0..3 {
        client.get("/").await.assert_status(StatusCode::OK);
    }
    client.post("/").await.assert_status(StatusCode::OK);
    client.post("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.get("/other").await.assert_status(StatusCode::OK);
    client.post("/other").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.post("/other").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn exempt_routes_and_exempt_when_are_not_limited() {
    let (b, _clock) = builder();
    let limiter = b
        .default_limits("1/minute")
        .exempt("/health")
        .route("/other", Limit::new("1/minute").exempt_when(|parts| parts.headers.contains_key("x-internal")))
        .build()
        .unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 7]);
    for _ in 0..5 {
        client.get("/health").await.assert_status(StatusCode::OK);
        client.get("/other").header("x-internal", "1").await.assert_status(StatusCode::OK);
    }
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.get("/other").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn default_limits_count_per_route() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("1/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 8]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn application_and_shared_limits_count_across_routes() {
    let (b, _clock) = builder();
    let limiter = b.application_limits("3/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 9]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::OK);
    client.get("/health").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::TOO_MANY_REQUESTS);

    let (b, _clock) = builder();
    let limiter = b.shared_limit("pages", Limit::new("2/minute"), ["/", "/other"]).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 9]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/other").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.get("/health").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn spoofed_forwarded_for_from_one_peer_creates_no_new_bucket() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("2/minute").build().unwrap();
    let client = client_from(router(&limiter), [198, 51, 100, 1]);
    for (i, status) in [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].into_iter().enumerate() {
        client.get("/").header("x-forwarded-for", format!("10.9.9.{i}")).await.assert_status(status);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_key() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("1/minute").trusted_proxies(1).build().unwrap();
    // Every request comes from the proxy's address.
    let client = client_from(router(&limiter), [10, 0, 0, 1]);
    client.get("/").header("x-forwarded-for", "203.0.113.50").await.assert_status(StatusCode::OK);
    client.get("/").header("x-forwarded-for", "203.0.113.51").await.assert_status(StatusCode::OK);
    // A client that forges an entry in front of what the proxy appended is still itself.
    let forged = client.get("/").header("x-forwarded-for", "1.2.3.4, 203.0.113.50").await;
    forged.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn headers_on_every_response_when_enabled_only() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("5/minute").headers_enabled(true).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 10]);
    let ok = client.get("/").await;
    assert_eq!(ok.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(ok.header("x-ratelimit-remaining"), Some("4"));
    assert_eq!(ok.header("retry-after"), Some("60"));

    let (b, _clock) = builder();
    let limiter = b.default_limits("5/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 10]);
    let ok = client.get("/").await;
    assert_eq!(ok.header("x-ratelimit-limit"), None);
}

#[tokio::test]
async fn on_breach_is_called_and_its_response_replaces_the_429() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let (b, _clock) = builder();
    let limiter = b
        .default_limits("1/minute")
        .on_breach(move |breach| {
            seen.fetch_add(1, Ordering::SeqCst);
            assert_eq!(breach.limit.to_string(), "1 per 1 minute");
            assert_eq!(breach.scope, "/");
            Some((StatusCode::SERVICE_UNAVAILABLE, "slow down").into_response())
        })
        .build()
        .unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 11]);
    client.get("/").await.assert_status(StatusCode::OK);
    let replaced = client.get("/").await;
    replaced.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(replaced.text(), "slow down");
    assert_eq!(replaced.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_limits_own_on_breach_runs_after_the_limiters_and_its_response_wins() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (app_seen, own_seen) = (Arc::clone(&order), Arc::clone(&order));
    let (b, _clock) = builder();
    let limiter = b
        .default_limits("1/minute")
        .route(
            "/login",
            Limit::new("1/minute").on_breach(move |breach| {
                own_seen.lock().unwrap().push(format!("login {}", breach.scope));
                Some((StatusCode::TOO_MANY_REQUESTS, "too many attempts").into_response())
            }),
        )
        .on_breach(move |breach| {
            app_seen.lock().unwrap().push(format!("app {}", breach.scope));
            Some((StatusCode::SERVICE_UNAVAILABLE, "slow down").into_response())
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/login", post(|| async { "welcome" }))
        .layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 13]);
    client.post("/login").await.assert_status(StatusCode::OK);
    let replaced = client.post("/login").await;
    replaced.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(replaced.text(), "too many attempts");
    assert_eq!(replaced.header("x-ratelimit-limit"), Some("1"));
    assert_eq!(*order.lock().unwrap(), ["app /login", "login /login"]);

    // A route under the defaults meets only the limiter's callback.
    client.get("/").await.assert_status(StatusCode::OK);
    let other = client.get("/").await;
    other.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(other.text(), "slow down");
    assert_eq!(order.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_limits_on_breach_returning_none_keeps_the_429() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let (b, _clock) = builder();
    let limit = Limit::new("1/minute").on_breach(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        None
    });
    let limiter = b.route("/", limit).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 14]);
    client.get("/").await.assert_status(StatusCode::OK);
    let refused = client.get("/").accept_json().await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json_value()["message"], "1 per 1 minute");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fail_on_first_breach_off_counts_every_limit() {
    // 1/second breaks first (shortest window first); with fail_on_first_breach the minute
    // limit is not counted for the refused request.
    for (stop, expected) in [(true, 8), (false, 7)] {
        let (b, clock) = builder();
        let limiter =
            b.default_limits("1/second;10/minute").fail_on_first_breach(stop).headers_enabled(true).build().unwrap();
        let client = client_from(router(&limiter), [203, 0, 113, 12]);
        client.get("/").await.assert_status(StatusCode::OK);
        client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
        clock.advance(Duration::from_secs(2));
        client.get("/").await.assert_status(StatusCode::OK);
        // Drain the minute limit: what remains shows whether the refused request counted.
        let mut allowed = 0;
        for _ in 0..20 {
            clock.advance(Duration::from_secs(1));
            if client.get("/").await.status() == StatusCode::OK {
                allowed += 1;
            }
        }
        assert_eq!(allowed, expected, "fail_on_first_breach = {stop}");
    }
}

#[tokio::test]
async fn cost_counts_a_request_as_several_hits() {
    let (b, _clock) = builder();
    let limiter = b.route("/", Limit::new("10/minute").cost(4)).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 13]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn api_key_and_custom_keys_count_apart() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("1/minute").key(KeyFunc::header("x-api-key")).build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 14]);
    client.get("/").header("x-api-key", "a").await.assert_status(StatusCode::OK);
    client.get("/").header("x-api-key", "b").await.assert_status(StatusCode::OK);
    client.get("/").header("x-api-key", "a").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn zero_per_second_refuses_everything_and_disabled_limits_nothing() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("0/second").build().unwrap();
    client_from(router(&limiter), [203, 0, 113, 15]).get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    let (b, _clock) = builder();
    let limiter = b.default_limits("0/second").enabled(false).build().unwrap();
    client_from(router(&limiter), [203, 0, 113, 15]).get("/").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn blueprint_limits_apply_under_their_prefix_per_route() {
    let (b, _clock) = builder();
    let limiter = b.blueprint("/api", Limit::new("1/minute")).build().unwrap();
    let app = Router::new()
        .route("/api/a", get(|| async { "a" }))
        .route("/api/b", get(|| async { "b" }))
        .route("/page", get(|| async { "page" }))
        .layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 16]);
    client.get("/api/a").await.assert_status(StatusCode::OK);
    client.get("/api/b").await.assert_status(StatusCode::OK);
    client.get("/api/a").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    client.get("/page").await.assert_status(StatusCode::OK);
    client.get("/page").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn route_patterns_count_one_bucket_for_all_their_paths() {
    let (b, _clock) = builder();
    let limiter: Limiter = b.route("/user/{id}", Limit::new("2/minute")).build().unwrap();
    let app = Router::new().route("/user/{id}", get(|| async { "user" })).layer(limiter.layer());
    let client = client_from(app, [203, 0, 113, 17]);
    client.get("/user/1").await.assert_status(StatusCode::OK);
    client.get("/user/2").await.assert_status(StatusCode::OK);
    client.get("/user/3").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn requests_matching_no_route_are_not_limited() {
    let (b, _clock) = builder();
    let limiter = b.default_limits("1/minute").application_limits("1/minute").build().unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 18]);
    for i in 0..3 {
        client.get(format!("/missing/{i}")).await.assert_status(StatusCode::NOT_FOUND);
    }
    client.get("/").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn gcra_with_deduct_when_refuses_once_the_counted_burst_is_used() {
    let (b, clock) = builder();
    let limiter = b
        .strategy(Strategy::Gcra)
        .route("/", Limit::new("2/minute").deduct_when(|status, _| status.is_success()))
        .build()
        .unwrap();
    let client = client_from(router(&limiter), [203, 0, 113, 19]);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::OK);
    client.get("/").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    // One cell comes back every 30 s.
    clock.advance(Duration::from_secs(31));
    client.get("/").await.assert_status(StatusCode::OK);
}
