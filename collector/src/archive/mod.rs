//! The flow archive: every decoded flow sample as one row in ClickHouse. Rows go into a
//! bounded queue (a full queue drops and counts, it never blocks the decoder); a task sends
//! them in batches over the HTTP interface and drops daily partitions past the retention.

mod client;
mod metrics;
mod row;
mod schema;
mod sink;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

pub use client::{escape_query, ClickHouseError};
pub use metrics::ArchiveMetrics;
pub use row::{civil_date, FlowRow};
pub use schema::{
    create_database_sql, create_table_sql, drop_partitions_before, init, query, INSERT_COLUMNS,
};
pub use sink::run_sink;

/// Counters of the archive, read by /metrics.
#[derive(Debug, Default)]
pub struct ArchiveStats {
    /// Samples put into the queue.
    pub queued: AtomicU64,
    /// Samples dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Samples the sink took out of the queue.
    pub dequeued: AtomicU64,
    /// Samples ClickHouse accepted.
    pub inserted: AtomicU64,
    /// INSERT requests ClickHouse accepted.
    pub batches: AtomicU64,
    /// Failed requests (connect, timeout or an error status).
    pub errors: AtomicU64,
    /// Daily partitions dropped by retention.
    pub partitions_dropped: AtomicU64,
    /// 1 after a successful request, 0 after a failed one.
    pub up: AtomicU64,
}

impl ArchiveStats {
    /// Reads one counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The producer side: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Archive {
    tx: mpsc::Sender<FlowRow>,
    stats: Arc<ArchiveStats>,
}

impl Archive {
    /// A queue of at most `bound` rows; the receiver goes to [`run_sink`].
    pub fn new(bound: usize) -> (Archive, mpsc::Receiver<FlowRow>) {
        let (tx, rx) = mpsc::channel(bound.max(1));
        let a = Archive {
            tx,
            stats: Arc::new(ArchiveStats::default()),
        };
        (a, rx)
    }

    /// Queues `row`, or counts it dropped when the queue is full or the sink is gone.
    pub fn push(&self, row: FlowRow) {
        match self.tx.try_send(row) {
            Ok(()) => self.stats.queued.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.stats.dropped.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// The counters.
    pub fn stats(&self) -> Arc<ArchiveStats> {
        self.stats.clone()
    }
}
