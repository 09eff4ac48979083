//! History pages: a member's month of daily traffic with a server-rendered SVG chart, and
//! the public service figures per site probe.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::Value;

use super::{esc, failure, page, val};
use crate::access::Role;
use crate::data::enc;
use crate::history::{member_history, service_history, MonthParams};
use crate::state::AppState;

type Rejection = axum::extract::rejection::QueryRejection;

/// Chart size in SVG units.
const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD_L: f64 = 60.0;
const PAD_B: f64 = 24.0;

/// Bytes as text with a binary-free SI unit (B, kB, MB, GB, TB).
pub fn bytes_text(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut x = b as f64;
    let mut i = 0;
    while x >= 1000.0 && i + 1 < units.len() {
        x /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{x:.1} {}", units[i])
    }
}

/// An SVG chart of daily bytes in (area) and out (line): one point per day.
pub fn daily_chart(days: &[Value]) -> String {
    let n = days.len().max(1);
    let ins: Vec<u64> = days
        .iter()
        .map(|d| d["bytes_in"].as_u64().unwrap_or(0))
        .collect();
    let outs: Vec<u64> = days
        .iter()
        .map(|d| d["bytes_out"].as_u64().unwrap_or(0))
        .collect();
    let max = ins.iter().chain(&outs).copied().max().unwrap_or(0).max(1);
    let pw = W - PAD_L - 8.0;
    let ph = H - PAD_B - 8.0;
    let x = |i: usize| PAD_L + pw * (i as f64 + 0.5) / n as f64;
    let y = |v: u64| 8.0 + ph * (1.0 - v as f64 / max as f64);
    let pts = |vals: &[u64]| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let base = 8.0 + ph;
    let area = format!(
        "{:.1},{base:.1} {} {:.1},{base:.1}",
        x(0),
        pts(&ins),
        x(n - 1)
    );
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="daily traffic in and out" xmlns="http://www.w3.org/2000/svg">"#
    );
    s.push_str(&format!(
        r##"<line x1="{PAD_L}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" stroke="#888"/><line x1="{PAD_L}" y1="8" x2="{PAD_L}" y2="{base:.1}" stroke="#888"/>"##,
        W - 8.0
    ));
    s.push_str(&format!(
        r##"<text x="{:.1}" y="16" font-size="11" text-anchor="end">{}</text><text x="{:.1}" y="{base:.1}" font-size="11" text-anchor="end">0</text>"##,
        PAD_L - 4.0,
        esc(&bytes_text(max)),
        PAD_L - 4.0
    ));
    s.push_str(&format!(
        r##"<polygon class="in" points="{area}" fill="#4a90d9" fill-opacity="0.35" stroke="none"/><polyline class="in" points="{}" fill="none" stroke="#2a6fb9" stroke-width="1.5"/><polyline class="out" points="{}" fill="none" stroke="#d9822b" stroke-width="2"/>"##,
        pts(&ins),
        pts(&outs)
    ));
    for (i, d) in days.iter().enumerate() {
        if i % 5 == 0 || i + 1 == days.len() {
            let date = d["date"].as_str().unwrap_or_default();
            s.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                x(i),
                H - 6.0,
                esc(date.get(8..).unwrap_or(date))
            ));
        }
    }
    s.push_str("</svg>");
    s
}

fn month_nav(base: &str, month: &str) -> String {
    format!(
        r#"<form method="get" action="{base}"><label>Month <input name="month" value="{}" placeholder="YYYY-MM" size="8"></label> <button>Show</button></form>"#,
        esc(month)
    )
}

/// `GET /members/{name}/history?month=`: the member's daily traffic (own member or NOC).
pub async fn member(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(name): Path<String>,
    q: Result<Query<MonthParams>, Rejection>,
) -> Response {
    let p = match crate::api::query(q) {
        Ok(p) => p,
        Err(f) => return failure(&role, f),
    };
    let v = match member_history(&st, &role, &name, p.month.as_deref()).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let member = v["member"].as_str().unwrap_or_default();
    let month = v["month"].as_str().unwrap_or_default();
    let days = v["days"].as_array().cloned().unwrap_or_default();
    let mut b = format!(
        r#"<p>AS{} · <a href="/members/{}">member page</a> · month {} (UTC) · <a href="/api/v1/members/{}/history?month={}">JSON</a></p>"#,
        val(&v["asn"]),
        enc(member),
        esc(month),
        enc(member),
        enc(month)
    );
    b.push_str(&month_nav(
        &format!("/members/{}/history", enc(member)),
        month,
    ));
    b.push_str(&format!(
        "<p>Total in {} · out {}</p>",
        esc(&bytes_text(v["total"]["bytes_in"].as_u64().unwrap_or(0))),
        esc(&bytes_text(v["total"]["bytes_out"].as_u64().unwrap_or(0)))
    ));
    b.push_str(&monthly_table(&v["monthly"]));
    b.push_str(r#"<h2>Daily traffic</h2><p class="note">Blue area: bytes in (received by the member); orange line: bytes out.</p>"#);
    b.push_str(&daily_chart(&days));
    b.push_str(r#"<div class="scroll"><table><tr><th>Day</th><th>In</th><th>Out</th><th>IPv4 in/out</th><th>IPv6 in/out</th><th>Hours with data</th></tr>"#);
    for d in days
        .iter()
        .filter(|d| d["hours_with_data"].as_u64().unwrap_or(0) > 0)
    {
        let bt = |v: &Value| esc(&bytes_text(v.as_u64().unwrap_or(0)));
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{}</td></tr>",
            val(&d["date"]),
            bt(&d["bytes_in"]),
            bt(&d["bytes_out"]),
            bt(&d["ipv4"]["bytes_in"]),
            bt(&d["ipv4"]["bytes_out"]),
            bt(&d["ipv6"]["bytes_in"]),
            bt(&d["ipv6"]["bytes_out"]),
            val(&d["hours_with_data"]),
        ));
    }
    b.push_str("</table></div>");
    page(
        &role,
        StatusCode::OK,
        &format!("Traffic history of {member}"),
        &b,
    )
}

/// Bits per second as text (bit/s, kbit/s, Mbit/s, Gbit/s).
fn bps_text(v: &Value) -> String {
    let Some(mut x) = v.as_f64() else {
        return "–".to_owned();
    };
    let units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
    let mut i = 0;
    while x >= 1000.0 && i + 1 < units.len() {
        x /= 1000.0;
        i += 1;
    }
    format!("{x:.1} {}", units[i])
}

/// The member's monthly report figures against the targets.
fn monthly_table(m: &Value) -> String {
    let mut b = String::from(r#"<h2 id="monthly">Monthly figures</h2>"#);
    if let Some(e) = m["error"].as_str() {
        b.push_str(&format!(
            r#"<p class="note">Monthly figures unavailable: {}</p>"#,
            esc(e)
        ));
        return b;
    }
    b.push_str(&format!(
        r#"<p class="note">Month {} in {} (the service report's figures for this member).</p>"#,
        val(&m["month"]),
        val(&m["time_zone"])
    ));
    if let Some(n) = m["source_note"].as_str() {
        b.push_str(&format!(r#"<p class="note">{}</p>"#, esc(n)));
    }
    let status = |v: &Value| esc(v.as_str().unwrap_or("no_data"));
    b.push_str(r#"<div class="scroll"><table class="monthly"><tr><th>Figure</th><th>Value</th><th>Target</th><th>Status</th></tr>"#);
    b.push_str(&format!(
        "<tr><td>Port availability</td><td>{} % ({} of {} min unavailable)</td><td>≥ {} %</td><td>{}</td></tr>",
        num(&m["port"]["percent"], 3),
        val(&m["port"]["unavailable_minutes"]),
        val(&m["port"]["measured_minutes"]),
        num(&m["targets"]["availability_percent"], 2),
        status(&m["port"]["status"])
    ));
    b.push_str(&format!(
        "<tr><td>RTT median / p95</td><td>{} / {} ms</td><td>p95 &lt; {} ms</td><td>{}</td></tr>",
        num(&m["rtt"]["median_ms"], 3),
        num(&m["rtt"]["p95_ms"], 3),
        num(&m["targets"]["rtt_ms"], 1),
        status(&m["rtt_status"])
    ));
    b.push_str(&format!(
        "<tr><td>Loss</td><td>{} % ({} of {} test packets)</td><td></td><td></td></tr>",
        num(&m["loss"]["percent"], 3),
        val(&m["loss"]["lost"]),
        val(&m["loss"]["sent"])
    ));
    let t = &m["traffic"];
    b.push_str(&format!(
        "<tr><td>Traffic 95th percentile in / out</td><td>{} / {}</td><td></td><td></td></tr>\
         <tr><td>Traffic peak in / out</td><td>{} / {}</td><td></td><td></td></tr>",
        esc(&bps_text(&t["p95_in_bps"])),
        esc(&bps_text(&t["p95_out_bps"])),
        esc(&bps_text(&t["peak_in_bps"])),
        esc(&bps_text(&t["peak_out_bps"]))
    ));
    b.push_str("</table></div>");
    b
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

/// `GET /service?month=`: availability and RTT per site probe (public).
pub async fn service(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    q: Result<Query<MonthParams>, Rejection>,
) -> Response {
    let p = match crate::api::query(q) {
        Ok(p) => p,
        Err(f) => return failure(&role, f),
    };
    let v = match service_history(&st, &role, p.month.as_deref()).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let month = v["month"].as_str().unwrap_or_default();
    let target_avail = v["sla"]["availability_percent"].as_f64();
    let target_rtt = v["sla"]["rtt_ms"].as_f64();
    let mut b = format!(
        r#"<p>Month {} (UTC) · targets: availability ≥ {} %, RTT &lt; {} ms · <a href="/api/v1/service/history?month={}">JSON</a></p>"#,
        esc(month),
        num(&v["sla"]["availability_percent"], 2),
        num(&v["sla"]["rtt_ms"], 1),
        enc(month)
    );
    b.push_str(&month_nav("/service", month));
    b.push_str(r#"<div class="scroll"><table><tr><th>Site probe</th><th>Availability %</th><th>Loss %</th><th>RTT median ms</th><th>RTT p95 ms</th><th>Minutes measured</th></tr>"#);
    for p in v["probes"].as_array().into_iter().flatten() {
        let avail = p["availability_percent"].as_f64();
        let met_a = match (avail, target_avail) {
            (Some(a), Some(t)) if a >= t => "up",
            (Some(_), Some(_)) => "down",
            _ => "",
        };
        let met_r = match (p["rtt_median_ms"].as_f64(), target_rtt) {
            (Some(r), Some(t)) if r < t => "up",
            (Some(_), Some(_)) => "down",
            _ => "",
        };
        b.push_str(&format!(
            r#"<tr><td>{}</td><td class="{met_a}">{}</td><td>{}</td><td class="{met_r}">{}</td><td>{}</td><td>{}</td></tr>"#,
            val(&p["probe"]),
            num(&p["availability_percent"], 3),
            num(&p["loss_percent"], 3),
            num(&p["rtt_median_ms"], 2),
            num(&p["rtt_p95_ms"], 2),
            val(&p["minutes_with_data"]),
        ));
    }
    b.push_str("</table></div>");
    page(&role, StatusCode::OK, "Service figures", &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chart_scales_to_the_largest_day_and_labels_it() {
        let days = vec![
            json!({ "date": "2026-10-01", "bytes_in": 0, "bytes_out": 0 }),
            json!({ "date": "2026-10-02", "bytes_in": 2_000_000, "bytes_out": 1_000_000 }),
        ];
        let svg = daily_chart(&days);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("2.0 MB"), "{svg}");
        // The biggest value reaches the top of the plot area (y = 8), zero the base line.
        assert!(
            svg.contains(&format!("{:.1},8.0", PAD_L + (W - PAD_L - 8.0) * 0.75)),
            "{svg}"
        );
        assert!(
            svg.contains(&format!(
                "{:.1},{:.1}",
                PAD_L + (W - PAD_L - 8.0) * 0.25,
                H - PAD_B
            )),
            "{svg}"
        );
        assert_eq!(bytes_text(999), "999 B");
        assert_eq!(bytes_text(1_500_000_000), "1.5 GB");
    }
}
