//! [`Secret`]: a string that never prints.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix that marks a development-only default secret.
///
/// A config value that starts with it is refused at startup in the `production` profile, so a
/// deployment can never run on a secret that is published in the source.
pub const DEV_SECRET_PREFIX: &str = "insecure-dev-";

/// A secret config value (a key, a password) that `Debug`, `Display` and `Serialize` mask.
///
/// # Examples
///
/// ```
/// use phial_core::Secret;
///
/// let key = Secret::new("s3cr3t");
/// assert_eq!(format!("{key:?}"), "Secret(\"********\")");
/// assert_eq!(key.expose(), "s3cr3t");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A development default: usable in `development` and `testing`, refused in `production`.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_core::Secret;
    ///
    /// assert!(Secret::development_default("session").is_development_default());
    /// assert!(!Secret::new("generated-and-kept-safe").is_development_default());
    /// ```
    pub fn development_default(purpose: &str) -> Self {
        Self(format!("{DEV_SECRET_PREFIX}{purpose}-change-me"))
    }

    /// The secret itself. Call it only where the value is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this is a development default (see [`DEV_SECRET_PREFIX`]).
    pub fn is_development_default(&self) -> bool {
        self.0.starts_with(DEV_SECRET_PREFIX)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&"********").finish()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Serializes as `********` (or `""` when empty), so printed configs never show secrets.
///
/// Defaults pass through config loading with the [`Secret::expose`]d value instead; see
/// [`crate::config`].
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if crate::config::exposing_secrets() {
            serializer.serialize_str(&self.0)
        } else if self.0.is_empty() {
            serializer.serialize_str("")
        } else {
            serializer.serialize_str("********")
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}
