//! Peering-LAN hygiene violations: per member, rule and minute (only non-zero rows) with the
//! last offending sample; rolled up hourly like traffic and kept as long.

use rusqlite::types::Value;
use rusqlite::{params, Row, Transaction};

use crate::batch::{minute_of, HistoryBatch};
use crate::error::HistoryError;
use crate::model::{HygieneRow, Ts};
use crate::read::u64_of;
use crate::store::HistoryStore;
use crate::write::i;

/// Violations of one (member, minute, rule) in a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HygieneAcc {
    samples: u64,
    frames: u64,
    last_at: Ts,
    last: String,
}

impl HistoryBatch {
    /// Adds `samples` sampled frames (`frames` scaled by the sampling rate) of member `asn`
    /// (0 for a MAC of no member) breaking `rule` in the minute of `ts`; `last` describes the
    /// latest of them, taken at `last_at` (the latest offence of the minute is kept).
    #[allow(clippy::too_many_arguments)]
    pub fn add_hygiene(
        &mut self,
        asn: u32,
        rule: &str,
        ts: Ts,
        samples: u64,
        frames: u64,
        last_at: Ts,
        last: &str,
    ) {
        if samples == 0 && frames == 0 {
            return;
        }
        let a = self
            .hygiene
            .entry((asn, minute_of(ts), rule.to_owned()))
            .or_default();
        a.samples = a.samples.saturating_add(samples);
        a.frames = a.frames.saturating_add(frames);
        if a.last.is_empty() || last_at >= a.last_at {
            a.last_at = last_at;
            a.last = last.to_owned();
        }
        self.samples += 1;
    }
}

/// Writes the batch's hygiene rows: counts add to a row already there, the later offence wins.
pub(crate) fn write_hygiene(tx: &Transaction<'_>, b: &HistoryBatch) -> rusqlite::Result<u64> {
    let mut st = tx.prepare_cached(
        "INSERT INTO hygiene_minute (asn, ts, rule, samples, frames, last_at, last) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (asn, ts, rule) DO UPDATE SET \
         samples = samples + excluded.samples, frames = frames + excluded.frames, \
         last = CASE WHEN excluded.last_at >= last_at THEN excluded.last ELSE last END, \
         last_at = MAX(last_at, excluded.last_at)",
    )?;
    let mut rows = 0u64;
    for ((asn, ts, rule), a) in &b.hygiene {
        rows += st.execute(params![
            asn,
            ts,
            rule,
            i(a.samples),
            i(a.frames),
            a.last_at,
            a.last
        ])? as u64;
    }
    Ok(rows)
}

/// Recomputes the hours in `[start, end)` from the minutes: sums and the hour's last offence.
pub(crate) fn rollup_hygiene(tx: &Transaction<'_>, start: Ts, end: Ts) -> rusqlite::Result<u64> {
    // SQLite takes the bare columns (`last`) from the row holding the single MAX().
    let n = tx.execute(
        "INSERT OR REPLACE INTO hygiene_hour (asn, ts, rule, samples, frames, last_at, last) \
         SELECT asn, ts / 3600 * 3600, rule, SUM(samples), SUM(frames), MAX(last_at), last \
         FROM hygiene_minute WHERE ts >= ?1 AND ts < ?2 GROUP BY asn, ts / 3600, rule",
        params![start, end],
    )?;
    Ok(n as u64)
}

fn hygiene_row(r: &Row<'_>) -> rusqlite::Result<HygieneRow> {
    Ok(HygieneRow {
        asn: r.get(0)?,
        ts: r.get(1)?,
        rule: r.get(2)?,
        samples: u64_of(r, 3)?,
        frames: u64_of(r, 4)?,
        last_at: r.get(5)?,
        last: r.get(6)?,
    })
}

impl HistoryStore {
    /// Per-minute hygiene violations of `asn` (or all), ordered by member, time, rule.
    pub fn hygiene_minutes(
        &self,
        asn: Option<u32>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<HygieneRow>, HistoryError> {
        self.hygiene("hygiene_minutes", "hygiene_minute", asn, from, to)
    }

    /// Hourly hygiene violations of `asn` (or all), ordered by member, time, rule.
    pub fn hygiene_hours(
        &self,
        asn: Option<u32>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<HygieneRow>, HistoryError> {
        self.hygiene("hygiene_hours", "hygiene_hour", asn, from, to)
    }

    fn hygiene(
        &self,
        what: &'static str,
        table: &str,
        asn: Option<u32>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<HygieneRow>, HistoryError> {
        let sql = format!(
            "SELECT asn, ts, rule, samples, frames, last_at, last FROM {table} \
             WHERE (?1 IS NULL OR asn = ?1) AND ts >= ?2 AND ts < ?3 ORDER BY asn, ts, rule"
        );
        let key = asn.map_or(Value::Null, Value::from);
        self.rows(
            what,
            &sql,
            vec![key, Value::from(from), Value::from(to)],
            hygiene_row,
        )
    }
}
