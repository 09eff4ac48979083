//! `fox lab render`: the FOX lab generated from the exchange's one YAML file, so the lab
//! and production never drift. From `configs/fox.yaml` it derives the lab plan (which
//! node sits on which site bridge with which address), the route-server/collector/
//! looking-glass configuration the lab runs, the member routers' configurations (BIRD 2
//! for the first two members, FRR for the others), the containerlab topology and the
//! node list `lab/netns.sh` reads.

pub mod bird;
pub mod frr;
pub mod topology;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use fox_config::{Config, MacAddr, Policy};

/// Hold time the lab's sessions use, so drills see a failure within seconds.
pub const LAB_HOLD_TIME: u32 = 9;
/// Connect retry of the lab's route servers.
pub const LAB_CONNECT_RETRY: u32 = 3;
/// Port of the route servers' API inside the lab (on their fabric address).
pub const RS_API_PORT: u16 = 8180;
/// Port of the collector API inside the lab.
pub const COLLECTOR_API_PORT: u16 = 8190;
/// Port of the looking glass inside the lab.
pub const LG_PORT: u16 = 8080;
/// STAMP port of the site reflectors (RFC 8762).
pub const STAMP_PORT: u16 = 862;
/// The committed sample of member prefixes (RPSL), relative to the repository.
pub const SAMPLE: &str = "lab/members-sample.db";

/// Which BGP daemon a member router runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    /// BIRD 2.
    Bird,
    /// FRR bgpd (with zebra).
    Frr,
}

/// What a lab node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A route server of the YAML file (its name).
    RouteServer(String),
    /// The fabric collector.
    Collector,
    /// The looking glass.
    LookingGlass,
    /// A STAMP reflector standing for a site's probe point.
    Reflector,
    /// A member router (index into `Plan::members`).
    Member(usize),
}

/// One interface of a node on a site bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// Interface name inside the node (the site id, at most 15 bytes).
    pub ifname: String,
    /// Site whose bridge it is plugged into.
    pub site: String,
    /// IPv4 address on the peering LAN.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on the peering LAN, if the connection has one.
    pub ipv6: Option<Ipv6Addr>,
    /// MAC address from the YAML file, if any.
    pub mac: Option<MacAddr>,
}

/// A node of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Short lowercase name (namespace / container name suffix).
    pub name: String,
    /// What runs there.
    pub role: Role,
    /// Its fabric ports.
    pub ports: Vec<Port>,
}

/// A member router and what it announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRouter {
    /// Member name from the YAML file.
    pub name: String,
    /// Member ASN.
    pub asn: u32,
    /// Daemon it runs.
    pub daemon: Daemon,
    /// Its ports, one per connection.
    pub ports: Vec<Port>,
    /// Prefixes it announces (IPv4 and IPv6).
    pub prefixes: Vec<ipnet::IpNet>,
}

/// A route server as the member routers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsPeer {
    /// Name, e.g. rs1.
    pub name: String,
    /// ASN.
    pub asn: u32,
    /// IPv4 address on the peering LAN.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on the peering LAN, if any.
    pub ipv6: Option<Ipv6Addr>,
}

/// Everything the lab is made of, derived from the YAML file.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The exchange as loaded.
    pub config: Config,
    /// Site ids in file order.
    pub sites: Vec<String>,
    /// IPv4 peering LAN.
    pub lan: ipnet::Ipv4Net,
    /// IPv6 peering LAN, if the file has one.
    pub lan6: Option<ipnet::Ipv6Net>,
    /// Route servers.
    pub route_servers: Vec<RsPeer>,
    /// Member routers.
    pub members: Vec<MemberRouter>,
    /// Every node, route servers first.
    pub nodes: Vec<Node>,
    /// Route objects of the sample: (prefix, origin ASN).
    pub routes: Vec<(ipnet::IpNet, u32)>,
    /// The RPSL sample file (absolute).
    pub sample: PathBuf,
}

/// Reads `route:`/`route6:` and `origin:` pairs of an RPSL file (only what the lab needs).
pub fn read_routes(text: &str) -> Vec<(ipnet::IpNet, u32)> {
    let mut out = Vec::new();
    let mut prefix: Option<ipnet::IpNet> = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        if let Some(v) = line
            .strip_prefix("route:")
            .or_else(|| line.strip_prefix("route6:"))
        {
            prefix = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("origin:") {
            let asn = v.trim().trim_start_matches("AS").parse::<u32>().ok();
            if let (Some(p), Some(a)) = (prefix.take(), asn) {
                out.push((p, a));
            }
        }
    }
    out
}

fn node_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn ifname(site: &str) -> String {
    let mut n: String = site
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    n.truncate(15);
    n
}

impl Plan {
    /// The lab for `config`, with member prefixes from the RPSL `sample` file.
    pub fn new(config: Config, sample: &Path) -> anyhow::Result<Plan> {
        let text = std::fs::read_to_string(sample)
            .with_context(|| format!("reading {}", sample.display()))?;
        let routes = read_routes(&text);
        let sample = std::fs::canonicalize(sample)?;
        let lan = config
            .peering_lans
            .iter()
            .find_map(|l| match l.prefix {
                ipnet::IpNet::V4(n) => Some(n),
                ipnet::IpNet::V6(_) => None,
            })
            .context("the lab needs an IPv4 peering LAN")?;
        let lan6 = config.peering_lans.iter().find_map(|l| match l.prefix {
            ipnet::IpNet::V6(n) => Some(n),
            ipnet::IpNet::V4(_) => None,
        });
        let sites: Vec<String> = config.sites.iter().map(|s| s.id.clone()).collect();
        let mut nodes = Vec::new();
        let mut used: Vec<Ipv4Addr> = Vec::new();
        let mut route_servers = Vec::new();
        for rs in &config.route_servers {
            let ip = rs
                .ipv4
                .with_context(|| format!("route server {} has no IPv4 address", rs.name))?;
            used.push(ip);
            route_servers.push(RsPeer {
                name: rs.name.clone(),
                asn: rs.asn,
                ipv4: ip,
                ipv6: rs.ipv6,
            });
            nodes.push(Node {
                name: node_name(&rs.name),
                role: Role::RouteServer(rs.name.clone()),
                ports: vec![Port {
                    ifname: ifname(&rs.site),
                    site: rs.site.clone(),
                    ipv4: ip,
                    ipv6: rs.ipv6,
                    mac: None,
                }],
            });
        }
        let mut members = Vec::new();
        for (k, m) in config.members.iter().enumerate() {
            let ports: Vec<Port> = m
                .connections
                .iter()
                .filter_map(|c| {
                    c.ipv4.map(|ip| Port {
                        ifname: ifname(&c.site),
                        site: c.site.clone(),
                        ipv4: ip,
                        ipv6: c.ipv6,
                        mac: c.macs.first().copied(),
                    })
                })
                .collect();
            if ports.is_empty() {
                bail!("member {} has no IPv4 connection", m.name);
            }
            used.extend(ports.iter().map(|p| p.ipv4));
            // Up to three IPv4 and two IPv6 prefixes (IPv6 only if the member has IPv6).
            let has_v6 = ports.iter().any(|p| p.ipv6.is_some());
            let mine = |v6: bool, n: usize| {
                routes
                    .iter()
                    .filter(move |(p, o)| *o == m.asn && matches!(p, ipnet::IpNet::V6(_)) == v6)
                    .map(|(p, _)| *p)
                    .take(n)
            };
            let mut prefixes: Vec<ipnet::IpNet> = mine(false, 3).collect();
            if has_v6 {
                prefixes.extend(mine(true, 2));
            }
            if prefixes.is_empty() {
                bail!(
                    "{} has no route object with origin AS{} for member {}",
                    sample.display(),
                    m.asn,
                    m.name
                );
            }
            members.push(MemberRouter {
                name: m.name.clone(),
                asn: m.asn,
                daemon: if k < 2 { Daemon::Bird } else { Daemon::Frr },
                ports: ports.clone(),
                prefixes,
            });
            nodes.push(Node {
                name: node_name(&m.name),
                role: Role::Member(k),
                ports,
            });
        }
        // Infrastructure addresses near the top of the LAN, checked against the file.
        let host = |n: u32| -> anyhow::Result<Ipv4Addr> {
            let a = Ipv4Addr::from(u32::from(lan.network()) + n);
            if !lan.contains(&a) || a == lan.broadcast() {
                bail!("peering LAN {lan} is too small for the lab");
            }
            if used.contains(&a) {
                bail!("lab address {a} is used in the YAML file");
            }
            Ok(a)
        };
        let first = sites.first().context("the YAML file has no site")?.clone();
        nodes.push(Node {
            name: "collector".into(),
            role: Role::Collector,
            ports: vec![Port {
                ifname: ifname(&first),
                site: first.clone(),
                ipv4: host(200)?,
                ipv6: None,
                mac: None,
            }],
        });
        nodes.push(Node {
            name: "lg".into(),
            role: Role::LookingGlass,
            ports: vec![Port {
                ifname: ifname(&first),
                site: first.clone(),
                ipv4: host(201)?,
                ipv6: None,
                mac: None,
            }],
        });
        for (i, s) in sites.iter().enumerate() {
            nodes.push(Node {
                name: format!("probe{}", node_name(s)),
                role: Role::Reflector,
                ports: vec![Port {
                    ifname: ifname(s),
                    site: s.clone(),
                    ipv4: host(211 + i as u32)?,
                    ipv6: None,
                    mac: None,
                }],
            });
        }
        Ok(Plan {
            config,
            sites,
            lan,
            lan6,
            route_servers,
            members,
            nodes,
            routes,
            sample,
        })
    }

    /// The node of a role.
    pub fn node(&self, role: &Role) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.role == role)
    }

    fn addr_of(&self, role: &Role) -> Ipv4Addr {
        self.node(role)
            .and_then(|n| n.ports.first())
            .map_or(Ipv4Addr::LOCALHOST, |p| p.ipv4)
    }

    /// The STAMP reflectors: (site, address).
    pub fn reflectors(&self) -> Vec<(String, Ipv4Addr)> {
        self.nodes
            .iter()
            .filter(|n| n.role == Role::Reflector)
            .filter_map(|n| n.ports.first().map(|p| (p.site.clone(), p.ipv4)))
            .collect()
    }

    /// The configuration the lab's route servers, collector and looking glass run: the
    /// production file's sites, LAN, policy and members (IPv4 connections), with lab
    /// timers, APIs on the fabric addresses, IRR/RPKI from the sample and lab probes.
    pub fn fox_yaml(&self, irr: &Path, vrps: &Path) -> String {
        let c = &self.config;
        let mut y = String::new();
        let _ = writeln!(
            y,
            "# Generated by `fox lab render` from {} -- do not edit; edit that file and render again.",
            source_name(c)
        );
        let _ = writeln!(
            y,
            "exchange: {{ name: \"{}-lab\", data_dir: ./data }}",
            c.exchange.name
        );
        y.push_str("sites:\n");
        for s in &c.sites {
            let _ = writeln!(y, "  - {{ id: {}, name: \"{}\" }}", s.id, s.name);
        }
        let _ = writeln!(
            y,
            "peering_lans:\n  - {{ name: lab-v4, prefix: {} }}",
            self.lan
        );
        if let Some(l6) = self.lan6 {
            let _ = writeln!(y, "  - {{ name: lab-v6, prefix: \"{l6}\" }}");
        }
        y.push_str("route_servers:\n");
        for rs in &c.route_servers {
            let ip = rs.ipv4.unwrap_or(Ipv4Addr::LOCALHOST);
            let (v6, listen6) = match rs.ipv6.filter(|_| self.lan6.is_some()) {
                Some(a) => (format!(", ipv6: \"{a}\""), format!(", \"{a}\"")),
                None => (String::new(), String::new()),
            };
            let _ = writeln!(
                y,
                "  - {{ name: {}, asn: {}, router_id: {}, ipv4: {ip}{v6}, site: {}, listen: [\"{ip}\"{listen6}], api: \"{ip}:{RS_API_PORT}\", hold_time: {LAB_HOLD_TIME}s, connect_retry: {LAB_CONNECT_RETRY}s }}",
                rs.name, rs.asn, rs.router_id, rs.site
            );
        }
        y.push_str("policy:\n");
        policy_yaml(&mut y, &c.policy, "  ");
        if let Some(b) = &c.blackhole {
            let mut hops = Vec::new();
            if let Some(nh) = b.next_hop_ipv4 {
                hops.push(format!("next_hop_ipv4: {nh}"));
            }
            if let Some(nh) = b.next_hop_ipv6.filter(|_| self.lan6.is_some()) {
                hops.push(format!("next_hop_ipv6: \"{nh}\""));
            }
            if !hops.is_empty() {
                let _ = writeln!(y, "blackhole: {{ {} }}", hops.join(", "));
            }
        }
        let _ = writeln!(
            y,
            "rpki: {{ files: [\"{}\"] }}\nirr: {{ files: [\"{}\"] }}",
            vrps.display(),
            irr.display()
        );
        let col = self.addr_of(&Role::Collector);
        let lg = self.addr_of(&Role::LookingGlass);
        let _ = writeln!(
            y,
            "collector:\n  sflow_listen: [\"{col}:6343\"]\n  api: \"{col}:{COLLECTOR_API_PORT}\"\n  probes:"
        );
        for (site, ip) in self.reflectors() {
            let _ = writeln!(
                y,
                "    - {{ name: {site}, target: \"{ip}:{STAMP_PORT}\", interval: 200ms, timeout: 200ms }}"
            );
        }
        let _ = writeln!(
            y,
            "looking_glass: {{ listen: \"{lg}:{LG_PORT}\", collectors: [ {{ name: collector, url: \"http://{col}:{COLLECTOR_API_PORT}\" }} ] }}"
        );
        y.push_str("members:\n");
        for m in &c.members {
            let _ = writeln!(y, "  - name: {}\n    asn: {}", m.name, m.asn);
            if let Some(s) = &m.as_set {
                let _ = writeln!(y, "    as_set: {s}");
            }
            if m.passive {
                y.push_str("    passive: true\n");
            }
            if m.blackhole_opt_in {
                y.push_str("    blackhole_opt_in: true\n");
            }
            let mp = |v: Option<u32>, k: &str| v.map(|n| format!("{k}: {n}"));
            let limits: Vec<String> =
                [mp(m.max_prefix.ipv4, "ipv4"), mp(m.max_prefix.ipv6, "ipv6")]
                    .into_iter()
                    .flatten()
                    .collect();
            if !limits.is_empty() {
                let _ = writeln!(y, "    max_prefix: {{ {} }}", limits.join(", "));
            }
            if m.policy != c.policy {
                y.push_str("    policy:\n");
                policy_yaml(&mut y, &m.policy, "      ");
            }
            y.push_str("    connections:\n");
            for conn in m.connections.iter().filter(|c| c.ipv4.is_some()) {
                let _ = write!(
                    y,
                    "      - {{ site: {}, ipv4: {}",
                    conn.site,
                    conn.ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED)
                );
                if let Some(v6) = conn.ipv6.filter(|_| self.lan6.is_some()) {
                    let _ = write!(y, ", ipv6: \"{v6}\"");
                }
                if !conn.macs.is_empty() {
                    let macs: Vec<String> = conn.macs.iter().map(|m| format!("\"{m}\"")).collect();
                    let _ = write!(y, ", macs: [{}]", macs.join(", "));
                }
                if let Some(s) = conn.speed {
                    let _ = write!(y, ", speed: {s}");
                }
                y.push_str(" }\n");
            }
        }
        y
    }

    /// A minimal configuration for a site's STAMP reflector (a `fox collector` that only
    /// reflects; its API stays on the node's loopback).
    pub fn reflector_yaml(&self, site: &str, ip: Ipv4Addr) -> String {
        let c = &self.config;
        let mut y = format!(
            "# Generated by `fox lab render`: the STAMP reflector of site {site}.\n\
exchange: {{ name: \"{}-lab-probe-{site}\", data_dir: ./data-probe-{site} }}\nsites:\n",
            c.exchange.name
        );
        for s in &c.sites {
            let _ = writeln!(y, "  - {{ id: {}, name: \"{}\" }}", s.id, s.name);
        }
        let _ = writeln!(
            y,
            "peering_lans:\n  - {{ name: lab-v4, prefix: {} }}\n\
# The route servers are listed because the file needs them; this node runs none.\nroute_servers:",
            self.lan
        );
        for (k, rs) in self.route_servers.iter().enumerate() {
            let _ = writeln!(
                y,
                "  - {{ name: {}, asn: {}, router_id: {ip4}, ipv4: {ip4}, site: {site}, api: \"127.0.0.1:{port}\" }}",
                rs.name,
                rs.asn,
                ip4 = rs.ipv4,
                site = c.route_servers.get(k).map_or(site, |r| r.site.as_str()),
                port = usize::from(RS_API_PORT) + k
            );
        }
        let _ = writeln!(
            y,
            "members: []\n\
collector: {{ sflow_listen: [\"127.0.0.1:6343\"], api: \"127.0.0.1:{COLLECTOR_API_PORT}\", stamp_reflector: \"{ip}:{STAMP_PORT}\" }}"
        );
        y
    }

    /// JSON VRPs for the sample's route objects (so the lab shows RPKI VALID routes).
    pub fn vrps_json(&self) -> String {
        let roas: Vec<String> = self
            .routes
            .iter()
            .map(|(p, asn)| {
                format!(
                    "  {{\"asn\": \"AS{asn}\", \"prefix\": \"{p}\", \"maxLength\": {}, \"ta\": \"fox-lab\"}}",
                    p.prefix_len()
                )
            })
            .collect();
        format!(
            "{{\"metadata\": {{\"note\": \"made by fox lab render from {}\"}}, \"roas\": [\n{}\n]}}\n",
            SAMPLE,
            roas.join(",\n")
        )
    }
}

/// Every policy key, written out (a full round trip of `Policy`).
fn policy_yaml(y: &mut String, p: &Policy, ind: &str) {
    let asns: Vec<String> = p.transit_free_asns.iter().map(u32::to_string).collect();
    let _ = write!(
        y,
        "{ind}next_hop: {}\n{ind}first_as: {}\n{ind}max_as_path_len: {}\n{ind}bogon_asns: {}\n\
{ind}bogon_prefixes: {}\n{ind}prefix_len_ipv4: [{}, {}]\n{ind}prefix_len_ipv6: [{}, {}]\n\
{ind}transit_free_asns: [{}]\n{ind}transit_free: {}\n{ind}rpki: {}\n{ind}rpki_reject_invalid: {}\n\
{ind}irr: {}\n{ind}irr_more_specifics: {}\n{ind}irr_accept_rpki_valid: {}\n{ind}blackhole: {}\n\
{ind}graceful_shutdown: {}\n{ind}role: {}\n{ind}max_prefix_action: {}\n{ind}max_prefix_restart_after: {}s\n",
        p.next_hop,
        p.first_as,
        p.max_as_path_len,
        p.bogon_asns,
        p.bogon_prefixes,
        p.prefix_len_ipv4.min,
        p.prefix_len_ipv4.max,
        p.prefix_len_ipv6.min,
        p.prefix_len_ipv6.max,
        asns.join(", "),
        p.transit_free,
        p.rpki,
        p.rpki_reject_invalid,
        p.irr,
        p.irr_more_specifics,
        p.irr_accept_rpki_valid,
        p.blackhole,
        p.graceful_shutdown,
        p.role,
        p.max_prefix_action,
        p.max_prefix_restart_after.as_secs(),
    );
}

/// Writes every file of the lab under `out`; returns the paths written.
pub fn render(config: &Path, sample: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let cfg = fox_config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = Plan::new(cfg, sample)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out_abs = std::fs::canonicalize(out)?;
    let mut written = Vec::new();
    let mut put = |rel: &str, text: String| -> anyhow::Result<()> {
        let p = out_abs.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
        Ok(())
    };
    // Paths in the lab file are relative: every daemon runs in the output directory
    // (netns.sh cds there; containerlab mounts it at /lab).
    put("vrps.json", plan.vrps_json())?;
    let sample_text = std::fs::read_to_string(&plan.sample)?;
    put("members-sample.db", sample_text)?;
    let lab_yaml = plan.fox_yaml(Path::new("members-sample.db"), Path::new("vrps.json"));
    // What the lab runs must load: check it here, not when a daemon starts.
    fox_config::parse(&lab_yaml, "fox-lab.yaml")
        .map_err(|e| anyhow::anyhow!("generated lab configuration is invalid: {e}"))?;
    put("fox-lab.yaml", lab_yaml)?;
    for (site, ip) in plan.reflectors() {
        let text = plan.reflector_yaml(&site, ip);
        fox_config::parse(&text, "fox-probe.yaml")
            .map_err(|e| anyhow::anyhow!("generated reflector configuration is invalid: {e}"))?;
        put(&format!("probe{}/fox-probe.yaml", node_name(&site)), text)?;
    }
    for (k, m) in plan.members.iter().enumerate() {
        let dir = plan
            .node(&Role::Member(k))
            .map_or_else(|| node_name(&m.name), |n| n.name.clone());
        match m.daemon {
            Daemon::Bird => put(
                &format!("{dir}/bird.conf"),
                bird::config(m, &plan.route_servers),
            )?,
            Daemon::Frr => {
                put(
                    &format!("{dir}/frr.conf"),
                    frr::config(m, &plan.route_servers),
                )?;
                put(&format!("{dir}/daemons"), frr::daemons())?;
            }
        }
    }
    put("fox.clab.yml", topology::clab_yaml(&plan))?;
    put("lab.plan", topology::netns_env(&plan))?;
    Ok(written)
}

/// The YAML file's name without its directory, for "generated from" headers (the same
/// wherever the renderer runs, so rendered files compare equal).
pub fn source_name(config: &Config) -> String {
    config.source.file_name().map_or_else(
        || "the exchange's YAML file".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}
