//! `jwt-api serve --bind 127.0.0.1:5000`: the API of Flask-JWT-Extended's documentation.
//!
//! Configured by `JWT_SECRET_KEY` and the other `JWT_*` variables, and `REDIS_URL` for a
//! shared blocklist.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    jwt_api::app(std::env::vars()).run().await
}
