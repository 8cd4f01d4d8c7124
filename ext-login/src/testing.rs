//! Test helpers (feature `testing`): log a user in without going through the app's login form.
//! Flask-Login: `FlaskLoginClient` (`app.test_client(user=user)`).

use axum::extract::Path;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, post};
use http::StatusCode;
use phial_core::testing::TestClient;

use crate::extract::Login;
use crate::user::AuthUser;

/// A `POST` route that logs in the user whose id is the route's one path parameter (loaded
/// with the app's user loader), fresh and not remembered, and answers 204 (404 for an unknown
/// id). Mount it in tests only: it logs anyone in without a password.
///
/// # Examples
///
/// ```
/// use phial_core::prelude::*;
/// use phial_login::{AuthUser, LoginExtension};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl AuthUser for User { fn auth_id(&self) -> String { self.0.clone() } }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), phial_core::Error> {
/// let app = App::builder()
///     .profile(Profile::Testing)
///     .extension(LoginExtension::new(|id: String| async move { Ok(Some(User(id))) }))
///     .route("/_test/login/{id}", phial_login::testing::login_route::<User>())
///     .build()?
///     .start()
///     .await?;
/// let client = app.test_client();
/// phial_login::testing::log_in_as(&client, "/_test/login", "ada").await;
/// # Ok(()) }
/// ```
pub fn login_route<U: AuthUser>() -> MethodRouter<phial_core::AppState> {
    post(|Path(id): Path<String>, mut login: Login<U>| async move {
        match login.load_user(&id).await {
            Ok(Some(user)) => match login.login_user(&user, crate::LoginOptions::new().force(true)).await {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(err) => err.into_response(),
            },
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(err) => err.into_response(),
        }
    })
}

/// Logs `id` in on `client` through a [`login_route`] mounted at `route` (`{route}/{id}`).
///
/// # Panics
///
/// When the route does not answer 204, with the response in the message.
///
/// # Examples
///
/// See [`login_route`].
pub async fn log_in_as(client: &TestClient, route: &str, id: &str) {
    let path = format!("{}/{}", route.trim_end_matches('/'), percent_encoding::utf8_percent_encode(id, SEGMENT));
    let response = client.post(&path).await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "logging `{id}` in through {path} failed: {}",
        response.text()
    );
}

/// Characters escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
