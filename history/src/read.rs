//! The read API: what the report and the looking glass ask. Ranges are `[from, to)` on the
//! row's `ts`; a key of `None` means every member or probe. Each query walks a primary key or
//! index that starts with the key (or with `ts` for the matrix and events).

use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension, Row};

use crate::error::{read, HistoryError};
use crate::hist::RttHistogram;
use crate::model::{
    AlertEvent, MatrixRow, PairTotal, PrefixCounts, PrefixRow, ProbeRow, SessionEvent, TrafficRow,
    Ts,
};
use crate::store::HistoryStore;

type Result<T> = std::result::Result<T, HistoryError>;

pub(crate) fn u64_of(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

fn u32_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<u32>> {
    Ok(r.get::<_, Option<i64>>(i)?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

fn traffic_row(r: &Row<'_>) -> rusqlite::Result<TrafficRow> {
    Ok(TrafficRow {
        asn: r.get(0)?,
        ts: r.get(1)?,
        ipv: r.get(2)?,
        bytes_in: u64_of(r, 3)?,
        bytes_out: u64_of(r, 4)?,
        packets_in: u64_of(r, 5)?,
        packets_out: u64_of(r, 6)?,
        peak_bytes_in: u64_of(r, 7)?,
        peak_bytes_out: u64_of(r, 8)?,
    })
}

fn matrix_row(r: &Row<'_>) -> rusqlite::Result<MatrixRow> {
    Ok(MatrixRow {
        ts: r.get(0)?,
        src_asn: r.get(1)?,
        dst_asn: r.get(2)?,
        bytes: u64_of(r, 3)?,
        packets: u64_of(r, 4)?,
    })
}

fn probe_row(r: &Row<'_>) -> rusqlite::Result<ProbeRow> {
    let blob: Vec<u8> = r.get(11)?;
    Ok(ProbeRow {
        probe: r.get(0)?,
        ts: r.get(1)?,
        sent: u64_of(r, 2)?,
        lost: u64_of(r, 3)?,
        rtt_min_us: u32_opt(r, 4)?,
        rtt_median_us: u32_opt(r, 5)?,
        rtt_p95_us: u32_opt(r, 6)?,
        rtt_max_us: u32_opt(r, 7)?,
        minutes_with_data: r.get(8)?,
        minutes_up: r.get(9)?,
        histogram: RttHistogram::decode(&blob).unwrap_or_default(),
    })
}

impl HistoryStore {
    pub(crate) fn rows<T>(
        &self,
        what: &'static str,
        sql: &str,
        params: Vec<Value>,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(read(what))?;
        let it = stmt
            .query_map(params_from_iter(params), f)
            .map_err(read(what))?;
        it.collect::<rusqlite::Result<Vec<T>>>().map_err(read(what))
    }

    /// Per-minute traffic of `asn` (or all members), ordered by member, time, IP version.
    pub fn traffic_minutes(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<TrafficRow>> {
        self.traffic(
            "traffic_minutes",
            "traffic_minute",
            "bytes_in, bytes_out",
            asn,
            from,
            to,
        )
    }

    /// Hourly traffic of `asn` (or all members), ordered by member, time, IP version.
    pub fn traffic_hours(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<TrafficRow>> {
        self.traffic(
            "traffic_hours",
            "traffic_hour",
            "peak_bytes_in, peak_bytes_out",
            asn,
            from,
            to,
        )
    }

    fn traffic(
        &self,
        what: &'static str,
        table: &str,
        peaks: &str,
        asn: Option<u32>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<TrafficRow>> {
        let cols = format!(
            "SELECT asn, ts, ipv, bytes_in, bytes_out, packets_in, packets_out, {peaks} FROM {table}"
        );
        match asn {
            Some(a) => self.rows(
                what,
                &format!("{cols} WHERE asn = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, ipv"),
                vec![Value::from(a), Value::from(from), Value::from(to)],
                traffic_row,
            ),
            None => self.rows(
                what,
                &format!("{cols} WHERE ts >= ?1 AND ts < ?2 ORDER BY asn, ts, ipv"),
                vec![Value::from(from), Value::from(to)],
                traffic_row,
            ),
        }
    }

    /// 5-minute matrix rows where `asn` (if given) is sender or receiver, ordered by time.
    pub fn matrix_5min(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<MatrixRow>> {
        self.matrix("matrix_5min", "matrix_5min", asn, from, to)
    }

    /// Hourly matrix rows where `asn` (if given) is sender or receiver, ordered by time.
    pub fn matrix_hours(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<MatrixRow>> {
        self.matrix("matrix_hours", "matrix_hour", asn, from, to)
    }

    fn matrix(
        &self,
        what: &'static str,
        table: &str,
        asn: Option<u32>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<MatrixRow>> {
        let sql = format!(
            "SELECT ts, src_asn, dst_asn, bytes, packets FROM {table} WHERE ts >= ?1 AND ts < ?2 \
             AND (?3 IS NULL OR src_asn = ?3 OR dst_asn = ?3) ORDER BY ts, src_asn, dst_asn"
        );
        let key = asn.map_or(Value::Null, Value::from);
        self.rows(
            what,
            &sql,
            vec![Value::from(from), Value::from(to), key],
            matrix_row,
        )
    }

    /// The `limit` member pairs with the most bytes over the hourly matrix in `[from, to)`.
    pub fn top_pairs(&self, from: Ts, to: Ts, limit: usize) -> Result<Vec<PairTotal>> {
        let sql = "SELECT src_asn, dst_asn, SUM(bytes) AS b, SUM(packets) FROM matrix_hour \
                   WHERE ts >= ?1 AND ts < ?2 GROUP BY src_asn, dst_asn \
                   ORDER BY b DESC, src_asn, dst_asn LIMIT ?3";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "top_pairs",
            sql,
            vec![Value::from(from), Value::from(to), Value::from(limit)],
            |r| {
                Ok(PairTotal {
                    src_asn: r.get(0)?,
                    dst_asn: r.get(1)?,
                    bytes: u64_of(r, 2)?,
                    packets: u64_of(r, 3)?,
                })
            },
        )
    }

    /// Names of all probe targets ever written, sorted.
    pub fn probe_names(&self) -> Result<Vec<String>> {
        self.rows(
            "probe_names",
            "SELECT name FROM probe_target ORDER BY name",
            Vec::new(),
            |r| r.get(0),
        )
    }

    /// Per-minute probe results of `probe` (or all), ordered by probe name and time.
    pub fn probe_minutes(&self, probe: Option<&str>, from: Ts, to: Ts) -> Result<Vec<ProbeRow>> {
        let sql = "SELECT t.name, m.ts, m.sent, m.lost, m.rtt_min_us, m.rtt_median_us, \
                   m.rtt_p95_us, m.rtt_max_us, 1, (m.sent > m.lost), 0, m.hist \
                   FROM probe_minute m JOIN probe_target t ON t.id = m.probe_id \
                   WHERE (?1 IS NULL OR t.name = ?1) AND m.ts >= ?2 AND m.ts < ?3 \
                   ORDER BY t.name, m.ts";
        self.probes("probe_minutes", sql, probe, from, to)
    }

    /// Hourly probe results of `probe` (or all), ordered by probe name and time.
    pub fn probe_hours(&self, probe: Option<&str>, from: Ts, to: Ts) -> Result<Vec<ProbeRow>> {
        let sql = "SELECT t.name, m.ts, m.sent, m.lost, m.rtt_min_us, m.rtt_median_us, \
                   m.rtt_p95_us, m.rtt_max_us, m.minutes_with_data, m.minutes_up, 0, m.hist \
                   FROM probe_hour m JOIN probe_target t ON t.id = m.probe_id \
                   WHERE (?1 IS NULL OR t.name = ?1) AND m.ts >= ?2 AND m.ts < ?3 \
                   ORDER BY t.name, m.ts";
        self.probes("probe_hours", sql, probe, from, to)
    }

    fn probes(
        &self,
        what: &'static str,
        sql: &str,
        probe: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> Result<Vec<ProbeRow>> {
        let key = probe.map_or(Value::Null, |p| Value::from(p.to_owned()));
        self.rows(
            what,
            sql,
            vec![key, Value::from(from), Value::from(to)],
            probe_row,
        )
    }

    /// Session events of `asn` (or all members) in `[from, to)`, oldest first.
    pub fn session_events(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<SessionEvent>> {
        let cols = "SELECT ts, rs, asn, neighbor, up, reason FROM session_event";
        let f = |r: &Row<'_>| {
            Ok(SessionEvent {
                ts: r.get(0)?,
                rs: r.get(1)?,
                asn: r.get(2)?,
                neighbor: r.get(3)?,
                up: r.get::<_, i64>(4)? != 0,
                reason: r.get(5)?,
            })
        };
        match asn {
            Some(a) => self.rows(
                "session_events",
                &format!("{cols} WHERE asn = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, id"),
                vec![Value::from(a), Value::from(from), Value::from(to)],
                f,
            ),
            None => self.rows(
                "session_events",
                &format!("{cols} WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, id"),
                vec![Value::from(from), Value::from(to)],
                f,
            ),
        }
    }

    /// Alerts active at some time in `[from, to)` (raised before `to`, not resolved before
    /// `from`), oldest first.
    pub fn alert_events(&self, from: Ts, to: Ts) -> Result<Vec<AlertEvent>> {
        let sql = "SELECT alert_id, raised, resolved, severity, cause, symptoms FROM alert_event \
                   WHERE raised < ?2 AND (resolved IS NULL OR resolved >= ?1) \
                   ORDER BY raised, alert_id";
        self.rows(
            "alert_events",
            sql,
            vec![Value::from(from), Value::from(to)],
            |r| {
                Ok(AlertEvent {
                    id: r.get(0)?,
                    raised: r.get(1)?,
                    resolved: r.get(2)?,
                    severity: r.get(3)?,
                    cause: r.get(4)?,
                    symptoms: r.get(5)?,
                })
            },
        )
    }

    /// Hourly prefix counts of `asn` (or all members), ordered by member, time, route server.
    pub fn prefix_hours(&self, asn: Option<u32>, from: Ts, to: Ts) -> Result<Vec<PrefixRow>> {
        let key = asn.map_or(Value::Null, Value::from);
        let params = vec![key, Value::from(from), Value::from(to)];
        let mut rows = self.rows(
            "prefix_hours",
            "SELECT ts, rs, asn, received, accepted, filtered, rpki_valid, rpki_invalid, \
             rpki_not_found FROM prefix_hour WHERE (?1 IS NULL OR asn = ?1) \
             AND ts >= ?2 AND ts < ?3 ORDER BY asn, ts, rs",
            params.clone(),
            |r| {
                Ok(PrefixRow {
                    ts: r.get(0)?,
                    rs: r.get(1)?,
                    asn: r.get(2)?,
                    counts: PrefixCounts {
                        received: u64_of(r, 3)?,
                        accepted: u64_of(r, 4)?,
                        filtered: u64_of(r, 5)?,
                        rpki_valid: u64_of(r, 6)?,
                        rpki_invalid: u64_of(r, 7)?,
                        rpki_not_found: u64_of(r, 8)?,
                        filtered_by_reason: Default::default(),
                    },
                })
            },
        )?;
        let reasons = self.rows(
            "prefix_hours",
            "SELECT asn, ts, rs, reason, count FROM prefix_filtered_hour \
             WHERE (?1 IS NULL OR asn = ?1) AND ts >= ?2 AND ts < ?3",
            params,
            |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Ts>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    u64_of(r, 4)?,
                ))
            },
        )?;
        for (asn, ts, rs, reason, count) in reasons {
            let key = (asn, ts, rs.as_str());
            if let Ok(i) = rows.binary_search_by(|p| (p.asn, p.ts, p.rs.as_str()).cmp(&key)) {
                if let Some(p) = rows.get_mut(i) {
                    p.counts.filtered_by_reason.insert(reason, count);
                }
            }
        }
        Ok(rows)
    }

    /// Minute rows before this time were deleted by retention (their hours are rolled up);
    /// `None` before the first rollup. Readers of older periods use the hourly rows.
    pub fn minutes_from(&self) -> Result<Option<Ts>> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'minutes_from'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(read("minutes_from"))
    }

    /// Hours before this time are rolled up (`None` before the first rollup).
    pub fn rolled_until(&self) -> Result<Option<Ts>> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'rolled_until'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(read("rolled_until"))
    }
}
