//! History read endpoints over the embedded store (opened read-only per request, on a
//! blocking thread), for the looking glass's member and service views:
//!
//! - `GET /api/v1/history/member/{asn}?from=&to=&step=minute|hour`: the member's traffic,
//!   bytes and packets in and out per IP version, one point per minute or hour
//! - `GET /api/v1/history/service?from=&to=`: per probe target and hour, packets sent and
//!   lost, minutes with data and up (availability), RTT median/p95; and the period's totals
//!   with the probe's configured target (`null` for a probe no longer configured)
//!
//! `from`/`to` are unix seconds, the range is `[from, to)`. Hours not yet rolled up are
//! summed from the minutes, so the hourly series reaches up to now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fox_history::{HistoryStore, ProbeRow, RttHistogram, TrafficRow, Ts};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::server::Collector;

/// Longest range of a minute series (2 days).
pub const MAX_MINUTE_RANGE: i64 = 2 * 86_400;
/// Longest range of an hourly series or of the service figures (400 days).
pub const MAX_HOUR_RANGE: i64 = 400 * 86_400;

/// Query of the history endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// Start, unix seconds (inclusive).
    pub from: Option<String>,
    /// End, unix seconds (exclusive); default now.
    pub to: Option<String>,
    /// `minute` or `hour` (member traffic only; default `hour`).
    pub step: Option<String>,
}

/// An error answer: status and message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn err(status: StatusCode, msg: impl Into<String>) -> ApiError {
    ApiError(status, msg.into())
}

fn bad(msg: impl Into<String>) -> ApiError {
    err(StatusCode::BAD_REQUEST, msg)
}

/// Per probe over the range: hourly rows, sent, lost, minutes with data, minutes up, RTTs.
#[derive(Default)]
struct ProbeTotal {
    hours: Vec<Value>,
    sent: u64,
    lost: u64,
    with_data: u64,
    up: u64,
    hist: RttHistogram,
}

fn parse_ts(v: Option<&str>, name: &str) -> Result<Option<Ts>, ApiError> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<Ts>()
            .ok()
            .filter(|t| *t >= 0)
            .map(Some)
            .ok_or_else(|| bad(format!("`{name}` must be unix seconds, not `{s}`"))),
    }
}

/// `[from, to)` from the query: `to` defaults to now, `from` to `to - default_span`; the span
/// must be positive and at most `max`.
fn range(p: &RangeParams, default_span: i64, max: i64) -> Result<(Ts, Ts), ApiError> {
    let to = parse_ts(p.to.as_deref(), "to")?
        .unwrap_or_else(|| i64::try_from(crate::server::unix_now()).unwrap_or(0) + 1);
    let from = parse_ts(p.from.as_deref(), "from")?.unwrap_or(to.saturating_sub(default_span));
    if from >= to {
        return Err(bad(format!("`from` ({from}) must be before `to` ({to})")));
    }
    if to - from > max {
        return Err(bad(format!(
            "the range is {} s; at most {max} s for this step",
            to - from
        )));
    }
    Ok((from, to))
}

/// The store file, or the error answer when history is off or not yet written.
pub(crate) fn store_path(c: &Collector) -> Result<PathBuf, ApiError> {
    let Some((_, path)) = c.history() else {
        return Err(err(
            StatusCode::SERVICE_UNAVAILABLE,
            "the history store is disabled in this collector (`history: { enabled: false }`)",
        ));
    };
    if !path.exists() {
        return Err(err(
            StatusCode::NOT_FOUND,
            format!(
                "the history store {} does not exist yet (nothing written)",
                path.display()
            ),
        ));
    }
    Ok(path)
}

/// Runs `f` on the store opened read-only, on a blocking thread.
pub(crate) async fn with_store<T: Send + 'static>(
    path: PathBuf,
    f: impl FnOnce(&HistoryStore) -> Result<T, fox_history::HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    let r = tokio::task::spawn_blocking(move || {
        let store = HistoryStore::open_read_only(&path)?;
        f(&store)
    })
    .await;
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "history read");
            Err(err(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("history store: {e}"),
            ))
        }
        Err(e) => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("history read task: {e}"),
        )),
    }
}

fn hour_floor(ts: Ts) -> Ts {
    ts - ts.rem_euclid(3600)
}

/// Minute rows summed into hours (peaks = largest minute).
fn minutes_to_hours(rows: &[TrafficRow]) -> Vec<TrafficRow> {
    let mut by: BTreeMap<(Ts, u8), TrafficRow> = BTreeMap::new();
    for r in rows {
        let h = hour_floor(r.ts);
        let e = by.entry((h, r.ipv)).or_insert_with(|| TrafficRow {
            asn: r.asn,
            ts: h,
            ipv: r.ipv,
            ..TrafficRow::default()
        });
        e.bytes_in = e.bytes_in.saturating_add(r.bytes_in);
        e.bytes_out = e.bytes_out.saturating_add(r.bytes_out);
        e.packets_in = e.packets_in.saturating_add(r.packets_in);
        e.packets_out = e.packets_out.saturating_add(r.packets_out);
        e.peak_bytes_in = e.peak_bytes_in.max(r.bytes_in);
        e.peak_bytes_out = e.peak_bytes_out.max(r.bytes_out);
    }
    by.into_values().collect()
}

/// The member's hourly rows in `[from, to)`: rolled-up hours, then the rest from minutes.
fn member_hours(
    s: &HistoryStore,
    asn: u32,
    from: Ts,
    to: Ts,
) -> Result<Vec<TrafficRow>, fox_history::HistoryError> {
    let rolled = s.rolled_until()?.unwrap_or(i64::MIN).clamp(from, to);
    let mut rows = if rolled > from {
        s.traffic_hours(Some(asn), from, rolled)?
    } else {
        Vec::new()
    };
    if rolled < to {
        let mins = s.traffic_minutes(Some(asn), hour_floor(rolled), to)?;
        rows.extend(minutes_to_hours(&mins).into_iter().filter(|r| r.ts >= from));
    }
    Ok(rows)
}

fn points(rows: &[TrafficRow]) -> Vec<Value> {
    let mut by: BTreeMap<Ts, Value> = BTreeMap::new();
    for r in rows {
        let p = by.entry(r.ts).or_insert_with(|| {
            json!({ "ts": r.ts, "bytes_in": 0u64, "bytes_out": 0u64, "packets_in": 0u64, "packets_out": 0u64 })
        });
        for (k, v) in [
            ("bytes_in", r.bytes_in),
            ("bytes_out", r.bytes_out),
            ("packets_in", r.packets_in),
            ("packets_out", r.packets_out),
        ] {
            let sum = p[k].as_u64().unwrap_or(0).saturating_add(v);
            p[k] = json!(sum);
        }
        let afi = match r.ipv {
            4 => "ipv4",
            6 => "ipv6",
            _ => "other",
        };
        p[afi] = json!({
            "bytes_in": r.bytes_in, "bytes_out": r.bytes_out,
            "packets_in": r.packets_in, "packets_out": r.packets_out,
            "peak_bytes_in": r.peak_bytes_in, "peak_bytes_out": r.peak_bytes_out,
        });
    }
    by.into_values().collect()
}

/// `GET /api/v1/history/member/{asn}?from=&to=&step=`
pub async fn member(
    State(c): State<Collector>,
    Path(member): Path<String>,
    q: Result<Query<RangeParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match q {
        Ok(Query(p)) => p,
        Err(e) => return bad(format!("bad query: {}", e.body_text())).into_response(),
    };
    let Some(asn) = member
        .strip_prefix("AS")
        .or_else(|| member.strip_prefix("as"))
        .unwrap_or(&member)
        .parse::<u32>()
        .ok()
    else {
        return bad(format!("`{member}` is not an ASN")).into_response();
    };
    let minute = match p.step.as_deref() {
        None | Some("hour") => false,
        Some("minute") => true,
        Some(s) => {
            return bad(format!("`step` must be `minute` or `hour`, not `{s}`")).into_response()
        }
    };
    let (span, max) = if minute {
        (86_400, MAX_MINUTE_RANGE)
    } else {
        (30 * 86_400, MAX_HOUR_RANGE)
    };
    let (from, to) = match range(&p, span, max) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let path = match store_path(&c) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let rows = with_store(path, move |s| {
        if minute {
            s.traffic_minutes(Some(asn), from, to)
        } else {
            member_hours(s, asn, from, to)
        }
    })
    .await;
    match rows {
        Ok(rows) => Json(json!({
            "asn": asn,
            "from": from,
            "to": to,
            "step": if minute { "minute" } else { "hour" },
            "points": points(&rows),
        }))
        .into_response(),
        Err(r) => r.into_response(),
    }
}

/// Minute probe rows summed into hours, per probe.
fn probe_minutes_to_hours(rows: Vec<ProbeRow>) -> Vec<ProbeRow> {
    let mut by: BTreeMap<(String, Ts), ProbeRow> = BTreeMap::new();
    for r in rows {
        let h = hour_floor(r.ts);
        let e = by.entry((r.probe.clone(), h)).or_insert_with(|| ProbeRow {
            probe: r.probe.clone(),
            ts: h,
            ..ProbeRow::default()
        });
        e.sent = e.sent.saturating_add(r.sent);
        e.lost = e.lost.saturating_add(r.lost);
        e.minutes_with_data += u32::from(r.sent > 0);
        e.minutes_up += u32::from(r.sent > r.lost);
        e.histogram.merge(&r.histogram);
    }
    by.into_values().collect()
}

fn ms(us: Option<u32>) -> Value {
    us.map_or(Value::Null, |u| json!(f64::from(u) / 1000.0))
}

fn availability(with_data: u64, up: u64) -> Value {
    if with_data == 0 {
        Value::Null
    } else {
        json!(up as f64 * 100.0 / with_data as f64)
    }
}

/// `GET /api/v1/history/service?from=&to=`
pub async fn service(
    State(c): State<Collector>,
    q: Result<Query<RangeParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match q {
        Ok(Query(p)) => p,
        Err(e) => return bad(format!("bad query: {}", e.body_text())).into_response(),
    };
    if p.step.is_some() {
        return bad("`step` is not a parameter of the service figures (always hourly)")
            .into_response();
    }
    let (from, to) = match range(&p, 30 * 86_400, MAX_HOUR_RANGE) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let path = match store_path(&c) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let rows = with_store(path, move |s| {
        let rolled = s.rolled_until()?.unwrap_or(i64::MIN).clamp(from, to);
        let mut rows = if rolled > from {
            s.probe_hours(None, from, rolled)?
        } else {
            Vec::new()
        };
        if rolled < to {
            let mins = s.probe_minutes(None, hour_floor(rolled), to)?;
            rows.extend(
                probe_minutes_to_hours(mins)
                    .into_iter()
                    .filter(|r| r.ts >= from),
            );
        }
        Ok(rows)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let targets: BTreeMap<String, String> = c
        .probes()
        .iter()
        .map(|p| (p.name.clone(), p.target_text()))
        .collect();
    let sla = c.sla();
    let target_us = u32::try_from(sla.rtt.as_micros()).unwrap_or(u32::MAX);
    let mut probes: BTreeMap<String, ProbeTotal> = BTreeMap::new();
    for r in rows {
        let e = probes.entry(r.probe.clone()).or_default();
        e.hours.push(json!({
            "ts": r.ts,
            "sent": r.sent,
            "lost": r.lost,
            "minutes_with_data": r.minutes_with_data,
            "minutes_up": r.minutes_up,
            "availability_percent": availability(r.minutes_with_data.into(), r.minutes_up.into()),
            "rtt_median_ms": ms(r.histogram.quantile(0.5)),
            "rtt_p95_ms": ms(r.histogram.quantile(0.95)),
        }));
        e.sent = e.sent.saturating_add(r.sent);
        e.lost = e.lost.saturating_add(r.lost);
        e.with_data += u64::from(r.minutes_with_data);
        e.up += u64::from(r.minutes_up);
        e.hist.merge(&r.histogram);
    }
    let probes: Vec<Value> = probes
        .into_iter()
        .map(|(name, t)| {
            let ProbeTotal {
                hours,
                sent,
                lost,
                with_data,
                up,
                hist,
            } = t;
            let samples = hist.count();
            json!({
                "target": targets.get(&name),
                "probe": name,
                "sent": sent,
                "lost": lost,
                "loss_percent": if sent == 0 { Value::Null } else { json!(lost as f64 * 100.0 / sent as f64) },
                "minutes_with_data": with_data,
                "minutes_up": up,
                "availability_percent": availability(with_data, up),
                "rtt_median_ms": ms(hist.quantile(0.5)),
                "rtt_p95_ms": ms(hist.quantile(0.95)),
                "rtt_p99_ms": ms(hist.quantile(0.99)),
                "rtt_samples": samples,
                "rtt_over_target_percent": if samples == 0 { Value::Null } else {
                    json!(hist.count_above(target_us) as f64 * 100.0 / samples as f64)
                },
                "hours": hours,
            })
        })
        .collect();
    Json(json!({
        "from": from,
        "to": to,
        "sla": {
            "rtt_ms": sla.rtt.as_secs_f64() * 1000.0,
            "availability_percent": sla.availability_percent(),
        },
        "probes": probes,
    }))
    .into_response()
}
