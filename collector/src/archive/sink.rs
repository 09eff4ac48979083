//! The task that empties the archive queue into ClickHouse in batches.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use fox_config::ClickHouseSettings;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::client::post;
use super::schema::{drop_partitions_before, INSERT_COLUMNS};
use super::{ArchiveStats, FlowRow};
use crate::server::unix_now;

/// How long one INSERT may take.
const INSERT_TIMEOUT: Duration = Duration::from_secs(30);
/// First wait after a failed INSERT; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);
/// After a failed retention run, the next attempt.
const RETENTION_RETRY: Duration = Duration::from_secs(3600);
/// On shutdown, how long the last batch may take.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Sends queued rows to ClickHouse until `shutdown` changes; a failed batch is retried with
/// backoff while new rows wait in (and, when it is full, are dropped from) the queue.
pub async fn run_sink(
    settings: ClickHouseSettings,
    mut rx: mpsc::Receiver<FlowRow>,
    stats: Arc<ArchiveStats>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let sql = format!(
        "INSERT INTO {}.{} ({INSERT_COLUMNS}) FORMAT TabSeparated",
        settings.database, settings.table
    );
    let mut batch: Vec<FlowRow> = Vec::with_capacity(settings.batch_size);
    let mut next_retention = Instant::now();
    let mut deadline = Instant::now() + settings.batch_interval;
    loop {
        if Instant::now() >= next_retention {
            let wait = if retention(&settings, &stats).await {
                RETENTION_EVERY
            } else {
                RETENTION_RETRY
            };
            next_retention = Instant::now() + wait;
        }
        tokio::select! {
            r = rx.recv() => match r {
                Some(row) => {
                    stats.dequeued.fetch_add(1, Ordering::Relaxed);
                    batch.push(row);
                    if batch.len() < settings.batch_size {
                        continue;
                    }
                }
                None => {
                    let _ = tokio::time::timeout(FINAL_FLUSH, send(&settings, &sql, &batch, &stats)).await;
                    return;
                }
            },
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shutdown.changed() => {
                let _ = tokio::time::timeout(FINAL_FLUSH, send(&settings, &sql, &batch, &stats)).await;
                return;
            }
        }
        let mut backoff = FIRST_BACKOFF;
        while !batch.is_empty() && !send(&settings, &sql, &batch, &stats).await {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        batch.clear();
        deadline = Instant::now() + settings.batch_interval;
    }
}

/// One INSERT of `batch`; true when ClickHouse accepted it (or there was nothing to send).
async fn send(s: &ClickHouseSettings, sql: &str, batch: &[FlowRow], stats: &ArchiveStats) -> bool {
    if batch.is_empty() {
        return true;
    }
    let mut body = String::with_capacity(batch.len() * 160);
    for r in batch {
        r.write_tsv(&mut body);
    }
    match post(&s.url, sql, body.into_bytes(), INSERT_TIMEOUT).await {
        Ok(_) => {
            stats
                .inserted
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.up.store(1, Ordering::Relaxed);
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, rows = batch.len(), "ClickHouse insert failed; retrying with backoff");
            stats.errors.fetch_add(1, Ordering::Relaxed);
            stats.up.store(0, Ordering::Relaxed);
            false
        }
    }
}

/// Drops partitions older than the retention period; false (logged) when it failed.
async fn retention(s: &ClickHouseSettings, stats: &ArchiveStats) -> bool {
    let cutoff = unix_now().saturating_sub(u64::from(s.retention_days) * 86_400);
    match drop_partitions_before(s, cutoff).await {
        Ok(n) => {
            stats
                .partitions_dropped
                .fetch_add(n as u64, Ordering::Relaxed);
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "ClickHouse retention failed; next attempt in an hour");
            false
        }
    }
}
