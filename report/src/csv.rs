//! CSV: one figure per line, `section,subject,metric,value,target,status`.

use std::fmt::Write as _;

use crate::model::{Availability, Report};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

fn line(
    out: &mut String,
    section: &str,
    subject: &str,
    metric: &str,
    value: &str,
    target: &str,
    status: &str,
) {
    let _ = writeln!(
        out,
        "{},{},{},{},{},{}",
        field(section),
        field(subject),
        field(metric),
        field(value),
        field(target),
        field(status)
    );
}

fn availability(out: &mut String, r: &Report, section: &str, subject: &str, a: &Availability) {
    let target = format!("{}", r.targets.availability_percent);
    line(
        out,
        section,
        subject,
        "availability_percent",
        &opt(a.percent),
        &target,
        a.status.label(),
    );
    line(
        out,
        section,
        subject,
        "unavailable_minutes",
        &a.unavailable_minutes.to_string(),
        "",
        "",
    );
    line(
        out,
        section,
        subject,
        "measured_minutes",
        &a.measured_minutes.to_string(),
        "",
        "",
    );
}

/// The report as CSV.
pub fn to_csv(r: &Report) -> String {
    let mut o = String::from("section,subject,metric,value,target,status\n");
    availability(&mut o, r, "service", &r.exchange, &r.service);
    for s in &r.sites {
        availability(&mut o, r, "site", &s.site, &s.availability);
    }
    let rtt_target = format!("{}", r.targets.rtt_ms);
    for p in &r.paths {
        line(
            &mut o,
            "rtt",
            &p.probe,
            "median_ms",
            &opt(p.rtt.median_ms),
            "",
            "",
        );
        line(
            &mut o,
            "rtt",
            &p.probe,
            "p95_ms",
            &opt(p.rtt.p95_ms),
            &rtt_target,
            p.status.label(),
        );
        line(
            &mut o,
            "rtt",
            &p.probe,
            "p99_ms",
            &opt(p.rtt.p99_ms),
            "",
            "",
        );
        line(
            &mut o,
            "rtt",
            &p.probe,
            "over_target_share",
            &opt(p.rtt.over_target_share),
            "",
            "",
        );
        line(
            &mut o,
            "loss",
            &p.probe,
            "loss_percent",
            &opt(p.loss.percent),
            "",
            "",
        );
    }
    for m in &r.members {
        availability(&mut o, r, "member_port", &m.name, &m.port);
        let t = &m.traffic;
        line(
            &mut o,
            "traffic",
            &m.name,
            "bytes_in",
            &t.bytes_in.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "traffic",
            &m.name,
            "bytes_out",
            &t.bytes_out.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "traffic",
            &m.name,
            "p95_in_bps",
            &t.p95_in_bps.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "traffic",
            &m.name,
            "p95_out_bps",
            &t.p95_out_bps.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "traffic",
            &m.name,
            "peak_in_bps",
            &t.peak_in_bps.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "traffic",
            &m.name,
            "peak_out_bps",
            &t.peak_out_bps.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "prefixes",
            &m.name,
            "accepted",
            &m.prefixes.accepted.to_string(),
            "",
            "",
        );
        line(
            &mut o,
            "prefixes",
            &m.name,
            "filtered",
            &m.prefixes.filtered.to_string(),
            "",
            "",
        );
    }
    for f in &r.faults {
        let subject = match &f.what {
            crate::model::FaultKind::Site { site } => format!("site {site}"),
            crate::model::FaultKind::MemberPort { member } => format!("member {member}"),
            crate::model::FaultKind::Alert { id } => format!("alert {id}"),
        };
        let value = format!(
            "{} - {} ({} min): {} [{}]",
            f.start_local,
            f.end_local.as_deref().unwrap_or("ongoing"),
            f.duration_minutes,
            f.cause,
            f.members.join(" ")
        );
        line(&mut o, "fault", &subject, "fault", &value, "", "");
    }
    for h in &r.hygiene {
        let subject = format!("{} {}", h.member, h.rule);
        for (metric, value) in [
            ("samples", h.samples.to_string()),
            ("frames", h.frames.to_string()),
            ("periods", h.periods.to_string()),
            ("last", h.last_local.clone()),
        ] {
            line(&mut o, "hygiene", &subject, metric, &value, "", "");
        }
    }
    if let Some(note) = &r.source.note {
        line(&mut o, "source", &r.month, "note", note, "", "");
    }
    for p in &r.top_pairs {
        line(
            &mut o,
            "pair",
            &format!("{} -> {}", p.from, p.to),
            "bytes",
            &p.bytes.to_string(),
            "",
            "",
        );
    }
    o
}
