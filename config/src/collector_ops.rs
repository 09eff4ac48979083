//! Operations settings of the collector: interfaces polled over netlink (`interfaces:`),
//! traffic baselines (`baselines:`), and what a probe is about (`kind`, `site`, `link`,
//! `route_server`, `member`) so alerts can be correlated.

use std::collections::HashMap;
use std::time::Duration;

use crate::decode::Ctx;
use crate::node::{Kind, Loc, Node};

/// Longest Linux interface name (IFNAMSIZ less the terminating NUL).
const IFNAME_MAX: usize = 15;

/// One fabric interface whose kernel counters the collector reads (`collector: interfaces:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceSettings {
    /// Kernel interface name, e.g. `br-hsinchu`.
    pub name: String,
    /// Site id the interface belongs to (a label on its metrics).
    pub site: String,
}

/// How a probe measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeKind {
    /// UDP STAMP (RFC 8762) to a session-reflector at `addr:port`.
    #[default]
    Stamp,
    /// ICMP echo to an address (the port of `target` is 0).
    Icmp,
}

/// What a probe's path depends on, for correlating alerts (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeTags {
    /// The site the target is at.
    pub site: Option<String>,
    /// The fabric link the probe crosses, e.g. `hsinchu-tainan`.
    pub link: Option<String>,
    /// The route server the target is (or belongs to).
    pub route_server: Option<String>,
    /// The member whose router is the target.
    pub member: Option<String>,
}

impl ProbeTags {
    /// Whether any tag is set (an untagged probe is judged alone, at once).
    pub fn any(&self) -> bool {
        self.site.is_some()
            || self.link.is_some()
            || self.route_server.is_some()
            || self.member.is_some()
    }
}

/// Traffic baselines and surge/drop detection (`collector: baselines:`).
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineSettings {
    /// Length of one measuring interval (default 60s).
    pub interval: Duration,
    /// Intervals learned before a baseline is judged (default 30).
    pub warmup: u32,
    /// A rate above `surge_factor` times the baseline is a surge (default 5).
    pub surge_factor: f64,
    /// ... and only if it is at least this many bits per second above it (default 100 Mb/s).
    pub surge_min_bps: f64,
    /// A member whose baseline is at least this (bits per second) is normally busy
    /// (default 10 Mb/s).
    pub busy_bps: f64,
    /// A busy member falling under this fraction of its baseline is a drop (default 0.05).
    pub drop_ratio: f64,
    /// Per-probe RTT band: learned mean ± `rtt_k` times the learned mean absolute
    /// deviation (default 4).
    pub rtt_k: f64,
    /// Smallest half-width of the RTT band, milliseconds (default 1), so a very steady
    /// RTT does not alert on jitter.
    pub rtt_min_band_ms: f64,
    /// Consecutive replies outside the band before an RTT anomaly is raised (default 3).
    pub rtt_after: u32,
    /// Days of the history store learned at start (member traffic, probe RTT), so a
    /// restart does not start the warm-up again (default 7; 0: none).
    pub seed_days: u32,
}

// The loader accepts finite numbers only, so equality is total.
impl Eq for BaselineSettings {}

impl Default for BaselineSettings {
    fn default() -> Self {
        BaselineSettings {
            interval: Duration::from_secs(60),
            warmup: 30,
            surge_factor: 5.0,
            surge_min_bps: 100e6,
            busy_bps: 10e6,
            drop_ratio: 0.05,
            rtt_k: 4.0,
            rtt_min_band_ms: 1.0,
            rtt_after: 3,
            seed_days: 7,
        }
    }
}

/// A number (integer or decimal) in `min..=max`.
pub(crate) fn number(cx: &mut Ctx, node: &Node, key: &str, min: f64, max: f64) -> Option<f64> {
    let v = match node.kind {
        Kind::Int(i) => i as f64,
        Kind::Float(f) if f.is_finite() => f,
        _ => {
            cx.err(node.loc, format!("`{key}` must be a number"));
            return None;
        }
    };
    if !(min..=max).contains(&v) {
        cx.err(
            node.loc,
            format!("`{key}` is {v}, must be between {min} and {max}"),
        );
        return None;
    }
    Some(v)
}

/// Checks that `site` names a site of the `sites:` section (when that section decoded).
fn known_site(cx: &mut Ctx, node: &Node, key: &str) -> Option<String> {
    let s = cx.string(node, key)?;
    if let Some(sites) = &cx.sites {
        if !sites.contains_key(&s) {
            let mut known: Vec<&String> = sites.keys().collect();
            known.sort();
            let msg = format!("`{key}`: no site `{s}` (sites: {known:?})");
            cx.err(node.loc, msg);
            return None;
        }
    }
    Some(s)
}

/// Decodes `interfaces: [{name, site}]`.
pub(crate) fn decode_interfaces(cx: &mut Ctx, node: &Node) -> Option<Vec<InterfaceSettings>> {
    let items = cx.list(node, "interfaces")?;
    let mut seen: HashMap<String, Loc> = HashMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        let Some(f) = cx.fields(i, "an interface", &["name", "site"]) else {
            ok = false;
            continue;
        };
        let name_node = f.req(cx, "name");
        let name = name_node.and_then(|n| cx.string(n, "name"));
        let site = f.req(cx, "site").and_then(|n| known_site(cx, n, "site"));
        let (Some(name), Some(site), Some(nn)) = (name, site, name_node) else {
            ok = false;
            continue;
        };
        if name.is_empty() || name.len() > IFNAME_MAX || name.contains(['/', ' ']) {
            let msg = format!(
                "interface name `{name}` is not a Linux interface name (1 to {IFNAME_MAX} characters, no `/` or space)"
            );
            cx.err(nn.loc, msg);
            ok = false;
            continue;
        }
        if let Some(first) = seen.get(&name) {
            let msg = format!(
                "interface `{name}` is listed twice (first at line {})",
                first.line
            );
            cx.err(i.loc, msg);
            ok = false;
            continue;
        }
        seen.insert(name.clone(), i.loc);
        out.push(InterfaceSettings { name, site });
    }
    ok.then_some(out)
}

/// Decodes `kind: stamp | icmp`.
pub(crate) fn decode_kind(cx: &mut Ctx, node: &Node) -> Option<ProbeKind> {
    match cx.string(node, "kind")?.as_str() {
        "stamp" => Some(ProbeKind::Stamp),
        "icmp" => Some(ProbeKind::Icmp),
        other => {
            cx.err(
                node.loc,
                format!("`kind`: unknown probe kind `{other}` (stamp or icmp)"),
            );
            None
        }
    }
}

/// Decodes the correlation tags of a probe from its fields.
pub(crate) fn decode_tags(cx: &mut Ctx, f: &crate::decode::Fields<'_>) -> Option<ProbeTags> {
    let site = match f.get("site") {
        None => Some(None),
        Some(n) => known_site(cx, n, "site").map(Some),
    };
    let route_server = match f.get("route_server") {
        None => Some(None),
        Some(n) => {
            let r = cx.string(n, "route_server");
            match (&r, &cx.route_servers) {
                (Some(name), Some(rs)) if !rs.contains_key(name) => {
                    cx.err(n.loc, format!("`route_server`: no route server `{name}`"));
                    None
                }
                _ => r.map(Some),
            }
        }
    };
    let mut opt = |key: &str| match f.get(key) {
        None => Some(None),
        Some(n) => cx.string(n, key).map(Some),
    };
    let link = opt("link");
    let member = opt("member");
    Some(ProbeTags {
        site: site?,
        link: link?,
        route_server: route_server?,
        member: member?,
    })
}

/// Decodes `baselines:`.
pub(crate) fn decode_baselines(
    cx: &mut Ctx,
    node: &Node,
    duration: impl Fn(&mut Ctx, &Node, &str) -> Option<Duration>,
) -> Option<BaselineSettings> {
    const KEYS: &[&str] = &[
        "interval",
        "warmup",
        "surge_factor",
        "surge_min_bps",
        "busy_bps",
        "drop_ratio",
        "rtt_k",
        "rtt_min_band_ms",
        "rtt_after",
        "seed_days",
    ];
    let f = cx.fields(node, "baselines", KEYS)?;
    let d = BaselineSettings::default();
    let interval = match f.get("interval") {
        None => Some(d.interval),
        Some(n) => duration(cx, n, "interval"),
    };
    let warmup = match f.get("warmup") {
        None => Some(d.warmup),
        Some(n) => number(cx, n, "warmup", 1.0, 100_000.0).map(|v| v as u32),
    };
    let mut num = |key: &str, default: f64, min: f64, max: f64| match f.get(key) {
        None => Some(default),
        Some(n) => number(cx, n, key, min, max),
    };
    let surge_factor = num("surge_factor", d.surge_factor, 1.0, 1e6);
    let surge_min_bps = num("surge_min_bps", d.surge_min_bps, 0.0, 1e15);
    let busy_bps = num("busy_bps", d.busy_bps, 0.0, 1e15);
    let drop_ratio = num("drop_ratio", d.drop_ratio, 0.0, 1.0);
    let rtt_k = num("rtt_k", d.rtt_k, 0.1, 1e3);
    let rtt_min_band_ms = num("rtt_min_band_ms", d.rtt_min_band_ms, 0.0, 1e6);
    let rtt_after = num("rtt_after", f64::from(d.rtt_after), 1.0, 1000.0).map(|v| v as u32);
    let seed_days = num("seed_days", f64::from(d.seed_days), 0.0, 400.0).map(|v| v as u32);
    Some(BaselineSettings {
        interval: interval?,
        warmup: warmup?,
        surge_factor: surge_factor?,
        surge_min_bps: surge_min_bps?,
        busy_bps: busy_bps?,
        drop_ratio: drop_ratio?,
        rtt_k: rtt_k?,
        rtt_min_band_ms: rtt_min_band_ms?,
        rtt_after: rtt_after?,
        seed_days: seed_days?,
    })
}
