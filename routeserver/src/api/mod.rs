//! The read-only JSON admin API (consumed by the looking glass and the
//! collector) and `/metrics`.
//!
//! - `GET /api/v1/status`
//! - `GET /api/v1/neighbors`
//! - `GET /api/v1/neighbors/{address}`
//! - `GET /api/v1/neighbors/{address}/routes/{received|accepted|filtered|advertised}`
//!   with `prefix`, `origin`, `community`, `reason`, `offset`, `limit`
//! - `GET /api/v1/lookup?prefix=P&mode=exact|longest|more-specific`
//! - `GET /api/v1/reasons`
//! - `GET /api/v1/mrt`: every path as an MRT TABLE_DUMP_V2 dump
//! - `GET /metrics`

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query as AxQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::policy::reasons::ALL_REASONS;
use crate::rib::query::{Answer, MatchMode, Query, RouteFilter, RouteKind};
use crate::rib::{PeerId, RibMsg, RibTx};
use crate::session::status::PeerStatus;
use crate::session::SharedStatus;

/// Facts about this route server shown by `/api/v1/status`.
#[derive(Clone, Debug, Serialize)]
pub struct RsInfo {
    pub name: String,
    pub asn: u32,
    pub router_id: String,
    pub version: &'static str,
    pub started: u64,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub info: RsInfo,
    pub rib: RibTx,
    /// The configured sessions (a reload replaces the list).
    pub peers: Arc<std::sync::RwLock<Vec<(PeerId, SharedStatus)>>>,
    pub metrics: Arc<Metrics>,
}

impl ApiState {
    /// The configured sessions now.
    fn sessions(&self) -> Vec<(PeerId, SharedStatus)> {
        match self.peers.read() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// An API error: status code and a message that says what was wrong.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// The router for the admin API.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/neighbors", get(neighbors))
        .route("/api/v1/neighbors/{address}", get(neighbor))
        .route("/api/v1/neighbors/{address}/routes/{kind}", get(routes))
        .route("/api/v1/lookup", get(lookup))
        .route("/api/v1/reasons", get(reasons))
        .route("/api/v1/mrt", get(mrt))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "no such endpoint; see /api/v1/status".into(),
            )
        })
        .with_state(state)
}

/// Every path in the RIB as an MRT TABLE_DUMP_V2 dump (RFC 6396).
async fn mrt(State(st): State<ApiState>) -> Result<Response, ApiError> {
    let Answer::Dump(paths) = ask(&st, Query::Dump).await? else {
        return Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected RIB answer".into(),
        ));
    };
    let now = crate::session::status::unix_now() as f64;
    let bytes = tokio::task::spawn_blocking(move || crate::rib::mrt::dump(&paths, now))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rib.mrt\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn ask(state: &ApiState, q: Query) -> Result<Answer, ApiError> {
    let (tx, rx) = oneshot::channel();
    state
        .rib
        .send(RibMsg::Query(q, tx))
        .await
        .map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "RIB not running".into()))?;
    tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "RIB busy, try again".into(),
            )
        })?
        .map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "RIB not running".into()))
}

fn snapshot(s: &SharedStatus) -> PeerStatus {
    match s.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

async fn status(State(st): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let Answer::Summary(sum) = ask(&st, Query::Summary).await? else {
        return Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected answer".into(),
        ));
    };
    let up = sum.peers.iter().filter(|p| p.established).count();
    Ok(Json(json!({
        "route_server": st.info,
        "sessions": { "configured": sum.peers.len(), "established": up },
        "rib": {
            "prefixes_ipv4": sum.prefixes_ipv4,
            "prefixes_ipv6": sum.prefixes_ipv6,
            "paths": sum.paths,
            "attribute_sets": sum.attribute_sets,
        }
    })))
}

async fn neighbor_list(st: &ApiState) -> Result<Vec<serde_json::Value>, ApiError> {
    let Answer::Summary(sum) = ask(st, Query::Summary).await? else {
        return Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected answer".into(),
        ));
    };
    let now = crate::session::status::unix_now();
    Ok(st
        .sessions()
        .iter()
        .map(|(id, s)| {
            let s = snapshot(s);
            let counts = sum.peers.iter().find(|p| p.id == *id);
            json!({
                "id": id,
                "member": s.member,
                "asn": s.asn,
                "address": s.address,
                "state": s.state.name(),
                "state_since": s.since,
                "uptime_seconds": if s.state == crate::session::status::State::Established { now.saturating_sub(s.since) } else { 0 },
                "remote_router_id": s.remote_router_id,
                "hold_time": s.hold_time,
                "capabilities": {
                    "four_octet_as": s.four_octet_as, "ipv4": s.ipv4, "ipv6": s.ipv6,
                    "route_refresh": s.route_refresh, "extended_message": s.extended_message,
                    "graceful_restart_time": s.graceful_restart,
                },
                "last_error": s.last_error,
                "flaps": s.flaps,
                "routes": counts.map(|c| json!({
                    "received": c.received, "accepted": c.accepted,
                    "filtered": c.filtered, "advertised": c.advertised,
                    "max_prefix_reached": c.max_prefix_reached,
                    "rpki": c.rpki,
                })),
            })
        })
        .collect())
}

async fn neighbors(State(st): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "neighbors": neighbor_list(&st).await? })))
}

fn find_peer(st: &ApiState, address: &str) -> Result<PeerId, ApiError> {
    let ip: IpAddr = address
        .parse()
        .map_err(|_| bad(format!("'{address}' is not an IP address")))?;
    st.sessions()
        .iter()
        .find(|(_, s)| snapshot(s).address == ip)
        .map(|(id, _)| *id)
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("no neighbour with address {ip}"),
            )
        })
}

async fn neighbor(
    State(st): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = find_peer(&st, &address)?;
    let list = neighbor_list(&st).await?;
    list.into_iter()
        .find(|n| n["id"] == json!(id))
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "neighbour vanished".into()))
}

/// Query parameters of a route listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesParams {
    prefix: Option<String>,
    origin: Option<String>,
    community: Option<String>,
    reason: Option<u32>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// Most routes one page may hold.
pub const MAX_PAGE: usize = 10_000;

fn parse_prefix(s: &str) -> Result<IpNet, ApiError> {
    if let Ok(p) = s.parse::<IpNet>() {
        return Ok(p.trunc());
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    Err(bad(format!("'{s}' is not a prefix or an address")))
}

async fn routes(
    State(st): State<ApiState>,
    Path((address, kind)): Path<(String, String)>,
    params: Result<AxQuery<RoutesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let AxQuery(params) = params.map_err(|e| bad(e.body_text()))?;
    let id = find_peer(&st, &address)?;
    let kind = match kind.as_str() {
        "received" => RouteKind::Received,
        "accepted" => RouteKind::Accepted,
        "filtered" => RouteKind::Filtered,
        "advertised" => RouteKind::Advertised,
        other => {
            return Err(bad(format!(
                "'{other}' is not one of received, accepted, filtered, advertised"
            )))
        }
    };
    let origin = match params.origin.as_deref() {
        None => None,
        Some(o) => Some(
            o.trim_start_matches("AS")
                .trim_start_matches("as")
                .parse::<u32>()
                .map_err(|_| bad(format!("'{o}' is not an ASN")))?,
        ),
    };
    let filter = RouteFilter {
        prefix: params.prefix.as_deref().map(parse_prefix).transpose()?,
        origin,
        community: params.community,
        reason: params.reason,
    };
    let limit = params.limit.unwrap_or(1000);
    if limit > MAX_PAGE {
        return Err(bad(format!("limit must be at most {MAX_PAGE}")));
    }
    let q = Query::Routes {
        peer: id,
        kind,
        filter,
        offset: params.offset.unwrap_or(0),
        limit,
    };
    Ok(Json(
        serde_json::to_value(ask(&st, q).await?).unwrap_or_default(),
    ))
}

/// Query parameters of a prefix lookup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupParams {
    prefix: Option<String>,
    mode: Option<String>,
    limit: Option<usize>,
}

async fn lookup(
    State(st): State<ApiState>,
    params: Result<AxQuery<LookupParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let AxQuery(params) = params.map_err(|e| bad(e.body_text()))?;
    let prefix = parse_prefix(
        params
            .prefix
            .as_deref()
            .ok_or_else(|| bad("parameter 'prefix' is required"))?,
    )?;
    let mode = match params.mode.as_deref().unwrap_or("longest") {
        "exact" => MatchMode::Exact,
        "longest" => MatchMode::Longest,
        "more-specific" => MatchMode::MoreSpecific,
        other => {
            return Err(bad(format!(
                "mode '{other}' is not one of exact, longest, more-specific"
            )))
        }
    };
    let limit = params.limit.unwrap_or(1000).min(MAX_PAGE);
    let ans = ask(
        &st,
        Query::Lookup {
            prefix,
            mode,
            limit,
        },
    )
    .await?;
    Ok(Json(
        json!({ "query": prefix, "mode": params.mode.unwrap_or_else(|| "longest".into()), "prefixes": ans }),
    ))
}

async fn reasons(State(st): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({
        "reasons": ALL_REASONS.iter().map(|r| json!({
            "code": r.code(), "name": r.name(), "description": r.description(),
            "community": format!("{}:1101:{}", st.info.asn, r.code()),
        })).collect::<Vec<_>>()
    }))
}

async fn metrics(State(st): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(),
    )
}
