//! Serves the same five handlers as a phial app (its default layer stack) or as a bare axum
//! app, for `bench/run.sh` to load with `wrk`.
//!
//! ```text
//! phial-bench phial 8001   # phial: App::builder() ... build()?.start().await?.serve(...)
//! phial-bench axum 8002    # bare axum::Router, the same handlers, no layers
//! phial-bench phial-sql 8003  # GET /items/{id} and /items?page=N through phial-sql
//! phial-bench axum-sql 8004   # the same queries with plain sqlx in bare axum
//! phial-bench phial-forms 8005  # a CSRF-protected form POST through phial-forms
//! phial-bench axum-forms 8006   # the same checks by hand with axum's Form and validator
//! phial-bench phial-login 8007  # a page for logged-in users through phial-login
//! phial-bench axum-login 8008   # the same page reading a signed cookie by hand
//! phial-bench phial-jwt 8009    # a JWT-protected JSON route through phial-jwt
//! phial-bench axum-jwt 8010     # the same with jsonwebtoken by hand
//! phial-bench jwt-cost          # minting and verifying cost per token (no server)
//! ```
//!
//! Both bind `127.0.0.1:<port>` and serve `GET /text`, `/json`, `/user/{name}`, `/template`,
//! `/session` and `/login` (which sets the session cookie `/session` reads).
//!
//! Environment:
//! - `RUST_LOG`: the tracing filter of both servers; `warn` when unset (`phial`'s own `run`
//!   would default to `info`).
//! - `SECRET_KEY`: the phial app's secret key (production profile); a fixed bench key if unset.
//! - `BENCH_AXUM_LAYERS`: for `axum` only, a comma-separated list of layers to add to the bare
//!   app, to price them one at a time: `session` (phial's `SessionLayer`), `body-limit`,
//!   `timeout`, `catch-panic` (tower-http's), `connect-info`, and `identityN` (N no-op
//!   `Router::layer` calls: axum's per-call boxing alone). They are applied in a fixed order
//!   whatever the order of the list.

mod axum_app;
mod common;
mod forms_app;
mod jwt_app;
mod jwt_cost;
mod login_app;
mod phial_app;
mod sql_app;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("jwt-cost") {
        return jwt_cost::run();
    }
    let (Some(mode), Some(port)) = (args.next(), args.next()) else {
        bail!(
            "usage: phial-bench <phial|axum|phial-sql|axum-sql|phial-forms|axum-forms|phial-login|axum-login|phial-jwt|axum-jwt> <port>"
        );
    };
    let port: u16 = port.parse().with_context(|| format!("port `{port}` is not a number"))?;
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        match mode.as_str() {
            "phial" => phial_app::serve(listener).await,
            "axum" => axum_app::serve(listener).await,
            "phial-sql" => sql_app::serve_phial(listener).await,
            "axum-sql" => sql_app::serve_axum(listener).await,
            "phial-forms" => forms_app::serve_phial(listener).await,
            "axum-forms" => forms_app::serve_axum(listener).await,
            "phial-login" => login_app::serve_phial(listener).await,
            "axum-login" => login_app::serve_axum(listener).await,
            "phial-jwt" => jwt_app::serve_phial(listener).await,
            "axum-jwt" => jwt_app::serve_axum(listener).await,
            other => bail!(
                "unknown mode `{other}`; use `phial`, `axum`, `phial-sql`, `axum-sql`, `phial-forms`, `axum-forms`, `phial-login`, `axum-login`, `phial-jwt` or `axum-jwt`"
            ),
        }
    })
}

/// The same subscriber for both servers: `fmt` with `RUST_LOG`, `warn` by default.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}
