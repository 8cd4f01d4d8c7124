//! `<app> maintenance on|off|status`.

use std::process::ExitCode;
use std::time::Duration;

use phial_core::clap::Command;
use phial_core::cli::Output;
use phial_core::{CliCommand, Error};

use crate::flag::FlagFile;
use crate::switch::MaintenanceSwitch;

/// What the command knows from config, captured when the extension is built.
#[derive(Debug, Clone)]
struct Settings {
    flag: Option<FlagFile>,
    forced: bool,
    poll: Option<Duration>,
}

/// The `maintenance` subcommand.
pub(crate) fn command(flag: Option<FlagFile>, forced: bool, poll: Option<Duration>) -> CliCommand {
    let settings = Settings { flag, forced, poll };
    let clap = Command::new("maintenance")
        .about("Turn maintenance mode on or off for every instance that shares the instance folder")
        .subcommand_required(true)
        .subcommand(Command::new("on").about("Create the flag file: instances answer 503 within `poll_interval`"))
        .subcommand(Command::new("off").about("Remove the flag file"))
        .subcommand(Command::new("status").about("Show whether maintenance mode is on, and why"));
    CliCommand::new(clap, move |args| {
        let settings = settings.clone();
        Box::pin(async move {
            // The core started the app for us: `start` read the flag file into the switch.
            let switch = args.state.require::<MaintenanceSwitch>().clone();
            match args.matches.subcommand_name() {
                Some("on") => turn_on(&settings, &args.out).await,
                Some("off") => turn_off(&settings, &args.out).await,
                _ => Ok(status(&settings, &switch, &args.out)),
            }
        })
    })
}

fn flag_or_explain<'a>(settings: &'a Settings, out: &Output) -> Option<&'a FlagFile> {
    if settings.flag.is_none() {
        out.line(
            "maintenance.flag_file is empty, so there is no flag file to change; set it, or use maintenance.enabled",
        );
    }
    settings.flag.as_ref()
}

fn when_seen(settings: &Settings) -> String {
    match settings.poll {
        Some(every) => format!("running instances follow within {}s", every.as_secs_f64()),
        None => "running instances follow at their next start (maintenance.poll_interval = 0)".to_owned(),
    }
}

async fn turn_on(settings: &Settings, out: &Output) -> Result<ExitCode, Error> {
    let Some(flag) = flag_or_explain(settings, out) else { return Ok(ExitCode::FAILURE) };
    flag.create()
        .await
        .map_err(|err| Error::msg(format!("cannot create the flag file {}: {err}", flag.path().display())))?;
    out.line(format!("maintenance mode is on: created {}; {}", flag.path().display(), when_seen(settings)));
    Ok(ExitCode::SUCCESS)
}

async fn turn_off(settings: &Settings, out: &Output) -> Result<ExitCode, Error> {
    let Some(flag) = flag_or_explain(settings, out) else { return Ok(ExitCode::FAILURE) };
    let existed = flag
        .remove()
        .await
        .map_err(|err| Error::msg(format!("cannot remove the flag file {}: {err}", flag.path().display())))?;
    if settings.forced {
        out.line("maintenance mode stays on: maintenance.enabled = true in the config; set it to false and restart");
        return Ok(ExitCode::FAILURE);
    }
    let done = if existed { "removed" } else { "there was no" };
    out.line(format!("maintenance mode is off: {done} {}; {}", flag.path().display(), when_seen(settings)));
    Ok(ExitCode::SUCCESS)
}

fn status(settings: &Settings, switch: &MaintenanceSwitch, out: &Output) -> ExitCode {
    let state = if switch.is_on() { "on" } else { "off" };
    let why = match (&settings.flag, settings.forced) {
        (_, true) => " (maintenance.enabled = true)".to_owned(),
        (Some(flag), false) if switch.is_on() => format!(" (flag file {})", flag.path().display()),
        _ => String::new(),
    };
    out.line(format!("maintenance mode is {state}{why}"));
    ExitCode::SUCCESS
}
