//! The optional `looking_glass:` section: where the looking glass listens, which route
//! servers and collectors it reads, its cache, tokens file and rate limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::decode::Ctx;
use crate::model::RouteServer;
use crate::node::{Loc, Node};

/// The looking glass: HTTP API and web UI over the route servers and the collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookingGlass {
    /// Address the web UI and JSON API listen on (default 127.0.0.1:8080).
    pub listen: SocketAddr,
    /// Route-server admin APIs to read (default: every route server's `api`).
    pub route_servers: Vec<LgSource>,
    /// Collector APIs to read (default: none).
    pub collectors: Vec<LgSource>,
    /// How long answers from a source are reused (default 5 s).
    pub cache: Duration,
    /// How long one request to a source may take (default 3 s).
    pub timeout: Duration,
    /// File of hashed tokens (`name|noc sha256-hex` lines or YAML); `None`: public only.
    pub tokens_file: Option<PathBuf>,
    /// Requests per client address.
    pub rate_limit: RateLimit,
    /// Client networks allowed to use the birdwatcher endpoints without a token
    /// (default 127.0.0.0/8 and ::1/128, as birdwatcher's `allow_from`).
    pub birdwatcher_allow: Vec<IpNet>,
}

/// One HTTP source: a name shown to people and the base URL of its API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LgSource {
    /// Name, e.g. "rs1".
    pub name: String,
    /// Base URL, plain `http://host:port` with an optional path prefix, no trailing slash.
    pub url: String,
}

/// A token bucket per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per minute (default 120).
    pub per_minute: u32,
    /// Requests allowed in a burst (default 30).
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_minute: 120,
            burst: 30,
        }
    }
}

impl LookingGlass {
    /// The settings used when the file has no `looking_glass:` section.
    pub fn defaults(route_servers: &[RouteServer]) -> LookingGlass {
        LookingGlass {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            route_servers: route_servers
                .iter()
                .map(|r| LgSource {
                    name: r.name.clone(),
                    url: format!("http://{}", r.api),
                })
                .collect(),
            collectors: Vec::new(),
            cache: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            tokens_file: None,
            rate_limit: RateLimit::default(),
            birdwatcher_allow: default_allow(),
        }
    }
}

fn default_allow() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

const LG_KEYS: &[&str] = &[
    "listen",
    "route_servers",
    "collectors",
    "cache_seconds",
    "timeout",
    "tokens_file",
    "rate_limit",
    "birdwatcher_allow",
];

/// Decodes `looking_glass:`; `route_servers` fill in the default sources.
pub(crate) fn decode_looking_glass(
    cx: &mut Ctx,
    node: &Node,
    route_servers: &[RouteServer],
) -> Option<LookingGlass> {
    let f = cx.fields(node, "looking_glass", LG_KEYS)?;
    let d = LookingGlass::defaults(route_servers);
    let listen = match f.get("listen") {
        Some(n) => cx.socket_addr(n, "listen"),
        None => Some(d.listen),
    };
    let rs = match f.get("route_servers") {
        Some(n) => sources(cx, n, "route_servers"),
        None => Some(d.route_servers),
    };
    let collectors = match f.get("collectors") {
        Some(n) => sources(cx, n, "collectors"),
        None => Some(Vec::new()),
    };
    let cache = match f.get("cache_seconds") {
        Some(n) => cx
            .int::<u64>(n, "cache_seconds", 0, 3600)
            .map(Duration::from_secs),
        None => Some(d.cache),
    };
    let timeout = match f.get("timeout") {
        Some(n) => cx.duration(n, "timeout").and_then(|t| {
            if t.is_zero() || t > Duration::from_secs(120) {
                cx.err(n.loc, "`timeout` must be between 1s and 120s");
                return None;
            }
            Some(t)
        }),
        None => Some(d.timeout),
    };
    let tokens_file = f
        .get("tokens_file")
        .and_then(|n| cx.string(n, "tokens_file").map(PathBuf::from));
    let rate_limit = match f.get("rate_limit") {
        Some(n) => rate(cx, n),
        None => Some(RateLimit::default()),
    };
    let birdwatcher_allow = match f.get("birdwatcher_allow") {
        Some(n) => cx.list(n, "birdwatcher_allow").and_then(|items| {
            items
                .iter()
                .map(|i| cx.prefix(i, "birdwatcher_allow"))
                .collect::<Vec<_>>()
                .into_iter()
                .collect()
        }),
        None => Some(d.birdwatcher_allow),
    };
    Some(LookingGlass {
        listen: listen?,
        route_servers: rs?,
        collectors: collectors?,
        cache: cache?,
        timeout: timeout?,
        tokens_file,
        rate_limit: rate_limit?,
        birdwatcher_allow: birdwatcher_allow?,
    })
}

fn rate(cx: &mut Ctx, node: &Node) -> Option<RateLimit> {
    let f = cx.fields(node, "rate_limit", &["per_minute", "burst"])?;
    let d = RateLimit::default();
    let per_minute = match f.get("per_minute") {
        Some(n) => cx.int(n, "per_minute", 1, 1_000_000),
        None => Some(d.per_minute),
    };
    let burst = match f.get("burst") {
        Some(n) => cx.int(n, "burst", 1, 1_000_000),
        None => Some(d.burst),
    };
    Some(RateLimit {
        per_minute: per_minute?,
        burst: burst?,
    })
}

fn sources(cx: &mut Ctx, node: &Node, key: &str) -> Option<Vec<LgSource>> {
    let items = cx.list(node, key)?;
    let mut names: HashMap<String, Loc> = HashMap::new();
    let mut out = Vec::new();
    for item in items {
        let Some(f) = cx.fields(item, &format!("an entry of `{key}`"), &["name", "url"]) else {
            out.push(None);
            continue;
        };
        let name_node = f.req(cx, "name");
        let name = name_node.and_then(|n| {
            let s = cx.string(n, "name")?;
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                cx.err(
                    n.loc,
                    format!("`name`: `{s}` may only hold letters, digits, '-', '_' and '.' (it is part of URLs)"),
                );
                return None;
            }
            if let Some(first) = names.get(&s) {
                let msg = format!(
                    "duplicate source name `{s}` in `{key}` (first at line {})",
                    first.line
                );
                cx.err(n.loc, msg);
                return None;
            }
            names.insert(s.clone(), n.loc);
            Some(s)
        });
        let url = f
            .req(cx, "url")
            .and_then(|n| cx.string(n, "url").and_then(|u| check_url(cx, n, &u)));
        out.push(name.zip(url).map(|(name, url)| LgSource { name, url }));
    }
    out.into_iter().collect()
}

/// Accepts `http://host[:port][/path]`; returns it without a trailing slash.
fn check_url(cx: &mut Ctx, n: &Node, u: &str) -> Option<String> {
    let u = u.trim();
    if u.starts_with("https://") {
        cx.err(
            n.loc,
            format!("`url`: `{u}` uses https, which the looking glass does not speak; use http:// on the management network"),
        );
        return None;
    }
    let Some(rest) = u.strip_prefix("http://") else {
        cx.err(
            n.loc,
            format!("`url`: `{u}` is not an http:// URL (e.g. http://127.0.0.1:8180)"),
        );
        return None;
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || host.contains(char::is_whitespace) {
        cx.err(n.loc, format!("`url`: `{u}` has no valid host"));
        return None;
    }
    Some(u.trim_end_matches('/').to_owned())
}

impl crate::Config {
    /// The looking-glass settings: the `looking_glass:` section, or the defaults.
    pub fn looking_glass_settings(&self) -> LookingGlass {
        self.looking_glass
            .clone()
            .unwrap_or_else(|| LookingGlass::defaults(&self.route_servers))
    }
}
