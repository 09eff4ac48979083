//! A member's monthly report figures, computed by `fox-report` (the same code as `fox
//! report --member`) over the history store opened read-only, for the looking glass's
//! member view:
//!
//! - `GET /api/v1/history/report/member/{asn}?month=YYYY-MM`: the month in the exchange's
//!   time zone (`history.time_zone`): availability of the member's port against the target,
//!   RTT median/p95/p99 to its routers against the RTT target, loss, traffic in/out with
//!   95th percentile and peak, session downs, its faults, and whether the month was built
//!   from hourly data.
//!
//! The collector serves every member; the looking glass decides who may see which.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fox_report::model::Targets;
use fox_report::{build, Layout, Options, Period, ReportError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_history::{store_path, with_store, ApiError};
use crate::server::Collector;

/// What the report needs from the exchange's YAML file.
#[derive(Clone, Debug)]
pub struct ReportContext {
    /// Sites and members.
    pub layout: Layout,
    /// IANA time zone months are cut in.
    pub time_zone: String,
    /// Availability and RTT targets.
    pub targets: Targets,
}

impl ReportContext {
    /// From the configuration, as `fox report` reads it.
    pub fn from_config(cfg: &fox_config::Config) -> Self {
        ReportContext {
            layout: Layout::from_config(cfg),
            time_zone: cfg.history.time_zone.clone(),
            targets: fox_report::cli::targets(cfg),
        }
    }
}

/// Query of the monthly endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`, in the exchange's time zone.
    pub month: Option<String>,
}

fn fail(status: StatusCode, msg: impl Into<String>) -> Response {
    ApiError(status, msg.into()).into_response()
}

/// `GET /api/v1/history/report/member/{asn}?month=YYYY-MM`
pub async fn member_month(
    State(c): State<Collector>,
    Path(member): Path<String>,
    q: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("bad query: {}", e.body_text()),
            )
        }
    };
    let Some(ctx) = c.report_context() else {
        return fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "no exchange layout for reports",
        );
    };
    let Some(asn) = member
        .strip_prefix("AS")
        .unwrap_or(&member)
        .parse::<u32>()
        .ok()
    else {
        return fail(StatusCode::BAD_REQUEST, format!("`{member}` is not an ASN"));
    };
    let Some(m) = ctx.layout.members.iter().find(|m| m.asn == asn) else {
        return fail(StatusCode::NOT_FOUND, format!("no member AS{asn}"));
    };
    let Some(month) = q.month.filter(|m| !m.is_empty()) else {
        return fail(StatusCode::BAD_REQUEST, "`month` (YYYY-MM) is required");
    };
    let period = match Period::parse(&month, &ctx.time_zone) {
        Ok(p) => p,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let path = match store_path(&c) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let opts = Options {
        period,
        site: None,
        member: Some(m.name.clone()),
        targets: ctx.targets.clone(),
    };
    let layout = ctx.layout.clone();
    let r = with_store(path, move |store| {
        Ok(match build(store, &layout, &opts) {
            Ok(r) => Ok(r),
            Err(ReportError::History(e)) => return Err(e),
            Err(e) => Err(e.to_string()),
        })
    })
    .await;
    let report = match r {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => return e.into_response(),
    };
    let Some(mr) = report.members.first() else {
        return fail(StatusCode::NOT_FOUND, format!("no member AS{asn}"));
    };
    Json(member_json(&report, mr)).into_response()
}

fn member_json(r: &fox_report::Report, m: &fox_report::model::MemberReport) -> Value {
    let t = &m.traffic;
    json!({
        "member": m.name,
        "asn": m.asn,
        "month": r.month,
        "time_zone": r.time_zone,
        "from": r.from,
        "to": r.to,
        "targets": r.targets,
        "port": m.port,
        "rtt": m.rtt,
        "rtt_status": m.rtt_status,
        "loss": m.loss,
        "traffic": {
            "bytes_in": t.bytes_in,
            "bytes_out": t.bytes_out,
            "p95_in_bps": t.p95_in_bps,
            "p95_out_bps": t.p95_out_bps,
            "peak_in_bps": t.peak_in_bps,
            "peak_out_bps": t.peak_out_bps,
        },
        "session_downs": m.session_downs,
        "faults": r.faults,
        "source": r.source,
    })
}
