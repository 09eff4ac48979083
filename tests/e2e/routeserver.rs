//! The route server under test: FOX itself, or BIRD 2 configured as a transparent route
//! server (the reference that proves the harness and the assertions right).

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
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
/// Filters that need outside data (RPKI, IRR) are off so every test route is accepted.
pub fn fox_config(rs: &RsSpec, members: &[MemberEntry], data_dir: &str) -> String {
    let mut c = format!(
        "exchange:\n  name: FOX\n  full_name: Formosa Open Exchange\n  data_dir: {data_dir}\n\
         sites:\n  - {{ id: hsinchu, name: Hsinchu }}\n\
         peering_lans:\n  - {{ name: fox-v4, prefix: 192.0.2.0/24 }}\n  \
         - {{ name: fox-v6, prefix: \"2001:db8::/64\" }}\n\
         route_servers:\n  - name: {name}\n    asn: {asn}\n    router_id: {v4}\n    ipv4: {v4}\n    \
         ipv6: \"{v6}\"\n    site: hsinchu\n    api: {FOX_API}\n    connect_retry: 2s\n\
         policy:\n  rpki: false\n  irr: false\n\
         members:\n",
        name = rs.name,
        asn = rs.asn,
        v4 = rs.host.ipv4,
        v6 = rs.host.ipv6
    );
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
    }
    c
}

impl Fox {
    /// GET `path` from the FOX admin API (run with curl inside the RS namespace).
    pub fn api_get(&self, path: &str) -> Result<String> {
        let url = format!("http://{FOX_API}{path}");
        self.lab
            .exec_ok(&self.ns, &["curl", "-sS", "-f", "-m", "5", &url])
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
