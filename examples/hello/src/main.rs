//! `cargo run -p hello`: serves the hello app on <http://127.0.0.1:5000/>.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hello::app().run().await
}
