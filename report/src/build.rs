//! Reads the month from the history store and computes the report.

use std::collections::{BTreeMap, HashMap};

use fox_history::{AlertEvent, HistoryStore, ProbeRow, RttHistogram, SessionEvent};

use crate::avail::{self, Minute};
use crate::figures::{path_figures, rtt_stats, rtt_status, traffic_figures};
use crate::hygiene::hygiene_figures;
use crate::layout::Layout;
use crate::model::*;
use crate::period::Period;
use crate::ReportError;

/// How far back session events are read to know each session's state when the month starts.
const SESSION_LOOKBACK: i64 = 400 * 86_400;
/// An alert within this many seconds of a fault is taken as its likely cause.
const CORRELATION_SLACK: i64 = 300;
/// Member pairs listed.
const TOP_PAIRS: usize = 10;

/// What to report on.
#[derive(Clone, Debug)]
pub struct Options {
    /// The month and its time zone.
    pub period: Period,
    /// Only this site (`--site`).
    pub site: Option<String>,
    /// Only this member (`--member`, name or ASN).
    pub member: Option<String>,
    /// Targets.
    pub targets: Targets,
}

fn alert_cause(alerts: &[AlertEvent], start: i64, end: i64) -> Option<String> {
    alerts
        .iter()
        .find(|a| {
            let a_end = a.resolved.unwrap_or(i64::MAX);
            a.raised < end + CORRELATION_SLACK && a_end > start - CORRELATION_SLACK
        })
        .map(|a| a.cause.clone())
}

/// Start of the part of `[from, to)` that has minute data: before it, minute rows were
/// deleted by retention and the hourly rollups are read instead (the hour holding the cut is
/// read from its rollup, which has all its minutes).
fn hourly_until(store: &HistoryStore, from: i64, to: i64) -> Result<i64, ReportError> {
    Ok(match store.minutes_from()? {
        Some(cut) => (cut + 3599)
            .div_euclid(3600)
            .saturating_mul(3600)
            .clamp(from, to),
        None => from,
    })
}

fn source(p: &Period, split: i64) -> DataSource {
    if split <= p.from() {
        return DataSource::default();
    }
    let whole = split >= p.to();
    let part = if whole {
        "This month is built from hourly data".to_owned()
    } else {
        format!(
            "The month up to {} is built from hourly data",
            p.local(split)
        )
    };
    DataSource {
        hourly_until: Some(split),
        note: Some(format!(
            "{part}: minute data is kept 35 days. Availability counts are exact per probe, \
             an outage within one hour is shown from the start of that hour, and probes of \
             one site are merged as if their outages coincided; RTT quantiles, loss and byte totals are as from minute \
             data; the 95th percentile uses hourly averages and the peak is an upper bound."
        )),
    }
}

fn fault(
    p: &Period,
    what: FaultKind,
    run: (usize, usize),
    cause: String,
    members: Vec<String>,
) -> Fault {
    let start = p.from() + 60 * run.0 as i64;
    let end = (run.1 < p.minutes() as usize).then(|| p.from() + 60 * run.1 as i64);
    Fault {
        what,
        start,
        end,
        start_local: p.local(start),
        end_local: end.map(|e| p.local(e)),
        duration_minutes: (run.1 - run.0) as u32,
        cause,
        members,
    }
}

/// Computes the report of `opts.period` from `store`.
pub fn build(store: &HistoryStore, layout: &Layout, opts: &Options) -> Result<Report, ReportError> {
    let p = &opts.period;
    let t = &opts.targets;
    let (from, to) = (p.from(), p.to());
    let n = p.minutes() as usize;
    let target_us = (t.rtt_ms * 1000.0).round() as u32;
    let member_filter = match &opts.member {
        None => None,
        Some(m) => Some(
            layout
                .members
                .iter()
                .find(|x| &x.name == m || x.asn.to_string() == *m || format!("AS{}", x.asn) == *m)
                .ok_or_else(|| ReportError::UnknownMember(m.clone()))?
                .clone(),
        ),
    };
    if let Some(s) = &opts.site {
        if !layout.sites.iter().any(|(id, _)| id == s) {
            return Err(ReportError::UnknownSite(s.clone()));
        }
    }

    // Where minute data is gone (retention), the hourly rollups stand in.
    let split = hourly_until(store, from, to)?;
    let mut probes = store.probe_hours(None, from, split)?;
    probes.extend(store.probe_minutes(None, split, to)?);
    let mut by_probe: BTreeMap<&str, Vec<&ProbeRow>> = BTreeMap::new();
    for r in &probes {
        by_probe.entry(r.probe.as_str()).or_default().push(r);
    }
    let alerts = store.alert_events(from - CORRELATION_SLACK, to)?;
    let mut used_alerts: Vec<bool> = vec![false; alerts.len()];
    let mut mark = |start: i64, end: i64| {
        for (i, a) in alerts.iter().enumerate() {
            let a_end = a.resolved.unwrap_or(i64::MAX);
            if a.raised < end + CORRELATION_SLACK && a_end > start - CORRELATION_SLACK {
                used_alerts[i] = true;
            }
        }
    };
    let mut faults = Vec::new();

    // Sites and the service.
    let mut site_minutes = Vec::new();
    let mut sites = Vec::new();
    for (id, name) in &layout.sites {
        let rows: Vec<&ProbeRow> = by_probe
            .iter()
            .filter(|(name, _)| matches!(layout.path_of(name), PathKind::SitePair { to, .. } if &to == id))
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        let m = avail::site_minutes(p, &rows, split);
        for run in avail::down_runs(&m) {
            let (s, e) = (from + 60 * run.0 as i64, from + 60 * run.1 as i64);
            let cause = alert_cause(&alerts, s, e)
                .unwrap_or_else(|| "every probe to the site lost all packets".into());
            mark(s, e);
            let members = layout
                .members
                .iter()
                .filter(|x| x.sites.contains(id))
                .map(|x| x.name.clone())
                .collect();
            faults.push(fault(
                p,
                FaultKind::Site { site: id.clone() },
                run,
                cause,
                members,
            ));
        }
        sites.push(SiteReport {
            site: id.clone(),
            name: name.clone(),
            availability: avail::availability(&m, t),
        });
        site_minutes.push(m);
    }
    let service = avail::availability(&avail::service_minutes(&site_minutes, n), t);

    // Paths.
    let mut member_hist: HashMap<&str, RttHistogram> = HashMap::new();
    let mut member_loss: HashMap<&str, Loss> = HashMap::new();
    let mut paths = Vec::new();
    for (name, rows) in &by_probe {
        let (h, daily, loss) = path_figures(p, rows, target_us, t.rtt_ms);
        let path = layout.path_of(name);
        if let PathKind::Member { member, .. } = &path {
            if let Some(m) = layout.members.iter().find(|x| &x.name == member) {
                member_hist.entry(m.name.as_str()).or_default().merge(&h);
                let l = member_loss.entry(m.name.as_str()).or_default();
                l.sent += loss.sent;
                l.lost += loss.lost;
            }
        }
        let rtt = rtt_stats(&h, target_us);
        paths.push(PathReport {
            probe: (*name).to_owned(),
            status: rtt_status(&rtt, t.rtt_ms),
            path,
            rtt,
            loss,
            daily,
        });
    }

    // Members: ports, traffic, prefixes.
    let events = store.session_events(None, from - SESSION_LOOKBACK, to)?;
    let mut by_member: HashMap<u32, Vec<&SessionEvent>> = HashMap::new();
    for e in &events {
        by_member.entry(e.asn).or_default().push(e);
    }
    let traffic = traffic_figures(
        p,
        &store.traffic_minutes(None, split, to)?,
        &store.traffic_hours(None, from, split)?,
    );
    let mut last_prefix: BTreeMap<(String, u32), fox_history::PrefixRow> = BTreeMap::new();
    for r in store.prefix_hours(None, from, to)? {
        let k = (r.rs.clone(), r.asn);
        if last_prefix.get(&k).is_none_or(|o| o.ts <= r.ts) {
            last_prefix.insert(k, r);
        }
    }
    let mut rs = RouteServerSummary::default();
    let mut members = Vec::new();
    for m in &layout.members {
        let mut evs = by_member.remove(&m.asn).unwrap_or_default();
        evs.sort_by_key(|e| e.ts);
        let downs = evs.iter().filter(|e| !e.up && e.ts >= from).count() as u32;
        let mut keys: Vec<(&str, &str)> = evs
            .iter()
            .map(|e| (e.rs.as_str(), e.neighbor.as_str()))
            .collect();
        keys.sort();
        keys.dedup();
        rs.sessions += keys.len() as u32;
        rs.session_downs += downs;
        let port = match avail::port_minutes(p, &evs) {
            Some(minutes) => {
                for run in avail::down_runs(&minutes) {
                    let (s, e) = (from + 60 * run.0 as i64, from + 60 * run.1 as i64);
                    let mut reasons: Vec<&str> = evs
                        .iter()
                        .filter(|x| !x.up && x.ts <= s)
                        .map(|x| x.reason.as_str())
                        .collect();
                    reasons.dedup();
                    let session_reason = reasons.last().map(|r| (*r).to_owned());
                    let cause = match (alert_cause(&alerts, s, e), session_reason) {
                        (Some(a), Some(r)) => format!("{a} (session: {r})"),
                        (Some(a), None) => a,
                        (None, Some(r)) => format!("every route server session down: {r}"),
                        (None, None) => "every route server session down".into(),
                    };
                    mark(s, e);
                    faults.push(fault(
                        p,
                        FaultKind::MemberPort {
                            member: m.name.clone(),
                        },
                        run,
                        cause,
                        vec![m.name.clone()],
                    ));
                }
                avail::availability(&minutes, t)
            }
            None => avail::availability(&vec![Minute::Unmeasured; n], t),
        };
        let mut prefixes = PrefixFigures::default();
        for ((_, asn), r) in &last_prefix {
            if *asn != m.asn {
                continue;
            }
            let c = &r.counts;
            for (dst, v) in [
                (&mut prefixes.received, c.received),
                (&mut prefixes.accepted, c.accepted),
                (&mut prefixes.filtered, c.filtered),
                (&mut prefixes.rpki_valid, c.rpki_valid),
                (&mut prefixes.rpki_invalid, c.rpki_invalid),
                (&mut prefixes.rpki_not_found, c.rpki_not_found),
            ] {
                *dst += v;
            }
            for (k, v) in &c.filtered_by_reason {
                *prefixes.filtered_by_reason.entry(*k).or_default() += v;
            }
        }
        let total = &mut rs.prefixes;
        total.received += prefixes.received;
        total.accepted += prefixes.accepted;
        total.filtered += prefixes.filtered;
        total.rpki_valid += prefixes.rpki_valid;
        total.rpki_invalid += prefixes.rpki_invalid;
        total.rpki_not_found += prefixes.rpki_not_found;
        for (k, v) in &prefixes.filtered_by_reason {
            *total.filtered_by_reason.entry(*k).or_default() += v;
        }
        let member_rtt = member_hist
            .get(m.name.as_str())
            .map(|h| rtt_stats(h, target_us));
        members.push(MemberReport {
            name: m.name.clone(),
            asn: m.asn,
            port,
            rtt: member_rtt.clone(),
            rtt_status: member_rtt
                .as_ref()
                .map_or(Status::NoData, |r| rtt_status(r, t.rtt_ms)),
            loss: member_loss.get(m.name.as_str()).map(|l| Loss {
                percent: (l.sent > 0).then(|| l.lost as f64 / l.sent as f64 * 100.0),
                ..l.clone()
            }),
            traffic: traffic
                .get(&m.asn)
                .cloned()
                .unwrap_or_else(|| TrafficFigures {
                    daily: vec![[0, 0]; p.days() as usize],
                    ..TrafficFigures::default()
                }),
            prefixes,
            session_downs: downs,
        });
    }

    // Alerts not explaining any outage above are faults of their own.
    for (a, used) in alerts.iter().zip(&used_alerts) {
        if *used || a.raised >= to {
            continue;
        }
        let s = a.raised.max(from);
        let e = a.resolved.unwrap_or(to).min(to);
        let first = ((s - from) / 60) as usize;
        let last = ((e - from + 59) / 60) as usize;
        let mut f = fault(
            p,
            FaultKind::Alert { id: a.id.clone() },
            (first, last.max(first)),
            a.cause.clone(),
            Vec::new(),
        );
        f.start = a.raised;
        f.start_local = p.local(a.raised);
        f.end = a.resolved;
        f.end_local = a.resolved.map(|r| p.local(r));
        faults.push(f);
    }
    faults.sort_by_key(|f| f.start);

    // Top pairs: hourly matrix, or the 5-minute one before the rollup ran.
    let mut pairs = store.top_pairs(from, to, TOP_PAIRS)?;
    if pairs.is_empty() {
        let mut sum: HashMap<(u32, u32), u64> = HashMap::new();
        for r in store.matrix_5min(None, from, to)? {
            *sum.entry((r.src_asn, r.dst_asn)).or_default() += r.bytes;
        }
        let mut v: Vec<_> = sum.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(TOP_PAIRS);
        pairs = v
            .into_iter()
            .map(|((s, d), b)| fox_history::PairTotal {
                src_asn: s,
                dst_asn: d,
                bytes: b,
                packets: 0,
            })
            .collect();
    }
    let mut top_pairs: Vec<PairReport> = pairs
        .iter()
        .map(|x| PairReport {
            from: layout.name_of(x.src_asn),
            to: layout.name_of(x.dst_asn),
            bytes: x.bytes,
        })
        .collect();

    let mut hygiene_rows = store.hygiene_hours(None, from, split)?;
    hygiene_rows.extend(store.hygiene_minutes(None, split, to)?);
    let mut hygiene = hygiene_figures(p, layout, &hygiene_rows);

    // Filters.
    if let Some(s) = &opts.site {
        sites.retain(|x| &x.site == s);
        paths.retain(|x| match &x.path {
            PathKind::SitePair { from, to } => from == s || to == s,
            PathKind::Member { from, .. } => from == s,
            PathKind::Other => false,
        });
        let at: Vec<&str> = layout
            .members
            .iter()
            .filter(|m| m.sites.contains(s))
            .map(|m| m.name.as_str())
            .collect();
        members.retain(|m| at.contains(&m.name.as_str()));
        hygiene.retain(|h| at.contains(&h.member.as_str()));
        faults.retain(|f| match &f.what {
            FaultKind::Site { site } => site == s,
            FaultKind::MemberPort { member } => at.contains(&member.as_str()),
            FaultKind::Alert { .. } => true,
        });
    }
    if let Some(m) = &member_filter {
        members.retain(|x| x.asn == m.asn);
        hygiene.retain(|x| x.asn == m.asn);
        paths.retain(|x| matches!(&x.path, PathKind::Member { member, .. } if member == &m.name));
        faults.retain(|f| f.members.contains(&m.name));
        top_pairs.retain(|x| x.from == m.name || x.to == m.name);
    }

    Ok(Report {
        exchange: layout.exchange.clone(),
        month: p.label(),
        time_zone: p.tz.name().to_owned(),
        from,
        to,
        minutes: p.minutes(),
        days: p.days(),
        site_filter: opts.site.clone(),
        member_filter: member_filter.map(|m| m.name),
        targets: t.clone(),
        service,
        sites,
        paths,
        members,
        faults,
        route_servers: rs,
        top_pairs,
        hygiene,
        source: source(p, split),
    })
}
