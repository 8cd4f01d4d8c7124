//! [`Backend`]: the store a [`Cache`](crate::Cache) writes to, chosen by `cache.backend`.
//!
//! Every method reports Redis faults as [`CacheError::Unavailable`]; the cache handle decides
//! whether they become misses (the default) or errors (`fail_loudly`).

use std::time::Duration;

use bytes::Bytes;

use crate::config::BackendKind;
use crate::error::CacheError;
use crate::memory::{Memo, MemoryStore};
#[cfg(feature = "redis")]
use crate::redis_store::RedisStore;

pub(crate) enum Backend {
    Null,
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis(RedisStore),
    /// A local copy (entries capped at `local_timeout`) in front of Redis.
    #[cfg(feature = "redis")]
    TwoLevel(MemoryStore, RedisStore),
}

impl Backend {
    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Self::Null => BackendKind::Null,
            Self::Memory(_) => BackendKind::Memory,
            #[cfg(feature = "redis")]
            Self::Redis(_) => BackendKind::Redis,
            #[cfg(feature = "redis")]
            Self::TwoLevel(..) => BackendKind::TwoLevel,
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn redis(&self) -> Option<&RedisStore> {
        match self {
            Self::Redis(redis) | Self::TwoLevel(_, redis) => Some(redis),
            _ => None,
        }
    }

    /// The in-process store, if any.
    pub(crate) fn local(&self) -> Option<&MemoryStore> {
        match self {
            Self::Memory(local) => Some(local),
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, _) => Some(local),
            _ => None,
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        match self {
            Self::Null => Ok(None),
            Self::Memory(local) => Ok(local.get(key).await),
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.get(key).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                if let Some(value) = local.get(key).await {
                    return Ok(Some(value));
                }
                let value = redis.get(key).await?;
                if let Some(value) = &value {
                    local.set(key, value.clone(), None).await;
                }
                Ok(value)
            }
        }
    }

    /// [`get`](Self::get), with the entry's memo when the value came from this process.
    pub(crate) async fn get_memo(&self, key: &str) -> Result<Option<(Bytes, Option<Memo>)>, CacheError> {
        let local = match self {
            Self::Memory(local) => Some(local),
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, _) => Some(local),
            _ => None,
        };
        if let Some((value, memo)) = match local {
            Some(local) => local.get_memo(key).await,
            None => None,
        } {
            return Ok(Some((value, Some(memo))));
        }
        if matches!(self, Self::Memory(_)) {
            return Ok(None);
        }
        Ok(self.get(key).await?.map(|value| (value, None)))
    }

    pub(crate) async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>, CacheError> {
        match self {
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.get_many(keys).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                let mut values = Vec::with_capacity(keys.len());
                for key in keys {
                    values.push(local.get(key).await);
                }
                let missing: Vec<&str> =
                    keys.iter().zip(&values).filter(|(_, value)| value.is_none()).map(|(key, _)| *key).collect();
                let mut fetched = redis.get_many(&missing).await?.into_iter();
                for (key, value) in keys.iter().zip(values.iter_mut()) {
                    if value.is_none() {
                        *value = fetched.next().flatten();
                        if let Some(found) = value {
                            local.set(key, found.clone(), None).await;
                        }
                    }
                }
                Ok(values)
            }
            _ => {
                let mut values = Vec::with_capacity(keys.len());
                for key in keys {
                    values.push(self.get(key).await?);
                }
                Ok(values)
            }
        }
    }

    pub(crate) async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<(), CacheError> {
        match self {
            Self::Null => Ok(()),
            Self::Memory(local) => {
                local.set(key, value, ttl).await;
                Ok(())
            }
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.set(key, &value, ttl).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                let stored = redis.set(key, &value, ttl).await;
                local.set(key, value, ttl).await;
                stored
            }
        }
    }

    pub(crate) async fn set_many(&self, items: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<(), CacheError> {
        match self {
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.set_many(items, ttl).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                let stored = redis.set_many(items, ttl).await;
                for (key, value) in items {
                    local.set(key, value.clone(), ttl).await;
                }
                stored
            }
            _ => {
                for (key, value) in items {
                    self.set(key, value.clone(), ttl).await?;
                }
                Ok(())
            }
        }
    }

    pub(crate) async fn add(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool, CacheError> {
        match self {
            Self::Null => Ok(false),
            Self::Memory(local) => Ok(local.add(key, value, ttl).await),
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.add(key, &value, ttl).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                // Redis decides, so that only one instance's `add` wins.
                let added = redis.add(key, &value, ttl).await?;
                if added {
                    local.set(key, value, ttl).await;
                }
                Ok(added)
            }
        }
    }

    pub(crate) async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        match self {
            Self::Null => Ok(0),
            Self::Memory(local) => {
                let mut removed = 0;
                for key in keys {
                    removed += u64::from(local.delete(key).await);
                }
                Ok(removed)
            }
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.delete_many(keys).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                for key in keys {
                    local.delete(key).await;
                }
                redis.delete_many(keys).await
            }
        }
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis calls await"))]
    pub(crate) async fn has(&self, key: &str) -> Result<bool, CacheError> {
        match self {
            Self::Null => Ok(false),
            Self::Memory(local) => Ok(local.has(key)),
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.has(key).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => Ok(local.has(key) || redis.has(key).await?),
        }
    }

    #[cfg_attr(not(feature = "redis"), expect(clippy::unused_async, reason = "Redis calls await"))]
    pub(crate) async fn clear(&self) -> Result<(), CacheError> {
        match self {
            Self::Null => Ok(()),
            Self::Memory(local) => {
                local.clear();
                Ok(())
            }
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.clear().await.map(drop),
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                local.clear();
                redis.clear().await.map(drop)
            }
        }
    }

    pub(crate) async fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        match self {
            Self::Null => Ok(delta),
            Self::Memory(local) => local.incr(key, delta, ttl).await,
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.incr(key, delta, ttl).await,
            #[cfg(feature = "redis")]
            Self::TwoLevel(local, redis) => {
                // Counters live in Redis only; a local copy would hide other instances' counts.
                local.delete(key).await;
                redis.incr(key, delta, ttl).await
            }
        }
    }
}
