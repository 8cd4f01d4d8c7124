//! Health checks: [`Health`], the `/readyz` report and the `check` command.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The result of one health check.
///
/// # Examples
///
/// ```
/// use phial_core::Health;
///
/// assert!(Health::Healthy.is_ok());
/// assert!(!Health::unhealthy("database unreachable").is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Health {
    /// Ready to serve.
    Healthy,
    /// Serving, with a problem worth reporting; does not fail readiness.
    Degraded(String),
    /// Cannot serve; fails readiness and the `check` command.
    Unhealthy(String),
}

impl Health {
    /// An unhealthy result with a reason.
    pub fn unhealthy(reason: impl Into<String>) -> Self {
        Self::Unhealthy(reason.into())
    }

    /// A degraded result with a reason: reported, but not failing readiness.
    pub fn degraded(reason: impl Into<String>) -> Self {
        Self::Degraded(reason.into())
    }

    /// Whether the check passes (healthy or degraded).
    pub fn is_ok(&self) -> bool {
        !matches!(self, Self::Unhealthy(_))
    }
}

/// One named check's result with its latency.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The extension or check name.
    pub name: String,
    /// The outcome.
    #[serde(flatten)]
    pub health: Health,
    /// How long the check took, in milliseconds.
    pub latency_ms: f64,
}

/// Every check's result: the body of `/readyz` and the output of `check`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// `"ok"` when every check passes, else `"unavailable"`.
    pub status: &'static str,
    /// The checks, in extension order.
    pub checks: Vec<CheckResult>,
}

impl HealthReport {
    /// Whether every check passes.
    pub fn is_ok(&self) -> bool {
        self.checks.iter().all(|c| c.health.is_ok())
    }
}

/// How long one check may take before it counts as unhealthy.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs one check with the timeout and measures it.
pub(crate) async fn timed(name: String, check: impl Future<Output = Health>) -> CheckResult {
    let started = Instant::now();
    let health = tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Health::unhealthy(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())));
    CheckResult { name, health, latency_ms: started.elapsed().as_secs_f64() * 1000.0 }
}
