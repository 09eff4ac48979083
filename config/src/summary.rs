//! Queries over a loaded configuration: route-server sessions and the human summary.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{Config, Member, Neighbor, RouteServer};

impl Config {
    /// The route server called `name`.
    pub fn route_server(&self, name: &str) -> Option<&RouteServer> {
        self.route_servers.iter().find(|r| r.name == name)
    }

    /// The member with ASN `asn`.
    pub fn member_by_asn(&self, asn: u32) -> Option<&Member> {
        self.members.iter().find(|m| m.asn == asn)
    }

    /// Sessions of route server `rs`: for every member using it, for every connection, one
    /// session per address family present. Empty if `rs` is unknown.
    pub fn neighbors(&self, rs: &str) -> Vec<Neighbor> {
        let mut out = Vec::new();
        for m in self
            .members
            .iter()
            .filter(|m| m.route_servers.iter().any(|r| r == rs))
        {
            for c in &m.connections {
                let addrs = c
                    .ipv4
                    .map(IpAddr::V4)
                    .into_iter()
                    .chain(c.ipv6.map(IpAddr::V6));
                for address in addrs {
                    out.push(Neighbor {
                        member: m.name.clone(),
                        asn: m.asn,
                        address,
                        site: c.site.clone(),
                        passive: m.passive,
                        max_prefix_ipv4: m.max_prefix.ipv4,
                        max_prefix_ipv6: m.max_prefix.ipv6,
                        policy: m.policy.clone(),
                        blackhole_opt_in: m.blackhole_opt_in,
                        authorized_next_hops: m.authorized_next_hops.clone(),
                        password: m.password.clone(),
                        ttl_security: m.ttl_security,
                        tcp_ao: m.tcp_ao.clone(),
                    });
                }
            }
        }
        out
    }

    /// A short human summary: what `fox check-config` prints for a good file.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let ex = &self.exchange;
        let full = ex
            .full_name
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        let _ = writeln!(s, "{}{}: {} is valid", ex.name, full, self.source.display());
        let sites: Vec<String> = self
            .sites
            .iter()
            .map(|x| format!("{} ({})", x.id, x.name))
            .collect();
        let _ = writeln!(s, "sites: {}", sites.join(", "));
        let lans: Vec<String> = self
            .peering_lans
            .iter()
            .map(|l| format!("{} {}", l.name, l.prefix))
            .collect();
        let _ = writeln!(s, "peering LANs: {}", lans.join(", "));
        let _ = writeln!(s, "route servers:");
        for r in &self.route_servers {
            let addrs: Vec<String> = r.listen.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                s,
                "  {} AS{} at {}, router-id {}, listen [{}]:{}, api {}, hold {}, {} sessions",
                r.name,
                r.asn,
                r.site,
                r.router_id,
                addrs.join(", "),
                r.port,
                r.api,
                human(r.hold_time),
                self.neighbors(&r.name).len()
            );
        }
        let listen: Vec<String> = self
            .collector
            .sflow_listen
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(
            s,
            "collector: sFlow on {}, api {}",
            listen.join(", "),
            self.collector.api
        );
        let _ = writeln!(s, "members ({}):", self.members.len());
        for m in &self.members {
            let sites: Vec<&str> = m.connections.iter().map(|c| c.site.as_str()).collect();
            let sessions: usize = m
                .connections
                .iter()
                .map(|c| usize::from(c.ipv4.is_some()) + usize::from(c.ipv6.is_some()))
                .sum();
            let _ = writeln!(
                s,
                "  {} AS{} {}, {} connection(s) at {}, {} session(s) on each of {}",
                m.name,
                m.asn,
                m.as_set.as_deref().unwrap_or("(no AS-SET)"),
                m.connections.len(),
                sites.join(", "),
                sessions,
                m.route_servers.join(", ")
            );
        }
        let p = &self.policy;
        let _ = writeln!(
            s,
            "policy: next-hop {}, first AS {}, RPKI {}, IRR {}, prefix length IPv4 {} IPv6 {}, max AS path {}, transit-free {} ({} ASNs), max-prefix {} after {}",
            p.next_hop,
            on_off(p.first_as),
            if !p.rpki {
                "off"
            } else if p.rpki_reject_invalid {
                "on (reject invalid)"
            } else {
                "on (tag only)"
            },
            on_off(p.irr),
            p.prefix_len_ipv4,
            p.prefix_len_ipv6,
            p.max_as_path_len,
            on_off(p.transit_free),
            p.transit_free_asns.len(),
            p.max_prefix_action,
            human(p.max_prefix_restart_after)
        );
        let overridden: Vec<&str> = self
            .members
            .iter()
            .filter(|m| m.policy_overrides != Default::default())
            .map(|m| m.name.as_str())
            .collect();
        if !overridden.is_empty() {
            let _ = writeln!(s, "policy overrides: {}", overridden.join(", "));
        }
        let _ = write!(
            s,
            "rpki: {} RTR cache(s), {} file(s); irr: {} file(s)",
            self.rpki.rtr.len(),
            self.rpki.files.len(),
            self.irr.files.len()
        );
        s
    }
}

/// A duration the way the file writes it: 90s, 15m, 2h, 1d.
fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
