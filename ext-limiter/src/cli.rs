//! `<app> limiter limits` and `<app> limiter reset [KEY]` (Flask-Limiter's `flask limiter ...`).

use std::process::ExitCode;

use phial_core::clap::{Arg, Command};
use phial_core::cli::Output;
use phial_core::{CliCommand, Routes};

use crate::limiter::{LimitSource, Limiter, show_limits};

/// The `limiter` command with its two subcommands.
pub(crate) fn command() -> CliCommand {
    let cli = Command::new("limiter")
        .about("Rate limits: list them, or reset counters")
        .subcommand_required(true)
        .subcommand(Command::new("limits").about("List the limits of every route, the defaults and exemptions"))
        .subcommand(
            Command::new("reset")
                .about("Forget counted hits: of KEY (e.g. an IP address), or all")
                .arg(Arg::new("key").value_name("KEY").required(false)),
        );
    CliCommand::new(cli, |args| {
        Box::pin(async move {
            let Some(limiter) = args.state.get::<Limiter>() else {
                return Err(phial_core::Error::msg("the limiter is not registered"));
            };
            if let Some(("reset", sub)) = args.matches.subcommand() {
                let key = sub.get_one::<String>("key").map(String::as_str);
                let removed = limiter.reset(key).await.map_err(phial_core::Error::other)?;
                match key {
                    Some(key) => args.out.line(format!("reset {removed} counters of {key}")),
                    None => args.out.line(format!("reset {removed} counters")),
                }
            } else {
                match args.state.get::<Routes>() {
                    Some(routes) => list_routes(limiter, routes, &args.out),
                    None => list_declared(limiter, &args.out),
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// Every route of the app with the limits it meets, where they come from, exemptions marked;
/// then limits declared for patterns no route has (a typo there limits nothing).
fn list_routes(limiter: &Limiter, routes: &Routes, out: &Output) {
    out.line(format!("strategy: {}", limiter.strategy().name()));
    if !limiter.enabled() {
        out.line("limiting is disabled (limiter.enabled = false): nothing below is enforced");
    }
    let application = limiter.application_text();
    if !application.is_empty() {
        out.line(format!("application limits (every route that is not exempt, one bucket): {application}"));
    }
    out.line("");
    let rows = routes.iter().map(|route| {
        let (limits, from) = match limiter.source_of(&route.path) {
            LimitSource::Exempt => ("-".to_owned(), "exempt".to_owned()),
            LimitSource::Route(limits) => (show_limits(limits), "route".to_owned()),
            LimitSource::Blueprint(prefix, limits) => (show_limits(limits), format!("blueprint {prefix}")),
            LimitSource::Default([]) => ("-".to_owned(), "none".to_owned()),
            LimitSource::Default(limits) => (show_limits(limits), "default".to_owned()),
        };
        [route.methods.clone(), route.path.clone(), limits, from]
    });
    print_table(out, ["Methods", "Rule", "Limits", "From"], &rows.collect::<Vec<_>>());
    let unknown: Vec<&str> =
        limiter.declared_routes().into_iter().filter(|declared| !routes.iter().any(|r| r.path == *declared)).collect();
    if !unknown.is_empty() {
        out.line("");
        out.line(format!("declared for routes the app does not have: {}", unknown.join(", ")));
    }
}

/// The limits the limiter was given, when the app's route list is not in the state.
fn list_declared(limiter: &Limiter, out: &Output) {
    out.line(format!("strategy: {}", limiter.strategy().name()));
    let lines = limiter.describe();
    let width = lines.iter().map(|(at, _)| at.len()).max().unwrap_or(0);
    for (at, limits) in lines {
        out.line(format!("{at:width$}  {limits}"));
    }
}

fn print_table<const N: usize>(out: &Output, header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    out.line(line(&header));
    out.line(line(&widths.map(|w| "-".repeat(w)).iter().map(String::as_str).collect::<Vec<_>>()));
    for row in rows {
        out.line(line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
}
