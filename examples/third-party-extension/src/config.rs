//! [`MaintenanceConfig`]: section `[maintenance]` of `phial.toml`.

use std::path::PathBuf;
use std::time::Duration;

use phial_core::{Error, Secret};
use serde::{Deserialize, Serialize};

/// Settings of section `[maintenance]`; each field is also the env var
/// `PHIAL_MAINTENANCE__<FIELD>` (e.g. `PHIAL_MAINTENANCE__ENABLED=true`).
///
/// No one Flask extension owns maintenance mode, so the upper-case names beside each field are
/// the `app.config` keys a Flask app conventionally uses for it; a port maps them one to one.
///
/// # Examples
///
/// The defaults, as `<app> config` prints them:
///
/// ```toml
/// [maintenance]
/// enabled = false
/// message = "This site is down for maintenance. Please try again later."
/// retry_after = 300
/// allow_paths = ["/healthz", "/readyz"]
/// bypass_header = "x-maintenance-bypass"
/// bypass_token = ""
/// flag_file = "maintenance.flag"
/// poll_interval = 2.0
/// status_path = "/maintenance"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MaintenanceConfig {
    /// Keep maintenance mode on regardless of the flag file; for a deployment that starts in
    /// maintenance. Flask-style: `MAINTENANCE_MODE`. Default `false`.
    pub enabled: bool,
    /// The message of the 503 answer (JSON `message`, or the HTML page's text). Flask-style:
    /// `MAINTENANCE_MESSAGE`.
    pub message: String,
    /// Seconds sent in the `Retry-After` header of the 503 answer; `0` sends none.
    /// Flask-style: `MAINTENANCE_RETRY_AFTER`. Default `300`.
    pub retry_after: u64,
    /// Paths served even in maintenance: exact paths, or prefixes written `/static/*`. Keep the
    /// health probes here, or orchestrators restart an instance that is merely in maintenance.
    /// The status route ([`status_path`](Self::status_path)) is always allowed. Flask-style:
    /// `MAINTENANCE_ALLOW_PATHS`. Default `["/healthz", "/readyz"]`.
    pub allow_paths: Vec<String>,
    /// The request header that carries the bypass token. Flask-style:
    /// `MAINTENANCE_BYPASS_HEADER`. Default `x-maintenance-bypass`.
    pub bypass_header: String,
    /// Requests whose [`bypass_header`](Self::bypass_header) equals this token are served
    /// anyway, e.g. for a smoke test of a deployment. Empty disables the bypass. A
    /// [`Secret`]: `<app> config` prints it masked. Flask-style: `MAINTENANCE_BYPASS_TOKEN`.
    /// Default empty.
    pub bypass_token: Secret,
    /// The flag file that `<app> maintenance on` creates and `off` removes, relative to
    /// `app.instance_path` (absolute paths are kept); `""` disables the file and the command.
    /// Flask-style: `MAINTENANCE_FLAG_FILE`. Default `maintenance.flag`.
    pub flag_file: PathBuf,
    /// Seconds between checks of the flag file by a running app; `0` reads it at start only.
    /// Flask-style: `MAINTENANCE_POLL_INTERVAL`. Default `2.0`.
    pub poll_interval: f64,
    /// Path of the JSON status route, endpoint `maintenance.status`; `""` removes it.
    /// Flask-style: `MAINTENANCE_STATUS_PATH`. Default `/maintenance`.
    pub status_path: String,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            message: "This site is down for maintenance. Please try again later.".to_owned(),
            retry_after: 300,
            allow_paths: vec!["/healthz".to_owned(), "/readyz".to_owned()],
            bypass_header: "x-maintenance-bypass".to_owned(),
            bypass_token: Secret::default(),
            flag_file: PathBuf::from("maintenance.flag"),
            poll_interval: 2.0,
            status_path: "/maintenance".to_owned(),
        }
    }
}

impl MaintenanceConfig {
    /// The flag file's poll interval, `None` when polling is off.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] at `maintenance.poll_interval` when it is negative or not a number.
    pub fn poll_every(&self) -> Result<Option<Duration>, Error> {
        let every = Duration::try_from_secs_f64(self.poll_interval).map_err(|_| {
            Error::config("maintenance.poll_interval", "must be a number of seconds, 0 or more (0 disables polling)")
        })?;
        Ok((!every.is_zero()).then_some(every))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_zero_disables_and_negative_is_an_error() {
        let mut config = MaintenanceConfig { poll_interval: 0.0, ..MaintenanceConfig::default() };
        assert_eq!(config.poll_every().unwrap(), None);
        config.poll_interval = 0.5;
        assert_eq!(config.poll_every().unwrap(), Some(Duration::from_millis(500)));
        config.poll_interval = -1.0;
        assert!(config.poll_every().unwrap_err().to_string().contains("maintenance.poll_interval"));
    }
}
