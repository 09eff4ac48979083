//! The JSON API (read-only) and /metrics.
//!
//! - `GET /api/v1/traffic`: per-member totals and rates
//! - `GET /api/v1/traffic/{member}` (name or ASN): in/out and top peers by volume
//! - `GET /api/v1/matrix`: member-to-member cells, per IP version, per ingress site
//! - `GET /api/v1/hygiene`: violations per member MAC and rule, with the last offence
//! - `GET /api/v1/status`: decoder and loss counters
//! - `GET /api/v1/probes`: STAMP and ICMP probes with RTT, loss, availability and SLA
//!   met/missed
//! - `GET /api/v1/interfaces`: netlink counters and rates of the configured interfaces,
//!   and why a read failed
//! - `GET /api/v1/alerts`: firing alerts (probe, correlated, traffic) with their symptoms
//! - `GET /api/v1/probes`: STAMP probes with RTT, loss, availability and SLA met/missed
//! - `GET /api/v1/history`: the history store writer: enabled, file, batches, errors, last error
//! - `GET /api/v1/history/member/{asn}`, `GET /api/v1/history/service`: see [`crate::api_history`]
//! - `GET /api/v1/history/report/member/{asn}?month=`: see [`crate::api_report`]
//! - `GET /metrics`: Prometheus text format

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use crate::fabric::{mac_string, Afi, ByAfi, Counts, MemberId};
use crate::server::Collector;

/// Top peers listed for one member.
pub const TOP_PEERS: usize = 20;

/// The API routes over `collector`.
pub fn router(collector: Collector) -> Router {
    Router::new()
        .route("/api/v1/traffic", get(traffic))
        .route("/api/v1/traffic/{member}", get(member_traffic))
        .route("/api/v1/matrix", get(matrix))
        .route("/api/v1/hygiene", get(hygiene))
        .route("/api/v1/status", get(status))
        .route("/api/v1/probes", get(probes))
        .route("/api/v1/interfaces", get(interfaces))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/history", get(history))
        .route(
            "/api/v1/history/member/{asn}",
            get(crate::api_history::member),
        )
        .route("/api/v1/history/service", get(crate::api_history::service))
        .route(
            "/api/v1/history/report/member/{asn}",
            get(crate::api_report::member_month),
        )
        .route("/metrics", get(metrics))
        .with_state(collector)
}

#[derive(Serialize)]
struct Rate {
    in_bps: f64,
    out_bps: f64,
    in_pps: f64,
    out_pps: f64,
}

fn by_afi(b: &ByAfi) -> Value {
    let t = b.total();
    json!({
        "bytes": t.bytes,
        "packets": t.packets,
        "ipv4": b.get(Afi::Ipv4),
        "ipv6": b.get(Afi::Ipv6),
        "other": b.get(Afi::Other),
    })
}

fn rate_of(rates: &Option<(f64, Vec<[f64; 4]>)>, m: MemberId) -> Option<Rate> {
    let r = rates.as_ref()?.1.get(m)?;
    Some(Rate {
        in_bps: r[0] * 8.0,
        out_bps: r[1] * 8.0,
        in_pps: r[2],
        out_pps: r[3],
    })
}

async fn traffic(State(c): State<Collector>) -> Json<Value> {
    let rates = c.rates();
    let st = c.state();
    let members: Vec<Value> = st
        .map
        .members()
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let t = st.traffic.members.get(i).copied().unwrap_or_default();
            json!({
                "member": info.name,
                "asn": info.asn,
                "in": by_afi(&t.in_),
                "out": by_afi(&t.out),
                "rate": rate_of(&rates, i),
            })
        })
        .collect();
    Json(json!({
        "since": c.started(),
        "rate_window_seconds": rates.as_ref().map(|r| r.0),
        "members": members,
        "total": by_afi(&st.traffic.total),
        "unattributed": st.traffic.unattributed,
    }))
}

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": what }))).into_response()
}

async fn member_traffic(State(c): State<Collector>, Path(member): Path<String>) -> Response {
    let rates = c.rates();
    let st = c.state();
    let map = &st.map;
    let asn = member
        .trim_start_matches(['A', 'S', 'a', 's'])
        .parse::<u32>()
        .ok();
    let found = map
        .find(&member)
        .or_else(|| asn.and_then(|a| map.members().iter().position(|m| m.asn == a)));
    let Some(id) = found else {
        return not_found(format!("no member `{member}`"));
    };
    let info = &map.members()[id];
    let t = st.traffic.members.get(id).copied().unwrap_or_default();
    let peers: Vec<Value> = st
        .traffic
        .top_peers(id, TOP_PEERS)
        .into_iter()
        .filter_map(|(p, sent, received)| {
            let pi = map.members().get(p)?;
            Some(json!({
                "member": pi.name,
                "asn": pi.asn,
                "sent": sent,
                "received": received,
                "bytes": sent.bytes.saturating_add(received.bytes),
            }))
        })
        .collect();
    Json(json!({
        "member": info.name,
        "asn": info.asn,
        "in": by_afi(&t.in_),
        "out": by_afi(&t.out),
        "rate": rate_of(&rates, id),
        "top_peers": peers,
    }))
    .into_response()
}

async fn matrix(State(c): State<Collector>) -> Json<Value> {
    let st = c.state();
    let names = |m: MemberId| st.map.members().get(m).map(|i| i.name.clone());
    let site = |s: usize| st.map.sites().get(s).cloned();
    let mut cells: Vec<(String, String, Value)> = st
        .traffic
        .matrix
        .iter()
        .filter_map(|(&(s, d), v)| Some((names(s)?, names(d)?, by_afi(v))))
        .collect();
    cells.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let cells: Vec<Value> = cells
        .into_iter()
        .map(|(s, d, mut v)| {
            v["src_member"] = json!(s);
            v["dst_member"] = json!(d);
            v
        })
        .collect();
    let mut by_site: Vec<(String, String, String, Counts)> = st
        .traffic
        .matrix_by_site
        .iter()
        .filter_map(|(&(si, s, d), c)| Some((site(si)?, names(s)?, names(d)?, *c)))
        .collect();
    by_site.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    let mut sites: Vec<(String, String, Value)> = st
        .traffic
        .sites
        .iter()
        .filter_map(|(&(a, b), v)| Some((site(a)?, site(b)?, by_afi(v))))
        .collect();
    sites.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Json(json!({
        "members": st.map.members().iter().map(|m| &m.name).collect::<Vec<_>>(),
        "cells": cells,
        "by_site": by_site.into_iter().map(|(si, s, d, c)| json!({
            "site": si, "src_member": s, "dst_member": d, "bytes": c.bytes, "packets": c.packets,
        })).collect::<Vec<_>>(),
        "sites": sites.into_iter().map(|(a, b, mut v)| {
            v["src_site"] = json!(a);
            v["dst_site"] = json!(b);
            v
        }).collect::<Vec<_>>(),
    }))
}

async fn hygiene(State(c): State<Collector>) -> Json<Value> {
    let st = c.state();
    let mut rows: Vec<(String, String, &'static str, Value)> = st
        .hygiene
        .violations
        .iter()
        .map(|((mac, rule), v)| {
            let member = v.owner.and_then(|o| st.map.members().get(o.member));
            let row = json!({
                "member": member.map(|m| m.name.clone()),
                "asn": member.map(|m| m.asn),
                "mac": mac_string(mac),
                "rule": rule,
                "samples": v.samples,
                "frames": v.frames,
                "last": v.last,
            });
            let name = member.map(|m| m.name.clone()).unwrap_or_default();
            (name, mac_string(mac), rule.name(), row)
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    Json(json!({
        "violations": rows.into_iter().map(|r| r.3).collect::<Vec<_>>(),
        "overflow": st.hygiene.overflow,
    }))
}

async fn status(State(c): State<Collector>) -> Json<Value> {
    let interface_errors: Vec<Value> = c
        .interfaces()
        .snapshot()
        .into_iter()
        .filter_map(|s| {
            Some(json!({ "interface": s.interface, "site": s.site, "error": s.error? }))
        })
        .collect();
    let st = c.state();
    let (agents, sources) = st.sequences.streams();
    Json(json!({
        "since": c.started(),
        "stats": st.stats,
        "lost_datagrams": st.sequences.lost_datagrams,
        "lost_samples": st.sequences.lost_samples,
        "agent_resets": st.sequences.resets,
        "agents": agents,
        "data_sources": sources,
        "members": st.map.members().len(),
        "macs": st.map.mac_count(),
        "interface_errors": interface_errors,
    }))
}

async fn history(State(c): State<Collector>) -> Json<Value> {
    Json(match c.history() {
        None => json!({ "enabled": false }),
        Some((h, path)) => {
            let st = h.status();
            json!({
                "enabled": true,
                "path": path.display().to_string(),
                "batches": st.batches,
                "errors": st.errors,
                "last_error": st.last_error,
            })
        }
    })
}

async fn probes(State(c): State<Collector>) -> Json<Value> {
    let sla = c.sla();
    let now = crate::server::unix_now();
    let probes: Vec<Value> = c.probes().iter().map(|p| p.report(&sla, now)).collect();
    let alerts: Vec<Value> = c
        .alerts()
        .map(|a| a.active())
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            json!({
                "probe": a.subject,
                "symptoms": a.symptoms,
                "alert": a.kind.name(),
                "summary": a.summary,
                "starts_at": crate::alert::deliver::rfc3339(a.starts_at),
            })
        })
        .collect();
    Json(json!({
        "sla": {
            "rtt_ms": sla.rtt.as_secs_f64() * 1000.0,
            "availability_percent": sla.availability_percent(),
            "loss_percent": sla.loss_percent(),
        },
        "probes": probes,
        "alerts": alerts,
    }))
}

async fn interfaces(State(c): State<Collector>) -> Json<Value> {
    let ifs = c.interfaces().snapshot();
    let failing = ifs.iter().filter(|s| s.error.is_some()).count();
    Json(json!({ "interfaces": ifs, "failing": failing }))
}

async fn alerts(State(c): State<Collector>) -> Json<Value> {
    let alerts: Vec<Value> = c
        .alerts()
        .map(|a| a.active())
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            json!({
                "alert": a.kind.name(),
                "kind": a.kind,
                "subject": a.subject,
                "summary": a.summary,
                "symptoms": a.symptoms,
                "starts_at": crate::alert::deliver::rfc3339(a.starts_at),
            })
        })
        .collect();
    Json(json!({ "alerts": alerts }))
}

async fn metrics(State(c): State<Collector>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        c.metrics_text(),
    )
        .into_response()
}
