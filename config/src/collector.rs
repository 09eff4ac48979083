//! The `collector:` section: where the fabric collector listens for sFlow and serves its API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::build::non_empty_list;
use crate::clickhouse::{decode_clickhouse, ClickHouseSettings};
use crate::collector_ops::{
    decode_baselines, decode_interfaces, decode_kind, decode_tags, BaselineSettings,
    InterfaceSettings, ProbeKind, ProbeTags,
};
use crate::decode::Ctx;
use crate::model::RouteServer;
use crate::node::{Kind, Loc, Node};

/// Settings of the fabric collector (`fox collector`); defaults when the section is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorSettings {
    /// UDP addresses to receive sFlow v5 on (default `[::]:6343` and `0.0.0.0:6343`).
    pub sflow_listen: Vec<SocketAddr>,
    /// JSON API and /metrics address (default 127.0.0.1:8190).
    pub api: SocketAddr,
    /// UDP address to answer STAMP test packets on (RFC 8762 reflector), if any.
    pub stamp_reflector: Option<SocketAddr>,
    /// STAMP probes to run.
    pub probes: Vec<ProbeSettings>,
    /// Targets the probes are judged against.
    pub sla: SlaSettings,
    /// Alert delivery targets.
    pub alerts: AlertTargets,
    /// Interfaces whose kernel counters are read over netlink.
    pub interfaces: Vec<InterfaceSettings>,
    /// Time between two reads of the interface counters (default 10s).
    pub interface_interval: Duration,
    /// Traffic baselines and surge/drop detection.
    pub baselines: BaselineSettings,
    /// How long an alert of a tagged probe waits for a common cause before it is sent
    /// on its own (default 10s).
    pub alert_hold: Duration,
    /// Flow archive in ClickHouse, if configured.
    pub clickhouse: Option<ClickHouseSettings>,
    /// How often each route server's admin API is asked for its member sessions
    /// (`session_poll`, default 10s).
    pub session_poll: Duration,
    /// Name and admin API address of each configured route server (from `route_servers:`),
    /// whose member sessions the collector polls.
    pub route_server_apis: Vec<(String, SocketAddr)>,
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
            stamp_reflector: None,
            probes: Vec::new(),
            sla: SlaSettings::default(),
            alerts: AlertTargets::default(),
            interfaces: Vec::new(),
            interface_interval: Duration::from_secs(10),
            baselines: BaselineSettings::default(),
            alert_hold: Duration::from_secs(10),
            clickhouse: None,
            session_poll: Duration::from_secs(10),
            route_server_apis: Vec::new(),
        }
    }
}

const COLLECTOR_KEYS: &[&str] = &[
    "sflow_listen",
    "api",
    "stamp_reflector",
    "probes",
    "sla",
    "alerts",
    "interfaces",
    "interface_interval",
    "baselines",
    "alert_hold",
    "clickhouse",
    "session_poll",
];

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
    let stamp_reflector = match f.get("stamp_reflector") {
        None => Some(None),
        Some(n) => cx.socket_addr(n, "stamp_reflector").map(Some),
    };
    let probes = match f.get("probes") {
        None => Some(Vec::new()),
        Some(n) => decode_probes(cx, n),
    };
    let sla = match f.get("sla") {
        None => Some(SlaSettings::default()),
        Some(n) => decode_sla(cx, n),
    };
    let alerts = match f.get("alerts") {
        None => Some(AlertTargets::default()),
        Some(n) => decode_alerts(cx, n),
    };
    let d = CollectorSettings::default();
    let interfaces = match f.get("interfaces") {
        None => Some(Vec::new()),
        Some(n) => decode_interfaces(cx, n),
    };
    let interface_interval = match f.get("interface_interval") {
        None => Some(d.interface_interval),
        Some(n) => short_duration(cx, n, "interface_interval"),
    };
    let baselines = match f.get("baselines") {
        None => Some(BaselineSettings::default()),
        Some(n) => decode_baselines(cx, n, short_duration),
    };
    let alert_hold = match f.get("alert_hold") {
        None => Some(d.alert_hold),
        Some(n) => short_duration(cx, n, "alert_hold"),
    };
    let clickhouse = match f.get("clickhouse") {
        None => Some(None),
        Some(n) => decode_clickhouse(cx, n).map(Some),
    };
    let session_poll = match f.get("session_poll") {
        None => Some(d.session_poll),
        Some(n) => short_duration(cx, n, "session_poll"),
    };
    Some(CollectorSettings {
        session_poll: session_poll?,
        route_server_apis: route_servers
            .iter()
            .map(|r| (r.name.clone(), r.api))
            .collect(),
        interfaces: interfaces?,
        interface_interval: interface_interval?,
        baselines: baselines?,
        alert_hold: alert_hold?,
        sflow_listen: sflow_listen?,
        api: api?,
        stamp_reflector: stamp_reflector?,
        probes: probes?,
        sla: sla?,
        alerts: alerts?,
        clickhouse: clickhouse?,
    })
}

/// A duration that may also be written in milliseconds (`250ms`); must be positive.
fn short_duration(cx: &mut Ctx, node: &Node, key: &str) -> Option<Duration> {
    let d = match &node.kind {
        Kind::Str(s) if s.trim().ends_with("ms") => {
            let n = s.trim().trim_end_matches("ms").trim().parse::<u64>().ok();
            if n.is_none() {
                cx.err(node.loc, format!("`{key}`: bad duration `{s}`"));
            }
            n.map(Duration::from_millis)
        }
        _ => cx.duration(node, key),
    }?;
    if d.is_zero() {
        cx.err(node.loc, format!("`{key}` must be more than zero"));
        return None;
    }
    Some(d)
}

use crate::collector_ops::number;

const PROBE_KEYS: &[&str] = &[
    "name",
    "target",
    "interval",
    "timeout",
    "kind",
    "site",
    "link",
    "route_server",
    "member",
];

fn decode_probes(cx: &mut Ctx, node: &Node) -> Option<Vec<ProbeSettings>> {
    let items = cx.list(node, "probes")?;
    let mut seen: HashMap<String, Loc> = HashMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        let Some(f) = cx.fields(i, "a probe", PROBE_KEYS) else {
            ok = false;
            continue;
        };
        let name = f.req(cx, "name").and_then(|n| cx.string(n, "name"));
        let kind = match f.get("kind") {
            None => Some(ProbeKind::Stamp),
            Some(n) => decode_kind(cx, n),
        };
        let target = f.req(cx, "target").and_then(|n| match kind {
            Some(ProbeKind::Stamp) => cx.socket_addr(n, "target"),
            // An ICMP target is an address; `addr:port` is accepted and the port ignored.
            // (With a bad `kind`, only that is reported.)
            _ => match &n.kind {
                Kind::Str(s) if s.parse::<std::net::IpAddr>().is_ok() => {
                    cx.ip(n, "target").map(|ip| SocketAddr::new(ip, 0))
                }
                _ => cx.socket_addr(n, "target"),
            },
        });
        let tags = decode_tags(cx, &f);
        let interval = match f.get("interval") {
            None => Some(Duration::from_secs(1)),
            Some(n) => short_duration(cx, n, "interval"),
        };
        let timeout = match f.get("timeout") {
            None => Some(Duration::from_secs(1)),
            Some(n) => short_duration(cx, n, "timeout"),
        };
        let (Some(name), Some(target), Some(interval), Some(timeout), Some(kind), Some(tags)) =
            (name, target, interval, timeout, kind, tags)
        else {
            ok = false;
            continue;
        };
        if let Some(first) = seen.get(&name) {
            let msg = format!(
                "probe `{name}` is defined twice (first at line {})",
                first.line
            );
            cx.err(i.loc, msg);
            ok = false;
            continue;
        }
        seen.insert(name.clone(), i.loc);
        out.push(ProbeSettings {
            name,
            target,
            interval,
            timeout,
            kind,
            tags,
        });
    }
    ok.then_some(out)
}

fn decode_sla(cx: &mut Ctx, node: &Node) -> Option<SlaSettings> {
    let f = cx.fields(node, "sla", &["rtt_ms", "availability", "loss_percent"])?;
    let d = SlaSettings::default();
    let rtt = match f.get("rtt_ms") {
        None => Some(d.rtt),
        Some(n) => number(cx, n, "rtt_ms", 0.001, 3_600_000.0)
            .map(|ms| Duration::from_micros((ms * 1000.0).round() as u64)),
    };
    let ppm = |v: f64| (v * 10_000.0).round() as u32;
    let availability = match f.get("availability") {
        None => Some(d.availability_ppm),
        Some(n) => number(cx, n, "availability", 0.0, 100.0).map(ppm),
    };
    let loss = match f.get("loss_percent") {
        None => Some(d.loss_ppm),
        Some(n) => number(cx, n, "loss_percent", 0.0, 100.0).map(ppm),
    };
    Some(SlaSettings {
        rtt: rtt?,
        availability_ppm: availability?,
        loss_ppm: loss?,
    })
}

fn decode_alerts(cx: &mut Ctx, node: &Node) -> Option<AlertTargets> {
    let f = cx.fields(node, "alerts", &["webhooks", "alertmanager"])?;
    let mut urls = |key: &str| -> Option<Vec<String>> {
        let Some(n) = f.get(key) else {
            return Some(Vec::new());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for i in cx.list(n, key)? {
            match cx.string(i, key) {
                Some(u) if u.starts_with("http://") => out.push(u),
                Some(u) => {
                    cx.err(i.loc, format!("`{key}`: `{u}` must be an http:// URL"));
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    };
    let webhooks = urls("webhooks");
    let alertmanager = urls("alertmanager");
    Some(AlertTargets {
        webhooks: webhooks?,
        alertmanager: alertmanager?,
    })
}

/// One active probe run by the collector (`collector: probes:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSettings {
    /// Name used in metrics labels, the API and alerts (unique).
    pub name: String,
    /// STAMP session-reflector address (`addr:port`, RFC 8762 default port 862).
    pub target: SocketAddr,
    /// Time between test packets (default 1s).
    pub interval: Duration,
    /// How long to wait for a reflected packet before counting it lost (default 1s).
    pub timeout: Duration,
    /// STAMP (default) or ICMP echo.
    pub kind: ProbeKind,
    /// What the probe's path depends on (site, link, route server, member).
    pub tags: ProbeTags,
}

impl ProbeSettings {
    /// A STAMP probe to `target` every second with a 1 s timeout and no tags.
    pub fn stamp(name: &str, target: SocketAddr) -> Self {
        ProbeSettings {
            name: name.to_owned(),
            target,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            kind: ProbeKind::Stamp,
            tags: ProbeTags::default(),
        }
    }
}

/// Service-level targets the probes are judged (and alerted) against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaSettings {
    /// Round-trip time target.
    pub rtt: Duration,
    /// Availability target in parts per million (99.92% = 999_200).
    pub availability_ppm: u32,
    /// Loss target in parts per million (1% = 10_000).
    pub loss_ppm: u32,
}

impl SlaSettings {
    /// Availability target as a percentage.
    pub fn availability_percent(&self) -> f64 {
        f64::from(self.availability_ppm) / 10_000.0
    }

    /// Loss target as a percentage.
    pub fn loss_percent(&self) -> f64 {
        f64::from(self.loss_ppm) / 10_000.0
    }
}

impl Default for SlaSettings {
    fn default() -> Self {
        SlaSettings {
            rtt: Duration::from_millis(12),
            availability_ppm: 999_200,
            loss_ppm: 10_000,
        }
    }
}

/// Where alerts are delivered (`collector: alerts:`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertTargets {
    /// Mattermost/Slack-compatible incoming webhook URLs (POST `{"text": ...}`).
    pub webhooks: Vec<String>,
    /// Alertmanager base URLs (alerts go to `<url>/api/v2/alerts`).
    pub alertmanager: Vec<String>,
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
