//! birdwatcher-compatible endpoints per route server, so Alice-LG can use FOX as a
//! `birdwatcher` source (single_table mode). Shapes follow birdwatcher's JSON: an `api`
//! envelope, `protocols` keyed by protocol name, routes with a BIRD-style `bgp` object.
//! Protocol names are `AS<asn>_<address with . and : as _>`. Filter reasons appear as
//! large communities `RS_ASN:1101:code`, which Alice's `[rejection_reasons]` can name.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use crate::access::Role;
use crate::data::{self, enc};
use crate::server::ClientAddr;
use crate::state::{AppState, Failure};

/// Routes read per request to the route server.
const PAGE: usize = 10_000;
/// Most routes one birdwatcher answer holds.
pub(crate) const MAX_ROUTES: usize = 200_000;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// (year, month, day, hour, minute, second) in UTC of a Unix time.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a proleptic Gregorian date (era-based computation).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2025-01-01 12:00:00`, as BIRD prints times with `timeformat ... iso long`.
pub fn bird_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `2025-01-01T12:00:00Z`.
pub fn iso_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

pub(crate) fn envelope(st: &AppState, key: &str, payload: Value) -> Json<Value> {
    let now = unix_now();
    let ttl = st.sources_ttl_secs();
    let mut m = Map::new();
    m.insert(
        "api".into(),
        json!({
            "Version": concat!("fox-", env!("CARGO_PKG_VERSION")),
            "result_from_cache": false,
            "cache_status": {
                "orig_ttl": ttl,
                "cached_at": { "date": iso_time(now), "timezone_type": "UTC", "timezone": "UTC" },
            },
        }),
    );
    m.insert("cached_at".into(), json!(iso_time(now)));
    m.insert("ttl".into(), json!(iso_time(now + ttl)));
    m.insert(key.into(), payload);
    Json(Value::Object(m))
}

/// birdwatcher errors are `{"error": "..."}`.
pub struct BwError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for BwError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<Failure> for BwError {
    fn from(f: Failure) -> Self {
        // birdwatcher answers 500 when BIRD is unreachable.
        let status = if f.status == StatusCode::BAD_GATEWAY {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            f.status
        };
        BwError(status, f.message)
    }
}

/// A birdwatcher answer or error.
pub type BwResult = Result<Json<Value>, BwError>;

pub(crate) fn allowed(st: &AppState, role: &Role, peer: &ClientAddr) -> Result<(), BwError> {
    if *role == Role::Noc || st.trusted(peer.0.ip()) {
        Ok(())
    } else {
        Err(BwError(
            StatusCode::FORBIDDEN,
            "birdwatcher endpoints are for trusted networks or the NOC token".into(),
        ))
    }
}

/// The BIRD-style protocol name of a neighbour.
pub fn protocol_id(n: &Value) -> String {
    let addr = n["address"]
        .as_str()
        .unwrap_or_default()
        .replace(['.', ':'], "_");
    format!("AS{}_{}", n["asn"].as_u64().unwrap_or(0), addr)
}

fn counts(n: &Value, kind: &str) -> (u64, u64) {
    let r = &n["routes"][kind];
    (
        r["ipv4"].as_u64().unwrap_or(0),
        r["ipv6"].as_u64().unwrap_or(0),
    )
}

fn protocol(n: &Value) -> Value {
    let id = protocol_id(n);
    let state = n["state"].as_str().unwrap_or("Idle");
    let (a4, a6) = counts(n, "accepted");
    let (f4, f6) = counts(n, "filtered");
    let (x4, x6) = counts(n, "advertised");
    let channel = |imp: u64, fil: u64, exp: u64| {
        let r = json!({ "imported": imp, "filtered": fil, "exported": exp });
        json!({ "routes": r, "routes_count": r })
    };
    let mut p = json!({
        "protocol": id,
        "bird_protocol": "BGP",
        "table": "master",
        "state": if state == "Established" { "up" } else { "start" },
        "state_changed": bird_time(n["state_since"].as_u64().unwrap_or(0)),
        "connection": state,
        "bgp_state": state,
        "neighbor_address": n["address"],
        "neighbor_as": n["asn"],
        "neighbor_id": n["remote_router_id"],
        "description": n["member"],
        "session": "external route-server AS4",
        "input_filter": "fox_import",
        "output_filter": "fox_export",
        "routes": { "imported": a4 + a6, "filtered": f4 + f6, "exported": x4 + x6 },
        "channels": { "ipv4": channel(a4, f4, x4), "ipv6": channel(a6, f6, x6) },
    });
    if let Some(h) = n["hold_time"].as_u64() {
        p["hold_timer"] = json!(format!("{h}/{h}"));
    }
    if let Some(e) = n["last_error"].as_str() {
        p["last_error"] = json!(e);
    }
    p
}

pub(crate) async fn neighbor_by_id(st: &AppState, rs: &str, id: &str) -> Result<Value, BwError> {
    data::raw_neighbors(st, rs)
        .await?
        .into_iter()
        .find(|n| protocol_id(n) == id)
        .ok_or_else(|| {
            BwError(
                StatusCode::NOT_FOUND,
                format!("no protocol `{}`", data::clip(id)),
            )
        })
}

fn pairs<const N: usize>(list: &Value) -> Vec<Value> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| {
                    let v: Vec<u64> = s.split(':').filter_map(|x| x.parse().ok()).collect();
                    (v.len() == N).then(|| json!(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Hex extended community (8 bytes) to birdwatcher's `["rt"|"ro"|"generic", a, b]`.
fn ext(hex: &str) -> Option<Value> {
    if hex.len() != 16 || !hex.is_ascii() {
        return None;
    }
    let b: Vec<u8> = (0..8)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect::<Option<_>>()?;
    let kind = match b[1] {
        0x02 => "rt",
        0x03 => "ro",
        _ => "generic",
    };
    let (ga, la) = match b[0] & 0x3f {
        0x00 => (
            u64::from(u16::from_be_bytes([b[2], b[3]])).to_string(),
            u32::from_be_bytes([b[4], b[5], b[6], b[7]]).to_string(),
        ),
        0x01 => (
            format!("{}.{}.{}.{}", b[2], b[3], b[4], b[5]),
            u16::from_be_bytes([b[6], b[7]]).to_string(),
        ),
        0x02 => (
            u32::from_be_bytes([b[2], b[3], b[4], b[5]]).to_string(),
            u16::from_be_bytes([b[6], b[7]]).to_string(),
        ),
        _ => (hex[..8].to_owned(), hex[8..].to_owned()),
    };
    Some(json!([kind, ga, la]))
}

/// A FOX route as birdwatcher prints a BIRD route.
fn route(r: &Value, proto: &str, age: u64) -> Value {
    let mut large = pairs::<3>(&r["large_communities"]);
    for reason in r["reasons"].as_array().into_iter().flatten() {
        large.extend(pairs::<3>(&json!([reason["community"]])));
    }
    let mut bgp = json!({
        "as_path": r["as_path"].as_array().map(|a| a.iter().map(|x| json!(x.to_string())).collect::<Vec<_>>()).unwrap_or_default(),
        "communities": pairs::<2>(&r["communities"]),
        "large_communities": large,
        "ext_communities": r["ext_communities"].as_array().map(|l| l.iter().filter_map(|e| e.as_str().and_then(ext)).collect::<Vec<_>>()).unwrap_or_default(),
        "local_pref": "100",
        "next_hop": r["next_hop"],
        "origin": match r["origin"].as_str() { Some("igp") => "IGP", Some("egp") => "EGP", _ => "Incomplete" },
    });
    if let Some(m) = r["med"].as_u64() {
        bgp["med"] = json!(m.to_string());
    }
    json!({
        "network": r["prefix"],
        "gateway": r["next_hop"],
        "interface": "",
        "learnt_from": r["neighbor"],
        "metric": 100,
        "primary": r["best"].as_bool().unwrap_or(false),
        "age": bird_time(age),
        "from_protocol": proto,
        "type": ["BGP", "unicast", "univ"],
        "bgp": bgp,
    })
}

pub(crate) async fn all_routes(
    st: &AppState,
    rs: &str,
    n: &Value,
    kind: &str,
) -> Result<Vec<Value>, BwError> {
    let src = st.sources.route_server(rs).ok_or_else(|| {
        BwError(
            StatusCode::NOT_FOUND,
            format!("no route server `{}`", data::clip(rs)),
        )
    })?;
    let addr = n["address"].as_str().unwrap_or_default();
    let id = protocol_id(n);
    let age = n["state_since"].as_u64().unwrap_or(0);
    let mut out = Vec::new();
    let mut offset = 0;
    while out.len() < MAX_ROUTES {
        let path = format!(
            "/api/v1/neighbors/{}/routes/{kind}?offset={offset}&limit={PAGE}",
            enc(addr)
        );
        let page = st
            .sources
            .get(src, &path)
            .await
            .map_err(|e| BwError::from(Failure::source(&e)))?;
        let routes = page["routes"].as_array().cloned().unwrap_or_default();
        out.extend(routes.iter().map(|r| route(r, &id, age)));
        offset += routes.len();
        if routes.is_empty() || offset as u64 >= page["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    Ok(out)
}

/// `GET /birdwatcher/{rs}/version` (text).
pub async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        concat!("fox-", env!("CARGO_PKG_VERSION")),
    )
        .into_response()
}

/// `GET /birdwatcher/{rs}/status`
pub async fn status(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path(rs): Path<String>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let src = st.sources.route_server(&rs).ok_or_else(|| {
        BwError(
            StatusCode::NOT_FOUND,
            format!("no route server `{}`", data::clip(&rs)),
        )
    })?;
    let s = st
        .sources
        .get(src, "/api/v1/status")
        .await
        .map_err(|e| BwError::from(Failure::source(&e)))?;
    let info = &s["route_server"];
    let started = bird_time(info["started"].as_u64().unwrap_or(0));
    Ok(envelope(
        &st,
        "status",
        json!({
            "version": info["version"],
            "router_id": info["router_id"],
            "current_server": bird_time(unix_now()),
            "last_reboot": started,
            "last_reconfig": started,
            "message": "Daemon is up and running",
        }),
    ))
}

/// `GET /birdwatcher/{rs}/protocols/bgp`
pub async fn protocols_bgp(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path(rs): Path<String>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let list = data::raw_neighbors(&st, &rs).await?;
    let map: Map<String, Value> = list.iter().map(|n| (protocol_id(n), protocol(n))).collect();
    Ok(envelope(&st, "protocols", Value::Object(map)))
}

/// `GET /birdwatcher/{rs}/protocols/short`
pub async fn protocols_short(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path(rs): Path<String>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let list = data::raw_neighbors(&st, &rs).await?;
    let map: Map<String, Value> = list
        .iter()
        .map(|n| {
            let p = protocol(n);
            (
                protocol_id(n),
                json!({ "proto": "BGP", "table": "master", "state": p["state"], "since": p["state_changed"], "info": p["bgp_state"] }),
            )
        })
        .collect();
    Ok(envelope(&st, "protocols", Value::Object(map)))
}

/// `GET /birdwatcher/{rs}/routes/protocol/{id}`: accepted routes of a neighbour.
pub async fn routes_protocol(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path((rs, id)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let n = neighbor_by_id(&st, &rs, &id).await?;
    let routes = all_routes(&st, &rs, &n, "accepted").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

/// `GET /birdwatcher/{rs}/routes/filtered/{id}`: filtered routes with reason communities.
pub async fn routes_filtered(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path((rs, id)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let n = neighbor_by_id(&st, &rs, &id).await?;
    let routes = all_routes(&st, &rs, &n, "filtered").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

/// `GET /birdwatcher/{rs}/routes/noexport/{id}`: FOX has no per-neighbour no-export list
/// (no path hiding, exceptions are per prefix in the lookup), so it is empty.
pub async fn routes_noexport(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path((rs, id)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    neighbor_by_id(&st, &rs, &id).await?;
    Ok(envelope(&st, "routes", json!([])))
}

/// `GET /birdwatcher/{rs}/routes/prefix?prefix=P`: accepted paths of exactly P.
pub async fn routes_prefix(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path(rs): Path<String>,
    RawQuery(q): RawQuery,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let q = q.unwrap_or_default();
    let values: Vec<&str> = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "prefix")
        .map(|(_, v)| v)
        .collect();
    let [raw] = values.as_slice() else {
        return Err(BwError(
            StatusCode::BAD_REQUEST,
            "query parameter `prefix` must appear exactly once".into(),
        ));
    };
    let decoded = raw
        .replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%3A", ":")
        .replace("%3a", ":");
    let net = data::parse_prefix(&decoded)?;
    let src = st.sources.route_server(&rs).ok_or_else(|| {
        BwError(
            StatusCode::NOT_FOUND,
            format!("no route server `{}`", data::clip(&rs)),
        )
    })?;
    let path = format!("/api/v1/lookup?prefix={}&mode=exact", enc(&net.to_string()));
    let v = st
        .sources
        .get(src, &path)
        .await
        .map_err(|e| BwError::from(Failure::source(&e)))?;
    let nbrs = data::raw_neighbors(&st, &rs).await?;
    let mut routes = Vec::new();
    for p in v["prefixes"].as_array().into_iter().flatten() {
        for path in p["paths"].as_array().into_iter().flatten() {
            if !path["accepted"].as_bool().unwrap_or(false) {
                continue;
            }
            let n = nbrs.iter().find(|n| n["address"] == path["neighbor"]);
            let (id, age) = match n {
                Some(n) => (protocol_id(n), n["state_since"].as_u64().unwrap_or(0)),
                None => (String::new(), 0),
            };
            routes.push(route(path, &id, age));
        }
    }
    Ok(envelope(&st, "routes", json!(routes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_like_bird() {
        assert_eq!(bird_time(0), "1970-01-01 00:00:00");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(bird_time(1_735_732_800), "2025-01-01 12:00:00");
        assert_eq!(iso_time(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn ext_communities_decode_to_triples() {
        assert_eq!(ext("0002fde800000064"), Some(json!(["rt", "65000", "100"])));
        assert_eq!(
            ext("0103c000020100c8"),
            Some(json!(["ro", "192.0.2.1", "200"]))
        );
        assert_eq!(ext("zz"), None);
    }

    #[test]
    fn protocol_ids_are_stable_names() {
        let n = json!({ "asn": 1659, "address": "2001:db8::3" });
        assert_eq!(protocol_id(&n), "AS1659_2001_db8__3");
    }
}
