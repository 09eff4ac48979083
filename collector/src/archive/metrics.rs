//! `fox_clickhouse_*` metrics: a small registry of its own, brought up to date from the
//! archive's atomic counters at scrape time.

use std::sync::Arc;

use prometheus::{IntCounter, IntGauge, Registry};

use super::ArchiveStats;

/// The archive's metric families.
pub struct ArchiveMetrics {
    registry: Registry,
    stats: Arc<ArchiveStats>,
    queued: IntCounter,
    dropped: IntCounter,
    inserted: IntCounter,
    batches: IntCounter,
    errors: IntCounter,
    partitions: IntCounter,
    queue: IntGauge,
    up: IntGauge,
}

fn counter(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn catch_up(c: &IntCounter, total: u64) {
    let have = c.get();
    if total > have {
        c.inc_by(total - have);
    }
}

impl ArchiveMetrics {
    /// Registers the families for `stats`.
    pub fn new(stats: Arc<ArchiveStats>) -> prometheus::Result<Self> {
        let r = Registry::new();
        Ok(ArchiveMetrics {
            queued: counter(
                &r,
                "fox_clickhouse_queued_samples_total",
                "flow samples queued for ClickHouse",
            )?,
            dropped: counter(
                &r,
                "fox_clickhouse_dropped_samples_total",
                "flow samples dropped because the ClickHouse queue was full",
            )?,
            inserted: counter(
                &r,
                "fox_clickhouse_inserted_samples_total",
                "flow samples ClickHouse accepted",
            )?,
            batches: counter(
                &r,
                "fox_clickhouse_batches_total",
                "INSERT requests ClickHouse accepted",
            )?,
            errors: counter(
                &r,
                "fox_clickhouse_errors_total",
                "failed ClickHouse requests (connect, timeout, error status)",
            )?,
            partitions: counter(
                &r,
                "fox_clickhouse_partitions_dropped_total",
                "daily partitions dropped by retention",
            )?,
            queue: gauge(
                &r,
                "fox_clickhouse_queue_samples",
                "flow samples waiting to be sent",
            )?,
            up: gauge(
                &r,
                "fox_clickhouse_up",
                "1 when the last ClickHouse request succeeded",
            )?,
            registry: r,
            stats,
        })
    }

    /// The text exposition, brought up to date first.
    pub fn render(&self) -> String {
        let g = ArchiveStats::get;
        let s = &self.stats;
        catch_up(&self.queued, g(&s.queued));
        catch_up(&self.dropped, g(&s.dropped));
        catch_up(&self.inserted, g(&s.inserted));
        catch_up(&self.batches, g(&s.batches));
        catch_up(&self.errors, g(&s.errors));
        catch_up(&self.partitions, g(&s.partitions_dropped));
        let waiting = g(&s.queued).saturating_sub(g(&s.dequeued));
        self.queue.set(i64::try_from(waiting).unwrap_or(i64::MAX));
        self.up.set(i64::try_from(g(&s.up)).unwrap_or(0));
        let mut buf = String::new();
        if let Err(e) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut buf)
        {
            tracing::error!(error = %e, "encoding ClickHouse metrics");
        }
        buf
    }
}
