#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cli;
mod config;
mod extension;
mod flag;
mod layer;
mod switch;

pub use config::MaintenanceConfig;
pub use extension::Maintenance;
pub use layer::{MaintenanceLayer, MaintenanceService};
pub use switch::MaintenanceSwitch;
