//! The background writer: callers add samples to a shared in-memory batch; a thread writes it
//! every `batch_interval` in one transaction and runs the rollup and retention job. A store
//! that cannot be opened or written is logged and counted, and the batch is dropped, so the
//! caller (BGP, sFlow) never waits for or fails on the disk.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus::{IntCounter, Registry};

use crate::batch::HistoryBatch;
use crate::error::HistoryError;
use crate::model::Ts;
use crate::rollup::Retention;
use crate::store::HistoryStore;

/// Settings of a [`HistoryWriter`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// The database file.
    pub path: PathBuf,
    /// How often the batch is written (default 60 s).
    pub batch_interval: Duration,
    /// How often the rollup and retention job runs (default 5 min).
    pub rollup_interval: Duration,
    /// Retention periods.
    pub retention: Retention,
}

impl WriterOptions {
    /// Defaults for the store at `path`.
    pub fn new(path: PathBuf) -> Self {
        WriterOptions {
            path,
            batch_interval: Duration::from_secs(60),
            rollup_interval: Duration::from_secs(300),
            retention: Retention::default(),
        }
    }
}

/// Prometheus counters of the writer.
#[derive(Clone, Debug)]
pub struct HistoryMetrics {
    /// `fox_history_write_errors_total`: failed opens, batches and rollups.
    pub write_errors: IntCounter,
    /// `fox_history_batches_total`: batches committed.
    pub batches: IntCounter,
    /// `fox_history_samples_total`: samples and events committed.
    pub samples: IntCounter,
    /// `fox_history_dropped_samples_total`: samples of batches that could not be written.
    pub dropped: IntCounter,
}

impl HistoryMetrics {
    /// Counters registered in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self::unregistered()?;
        registry.register(Box::new(m.write_errors.clone()))?;
        registry.register(Box::new(m.batches.clone()))?;
        registry.register(Box::new(m.samples.clone()))?;
        registry.register(Box::new(m.dropped.clone()))?;
        Ok(m)
    }

    /// Counters in no registry (tools, tests).
    pub fn unregistered() -> Result<Self, prometheus::Error> {
        Ok(HistoryMetrics {
            write_errors: IntCounter::new(
                "fox_history_write_errors_total",
                "History store opens, batch writes and rollups that failed",
            )?,
            batches: IntCounter::new(
                "fox_history_batches_total",
                "History batches committed (one transaction each)",
            )?,
            samples: IntCounter::new(
                "fox_history_samples_total",
                "Samples and events committed to the history store",
            )?,
            dropped: IntCounter::new(
                "fox_history_dropped_samples_total",
                "Samples and events dropped because the history store could not be written",
            )?,
        })
    }
}

/// The writer's state for status pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStatus {
    /// Batches committed.
    pub batches: u64,
    /// Failed opens, writes and rollups.
    pub errors: u64,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Pending {
    batch: HistoryBatch,
    stop: bool,
    flush_requests: u64,
    flushes_done: u64,
    status: WriterStatus,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cheap handle to add samples from any thread or task.
#[derive(Clone)]
pub struct HistoryHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HistoryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryHandle")
    }
}

impl HistoryHandle {
    /// Adds to the current batch (a short lock; never touches the disk).
    pub fn record(&self, f: impl FnOnce(&mut HistoryBatch)) {
        f(&mut self.shared.lock().batch);
    }

    /// Writes the pending batch now and waits (at most `timeout`) until it is written.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut p = self.shared.lock();
        p.flush_requests += 1;
        let want = p.flush_requests;
        self.shared.wake.notify_all();
        while p.flushes_done < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            p = match self.shared.done.wait_timeout(p, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Batches written, errors and the last error.
    pub fn status(&self) -> WriterStatus {
        self.shared.lock().status.clone()
    }
}

/// The background writer thread and its handle; dropping it writes what is pending and stops.
pub struct HistoryWriter {
    handle: HistoryHandle,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryWriter")
    }
}

/// Unix time now, seconds.
pub fn unix_now() -> Ts {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl HistoryWriter {
    /// Starts the writer thread. The store is opened by the thread (and again after a
    /// failure), so an unwritable store is reported through logs, metrics and
    /// [`HistoryHandle::status`] instead of stopping the caller.
    pub fn start(opts: WriterOptions, metrics: HistoryMetrics) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fox-history".into())
            .spawn(move || run(&s, &opts, &metrics))?;
        Ok(HistoryWriter {
            handle: HistoryHandle { shared },
            thread: Some(thread),
        })
    }

    /// A handle for adding samples.
    pub fn handle(&self) -> HistoryHandle {
        self.handle.clone()
    }

    /// Writes everything pending (also running probe minutes) and stops the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.handle.shared.lock().stop = true;
        self.handle.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HistoryWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared, opts: &WriterOptions, metrics: &HistoryMetrics) {
    let mut store: Option<HistoryStore> = None;
    let mut next_write = Instant::now() + opts.batch_interval;
    let mut next_rollup = Instant::now();
    loop {
        let (batch, stopping, flush_to) = {
            let mut p = shared.lock();
            loop {
                let now = Instant::now();
                if p.stop || p.flush_requests > p.flushes_done || now >= next_write {
                    break;
                }
                let wait = next_write.saturating_duration_since(now);
                p = match shared.wake.wait_timeout(p, wait) {
                    Ok((g, _)) => g,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            let batch = if p.stop {
                std::mem::take(&mut p.batch)
            } else {
                p.batch.take_ready(unix_now())
            };
            (batch, p.stop, p.flush_requests)
        };
        next_write = Instant::now() + opts.batch_interval;
        let result = write_once(&mut store, opts, &batch, next_rollup <= Instant::now());
        let mut p = shared.lock();
        match result {
            Ok(rolled) => {
                if rolled {
                    next_rollup = Instant::now() + opts.rollup_interval;
                }
                if !batch.is_empty() {
                    metrics.batches.inc();
                    metrics.samples.inc_by(batch.samples());
                    p.status.batches += 1;
                }
                p.status.last_error = None;
            }
            Err(e) => {
                metrics.write_errors.inc();
                metrics.dropped.inc_by(batch.samples());
                let msg = e.to_string();
                if p.status.last_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!(error = %msg, path = %opts.path.display(), dropped = batch.samples(), "history store write failed; live data is unaffected");
                }
                p.status.errors += 1;
                p.status.last_error = Some(msg);
                // A broken connection is reopened next time.
                store = None;
            }
        }
        p.flushes_done = p.flushes_done.max(flush_to);
        shared.done.notify_all();
        if stopping {
            return;
        }
    }
}

/// Opens the store if needed, writes `batch`, and rolls up when `rollup` is due; returns
/// whether a rollup ran.
fn write_once(
    store: &mut Option<HistoryStore>,
    opts: &WriterOptions,
    batch: &HistoryBatch,
    rollup: bool,
) -> Result<bool, HistoryError> {
    if store.is_none() {
        *store = Some(HistoryStore::open(&opts.path)?);
    }
    let Some(s) = store.as_mut() else {
        return Ok(false);
    };
    if !batch.is_empty() {
        s.write_batch(batch)?;
    }
    if rollup {
        s.rollup(unix_now(), &opts.retention)?;
    }
    Ok(rollup)
}
