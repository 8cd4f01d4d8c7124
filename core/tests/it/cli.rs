//! The command line: listings, `check` exit codes, extension subcommands.

use std::process::ExitCode;

use axum::routing::{get, post};
use phial_core::cli::Output;
use phial_core::prelude::*;

use crate::builder;

fn app() -> AppBuilder {
    builder()
        .endpoint("index", "/", get(|| async { "" }))
        .endpoint("user", "/user/{username}", get(|| async { "" }).post(|| async { "" }))
        .blueprint(
            "/auth",
            Blueprint::new("auth").endpoint("login", "/login", get(|| async { "" }).post(|| async { "" })),
        )
        .route("/unnamed", post(|| async { "" }))
}

async fn run(app: AppBuilder, args: &[&str]) -> (ExitCode, String) {
    let (out, text) = Output::buffer();
    let code = app.build().unwrap().run_with(std::iter::once("app").chain(args.iter().copied()), out).await.unwrap();
    (code, text.text())
}

#[tokio::test]
async fn routes_lists_endpoints_methods_and_rules() {
    let (code, text) = run(app(), &["routes"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    insta::assert_snapshot!(text, @r"
    Endpoint    Methods        Rule
    ----------  -------------  -------------------
    index       GET,HEAD       /
    auth.login  GET,HEAD,POST  /auth/login
    healthz     GET,HEAD       /healthz
    readyz      GET,HEAD       /readyz
    static      GET,HEAD       /static/{*filename}
    -           POST           /unnamed
    user        GET,HEAD,POST  /user/{username}
    ");
}

#[tokio::test]
async fn middleware_lists_layers_outermost_first() {
    let app = app().layer(
        Stage::Security,
        "server-header",
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            http::header::SERVER,
            http::HeaderValue::from_static("phial"),
        ),
    );
    let (_, text) = run(app, &["middleware"]).await;
    insta::assert_snapshot!(text, @r"
    Stage     Layer                                                       Added by
    --------  ----------------------------------------------------------  --------
    outer     request-id, body-limit, timeout, catch-panic, error-render  core
    security  server-header                                               app
    session   session (cookie)                                            core
    ");
}

struct Db {
    healthy: bool,
}

impl Extension for Db {
    const NAME: &'static str = "db";
    type Config = ();

    fn build(&self, (): &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        ctx.command(CliCommand::new(
            clap::Command::new("db")
                .subcommand(clap::Command::new("upgrade").arg(clap::Arg::new("target").default_value("head"))),
            |args| {
                Box::pin(async move {
                    let Some(("upgrade", sub)) = args.matches.subcommand() else {
                        return Ok(ExitCode::from(2));
                    };
                    let target = sub.get_one::<String>("target").cloned().unwrap_or_default();
                    args.out.line(format!("upgrading to {target} in profile {}", args.state.profile()));
                    Ok(ExitCode::SUCCESS)
                })
            },
        ));
        Ok(())
    }

    async fn health(&self, _: &AppState) -> Health {
        if self.healthy { Health::Healthy } else { Health::unhealthy("connection refused") }
    }
}

#[tokio::test]
async fn extension_subcommand_runs_against_the_started_app() {
    let (code, text) = run(app().extension(Db { healthy: true }), &["db", "upgrade", "abc123"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(text, "upgrading to abc123 in profile testing\n");
}

/// An extension's command that lists something per route, from the route list in the state.
struct RouteLister;

impl Extension for RouteLister {
    const NAME: &'static str = "lister";
    type Config = ();

    fn build(&self, (): &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        ctx.command(CliCommand::new(clap::Command::new("paths"), |args| {
            Box::pin(async move {
                let routes = args.state.get::<phial_core::Routes>().ok_or_else(|| Error::msg("no route list"))?;
                for route in routes {
                    args.out.line(format!("{} {}", route.methods, route.path));
                }
                Ok(ExitCode::SUCCESS)
            })
        }));
        Ok(())
    }
}

#[tokio::test]
async fn commands_read_every_route_from_the_state() {
    let (code, text) = run(app().extension(RouteLister), &["paths"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    insta::assert_snapshot!(text, @r"
    GET,HEAD /
    GET,HEAD,POST /auth/login
    GET,HEAD /healthz
    GET,HEAD /readyz
    GET,HEAD /static/{*filename}
    POST /unnamed
    GET,HEAD,POST /user/{username}
    ");
}

#[tokio::test]
async fn check_exits_non_zero_when_a_check_fails() {
    let (code, text) = run(app().extension(Db { healthy: true }), &["check"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.contains("db ok") && text.contains("all checks passed"), "{text}");
    let (code, text) = run(app().extension(Db { healthy: false }), &["check"]).await;
    assert_eq!(code, ExitCode::FAILURE, "{text}");
    assert!(text.contains("db FAILED") && text.contains("connection refused"), "{text}");
}

#[tokio::test]
async fn extensions_and_config_commands() {
    let (_, text) = run(app().extension(Db { healthy: true }), &["extensions"]).await;
    assert_eq!(text, "1. db\n");
    let (_, text) = run(app(), &["config"]).await;
    assert!(text.starts_with("# profile: testing"), "{text}");
    assert!(text.contains("\"secret_key\": \"********\""), "{text}");
    assert!(!text.contains("test-secret-key"));
}

#[tokio::test]
async fn unknown_command_is_a_usage_error() {
    let (code, text) = run(app(), &["frobnicate"]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(text.contains("frobnicate"), "{text}");
}
