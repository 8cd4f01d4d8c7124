//! phial-cache: caching for phial apps, in the role of Flask-Caching.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod cache;
mod codec;
mod config;
mod error;
mod extension;
#[cfg(feature = "redis")]
mod faults;
mod flight;
mod memoize;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod response;

pub use cache::{Cache, Ttl};
pub use config::{BackendKind, CacheConfig};
pub use error::CacheError;
pub use extension::CacheExtension;
pub use memoize::Memoized;
pub use response::{CacheLayer, CachedService};
