//! The smallest phial app: one route, one template, one config value.
//!
//! ```text
//! cargo run -p hello                      # serves http://127.0.0.1:5000/
//! PHIAL_HELLO__GREETING=Bonjour cargo run -p hello
//! cargo run -p hello -- routes            # lists the routes
//! ```

use axum::extract::Path;
use axum::response::Html;
use axum::routing::get;
use phial::prelude::*;
use phial::{axum, minijinja};
use serde::{Deserialize, Serialize};

/// Section `[hello]` of `phial.toml` (env: `PHIAL_HELLO__GREETING`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HelloConfig {
    /// The word of greeting.
    pub greeting: String,
}

impl Default for HelloConfig {
    fn default() -> Self {
        Self { greeting: "Hello".to_owned() }
    }
}

async fn hello(
    template: Template,
    Ext(config): Ext<HelloConfig>,
    name: Option<Path<String>>,
) -> Result<Html<String>, HttpError> {
    let name = name.map_or_else(|| "World".to_owned(), |Path(name)| name);
    template.render("hello.html", minijinja::context! { greeting => config.greeting, name })
}

/// The app, before `build`: `main` runs it, tests start it.
pub fn app() -> AppBuilder {
    App::builder()
        .config_section::<HelloConfig>("hello")
        // Templates live beside this crate, so `cargo run -p hello` works from any directory.
        .config_toml(&format!("[app]\ntemplate_folder = \"{}/templates\"\n", env!("CARGO_MANIFEST_DIR")))
        .endpoint("index", "/", get(hello))
        .endpoint("hello", "/hello/{name}", get(hello))
}
