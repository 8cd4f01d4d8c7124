//! Single flight: concurrent misses on one key in this process share one computation.
//!
//! moka's `try_get_with` coalesces only for a moka cache of the value type it stores; this
//! one coalescer serves every backend (memory, Redis, two-level) and lets a computation say
//! that its result must not be shared (a response that sets a cookie goes to its own request
//! only; the others compute their own).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::error::CacheError;

/// Why a flight did not produce a stored value.
#[derive(Debug, Clone)]
pub(crate) enum FlightError {
    /// The computation failed: every waiter gets this error, nothing is cached.
    Failed(CacheError),
    /// The computation succeeded but its result was not stored. `Some` when waiters may use
    /// it too; `None` when only the caller that ran it may (waiters compute their own).
    NotStored(Option<Bytes>),
}

pub(crate) type FlightResult = Result<Bytes, FlightError>;
type Flight = Shared<BoxFuture<'static, FlightResult>>;

/// The flights in progress, by key.
#[derive(Default, Clone)]
pub(crate) struct Flights {
    running: Arc<Mutex<HashMap<String, Flight>>>,
}

impl Flights {
    /// Runs `make()`'s future for `key`, or joins the one already running. Returns its
    /// result and whether this caller started it.
    ///
    /// The future is shared: if the caller that started it goes away, a waiter drives it
    /// on, so a cancelled request never leaves the others hanging. It leaves the table when
    /// it completes (after its value is stored), not when its starter returns.
    pub(crate) async fn run(
        &self,
        key: &str,
        make: impl FnOnce() -> BoxFuture<'static, FlightResult>,
    ) -> (FlightResult, bool) {
        if let Some(flight) = self.joinable(key) {
            return (flight.await, false);
        }
        // `make` runs outside the lock (it is the caller's code); if another caller started
        // a flight meanwhile, this one joins it and drops its own unstarted future.
        let table = Arc::clone(&self.running);
        let owned_key = key.to_owned();
        let work = make();
        let ours = async move {
            let result = work.await;
            table.lock().unwrap_or_else(PoisonError::into_inner).remove(&owned_key);
            result
        }
        .boxed()
        .shared();
        let (flight, started) = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(theirs) = running.get(key) {
                (theirs.clone(), false)
            } else {
                running.insert(key.to_owned(), ours.clone());
                (ours, true)
            }
        };
        (flight.await, started)
    }

    fn joinable(&self, key: &str) -> Option<Flight> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    /// Flights in progress (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_the_table_empties() {
        let flights = Flights::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let flights = flights.clone();
            let runs = Arc::clone(&runs);
            tasks.push(tokio::spawn(async move {
                flights
                    .run("k", move || {
                        async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Bytes::from_static(b"v"))
                        }
                        .boxed()
                    })
                    .await
            }));
        }
        let mut starters = 0;
        for task in tasks {
            let (result, started) = task.await.unwrap();
            assert_eq!(result.unwrap(), Bytes::from_static(b"v"));
            starters += usize::from(started);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(starters, 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_starter_does_not_strand_its_waiters() {
        let flights = Flights::default();
        let slow = || {
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(Bytes::from_static(b"v"))
            }
            .boxed()
        };
        let starter = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run("k", slow).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiter = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run("k", || async { Ok(Bytes::from_static(b"other")) }.boxed()).await })
        };
        starter.abort();
        let (result, waiter_started) = waiter.await.unwrap();
        assert_eq!(result.unwrap(), Bytes::from_static(b"v"));
        assert!(!waiter_started);
    }
}
