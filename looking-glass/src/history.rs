//! History views, read from the collector's history API (never from the store directly):
//! a member's daily traffic over a month (the member itself and the NOC only) with its
//! monthly report figures (computed by the collector with `fox-report`: port availability,
//! RTT and loss to its routers, traffic 95th percentile and peak, against the targets), and
//! the exchange's service figures per site probe (public). Months are UTC calendar months
//! for the daily traffic; the monthly report figures are cut in the exchange's time zone.
//!
//! - `GET /api/v1/members/{name}/history?month=YYYY-MM`
//! - `GET /api/v1/service/history?month=YYYY-MM`

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::Role;
use crate::data::clip;
use crate::source::SourceError;
use crate::state::{AppState, Failure};

/// Query of the history views.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthParams {
    /// `YYYY-MM` (UTC); default the current month.
    pub month: Option<String>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `YYYY-MM-DD` of a unix time.
pub fn date_of(ts: i64) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The month `YYYY-MM` (or the current one) as `(label, from, to)` in unix seconds, UTC.
pub fn month_range(month: Option<&str>, now: i64) -> Result<(String, i64, i64), Failure> {
    let (y, m) = match month.filter(|s| !s.is_empty()) {
        None => {
            let (y, m, _) = civil_from_days(now.div_euclid(86_400));
            (y, m)
        }
        Some(s) => {
            let bad = || Failure::bad(format!("`month` must be YYYY-MM, not `{}`", clip(s)));
            let (ys, ms) = s.split_once('-').ok_or_else(bad)?;
            if ys.len() != 4 || ms.len() != 2 {
                return Err(bad());
            }
            let y: i64 = ys.parse().map_err(|_| bad())?;
            let m: i64 = ms.parse().map_err(|_| bad())?;
            if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
                return Err(bad());
            }
            (y, m)
        }
    };
    let from = days_from_civil(y, m, 1) * 86_400;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let to = days_from_civil(ny, nm, 1) * 86_400;
    Ok((format!("{y:04}-{m:02}"), from, to))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// `path` from the first collector that answers; the last error otherwise.
async fn from_collectors(st: &AppState, path: &str) -> Result<(String, Value), Failure> {
    let mut last: Option<SourceError> = None;
    for c in &st.sources.collectors {
        match st.sources.get(c, path).await {
            Ok(v) => return Ok((c.name.clone(), (*v).clone())),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Failure::source(&e),
        None => Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "no collector is configured, so there is no history".into(),
        },
    })
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// A member's daily traffic in `month`: for the member itself and the NOC only.
pub async fn member_history(
    st: &AppState,
    role: &Role,
    name: &str,
    month: Option<&str>,
) -> Result<Value, Failure> {
    let Some(m) = st.member(name) else {
        return Err(Failure::not_found(format!(
            "no member called `{}`",
            clip(name)
        )));
    };
    if *role == Role::Public {
        return Err(Failure::login());
    }
    if !role.may_see(&m.name) {
        return Err(Failure::forbidden(format!(
            "you are logged in as {} and may only see your own member history",
            role.label()
        )));
    }
    let (label, from, to) = month_range(month, now())?;
    let (collector, v) = from_collectors(
        st,
        &format!(
            "/api/v1/history/member/{}?from={from}&to={to}&step=hour",
            m.asn
        ),
    )
    .await?;
    let ndays = usize::try_from((to - from) / 86_400).unwrap_or(0);
    let mut days: Vec<[u64; 7]> = vec![[0; 7]; ndays];
    let mut peak: Option<(i64, u64, u64)> = None;
    for p in v["points"].as_array().into_iter().flatten() {
        let ts = p["ts"].as_i64().unwrap_or(i64::MIN);
        let Some(day) = usize::try_from((ts - from).div_euclid(86_400))
            .ok()
            .and_then(|i| days.get_mut(i))
        else {
            continue;
        };
        let vals = [
            u(&p["bytes_in"]),
            u(&p["bytes_out"]),
            u(&p["ipv4"]["bytes_in"]),
            u(&p["ipv4"]["bytes_out"]),
            u(&p["ipv6"]["bytes_in"]),
            u(&p["ipv6"]["bytes_out"]),
            1,
        ];
        for (d, x) in day.iter_mut().zip(vals) {
            *d = d.saturating_add(x);
        }
        if peak.is_none_or(|(_, i, o)| vals[0].max(vals[1]) > i.max(o)) {
            peak = Some((ts, vals[0], vals[1]));
        }
    }
    let monthly = monthly_figures(st, m.asn, &label).await;
    let total_in: u64 = days.iter().map(|d| d[0]).fold(0, u64::saturating_add);
    let total_out: u64 = days.iter().map(|d| d[1]).fold(0, u64::saturating_add);
    let days: Vec<Value> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "date": date_of(from + i64::try_from(i).unwrap_or(0) * 86_400),
                "bytes_in": d[0], "bytes_out": d[1],
                "ipv4": { "bytes_in": d[2], "bytes_out": d[3] },
                "ipv6": { "bytes_in": d[4], "bytes_out": d[5] },
                "hours_with_data": d[6],
            })
        })
        .collect();
    Ok(json!({
        "member": m.name,
        "asn": m.asn,
        "month": label,
        "time_zone": "UTC",
        "from": from,
        "to": to,
        "collector": collector,
        "total": { "bytes_in": total_in, "bytes_out": total_out },
        "peak_hour": peak.map(|(ts, i, o)| json!({ "ts": ts, "bytes_in": i, "bytes_out": o })),
        "days": days,
        "monthly": monthly,
    }))
}

/// The member's monthly report figures from the collector (`/api/v1/history/report/member`),
/// reduced to the member's own numbers; `{"error": ...}` when no collector can give them.
/// Called only after the caller's right to see this member was checked.
async fn monthly_figures(st: &AppState, asn: u32, month: &str) -> Value {
    let path = format!("/api/v1/history/report/member/{asn}?month={month}");
    let v = match from_collectors(st, &path).await {
        Ok((_, v)) => v,
        Err(f) => return json!({ "error": f.message }),
    };
    if v["asn"].as_u64() != Some(u64::from(asn)) {
        return json!({ "error": "the collector answered for another member" });
    }
    let pick = |o: &Value, keys: &[&str]| -> Value {
        Value::Object(
            keys.iter()
                .map(|k| ((*k).to_owned(), o[*k].clone()))
                .collect(),
        )
    };
    json!({
        "month": v["month"],
        "time_zone": v["time_zone"],
        "targets": v["targets"],
        "port": pick(&v["port"], &["percent", "status", "unavailable_minutes", "measured_minutes"]),
        "rtt": if v["rtt"].is_null() { Value::Null } else {
            pick(&v["rtt"], &["samples", "median_ms", "p95_ms", "p99_ms", "over_target_share"])
        },
        "rtt_status": v["rtt_status"],
        "loss": v["loss"],
        "traffic": pick(&v["traffic"], &[
            "bytes_in", "bytes_out", "p95_in_bps", "p95_out_bps", "peak_in_bps", "peak_out_bps",
        ]),
        "session_downs": v["session_downs"],
        "source_note": v["source"]["note"],
    })
}

/// Service figures per site probe in `month`. Probes aimed at a member's router are left
/// out unless the caller is the NOC (they are that member's figures, not the service's).
pub async fn service_history(
    st: &AppState,
    role: &Role,
    month: Option<&str>,
) -> Result<Value, Failure> {
    let (label, from, to) = month_range(month, now())?;
    let (collector, v) =
        from_collectors(st, &format!("/api/v1/history/service?from={from}&to={to}")).await?;
    let member_ip = |t: &Value| {
        let t = t.as_str().unwrap_or_default();
        let ip = t
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| t.parse::<std::net::IpAddr>());
        ip.is_ok_and(|ip| st.members.iter().any(|m| m.addresses.contains(&ip)))
    };
    let probes: Vec<Value> = v["probes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| *role == Role::Noc || !member_ip(&p["target"]))
        .map(|p| {
            json!({
                "probe": p["probe"],
                "availability_percent": p["availability_percent"],
                "minutes_with_data": p["minutes_with_data"],
                "minutes_up": p["minutes_up"],
                "loss_percent": p["loss_percent"],
                "rtt_median_ms": p["rtt_median_ms"],
                "rtt_p95_ms": p["rtt_p95_ms"],
                "rtt_p99_ms": p["rtt_p99_ms"],
                "rtt_over_target_percent": p["rtt_over_target_percent"],
            })
        })
        .collect();
    Ok(json!({
        "month": label,
        "time_zone": "UTC",
        "from": from,
        "to": to,
        "collector": collector,
        "sla": v["sla"],
        "probes": probes,
    }))
}

/// `GET /api/v1/members/{name}/history?month=`
pub async fn api_member_history(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(name): Path<String>,
    q: Result<Query<MonthParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Failure> {
    let p = crate::api::query(q)?;
    member_history(&st, &role, &name, p.month.as_deref())
        .await
        .map(Json)
}

/// `GET /api/v1/service/history?month=`
pub async fn api_service_history(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    q: Result<Query<MonthParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Failure> {
    let p = crate::api::query(q)?;
    service_history(&st, &role, p.month.as_deref())
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_dates_are_utc_calendar_months() {
        let (l, f, t) = month_range(Some("2026-10"), 0).expect("month");
        assert_eq!(l, "2026-10");
        assert_eq!(f, 1_790_812_800); // 2026-10-01T00:00:00Z
        assert_eq!((t - f) / 86_400, 31);
        assert_eq!(date_of(t), "2026-11-01");
        let (_, f, t) = month_range(Some("2024-02"), 0).expect("leap");
        assert_eq!((t - f) / 86_400, 29);
        let (_, f, t) = month_range(Some("2025-12"), 0).expect("december");
        assert_eq!(date_of(f), "2025-12-01");
        assert_eq!(date_of(t), "2026-01-01");
        assert_eq!(
            month_range(None, 1_790_812_800 + 5).expect("now").0,
            "2026-10"
        );
        for bad in ["2026-13", "2026-1", "26-10", "x", "2026-00", "2026-10-01"] {
            assert_eq!(
                month_range(Some(bad), 0).map(|_| ()).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }
}
