//! birdwatcher's table-wide and counting endpoints: `/routes/table/{table}` (what Alice-LG's
//! store refresh streams in single_table mode), `/routes/table/{table}/filtered`,
//! `/routes/table/{table}/peer/{peer}`, `/routes/peer/{peer}` and `/routes/count/...`.
//!
//! FOX has one table per route server. It answers to BIRD's names for it: `master` (both
//! families, BIRD 1), `master4` and `master6` (BIRD 2, one family each); any other name is
//! unknown (404). Routes keep the per-protocol shape of `/routes/protocol/{id}`.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use serde_json::{json, Value};

use crate::access::Role;
use crate::birdwatcher::{
    all_routes, allowed, envelope, neighbor_by_id, BwError, BwResult, MAX_ROUTES,
};
use crate::data;
use crate::server::ClientAddr;
use crate::state::AppState;

/// Which address families a BIRD table name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `master`: IPv4 and IPv6.
    Both,
    /// `master4`.
    V4,
    /// `master6`.
    V6,
}

impl Table {
    /// The table for a BIRD table name, or a 404 naming the ones that exist.
    pub fn parse(name: &str) -> Result<Table, BwError> {
        match name {
            "master" => Ok(Table::Both),
            "master4" => Ok(Table::V4),
            "master6" => Ok(Table::V6),
            _ => Err(BwError(
                StatusCode::NOT_FOUND,
                format!(
                    "no table `{}`; tables: master, master4, master6",
                    data::clip(name)
                ),
            )),
        }
    }

    /// Whether a prefix (`a.b.c.d/n` or IPv6) belongs in this table.
    pub fn holds(self, prefix: &str) -> bool {
        match self {
            Table::Both => true,
            Table::V4 => !prefix.contains(':'),
            Table::V6 => prefix.contains(':'),
        }
    }

    /// The `(ipv4, ipv6)` weights of a neighbour's per-family counts.
    fn families(self) -> (bool, bool) {
        match self {
            Table::Both => (true, true),
            Table::V4 => (true, false),
            Table::V6 => (false, true),
        }
    }
}

/// `kind` routes (`accepted` or `filtered`) of `neighbors` that belong in `table`, in
/// neighbour order, at most [`MAX_ROUTES`].
async fn table_routes(
    st: &AppState,
    rs: &str,
    neighbors: &[Value],
    table: Table,
    kind: &str,
) -> Result<Vec<Value>, BwError> {
    let mut out = Vec::new();
    for n in neighbors {
        if out.len() >= MAX_ROUTES {
            break;
        }
        let routes = all_routes(st, rs, n, kind).await?;
        out.extend(
            routes
                .into_iter()
                .filter(|r| table.holds(r["network"].as_str().unwrap_or_default())),
        );
    }
    out.truncate(MAX_ROUTES);
    Ok(out)
}

/// The neighbour sessions with address `peer` (BIRD's `where from = peer`).
async fn neighbors_from(st: &AppState, rs: &str, peer: &str) -> Result<Vec<Value>, BwError> {
    let ip: IpAddr = peer.parse().map_err(|_| {
        BwError(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not an IP address", data::clip(peer)),
        )
    })?;
    let all = data::raw_neighbors(st, rs).await?;
    Ok(all
        .into_iter()
        .filter(|n| n["address"].as_str().and_then(|a| a.parse::<IpAddr>().ok()) == Some(ip))
        .collect())
}

/// `GET /birdwatcher/{rs}/routes/table/{table}`: every accepted route in the table.
pub async fn table(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path((rs, table)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let t = Table::parse(&table)?;
    let nbrs = data::raw_neighbors(&st, &rs).await?;
    let routes = table_routes(&st, &rs, &nbrs, t, "accepted").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

/// `GET /birdwatcher/{rs}/routes/table/{table}/filtered`: every filtered route, each with
/// its reason communities.
pub async fn table_filtered(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(peer): Extension<ClientAddr>,
    Path((rs, table)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &peer)?;
    let t = Table::parse(&table)?;
    let nbrs = data::raw_neighbors(&st, &rs).await?;
    let routes = table_routes(&st, &rs, &nbrs, t, "filtered").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

/// `GET /birdwatcher/{rs}/routes/table/{table}/peer/{peer}`: accepted routes from `peer`.
pub async fn table_peer(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(client): Extension<ClientAddr>,
    Path((rs, table, peer)): Path<(String, String, String)>,
) -> BwResult {
    allowed(&st, &role, &client)?;
    let t = Table::parse(&table)?;
    let nbrs = neighbors_from(&st, &rs, &peer).await?;
    let routes = table_routes(&st, &rs, &nbrs, t, "accepted").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

/// `GET /birdwatcher/{rs}/routes/peer/{peer}`: accepted routes from `peer`, both families.
pub async fn peer(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(client): Extension<ClientAddr>,
    Path((rs, peer)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &client)?;
    let nbrs = neighbors_from(&st, &rs, &peer).await?;
    let routes = table_routes(&st, &rs, &nbrs, Table::Both, "accepted").await?;
    Ok(envelope(&st, "routes", json!(routes)))
}

fn accepted(n: &Value, table: Table) -> u64 {
    let (v4, v6) = table.families();
    let c = &n["routes"]["accepted"];
    let pick = |on: bool, v: &Value| if on { v.as_u64().unwrap_or(0) } else { 0 };
    pick(v4, &c["ipv4"]) + pick(v6, &c["ipv6"])
}

/// `GET /birdwatcher/{rs}/routes/count/protocol/{id}`: `{"routes": N}`, the neighbour's
/// accepted routes (BIRD's `route protocol P count`).
pub async fn count_protocol(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(client): Extension<ClientAddr>,
    Path((rs, id)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &client)?;
    let n = neighbor_by_id(&st, &rs, &id).await?;
    Ok(envelope(&st, "routes", json!(accepted(&n, Table::Both))))
}

/// `GET /birdwatcher/{rs}/routes/count/table/{table}`: `{"routes": N}`, accepted routes in
/// the table over all neighbours.
pub async fn count_table(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(client): Extension<ClientAddr>,
    Path((rs, table)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &client)?;
    let t = Table::parse(&table)?;
    let nbrs = data::raw_neighbors(&st, &rs).await?;
    let total: u64 = nbrs.iter().map(|n| accepted(n, t)).sum();
    Ok(envelope(&st, "routes", json!(total)))
}

/// `GET /birdwatcher/{rs}/routes/count/primary/{id}`: `{"routes": N}`, the neighbour's routes
/// that are the overall best path for their prefix (BIRD's `route primary protocol P count`).
pub async fn count_primary(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Extension(client): Extension<ClientAddr>,
    Path((rs, id)): Path<(String, String)>,
) -> BwResult {
    allowed(&st, &role, &client)?;
    let n = neighbor_by_id(&st, &rs, &id).await?;
    let routes = all_routes(&st, &rs, &n, "accepted").await?;
    let primary = routes.iter().filter(|r| r["primary"] == true).count();
    Ok(envelope(&st, "routes", json!(primary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bird_table_names_map_to_families() {
        assert_eq!(Table::parse("master").ok(), Some(Table::Both));
        assert!(Table::V4.holds("192.0.2.0/24") && !Table::V4.holds("2001:db8::/32"));
        assert!(Table::V6.holds("2001:db8::/32") && !Table::V6.holds("192.0.2.0/24"));
        let e = Table::parse("T_AS1659").err().map(|e| (e.0, e.1));
        assert_eq!(
            e.map(|(s, m)| (s, m.contains("master4"))),
            Some((StatusCode::NOT_FOUND, true))
        );
        let n = json!({ "routes": { "accepted": { "ipv4": 3, "ipv6": 2 } } });
        assert_eq!(
            (
                accepted(&n, Table::Both),
                accepted(&n, Table::V4),
                accepted(&n, Table::V6)
            ),
            (5, 3, 2)
        );
    }
}
