//! TCP-AO (RFC 5925) between network namespaces, with `fox replay` as the member's
//! speaker (the BGP daemons in Debian 12 predate TCP-AO): matching keys come up and
//! routes flow, a wrong key never comes up and the kernel's AO drop counters rise, and a
//! key rollover on both ends keeps the same session. On a kernel without TCP-AO the test
//! says so and checks that FOX refuses to start with an error naming the member.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::fixture::{GSN, RS_ASN, TANET};
use crate::netns::{can_run, poll, Host, Lab, Proc};
use crate::routeserver::{
    fox_config, Fox, MemberEntry, MemberOptions, RouteServerUnderTest, RsOptions, RsSpec,
};

const TANET_KEY1: &str = "tanet-ao-key-one";
const TANET_KEY2: &str = "tanet-ao-key-two";
const GSN_KEY: &str = "gsn-ao-right-key";
const GSN_WRONG: &str = "gsn-ao-wrong-key";
/// Seconds after Established at which TANet's speaker switches to key 2 (and as long
/// again later deletes key 1).
const SWITCH_AFTER: u64 = 8;

/// `tcp_ao:` of a member: `keys` as (id, recv_id, secret), all hmac(sha256).
fn ao_yaml(keys: &[(u8, u8, &str)], current: u8) -> String {
    let list: Vec<String> = keys
        .iter()
        .map(|(id, recv, s)| {
            format!("{{ id: {id}, recv_id: {recv}, algorithm: hmac(sha256), secret: \"{s}\" }}")
        })
        .collect();
    format!("{{ current: {current}, keys: [{}] }}", list.join(", "))
}

fn mrt() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/mrt/bgpkit/updates.bz2"
    )
    .to_owned()
}

/// `fox replay` from `member` towards the route server with the given TCP-AO keys.
fn replay(lab: &Lab, m: &MemberEntry, rs: &Host, keys: &[String], switch: bool) -> Result<Proc> {
    let connect = format!("{}:179", rs.ipv4);
    let asn = m.asn.to_string();
    let local = m.host.ipv4.to_string();
    let mrt = mrt();
    let mut args = vec![
        env!("CARGO_BIN_EXE_fox"),
        "replay",
        "--mrt",
        &mrt,
        "--limit",
        "20",
        "--connect",
        &connect,
        "--remote-as",
        "64500",
        "--as",
        &asn,
        "--local-address",
        &local,
    ];
    for k in keys {
        args.push("--tcp-ao-key");
        args.push(k);
    }
    let secs = SWITCH_AFTER.to_string();
    if switch {
        args.push("--tcp-ao-switch-after");
        args.push(&secs);
    }
    lab.spawn(&m.host.ns, &format!("replay-{}", m.name), &args)
}

/// `TcpExt:` counter `name` of /proc/net/netstat in namespace `ns`.
fn netstat(lab: &Lab, ns: &str, name: &str) -> u64 {
    let text = lab
        .exec_ok(ns, &["cat", "/proc/net/netstat"])
        .unwrap_or_default();
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn state(fox: &Fox, addr: IpAddr) -> (String, u64, u64) {
    let v = fox.api_neighbor(addr).unwrap_or_default();
    (
        v["state"].as_str().unwrap_or_default().to_owned(),
        v["flaps"].as_u64().unwrap_or(u64::MAX),
        v["state_since"].as_u64().unwrap_or(0),
    )
}

/// Sum of the samples of metric lines starting with `prefix` and containing `label`.
fn metric(fox: &Fox, prefix: &str, label: &str) -> f64 {
    let text = fox.api_get("/metrics").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(prefix) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn write_config(rs: &RsSpec, members: &[MemberEntry]) -> Result<()> {
    let conf = rs.host.dir.join("fox.yaml");
    let data = rs.host.dir.join("data");
    fs::write(&conf, fox_config(rs, members, &data.to_string_lossy()))?;
    Ok(())
}

/// The kernel has no TCP-AO: FOX must refuse to start and name the member.
fn unsupported(lab: &Arc<Lab>, rs: &RsSpec, members: &[MemberEntry], why: &str) -> Result<()> {
    eprintln!("fox_tcp_ao: this kernel has no TCP-AO ({why}); checking the start-up error instead of sessions");
    match Fox::start(lab, rs, members) {
        Ok(mut f) => {
            f.stop();
            bail!("FOX started with tcp_ao configured on a kernel without TCP-AO");
        }
        Err(e) => {
            let log = fs::read_to_string(lab.log_dir.join("fox-routeserver.log"))
                .context("read the FOX log")?;
            if !log.contains("does not support TCP-AO") || !log.contains(TANET.name) {
                bail!("start-up failed ({e:#}) without naming TCP-AO and the member; log:\n{log}");
            }
            Ok(())
        }
    }
}

fn scenario(lab: &Arc<Lab>, rs: &RsSpec, members: &mut [MemberEntry]) -> Result<()> {
    if let Err(e) = fox_routeserver::session::tcp_ao::supported() {
        return unsupported(lab, rs, members, &e.to_string());
    }
    let mut fox = Fox::start(lab, rs, members)?;
    let result = (|| -> Result<()> {
        let tanet = IpAddr::V4(members[0].host.ipv4);
        let gsn = IpAddr::V4(members[1].host.ipv4);
        let bad_before = netstat(lab, &rs.host.ns, "TCPAOBad");
        let k = |id: u8, s: &str| format!("{id}:{id}:hmac(sha256):{s}");
        let mut r_tanet = replay(
            lab,
            &members[0],
            &rs.host,
            &[k(1, TANET_KEY1), k(2, TANET_KEY2)],
            true,
        )?;
        let mut r_gsn = replay(lab, &members[1], &rs.host, &[k(1, GSN_WRONG)], false)?;
        // Matching keys: Established, and the member's routes arrive.
        if !poll(Duration::from_secs(30), Duration::from_millis(200), || {
            state(&fox, tanet).0 == "Established"
        }) {
            bail!("TANet (matching TCP-AO key) not Established");
        }
        let routes = |fox: &Fox| {
            fox.api_routes(tanet, "received")
                .map(|r| r.len())
                .unwrap_or(0)
        };
        if !poll(Duration::from_secs(10), Duration::from_millis(200), || {
            routes(&fox) > 0
        }) {
            bail!("no routes received from TANet over TCP-AO");
        }
        let n_routes = routes(&fox);
        // The session's own TCP-AO counters are exported.
        if !poll(Duration::from_secs(12), Duration::from_millis(500), || {
            metric(&fox, "fox_bgp_tcp_ao_segments{", "result=\"good\"") > 0.0
        }) {
            bail!("no good TCP-AO segments in fox_bgp_tcp_ao_segments");
        }
        // Wrong key: never up, and the kernel counts the bad segments.
        if poll(Duration::from_secs(12), Duration::from_millis(200), || {
            state(&fox, gsn).0 == "Established"
        }) {
            bail!("GSN came up with the wrong TCP-AO key");
        }
        let bad = netstat(lab, &rs.host.ns, "TCPAOBad");
        if bad <= bad_before {
            bail!("TCPAOBad did not rise ({bad_before} -> {bad}) for GSN's wrong key");
        }
        // Rollover: FOX gets key 2 and makes it current; TANet's speaker switches on
        // its own timer and drops key 1; then FOX drops key 1.
        let (_, flaps, since) = state(&fox, tanet);
        members[0].options.tcp_ao = Some(ao_yaml(&[(1, 1, TANET_KEY1), (2, 2, TANET_KEY2)], 2));
        write_config(rs, members)?;
        fox.reload()?;
        if !poll(Duration::from_secs(10), Duration::from_millis(200), || {
            fox.log_text().contains("TCP-AO keys rolled over")
        }) {
            bail!("FOX did not roll TANet's TCP-AO keys on reload");
        }
        std::thread::sleep(Duration::from_secs(2 * SWITCH_AFTER + 2));
        members[0].options.tcp_ao = Some(ao_yaml(&[(2, 2, TANET_KEY2)], 2));
        write_config(rs, members)?;
        fox.reload()?;
        if !poll(Duration::from_secs(45), Duration::from_millis(500), || {
            fox.log_text()
                .contains("old key deleted from the established session")
        }) {
            bail!("FOX did not delete TANet's old TCP-AO key");
        }
        let log = fox.log_text();
        if log.contains("rollover on the established session failed") {
            bail!("FOX logged a failed TCP-AO rollover");
        }
        let rlog = fs::read_to_string(lab.log_dir.join(format!("replay-{}.log", TANET.name)))?;
        if !rlog.contains("switched to the new key") || !rlog.contains("old key deleted") {
            bail!("TANet's speaker did not switch keys and delete the old one:\n{rlog}");
        }
        // Same session: still Established, no flap, same start time, routes still there.
        std::thread::sleep(Duration::from_secs(3));
        let (st, flaps_after, since_after) = state(&fox, tanet);
        if st != "Established" || flaps_after != flaps || since_after != since {
            bail!("TANet's session changed during the rollover: {st}, flaps {flaps} -> {flaps_after}, since {since} -> {since_after}");
        }
        if !r_tanet.running() {
            bail!("TANet's speaker exited during the rollover:\n{rlog}");
        }
        if routes(&fox) != n_routes {
            bail!("TANet's routes changed during the rollover");
        }
        r_tanet.stop(Duration::from_secs(2));
        r_gsn.stop(Duration::from_secs(2));
        Ok(())
    })();
    let _ = fs::write(lab.log_dir.join("rs-diagnostics.txt"), fox.diagnostics());
    fox.stop();
    result
}

/// TCP-AO with `fox replay` members: matching key, wrong key, key rollover.
#[test]
fn fox_tcp_ao() {
    let test = "fox_tcp_ao";
    if !can_run(test) {
        return;
    }
    let r = (|| -> Result<()> {
        let mut lab = Lab::new(test)?;
        let v4 = |i: u8| Ipv4Addr::new(192, 0, 2, i);
        let v6 = |i: u8| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i));
        let rs_host = lab.add_host("rs1", v4(1), v6(1))?;
        let mut members = Vec::new();
        for (p, ao) in [
            (TANET, ao_yaml(&[(1, 1, TANET_KEY1)], 1)),
            (GSN, ao_yaml(&[(1, 1, GSN_KEY)], 1)),
        ] {
            let host = lab.add_host(&p.name.to_lowercase(), v4(p.host_id), v6(p.host_id))?;
            members.push(MemberEntry {
                name: p.name.to_owned(),
                asn: p.asn,
                host,
                options: MemberOptions {
                    tcp_ao: Some(ao),
                    ..MemberOptions::default()
                },
            });
        }
        let lab = Arc::new(lab);
        let rs = RsSpec {
            name: "rs1".to_owned(),
            asn: RS_ASN,
            host: rs_host,
            options: RsOptions::default(),
        };
        scenario(&lab, &rs, &mut members).context("scenario")
    })();
    if let Err(e) = r {
        panic!("{test}: {e:#}\nlogs: target/e2e-logs/{test}");
    }
}
