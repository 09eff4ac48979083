//! The schema: top level, exchange, sites, LANs, route servers, blackhole, RPKI and IRR.
//! Sections are decoded in dependency order (sites and LANs before what refers to them),
//! whatever their order in the file, so every reference can be checked in one pass.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::collector::{decode_collector, CollectorSettings};
use crate::decode::{Ctx, Fields};
use crate::members::decode_members;
use crate::model::{
    Blackhole, Config, Exchange, IrrSources, PeeringLan, RouteServer, RpkiSources, RtrServer, Site,
};
use crate::node::{Kind, Loc, Node};
use crate::policy::{decode_overrides, Policy};

const TOP_KEYS: &[&str] = &[
    "exchange",
    "sites",
    "peering_lans",
    "route_servers",
    "policy",
    "blackhole",
    "rpki",
    "irr",
    "members",
    "collector",
    "looking_glass",
    "mrt",
    "history",
    "bmp",
];

/// Decodes and checks the whole file; `None` if anything was wrong (see `cx.errors`).
pub(crate) fn decode_config(cx: &mut Ctx, root: &Node, source: PathBuf) -> Option<Config> {
    if root.kind == Kind::Null {
        cx.err(
            root.loc,
            format!(
                "the file is empty; expected the keys {}",
                TOP_KEYS.join(", ")
            ),
        );
        return None;
    }
    let f = cx.fields(root, "the top level", TOP_KEYS)?;
    let exchange = f.req(cx, "exchange").and_then(|n| decode_exchange(cx, n));
    let sites = f.req(cx, "sites").and_then(|n| decode_sites(cx, n));
    let peering_lans = f.req(cx, "peering_lans").and_then(|n| decode_lans(cx, n));
    let policy = f
        .get("policy")
        .map(|n| Policy::default().merged(&decode_overrides(cx, n, "policy")))
        .unwrap_or_default();
    let route_servers = f
        .req(cx, "route_servers")
        .and_then(|n| decode_route_servers(cx, n));
    let blackhole = f.get("blackhole").and_then(|n| decode_blackhole(cx, n));
    let rpki = f
        .get("rpki")
        .and_then(|n| decode_rpki(cx, n))
        .unwrap_or_default();
    let irr = f
        .get("irr")
        .and_then(|n| decode_irr(cx, n))
        .unwrap_or_default();
    let all_rs: Vec<String> = route_servers
        .iter()
        .flatten()
        .map(|r: &RouteServer| r.name.clone())
        .collect();
    let collector = match (f.get("collector"), &route_servers) {
        (Some(n), Some(rs)) => decode_collector(cx, n, rs),
        (Some(n), None) => decode_collector(cx, n, &[]),
        (None, rs) => Some(CollectorSettings {
            route_server_apis: rs
                .iter()
                .flatten()
                .map(|r| (r.name.clone(), r.api))
                .collect(),
            ..CollectorSettings::default()
        }),
    };
    let members = f
        .req(cx, "members")
        .and_then(|n| decode_members(cx, n, &policy, &all_rs));
    let looking_glass = f.get("looking_glass").and_then(|n| {
        crate::looking_glass::decode_looking_glass(
            cx,
            n,
            route_servers.as_deref().unwrap_or_default(),
        )
    });
    let mrt = f.get("mrt").and_then(|n| {
        let data_dir = exchange.as_ref().map(|e| e.data_dir.as_path());
        crate::mrt::decode_mrt(cx, n, data_dir)
    });
    let data_dir = exchange
        .as_ref()
        .map_or_else(|| PathBuf::from("./data"), |e| e.data_dir.clone());
    let history = match f.get("history") {
        Some(n) => crate::history::decode_history(cx, n, &data_dir),
        None => Some(crate::history::HistorySettings::defaults(&data_dir)),
    };
    let bmp = match f.get("bmp") {
        Some(n) => crate::bmp::decode_bmp(cx, n),
        None => Some(Vec::new()),
    };
    if !cx.errors.is_empty() {
        return None;
    }
    Some(Config {
        exchange: exchange?,
        sites: sites?,
        peering_lans: peering_lans?,
        route_servers: route_servers?,
        policy,
        blackhole,
        rpki,
        irr,
        members: members?,
        collector: collector?,
        looking_glass,
        mrt,
        source,
        history: history?,
        bmp: bmp?,
    })
}

/// A non-empty list, or an error naming `key`.
pub(crate) fn non_empty_list<'a>(cx: &mut Ctx, node: &'a Node, key: &str) -> Option<&'a [Node]> {
    let items = cx.list(node, key)?;
    if items.is_empty() {
        cx.err(node.loc, format!("`{key}` must list at least one entry"));
        return None;
    }
    Some(items)
}

/// Decodes every item and returns all of them only if each one decoded.
fn all<T>(items: Vec<Option<T>>) -> Option<Vec<T>> {
    items.into_iter().collect()
}

/// A list of file paths.
fn paths(cx: &mut Ctx, f: &Fields<'_>, key: &str) -> Option<Vec<PathBuf>> {
    let Some(n) = f.get(key) else {
        return Some(Vec::new());
    };
    let items = cx.list(n, key)?;
    all(items
        .iter()
        .map(|i| cx.string(i, key).map(PathBuf::from))
        .collect())
}

fn decode_exchange(cx: &mut Ctx, node: &Node) -> Option<Exchange> {
    let f = cx.fields(node, "exchange", &["name", "full_name", "data_dir"])?;
    let name = f.req(cx, "name").and_then(|n| cx.string(n, "name"));
    let full_name = f.get("full_name").and_then(|n| cx.string(n, "full_name"));
    let data_dir = match f.get("data_dir") {
        Some(n) => PathBuf::from(cx.string(n, "data_dir")?),
        None => PathBuf::from("./data"),
    };
    Some(Exchange {
        name: name?,
        full_name,
        data_dir,
    })
}

fn decode_sites(cx: &mut Ctx, node: &Node) -> Option<Vec<Site>> {
    let items = non_empty_list(cx, node, "sites")?;
    let mut known: HashMap<String, Loc> = HashMap::new();
    let mut out = Vec::new();
    let mut complete = true;
    for item in items {
        let Some(f) = cx.fields(item, "site", &["id", "name"]) else {
            out.push(None);
            complete = false;
            continue;
        };
        let id_node = f.req(cx, "id");
        let id = id_node.and_then(|n| cx.string(n, "id"));
        let name = f.req(cx, "name").and_then(|n| cx.string(n, "name"));
        if let (Some(id), Some(n)) = (&id, id_node) {
            if let Some(first) = known.get(id) {
                let msg = format!("duplicate site id `{id}` (first at line {})", first.line);
                cx.err(n.loc, msg);
            } else {
                known.insert(id.clone(), n.loc);
            }
        }
        complete &= id.is_some();
        out.push(id.zip(name).map(|(id, name)| Site { id, name }));
    }
    // With a site whose id is unreadable, "unknown site" errors would only be noise.
    cx.sites = complete.then_some(known);
    all(out)
}

fn decode_lans(cx: &mut Ctx, node: &Node) -> Option<Vec<PeeringLan>> {
    let items = non_empty_list(cx, node, "peering_lans")?;
    let mut out: Vec<Option<PeeringLan>> = Vec::new();
    let mut seen: Vec<(IpNet, String, Loc)> = Vec::new();
    let mut names: HashMap<String, Loc> = HashMap::new();
    let mut complete = true;
    for item in items {
        let Some(f) = cx.fields(item, "peering LAN", &["name", "prefix"]) else {
            out.push(None);
            complete = false;
            continue;
        };
        let name_node = f.req(cx, "name");
        let name = name_node.and_then(|n| cx.string(n, "name"));
        let prefix_node = f.req(cx, "prefix");
        let prefix = prefix_node.and_then(|n| cx.prefix(n, "prefix"));
        if let (Some(name), Some(n)) = (&name, name_node) {
            if let Some(first) = names.get(name) {
                let msg = format!(
                    "duplicate peering LAN name `{name}` (first at line {})",
                    first.line
                );
                cx.err(n.loc, msg);
            } else {
                names.insert(name.clone(), n.loc);
            }
        }
        if let (Some(p), Some(n)) = (prefix, prefix_node) {
            if let Some((other, oname, oloc)) = seen
                .iter()
                .find(|(q, _, _)| q.contains(&p.network()) || p.contains(&q.network()))
            {
                let msg = format!(
                    "peering LAN {p} overlaps {other} (`{oname}`, line {})",
                    oloc.line
                );
                cx.err(n.loc, msg);
            } else {
                seen.push((p, name.clone().unwrap_or_default(), n.loc));
            }
        }
        complete &= prefix.is_some();
        out.push(
            name.zip(prefix)
                .map(|(name, prefix)| PeeringLan { name, prefix }),
        );
    }
    // With an unreadable LAN, "outside every peering LAN" errors would only be noise.
    cx.lans = complete.then(|| seen.into_iter().map(|(p, _, _)| p).collect());
    all(out)
}

const RS_KEYS: &[&str] = &[
    "name",
    "asn",
    "router_id",
    "ipv4",
    "ipv6",
    "site",
    "port",
    "listen",
    "api",
    "hold_time",
    "connect_retry",
    "connection_rate_limit",
    "connection_rate_window",
    "max_pending_connections",
];

fn decode_route_servers(cx: &mut Ctx, node: &Node) -> Option<Vec<RouteServer>> {
    let items = non_empty_list(cx, node, "route_servers")?;
    let mut names: HashMap<String, Loc> = HashMap::new();
    let mut apis: HashMap<SocketAddr, (String, Loc)> = HashMap::new();
    let mut router_ids: HashMap<Ipv4Addr, (String, Loc)> = HashMap::new();
    let mut out = Vec::new();
    let mut complete = true;
    for item in items {
        let Some(f) = cx.fields(item, "route server", RS_KEYS) else {
            out.push(None);
            complete = false;
            continue;
        };
        let name_node = f.req(cx, "name");
        let name = name_node.and_then(|n| cx.string(n, "name"));
        let label = name.clone().unwrap_or_else(|| "route server".to_owned());
        if let (Some(nm), Some(n)) = (&name, name_node) {
            if let Some(first) = names.get(nm) {
                let msg = format!(
                    "duplicate route server name `{nm}` (first at line {})",
                    first.line
                );
                cx.err(n.loc, msg);
            } else {
                names.insert(nm.clone(), n.loc);
            }
        }
        complete &= name.is_some();
        out.push(decode_route_server(
            cx,
            &f,
            name,
            &label,
            &mut apis,
            &mut router_ids,
        ));
    }
    cx.route_servers = complete.then_some(names);
    all(out)
}

fn decode_route_server(
    cx: &mut Ctx,
    f: &Fields<'_>,
    name: Option<String>,
    label: &str,
    apis: &mut HashMap<SocketAddr, (String, Loc)>,
    router_ids: &mut HashMap<Ipv4Addr, (String, Loc)>,
) -> Option<RouteServer> {
    let asn = f.req(cx, "asn").and_then(|n| cx.asn(n, "asn"));
    let router_id = f.req(cx, "router_id").and_then(|n| {
        let id = cx.ipv4(n, "router_id")?;
        if let Some((other, loc)) = router_ids.get(&id) {
            let msg = format!(
                "router_id {id} is already used by `{other}` (line {})",
                loc.line
            );
            cx.err(n.loc, msg);
        } else {
            router_ids.insert(id, (label.to_owned(), n.loc));
        }
        Some(id)
    });
    let owner = format!("route server `{label}`");
    let ipv4 = f.get("ipv4").and_then(|n| {
        let a = cx.ipv4(n, "ipv4")?;
        cx.check_lan_address(IpAddr::V4(a), n.loc, "ipv4", &owner);
        Some(a)
    });
    let ipv6 = f.get("ipv6").and_then(|n| {
        let a = cx.ipv6(n, "ipv6")?;
        cx.check_lan_address(IpAddr::V6(a), n.loc, "ipv6", &owner);
        Some(a)
    });
    if f.get("ipv4").is_none() && f.get("ipv6").is_none() {
        cx.err(
            f.loc,
            format!("route server `{label}` needs an `ipv4` or `ipv6` address"),
        );
    }
    let site = f.req(cx, "site").and_then(|n| cx.site_ref(n, "site"));
    let port = match f.get("port") {
        Some(n) => cx.int(n, "port", 1, 65535),
        None => Some(179),
    };
    let listen = match f.get("listen") {
        Some(n) => cx
            .list(n, "listen")
            .and_then(|items| all(items.iter().map(|i| cx.ip(i, "listen")).collect())),
        None => Some(
            ipv4.map(IpAddr::V4)
                .into_iter()
                .chain(ipv6.map(IpAddr::V6))
                .collect(),
        ),
    };
    let api_default = SocketAddr::from(([127, 0, 0, 1], 8180));
    let api = match f.get("api") {
        Some(n) => cx.socket_addr(n, "api").inspect(|a| {
            if let Some((other, loc)) = apis.get(a) {
                let msg = format!(
                    "api address {a} is already used by `{other}` (line {})",
                    loc.line
                );
                cx.err(n.loc, msg);
            } else {
                apis.insert(*a, (label.to_owned(), n.loc));
            }
        }),
        None => {
            if let Some((other, loc)) = apis.get(&api_default) {
                let msg = format!(
                    "route server `{label}` uses the default api address {api_default}, already used by `{other}` (line {}); set `api`",
                    loc.line
                );
                cx.err(f.loc, msg);
            } else {
                apis.insert(api_default, (label.to_owned(), f.loc));
            }
            Some(api_default)
        }
    };
    let hold_time = match f.get("hold_time") {
        Some(n) => cx.duration(n, "hold_time").and_then(|d| {
            let s = d.as_secs();
            if s != 0 && !(3..=65535).contains(&s) {
                cx.err(
                    n.loc,
                    format!(
                        "`hold_time` is {s}s; it must be 0 or between 3s and 65535s (RFC 4271)"
                    ),
                );
                return None;
            }
            Some(d)
        }),
        None => Some(Duration::from_secs(90)),
    };
    let connect_retry = match f.get("connect_retry") {
        Some(n) => cx.duration(n, "connect_retry").and_then(|d| {
            if d.is_zero() {
                cx.err(n.loc, "`connect_retry` must be at least 1s");
                return None;
            }
            Some(d)
        }),
        None => Some(Duration::from_secs(30)),
    };
    let (rate_limit, rate_window, pending) = decode_connection_limits(cx, f);
    Some(RouteServer {
        name: name?,
        asn: asn?,
        router_id: router_id?,
        ipv4,
        ipv6,
        site: site?,
        port: port?,
        listen: listen?,
        api: api?,
        hold_time: hold_time?,
        connect_retry: connect_retry?,
        connection_rate_limit: rate_limit?,
        connection_rate_window: rate_window?,
        max_pending_connections: pending?,
    })
}

/// `connection_rate_limit` (1..=100000), `connection_rate_window` (1s..=1h) and
/// `max_pending_connections` (1..=64) of a route server, defaults where absent.
fn decode_connection_limits(
    cx: &mut Ctx,
    f: &Fields<'_>,
) -> (Option<u32>, Option<Duration>, Option<u32>) {
    use crate::model::{
        DEFAULT_CONNECTION_RATE_LIMIT, DEFAULT_CONNECTION_RATE_WINDOW,
        DEFAULT_MAX_PENDING_CONNECTIONS,
    };
    let limit = match f.get("connection_rate_limit") {
        Some(n) => cx.int(n, "connection_rate_limit", 1, 100_000),
        None => Some(DEFAULT_CONNECTION_RATE_LIMIT),
    };
    let window = match f.get("connection_rate_window") {
        Some(n) => cx.duration(n, "connection_rate_window").and_then(|d| {
            if d < Duration::from_secs(1) || d > Duration::from_secs(3600) {
                cx.err(n.loc, "`connection_rate_window` must be between 1s and 1h");
                return None;
            }
            Some(d)
        }),
        None => Some(DEFAULT_CONNECTION_RATE_WINDOW),
    };
    let pending = match f.get("max_pending_connections") {
        Some(n) => cx.int(n, "max_pending_connections", 1, 64),
        None => Some(DEFAULT_MAX_PENDING_CONNECTIONS),
    };
    (limit, window, pending)
}

fn decode_blackhole(cx: &mut Ctx, node: &Node) -> Option<Blackhole> {
    let f = cx.fields(node, "blackhole", &["next_hop_ipv4", "next_hop_ipv6"])?;
    let v4 = f.get("next_hop_ipv4").and_then(|n| {
        let a = cx.ipv4(n, "next_hop_ipv4")?;
        cx.check_lan_address(
            IpAddr::V4(a),
            n.loc,
            "next_hop_ipv4",
            "the blackhole next hop",
        );
        Some(a)
    });
    let v6 = f.get("next_hop_ipv6").and_then(|n| {
        let a = cx.ipv6(n, "next_hop_ipv6")?;
        cx.check_lan_address(
            IpAddr::V6(a),
            n.loc,
            "next_hop_ipv6",
            "the blackhole next hop",
        );
        Some(a)
    });
    Some(Blackhole {
        next_hop_ipv4: v4,
        next_hop_ipv6: v6,
    })
}

fn decode_rpki(cx: &mut Ctx, node: &Node) -> Option<RpkiSources> {
    let f = cx.fields(node, "rpki", &["rtr", "files"])?;
    let rtr = match f.get("rtr") {
        None => Some(Vec::new()),
        Some(n) => cx.list(n, "rtr").and_then(|items| {
            all(items
                .iter()
                .map(|i| {
                    let g = cx.fields(i, "RTR server", &["host", "port"])?;
                    let host = g.req(cx, "host").and_then(|n| cx.string(n, "host"));
                    let port = match g.get("port") {
                        Some(n) => cx.int(n, "port", 1, 65535),
                        None => Some(323),
                    };
                    Some(RtrServer {
                        host: host?,
                        port: port?,
                    })
                })
                .collect())
        }),
    };
    let files = paths(cx, &f, "files");
    Some(RpkiSources {
        rtr: rtr?,
        files: files?,
    })
}

fn decode_irr(cx: &mut Ctx, node: &Node) -> Option<IrrSources> {
    let f = cx.fields(node, "irr", &["files"])?;
    Some(IrrSources {
        files: paths(cx, &f, "files")?,
    })
}

impl Ctx {
    /// Resolves a site reference; reports unknown ids (unless `sites:` itself was broken).
    pub(crate) fn site_ref(&mut self, node: &Node, key: &str) -> Option<String> {
        let id = self.string(node, key)?;
        if let Some(sites) = &self.sites {
            if !sites.contains_key(&id) {
                let mut known: Vec<&str> = sites.keys().map(String::as_str).collect();
                known.sort_unstable();
                let msg = format!("unknown site `{id}` (sites are: {})", known.join(", "));
                self.err(node.loc, msg);
                return None;
            }
        }
        Some(id)
    }

    /// Checks that `addr` lies on a peering LAN (not its network or broadcast address) and
    /// is not used by anyone else; records it as `owner`'s.
    pub(crate) fn check_lan_address(&mut self, addr: IpAddr, loc: Loc, key: &str, owner: &str) {
        if let Some(lans) = &self.lans {
            match lans.iter().find(|l| l.contains(&addr)) {
                None => {
                    let list: Vec<String> = lans.iter().map(ToString::to_string).collect();
                    let msg = format!(
                        "`{key}`: address {addr} is outside every peering LAN ({})",
                        list.join(", ")
                    );
                    self.err(loc, msg);
                }
                Some(IpNet::V4(lan)) if lan.prefix_len() < 31 => {
                    if IpAddr::V4(lan.network()) == addr || IpAddr::V4(lan.broadcast()) == addr {
                        let msg =
                            format!("`{key}`: {addr} is the network or broadcast address of {lan}");
                        self.err(loc, msg);
                    }
                }
                Some(_) => {}
            }
        }
        if let Some((other, first)) = self.addresses.get(&addr) {
            let msg = format!(
                "duplicate address {addr}: already used by {other} (line {})",
                first.line
            );
            self.err(loc, msg);
        } else {
            self.addresses.insert(addr, (owner.to_owned(), loc));
        }
    }
}
