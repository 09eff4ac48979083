//! Prometheus metrics of the RPKI sources.
//!
//! `source` is `rtr:<host:port>` for a cache, `file:<path>` for a VRP file
//! and `effective` for the merged set the RIB validates against.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Handles to every RPKI metric; cheap to clone.
#[derive(Clone)]
pub struct RpkiMetrics {
    /// fox_rpki_vrps{source}
    pub vrps: IntGaugeVec,
    /// fox_rpki_last_update_timestamp_seconds{source}
    pub last_update: GaugeVec,
    /// fox_rpki_cache_up{cache}: 1 while connected and synchronised.
    pub cache_up: IntGaugeVec,
    /// fox_rpki_cache_active{cache}: 1 for the cache whose data is in use.
    pub cache_active: IntGaugeVec,
    /// fox_rpki_cache_protocol_version{cache}: negotiated RTR version.
    pub cache_version: IntGaugeVec,
    /// fox_rpki_updates_total{source}
    pub updates: IntCounterVec,
    /// fox_rpki_source_errors_total{source}
    pub errors: IntCounterVec,
    /// fox_rpki_cache_expired_total{cache}: data dropped after the expire interval.
    pub expired: IntCounterVec,
}

impl RpkiMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = RpkiMetrics {
            vrps: IntGaugeVec::new(
                Opts::new("fox_rpki_vrps", "Distinct VRPs per source"),
                &["source"],
            )?,
            last_update: GaugeVec::new(
                Opts::new(
                    "fox_rpki_last_update_timestamp_seconds",
                    "Unix time of the last successful update per source",
                ),
                &["source"],
            )?,
            cache_up: IntGaugeVec::new(
                Opts::new(
                    "fox_rpki_cache_up",
                    "1 if the RTR cache is connected and synchronised",
                ),
                &["cache"],
            )?,
            cache_active: IntGaugeVec::new(
                Opts::new(
                    "fox_rpki_cache_active",
                    "1 for the RTR cache whose VRPs are in use",
                ),
                &["cache"],
            )?,
            cache_version: IntGaugeVec::new(
                Opts::new(
                    "fox_rpki_cache_protocol_version",
                    "RTR protocol version spoken with the cache",
                ),
                &["cache"],
            )?,
            updates: IntCounterVec::new(
                Opts::new("fox_rpki_updates_total", "Updates applied per source"),
                &["source"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "fox_rpki_source_errors_total",
                    "Failed loads, connections or sessions per source",
                ),
                &["source"],
            )?,
            expired: IntCounterVec::new(
                Opts::new(
                    "fox_rpki_cache_expired_total",
                    "Times a cache's data was dropped after its expire interval",
                ),
                &["cache"],
            )?,
        };
        registry.register(Box::new(m.vrps.clone()))?;
        registry.register(Box::new(m.last_update.clone()))?;
        registry.register(Box::new(m.cache_up.clone()))?;
        registry.register(Box::new(m.cache_active.clone()))?;
        registry.register(Box::new(m.cache_version.clone()))?;
        registry.register(Box::new(m.updates.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.expired.clone()))?;
        Ok(m)
    }

    /// Records a successful update of `source` with `vrps` VRPs.
    pub fn updated(&self, source: &str, vrps: usize) {
        self.vrps
            .with_label_values(&[source])
            .set(i64::try_from(vrps).unwrap_or(i64::MAX));
        self.updates.with_label_values(&[source]).inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.last_update.with_label_values(&[source]).set(now);
    }

    /// Counts one error of `source`.
    pub fn error(&self, source: &str) {
        self.errors.with_label_values(&[source]).inc();
    }
}
