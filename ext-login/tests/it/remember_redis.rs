//! Remember-me tokens in Redis shared by two instances of the app (`PHIAL_TEST_REDIS_URL`;
//! skipped with a notice when no server answers). Each test uses its own key prefix.

use http::StatusCode;
use phial_core::redis::{Redis, RedisConfig, RedisExtension, cmd};
use phial_core::session::SessionId;
use phial_core::testing::{Service, TestClient, service_url};

use crate::{Users, app_builder, log_in};

/// Two instances of one app on one Redis, with server-side sessions in Redis too, and a
/// handle to delete the test's keys afterwards.
async fn two_instances() -> Option<(TestClient, TestClient, Cleanup)> {
    let url = service_url(Service::Redis)?;
    let prefix = format!("phial-login-test:{}:", &SessionId::generate().unwrap().as_str()[..12]);
    let users = Users::with(&["ada"]);
    let mut clients = Vec::new();
    for _ in 0..2 {
        let app = app_builder(&users, "login_view = \"/login\"\nremember_store = \"redis\"", "redis")
            .extension(RedisExtension::new())
            .set("redis.url", url.as_str())
            .set("redis.key_prefix", prefix.as_str())
            .build()
            .unwrap()
            .start()
            .await
            .unwrap();
        clients.push(app.test_client());
    }
    let second = clients.pop()?;
    Some((clients.pop()?, second, Cleanup { url, prefix }))
}

struct Cleanup {
    url: String,
    prefix: String,
}

impl Cleanup {
    async fn run(self) {
        let mut config = RedisConfig::default();
        config.url = self.url.as_str().into();
        let redis = Redis::connect(&config).await.unwrap();
        let keys: Vec<String> = redis.query(cmd("KEYS").arg(format!("{}*", self.prefix))).await.unwrap();
        for key in keys {
            redis.query::<()>(cmd("DEL").arg(key)).await.unwrap();
        }
    }
}

#[tokio::test]
async fn remember_token_from_one_instance_logs_in_on_another_and_rotates() {
    let Some((a, b, cleanup)) = two_instances().await else { return };
    log_in(&a, "ada", true).await;
    let token = a.cookie("remember_token").unwrap();
    let browser = b.new_session();
    browser.set_cookie("remember_token", &token);
    assert_eq!(browser.get("/account").await.text(), "account:ada");
    browser.get("/settings").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
    assert_ne!(browser.cookie("remember_token").unwrap(), token);

    let replay = a.new_session();
    replay.set_cookie("remember_token", &token);
    assert_eq!(replay.get("/").await.text(), "anonymous");
    cleanup.run().await;
}

#[tokio::test]
async fn logout_everywhere_on_one_instance_ends_sessions_on_the_other() {
    let Some((a, b, cleanup)) = two_instances().await else { return };
    log_in(&a, "ada", false).await;
    log_in(&b, "ada", true).await;
    let token = b.cookie("remember_token").unwrap();
    a.post("/logout-everywhere").await.assert_status(StatusCode::OK);
    assert_eq!(b.get("/").await.text(), "anonymous");
    let browser = b.new_session();
    browser.set_cookie("remember_token", &token);
    assert_eq!(browser.get("/").await.text(), "anonymous");
    cleanup.run().await;
}
