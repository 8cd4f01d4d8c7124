//! What both apps share: response texts, the template's data, the session value.

use std::sync::LazyLock;

use serde::Serialize;

/// The body of `GET /text`.
pub(crate) const TEXT: &str = "Hello, World!";

/// The title the template renders.
pub(crate) const TITLE: &str = "Price list";

/// The value `/login` stores in the session and `/session` reads back.
pub(crate) const USER: &str = "alice";

/// The session key holding [`USER`].
pub(crate) const USER_KEY: &str = "user";

/// The name of the template both apps render.
pub(crate) const PAGE: &str = "page.html";

/// The body of `GET /json`.
#[derive(Serialize)]
pub(crate) struct Message {
    pub(crate) message: &'static str,
}

/// One row of the template's list.
#[derive(Serialize)]
pub(crate) struct Item {
    id: u32,
    name: String,
    price: String,
}

/// Ten items; some names need escaping, so autoescape does real work.
pub(crate) static ITEMS: LazyLock<Vec<Item>> = LazyLock::new(|| {
    (1..=10)
        .map(|id| Item {
            id,
            name: if id % 3 == 0 { format!("Tom & Jerry's <box> #{id}") } else { format!("Plain item {id}") },
            price: format!("{}.{:02} EUR", id * 3, id * 7 % 100),
        })
        .collect()
});

/// The folder holding `page.html`, found from the crate's manifest so the working directory
/// does not matter.
pub(crate) fn template_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/templates").to_owned()
}

/// The text `GET /user/{name}` answers.
pub(crate) fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}
