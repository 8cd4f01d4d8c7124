//! `cargo run -p microblog`: serves the microblog on <http://127.0.0.1:5000/>.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let env = microblog::config::environment(std::path::Path::new(".env"));
    if let Err(err) = microblog::logging::init(&env) {
        #[expect(clippy::print_stderr, reason = "the log is not set up: say why on the terminal")]
        {
            eprintln!("error: cannot create the logs folder: {err}");
        }
        return std::process::ExitCode::FAILURE;
    }
    let mut app = microblog::app(env);
    if !microblog::config::serves(&std::env::args().collect::<Vec<_>>()) {
        app = app.set("microblog.complete_interrupted_tasks", false);
    }
    app.run().await
}
