//! Shared test fixtures: a fake route-server admin API serving canned JSON in the real
//! API's shapes (routeserver/src/api and rib/query.rs), and a looking glass started on it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use fox_looking_glass::client::{self, HttpResponse};
use fox_looking_glass::hash_token;
use serde_json::{json, Value};

/// Tokens used in the tests (the tokens file stores only their hashes).
pub const TANET_TOKEN: &str = "tanet-secret-token";
pub const GSN_TOKEN: &str = "gsn-secret-token";
pub const NOC_TOKEN: &str = "noc-secret-token";

pub const TANET_ADDR: &str = "10.9.0.3";
pub const GSN_ADDR: &str = "10.9.0.4";

fn reason(code: u32, name: &str, description: &str) -> Value {
    json!({ "code": code, "name": name, "description": description, "community": format!("64500:1101:{code}") })
}

fn route(
    prefix: &str,
    nbr: &str,
    member: &str,
    asn: u32,
    accepted: bool,
    reasons: Vec<Value>,
    rpki: &str,
) -> Value {
    json!({
        "prefix": prefix, "neighbor": nbr, "member": member, "asn": asn,
        "next_hop": nbr, "as_path": [asn, 38_000], "as_path_text": format!("{asn} 38000"),
        "origin": "igp", "med": null,
        "communities": ["65000:1"], "large_communities": ["64500:1:2"],
        "ext_communities": ["0002fde800000064"],
        "accepted": accepted, "reasons": reasons, "rpki": rpki, "irr": "not-checked",
        "blackhole": false, "graceful_shutdown": false, "stale": false, "best": accepted,
    })
}

/// Every route the fake route server holds.
pub fn all_routes() -> Vec<Value> {
    let mut v = vec![
        route(
            "140.112.0.0/16",
            TANET_ADDR,
            "TANet",
            1659,
            true,
            vec![],
            "valid",
        ),
        route(
            "10.0.0.0/8",
            TANET_ADDR,
            "TANet",
            1659,
            false,
            vec![reason(
                3,
                "bogon-prefix",
                "prefix is a bogon (special-purpose, the exchange's own LAN, or outside 2000::/3)",
            )],
            "not-found",
        ),
        route(
            "163.29.0.0/16",
            GSN_ADDR,
            "GSN",
            4782,
            true,
            vec![],
            "not-found",
        ),
        route(
            "192.168.0.0/16",
            GSN_ADDR,
            "GSN",
            4782,
            false,
            vec![
                reason(3, "bogon-prefix", "prefix is a bogon"),
                reason(13, "rpki-invalid", "RPKI origin validation says INVALID"),
            ],
            "invalid",
        ),
    ];
    // GSN's filtered route has an origin no other route has, so a leak is unambiguous.
    let last = v.len() - 1;
    v[last]["as_path"] = json!([4782, GSN_FILTERED_ORIGIN]);
    v[last]["as_path_text"] = json!(format!("4782 {GSN_FILTERED_ORIGIN}"));
    v
}

/// Origin AS of GSN's filtered route 192.168.0.0/16 (and of no other route).
pub const GSN_FILTERED_ORIGIN: u32 = 64777;

fn neighbor(id: u32, member: &str, asn: u32, addr: &str, up: bool) -> Value {
    json!({
        "id": id, "member": member, "asn": asn, "address": addr,
        "state": if up { "Established" } else { "Active" },
        "state_since": 1_735_732_800u64, "uptime_seconds": if up { 3600 } else { 0 },
        "remote_router_id": if up { json!(addr) } else { Value::Null },
        "hold_time": if up { json!(90) } else { Value::Null },
        "capabilities": { "four_octet_as": true, "ipv4": true, "ipv6": false, "route_refresh": true,
                           "extended_message": false, "graceful_restart_time": null },
        "last_error": if up { Value::Null } else { json!("connection refused") },
        "flaps": 1,
        "routes": {
            "received": { "ipv4": 2, "ipv6": 0 }, "accepted": { "ipv4": 1, "ipv6": 0 },
            "filtered": { "ipv4": 1, "ipv6": 0 }, "advertised": { "ipv4": 1, "ipv6": 0 },
            "max_prefix_reached": false,
        },
    })
}

/// Query strings the fake received, to check what the looking glass forwards.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<String>>>);

impl Seen {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

async fn routes(
    State(seen): State<Seen>,
    Path((addr, kind)): Path<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    uri: axum::http::Uri,
) -> impl IntoResponse {
    if let Ok(mut s) = seen.0.lock() {
        s.push(uri.to_string());
    }
    let list: Vec<Value> = all_routes()
        .into_iter()
        .filter(|r| r["neighbor"] == addr.as_str())
        .filter(|r| match kind.as_str() {
            "accepted" => r["accepted"] == true,
            "filtered" => r["accepted"] == false,
            "received" => true,
            _ => false,
        })
        .filter(|r| q.get("prefix").is_none_or(|p| r["prefix"] == p.as_str()))
        .collect();
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|o| o.parse().ok()).unwrap_or(1000);
    let page: Vec<Value> = list.iter().skip(offset).take(limit).cloned().collect();
    Json(json!({ "total": list.len(), "offset": offset, "routes": page }))
}

async fn lookup(
    State(seen): State<Seen>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    uri: axum::http::Uri,
) -> impl IntoResponse {
    if let Ok(mut s) = seen.0.lock() {
        s.push(uri.to_string());
    }
    let Some(prefix) = q.get("prefix") else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "parameter 'prefix' is required" })),
        );
    };
    let routes = all_routes();
    let mut prefixes = Vec::new();
    for p in [
        "140.112.0.0/16",
        "10.0.0.0/8",
        "163.29.0.0/16",
        "192.168.0.0/16",
    ] {
        let hit = if q.get("mode").map(String::as_str) == Some("more-specific") {
            prefix == "0.0.0.0/0"
        } else {
            prefix == p
        };
        if !hit {
            continue;
        }
        let paths: Vec<Value> = routes
            .iter()
            .filter(|r| r["prefix"] == p)
            .cloned()
            .collect();
        let from = paths
            .iter()
            .find(|r| r["accepted"] == true)
            .map(|r| r["neighbor"].clone());
        prefixes.push(json!({
            "prefix": p,
            "paths": paths,
            "receivers": [
                { "member": "TANet", "asn": 1659, "neighbor": TANET_ADDR, "receives_from": if from == Some(json!(TANET_ADDR)) { Value::Null } else { from.clone().unwrap_or(Value::Null) }, "best_withheld": if from == Some(json!(TANET_ADDR)) { json!("its own path") } else { Value::Null } },
                { "member": "GSN", "asn": 4782, "neighbor": GSN_ADDR, "receives_from": if from == Some(json!(GSN_ADDR)) { Value::Null } else { from.clone().unwrap_or(Value::Null) }, "best_withheld": if from == Some(json!(GSN_ADDR)) { json!("its own path") } else { Value::Null } },
            ],
        }));
    }
    (
        StatusCode::OK,
        Json(json!({ "query": prefix, "mode": q.get("mode"), "prefixes": prefixes })),
    )
}

/// Starts the fake route server; returns its address and the record of queries.
pub async fn fake_rs() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/api/v1/status",
            get(|| async {
                Json(json!({
                    "route_server": { "name": "rs1", "asn": 64500, "router_id": "10.9.0.1", "version": "0.1.0", "started": 1_735_732_800u64 },
                    "sessions": { "configured": 3, "established": 2 },
                    "rib": { "prefixes_ipv4": 4, "prefixes_ipv6": 0, "paths": 4, "attribute_sets": 4 },
                }))
            }),
        )
        .route(
            "/api/v1/neighbors",
            get(|| async {
                Json(json!({ "neighbors": [
                    neighbor(0, "TANet", 1659, TANET_ADDR, true),
                    neighbor(1, "GSN", 4782, GSN_ADDR, true),
                    neighbor(2, "GSN", 4782, "10.9.0.5", false),
                ]}))
            }),
        )
        .route("/api/v1/neighbors/{addr}/routes/{kind}", get(routes))
        .route("/api/v1/lookup", get(lookup))
        .route(
            "/api/v1/reasons",
            get(|| async {
                Json(json!({ "reasons": [
                    reason(3, "bogon-prefix", "prefix is a bogon (special-purpose, the exchange's own LAN, or outside 2000::/3)"),
                    reason(13, "rpki-invalid", "RPKI origin validation says INVALID"),
                ]}))
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake rs");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A running looking glass and what it needs to stay alive.
pub struct Lg {
    pub base: String,
    pub seen: Seen,
    _dir: tempfile::TempDir,
}

/// Exchange config with the looking glass reading the fake rs1 and a dead rs2; `extra` is
/// appended to the `looking_glass:` section.
pub async fn start_lg(extra: &str) -> Lg {
    let (rs, seen) = fake_rs().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = format!(
        "# test tokens\nTANet {}\nGSN {}\nnoc {}\n",
        hash_token(TANET_TOKEN),
        hash_token(GSN_TOKEN),
        hash_token(NOC_TOKEN)
    );
    std::fs::write(dir.path().join("tokens"), tokens).expect("write tokens");
    let yaml = format!(
        r#"exchange: {{ name: FOX-test }}
sites: [ {{ id: a, name: A }} ]
peering_lans: [ {{ name: lan, prefix: 10.9.0.0/24 }} ]
route_servers:
  - {{ name: rs1, asn: 64500, router_id: 10.9.0.1, ipv4: 10.9.0.1, site: a }}
members:
  - {{ name: TANet, asn: 1659, connections: [ {{ site: a, ipv4: 10.9.0.3 }} ] }}
  - {{ name: GSN, asn: 4782, connections: [ {{ site: a, ipv4: 10.9.0.4 }}, {{ site: a, ipv4: 10.9.0.5 }} ] }}
looking_glass:
  listen: 127.0.0.1:0
  route_servers:
    - {{ name: rs1, url: "http://{rs}" }}
    - {{ name: rs2, url: "http://127.0.0.1:{dead}" }}
  cache_seconds: 0
  timeout: 2s
  tokens_file: tokens
{extra}"#,
        dead = dead_port()
    );
    let path = dir.path().join("fox.yaml");
    std::fs::write(&path, &yaml).expect("write config");
    let config = fox_config::load(&path).unwrap_or_else(|e| panic!("config: {e}"));
    let settings = config.looking_glass_settings();
    let st = fox_looking_glass::build(&config, &settings).unwrap_or_else(|e| panic!("build: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind lg");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = fox_looking_glass::server::serve(st, listener, std::future::pending()).await;
    });
    Lg {
        base: format!("http://{addr}"),
        seen,
        _dir: dir,
    }
}

impl Lg {
    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        client::request(
            "GET",
            &format!("{}{path}", self.base),
            &headers,
            Vec::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET returning the JSON body and status.
    pub async fn json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let r = self.get(path, token).await;
        let v = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.text()));
        (r.status, v)
    }
}

/// A file of the crate, for tests that compare code and documents.
pub fn crate_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fake collector: traffic for GSN, one probe towards a GSN router and one elsewhere.
pub async fn fake_collector() -> std::net::SocketAddr {
    use axum::routing::get;
    use serde_json::json;
    let app = axum::Router::new()
        .route("/api/v1/status", get(|| async { axum::Json(json!({ "datagrams": 10 })) }))
        .route(
            "/api/v1/traffic/{member}",
            get(|axum::extract::Path(m): axum::extract::Path<String>| async move {
                if m == "GSN" {
                    Ok(axum::Json(json!({ "member": "GSN", "in": { "bytes": 1000 }, "out": { "bytes": 2000 }, "top_peers": [{ "member": "GSN-TOP-PEER-MARKER", "bytes": 1500 }] })))
                } else {
                    Err(axum::http::StatusCode::NOT_FOUND)
                }
            }),
        )
        .route(
            "/api/v1/history/member/{asn}",
            get(
                |axum::extract::Path(asn): axum::extract::Path<String>,
                 axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| async move { fake_member_history(&asn, &q) },
            ),
        )
        .route(
            "/api/v1/history/report/member/{asn}",
            get(
                |axum::extract::Path(asn): axum::extract::Path<String>,
                 axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| async move { fake_member_month(&asn, &q) },
            ),
        )
        .route(
            "/api/v1/history/service",
            get(|| async {
                axum::Json(json!({
                    "sla": { "rtt_ms": 12.0, "availability_percent": 99.92 },
                    "probes": [
                        { "probe": "hsinchu", "target": "10.99.0.1:862", "availability_percent": 99.95,
                          "minutes_with_data": 44640, "minutes_up": 44618, "loss_percent": 0.01,
                          "rtt_median_ms": 1.25, "rtt_p95_ms": 3.5, "rtt_p99_ms": 4.0, "rtt_over_target_percent": 0.0 },
                        { "probe": "hsinchu-gsn", "target": "10.9.0.4:862", "availability_percent": 97.0,
                          "minutes_with_data": 100, "minutes_up": 97, "loss_percent": 3.0,
                          "rtt_median_ms": 9.0, "rtt_p95_ms": 11.0, "rtt_p99_ms": 12.0, "rtt_over_target_percent": 1.0 }
                    ]
                }))
            }),
        )
        .route(
            "/api/v1/probes",
            get(|| async {
                axum::Json(json!({ "probes": [
                    { "probe": "hsinchu-gsn", "target": "10.9.0.4:862", "loss_ratio": 0.01, "rtt_seconds": { "mean": 0.0042 } },
                    { "probe": "hsinchu-tanet", "target": "10.9.0.3:862", "loss_ratio": 0.0, "rtt_seconds": { "mean": 0.001 } }
                ] }))
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind collector");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr
}

/// 2026-10-01T00:00:00Z.
pub const OCT_2026: i64 = 1_790_812_800;
/// GSN's hourly history carries this byte count, so a leak is unambiguous.
pub const GSN_HISTORY_BYTES: u64 = 987_654_321;

/// The fake collector's member history: two hours on 2026-10-02 for TANet, one for GSN,
/// only when the asked range covers them.
fn fake_member_history(
    asn: &str,
    q: &std::collections::HashMap<String, String>,
) -> axum::Json<Value> {
    let from: i64 = q.get("from").and_then(|v| v.parse().ok()).unwrap_or(0);
    let to: i64 = q.get("to").and_then(|v| v.parse().ok()).unwrap_or(0);
    let day2 = OCT_2026 + 86_400;
    let pts: Vec<Value> = match asn {
        "1659" => vec![
            json!({ "ts": day2, "bytes_in": 1100, "bytes_out": 220,
                    "ipv4": { "bytes_in": 1000, "bytes_out": 200 }, "ipv6": { "bytes_in": 100, "bytes_out": 20 } }),
            json!({ "ts": day2 + 3600, "bytes_in": 3000, "bytes_out": 30,
                    "ipv4": { "bytes_in": 3000, "bytes_out": 30 } }),
        ],
        "4782" => vec![
            json!({ "ts": day2, "bytes_in": GSN_HISTORY_BYTES, "bytes_out": GSN_HISTORY_BYTES,
                              "ipv4": { "bytes_in": GSN_HISTORY_BYTES, "bytes_out": GSN_HISTORY_BYTES } }),
        ],
        _ => vec![],
    };
    let pts: Vec<Value> = pts
        .into_iter()
        .filter(|p| p["ts"].as_i64().is_some_and(|t| t >= from && t < to))
        .collect();
    axum::Json(json!({ "asn": asn, "from": from, "to": to, "step": q.get("step"), "points": pts }))
}

/// GSN's 95th percentile in the fake monthly figures: must never reach TANet.
pub const GSN_P95_MARKER: f64 = 987_654_321.0;

/// The collector's monthly report figures for a member, as `/api/v1/history/report/member`
/// shapes them (TANet and GSN differ in every figure).
fn fake_member_month(
    asn: &str,
    q: &std::collections::HashMap<String, String>,
) -> Result<axum::Json<Value>, axum::http::StatusCode> {
    let month = q.get("month").cloned().unwrap_or_default();
    let (name, asn, p95, median, unavailable) = match asn {
        "1659" => ("TANet", 1659, 123_456_789.0, 3.25, 22),
        "4782" => ("GSN", 4782, GSN_P95_MARKER, 11.11, 300),
        _ => return Err(axum::http::StatusCode::NOT_FOUND),
    };
    let measured = 44_640u32;
    Ok(axum::Json(serde_json::json!({
        "member": name, "asn": asn, "month": month, "time_zone": "Asia/Taipei",
        "targets": { "availability_percent": 99.92, "availability_floor_percent": 99.9, "rtt_ms": 12.0 },
        "port": { "measured_minutes": measured, "unavailable_minutes": unavailable, "unmeasured_minutes": 0,
                  "percent": f64::from(measured - unavailable) / f64::from(measured) * 100.0,
                  "status": if unavailable < 30 { "met" } else { "missed" } },
        "rtt": { "samples": 1000, "median_ms": median, "p95_ms": median * 2.0, "p99_ms": median * 3.0, "over_target_share": 0.0 },
        "rtt_status": if median * 2.0 < 12.0 { "met" } else { "missed" },
        "loss": { "sent": 1000, "lost": 2, "percent": 0.2 },
        "traffic": { "bytes_in": 1, "bytes_out": 2, "p95_in_bps": p95, "p95_out_bps": p95 / 2.0,
                     "peak_in_bps": p95 * 2.0, "peak_out_bps": p95 },
        "session_downs": 1, "faults": [], "source": { "hourly_until": null, "note": null },
    })))
}
