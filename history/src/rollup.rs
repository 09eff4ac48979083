//! Hourly rollups and retention, in one transaction; idempotent (a second run with the same
//! `now` rewrites the same hourly rows and deletes nothing more).

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use crate::batch::hour_of;
use crate::error::{write, HistoryError};
use crate::hist::RttHistogram;
use crate::model::Ts;
use crate::schema::{HOUR_TABLES, MINUTE_TABLES};
use crate::store::HistoryStore;

/// How long data is kept, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Minute and 5-minute rows (default 35 days).
    pub minutes: Ts,
    /// Hourly rows and events (default 400 days).
    pub hours: Ts,
    /// An hour is rolled up once it ended this long ago, so late batches are in (default 5 min).
    pub lag: Ts,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            minutes: 35 * 86_400,
            hours: 400 * 86_400,
            lag: 300,
        }
    }
}

/// What one rollup run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupStats {
    /// First hour (re)computed; equal to `end` when nothing was due.
    pub start: Ts,
    /// Hours before this are rolled up now.
    pub end: Ts,
    /// Hourly rows written.
    pub hour_rows: u64,
    /// Rows deleted by retention.
    pub deleted: u64,
}

impl HistoryStore {
    /// Rolls minutes up into hours up to the last hour that ended `lag` before `now`, then
    /// deletes what is older than the retention periods (minutes only once rolled up).
    pub fn rollup(&mut self, now: Ts, retention: &Retention) -> Result<RollupStats, HistoryError> {
        let tx = self.conn.transaction().map_err(write("begin rollup"))?;
        let stats = rollup_tx(&tx, now, retention).map_err(write("rollup"))?;
        tx.commit().map_err(write("commit rollup"))?;
        Ok(stats)
    }
}

fn rollup_tx(tx: &Transaction<'_>, now: Ts, r: &Retention) -> rusqlite::Result<RollupStats> {
    let end = hour_of(now.saturating_sub(r.lag));
    let rolled: Option<Ts> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'rolled_until'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    // The hour before `rolled_until` is recomputed too, for minutes that came in late.
    let start = match rolled {
        Some(t) => t.saturating_sub(3600),
        None => {
            let mut oldest: Option<Ts> = None;
            for t in MINUTE_TABLES {
                let m: Option<Ts> =
                    tx.query_row(&format!("SELECT MIN(ts) FROM {t}"), [], |row| row.get(0))?;
                oldest = [oldest, m].into_iter().flatten().min();
            }
            oldest.map_or(end, hour_of)
        }
    };
    let mut stats = RollupStats {
        start: start.min(end),
        end,
        ..RollupStats::default()
    };
    if start < end {
        stats.hour_rows += tx.execute(
            "INSERT OR REPLACE INTO traffic_hour (asn, ts, ipv, bytes_in, bytes_out, packets_in, \
             packets_out, peak_bytes_in, peak_bytes_out) \
             SELECT asn, ts / 3600 * 3600, ipv, SUM(bytes_in), SUM(bytes_out), SUM(packets_in), \
             SUM(packets_out), MAX(bytes_in), MAX(bytes_out) FROM traffic_minute \
             WHERE ts >= ?1 AND ts < ?2 GROUP BY asn, ts / 3600, ipv",
            params![start, end],
        )? as u64;
        stats.hour_rows += tx.execute(
            "INSERT OR REPLACE INTO matrix_hour (ts, src_asn, dst_asn, bytes, packets) \
             SELECT ts / 3600 * 3600, src_asn, dst_asn, SUM(bytes), SUM(packets) FROM matrix_5min \
             WHERE ts >= ?1 AND ts < ?2 GROUP BY ts / 3600, src_asn, dst_asn",
            params![start, end],
        )? as u64;
        stats.hour_rows += rollup_probes(tx, start, end)?;
        stats.hour_rows += crate::hygiene::rollup_hygiene(tx, start, end)?;
    }
    if rolled.is_none_or(|t| t < end) {
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_until', ?1)",
            [end],
        )?;
    }
    let rolled_until = rolled.map_or(end, |t| t.max(end));
    // Minutes go only when old enough and in an hour that will not be recomputed.
    let minute_cut = now
        .saturating_sub(r.minutes)
        .min(rolled_until.saturating_sub(3600));
    for t in MINUTE_TABLES {
        stats.deleted +=
            tx.execute(&format!("DELETE FROM {t} WHERE ts < ?1"), [minute_cut])? as u64;
    }
    // Readers use hourly rows before this time (minute data there is gone).
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('minutes_from', ?1) \
         ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
        [minute_cut],
    )?;
    let hour_cut = now.saturating_sub(r.hours);
    for t in HOUR_TABLES {
        stats.deleted += tx.execute(&format!("DELETE FROM {t} WHERE ts < ?1"), [hour_cut])? as u64;
    }
    stats.deleted += tx.execute("DELETE FROM session_event WHERE ts < ?1", [hour_cut])? as u64;
    stats.deleted += tx.execute(
        "DELETE FROM alert_event WHERE resolved IS NOT NULL AND resolved < ?1",
        [hour_cut],
    )? as u64;
    Ok(stats)
}

#[derive(Default)]
struct HourAcc {
    sent: i64,
    lost: i64,
    min: Option<u32>,
    max: Option<u32>,
    minutes: u32,
    up: u32,
    hist: RttHistogram,
}

fn rollup_probes(tx: &Transaction<'_>, start: Ts, end: Ts) -> rusqlite::Result<u64> {
    let mut hours: BTreeMap<(i64, Ts), HourAcc> = BTreeMap::new();
    {
        let mut st = tx.prepare_cached(
            "SELECT probe_id, ts, sent, lost, rtt_min_us, rtt_max_us, hist FROM probe_minute \
             WHERE ts >= ?1 AND ts < ?2",
        )?;
        let mut rows = st.query(params![start, end])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let ts: Ts = row.get(1)?;
            let (sent, lost): (i64, i64) = (row.get(2)?, row.get(3)?);
            let a = hours.entry((id, hour_of(ts))).or_default();
            a.sent += sent;
            a.lost += lost;
            a.min = [a.min, row.get(4)?].into_iter().flatten().min();
            a.max = [a.max, row.get(5)?].into_iter().flatten().max();
            a.minutes += u32::from(sent > 0);
            a.up += u32::from(sent > lost);
            if let Some(h) = RttHistogram::decode(&row.get::<_, Vec<u8>>(6)?) {
                a.hist.merge(&h);
            }
        }
    }
    let mut st = tx.prepare_cached(
        "INSERT OR REPLACE INTO probe_hour (probe_id, ts, sent, lost, rtt_min_us, rtt_median_us, \
         rtt_p95_us, rtt_max_us, minutes_with_data, minutes_up, hist) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut n = 0u64;
    for ((id, ts), a) in &hours {
        n += st.execute(params![
            id,
            ts,
            a.sent,
            a.lost,
            a.min,
            a.hist.quantile(0.5),
            a.hist.quantile(0.95),
            a.max,
            a.minutes,
            a.up,
            a.hist.encode()
        ])? as u64;
    }
    Ok(n)
}
