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
    microblog::app(env).run().await
}
