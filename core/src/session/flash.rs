//! Flash messages: Flask's `flash` and `get_flashed_messages`, kept in the session.
//!
//! Messages are stored under the session key `_flashes` as a list of `[category, message]`
//! pairs, as Flask stores them, until a later request reads them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::handle::Session;

/// The session key that holds pending flashes.
const FLASHES_KEY: &str = "_flashes";

/// The category of [`Session::flash`], as in Flask.
pub const DEFAULT_FLASH_CATEGORY: &str = "message";

/// One flashed message with its category (`"message"` unless given, e.g. `"error"`).
///
/// Flask's `with_categories=True` returns `(category, message)` pairs and `False` returns the
/// messages alone; here both are in every item, so the caller picks.
///
/// # Examples
///
/// ```
/// use phial_core::session::FlashMessage;
///
/// let flash = FlashMessage::new("error", "Invalid password.");
/// assert_eq!(flash.category, "error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FlashMessage {
    /// The category, e.g. `"message"`, `"error"`, `"info"`.
    pub category: String,
    /// The message text.
    pub message: String,
}

impl FlashMessage {
    /// A message with a category.
    pub fn new(category: impl Into<String>, message: impl Into<String>) -> Self {
        Self { category: category.into(), message: message.into() }
    }

    /// Reads one stored `[category, message]` pair; a bare string is a `"message"`.
    fn from_stored(value: Value) -> Option<Self> {
        match value {
            Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                Ok([Value::String(category), Value::String(message)]) => Some(Self { category, message }),
                _ => None,
            },
            Value::String(message) => Some(Self::new(DEFAULT_FLASH_CATEGORY, message)),
            _ => None,
        }
    }
}

impl Session {
    /// Flashes `message` with the category `"message"`, to be shown on a later request.
    /// Flask: `flash(message)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::Redirect;
    /// use phial_core::session::Session;
    ///
    /// async fn save(session: Session) -> Redirect {
    ///     session.flash("Saved.");
    ///     Redirect::to("/")
    /// }
    /// ```
    pub fn flash(&self, message: impl Into<String>) {
        self.flash_with(DEFAULT_FLASH_CATEGORY, message);
    }

    /// Flashes `message` with `category`. Flask: `flash(message, category)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn login_failed(session: Session) {
    ///     session.flash_with("error", "Invalid username or password.");
    /// }
    /// ```
    pub fn flash_with(&self, category: impl Into<String>, message: impl Into<String>) {
        let pair = Value::Array(vec![Value::String(category.into()), Value::String(message.into())]);
        self.with_state(|state, shared| {
            let data = &mut state.record_mut(shared).data;
            let flashes = data.entry(FLASHES_KEY).or_insert_with(|| Value::Array(Vec::new()));
            match flashes {
                Value::Array(list) => list.push(pair),
                other => *other = Value::Array(vec![pair]),
            }
            state.modified = true;
        });
    }

    /// The flashed messages in `category_filter` (all when it is empty), oldest first.
    /// Flask: `get_flashed_messages(category_filter=...)`.
    ///
    /// As in Flask, the first call in a request removes *every* pending flash from the session,
    /// whichever the filter, and keeps them for the rest of the request: later calls, with any
    /// filter, see the same messages, and the next request sees none of them. Messages flashed
    /// after that first call wait for the next request.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn index(session: Session) -> String {
    ///     let errors = session.get_flashed_messages(&["error"]);
    ///     errors.iter().map(|flash| flash.message.as_str()).collect::<Vec<_>>().join("\n")
    /// }
    /// ```
    #[must_use]
    pub fn get_flashed_messages(&self, category_filter: &[&str]) -> Vec<FlashMessage> {
        self.with_state(|state, shared| {
            if state.flashes.is_none() {
                let stored = state.take(shared, FLASHES_KEY);
                state.modified |= stored.is_some();
                let flashes = match stored {
                    Some(Value::Array(list)) => list.into_iter().filter_map(FlashMessage::from_stored).collect(),
                    _ => Vec::new(),
                };
                state.flashes = Some(flashes);
            }
            state
                .flashes
                .iter()
                .flatten()
                .filter(|flash| category_filter.is_empty() || category_filter.contains(&flash.category.as_str()))
                .cloned()
                .collect()
        })
    }

    /// Every flashed message, oldest first: [`get_flashed_messages`](Self::get_flashed_messages)
    /// with no filter, so the same once-per-request rule applies.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::session::Session;
    ///
    /// async fn index(session: Session) -> String {
    ///     session
    ///         .take_flashes()
    ///         .into_iter()
    ///         .map(|flash| format!("[{}] {}", flash.category, flash.message))
    ///         .collect::<Vec<_>>()
    ///         .join("\n")
    /// }
    /// ```
    #[must_use]
    pub fn take_flashes(&self) -> Vec<FlashMessage> {
        self.get_flashed_messages(&[])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stored_pairs_and_bare_strings_are_read_and_junk_is_skipped() {
        assert_eq!(FlashMessage::from_stored(json!(["error", "Bad."])), Some(FlashMessage::new("error", "Bad.")));
        assert_eq!(FlashMessage::from_stored(json!("Hi.")), Some(FlashMessage::new("message", "Hi.")));
        assert_eq!(FlashMessage::from_stored(json!(["only one"])), None);
        assert_eq!(FlashMessage::from_stored(json!([1, 2])), None);
        assert_eq!(FlashMessage::from_stored(json!({"category": "x"})), None);
    }

    #[test]
    fn flash_defaults_to_the_message_category_and_keeps_order() {
        let session = Session::for_tests(None);
        session.flash("one");
        session.flash_with("error", "two");
        assert_eq!(session.take_flashes(), [FlashMessage::new("message", "one"), FlashMessage::new("error", "two")]);
    }

    #[test]
    fn messages_flashed_after_reading_wait_for_the_next_request() {
        let session = Session::for_tests(None);
        session.flash("early");
        assert_eq!(session.take_flashes().len(), 1);
        session.flash("late");
        assert_eq!(session.take_flashes(), [FlashMessage::new("message", "early")]);
        assert!(session.contains(FLASHES_KEY), "`late` stays in the session");
    }

    #[test]
    fn reading_when_nothing_was_flashed_does_not_modify_the_session() {
        let session = Session::for_tests(None);
        assert!(session.get_flashed_messages(&["error"]).is_empty());
        assert!(!session.modified());
    }
}
