//! RTT, loss and traffic figures.

use std::collections::HashMap;

use fox_history::{ProbeRow, RttHistogram, TrafficRow};

use crate::model::{DailyRtt, Loss, RttStats, Status, TrafficFigures};
use crate::period::Period;

/// Figures of histogram `h` against an RTT target of `target_us`.
pub fn rtt_stats(h: &RttHistogram, target_us: u32) -> RttStats {
    let n = h.count();
    let ms = |q: f64| h.quantile(q).map(|us| f64::from(us) / 1000.0);
    RttStats {
        samples: n,
        median_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        over_target_share: (n > 0).then(|| h.count_above(target_us) as f64 / n as f64),
    }
}

/// Met when the p95 is under the target.
pub fn rtt_status(s: &RttStats, target_ms: f64) -> Status {
    match s.p95_ms {
        None => Status::NoData,
        Some(v) if v < target_ms => Status::Met,
        Some(_) => Status::Missed,
    }
}

/// Monthly histogram, daily figures and loss of one probe's `rows`.
pub fn path_figures(
    p: &Period,
    rows: &[&ProbeRow],
    target_us: u32,
    target_ms: f64,
) -> (RttHistogram, Vec<DailyRtt>, Loss) {
    let mut month = RttHistogram::new();
    let mut days = vec![RttHistogram::new(); p.days() as usize];
    let mut loss = Loss::default();
    for r in rows {
        let Some(d) = p.day_of(r.ts) else { continue };
        month.merge(&r.histogram);
        days[d].merge(&r.histogram);
        loss.sent += r.sent;
        loss.lost += r.lost;
    }
    loss.percent = (loss.sent > 0).then(|| loss.lost as f64 / loss.sent as f64 * 100.0);
    let daily = days
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let rtt = rtt_stats(h, target_us);
            DailyRtt {
                day: i as u32 + 1,
                status: rtt_status(&rtt, target_ms),
                rtt,
            }
        })
        .collect();
    (month, daily, loss)
}

/// Nearest-rank `q` quantile of `v` (sorted in place); 0 when empty.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Traffic figures per ASN from minute rows and, for the part of the month whose minutes are
/// gone, hourly rows (both IP versions added): totals, 95th percentile of the 5-minute
/// averages over every 5-minute slot of the month (slots without traffic count as zero; an
/// hourly row spreads its bytes evenly over its twelve slots, so there the hour's average
/// stands for each slot), peak minute (from hourly rows: the IPv4 and IPv6 peak minutes of
/// the hour added, an upper bound), bytes per local day.
pub fn traffic_figures(
    p: &Period,
    rows: &[TrafficRow],
    hours: &[TrafficRow],
) -> HashMap<u32, TrafficFigures> {
    let slots = (p.minutes() as usize).div_ceil(5);
    let mut minute: HashMap<u32, HashMap<i64, [u64; 2]>> = HashMap::new();
    let mut hourly: HashMap<u32, HashMap<i64, [u64; 4]>> = HashMap::new();
    let mut out: HashMap<u32, TrafficFigures> = HashMap::new();
    for r in hours {
        let Some(d) = p.day_of(r.ts) else { continue };
        let f = out.entry(r.asn).or_insert_with(|| TrafficFigures {
            daily: vec![[0, 0]; p.days() as usize],
            ..TrafficFigures::default()
        });
        f.bytes_in = f.bytes_in.saturating_add(r.bytes_in);
        f.bytes_out = f.bytes_out.saturating_add(r.bytes_out);
        f.daily[d][0] = f.daily[d][0].saturating_add(r.bytes_in);
        f.daily[d][1] = f.daily[d][1].saturating_add(r.bytes_out);
        let h = hourly.entry(r.asn).or_default().entry(r.ts).or_default();
        for (v, x) in h
            .iter_mut()
            .zip([r.bytes_in, r.bytes_out, r.peak_bytes_in, r.peak_bytes_out])
        {
            *v = v.saturating_add(x);
        }
    }
    for r in rows {
        let Some(d) = p.day_of(r.ts) else { continue };
        let f = out.entry(r.asn).or_insert_with(|| TrafficFigures {
            daily: vec![[0, 0]; p.days() as usize],
            ..TrafficFigures::default()
        });
        f.bytes_in = f.bytes_in.saturating_add(r.bytes_in);
        f.bytes_out = f.bytes_out.saturating_add(r.bytes_out);
        f.daily[d][0] = f.daily[d][0].saturating_add(r.bytes_in);
        f.daily[d][1] = f.daily[d][1].saturating_add(r.bytes_out);
        let m = minute.entry(r.asn).or_default().entry(r.ts).or_default();
        m[0] = m[0].saturating_add(r.bytes_in);
        m[1] = m[1].saturating_add(r.bytes_out);
    }
    let mut asns: Vec<u32> = out.keys().copied().collect();
    asns.sort_unstable();
    for asn in asns {
        let Some(f) = out.get_mut(&asn) else { continue };
        let mins = minute.remove(&asn).unwrap_or_default();
        let mut slot = vec![[0f64; 2]; slots];
        for (&ts, v) in hourly.get(&asn).into_iter().flatten() {
            for k in 0..12 {
                let Ok(i) = usize::try_from((ts + 300 * k - p.from()) / 300) else {
                    continue;
                };
                if let Some(s) = slot.get_mut(i) {
                    s[0] += v[0] as f64 / 12.0;
                    s[1] += v[1] as f64 / 12.0;
                }
            }
            f.peak_in_bps = f.peak_in_bps.max(v[2] as f64 * 8.0 / 60.0);
            f.peak_out_bps = f.peak_out_bps.max(v[3] as f64 * 8.0 / 60.0);
        }
        for (&ts, v) in &mins {
            let i = ((ts - p.from()) / 300) as usize;
            if let Some(s) = slot.get_mut(i) {
                s[0] += v[0] as f64;
                s[1] += v[1] as f64;
            }
            f.peak_in_bps = f.peak_in_bps.max(v[0] as f64 * 8.0 / 60.0);
            f.peak_out_bps = f.peak_out_bps.max(v[1] as f64 * 8.0 / 60.0);
        }
        let mut ins: Vec<f64> = slot.iter().map(|s| s[0] * 8.0 / 300.0).collect();
        let mut outs: Vec<f64> = slot.iter().map(|s| s[1] * 8.0 / 300.0).collect();
        f.p95_in_bps = quantile(&mut ins, 0.95);
        f.p95_out_bps = quantile(&mut outs, 0.95);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.95), 95.0);
        assert_eq!(quantile(&mut [], 0.95), 0.0);
    }
}
