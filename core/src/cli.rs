//! The command line every phial app has: `serve`, `routes`, `middleware`, `extensions`,
//! `config`, `check`, plus subcommands added by extensions and the app.
//!
//! Listing commands (`routes`, `middleware`, `extensions`, `config`) work on the built app
//! and touch no service, so they run anywhere. `check` and extension subcommands run against a
//! started app with no listener, then shut it down.

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Arg, ArgMatches, Command};

use crate::app::{App, RunningApp};
use crate::error::Error;
use crate::extension::BoxFuture;
use crate::state::AppState;

type RunFn = dyn Fn(CommandArgs) -> BoxFuture<'static, Result<ExitCode, Error>> + Send + Sync;

/// A CLI subcommand contributed by an extension or the app (e.g. `db upgrade`).
///
/// # Examples
///
/// ```
/// use std::process::ExitCode;
/// use phial_core::prelude::*;
///
/// let hello = CliCommand::new(
///     clap::Command::new("hello").about("Say hello").arg(clap::Arg::new("name").required(true)),
///     |args| Box::pin(async move {
///         let name = args.matches.get_one::<String>("name").cloned().unwrap_or_default();
///         args.out.line(format!("hello, {name}"));
///         Ok(ExitCode::SUCCESS)
///     }),
/// );
/// # let _ = hello;
/// ```
#[derive(Clone)]
pub struct CliCommand {
    pub(crate) command: Command,
    pub(crate) run: Arc<RunFn>,
}

impl CliCommand {
    /// A subcommand parsed by `command` (clap) and run by `run` against the started app.
    pub fn new(
        command: Command,
        run: impl Fn(CommandArgs) -> BoxFuture<'static, Result<ExitCode, Error>> + Send + Sync + 'static,
    ) -> Self {
        Self { command, run: Arc::new(run) }
    }

    /// The subcommand's name.
    pub fn name(&self) -> &str {
        self.command.get_name()
    }
}

/// What a subcommand receives: its parsed arguments, the started app's state, and the output.
pub struct CommandArgs {
    /// The subcommand's own matches.
    pub matches: ArgMatches,
    /// The started app's state.
    pub state: AppState,
    /// Where to print (stdout, or a buffer in tests).
    pub out: Output,
}

/// Where commands print: standard output, or a buffer in tests.
///
/// # Examples
///
/// ```
/// use phial_core::cli::Output;
///
/// let (out, buffer) = Output::buffer();
/// out.line("hello");
/// assert_eq!(buffer.text(), "hello\n");
/// ```
#[derive(Clone)]
pub struct Output(Arc<Mutex<Box<dyn Write + Send>>>);

/// The captured text of [`Output::buffer`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Self(Arc::new(Mutex::new(Box::new(std::io::stdout()))))
    }

    /// An in-memory buffer and the handle to read it.
    pub fn buffer() -> (Self, Captured) {
        let captured = Captured::default();
        (Self(Arc::new(Mutex::new(Box::new(captured.clone())))), captured)
    }

    /// Prints one line.
    pub fn line(&self, text: impl Display) {
        let mut out = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A closed stdout (e.g. `| head`) is not worth failing a command for.
        let _ = writeln!(out, "{text}");
    }
}

fn root_command(app: &App) -> Command {
    let name = std::env::args()
        .next()
        .and_then(|p| std::path::Path::new(&p).file_name().map(|n| n.to_string_lossy().into_owned()));
    let mut root = Command::new(name.unwrap_or_else(|| "app".to_owned()))
        .about("A phial app")
        .subcommand(
            Command::new("serve")
                .about("Serve the app (the default command)")
                .arg(Arg::new("bind").long("bind").value_name("ADDR").help("Address to listen on, overrides app.bind")),
        )
        .subcommand(Command::new("routes").about("List routes: endpoint, methods, path"))
        .subcommand(Command::new("middleware").about("List the layers a request meets, outermost first"))
        .subcommand(Command::new("extensions").about("List extensions in the order their hooks run"))
        .subcommand(Command::new("config").about("Print the merged config, secrets masked"))
        .subcommand(Command::new("check").about("Start the app and run every health check; exit 1 if one fails"));
    for (_, command) in &app.commands {
        root = root.subcommand(command.command.clone());
    }
    root
}

impl App {
    /// Runs the command line from the process arguments, printing to stdout.
    ///
    /// Installs a `tracing` subscriber (filter from `RUST_LOG`, default `info`) unless one is
    /// set. Errors are printed to stderr and turn into a failing exit code.
    pub async fn run(self) -> ExitCode {
        init_tracing();
        match self.run_with(std::env::args_os(), Output::stdout()).await {
            Ok(code) => code,
            Err(err) => {
                report_startup_error(&err);
                ExitCode::FAILURE
            }
        }
    }

    /// Runs the command line from `args` (the first is the program name), printing to `out`.
    ///
    /// # Errors
    ///
    /// A startup error, a listener that cannot bind, or a subcommand's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::routing::get;
    /// use phial_core::cli::Output;
    /// use phial_core::prelude::*;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), phial_core::Error> {
    /// let app = App::builder().profile(Profile::Testing).endpoint("index", "/", get(|| async { "hi" })).build()?;
    /// let (out, text) = Output::buffer();
    /// app.run_with(["app", "routes"], out).await?;
    /// assert!(text.text().contains("index"));
    /// # Ok(()) }
    /// ```
    pub async fn run_with<I, T>(self, args: I, out: Output) -> Result<ExitCode, Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = match root_command(&self).try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(err) => {
                out.line(err.render().to_string().trim_end());
                return Ok(if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS });
            }
        };
        match matches.subcommand() {
            None => serve_command(self, None).await,
            Some(("serve", sub)) => serve_command(self, sub.get_one::<String>("bind").cloned()).await,
            Some(("routes", _)) => {
                print_routes(self.routes(), &out);
                Ok(ExitCode::SUCCESS)
            }
            Some(("middleware", _)) => {
                print_table(
                    &out,
                    &["Stage", "Layer", "Added by"],
                    self.middleware()
                        .iter()
                        .map(|l| vec![l.stage.as_str().to_owned(), l.name.clone(), l.owner.clone()]),
                );
                Ok(ExitCode::SUCCESS)
            }
            Some(("extensions", _)) => {
                for (i, name) in self.extension_order().iter().enumerate() {
                    out.line(format!("{}. {name}", i + 1));
                }
                Ok(ExitCode::SUCCESS)
            }
            Some(("config", _)) => {
                out.line(format!("# profile: {}", self.profile()));
                out.line(serde_json::to_string_pretty(&self.config_listing()).unwrap_or_default());
                Ok(ExitCode::SUCCESS)
            }
            Some(("check", _)) => {
                let running = self.start().await?;
                let report = running.health().await;
                for check in &report.checks {
                    let (status, message) = match &check.health {
                        crate::Health::Healthy => ("ok", String::new()),
                        crate::Health::Degraded(m) => ("degraded", format!(": {m}")),
                        crate::Health::Unhealthy(m) => ("FAILED", format!(": {m}")),
                    };
                    out.line(format!("{} {status} ({:.1} ms){message}", check.name, check.latency_ms));
                }
                let ok = report.is_ok();
                out.line(if ok { "all checks passed" } else { "some checks failed" });
                running.shutdown().await;
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            Some((name, sub)) => {
                let command = self
                    .commands
                    .iter()
                    .find(|(_, c)| c.name() == name)
                    .map(|(_, c)| c.clone())
                    .ok_or_else(|| Error::msg(format!("unknown command `{name}`")))?;
                let sub = sub.clone();
                let running = self.start().await?;
                let args = CommandArgs { matches: sub, state: running.state().clone(), out };
                let result = (command.run)(args).await;
                running.shutdown().await;
                result
            }
        }
    }
}

async fn serve_command(app: App, bind: Option<String>) -> Result<ExitCode, Error> {
    let addr = bind.unwrap_or_else(|| app.app_config().bind.clone());
    let running = app.start().await?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|err| Error::config("app.bind", format!("cannot listen on {addr}: {err}")))?;
    tracing::info!(address = %listener.local_addr()?, profile = %running.state().profile(), "serving");
    running.serve(listener).await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints routes as Flask's `flask routes` does: endpoint, methods, rule.
pub(crate) fn print_routes(routes: &[crate::routing::RouteInfo], out: &Output) {
    print_table(
        out,
        &["Endpoint", "Methods", "Rule"],
        routes
            .iter()
            .map(|r| vec![r.endpoint.clone().unwrap_or_else(|| "-".to_owned()), r.methods.clone(), r.path.clone()]),
    );
}

fn print_table(out: &Output, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    out.line(line(header.iter().map(|h| (*h).to_owned()).collect()));
    out.line(line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.line(line(row));
    }
}

/// Prints a startup error to stderr, with its causes.
pub(crate) fn report_startup_error(err: &Error) {
    let text = format!("error: {}", crate::error::error_chain(err, "\n  caused by: "));
    #[expect(clippy::print_stderr, reason = "the CLI reports its own failure to the terminal")]
    {
        eprintln!("{text}");
    }
}

pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subscriber already set (by the app or a test) wins.
    // Logs go to stderr so that command output (`config`, `routes`) stays pipeable.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

impl RunningApp {
    /// Serves on `listener` until SIGINT or SIGTERM, then shuts down gracefully: stops
    /// accepting, lets in-flight requests finish (bounded by `app.shutdown_timeout`), and runs
    /// every shutdown hook.
    ///
    /// # Errors
    ///
    /// An I/O error of the listener.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> Result<(), Error> {
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Like [`serve`](Self::serve), stopping when `signal` completes instead of on a signal.
    ///
    /// # Errors
    ///
    /// An I/O error of the listener.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::routing::get;
    /// use phial_core::prelude::*;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), phial_core::Error> {
    /// let app = App::builder().endpoint("index", "/", get(|| async { "hi" })).build()?.start().await?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(app.serve_with_shutdown(listener, async { let _ = stopped.await; }));
    /// let _ = stop.send(());
    /// server.await.expect("server task")?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_with_shutdown(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let drain = std::time::Duration::from_secs_f64(self.state.app_config().shutdown_timeout.max(0.0));
        let stopping = Arc::new(tokio::sync::Notify::new());
        let notify = Arc::clone(&stopping);
        let service = crate::service::MakeAppService(self.service.clone());
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            signal.await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            notify.notify_one();
        });
        let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
        let result = tokio::select! {
            result = &mut server => result,
            () = stopping.notified() => if let Ok(result) = tokio::time::timeout(drain, &mut server).await {
                result
            } else {
                tracing::warn!(timeout_s = drain.as_secs_f64(), "in-flight requests did not finish in time; closing them");
                server.abort();
                Ok(Ok(()))
            },
        };
        self.shutdown().await;
        match result {
            Ok(io) => io.map_err(Error::from),
            Err(join) => Err(Error::msg(format!("server task failed: {join}"))),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
