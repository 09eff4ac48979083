//! Feeding the history store: every `batch_interval` the growth of the member counters and
//! of the matrix since the last tick goes into the writer's batch (per minute and per 5-minute
//! slot); probes add their results and the alert engine its raises and resolves as they happen.
//! Hygiene violations go in the same way: the growth of each (MAC, rule) counter, summed per
//! owning member (ASN 0 for a MAC of no member) and rule, with the latest offending sample.
//! The store is written by its own thread, so a slow or broken disk never stalls sFlow.

use std::collections::HashMap;
use std::time::Duration;

use fox_config::HistorySettings;
use fox_history::{HistoryHandle, HistoryMetrics, HistoryWriter, Retention, WriterOptions};
use tokio::sync::watch;

use crate::fabric::{Afi, ByAfi, MemberId, MemberTraffic, Rule};
use crate::server::Collector;
use crate::state::FabricState;

/// Writer options from the `history:` section.
pub fn writer_options(settings: &HistorySettings) -> WriterOptions {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let mut o = WriterOptions::new(settings.path.clone());
    o.batch_interval = settings.batch_interval;
    o.retention = Retention {
        minutes: secs(settings.retention_minutes),
        hours: secs(settings.retention_hours),
        lag: secs(settings.batch_interval).saturating_mul(2).max(120),
    };
    o
}

/// Starts the writer for `collector` when history is enabled; `None` when disabled or the
/// thread cannot start (logged). An unwritable store is reported by the writer itself.
pub fn start(collector: &Collector, settings: &HistorySettings) -> Option<HistoryWriter> {
    if !settings.enabled {
        tracing::info!("history store disabled");
        return None;
    }
    let metrics = match collector.registry() {
        Some(r) => HistoryMetrics::register(r),
        None => HistoryMetrics::unregistered(),
    };
    let metrics = match metrics {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "history metrics");
            return None;
        }
    };
    match HistoryWriter::start(writer_options(settings), metrics) {
        Ok(w) => {
            tracing::info!(path = %settings.path.display(), interval_s = settings.batch_interval.as_secs(), "history store writer started");
            collector.set_history(w.handle(), settings.path.clone());
            Some(w)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start the history writer thread");
            None
        }
    }
}

/// The counters at the last tick, to turn totals since start into deltas.
pub struct Feed {
    handle: HistoryHandle,
    members: Vec<MemberTraffic>,
    matrix: HashMap<(MemberId, MemberId), ByAfi>,
    hygiene: HashMap<([u8; 6], Rule), [u64; 2]>,
}

/// Growth of one member's violations of one rule: samples, frames, latest offence time and
/// that offence as JSON.
type HygieneDelta = (u64, u64, i64, String);

/// Hygiene counters (samples, frames) per (MAC, rule) now.
fn hygiene_counts(st: &FabricState) -> HashMap<([u8; 6], Rule), [u64; 2]> {
    st.hygiene
        .violations
        .iter()
        .map(|(k, v)| (*k, [v.samples, v.frames]))
        .collect()
}

/// What grew since `old`, per (owner ASN or 0, rule).
fn hygiene_deltas(
    st: &FabricState,
    old: &HashMap<([u8; 6], Rule), [u64; 2]>,
) -> HashMap<(u32, Rule), HygieneDelta> {
    let mut out: HashMap<(u32, Rule), HygieneDelta> = HashMap::new();
    for (key, v) in &st.hygiene.violations {
        let [s0, f0] = old.get(key).copied().unwrap_or_default();
        let (ds, df) = (v.samples.saturating_sub(s0), v.frames.saturating_sub(f0));
        if ds == 0 && df == 0 {
            continue;
        }
        let asn = v
            .owner
            .and_then(|o| st.map.members().get(o.member))
            .map_or(0, |m| m.asn);
        let at = i64::try_from(v.last.at).unwrap_or(i64::MAX);
        let e = out.entry((asn, key.1)).or_default();
        e.0 = e.0.saturating_add(ds);
        e.1 = e.1.saturating_add(df);
        if e.3.is_empty() || at >= e.2 {
            e.2 = at;
            e.3 = serde_json::to_string(&v.last).unwrap_or_default();
        }
    }
    out
}

fn sub(a: ByAfi, b: ByAfi, afi: Afi) -> (u64, u64) {
    let (x, y) = (a.get(afi), b.get(afi));
    (
        x.bytes.saturating_sub(y.bytes),
        x.packets.saturating_sub(y.packets),
    )
}

impl Feed {
    /// A feed starting from the counters of `collector` now.
    pub fn new(collector: &Collector, handle: HistoryHandle) -> Self {
        let st = collector.state();
        Feed {
            handle,
            members: st.traffic.members.clone(),
            matrix: st.traffic.matrix.clone(),
            hygiene: hygiene_counts(&st),
        }
    }

    /// Adds what the counters grew by since the last tick, as traffic of the second before
    /// unix time `now`.
    pub fn tick(&mut self, collector: &Collector, now: i64) {
        let ts = now - 1;
        let (asns, members, matrix, hygiene, violations) = {
            let st = collector.state();
            let asns: Vec<u32> = st.map.members().iter().map(|m| m.asn).collect();
            let deltas = hygiene_deltas(&st, &self.hygiene);
            (
                asns,
                st.traffic.members.clone(),
                st.traffic.matrix.clone(),
                hygiene_counts(&st),
                deltas,
            )
        };
        self.handle.record(|b| {
            for (i, m) in members.iter().enumerate() {
                let (Some(&asn), old) = (
                    asns.get(i),
                    self.members.get(i).copied().unwrap_or_default(),
                ) else {
                    continue;
                };
                // ipv 0: frames that are neither (ARP, ...), so the store's totals are the
                // member counters' (and ClickHouse's) totals.
                for (afi, ipv) in [(Afi::Ipv4, 4u8), (Afi::Ipv6, 6u8), (Afi::Other, 0u8)] {
                    let (bi, pi) = sub(m.in_, old.in_, afi);
                    let (bo, po) = sub(m.out, old.out, afi);
                    b.add_traffic(asn, ipv, ts, bi, bo, pi, po);
                }
            }
            for (&(s, d), v) in &matrix {
                let (Some(&src), Some(&dst)) = (asns.get(s), asns.get(d)) else {
                    continue;
                };
                let old = self.matrix.get(&(s, d)).copied().unwrap_or_default();
                let (t, o) = (v.total(), old.total());
                b.add_pair(
                    src,
                    dst,
                    ts,
                    t.bytes.saturating_sub(o.bytes),
                    t.packets.saturating_sub(o.packets),
                );
            }
            for ((asn, rule), (samples, frames, at, last)) in &violations {
                b.add_hygiene(*asn, rule.name(), ts, *samples, *frames, *at, last);
            }
        });
        self.members = members;
        self.matrix = matrix;
        self.hygiene = hygiene;
    }
}

/// Ticks `feed` at every multiple of `interval` (so minutes are not split) until shutdown.
pub async fn run_feed(
    collector: Collector,
    mut feed: Feed,
    interval: Duration,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let step = interval.as_millis().max(1000);
    loop {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let wait = step - now_ms % step;
        let sleep = Duration::from_millis(u64::try_from(wait).unwrap_or(1000));
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {
                feed.tick(&collector, fox_history::unix_now());
            }
            _ = shutdown.changed() => {
                feed.tick(&collector, fox_history::unix_now());
                return;
            }
        }
    }
}
