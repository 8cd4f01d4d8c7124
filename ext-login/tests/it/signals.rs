//! Hooks: logged in, logged out, loaded from the remember cookie, unauthorized.

use std::sync::{Arc, Mutex};

use http::StatusCode;

use crate::{HTML, Users, app_builder_with, log_in};

#[tokio::test]
async fn hooks_see_each_event_once() {
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let (a, b, c, d) = (events.clone(), events.clone(), events.clone(), events.clone());
    let app = app_builder_with(&Users::with(&["ada"]), "login_view = \"/login\"", "memory", move |login| {
        login
            .on_login(move |user| a.lock().unwrap().push(format!("in:{}", user.name)))
            .on_logout(move |user| b.lock().unwrap().push(format!("out:{}", user.name)))
            .on_remember(move |user| c.lock().unwrap().push(format!("remembered:{}", user.name)))
            .on_unauthorized(move |event| {
                d.lock().unwrap().push(format!("refused:{}:{}", event.path, event.needs_fresh));
            })
    })
    .build()
    .unwrap()
    .start()
    .await
    .unwrap();
    let client = app.test_client();
    client.get("/account").header("accept", HTML).await.assert_status(StatusCode::FOUND);
    log_in(&client, "ada", true).await;
    client.remove_cookie("session");
    client.get("/account").await.assert_status(StatusCode::OK);
    client.get("/settings").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
    client.post("/logout").await;
    assert_eq!(
        *events.lock().unwrap(),
        ["refused:/account:false", "in:ada", "remembered:ada", "refused:/settings:true", "out:ada"]
    );
}

#[tokio::test]
async fn confirm_login_makes_a_restored_login_fresh_again() {
    let (client, _) = crate::client().await;
    log_in(&client, "ada", true).await;
    client.remove_cookie("session");
    client.get("/settings").accept_json().await.assert_status(StatusCode::UNAUTHORIZED);
    client.post("/reauth").await.assert_status(StatusCode::OK);
    assert_eq!(client.get("/settings").await.text(), "fresh:ada");
}
