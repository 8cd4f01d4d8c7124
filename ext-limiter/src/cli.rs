//! `<app> limiter limits` and `<app> limiter reset [KEY]` (Flask-Limiter's `flask limiter ...`).

use std::process::ExitCode;

use phial_core::CliCommand;
use phial_core::clap::{Arg, Command};

use crate::limiter::Limiter;

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
                args.out.line(format!("strategy: {}", limiter.strategy().name()));
                let lines = limiter.describe();
                let width = lines.iter().map(|(at, _)| at.len()).max().unwrap_or(0);
                for (at, limits) in lines {
                    args.out.line(format!("{at:width$}  {limits}"));
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    })
}
