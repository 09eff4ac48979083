//! The write path: one batch, one transaction.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::batch::{HistoryBatch, ProbeMinute};
use crate::error::{write, HistoryError};
use crate::hist::RttHistogram;
use crate::store::HistoryStore;

/// What one batch wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Rows inserted or updated.
    pub rows: u64,
    /// Samples and events the batch aggregated.
    pub samples: u64,
}

pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Exact nearest-rank quantile of sorted `v`.
pub(crate) fn exact_quantile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// Id of probe `name` in the dictionary, adding it when new.
pub(crate) fn probe_id(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached("INSERT OR IGNORE INTO probe_target (name) VALUES (?1)")?
        .execute([name])?;
    tx.prepare_cached("SELECT id FROM probe_target WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
}

impl HistoryStore {
    /// Writes `batch` in one transaction: counters add to rows already there (a minute may
    /// span two batches), events append, prefix counts replace the hour's.
    pub fn write_batch(&mut self, batch: &HistoryBatch) -> Result<WriteStats, HistoryError> {
        let tx = self.conn.transaction().map_err(write("begin"))?;
        let rows = write_all(&tx, batch).map_err(write("batch"))?;
        tx.commit().map_err(write("commit"))?;
        Ok(WriteStats {
            rows,
            samples: batch.samples,
        })
    }
}

fn write_all(tx: &Transaction<'_>, b: &HistoryBatch) -> rusqlite::Result<u64> {
    let mut rows = 0u64;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO traffic_minute (asn, ts, ipv, bytes_in, bytes_out, packets_in, packets_out) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (asn, ts, ipv) DO UPDATE SET \
             bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out, \
             packets_in = packets_in + excluded.packets_in, \
             packets_out = packets_out + excluded.packets_out",
        )?;
        for (&(asn, ts, ipv), c) in &b.traffic {
            rows += st.execute(params![asn, ts, ipv, i(c[0]), i(c[1]), i(c[2]), i(c[3])])? as u64;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO matrix_5min (ts, src_asn, dst_asn, bytes, packets) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (ts, src_asn, dst_asn) DO UPDATE SET \
             bytes = bytes + excluded.bytes, packets = packets + excluded.packets",
        )?;
        for (&(ts, src, dst), c) in &b.matrix {
            rows += st.execute(params![ts, src, dst, i(c[0]), i(c[1])])? as u64;
        }
    }
    for ((name, ts), m) in &b.probes {
        let id = probe_id(tx, name)?;
        write_probe_minute(tx, id, *ts, m)?;
        rows += 1;
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO session_event (ts, rs, asn, neighbor, up, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for e in &b.sessions {
            rows += st.execute(params![e.ts, e.rs, e.asn, e.neighbor, e.up, e.reason])? as u64;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO alert_event (alert_id, raised, resolved, severity, cause, symptoms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (alert_id) DO UPDATE SET \
             severity = excluded.severity, cause = excluded.cause, symptoms = excluded.symptoms, \
             resolved = COALESCE(excluded.resolved, resolved)",
        )?;
        for e in &b.alerts_raised {
            rows += st.execute(params![
                e.id, e.raised, e.resolved, e.severity, e.cause, e.symptoms
            ])? as u64;
        }
        let mut st = tx.prepare_cached(
            "UPDATE alert_event SET resolved = ?2 WHERE alert_id = ?1 AND resolved IS NULL",
        )?;
        for (id, ts) in &b.alerts_resolved {
            rows += st.execute(params![id, ts])? as u64;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO prefix_hour (asn, ts, rs, received, accepted, filtered, \
             rpki_valid, rpki_invalid, rpki_not_found) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM prefix_filtered_hour WHERE asn = ?1 AND ts = ?2 AND rs = ?3",
        )?;
        let mut ins = tx.prepare_cached(
            "INSERT INTO prefix_filtered_hour (asn, ts, rs, reason, count) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for p in &b.prefixes {
            let c = &p.counts;
            rows += st.execute(params![
                p.asn,
                p.ts,
                p.rs,
                i(c.received),
                i(c.accepted),
                i(c.filtered),
                i(c.rpki_valid),
                i(c.rpki_invalid),
                i(c.rpki_not_found)
            ])? as u64;
            del.execute(params![p.asn, p.ts, p.rs])?;
            for (&reason, &n) in &c.filtered_by_reason {
                rows += ins.execute(params![p.asn, p.ts, p.rs, reason, i(n)])? as u64;
            }
        }
    }
    rows += crate::hygiene::write_hygiene(tx, b)?;
    Ok(rows)
}

/// Writes one probe minute, merged with a row already there (a minute written in two parts,
/// e.g. at shutdown): sums and extremes exactly, median and p95 from the merged histogram.
fn write_probe_minute(
    tx: &Transaction<'_>,
    id: i64,
    ts: i64,
    m: &ProbeMinute,
) -> rusqlite::Result<()> {
    let mut rtts = m.rtts_us.clone();
    rtts.sort_unstable();
    let mut hist = RttHistogram::new();
    for &r in &rtts {
        hist.add(r);
    }
    let mut sent = m.sent;
    let mut lost = m.lost;
    let mut min = rtts.first().copied();
    let mut max = rtts.last().copied();
    let mut median = exact_quantile(&rtts, 0.5);
    let mut p95 = exact_quantile(&rtts, 0.95);
    let old = tx
        .prepare_cached(
            "SELECT sent, lost, rtt_min_us, rtt_max_us, hist FROM probe_minute \
             WHERE probe_id = ?1 AND ts = ?2",
        )?
        .query_row(params![id, ts], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<u32>>(2)?,
                r.get::<_, Option<u32>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })
        .optional()?;
    if let Some((s, l, omin, omax, blob)) = old {
        sent += u64::try_from(s).unwrap_or(0);
        lost += u64::try_from(l).unwrap_or(0);
        min = [min, omin].into_iter().flatten().min();
        max = [max, omax].into_iter().flatten().max();
        if let Some(h) = RttHistogram::decode(&blob) {
            hist.merge(&h);
        }
        median = hist.quantile(0.5);
        p95 = hist.quantile(0.95);
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO probe_minute (probe_id, ts, sent, lost, rtt_min_us, rtt_median_us, \
         rtt_p95_us, rtt_max_us, hist) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id,
        ts,
        i(sent),
        i(lost),
        min,
        median,
        p95,
        max,
        hist.encode()
    ])?;
    Ok(())
}
