//! A member running FRR `zebra` + `bgpd`, with their own config files, pid files, zebra socket
//! and vty socket directory; routes are `network` statements with a route-map for MED and
//! communities. zebra is needed: without interface information bgpd rejects IPv6 link-local
//! next hops (which BIRD sends and transparent route servers pass on).

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use serde_json::Value;

use crate::member::{
    parse_community_words, parse_large_words, Announce, Member, MemberSpec, RouteSeen,
};
use crate::netns::{poll, Lab, Proc};

/// A member whose router is FRR bgpd.
pub struct FrrMember {
    spec: MemberSpec,
    bgpd: Option<Proc>,
    zebra: Option<Proc>,
}

fn afi(prefix: &IpNet) -> &'static str {
    match prefix {
        IpNet::V4(_) => "ipv4",
        IpNet::V6(_) => "ipv6",
    }
}

fn route_map_name(prefix: &IpNet) -> String {
    let s: String = prefix
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("ANN-{s}")
}

/// The route-map that sets the announcement's attributes (config lines, top level).
fn route_map(a: &Announce, asn: u32) -> Vec<String> {
    let mut l = vec![format!("route-map {} permit 10", route_map_name(&a.prefix))];
    if let Some(m) = a.med {
        l.push(format!(" set metric {m}"));
    }
    if !a.communities.is_empty() {
        let c: Vec<String> = a
            .communities
            .iter()
            .map(|(x, y)| format!("{x}:{y}"))
            .collect();
        l.push(format!(" set community {}", c.join(" ")));
    }
    if !a.large_communities.is_empty() {
        let c: Vec<String> = a
            .large_communities
            .iter()
            .map(|(x, y, z)| format!("{x}:{y}:{z}"))
            .collect();
        l.push(format!(" set large-community {}", c.join(" ")));
    }
    // bgpd adds its own ASN in front of whatever the route-map prepends.
    let mut path = vec![asn.to_string(); usize::from(a.prepend)];
    path.extend(a.path_tail.iter().map(u32::to_string));
    if !path.is_empty() {
        l.push(format!(" set as-path prepend {}", path.join(" ")));
    }
    match a.next_hop {
        Some(IpAddr::V4(nh)) => l.push(format!(" set ip next-hop {nh}")),
        Some(IpAddr::V6(nh)) => l.push(format!(" set ipv6 next-hop global {nh}")),
        None => {}
    }
    l.push("exit".to_owned());
    l
}

fn config(spec: &MemberSpec, announce: &[Announce]) -> String {
    let h = &spec.host;
    let mut c = format!(
        "frr defaults traditional\nhostname {}\nlog stdout informational\n!\n",
        h.name
    );
    for a in announce {
        for l in route_map(a, spec.asn) {
            let _ = writeln!(c, "{l}");
        }
    }
    // Export only what this member originates (a real member's export filter): FRR would
    // otherwise send routes learned from the route server back to it.
    let _ = write!(
        c,
        "bgp as-path access-list OWN seq 5 permit ^({asn}_)*$\n\
         route-map OWN-OUT permit 10\n match as-path OWN\nexit\n",
        asn = spec.asn
    );
    let _ = write!(
        c,
        "router bgp {}\n bgp router-id {}\n no bgp ebgp-requires-policy\n no bgp network import-check\n \
         no bgp default ipv4-unicast\n bgp graceful-restart-disable\n",
        spec.asn, h.ipv4
    );
    for rs in &spec.rs_addrs {
        let _ = write!(
            c,
            " neighbor {rs} remote-as {}\n neighbor {rs} timers connect 2\n \
             neighbor {rs} advertisement-interval 0\n",
            spec.rs_asn
        );
    }
    for fam in ["ipv4", "ipv6"] {
        let _ = writeln!(c, " address-family {fam} unicast");
        for a in announce.iter().filter(|a| afi(&a.prefix) == fam) {
            let _ = writeln!(
                c,
                "  network {} route-map {}",
                a.prefix,
                route_map_name(&a.prefix)
            );
        }
        for rs in spec
            .rs_addrs
            .iter()
            .filter(|r| (fam == "ipv4") == r.is_ipv4())
        {
            let _ = writeln!(
                c,
                "  neighbor {rs} activate\n  neighbor {rs} send-community all\n  \
                 neighbor {rs} route-map OWN-OUT out"
            );
        }
        c.push_str(" exit-address-family\n");
    }
    c
}

impl FrrMember {
    /// Start bgpd for `spec` (no zebra, runs as root, vty socket in the host's directory).
    pub fn start(lab: &Arc<Lab>, spec: MemberSpec, announce: Vec<Announce>) -> Result<FrrMember> {
        let dir = &spec.host.dir;
        let conf = dir.join("bgpd.conf");
        fs::write(&conf, config(&spec, &announce))
            .with_context(|| format!("write {}", conf.display()))?;
        let conf_s = conf.to_string_lossy().into_owned();
        let run = &spec.host.run_dir;
        let pid = run.join("bgpd.pid").to_string_lossy().into_owned();
        let vty_dir = run.to_string_lossy().into_owned();
        let zconf = dir.join("zebra.conf");
        fs::write(
            &zconf,
            format!("hostname {}\nlog stdout informational\n", spec.host.name),
        )?;
        let zconf_s = zconf.to_string_lossy().into_owned();
        let zpid = run.join("zebra.pid").to_string_lossy().into_owned();
        let zsock = run.join("zserv.api").to_string_lossy().into_owned();
        // zebra has no -S and refuses root unless root is in the frrvty group: it runs as the
        // packaged `frr` user, so the socket directory must be writable for it.
        fs::set_permissions(run, fs::Permissions::from_mode(0o777))?;
        let zebra = lab.spawn(
            &spec.host.ns,
            "zebra",
            &[
                "/usr/lib/frr/zebra",
                "-f",
                &zconf_s,
                "-i",
                &zpid,
                "-z",
                &zsock,
                "--vty_socket",
                &vty_dir,
                "-P",
                "0",
            ],
        )?;
        let zsock_path = run.join("zserv.api");
        if !poll(Duration::from_secs(10), Duration::from_millis(20), || {
            zsock_path.exists()
        }) {
            bail!("zebra in {} did not create {zsock}", spec.host.ns);
        }
        let bgpd = lab.spawn(
            &spec.host.ns,
            "bgpd",
            &[
                "/usr/lib/frr/bgpd",
                "-S",
                "-u",
                "root",
                "-g",
                "root",
                "-f",
                &conf_s,
                "-i",
                &pid,
                "-z",
                &zsock,
                "--vty_socket",
                &vty_dir,
                "-P",
                "0",
            ],
        )?;
        let m = FrrMember {
            spec,
            bgpd: Some(bgpd),
            zebra: Some(zebra),
        };
        let up = poll(Duration::from_secs(10), Duration::from_millis(50), || {
            m.vtysh(&["show bgp summary"]).is_ok()
        });
        if !up {
            bail!("bgpd in {} did not open its vty socket", m.spec.host.ns);
        }
        Ok(m)
    }

    /// Run commands on bgpd's vty socket (what `vtysh --vty_socket <run_dir> -d bgpd -c ...`
    /// does, without a process start per call: vtysh needs 150+ ms, the socket a millisecond).
    fn vtysh(&self, cmds: &[&str]) -> Result<String> {
        let path = self.spec.host.run_dir.join("bgpd.vty");
        let mut sock =
            UnixStream::connect(&path).with_context(|| format!("connect {}", path.display()))?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        sock.set_write_timeout(Some(Duration::from_secs(10)))?;
        vty_command(&mut sock, "enable")?;
        let mut out = String::new();
        for c in cmds {
            out.push_str(&vty_command(&mut sock, c)?);
        }
        Ok(out)
    }

    fn configure(&self, lines: &[String]) -> Result<()> {
        let mut cmds = vec!["configure terminal"];
        cmds.extend(lines.iter().map(String::as_str));
        self.vtysh(&cmds)?;
        Ok(())
    }
}

/// One command on an FRR vty socket: the command goes out NUL-terminated; the answer is its
/// output followed by three NUL bytes and a status byte (0 = success).
fn vty_command(sock: &mut UnixStream, cmd: &str) -> Result<String> {
    sock.write_all(cmd.as_bytes())?;
    sock.write_all(&[0])?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = sock
            .read(&mut chunk)
            .with_context(|| format!("vty read after {cmd:?}"))?;
        if n == 0 {
            bail!("bgpd closed the vty socket during {cmd:?}");
        }
        buf.extend_from_slice(&chunk[..n]);
        let len = buf.len();
        if len >= 4 && buf[len - 4..len - 1] == [0, 0, 0] {
            let status = buf[len - 1];
            let text = String::from_utf8_lossy(&buf[..len - 4]).into_owned();
            if status != 0 {
                bail!("bgpd: {cmd:?} failed (status {status}): {}", text.trim());
            }
            return Ok(text);
        }
    }
}

/// Whether a path's peer is a real neighbour (not a locally originated route).
fn from_neighbor(p: &Value) -> bool {
    let id = p
        .pointer("/peer/peerId")
        .or_else(|| p.get("peerId"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<IpAddr>().ok());
    id.is_some_and(|a| !a.is_unspecified())
}

/// Parse one `show bgp <afi> unicast <prefix> json` answer.
pub fn parse_prefix_json(v: &Value) -> Vec<RouteSeen> {
    let Some(prefix) = v
        .get("prefix")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<IpNet>().ok())
    else {
        return Vec::new();
    };
    let mut res = Vec::new();
    for p in v
        .get("paths")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !from_neighbor(p) {
            continue;
        }
        let next_hop = p.get("nexthops").and_then(Value::as_array).and_then(|n| {
            n.iter()
                .find_map(|h| h.get("ip")?.as_str()?.parse::<IpAddr>().ok())
        });
        let Some(next_hop) = next_hop else { continue };
        let as_path = p
            .pointer("/aspath/string")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|a| a.parse().ok())
            .collect();
        let med = p
            .get("metric")
            .or_else(|| p.get("med"))
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok());
        let communities = parse_community_words(
            p.pointer("/community/string")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let large = parse_large_words(
            p.pointer("/largeCommunity/string")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        res.push(RouteSeen {
            prefix,
            next_hop,
            as_path,
            med,
            communities,
            large_communities: large,
        });
    }
    res
}

impl Member for FrrMember {
    fn spec(&self) -> &MemberSpec {
        &self.spec
    }

    fn kind(&self) -> &'static str {
        "frr"
    }

    fn established(&self, peer: IpAddr) -> bool {
        self.vtysh(&[&format!("show bgp neighbors {peer} json")])
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(t.trim()).ok())
            .and_then(|v| {
                v.get(peer.to_string())?
                    .get("bgpState")?
                    .as_str()
                    .map(|s| s == "Established")
            })
            .unwrap_or(false)
    }

    fn routes(&self) -> Result<Vec<RouteSeen>> {
        let mut queries = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let text = self.vtysh(&[&format!("show bgp {fam} unicast json")])?;
            let v: Value = serde_json::from_str(text.trim()).context("frr table JSON")?;
            for (prefix, paths) in v
                .get("routes")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let received = paths.as_array().into_iter().flatten().any(from_neighbor);
                if received {
                    queries.push(format!("show bgp {fam} unicast {prefix} json"));
                }
            }
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let text = self.vtysh(&refs)?;
        let mut res = Vec::new();
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            res.extend(parse_prefix_json(&v.context("frr prefix JSON")?));
        }
        Ok(res)
    }

    fn routes_for(&self, prefix: IpNet) -> Result<Vec<RouteSeen>> {
        let text = self.vtysh(&[&format!("show bgp {} unicast {prefix} json", afi(&prefix))])?;
        let v: Value = serde_json::from_str(text.trim()).context("frr prefix JSON")?;
        Ok(parse_prefix_json(&v))
    }

    fn announce(&mut self, a: Announce) -> Result<()> {
        let mut lines = route_map(&a, self.spec.asn);
        lines.push(format!("router bgp {}", self.spec.asn));
        lines.push(format!("address-family {} unicast", afi(&a.prefix)));
        lines.push(format!(
            "network {} route-map {}",
            a.prefix,
            route_map_name(&a.prefix)
        ));
        self.configure(&lines)
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        self.configure(&[
            format!("router bgp {}", self.spec.asn),
            format!("address-family {} unicast", afi(&prefix)),
            format!("no network {prefix}"),
        ])
    }

    fn stop(&mut self) {
        // bgpd closes its sessions on SIGTERM without a NOTIFICATION; shut them down first so
        // the route server sees a Cease (graceful restart is disabled too, so nothing is kept).
        if self.bgpd.is_some() {
            let mut lines = vec![format!("router bgp {}", self.spec.asn)];
            lines.extend(
                self.spec
                    .rs_addrs
                    .iter()
                    .map(|rs| format!("neighbor {rs} shutdown")),
            );
            if let Err(e) = self.configure(&lines) {
                println!(
                    "{}: neighbor shutdown before stop failed: {e:#}",
                    self.spec.name
                );
            }
        }
        if let Some(mut p) = self.bgpd.take() {
            p.stop(Duration::from_secs(3));
        }
        if let Some(mut p) = self.zebra.take() {
            p.stop(Duration::from_secs(3));
        }
    }
}
