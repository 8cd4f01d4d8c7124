//! `cargo run -p microblog`: serves the microblog on <http://127.0.0.1:5000/>.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let env = microblog::config::environment(std::path::Path::new(".env"));
    microblog::app(env).run().await
}
