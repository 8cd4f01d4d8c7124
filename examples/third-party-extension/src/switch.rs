//! [`MaintenanceSwitch`]: the shared on/off state the layer reads on every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use phial_core::AppState;
use phial_core::axum::extract::FromRef;

/// Whether maintenance mode is on: one `AtomicBool` shared by every clone.
///
/// [`MaintenanceLayer`](crate::MaintenanceLayer) reads it on every request (one relaxed atomic
/// load), so flipping it takes effect on the next request, with no lock and no restart.
///
/// In a phial app the [`Maintenance`](crate::Maintenance) extension owns it: the flag file
/// drives it (see the crate docs), and handlers read it with `State<MaintenanceSwitch>` or
/// [`Ext<MaintenanceSwitch>`](phial_core::Ext). In a bare axum app, keep a clone and call
/// [`set`](Self::set) yourself.
///
/// # Examples
///
/// ```
/// use phial_example_maintenance::MaintenanceSwitch;
///
/// let switch = MaintenanceSwitch::new();
/// let seen_by_the_layer = switch.clone();
/// switch.set(true);
/// assert!(seen_by_the_layer.is_on());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MaintenanceSwitch(Arc<AtomicBool>);

impl MaintenanceSwitch {
    /// A switch that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether maintenance mode is on.
    pub fn is_on(&self) -> bool {
        // Relaxed: the flag guards no other memory; a request racing a flip may see either.
        self.0.load(Ordering::Relaxed)
    }

    /// Turns maintenance mode on or off; returns the previous state.
    ///
    /// In a phial app with a flag file and `poll_interval > 0`, the next poll sets the switch
    /// back to what the file says: change the file (`<app> maintenance on|off`) instead.
    pub fn set(&self, on: bool) -> bool {
        self.0.swap(on, Ordering::Relaxed)
    }
}

/// Lets handlers of a phial app take `State<MaintenanceSwitch>`, the way axum's own substates
/// work.
///
/// A bare axum app gets the same with its own state type: `#[derive(FromRef)]` on a struct
/// with a `MaintenanceSwitch` field, or `Router::with_state(switch)`.
///
/// # Panics
///
/// When the app has no [`Maintenance`](crate::Maintenance) extension. The extension promises
/// the switch in `build`, so with the extension added a missing switch is a startup error.
impl FromRef<AppState> for MaintenanceSwitch {
    fn from_ref(state: &AppState) -> Self {
        state.require::<MaintenanceSwitch>().clone()
    }
}
