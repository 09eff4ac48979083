//! The looking glass's own JSON API (documented in `openapi.json`).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::Role;
use crate::data::{self, RouteParams};
use crate::server::ClientAddr;
use crate::state::{AppState, Failure};

/// The OpenAPI 3 document, written by hand.
pub const OPENAPI: &str = include_str!("openapi.json");

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, Failure>;

/// Maps a query-string rejection to a 400 that says what was wrong.
pub fn query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Failure> {
    q.map(|Query(t)| t)
        .map_err(|e| Failure::bad(format!("bad query: {}", e.body_text())))
}

/// `GET /api/openapi.json`
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /api/v1/whoami`: the caller's role.
pub async fn whoami(Extension(role): Extension<Role>) -> Json<Value> {
    let (kind, member) = match &role {
        Role::Public => ("public", None),
        Role::Member(m) => ("member", Some(m.clone())),
        Role::Noc => ("noc", None),
    };
    Json(json!({ "role": kind, "member": member }))
}

/// `GET /api/v1/summary`
pub async fn summary(State(st): State<AppState>) -> Json<Value> {
    Json(data::summary(&st).await)
}

/// `GET /api/v1/routeservers`: configured route servers and whether they answer.
pub async fn route_servers(State(st): State<AppState>) -> Json<Value> {
    let all = st.sources.all_route_servers("/api/v1/status").await;
    Json(json!({
        "route_servers": all.into_iter().map(|(s, f)| match f {
            Ok(v) => json!({ "name": s.name, "up": true, "error": null, "status": v }),
            Err(e) => json!({ "name": s.name, "up": !e.is_down(), "error": e.to_string(), "status": null }),
        }).collect::<Vec<_>>()
    }))
}

/// `GET /api/v1/routeservers/{rs}/neighbors`
pub async fn neighbors(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(rs): Path<String>,
) -> ApiResult {
    data::neighbors(&st, &role, &rs).await.map(Json)
}

/// `GET /api/v1/routeservers/{rs}/neighbors/{addr}`
pub async fn neighbor(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path((rs, addr)): Path<(String, String)>,
) -> ApiResult {
    data::neighbor(&st, &role, &rs, &addr).await.map(Json)
}

/// `GET /api/v1/routeservers/{rs}/neighbors/{addr}/routes/{kind}`
pub async fn routes(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path((rs, addr, kind)): Path<(String, String, String)>,
    q: Result<Query<RouteParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let p = query(q)?;
    data::routes(&st, &role, &rs, &addr, &kind, &p)
        .await
        .map(Json)
}

/// Query of a prefix lookup.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupParams {
    /// The prefix or address.
    pub prefix: Option<String>,
    /// exact, longest (default) or more-specific.
    pub mode: Option<String>,
}

/// `GET /api/v1/lookup?prefix=&mode=`
pub async fn lookup(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    q: Result<Query<LookupParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let p = query(q)?;
    data::lookup(&st, &role, p.prefix.as_deref(), p.mode.as_deref())
        .await
        .map(Json)
}

/// `GET /api/v1/members/{name}`
pub async fn member(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(name): Path<String>,
) -> ApiResult {
    data::member(&st, &role, &name).await.map(Json)
}

/// `GET /api/v1/reasons`
pub async fn reasons(State(st): State<AppState>) -> ApiResult {
    data::reasons(&st).await.map(Json)
}

/// `GET /metrics`: for the NOC token or trusted networks (the Prometheus server).
pub async fn metrics(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(ClientAddr(peer)): Extension<ClientAddr>,
) -> Response {
    if role != Role::Noc && !st.trusted(peer.ip()) {
        return Failure {
            status: StatusCode::FORBIDDEN,
            message: "metrics are for the NOC token or trusted networks".into(),
        }
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}
