//! The `collector:` section: where the fabric collector listens for sFlow and serves its API.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::build::non_empty_list;
use crate::decode::Ctx;
use crate::model::RouteServer;
use crate::node::{Loc, Node};

/// Settings of the fabric collector (`fox collector`); defaults when the section is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorSettings {
    /// UDP addresses to receive sFlow v5 on (default `[::]:6343` and `0.0.0.0:6343`).
    pub sflow_listen: Vec<SocketAddr>,
    /// JSON API and /metrics address (default 127.0.0.1:8190).
    pub api: SocketAddr,
}

impl CollectorSettings {
    /// The default sFlow listen addresses.
    pub fn default_sflow_listen() -> Vec<SocketAddr> {
        vec![
            SocketAddr::from(([0u16; 8], 6343)),
            SocketAddr::from(([0, 0, 0, 0], 6343)),
        ]
    }

    /// The default API address.
    pub fn default_api() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8190))
    }
}

impl Default for CollectorSettings {
    fn default() -> Self {
        CollectorSettings {
            sflow_listen: Self::default_sflow_listen(),
            api: Self::default_api(),
        }
    }
}

const COLLECTOR_KEYS: &[&str] = &["sflow_listen", "api"];

/// Decodes `collector:`; `route_servers` is checked for API address clashes.
pub(crate) fn decode_collector(
    cx: &mut Ctx,
    node: &Node,
    route_servers: &[RouteServer],
) -> Option<CollectorSettings> {
    let f = cx.fields(node, "collector", COLLECTOR_KEYS)?;
    let sflow_listen = match f.get("sflow_listen") {
        None => Some(CollectorSettings::default_sflow_listen()),
        Some(n) => decode_listen(cx, n),
    };
    let (api, api_loc) = match f.get("api") {
        Some(n) => (cx.socket_addr(n, "api"), n.loc),
        None => (Some(CollectorSettings::default_api()), f.loc),
    };
    if let Some(a) = api {
        if let Some(rs) = route_servers.iter().find(|r| r.api == a) {
            let msg = format!(
                "collector api address {a} is already used by route server `{}`; set `api`",
                rs.name
            );
            cx.err(api_loc, msg);
        }
    }
    Some(CollectorSettings {
        sflow_listen: sflow_listen?,
        api: api?,
    })
}

fn decode_listen(cx: &mut Ctx, node: &Node) -> Option<Vec<SocketAddr>> {
    let items = non_empty_list(cx, node, "sflow_listen")?;
    let mut seen: HashMap<SocketAddr, Loc> = HashMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        let Some(a) = cx.socket_addr(i, "sflow_listen") else {
            ok = false;
            continue;
        };
        if let Some(first) = seen.get(&a) {
            let msg = format!(
                "`sflow_listen`: {a} is listed twice (first at line {})",
                first.line
            );
            cx.err(i.loc, msg);
            ok = false;
            continue;
        }
        seen.insert(a, i.loc);
        out.push(a);
    }
    ok.then_some(out)
}
