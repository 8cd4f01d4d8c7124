//! phial-limiter: rate limiting for phial apps, in the role of Flask-Limiter.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod error;
mod parse;
mod storage;
mod strategy;

pub use clock::{Clock, SystemClock, TestClock};
pub use error::LimiterError;
pub use parse::{Granularity, RateLimitItem, parse_many};
pub use storage::{MemoryBounds, MemoryStorage};
pub use strategy::{Outcome, Strategy, WindowStats};
