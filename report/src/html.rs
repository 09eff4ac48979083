//! One self-contained HTML file: inline CSS, SVG charts drawn by plotters (SVG backend with
//! its built-in text layout, so no system fonts are needed), tables of every figure.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::model::{Availability, FaultKind, PathKind, Report};
use crate::ReportError;

/// Chart width and height, pixels.
pub const CHART_SIZE: (u32, u32) = (960, 320);

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn chart_err<E: std::fmt::Debug>(e: E) -> ReportError {
    ReportError::Chart(format!("{e:?}"))
}

/// A line chart of `series` (name, one value per day) with a dashed-red `target` line.
fn line_chart(
    title: &str,
    unit: &str,
    days: u32,
    series: &[(String, Vec<Option<f64>>)],
    target: Option<f64>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let top = series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .chain(target)
            .fold(0.0f64, f64::max);
        let top = if top > 0.0 { top * 1.15 } else { 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(60)
            .build_cartesian_2d(1u32..days.max(2), 0.0..top)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("day of month")
            .y_desc(unit)
            .draw()
            .map_err(chart_err)?;
        if let Some(t) = target {
            chart
                .draw_series(LineSeries::new(
                    [(1, t), (days.max(2), t)],
                    RED.stroke_width(2),
                ))
                .map_err(chart_err)?
                .label(format!("target {t}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
        }
        for (i, (name, values)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(u32, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(d, v)| v.map(|v| (d as u32 + 1, v)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
                .map_err(chart_err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(chart_err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.4} %"))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

fn rate(bps: f64) -> String {
    match bps {
        b if b >= 1e9 => format!("{:.2} Gbit/s", b / 1e9),
        b if b >= 1e6 => format!("{:.2} Mbit/s", b / 1e6),
        b => format!("{:.0} kbit/s", b / 1e3),
    }
}

fn avail_row(o: &mut String, name: &str, a: &Availability, target: f64) {
    let _ = writeln!(
        o,
        "<tr><td>{}</td><td>{}</td><td>{target} %</td><td class=\"s\">{}</td><td>{}</td><td>{}</td></tr>",
        esc(name),
        pct(a.percent),
        a.status.label(),
        a.unavailable_minutes,
        a.measured_minutes
    );
}

/// The report as one HTML document.
pub fn to_html(r: &Report) -> Result<String, ReportError> {
    let rtt_series: Vec<(String, Vec<Option<f64>>)> = r
        .paths
        .iter()
        .filter(|p| !matches!(p.path, PathKind::Other))
        .map(|p| {
            (
                format!("{} p95", p.probe),
                p.daily.iter().map(|d| d.rtt.p95_ms).collect(),
            )
        })
        .collect();
    let rtt_chart = line_chart(
        "RTT per day (95th percentile)",
        "ms",
        r.days,
        &rtt_series,
        Some(r.targets.rtt_ms),
    )?;
    let mut by_volume: Vec<&crate::model::MemberReport> = r.members.iter().collect();
    by_volume.sort_by_key(|m| std::cmp::Reverse(m.traffic.bytes_in + m.traffic.bytes_out));
    let traffic_series: Vec<(String, Vec<Option<f64>>)> = by_volume
        .iter()
        .take(PALETTE.len())
        .map(|m| {
            let v = m
                .traffic
                .daily
                .iter()
                .map(|d| Some((d[0] + d[1]) as f64 * 8.0 / 86_400.0 / 1e9))
                .collect();
            (m.name.clone(), v)
        })
        .collect();
    let traffic_chart = line_chart(
        "Traffic per day (in + out, daily average)",
        "Gbit/s",
        r.days,
        &traffic_series,
        None,
    )?;

    let mut o = String::with_capacity(64 * 1024);
    let title = format!("{} service report {}", r.exchange, r.month);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;margin:16px;color:#111;background:#fff}}\
         table{{border-collapse:collapse;margin:8px 0 20px}}td,th{{border:1px solid #999;padding:3px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}h1{{font-size:22px}}h2{{font-size:18px;margin-top:24px}}\
         .chart{{width:{w}px;height:{h}px;display:block}}.s{{font-weight:bold}}</style></head><body>\n\
         <h1>{t}</h1>\n<p>Time zone {tz}; {days} days, {min} minutes. Targets: availability {at} % (floor {af} %), RTT under {rt} ms (95th percentile).</p>\n",
        t = esc(&title),
        w = CHART_SIZE.0,
        h = CHART_SIZE.1,
        tz = esc(&r.time_zone),
        days = r.days,
        min = r.minutes,
        at = r.targets.availability_percent,
        af = r.targets.availability_floor_percent,
        rt = r.targets.rtt_ms,
    );
    if let Some(note) = &r.source.note {
        let _ = writeln!(o, "<p id=\"source\"><b>{}</b></p>", esc(note));
    }
    let _ = write!(o, "<div id=\"charts\"><div class=\"chart\" id=\"rtt-chart\">{rtt_chart}</div>\n<div class=\"chart\" id=\"traffic-chart\">{traffic_chart}</div></div>\n");
    let _ = writeln!(o, "<h2>Availability</h2><table><tr><th></th><th>availability</th><th>target</th><th>status</th><th>unavailable min</th><th>measured min</th></tr>");
    avail_row(
        &mut o,
        "service",
        &r.service,
        r.targets.availability_percent,
    );
    for s in &r.sites {
        avail_row(
            &mut o,
            &format!("site {} ({})", s.site, s.name),
            &s.availability,
            r.targets.availability_percent,
        );
    }
    for m in &r.members {
        avail_row(
            &mut o,
            &format!("port {} (AS{})", m.name, m.asn),
            &m.port,
            r.targets.availability_percent,
        );
    }
    o.push_str("</table>\n<h2>RTT and loss</h2><table><tr><th>path</th><th>median ms</th><th>p95 ms</th><th>p99 ms</th><th>over target</th><th>status</th><th>sent</th><th>lost</th><th>loss</th></tr>\n");
    for p in &r.paths {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"s\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.probe),
            ms(p.rtt.median_ms),
            ms(p.rtt.p95_ms),
            ms(p.rtt.p99_ms),
            pct(p.rtt.over_target_share.map(|s| s * 100.0)),
            p.status.label(),
            p.loss.sent,
            p.loss.lost,
            pct(p.loss.percent)
        );
    }
    o.push_str("</table>\n<h2>Faults</h2><table><tr><th>what</th><th>start</th><th>end</th><th>minutes</th><th>likely cause</th><th>members affected</th></tr>\n");
    for f in &r.faults {
        let what = match &f.what {
            FaultKind::Site { site } => format!("site {site} unreachable"),
            FaultKind::MemberPort { member } => format!("{member}: all sessions down"),
            FaultKind::Alert { id } => format!("alert {id}"),
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&what),
            esc(&f.start_local),
            esc(f.end_local.as_deref().unwrap_or("ongoing")),
            f.duration_minutes,
            esc(&f.cause),
            esc(&f.members.join(", "))
        );
    }
    o.push_str("</table>\n<h2>Traffic per member</h2><table><tr><th>member</th><th>in GB</th><th>out GB</th><th>p95 in</th><th>p95 out</th><th>peak in</th><th>peak out</th><th>accepted</th><th>filtered</th><th>RPKI valid / invalid / not found</th><th>session downs</th></tr>\n");
    for m in &r.members {
        let t = &m.traffic;
        let p = &m.prefixes;
        let _ = writeln!(
            o,
            "<tr><td>{} (AS{})</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{}</td></tr>",
            esc(&m.name), m.asn, t.bytes_in as f64 / 1e9, t.bytes_out as f64 / 1e9,
            rate(t.p95_in_bps), rate(t.p95_out_bps), rate(t.peak_in_bps), rate(t.peak_out_bps),
            p.accepted, p.filtered, p.rpki_valid, p.rpki_invalid, p.rpki_not_found, m.session_downs
        );
    }
    let rs = &r.route_servers;
    let _ = writeln!(
        o,
        "</table>\n<h2>Route servers</h2><p>{} sessions, {} session downs this month; prefixes received {}, accepted {}, filtered {}; RPKI valid {}, invalid {}, not found {}.</p>",
        rs.sessions, rs.session_downs, rs.prefixes.received, rs.prefixes.accepted, rs.prefixes.filtered,
        rs.prefixes.rpki_valid, rs.prefixes.rpki_invalid, rs.prefixes.rpki_not_found
    );
    if !rs.prefixes.filtered_by_reason.is_empty() {
        o.push_str("<table><tr><th>filter reason (RS:1101:N)</th><th>prefixes</th></tr>");
        for (k, v) in &rs.prefixes.filtered_by_reason {
            let _ = write!(o, "<tr><td>{k}</td><td>{v}</td></tr>");
        }
        o.push_str("</table>\n");
    }
    o.push_str("<h2>Top member pairs</h2><table><tr><th>from</th><th>to</th><th>GB</th></tr>\n");
    for p in &r.top_pairs {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td></tr>",
            esc(&p.from),
            esc(&p.to),
            p.bytes as f64 / 1e9
        );
    }
    o.push_str("</table>\n<h2>Peering-LAN hygiene violations per member</h2>");
    if r.hygiene.is_empty() {
        o.push_str("<p>No violations recorded this month.</p>\n");
    } else {
        o.push_str("<table id=\"hygiene\"><tr><th>member</th><th>rule</th><th>samples</th><th>frames (est.)</th><th>minutes (hours, from hourly data) with violations</th><th>first</th><th>last</th><th>last offending sample</th></tr>\n");
        for h in &r.hygiene {
            let asn = if h.asn == 0 {
                String::new()
            } else {
                format!(" (AS{})", h.asn)
            };
            let _ = writeln!(
                o,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&h.member), asn, esc(&h.rule), h.samples, h.frames, h.periods,
                esc(&h.first_local), esc(&h.last_local), esc(&h.last)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    Ok(o)
}
