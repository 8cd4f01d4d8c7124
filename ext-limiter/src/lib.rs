//! phial-limiter: rate limiting for phial apps, in the role of Flask-Limiter.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cli;
mod clock;
mod config;
mod error;
mod extension;
mod key;
mod layer;
mod limiter;
mod parse;
mod response;
mod rule;
mod storage;
mod strategy;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::{LimiterConfig, OnStorageError};
pub use error::LimiterError;
pub use extension::LimiterExtension;
pub use key::{KeyFunc, client_address};
pub use layer::{RateLimitLayer, RateLimitService};
pub use limiter::{Breach, Limiter, LimiterBuilder};
pub use parse::{Granularity, RateLimitItem, parse_many};
pub use response::RetryAfter;
pub use rule::Limit;
pub use storage::{MemoryBounds, MemoryStorage};
#[cfg(feature = "redis")]
pub use storage::{RedisOptions, StorageFailure};
pub use strategy::{Outcome, Strategy, WindowStats};
