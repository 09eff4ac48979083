//! Session security against real peers: TCP-MD5 (RFC 2385) with BIRD 2
//! members using `password`, GTSM (RFC 5082) with BIRD `ttl security on`
//! and a raw TCP client sending with TTL 64, and a reload changing a key.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bird::{member_config, BirdDaemon};
use crate::fixture::{ASNET, GSN, RS_ASN, TANET};
use crate::member::MemberSpec;
use crate::netns::{can_run, poll, Host, Lab};
use crate::routeserver::{
    fox_config, Fox, MemberEntry, MemberOptions, RouteServerUnderTest, RsOptions, RsSpec,
};

const TANET_KEY: &str = "tanet-md5-key";
const GSN_KEY: &str = "gsn-right-key";
const GSN_WRONG: &str = "gsn-wrong-key";

/// BIRD member configuration with a password and optionally GTSM on every session.
fn bird_conf(spec: &MemberSpec, password: &str, gtsm: bool) -> String {
    let extra = format!(
        "  connect delay time 1;\n  password \"{password}\";\n{}",
        if gtsm { "  ttl security on;\n" } else { "" }
    );
    member_config(spec, &[]).replace("  connect delay time 1;\n", &extra)
}

fn spec(h: &Host, name: &str, asn: u32, rs: &Host) -> MemberSpec {
    MemberSpec {
        name: name.to_owned(),
        asn,
        host: h.clone(),
        rs_asn: RS_ASN,
        rs_addrs: vec![IpAddr::V4(rs.ipv4), IpAddr::V6(rs.ipv6)],
    }
}

/// Open a TCP connection from `ns` to `dst` port 179 sending with `ttl`;
/// prints `OPEN` if the route server's OPEN arrives within 5 s, else `NONE`.
fn probe(lab: &Lab, ns: &str, dst: IpAddr, ttl: u8) -> Result<String> {
    let (fam, ttl_opt) = match dst {
        IpAddr::V4(_) => (
            "AF_INET",
            "s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, T)",
        ),
        IpAddr::V6(_) => (
            "AF_INET6",
            "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, T)",
        ),
    };
    let script = format!(
        "import socket\nT={ttl}\ns=socket.socket(socket.{fam}, socket.SOCK_STREAM)\n{ttl_opt}\n\
         s.settimeout(5)\ntry:\n  s.connect(('{dst}', 179))\n  d=s.recv(19)\n  \
         print('OPEN' if len(d)==19 and d[18]==1 else 'NONE')\nexcept Exception as e:\n  print('NONE', e)\n"
    );
    let out = lab.exec_ok(ns, &["/usr/bin/python3", "-c", &script])?;
    Ok(out.trim().to_owned())
}

fn metric(fox: &Fox, name_and_labels: &str) -> f64 {
    let text = fox.api_get("/metrics").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name_and_labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn scenario(lab: &Arc<Lab>, rs: &RsSpec, members: &mut [MemberEntry]) -> Result<()> {
    let mut fox = Fox::start(lab, rs, members)?;
    let result = (|| -> Result<()> {
        let rs_v4 = IpAddr::V4(rs.host.ipv4);
        let rs_v6 = IpAddr::V6(rs.host.ipv6);
        let tanet = spec(&members[0].host, TANET.name, TANET.asn, &rs.host);
        let gsn = spec(&members[1].host, GSN.name, GSN.asn, &rs.host);
        let mut b_tanet = BirdDaemon::start(
            lab,
            &tanet.host,
            "bird",
            &bird_conf(&tanet, TANET_KEY, true),
        )?;
        let mut b_gsn =
            BirdDaemon::start(lab, &gsn.host, "bird", &bird_conf(&gsn, GSN_WRONG, false))?;
        let r = (|| -> Result<()> {
            // Right password and GTSM on both sides: up on IPv4 and IPv6.
            for a in [rs_v4, rs_v6] {
                if !poll(Duration::from_secs(30), Duration::from_millis(200), || {
                    b_tanet.established(a)
                }) {
                    bail!("TANet (MD5 + GTSM) not Established to {a}");
                }
            }
            // Wrong password: never up, and the kernel's drops are counted and logged.
            let up = poll(Duration::from_secs(12), Duration::from_millis(200), || {
                b_gsn.established(rs_v4) || b_gsn.established(rs_v6)
            });
            if up {
                bail!("GSN came up with the wrong TCP-MD5 password");
            }
            let dropped = poll(Duration::from_secs(10), Duration::from_millis(500), || {
                metric(&fox, "fox_bgp_tcp_md5_dropped_segments_total") > 0.0
            });
            if !dropped {
                bail!("no TCP-MD5 drops counted in /metrics");
            }
            if !fox.log_text().contains("TCP-MD5") {
                bail!("the route server did not log the TCP-MD5 drops");
            }
            // GTSM member without BIRD: TTL 64 is refused, TTL 255 gets our OPEN.
            let asnet = &members[2].host;
            for dst in [rs_v4, rs_v6] {
                let low = probe(lab, &asnet.ns, dst, 64)?;
                if low.starts_with("OPEN") {
                    bail!("a TTL 64 connection to {dst} from a GTSM member got an OPEN");
                }
                let ok = probe(lab, &asnet.ns, dst, 255)?;
                if !ok.starts_with("OPEN") {
                    bail!("a TTL 255 connection to {dst} from a GTSM member got no OPEN: {ok}");
                }
            }
            if metric(&fox, "fox_bgp_connections_refused_total{reason=\"gtsm\"}") < 2.0 {
                bail!("GTSM refusals not counted");
            }
            // Reload with GSN's key changed to what its router uses: it comes up,
            // TANet's unchanged session stays up.
            let flaps_before = fox.api_neighbor(rs_v4_member(&tanet))?["flaps"].clone();
            members[1].options.password = Some(GSN_WRONG.to_owned());
            let conf = rs.host.dir.join("fox.yaml");
            let data = rs.host.dir.join("data");
            fs::write(&conf, fox_config(rs, members, &data.to_string_lossy()))?;
            fox.reload()?;
            for a in [rs_v4, rs_v6] {
                if !poll(Duration::from_secs(30), Duration::from_millis(200), || {
                    b_gsn.established(a)
                }) {
                    bail!("GSN not Established to {a} after the reload changed its key");
                }
            }
            if !(b_tanet.established(rs_v4) && b_tanet.established(rs_v6)) {
                bail!("TANet's session went down on a reload that did not change it");
            }
            let flaps_after = fox.api_neighbor(rs_v4_member(&tanet))?["flaps"].clone();
            if flaps_before != flaps_after {
                bail!("TANet flapped on the reload: {flaps_before} -> {flaps_after}");
            }
            Ok(())
        })();
        b_tanet.stop();
        b_gsn.stop();
        r
    })();
    let _ = fs::write(lab.log_dir.join("rs-diagnostics.txt"), fox.diagnostics());
    fox.stop();
    result
}

fn rs_v4_member(s: &MemberSpec) -> IpAddr {
    IpAddr::V4(s.host.ipv4)
}

/// TCP-MD5 and GTSM against BIRD 2 and a raw TTL-64 client; reload changes a key.
#[test]
fn fox_tcp_md5_and_gtsm() {
    let test = "fox_tcp_md5_and_gtsm";
    if !can_run(test) {
        return;
    }
    let r = (|| -> Result<()> {
        let mut lab = Lab::new(test)?;
        let v4 = |i: u8| Ipv4Addr::new(192, 0, 2, i);
        let v6 = |i: u8| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i));
        let rs_host = lab.add_host("rs1", v4(1), v6(1))?;
        let mut members = Vec::new();
        for (p, password, ttl_security) in [
            (TANET, Some(TANET_KEY), true),
            (GSN, Some(GSN_KEY), false),
            (ASNET, None, true),
        ] {
            let host = lab.add_host(&p.name.to_lowercase(), v4(p.host_id), v6(p.host_id))?;
            members.push(MemberEntry {
                name: p.name.to_owned(),
                asn: p.asn,
                host,
                options: MemberOptions {
                    password: password.map(str::to_owned),
                    ttl_security,
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
