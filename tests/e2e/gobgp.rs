//! A member running GoBGP (`gobgpd`), driven through the `gobgp` CLI over its gRPC API,
//! which listens on a per-instance port on 127.0.0.1 inside the member's namespace.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use serde_json::Value;

use crate::member::{Announce, Member, MemberSpec, RouteSeen};
use crate::netns::{poll, Lab, Proc};

static NEXT_PORT: AtomicU16 = AtomicU16::new(50051);

/// A member whose router is gobgpd.
pub struct GobgpMember {
    spec: MemberSpec,
    lab: Arc<Lab>,
    port: String,
    proc: Option<Proc>,
}

/// gobgpd TOML: global AS and router id, one neighbour per RS address, one AFI per session.
fn config(spec: &MemberSpec) -> String {
    let h = &spec.host;
    let mut c = format!(
        "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = 179\n  \
         local-address-list = [\"{}\", \"{}\"]\n",
        spec.asn, h.ipv4, h.ipv4, h.ipv6
    );
    // Export only locally originated routes (a real member's export filter): otherwise routes
    // learned from one route server session would be announced to the others.
    c.push_str(
        "[global.apply-policy.config]\n  export-policy-list = [\"own-routes\"]\n  \
         default-export-policy = \"reject-route\"\n\n[[policy-definitions]]\n  \
         name = \"own-routes\"\n  [[policy-definitions.statements]]\n    name = \"local\"\n    \
         [policy-definitions.statements.conditions.bgp-conditions]\n      route-type = \"local\"\n    \
         [policy-definitions.statements.actions]\n      route-disposition = \"accept-route\"\n",
    );
    for rs in &spec.rs_addrs {
        let (afi, local) = match rs {
            IpAddr::V4(_) => ("ipv4-unicast", h.ipv4.to_string()),
            IpAddr::V6(_) => ("ipv6-unicast", h.ipv6.to_string()),
        };
        let _ = write!(
            c,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{rs}\"\n    \
             peer-as = {}\n  [neighbors.timers.config]\n    connect-retry = 2\n    \
             idle-hold-time-after-reset = 1\n  [neighbors.transport.config]\n    \
             local-address = \"{local}\"\n  [[neighbors.afi-safis]]\n    \
             [neighbors.afi-safis.config]\n      afi-safi-name = \"{afi}\"\n",
            spec.rs_asn
        );
    }
    c
}

impl GobgpMember {
    /// Start gobgpd for `spec` and originate `announce`.
    pub fn start(lab: &Arc<Lab>, spec: MemberSpec, announce: Vec<Announce>) -> Result<GobgpMember> {
        let conf = spec.host.dir.join("gobgpd.toml");
        fs::write(&conf, config(&spec)).with_context(|| format!("write {}", conf.display()))?;
        let port = NEXT_PORT.fetch_add(1, Ordering::SeqCst).to_string();
        let api = format!("127.0.0.1:{port}");
        let conf_s = conf.to_string_lossy().into_owned();
        let proc = lab.spawn(
            &spec.host.ns,
            "gobgpd",
            &[
                "gobgpd",
                "-f",
                &conf_s,
                "--api-hosts",
                &api,
                "-p",
                "--pprof-disable",
            ],
        )?;
        let mut m = GobgpMember {
            spec,
            lab: Arc::clone(lab),
            port,
            proc: Some(proc),
        };
        let up = poll(Duration::from_secs(10), Duration::from_millis(50), || {
            m.gobgp(&["global"]).is_ok()
        });
        if !up {
            bail!("gobgpd in {} did not answer on {api}", m.spec.host.ns);
        }
        for a in announce {
            m.announce(a)?;
        }
        Ok(m)
    }

    fn gobgp(&self, args: &[&str]) -> Result<String> {
        let mut cmd = vec!["gobgp", "-p", &self.port];
        cmd.extend_from_slice(args);
        self.lab.exec_ok(&self.spec.host.ns, &cmd)
    }
}

fn family(prefix: &IpNet) -> &'static str {
    match prefix {
        IpNet::V4(_) => "ipv4",
        IpNet::V6(_) => "ipv6",
    }
}

/// Parse `gobgp global rib -a X -j`: a map prefix -> paths; locally originated paths skipped.
pub fn parse_rib_json(text: &str) -> Result<Vec<RouteSeen>> {
    let v: Value = serde_json::from_str(text.trim()).context("gobgp rib JSON")?;
    let mut res = Vec::new();
    let Some(map) = v.as_object() else {
        return Ok(res);
    };
    for (prefix, paths) in map {
        let Ok(prefix) = prefix.parse::<IpNet>() else {
            continue;
        };
        for p in paths.as_array().into_iter().flatten() {
            let from_neighbor = p
                .get("neighbor-ip")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|a| !a.is_unspecified());
            if !from_neighbor {
                continue;
            }
            if let Some(r) = path_to_route(prefix, p) {
                res.push(r);
            }
        }
    }
    Ok(res)
}

fn path_to_route(prefix: IpNet, p: &Value) -> Option<RouteSeen> {
    let mut r = RouteSeen {
        prefix,
        next_hop: IpAddr::from([0, 0, 0, 0]),
        as_path: Vec::new(),
        med: None,
        communities: Vec::new(),
        large_communities: Vec::new(),
    };
    let mut have_nh = false;
    for a in p.get("attrs")?.as_array()? {
        match a.get("type").and_then(Value::as_u64) {
            Some(2) => {
                for seg in a
                    .get("as_paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for asn in seg
                        .get("asns")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        r.as_path.push(u32::try_from(asn.as_u64()?).ok()?);
                    }
                }
            }
            Some(3) | Some(14) => {
                if let Some(nh) = a
                    .get("nexthop")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                {
                    r.next_hop = nh;
                    have_nh = true;
                }
            }
            Some(4) => {
                r.med = a
                    .get("metric")
                    .and_then(Value::as_u64)
                    .and_then(|m| u32::try_from(m).ok())
            }
            Some(8) => {
                for c in a
                    .get("communities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let c = u32::try_from(c.as_u64()?).ok()?;
                    r.communities.push(((c >> 16) as u16, (c & 0xffff) as u16));
                }
            }
            Some(32) => {
                for c in a
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    // gobgp 3.x spells the fields ASN/LocalData1/LocalData2.
                    let g = |k: &str, alt: &str| {
                        c.get(k)
                            .or_else(|| c.get(alt))
                            .and_then(Value::as_u64)
                            .and_then(|x| u32::try_from(x).ok())
                    };
                    r.large_communities.push((
                        g("ASN", "global_admin")?,
                        g("LocalData1", "local_data1")?,
                        g("LocalData2", "local_data2")?,
                    ));
                }
            }
            _ => {}
        }
    }
    r.communities.sort_unstable();
    r.large_communities.sort_unstable();
    have_nh.then_some(r)
}

impl Member for GobgpMember {
    fn spec(&self) -> &MemberSpec {
        &self.spec
    }

    fn kind(&self) -> &'static str {
        "gobgp"
    }

    fn established(&self, peer: IpAddr) -> bool {
        self.gobgp(&["neighbor", &peer.to_string(), "-j"])
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(t.trim()).ok())
            .and_then(|v| {
                v.pointer("/state/session_state").and_then(|s| {
                    s.as_u64()
                        .map(|n| n == 6)
                        .or_else(|| s.as_str().map(|s| s.eq_ignore_ascii_case("established")))
                })
            })
            .unwrap_or(false)
    }

    fn routes(&self) -> Result<Vec<RouteSeen>> {
        let mut all = Vec::new();
        for afi in ["ipv4", "ipv6"] {
            let text = self.gobgp(&["global", "rib", "-a", afi, "-j"])?;
            all.extend(parse_rib_json(&text)?);
        }
        Ok(all)
    }

    fn announce(&mut self, a: Announce) -> Result<()> {
        let prefix = a.prefix.to_string();
        let mut args: Vec<String> = vec!["global", "rib", "add", "-a", family(&a.prefix), &prefix]
            .into_iter()
            .map(str::to_owned)
            .collect();
        if a.raw_path.is_some() {
            bail!("gobgpd always puts its own ASN first on an eBGP session: no raw AS path");
        }
        // gobgpd adds its own ASN in front of `aspath` on the eBGP session.
        let mut path = vec![self.spec.asn.to_string(); usize::from(a.prepend)];
        path.extend(a.path_tail.iter().map(u32::to_string));
        if !path.is_empty() {
            args.extend(["aspath".to_owned(), path.join(",")]);
        }
        if let Some(nh) = a.next_hop {
            args.extend(["nexthop".to_owned(), nh.to_string()]);
        }
        if let Some(m) = a.med {
            args.extend(["med".to_owned(), m.to_string()]);
        }
        if !a.communities.is_empty() {
            let c: Vec<String> = a
                .communities
                .iter()
                .map(|(x, y)| format!("{x}:{y}"))
                .collect();
            args.extend(["community".to_owned(), c.join(",")]);
        }
        if !a.large_communities.is_empty() {
            let c: Vec<String> = a
                .large_communities
                .iter()
                .map(|(x, y, z)| format!("{x}:{y}:{z}"))
                .collect();
            args.extend(["large-community".to_owned(), c.join(",")]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.gobgp(&refs)?;
        Ok(())
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        let p = prefix.to_string();
        self.gobgp(&["global", "rib", "del", "-a", family(&prefix), &p])?;
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop(Duration::from_secs(3));
        }
    }
}
