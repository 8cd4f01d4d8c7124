//! A demo app with maintenance mode. From the repository root:
//!
//! ```text
//! cargo run -p phial-example-maintenance --bin demo                    # serve on 127.0.0.1:5000
//! cargo run -p phial-example-maintenance --bin demo -- maintenance on  # in another terminal
//! curl -i http://127.0.0.1:5000/                                       # 503 within 2 s
//! cargo run -p phial-example-maintenance --bin demo -- maintenance off
//! ```

use phial_core::axum::routing::get;
use phial_core::prelude::*;
use phial_example_maintenance::{Maintenance, MaintenanceSwitch};

async fn index(Ext(switch): Ext<MaintenanceSwitch>) -> String {
    // Only reached while maintenance is off, or with the bypass token.
    format!("Hello! Maintenance mode is {}.\n", if switch.is_on() { "on (bypassed)" } else { "off" })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    App::builder().endpoint("index", "/", get(index)).extension(Maintenance::new()).run().await
}
