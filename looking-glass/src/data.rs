//! The looking glass's answers, built from the route servers' JSON: exchange summary,
//! neighbours, routes of a neighbour, prefix lookup and the member view. Every function
//! applies the access rules; the JSON API and the web UI both render what these return.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::Role;
use crate::source::{Fetched, SourceError};
use crate::state::{AppState, Failure};

/// Most routes on one page.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Routes on a page unless asked otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Most prefixes a more-specific lookup returns per route server.
pub const LOOKUP_LIMIT: usize = 200;
/// Most routes read per route server to count RPKI states for the summary.
pub const RPKI_SCAN_MAX: usize = 20_000;

/// Parses a prefix or a single address (as a host prefix); host bits are cleared.
pub fn parse_prefix(s: &str) -> Result<IpNet, Failure> {
    let s = s.trim();
    if let Ok(p) = s.parse::<IpNet>() {
        return Ok(p.trunc());
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    Err(Failure::bad(format!(
        "`{}` is not a prefix (e.g. 192.0.2.0/24 or 2001:db8::/32) or an address",
        clip(s)
    )))
}

/// A user value shortened for echoing in an error.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    if s.chars().count() > 60 {
        out.push_str("...");
    }
    out
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn empty_none(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn num(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_u64().unwrap_or(0)
}

fn rs_or_404<'a>(st: &'a AppState, rs: &str) -> Result<&'a crate::source::Source, Failure> {
    st.sources.route_server(rs).ok_or_else(|| {
        let known: Vec<&str> = st
            .sources
            .route_servers
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        Failure::not_found(format!(
            "no route server called `{}`; known: {}",
            clip(rs),
            known.join(", ")
        ))
    })
}

fn source_status(f: &Fetched) -> Value {
    match f {
        Ok(_) => json!({ "up": true, "error": null }),
        Err(e) => json!({ "up": !e.is_down(), "error": e.to_string() }),
    }
}

/// The neighbours of one route server, unfiltered (for internal use).
pub async fn raw_neighbors(st: &AppState, rs: &str) -> Result<Vec<Value>, Failure> {
    let src = rs_or_404(st, rs)?;
    let v = st
        .sources
        .get(src, "/api/v1/neighbors")
        .await
        .map_err(|e| Failure::source(&e))?;
    Ok(v["neighbors"].as_array().cloned().unwrap_or_default())
}

/// Exchange-wide summary: members, sessions, prefixes per AFI, RPKI states; public.
pub async fn summary(st: &AppState) -> Value {
    let statuses = st.sources.all_route_servers("/api/v1/status").await;
    let neighbors = st.sources.all_route_servers("/api/v1/neighbors").await;
    let mut out = Vec::new();
    for ((src, status), (_, nbrs)) in statuses.into_iter().zip(neighbors) {
        let mut entry = json!({ "name": src.name });
        let mut ok = source_status(&status);
        if status.is_ok() {
            ok = source_status(&nbrs);
        }
        entry["up"] = ok["up"].clone();
        entry["error"] = ok["error"].clone();
        if let Ok(s) = &status {
            let info = &s["route_server"];
            entry["asn"] = info["asn"].clone();
            entry["router_id"] = info["router_id"].clone();
            entry["version"] = info["version"].clone();
            entry["rib"] = s["rib"].clone();
        }
        if let Ok(n) = &nbrs {
            let list = n["neighbors"].as_array().cloned().unwrap_or_default();
            let up = list.iter().filter(|n| n["state"] == "Established").count();
            let sum = |kind: &str, afi: &str| -> u64 {
                list.iter().map(|n| num(n, &["routes", kind, afi])).sum()
            };
            entry["sessions"] = json!({
                "configured": list.len(), "established": up, "down": list.len() - up,
            });
            entry["prefixes"] = json!({
                "accepted": { "ipv4": sum("accepted", "ipv4"), "ipv6": sum("accepted", "ipv6") },
                "filtered": { "ipv4": sum("filtered", "ipv4"), "ipv6": sum("filtered", "ipv6") },
            });
            entry["rpki"] = rpki_counts(st, &src, &list).await;
        }
        out.push(entry);
    }
    let collectors: Vec<Value> = {
        let mut v = Vec::new();
        for c in &st.sources.collectors {
            let f = st.sources.get(c, "/api/v1/status").await;
            let mut s = source_status(&f);
            s["name"] = json!(c.name);
            v.push(s);
        }
        v
    };
    json!({
        "exchange": st.exchange,
        "members": st.members.len(),
        "route_servers": out,
        "collectors": collectors,
    })
}

/// RPKI states of every received route of a route server, read page by page up to a cap.
async fn rpki_counts(st: &AppState, src: &crate::source::Source, nbrs: &[Value]) -> Value {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for k in ["valid", "invalid", "not-found", "not-checked"] {
        counts.insert(k.into(), 0);
    }
    // Route servers that report per-neighbour RPKI counts save the scan.
    if !nbrs.is_empty() && nbrs.iter().all(|n| n["routes"]["rpki"].is_object()) {
        let mut total = 0u64;
        for n in nbrs {
            if let Some(m) = n["routes"]["rpki"].as_object() {
                for (k, v) in m {
                    let v = v.as_u64().unwrap_or(0);
                    *counts.entry(k.clone()).or_default() += v;
                    total += v;
                }
            }
        }
        return json!({ "counts": counts, "routes_counted": total, "complete": true });
    }
    let mut seen = 0usize;
    let mut complete = true;
    'outer: for n in nbrs {
        let Some(addr) = n["address"].as_str() else {
            continue;
        };
        let received =
            num(n, &["routes", "received", "ipv4"]) + num(n, &["routes", "received", "ipv6"]);
        if received == 0 {
            continue;
        }
        let mut offset = 0usize;
        loop {
            if seen >= RPKI_SCAN_MAX {
                complete = false;
                break 'outer;
            }
            let limit = 5000.min(RPKI_SCAN_MAX - seen);
            let path = format!(
                "/api/v1/neighbors/{}/routes/received?offset={offset}&limit={limit}",
                enc(addr)
            );
            let Ok(page) = st.sources.get(src, &path).await else {
                complete = false;
                break;
            };
            let routes = page["routes"].as_array().cloned().unwrap_or_default();
            for r in &routes {
                let state = r["rpki"].as_str().unwrap_or("not-checked").to_owned();
                *counts.entry(state).or_default() += 1;
            }
            seen += routes.len();
            offset += routes.len();
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            if routes.is_empty() || offset >= total {
                break;
            }
        }
    }
    json!({ "counts": counts, "routes_counted": seen, "complete": complete })
}

/// Neighbours of route server `rs` that `role` may see (NOC: all; member: its own).
pub async fn neighbors(st: &AppState, role: &Role, rs: &str) -> Result<Value, Failure> {
    if *role == Role::Public {
        return Err(Failure::login());
    }
    let list: Vec<Value> = raw_neighbors(st, rs)
        .await?
        .into_iter()
        .filter(|n| role.may_see(n["member"].as_str().unwrap_or_default()))
        .collect();
    Ok(json!({ "route_server": rs, "neighbors": list }))
}

/// The neighbour with session address `addr` on `rs`, if `role` may see it.
pub async fn neighbor(st: &AppState, role: &Role, rs: &str, addr: &str) -> Result<Value, Failure> {
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| Failure::bad(format!("`{}` is not an IP address", clip(addr))))?;
    if *role == Role::Public {
        return Err(Failure::login());
    }
    let n = raw_neighbors(st, rs)
        .await?
        .into_iter()
        .find(|n| n["address"].as_str().and_then(|a| a.parse::<IpAddr>().ok()) == Some(ip))
        .ok_or_else(|| Failure::not_found(format!("route server {rs} has no neighbour {ip}")))?;
    let member = n["member"].as_str().unwrap_or_default();
    if !role.may_see(member) {
        return Err(Failure::forbidden(format!(
            "neighbour {ip} belongs to another member; you are logged in as {}",
            role.label()
        )));
    }
    Ok(n)
}

/// Query parameters of a route listing (empty values mean "not given").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteParams {
    /// Only routes inside this prefix.
    pub prefix: Option<String>,
    /// Only routes with this origin ASN.
    pub origin: Option<String>,
    /// Only routes with this community (`a:b` or `a:b:c`).
    pub community: Option<String>,
    /// Only routes filtered for this reason code.
    pub reason: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
    /// Routes per page.
    pub page_size: Option<String>,
}

/// The four route listings of a neighbour.
pub const ROUTE_KINDS: [&str; 4] = ["received", "accepted", "filtered", "advertised"];

/// A page of a neighbour's routes with filters; only for the neighbour's member or the NOC.
pub async fn routes(
    st: &AppState,
    role: &Role,
    rs: &str,
    addr: &str,
    kind: &str,
    p: &RouteParams,
) -> Result<Value, Failure> {
    if !ROUTE_KINDS.contains(&kind) {
        return Err(Failure::not_found(format!(
            "`{}` is not one of {}",
            clip(kind),
            ROUTE_KINDS.join(", ")
        )));
    }
    let RouteQuery {
        mut filters,
        page,
        page_size,
    } = route_query(p)?;
    let n = neighbor(st, role, rs, addr).await?;
    let address = n["address"].as_str().unwrap_or(addr).to_owned();
    filters.push(format!("offset={}", (page - 1) * page_size));
    filters.push(format!("limit={page_size}"));
    let src = rs_or_404(st, rs)?;
    let path = format!(
        "/api/v1/neighbors/{}/routes/{kind}?{}",
        enc(&address),
        filters.join("&")
    );
    let v = st
        .sources
        .get(src, &path)
        .await
        .map_err(|e| Failure::source(&e))?;
    let total = v["total"].as_u64().unwrap_or(0);
    Ok(json!({
        "route_server": rs,
        "neighbor": n,
        "kind": kind,
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": total.div_ceil(page_size as u64).max(1),
        "routes": v["routes"].clone(),
    }))
}

/// A route listing's parameters checked and turned into the route server's
/// query (`key=value` pairs, values percent-encoded) and the page.
#[derive(Debug)]
pub struct RouteQuery {
    /// `key=value` filters for the route server's API.
    pub filters: Vec<String>,
    /// 1-based page.
    pub page: usize,
    /// Routes per page.
    pub page_size: usize,
}

/// Checks a route listing's parameters (400 with what was wrong).
pub fn route_query(p: &RouteParams) -> Result<RouteQuery, Failure> {
    let mut q = Vec::new();
    if let Some(s) = empty_none(&p.prefix) {
        q.push(format!("prefix={}", enc(&parse_prefix(s)?.to_string())));
    }
    if let Some(s) = empty_none(&p.origin) {
        let asn: u32 = s
            .trim_start_matches("AS")
            .trim_start_matches("as")
            .parse()
            .map_err(|_| Failure::bad(format!("origin `{}` is not an AS number", clip(s))))?;
        q.push(format!("origin={asn}"));
    }
    if let Some(s) = empty_none(&p.community) {
        let parts: Vec<&str> = s.split(':').collect();
        let ok = (parts.len() == 2 && parts.iter().all(|x| x.parse::<u16>().is_ok()))
            || (parts.len() == 3 && parts.iter().all(|x| x.parse::<u32>().is_ok()));
        if !ok {
            return Err(Failure::bad(format!(
                "community `{}` is not `ASN:value` or `ASN:function:value`",
                clip(s)
            )));
        }
        q.push(format!("community={}", enc(s)));
    }
    if let Some(s) = empty_none(&p.reason) {
        let code: u32 = s.parse().map_err(|_| {
            Failure::bad(format!(
                "reason `{}` is not a reason code (see /reasons)",
                clip(s)
            ))
        })?;
        q.push(format!("reason={code}"));
    }
    let page: usize = match empty_none(&p.page) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| *n >= 1 && *n <= 1_000_000)
            .ok_or_else(|| Failure::bad(format!("page `{}` is not a number from 1", clip(s))))?,
        None => 1,
    };
    let page_size: usize = match empty_none(&p.page_size) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                Failure::bad(format!(
                    "page_size `{}` must be between 1 and {MAX_PAGE_SIZE}",
                    clip(s)
                ))
            })?,
        None => DEFAULT_PAGE_SIZE,
    };
    Ok(RouteQuery {
        filters: q,
        page,
        page_size,
    })
}

/// How a lookup matches.
pub fn parse_mode(m: Option<&str>) -> Result<&'static str, Failure> {
    match m
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("longest")
    {
        "exact" => Ok("exact"),
        "longest" => Ok("longest"),
        "more-specific" => Ok("more-specific"),
        other => Err(Failure::bad(format!(
            "mode `{}` is not one of exact, longest, more-specific",
            clip(other)
        ))),
    }
}

/// Keeps the paths `role` may see: accepted ones, and filtered ones of its own member.
fn visible_paths(role: &Role, paths: &Value) -> (Vec<Value>, usize) {
    let all = paths.as_array().cloned().unwrap_or_default();
    let total = all.len();
    let kept: Vec<Value> = all
        .into_iter()
        .filter(|p| {
            p["accepted"].as_bool().unwrap_or(false)
                || role.may_see(p["member"].as_str().unwrap_or_default())
        })
        .collect();
    let hidden = total - kept.len();
    (kept, hidden)
}

/// Prefix lookup over every route server: who announces, who receives, who does not and why.
pub async fn lookup(
    st: &AppState,
    role: &Role,
    prefix: Option<&str>,
    mode: Option<&str>,
) -> Result<Value, Failure> {
    let prefix = prefix
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Failure::bad("parameter `prefix` is required (e.g. ?prefix=192.0.2.0/24)")
        })?;
    let net = parse_prefix(prefix)?;
    let mode = parse_mode(mode)?;
    let path = format!(
        "/api/v1/lookup?prefix={}&mode={mode}&limit={LOOKUP_LIMIT}",
        enc(&net.to_string())
    );
    let results = st.sources.all_route_servers(&path).await;
    let mut out = Vec::new();
    for (src, f) in results {
        let mut entry = json!({ "name": src.name });
        let s = source_status(&f);
        entry["up"] = s["up"].clone();
        entry["error"] = s["error"].clone();
        let mut prefixes = Vec::new();
        if let Ok(v) = &f {
            let list = v["prefixes"].as_array().cloned().unwrap_or_default();
            entry["truncated"] = json!(list.len() >= LOOKUP_LIMIT);
            for p in list {
                let (paths, hidden) = visible_paths(role, &p["paths"]);
                if paths.is_empty() && hidden > 0 {
                    // Only other members' filtered paths: listing the prefix would tell
                    // who may not see them that they exist.
                    continue;
                }
                prefixes.push(json!({
                    "prefix": p["prefix"],
                    "paths": paths,
                    "hidden_filtered_paths": hidden,
                    "receivers": p["receivers"],
                }));
            }
        }
        entry["prefixes"] = json!(prefixes);
        out.push(entry);
    }
    Ok(json!({ "query": net.to_string(), "mode": mode, "route_servers": out }))
}

/// A member's own view: sessions on every route server, route counts; traffic and RTT
/// from the collector once it has an API.
pub async fn member(st: &AppState, role: &Role, name: &str) -> Result<Value, Failure> {
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
            "you are logged in as {} and may only see your own member page",
            role.label()
        )));
    }
    let results = st.sources.all_route_servers("/api/v1/neighbors").await;
    let mut rss = Vec::new();
    for (src, f) in results {
        let s = source_status(&f);
        let sessions: Vec<Value> = match &f {
            Ok(v) => v["neighbors"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter(|n| n["member"] == m.name.as_str())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        rss.push(
            json!({ "name": src.name, "up": s["up"], "error": s["error"], "sessions": sessions }),
        );
    }
    let (traffic, rtt) = collector_view(st, m).await;
    Ok(json!({
        "member": m.name,
        "asn": m.asn,
        "route_servers": rss,
        "traffic": traffic,
        "rtt": rtt,
    }))
}

/// A member's traffic (`/api/v1/traffic/{member}`) and the probes that target
/// its routers (`/api/v1/probes`), from the first collector that answers.
async fn collector_view(st: &AppState, m: &crate::state::MemberInfo) -> (Value, Value) {
    if st.sources.collectors.is_empty() {
        let na = json!({ "available": false, "note": "not available: no collector is configured" });
        return (na.clone(), na);
    }
    let mut traffic = json!({ "available": false, "note": "not available: no collector answered" });
    let mut rtt = traffic.clone();
    for c in &st.sources.collectors {
        if let Ok(v) = st
            .sources
            .get(c, &format!("/api/v1/traffic/{}", enc(&m.name)))
            .await
        {
            let note = format!(
                "in {} bytes, out {} bytes since the collector started",
                v["in"]["bytes"].as_u64().unwrap_or(0),
                v["out"]["bytes"].as_u64().unwrap_or(0)
            );
            traffic = json!({ "available": true, "collector": c.name, "note": note, "data": *v });
            break;
        }
    }
    for c in &st.sources.collectors {
        if let Ok(v) = st.sources.get(c, "/api/v1/probes").await {
            let mine: Vec<Value> = v["probes"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter(|p| {
                            let target = p["target"].as_str().unwrap_or_default();
                            m.addresses.iter().any(|a| {
                                target
                                    .parse::<std::net::SocketAddr>()
                                    .is_ok_and(|t| t.ip() == *a)
                            })
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            rtt = if mine.is_empty() {
                json!({ "available": false, "note": "no probe targets this member's routers" })
            } else {
                let note = mine
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: mean RTT {:.2} ms, loss {:.2} %",
                            p["probe"].as_str().unwrap_or_default(),
                            p["rtt_seconds"]["mean"].as_f64().unwrap_or(0.0) * 1000.0,
                            p["loss_ratio"].as_f64().unwrap_or(0.0) * 100.0
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                json!({ "available": true, "collector": c.name, "note": note, "probes": mine })
            };
            break;
        }
    }
    (traffic, rtt)
}

/// The filter reasons, from the first route server that answers.
pub async fn reasons(st: &AppState) -> Result<Value, Failure> {
    let mut last: Option<SourceError> = None;
    for src in &st.sources.route_servers {
        match st.sources.get(src, "/api/v1/reasons").await {
            Ok(v) => return Ok((*v).clone()),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Failure::source(&e),
        None => Failure::not_found("no route server is configured"),
    })
}
