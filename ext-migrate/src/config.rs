//! [`MigrateConfig`]: section `[migrate]`, with Flask-Migrate's and Alembic's names beside each
//! field.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::MigrateError;

/// Section `[migrate]` of `phial.toml`.
///
/// # Examples
///
/// ```toml
/// [migrate]
/// directory = "migrations"          # Migrate(app, db, directory=...)
/// version_table = "phial_migrations" # Alembic: version_table (one row per applied revision here)
/// upgrade_on_start = false          # run `upgrade head` while the app starts, under the lock
/// lock_timeout = 60.0               # seconds to wait for another runner
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MigrateConfig {
    /// The folder of revision files, relative to the working directory. Flask-Migrate:
    /// `Migrate(directory="migrations")`.
    pub directory: PathBuf,
    /// The table that records applied revisions, one row each. Alembic: `version_table`
    /// (`alembic_version`, which keeps only the heads). A plain identifier.
    pub version_table: String,
    /// Run `upgrade head` in the app's `start`, before it serves. Several instances starting at
    /// once are safe: the migration lock lets one apply and the others find nothing to do.
    /// The app's other commands start it too, so while a start-time upgrade refuses (a dirty
    /// or modified revision), run `repair` or `stamp` with the `phial-migrate` binary, or
    /// with `PHIAL_MIGRATE__UPGRADE_ON_START=false <app> db ...`.
    pub upgrade_on_start: bool,
    /// Seconds to wait for the migration lock held by another runner before giving up.
    pub lock_timeout: f64,
    /// Apply unapplied revisions that are older than applied ones on the same branch, instead
    /// of refusing (`--allow-out-of-order`).
    pub allow_out_of_order: bool,
    /// The phial-sql bind whose database is migrated (`"default"`: the database of `[sql] url`).
    /// Flask-Migrate's `--multidb` (every bind from one folder) is not supported yet.
    pub bind: String,
    /// Before an `upgrade` (also the one of [`upgrade_on_start`](Self::upgrade_on_start)), when
    /// no revision is recorded yet and the database has Flask-Migrate's `alembic_version`,
    /// record the revisions it names as applied first (`stamp --alembic`), so an app moved from
    /// Flask-Migrate takes over its database instead of creating its tables again. The
    /// revision files must carry Alembic's ids (`-- revision: ae1027a6acf`).
    pub adopt_alembic: bool,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        Self {
            directory: PathBuf::from("migrations"),
            version_table: "phial_migrations".to_owned(),
            upgrade_on_start: false,
            lock_timeout: 60.0,
            allow_out_of_order: false,
            bind: phial_sql::DEFAULT_BIND.to_owned(),
            adopt_alembic: false,
        }
    }
}

impl MigrateConfig {
    /// The lock timeout as a [`Duration`].
    ///
    /// # Examples
    ///
    /// ```
    /// let config = phial_migrate::MigrateConfig::default();
    /// assert_eq!(config.lock_timeout().as_secs(), 60);
    /// ```
    pub fn lock_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.lock_timeout).unwrap_or(Duration::ZERO)
    }

    /// Checks the values: a usable table name and a positive, finite lock timeout.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Config`] naming the key.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = phial_migrate::MigrateConfig::default();
    /// config.version_table = "drop table x".into();
    /// assert!(config.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), MigrateError> {
        validate_table_name(&self.version_table)?;
        if !(self.lock_timeout.is_finite() && self.lock_timeout > 0.0) {
            return Err(MigrateError::Config(format!(
                "migrate.lock_timeout must be a positive number of seconds, not {}",
                self.lock_timeout
            )));
        }
        if self.directory.as_os_str().is_empty() {
            return Err(MigrateError::Config("migrate.directory must not be empty".to_owned()));
        }
        Ok(())
    }
}

/// A version table name is spliced into SQL, so it must be a plain identifier.
pub(crate) fn validate_table_name(name: &str) -> Result<(), MigrateError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && name.len() <= 63 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(MigrateError::Config(format!(
            "migrate.version_table `{name}` must be a plain identifier: letters, digits and `_`, at most 63 \
             characters, not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_flask_migrate() {
        let config = MigrateConfig::default();
        assert_eq!(config.directory, PathBuf::from("migrations"));
        assert!(!config.upgrade_on_start);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn table_names_that_are_not_identifiers_are_refused() {
        for bad in ["", "1abc", "a-b", "a.b", "x;drop", &"a".repeat(64)] {
            assert!(validate_table_name(bad).is_err(), "{bad}");
        }
        for good in ["phial_migrations", "_v", "V2"] {
            assert!(validate_table_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn lock_timeout_must_be_positive() {
        let config = MigrateConfig { lock_timeout: 0.0, ..MigrateConfig::default() };
        assert!(config.validate().unwrap_err().to_string().contains("lock_timeout"));
    }
}
