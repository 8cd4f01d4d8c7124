//! `phial_login::testing`: logging in from a test without the login form.

use http::StatusCode;
use phial_login::testing::{log_in_as, login_route};

use crate::{User, Users, app_builder};

#[tokio::test]
async fn test_login_route_logs_a_user_in_freshly() {
    let app = app_builder(&Users::with(&["ada"]), "", "memory")
        .route("/_test/login/{id}", login_route::<User>())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let client = app.test_client();
    log_in_as(&client, "/_test/login", "ada").await;
    assert_eq!(client.get("/settings").await.text(), "fresh:ada");
    client.post("/_test/login/nobody").await.assert_status(StatusCode::NOT_FOUND);
}
