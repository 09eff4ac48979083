//! Seeding the baselines from the history store at start, so a restart does not start the
//! warm-up again: the last `seed_days` of per-minute member traffic go through the same
//! judge-then-learn step as live intervals (a past surge is not learned), and each probe's
//! per-minute median RTT through its RTT baseline. Pair baselines (the store keeps pairs
//! per 5 minutes) still learn live.

use std::collections::{BTreeMap, HashMap};

use fox_history::{HistoryError, HistoryStore, ProbeRow, TrafficRow, Ts};

use super::{hour, judge, Baselines, RttBaseline, Verdict};
use crate::fabric::MemberMap;

/// Seconds in one stored traffic row.
const MINUTE: f64 = 60.0;

/// Learns per-minute member traffic `rows` (any order) into `baselines`; returns the
/// minutes learned. A minute where the store has no row for any member (the collector was
/// not running) is skipped; in the others a member without a row had no traffic.
pub fn learn_traffic(baselines: &mut Baselines, rows: &[TrafficRow], map: &MemberMap) -> usize {
    let index: HashMap<u32, usize> = map
        .members()
        .iter()
        .enumerate()
        .rev()
        .map(|(i, m)| (m.asn, i))
        .collect();
    let mut minutes: BTreeMap<Ts, HashMap<usize, [u64; 2]>> = BTreeMap::new();
    for r in rows {
        let slot = minutes.entry(r.ts).or_default();
        if let Some(&m) = index.get(&r.asn) {
            let b = slot.entry(m).or_default();
            b[0] = b[0].saturating_add(r.bytes_in);
            b[1] = b[1].saturating_add(r.bytes_out);
        }
    }
    let n = map.members().len();
    baselines.members.resize_with(n, Default::default);
    let settings = baselines.settings.clone();
    for (ts, bytes) in &minutes {
        let h = hour(u64::try_from(*ts).unwrap_or(0));
        for (m, models) in baselines.members.iter_mut().enumerate() {
            let b = bytes.get(&m).copied().unwrap_or_default();
            for (dir, model) in models.iter_mut().enumerate() {
                let rate = b[dir] as f64 * 8.0 / MINUTE;
                if judge(&settings, model, rate, h) == Verdict::Normal {
                    model.learn(rate, h, settings.warmup);
                }
            }
        }
    }
    minutes.len()
}

/// Learns per-minute probe `rows` of one probe into `baseline` (the median RTT of each
/// minute, oldest first); returns the minutes learned.
pub fn learn_rtt(baseline: &mut RttBaseline, rows: &[ProbeRow]) -> usize {
    let mut samples: Vec<(Ts, f64)> = rows
        .iter()
        .filter_map(|r| r.rtt_median_us.map(|us| (r.ts, f64::from(us) / 1e6)))
        .collect();
    samples.sort_by_key(|s| s.0);
    let n = samples.len();
    baseline.seed(
        samples
            .into_iter()
            .map(|(ts, rtt)| (rtt, u64::try_from(ts).unwrap_or(0))),
    );
    n
}

/// Seeds `collector`'s traffic baselines and the RTT baselines of `probes` from the last
/// `days` days of its history store, if it has one (at start, before the probes run).
pub async fn from_history(
    collector: &crate::server::Collector,
    probes: &[std::sync::Arc<crate::probe::Probe>],
    days: u32,
) {
    let Some((_, path)) = collector.history() else {
        return;
    };
    if days == 0 {
        return;
    }
    let names: Vec<String> = probes.iter().map(|p| p.name.clone()).collect();
    let now = fox_history::unix_now();
    let from = now - i64::from(days) * 86_400;
    let read = tokio::task::spawn_blocking(move || {
        let store = HistoryStore::open_read_only(&path)?;
        let traffic = store.traffic_minutes(None, from, now)?;
        let mut rtt = Vec::new();
        for n in names {
            let rows = store.probe_minutes(Some(&n), from, now)?;
            rtt.push((n, rows));
        }
        Ok::<_, HistoryError>((traffic, rtt))
    })
    .await;
    let (traffic, rtt) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::info!(error = %e, "no history to seed the baselines from");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading history for the baselines failed");
            return;
        }
    };
    let minutes = {
        let mut guard = collector.state();
        let st = &mut *guard;
        learn_traffic(&mut st.baselines, &traffic, &st.map)
    };
    tracing::info!(minutes, days, "traffic baselines seeded from history");
    for (name, rows) in rtt {
        if let Some(p) = probes.iter().find(|p| p.name == name) {
            let n = learn_rtt(&mut p.state().rtt_baseline, &rows);
            tracing::info!(probe = %name, minutes = n, "RTT baseline seeded from history");
        }
    }
}
