//! Prometheus metrics of the looking glass (names `fox_lg_*`).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the looking glass exports, in its own registry.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route template and status code.
    pub requests: IntCounterVec,
    /// 1 when the last request to a source got an answer, 0 when it did not.
    pub source_up: IntGaugeVec,
    /// Time to answer a request, by route template.
    pub duration: HistogramVec,
    /// Requests refused by the rate limit.
    pub rate_limited: IntCounterVec,
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "fox_lg_requests_total",
                "Requests answered by the looking glass",
            ),
            &["endpoint", "status"],
        )?;
        let source_up = IntGaugeVec::new(
            Opts::new(
                "fox_lg_source_up",
                "1 when the last request to the source was answered",
            ),
            &["source"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "fox_lg_request_duration_seconds",
                "Time to answer a request",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["endpoint"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "fox_lg_rate_limited_total",
                "Requests refused with 429 by the per-client rate limit",
            ),
            &["endpoint"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(source_up.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            source_up,
            duration,
            rate_limited,
        })
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
