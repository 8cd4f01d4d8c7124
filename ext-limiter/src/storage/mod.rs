//! Where hits are counted: [`MemoryStorage`] in the process, or Redis shared by every instance.

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::{MemoryBounds, MemoryStorage};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisOptions, StorageFailure};

#[cfg(feature = "redis")]
pub(crate) use redis::RedisBackend;

use crate::error::LimiterError;
use crate::parse::RateLimitItem;
use crate::strategy::{Outcome, Strategy};

/// The storage a limiter counts in: memory, or Redis once it is attached (at the app's start,
/// when the shared connection exists). No trait object, so the memory path is a plain call.
pub(crate) struct Backend {
    pub(crate) memory: MemoryStorage,
    #[cfg(feature = "redis")]
    pub(crate) redis: std::sync::OnceLock<Box<RedisBackend>>,
}

impl Backend {
    pub(crate) fn new(memory: MemoryStorage) -> Self {
        Self {
            memory,
            #[cfg(feature = "redis")]
            redis: std::sync::OnceLock::new(),
        }
    }

    /// The memory storage, when it is the one counting (no Redis attached).
    #[cfg_attr(not(feature = "redis"), expect(clippy::unnecessary_wraps, reason = "Redis storage is a second answer"))]
    pub(crate) fn memory_only(&self) -> Option<&MemoryStorage> {
        #[cfg(feature = "redis")]
        if self.redis.get().is_some() {
            return None;
        }
        Some(&self.memory)
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_self, reason = "Redis storage is a second answer"))]
    pub(crate) fn name(&self) -> &'static str {
        #[cfg(feature = "redis")]
        if self.redis.get().is_some() {
            return "redis";
        }
        "memory"
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis storage awaits"))]
    pub(crate) async fn acquire(
        &self,
        strategy: Strategy,
        key: &str,
        item: &RateLimitItem,
        cost: u64,
        test: bool,
    ) -> Result<Outcome, LimiterError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis.get() {
            return redis.acquire(strategy, key, item, cost, test).await;
        }
        Ok(self.memory.acquire(strategy, key, item, cost, test))
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis storage awaits"))]
    pub(crate) async fn reset(&self, prefix: &str) -> Result<usize, LimiterError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis.get() {
            return redis.reset(prefix).await;
        }
        Ok(self.memory.reset(prefix))
    }
}
