//! The one owner of every background task (the message writer, the push worker, housekeeping,
//! the activity lapse, a rematch): each is started by the part that needs it, supervised here,
//! told to stop at shutdown and awaited with a deadline — work in flight is finished, not
//! aborted.
//!
//! Invariant: a worker ends only when [`StopSignal`] fires (or, for the writer, when its queue
//! closes). One that ends early was not meant to: it is logged as an error and started again
//! after a pause, so a panic in one pass of housekeeping does not end housekeeping for good.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Told when the server is stopping. Cheap to clone; every worker holds one.
#[derive(Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Resolves once the server is stopping (at once if it already is).
    pub async fn stopped(&mut self) {
        // An error means the sender is gone, which is a stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// Whether a supervised worker is restarted when it ends before the stop signal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Restart {
    /// A long-running loop (housekeeping, the push worker): ending early is a fault.
    Always,
    /// A job that ends by itself when done (a rematch).
    Never,
}

pub struct Workers {
    set: Mutex<JoinSet<&'static str>>,
    stop: watch::Sender<bool>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            set: Mutex::new(JoinSet::new()),
            stop: watch::channel(false).0,
        }
    }
}

/// A pause before restarting a worker that ended early, so a fault that repeats at once does
/// not spin a core.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

impl Workers {
    pub fn stop_signal(&self) -> StopSignal {
        StopSignal(self.stop.subscribe())
    }

    /// Starts `make(stop)` under supervision. With [`Restart::Always`], a run that returns or
    /// panics before the stop signal is logged as an error and started again.
    pub fn spawn<F, Fut>(&self, name: &'static str, restart: Restart, make: F)
    where
        F: Fn(StopSignal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop_signal();
        let supervised = async move {
            loop {
                // Its own task, so a panic is seen here as a `JoinError`, not lost.
                let outcome = tokio::spawn(make(stop.clone())).await;
                if stop.is_stopped() {
                    break;
                }
                match (outcome, restart) {
                    (Ok(()), Restart::Never) => break,
                    (Ok(()), Restart::Always) => {
                        tracing::error!(worker = name, "worker ended unexpectedly; restarting");
                    }
                    (Err(e), _) => {
                        tracing::error!(worker = name, error = %e, "worker failed; restarting");
                    }
                }
                let mut stop = stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(RESTART_PAUSE) => {}
                    _ = stop.stopped() => break,
                }
            }
            name
        };
        self.add(supervised);
    }

    /// Runs a one-off job (a rematch, a prompt to a phone) that ends by itself; at shutdown it
    /// is awaited like the workers.
    pub fn spawn_job<Fut>(&self, name: &'static str, job: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add(async move {
            job.await;
            name
        });
    }

    fn add(&self, task: impl Future<Output = &'static str> + Send + 'static) {
        let mut set = self.lock();
        // Finished jobs are reaped here, so many short jobs do not pile up in the set.
        while let Some(done) = set.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "background job failed");
            }
        }
        set.spawn(task);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JoinSet<&'static str>> {
        // Every critical section is one call on the set: a poisoned lock holds a whole set.
        self.set.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signals every worker to stop and waits up to `deadline` for all of them; the ones still
    /// running then are counted in an error log and aborted. Returns how many those were.
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        let _ = self.stop.send(true);
        let mut set = std::mem::take(&mut *self.lock());
        let waited = tokio::time::timeout(deadline, async {
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(name) => tracing::debug!(worker = name, "worker stopped"),
                    Err(e) => tracing::error!(error = %e, "worker supervisor failed"),
                }
            }
        })
        .await;
        if waited.is_ok() {
            return 0;
        }
        let left = set.len();
        tracing::error!(
            workers = left,
            ?deadline,
            "workers still running at the shutdown deadline; aborting them"
        );
        set.abort_all();
        left
    }

    /// How many supervised workers are running (readiness and tests).
    pub fn running(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_worker_that_ends_early_is_restarted_and_all_stop_on_the_signal() {
        let workers = Workers::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        workers.spawn("flaky", Restart::Always, move |mut stop| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    panic!("first run fails");
                }
                stop.stopped().await;
            }
        });
        let start = std::time::Instant::now();
        while runs.load(Ordering::SeqCst) < 2 {
            assert!(start.elapsed() < RESTART_PAUSE * 10, "not restarted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let late = workers.shutdown(Duration::from_secs(5)).await;
        assert_eq!(late, 0);
        assert_eq!(workers.running(), 0);
    }

    #[tokio::test]
    async fn a_worker_that_ignores_the_signal_is_reported_at_the_deadline() {
        let workers = Workers::default();
        workers.spawn("stubborn", Restart::Never, |_| std::future::pending::<()>());
        let late = workers.shutdown(Duration::from_millis(50)).await;
        assert_eq!(late, 1);
    }
}
