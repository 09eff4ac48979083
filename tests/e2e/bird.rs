//! A member running BIRD 2, plus the BIRD plumbing the BIRD route server shares:
//! starting the daemon in a namespace, reconfiguring it, parsing `birdc` output.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;

use crate::member::{
    paren_groups, to_communities, to_large, Announce, Member, MemberSpec, RouteSeen,
};
use crate::netns::{poll, Host, Lab, Proc};

/// A BIRD 2 daemon running in a namespace, driven through its control socket.
pub struct BirdDaemon {
    lab: Arc<Lab>,
    ns: String,
    /// Config file path.
    pub conf: PathBuf,
    sock: String,
    proc: Option<Proc>,
}

impl BirdDaemon {
    /// Write `config` and start `bird -f` in `ns`; waits (bounded) for its control socket.
    pub fn start(lab: &Arc<Lab>, host: &Host, name: &str, config: &str) -> Result<BirdDaemon> {
        let ns = &host.ns;
        let conf = host.dir.join(format!("{name}.conf"));
        fs::write(&conf, config).with_context(|| format!("write {}", conf.display()))?;
        let sock = host
            .run_dir
            .join(format!("{name}.ctl"))
            .to_string_lossy()
            .into_owned();
        let pid = host
            .run_dir
            .join(format!("{name}.pid"))
            .to_string_lossy()
            .into_owned();
        let conf_s = conf.to_string_lossy().into_owned();
        let proc = lab.spawn(
            ns,
            name,
            &["bird", "-f", "-c", &conf_s, "-s", &sock, "-P", &pid],
        )?;
        let mut d = BirdDaemon {
            lab: Arc::clone(lab),
            ns: ns.to_owned(),
            conf,
            sock,
            proc: Some(proc),
        };
        let up = poll(Duration::from_secs(5), Duration::from_millis(20), || {
            d.birdc(&["show", "status"]).is_ok()
        });
        if !up {
            let log = d
                .proc
                .as_ref()
                .map(|p| p.log.display().to_string())
                .unwrap_or_default();
            if let Some(p) = d.proc.as_mut() {
                p.stop(Duration::from_millis(100));
            }
            bail!("bird in {ns} did not come up; see {log}");
        }
        Ok(d)
    }

    /// Run one birdc command; fails on a BIRD error reply.
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        let mut cmd = vec!["birdc", "-s", &self.sock];
        cmd.extend_from_slice(args);
        let out = self.lab.exec_ok(&self.ns, &cmd)?;
        if out.lines().any(|l| l.starts_with("Unable to connect")) {
            bail!("birdc: {out}");
        }
        Ok(out)
    }

    /// Replace the configuration and apply it with `birdc configure`.
    pub fn reconfigure(&self, config: &str) -> Result<()> {
        fs::write(&self.conf, config)?;
        let conf = self.conf.to_string_lossy().into_owned();
        let out = self.birdc(&["configure", &format!("\"{conf}\"")])?;
        if !out.contains("Reconfigured") && !out.contains("Reconfiguration in progress") {
            bail!("bird reconfigure failed: {out}");
        }
        Ok(())
    }

    /// Whether the BGP protocol whose neighbour is `peer` is Established.
    pub fn established(&self, peer: IpAddr) -> bool {
        let Ok(out) = self.birdc(&["show", "protocols", "all"]) else {
            return false;
        };
        parse_protocols(&out)
            .iter()
            .any(|(nbr, state)| *nbr == peer && state == "Established")
    }

    /// BGP routes in the given tables (`show route all table T`), own static routes excluded.
    pub fn bgp_routes(&self, tables: &[&str]) -> Result<Vec<RouteSeen>> {
        let mut all = Vec::new();
        for t in tables {
            let out = self.birdc(&["show", "route", "all", "table", t])?;
            all.extend(parse_show_route_all(&out));
        }
        Ok(all)
    }

    /// Stop BIRD (SIGTERM: it closes sessions with a Cease NOTIFICATION).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop(Duration::from_secs(3));
        }
    }
}

/// `(neighbor address, BGP state)` of every BGP protocol in `show protocols all`.
pub fn parse_protocols(out: &str) -> Vec<(IpAddr, String)> {
    let mut res = Vec::new();
    let mut nbr: Option<IpAddr> = None;
    let mut state: Option<String> = None;
    let flush =
        |nbr: &mut Option<IpAddr>, state: &mut Option<String>, res: &mut Vec<(IpAddr, String)>| {
            if let (Some(n), Some(s)) = (nbr.take(), state.take()) {
                res.push((n, s));
            }
        };
    for line in out.lines() {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            flush(&mut nbr, &mut state, &mut res);
            continue;
        }
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Neighbor address:") {
            nbr = v.trim().split('%').next().and_then(|a| a.parse().ok());
        } else if let Some(v) = t.strip_prefix("BGP state:") {
            state = Some(v.trim().to_owned());
        }
    }
    flush(&mut nbr, &mut state, &mut res);
    res
}

#[derive(Default)]
struct Partial {
    prefix: Option<IpNet>,
    next_hop: Option<IpAddr>,
    as_path: Option<Vec<u32>>,
    med: Option<u32>,
    communities: Vec<(u16, u16)>,
    large: Vec<(u32, u32, u32)>,
}

impl Partial {
    fn finish(self) -> Option<RouteSeen> {
        Some(RouteSeen {
            prefix: self.prefix?,
            next_hop: self.next_hop?,
            as_path: self.as_path?,
            med: self.med,
            communities: self.communities,
            large_communities: self.large,
        })
    }
}

/// Parse `birdc show route all` output; routes without BGP attributes (static) are skipped.
pub fn parse_show_route_all(out: &str) -> Vec<RouteSeen> {
    let mut res = Vec::new();
    let mut cur: Option<Partial> = None;
    let mut last_prefix: Option<IpNet> = None;
    for line in out.lines() {
        if line.starts_with("Table ") || line.starts_with("BIRD ") || line.trim().is_empty() {
            continue;
        }
        let is_route_head = !line.starts_with('\t') && line.contains('[');
        if is_route_head {
            if let Some(p) = cur.take().and_then(Partial::finish) {
                res.push(p);
            }
            if !line.starts_with(' ') {
                last_prefix = line.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            cur = Some(Partial {
                prefix: last_prefix,
                ..Partial::default()
            });
            continue;
        }
        let Some(p) = cur.as_mut() else { continue };
        let t = line.trim();
        let Some((key, val)) = t.split_once(':') else {
            continue;
        };
        let val = val.trim();
        match key {
            "BGP.next_hop" => {
                p.next_hop = val.split_whitespace().next().and_then(|a| a.parse().ok())
            }
            "BGP.as_path" => {
                p.as_path = Some(
                    val.split_whitespace()
                        .filter_map(|a| a.parse().ok())
                        .collect(),
                )
            }
            "BGP.med" => p.med = val.parse().ok(),
            "BGP.community" => p.communities = to_communities(&paren_groups(val)),
            "BGP.large_community" => p.large = to_large(&paren_groups(val)),
            _ => {}
        }
    }
    if let Some(p) = cur.take().and_then(Partial::finish) {
        res.push(p);
    }
    res
}

/// A member whose router is BIRD 2.
pub struct BirdMember {
    spec: MemberSpec,
    daemon: BirdDaemon,
    announced: Vec<Announce>,
}

impl BirdMember {
    /// Start BIRD for `spec`, originating `announce`.
    pub fn start(lab: &Arc<Lab>, spec: MemberSpec, announce: Vec<Announce>) -> Result<BirdMember> {
        let conf = member_config(&spec, &announce);
        let daemon = BirdDaemon::start(lab, &spec.host, "bird", &conf)?;
        Ok(BirdMember {
            spec,
            daemon,
            announced: announce,
        })
    }
}

fn export_block(a: &Announce, spec: &MemberSpec, rs_client: bool) -> String {
    let asn = spec.asn;
    let mut s = format!("  if net = {} then {{\n", a.prefix);
    match (a.next_hop, rs_client) {
        (Some(nh), _) => {
            let _ = writeln!(s, "    bgp_next_hop = {nh};");
        }
        // In `rs client` mode BIRD leaves the next hop alone: set our own explicitly.
        (None, true) => {
            let own = if a.is_v4() {
                IpAddr::V4(spec.host.ipv4)
            } else {
                IpAddr::V6(spec.host.ipv6)
            };
            let _ = writeln!(s, "    bgp_next_hop = {own};");
        }
        (None, false) => {}
    }
    if let Some(m) = a.med {
        let _ = writeln!(s, "    bgp_med = {m};");
    }
    for (x, y) in &a.communities {
        let _ = writeln!(s, "    bgp_community.add(({x},{y}));");
    }
    for (x, y, z) in &a.large_communities {
        let _ = writeln!(s, "    bgp_large_community.add(({x},{y},{z}));");
    }
    // The path is built from its right end: tail, prepends, then (BIRD on send, or we in
    // `rs client` mode) the member's own ASN.
    let mut path: Vec<u32> = match &a.raw_path {
        Some(raw) => raw.clone(),
        None => {
            let mut p = vec![asn; usize::from(a.prepend)];
            if rs_client {
                p.insert(0, asn);
            }
            p.extend(&a.path_tail);
            p
        }
    };
    path.reverse();
    for x in path {
        let _ = writeln!(s, "    bgp_path.prepend({x});");
    }
    s.push_str("    accept;\n  }\n");
    s
}

/// BIRD configuration of a member: statics for the announcements, one session per RS address.
/// With a raw AS path among the announcements the sessions run in `rs client` mode (BIRD
/// then adds neither its ASN nor its next hop) and every export block sets both itself.
pub fn member_config(spec: &MemberSpec, announce: &[Announce]) -> String {
    let h = &spec.host;
    let rs_client = announce.iter().any(|a| a.raw_path.is_some());
    let mut c = format!(
        "router id {};\nlog stderr all;\nprotocol device {{ scan time 10; }}\n",
        h.ipv4
    );
    for (v, is4) in [("4", true), ("6", false)] {
        let _ = writeln!(c, "protocol static static{v} {{\n  ipv{v};");
        for a in announce.iter().filter(|a| a.is_v4() == is4) {
            let _ = writeln!(c, "  route {} blackhole;", a.prefix);
        }
        c.push_str("}\n");
        let _ = writeln!(c, "filter export{v} {{");
        for a in announce.iter().filter(|a| a.is_v4() == is4) {
            c.push_str(&export_block(a, spec, rs_client));
        }
        c.push_str("  reject;\n}\n");
    }
    for (i, rs) in spec.rs_addrs.iter().enumerate() {
        let (v, local) = match rs {
            IpAddr::V4(_) => ("4", IpAddr::V4(h.ipv4)),
            IpAddr::V6(_) => ("6", IpAddr::V6(h.ipv6)),
        };
        let _ = write!(
            c,
            "protocol bgp rs{i}_v{v} {{\n  local {local} as {asn};\n  neighbor {rs} as {rsasn};\n  \
             connect delay time 1;\n  connect retry time 2;\n  error wait time 1, 5;\n{rsc}  \
             ipv{v} {{ import all; export filter export{v}; }};\n}}\n",
            asn = spec.asn,
            rsasn = spec.rs_asn,
            rsc = if rs_client { "  rs client;\n" } else { "" }
        );
    }
    c
}

impl Member for BirdMember {
    fn spec(&self) -> &MemberSpec {
        &self.spec
    }

    fn kind(&self) -> &'static str {
        "bird"
    }

    fn established(&self, peer: IpAddr) -> bool {
        self.daemon.established(peer)
    }

    fn routes(&self) -> Result<Vec<RouteSeen>> {
        self.daemon.bgp_routes(&["master4", "master6"])
    }

    fn announce(&mut self, a: Announce) -> Result<()> {
        self.announced.retain(|x| x.prefix != a.prefix);
        self.announced.push(a);
        self.daemon
            .reconfigure(&member_config(&self.spec, &self.announced))
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        self.announced.retain(|x| x.prefix != prefix);
        self.daemon
            .reconfigure(&member_config(&self.spec, &self.announced))
    }

    fn stop(&mut self) {
        self.daemon.stop();
    }

    fn last_error(&self, peer: IpAddr) -> Option<String> {
        let out = self.daemon.birdc(&["show", "protocols", "all"]).ok()?;
        last_error_of(&out, peer)
    }
}

/// The `Last error:` line of the BGP protocol whose neighbour is `peer` in `show protocols all`.
pub fn last_error_of(out: &str, peer: IpAddr) -> Option<String> {
    let mut nbr: Option<IpAddr> = None;
    let mut err: Option<String> = None;
    for line in out.lines().chain(std::iter::once("END")) {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            if nbr == Some(peer) && err.is_some() {
                return err;
            }
            nbr = None;
            err = None;
            continue;
        }
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Neighbor address:") {
            nbr = v.trim().split('%').next().and_then(|a| a.parse().ok());
        } else if let Some(v) = t.strip_prefix("Last error:") {
            err = Some(v.trim().to_owned());
        }
    }
    None
}
