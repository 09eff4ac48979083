//! The route server under test: FOX itself, or BIRD 2 configured as a transparent route
//! server (the reference that proves the harness and the assertions right).

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bird::BirdDaemon;
use crate::netns::{poll, Host, Lab, Proc};

/// The route server's identity on the exchange.
#[derive(Debug, Clone)]
pub struct RsSpec {
    /// Name in the FOX config (`rs1`).
    pub name: String,
    /// Route server ASN.
    pub asn: u32,
    /// Its host on the peering LAN.
    pub host: Host,
    /// Import policy switches and data sources (FOX only).
    pub options: RsOptions,
}

/// What a scenario turns on in FOX beyond the plain core setup; BIRD-as-RS ignores it.
#[derive(Debug, Clone, Default)]
pub struct RsOptions {
    /// `policy.rpki`: RPKI origin validation.
    pub rpki: bool,
    /// `policy.irr`: IRR origin and prefix checks.
    pub irr: bool,
    /// `rpki.rtr`: RTR caches in preference order.
    pub rtr: Vec<SocketAddr>,
    /// `irr.files`: RPSL dumps.
    pub irr_files: Vec<PathBuf>,
    /// `blackhole.next_hop_ipv4`.
    pub blackhole_v4: Option<Ipv4Addr>,
    /// `blackhole.next_hop_ipv6`.
    pub blackhole_v6: Option<Ipv6Addr>,
    /// `rpki.files`: VRP/ASPA JSON files.
    pub rpki_files: Vec<PathBuf>,
    /// `policy.aspa` (off, tag, filter); `None` leaves the default.
    pub aspa: Option<&'static str>,
    /// `mrt: { dir, interval: 2s, keep: 3 }`: periodic MRT dumps.
    pub mrt_dir: Option<PathBuf>,
}

/// Per-member settings of the route server's configuration (FOX only).
#[derive(Debug, Clone, Default)]
pub struct MemberOptions {
    /// `as_set`: the member's RPSL AS-SET.
    pub as_set: Option<String>,
    /// `max_prefix.ipv4`.
    pub max_prefix_v4: Option<u32>,
    /// `blackhole_opt_in`: receives blackhole routes.
    pub blackhole_opt_in: bool,
    /// TCP-MD5 password (`password:`).
    pub password: Option<String>,
    /// GTSM (`ttl_security: true`).
    pub ttl_security: bool,
    /// `tcp_ao:` value (a YAML flow mapping), written as is.
    pub tcp_ao: Option<String>,
}

/// One member as the route server's configuration knows it.
#[derive(Debug, Clone)]
pub struct MemberEntry {
    /// Member name (`TANet`).
    pub name: String,
    /// Member ASN.
    pub asn: u32,
    /// The member router's host (its LAN addresses and MAC).
    pub host: Host,
    /// Its per-member settings.
    pub options: MemberOptions,
}

/// A route server implementation the core scenarios run against.
pub trait RouteServerUnderTest: Sized {
    /// Short name used in logs (`bird`, `fox`).
    const KIND: &'static str;
    /// Configure and start the route server for `members`; returns once it listens on port 179.
    fn start(lab: &Arc<Lab>, rs: &RsSpec, members: &[MemberEntry]) -> Result<Self>;
    /// State worth reading after a failure (session table, metrics).
    fn diagnostics(&self) -> String;
    /// Stop the route server.
    fn stop(&mut self);
}

/// Wait (bounded) until something listens on TCP port 179 in `ns` (v4 and v6 wildcard or LAN).
fn wait_listening(lab: &Lab, ns: &str, proc: &mut Proc) -> Result<()> {
    let ok = poll(Duration::from_secs(15), Duration::from_millis(50), || {
        if !proc.running() {
            return true;
        }
        lab.exec_ok(ns, &["ss", "-Hltn", "sport = :179"])
            .map(|o| !o.trim().is_empty())
            .unwrap_or(false)
    });
    if !proc.running() {
        bail!(
            "{} exited during start-up; see {}",
            proc.name,
            proc.log.display()
        );
    }
    if !ok {
        bail!(
            "{} does not listen on port 179 after 15 s; see {}",
            proc.name,
            proc.log.display()
        );
    }
    Ok(())
}

/// BIRD 2 as a transparent route server: `rs client`, sorted tables with `secondary` export
/// (no path hiding), `next hop keep`, and the standard `0:peer` / `0:rs` control communities.
pub struct BirdRs {
    daemon: BirdDaemon,
}

/// BIRD route server configuration for `members` (one session per member address family).
pub fn bird_rs_config(rs: &RsSpec, members: &[MemberEntry]) -> String {
    let rsasn = rs.asn;
    let mut c = format!(
        "router id {id};\nlog stderr all;\nprotocol device {{ scan time 10; }}\n\
         ipv4 table rs4 sorted;\nipv6 table rs6 sorted;\n\
         # Control communities (arouteserver scheme): 0:peer = do not announce to peer,\n\
         # 0:rs = do not announce to anyone.\n\
         function rs_may_export(int peer_as) {{\n  \
           if (0, peer_as) ~ bgp_community then return false;\n  \
           if (0, {rsasn}) ~ bgp_community then return false;\n  \
           return true;\n}}\n\
         template bgp rsclient {{\n  rs client;\n  connect delay time 1;\n  \
           connect retry time 2;\n  error wait time 1, 5;\n}}\n",
        id = rs.host.ipv4
    );
    for m in members {
        let h = &m.host;
        let base: String = m.name.chars().filter(char::is_ascii_alphanumeric).collect();
        for (v, local, nbr, table) in [
            ("4", IpAddr::V4(rs.host.ipv4), IpAddr::V4(h.ipv4), "rs4"),
            ("6", IpAddr::V6(rs.host.ipv6), IpAddr::V6(h.ipv6), "rs6"),
        ] {
            let _ = write!(
                c,
                "protocol bgp {base}_v{v} from rsclient {{\n  local {local} as {rsasn};\n  \
                 neighbor {nbr} as {asn};\n  ipv{v} {{\n    table {table};\n    import all;\n    \
                 export where rs_may_export({asn});\n    secondary;\n    next hop keep;\n  }};\n}}\n",
                asn = m.asn
            );
        }
    }
    c
}

impl RouteServerUnderTest for BirdRs {
    const KIND: &'static str = "bird";

    fn start(lab: &Arc<Lab>, rs: &RsSpec, members: &[MemberEntry]) -> Result<Self> {
        let conf = bird_rs_config(rs, members);
        let daemon = BirdDaemon::start(lab, &rs.host, "bird-rs", &conf)?;
        Ok(BirdRs { daemon })
    }

    fn diagnostics(&self) -> String {
        self.daemon
            .birdc(&["show", "protocols"])
            .unwrap_or_else(|e| format!("birdc failed: {e:#}"))
    }

    fn stop(&mut self) {
        self.daemon.stop();
    }
}

/// The FOX route server: `fox routeserver --config <yaml> --name rs1` in the RS namespace.
pub struct Fox {
    lab: Arc<Lab>,
    ns: String,
    proc: Option<Proc>,
}

/// Port of FOX's admin API, bound to 127.0.0.1 inside the route server's own namespace.
pub const FOX_API: &str = "127.0.0.1:8180";

/// FOX YAML (schema v1) describing this lab: one site, the LAN, `rs`, and `members`.
/// Filters that need outside data (RPKI, IRR) are off unless `rs.options` turns them on.
pub fn fox_config(rs: &RsSpec, members: &[MemberEntry], data_dir: &str) -> String {
    let o = &rs.options;
    let mut c = format!(
        "exchange:\n  name: FOX\n  full_name: Formosa Open Exchange\n  data_dir: {data_dir}\n\
         sites:\n  - {{ id: hsinchu, name: Hsinchu }}\n\
         peering_lans:\n  - {{ name: fox-v4, prefix: 192.0.2.0/24 }}\n  \
         - {{ name: fox-v6, prefix: \"2001:db8::/64\" }}\n\
         route_servers:\n  - name: {name}\n    asn: {asn}\n    router_id: {v4}\n    ipv4: {v4}\n    \
         ipv6: \"{v6}\"\n    site: hsinchu\n    api: {FOX_API}\n    connect_retry: 2s\n\
         policy:\n  rpki: {rpki}\n  irr: {irr}\n",
        name = rs.name,
        asn = rs.asn,
        v4 = rs.host.ipv4,
        v6 = rs.host.ipv6,
        rpki = o.rpki,
        irr = o.irr,
    );
    if let Some(a) = o.aspa {
        let _ = writeln!(c, "  aspa: {a}");
    }
    if o.blackhole_v4.is_some() || o.blackhole_v6.is_some() {
        c.push_str("blackhole:\n");
        if let Some(a) = o.blackhole_v4 {
            let _ = writeln!(c, "  next_hop_ipv4: {a}");
        }
        if let Some(a) = o.blackhole_v6 {
            let _ = writeln!(c, "  next_hop_ipv6: \"{a}\"");
        }
    }
    if !o.rtr.is_empty() || !o.rpki_files.is_empty() {
        c.push_str("rpki:\n");
    }
    if !o.rtr.is_empty() {
        c.push_str("  rtr:\n");
        for a in &o.rtr {
            let _ = writeln!(c, "    - {{ host: \"{}\", port: {} }}", a.ip(), a.port());
        }
    }
    if !o.rpki_files.is_empty() {
        c.push_str("  files:\n");
        for f in &o.rpki_files {
            let _ = writeln!(c, "    - \"{}\"", f.display());
        }
    }
    if !o.irr_files.is_empty() {
        c.push_str("irr:\n  files:\n");
        for f in &o.irr_files {
            let _ = writeln!(c, "    - \"{}\"", f.display());
        }
    }
    if let Some(d) = &o.mrt_dir {
        let _ = writeln!(
            c,
            "mrt:\n  dir: \"{}\"\n  interval: 2s\n  keep: 3",
            d.display()
        );
    }
    c.push_str("members:\n");
    for m in members {
        let _ = write!(
            c,
            "  - name: {name}\n    asn: {asn}\n    route_servers: [{rs}]\n    connections:\n      \
             - site: hsinchu\n        ipv4: {v4}\n        ipv6: \"{v6}\"\n        macs: [\"{mac}\"]\n        \
             speed: 10G\n",
            name = m.name,
            asn = m.asn,
            rs = rs.name,
            v4 = m.host.ipv4,
            v6 = m.host.ipv6,
            mac = m.host.mac
        );
        let mo = &m.options;
        if let Some(set) = &mo.as_set {
            let _ = writeln!(c, "    as_set: {set}");
        }
        if let Some(n) = mo.max_prefix_v4 {
            let _ = writeln!(c, "    max_prefix: {{ ipv4: {n} }}");
        }
        if mo.blackhole_opt_in {
            c.push_str("    blackhole_opt_in: true\n");
        }
        if let Some(p) = &mo.password {
            let _ = writeln!(c, "    password: \"{p}\"");
        }
        if mo.ttl_security {
            c.push_str("    ttl_security: true\n");
        }
        if let Some(ao) = &mo.tcp_ao {
            let _ = writeln!(c, "    tcp_ao: {ao}");
        }
    }
    c
}

/// One route as the admin API lists it (`/api/v1/neighbors/{addr}/routes/{kind}`).
#[derive(Debug, Clone)]
pub struct ApiRoute {
    /// The prefix.
    pub prefix: ipnet::IpNet,
    /// Whether the import filter accepted it.
    pub accepted: bool,
    /// Filter reason codes (`RS:1101:N`), in the order the API gives them.
    pub reasons: Vec<u32>,
    /// RPKI state (`valid`, `not-found`, `invalid`, `not-checked`).
    pub rpki: String,
    /// IRR state (`valid`, `valid-by-rpki`, `invalid`, `not-checked`).
    pub irr: String,
    /// ASPA state (`valid`, `unknown`, `invalid`, `not-checked`).
    pub aspa: String,
}

fn api_route(v: &serde_json::Value) -> Option<ApiRoute> {
    Some(ApiRoute {
        prefix: v.get("prefix")?.as_str()?.parse().ok()?,
        accepted: v.get("accepted")?.as_bool()?,
        reasons: v
            .get("reasons")?
            .as_array()?
            .iter()
            .filter_map(|r| r.get("code")?.as_u64().and_then(|c| u32::try_from(c).ok()))
            .collect(),
        rpki: v.get("rpki")?.as_str()?.to_owned(),
        irr: v.get("irr")?.as_str()?.to_owned(),
        aspa: v
            .get("aspa")
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .to_owned(),
    })
}

impl Fox {
    /// The `kind` routes (`received`, `accepted`, `filtered`) of the session with `neighbor`.
    pub fn api_routes(&self, neighbor: IpAddr, kind: &str) -> Result<Vec<ApiRoute>> {
        let v = self.api_json(&format!("/api/v1/neighbors/{neighbor}/routes/{kind}"))?;
        let routes = v
            .get("routes")
            .and_then(serde_json::Value::as_array)
            .with_context(|| format!("no routes array in {v}"))?;
        routes
            .iter()
            .map(|r| api_route(r).with_context(|| format!("unexpected route view {r}")))
            .collect()
    }

    /// The admin API's view of the session with `neighbor`.
    pub fn api_neighbor(&self, neighbor: IpAddr) -> Result<serde_json::Value> {
        self.api_json(&format!("/api/v1/neighbors/{neighbor}"))
    }

    /// GET `path` from the FOX admin API (run with curl inside the RS namespace).
    pub fn api_get(&self, path: &str) -> Result<String> {
        let url = format!("http://{FOX_API}{path}");
        self.lab
            .exec_ok(&self.ns, &["curl", "-sS", "-f", "-m", "5", &url])
    }

    /// GET `path` from the admin API and parse the JSON answer.
    pub fn api_json(&self, path: &str) -> Result<serde_json::Value> {
        let body = self.api_get(path)?;
        serde_json::from_str(body.trim()).with_context(|| format!("GET {path}: not JSON: {body}"))
    }
}

impl Fox {
    /// Send SIGHUP: FOX reads its configuration file again.
    pub fn reload(&self) -> Result<()> {
        let Some(p) = &self.proc else {
            bail!("fox is not running");
        };
        let pid = p.pid().to_string();
        self.lab.exec_ok(&self.ns, &["kill", "-HUP", &pid])?;
        Ok(())
    }

    /// Everything FOX has logged so far.
    pub fn log_text(&self) -> String {
        self.proc
            .as_ref()
            .and_then(|p| fs::read_to_string(&p.log).ok())
            .unwrap_or_default()
    }
}

impl RouteServerUnderTest for Fox {
    const KIND: &'static str = "fox";

    fn start(lab: &Arc<Lab>, rs: &RsSpec, members: &[MemberEntry]) -> Result<Self> {
        let dir = &rs.host.dir;
        let data = dir.join("data");
        fs::create_dir_all(&data)?;
        let conf = dir.join("fox.yaml");
        fs::write(&conf, fox_config(rs, members, &data.to_string_lossy()))
            .with_context(|| format!("write {}", conf.display()))?;
        let conf_s = conf.to_string_lossy().into_owned();
        let mut proc = lab.spawn(
            &rs.host.ns,
            "fox-routeserver",
            &[
                env!("CARGO_BIN_EXE_fox"),
                "routeserver",
                "--config",
                &conf_s,
                "--name",
                &rs.name,
            ],
        )?;
        wait_listening(lab, &rs.host.ns, &mut proc)?;
        Ok(Fox {
            lab: Arc::clone(lab),
            ns: rs.host.ns.clone(),
            proc: Some(proc),
        })
    }

    fn diagnostics(&self) -> String {
        self.api_get("/metrics")
            .unwrap_or_else(|e| format!("GET /metrics failed: {e:#}"))
    }

    fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop(Duration::from_secs(3));
        }
    }
}
