//! What a route server writes to the history store: session up/down events with the reason
//! (the NOTIFICATION sent or received, or the error), and every few minutes each member's
//! prefix counts (received, accepted, filtered by reason, RPKI state); the last snapshot of
//! an hour is that hour's row. Writing is the store's own thread: BGP never waits for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fox_config::HistorySettings;
use fox_history::{
    HistoryHandle, HistoryMetrics, HistoryWriter, PrefixCounts, PrefixRow, Retention, Ts,
    WriterOptions,
};
use tokio::sync::{oneshot, watch};

use crate::metrics::Metrics;
use crate::rib::query::{Answer, Query, Summary};
use crate::rib::{PeerId, RibMsg, RibTx};
use crate::session::{NeighborConfig, PeerEnv};

/// How often prefix counts are taken (the last one of each hour is kept).
pub const PREFIX_SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

/// Starts the writer when history is enabled (failures to open the store are the writer's
/// to report: logs, `fox_history_write_errors_total`).
pub fn start(settings: &HistorySettings, metrics: &Metrics) -> Option<HistoryWriter> {
    if !settings.enabled {
        return None;
    }
    let m = match HistoryMetrics::register(&metrics.registry) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "history metrics");
            return None;
        }
    };
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let mut o = WriterOptions::new(settings.path.clone());
    o.batch_interval = settings.batch_interval;
    o.retention = Retention {
        minutes: secs(settings.retention_minutes),
        hours: secs(settings.retention_hours),
        lag: secs(settings.batch_interval).saturating_mul(2).max(120),
    };
    match HistoryWriter::start(o, m) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the history writer thread");
            None
        }
    }
}

/// Records a session of `cfg` going up or down.
pub fn session_event(env: &PeerEnv, cfg: &NeighborConfig, up: bool, reason: &str) {
    let Some((h, rs)) = &env.history else {
        return;
    };
    let event = fox_history::SessionEvent {
        ts: fox_history::unix_now(),
        rs: rs.to_string(),
        asn: cfg.asn,
        neighbor: cfg.address.to_string(),
        up,
        reason: reason.to_owned(),
    };
    h.record(|b| b.session_event(event));
}

/// Per-member prefix counts of route server `rs` at `ts`: the member's neighbours (both
/// address families, every connection) added up.
pub fn prefix_rows(
    summary: &Summary,
    reasons: &BTreeMap<PeerId, BTreeMap<u32, usize>>,
    rs: &str,
    ts: Ts,
) -> Vec<PrefixRow> {
    let mut by_asn: BTreeMap<u32, PrefixCounts> = BTreeMap::new();
    let n = |v: usize| v as u64;
    for p in &summary.peers {
        let c = by_asn.entry(p.asn).or_default();
        c.received += n(p.received.ipv4 + p.received.ipv6);
        c.accepted += n(p.accepted.ipv4 + p.accepted.ipv6);
        c.filtered += n(p.filtered.ipv4 + p.filtered.ipv6);
        c.rpki_valid += n(p.rpki.get("valid").copied().unwrap_or(0));
        c.rpki_invalid += n(p.rpki.get("invalid").copied().unwrap_or(0));
        c.rpki_not_found += n(p.rpki.get("not-found").copied().unwrap_or(0));
        for (&code, &count) in reasons.get(&p.id).into_iter().flatten() {
            *c.filtered_by_reason.entry(code).or_default() += n(count);
        }
    }
    by_asn
        .into_iter()
        .map(|(asn, counts)| PrefixRow {
            ts,
            rs: rs.to_owned(),
            asn,
            counts,
        })
        .collect()
}

async fn ask(rib: &RibTx, q: Query) -> Option<Answer> {
    let (tx, rx) = oneshot::channel();
    rib.send(RibMsg::Query(q, tx)).await.ok()?;
    tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .ok()?
        .ok()
}

/// Takes prefix counts from the RIB every `every` until shutdown (and once at shutdown).
pub async fn run_prefix_snapshots(
    rib: RibTx,
    handle: HistoryHandle,
    rs: Arc<str>,
    every: Duration,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let mut iv = tokio::time::interval(every);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    iv.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = iv.tick() => false,
            _ = shutdown.changed() => true,
        };
        let (Some(Answer::Summary(sum)), Some(Answer::ReasonCounts(reasons))) = (
            ask(&rib, Query::Summary).await,
            ask(&rib, Query::ReasonCounts).await,
        ) else {
            tracing::debug!("RIB did not answer the prefix count queries");
            if stopping {
                return;
            }
            continue;
        };
        let rows = prefix_rows(&sum, &reasons, &rs, fox_history::unix_now());
        handle.record(|b| {
            for r in rows {
                b.prefix_counts(r);
            }
        });
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::query::PeerCounts;

    fn peer(id: PeerId, asn: u32, addr: &str, rec: [usize; 2], acc: [usize; 2]) -> PeerCounts {
        let mut rpki = BTreeMap::new();
        rpki.insert("valid", acc[0] + acc[1]);
        rpki.insert("invalid", 1);
        rpki.insert("not-found", 0);
        rpki.insert("not-checked", 2);
        PeerCounts {
            id,
            member: format!("AS{asn}"),
            asn,
            address: addr.parse().expect("address"),
            established: true,
            received: rec.into(),
            accepted: acc.into(),
            filtered: [rec[0] - acc[0], rec[1] - acc[1]].into(),
            advertised: [0, 0].into(),
            max_prefix_reached: false,
            rpki,
        }
    }

    #[test]
    fn member_rows_add_up_its_neighbours() {
        let summary = Summary {
            prefixes_ipv4: 0,
            prefixes_ipv6: 0,
            paths: 0,
            attribute_sets: 0,
            peers: vec![
                peer(0, 65001, "192.0.2.11", [10, 0], [7, 0]),
                peer(1, 65001, "2001:db8::11", [0, 5], [0, 4]),
                peer(2, 65002, "192.0.2.21", [3, 0], [3, 0]),
            ],
        };
        let mut reasons = BTreeMap::new();
        reasons.insert(0, BTreeMap::from([(9u32, 2usize), (14, 1)]));
        reasons.insert(1, BTreeMap::from([(9u32, 1usize)]));
        let rows = prefix_rows(&summary, &reasons, "rs1", 1_800_000_000);
        assert_eq!(rows.len(), 2);
        let m1 = &rows[0];
        assert_eq!(
            (m1.asn, m1.rs.as_str(), m1.ts),
            (65001, "rs1", 1_800_000_000)
        );
        let c = &m1.counts;
        assert_eq!((c.received, c.accepted, c.filtered), (15, 11, 4));
        assert_eq!((c.rpki_valid, c.rpki_invalid, c.rpki_not_found), (11, 2, 0));
        assert_eq!(c.filtered_by_reason, BTreeMap::from([(9, 3), (14, 1)]));
        assert!(rows[1].counts.filtered_by_reason.is_empty());
        assert_eq!(rows[1].counts.accepted, 3);
    }
}
