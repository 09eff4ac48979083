//! BGP4MP update logs (RFC 6396 4.4) of a running route server, read back
//! with our own MRT framing reader (byte-exact UPDATEs), with bgpkit-parser
//! and with Debian's `bgpdump -m`. The route server (in this process,
//! `mrt.updates` with a 2 s rotation) serves one member, a `fox replay`
//! speaker on 127.0.0.3 that sends two UPDATEs and End-of-RIB, then stops
//! with a Cease; the logs must hold every UPDATE as sent, in order, and the
//! session's state changes around them.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use bytes::BytesMut;
use fox_routeserver::replay::{PeerSelect, Prepared, ReplayConfig, Speaker};
use fox_routeserver::wire::{
    encode_announcements, encode_end_of_rib, Afi, AsPath, NextHop, Origin, PathAttrs, SessionCaps,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn attrs(path: Vec<u32>, med: Option<u32>, community: u32) -> PathAttrs {
    PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(path),
        next_hop: NextHop::V4(Ipv4Addr::new(127, 0, 0, 3)),
        med,
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![(1659 << 16) | community],
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    }
}

/// Prefix, AS path, MED, number of communities, next hop of an element.
type Seen = (String, Vec<u32>, Option<u32>, usize, String);

/// One BGP4MP record: subtype, peer AS, local AS, peer IP, local IP, rest.
struct Rec {
    subtype: u16,
    peer_as: u32,
    local_as: u32,
    peer_ip: IpAddr,
    local_ip: IpAddr,
    data: Vec<u8>,
}

/// Splits an MRT stream into BGP4MP records (AS4 subtypes, IPv4 only).
fn records(mut b: &[u8]) -> Vec<Rec> {
    let mut out = Vec::new();
    while b.len() >= 12 {
        let ty = u16::from_be_bytes([b[4], b[5]]);
        let subtype = u16::from_be_bytes([b[6], b[7]]);
        let len = u32::from_be_bytes([b[8], b[9], b[10], b[11]]) as usize;
        let body = &b[12..12 + len];
        assert_eq!(ty, 16, "BGP4MP");
        assert!(subtype == 4 || subtype == 5, "AS4 subtypes: {subtype}");
        let afi = u16::from_be_bytes([body[10], body[11]]);
        assert_eq!(afi, 1);
        let ip = |o: usize| {
            IpAddr::V4(Ipv4Addr::new(
                body[o],
                body[o + 1],
                body[o + 2],
                body[o + 3],
            ))
        };
        out.push(Rec {
            subtype,
            peer_as: u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
            local_as: u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
            peer_ip: ip(12),
            local_ip: ip(16),
            data: body[20..].to_vec(),
        });
        b = &b[12 + len..];
    }
    assert!(b.is_empty(), "{} bytes left over", b.len());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_log_holds_every_update_and_state_change() {
    let dir = std::env::temp_dir().join(format!("fox-mrt-upd-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let (bgp_port, api_port) = (free_port(), free_port());
    let yaml = format!(
        "exchange: {{ name: FOX-mrt, data_dir: {dir} }}
sites: [ {{ id: hsinchu, name: Hsinchu }} ]
peering_lans: [ {{ name: loopback, prefix: 127.0.0.0/24 }} ]
route_servers:
  - {{ name: rs1, asn: 64500, router_id: 127.0.0.1, ipv4: 127.0.0.1, site: hsinchu, port: {bgp_port}, api: 127.0.0.1:{api_port} }}
policy: {{ rpki: false, irr: false }}
history: {{ enabled: false }}
mrt:
  interval: 1h
  updates: {{ file: \"updates.%Y%m%d.%H%M%S.gz\", interval: 2s }}
members:
  - {{ name: TANet, asn: 1659, passive: true, connections: [ {{ site: hsinchu, ipv4: 127.0.0.3 }} ] }}
",
        dir = dir.display()
    );
    let config = fox_config::parse(&yaml, "mrt-updates.yaml").expect("config");
    let (sd_tx, sd_rx) = tokio::sync::watch::channel(None);
    let rs = tokio::spawn(async move { fox_routeserver::server::run(config, "rs1", sd_rx).await });

    let member = Ipv4Addr::new(127, 0, 0, 3);
    let cfg = ReplayConfig {
        mrt: vec![],
        select: PeerSelect::default(),
        via: vec![],
        limit: None,
        local_asn: 1659,
        local_address: Some(IpAddr::V4(member)),
        router_id: member,
        next_hop_v4: Some(member),
        next_hop_v6: None,
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bgp_port),
        remote_asn: 64500,
        rate: None,
        hold_time: 90,
    };
    let mut speaker = None;
    for _ in 0..50 {
        if let Ok(s) = Speaker::connect(&cfg).await {
            speaker = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut speaker = speaker.expect("member session");
    let groups = vec![
        (
            attrs(vec![1659, 17716], Some(10), 100),
            vec![
                "140.112.0.0/16".parse().expect("prefix"),
                "140.113.0.0/16".parse().expect("prefix"),
            ],
        ),
        (
            attrs(vec![1659, 4780], None, 200),
            vec!["163.13.0.0/16".parse().expect("prefix")],
        ),
    ];
    // What goes on the wire, message by message (one UPDATE per group).
    let caps = SessionCaps::default();
    let mut want: Vec<Vec<u8>> = Vec::new();
    for (a, p) in &groups {
        let mut b = BytesMut::new();
        encode_announcements(a, p, &caps, &mut b);
        want.push(b.to_vec());
    }
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        let mut b = BytesMut::new();
        encode_end_of_rib(afi, &mut b);
        want.push(b.to_vec());
    }
    let prepared = Prepared {
        groups: groups.clone(),
        prefixes: 3,
    };
    speaker
        .announce(&prepared, None, |_| {})
        .await
        .expect("announce");
    // Keep the session across at least one rotation, then stop with a Cease.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let held = tokio::spawn(async move {
        speaker
            .hold_open(async {
                let _ = stop_rx.await;
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), held).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = sd_tx.send(Some("test done".into()));
    let _ = tokio::time::timeout(Duration::from_secs(15), rs).await;

    // The files, oldest first; no temporary file is left.
    let logdir = dir.join("mrt").join("rs1");
    let mut names: Vec<String> = std::fs::read_dir(&logdir)
        .expect("log dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("updates.") && n.ends_with(".gz")),
        "{names:?}"
    );
    let mut stream = Vec::new();
    for n in &names {
        let f = std::fs::File::open(logdir.join(n)).expect("open");
        flate2::read::GzDecoder::new(f)
            .read_to_end(&mut stream)
            .expect("whole gzip file");
    }

    // 1. Byte-exact UPDATEs, in order, with the session's endpoints.
    let recs = records(&stream);
    let msgs: Vec<&Rec> = recs.iter().filter(|r| r.subtype == 4).collect();
    let got: Vec<Vec<u8>> = msgs.iter().map(|r| r.data.clone()).collect();
    assert_eq!(got, want, "the UPDATEs as sent, in order");
    for r in &recs {
        assert_eq!((r.peer_as, r.local_as), (1659, 64500));
        assert_eq!(r.peer_ip, IpAddr::V4(member));
    }
    assert!(msgs
        .iter()
        .all(|r| r.local_ip == IpAddr::V4(Ipv4Addr::LOCALHOST)));
    // 2. State changes: up to Established before the first UPDATE, out of
    //    it after the last.
    let states: Vec<(usize, u16, u16)> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.subtype == 5)
        .map(|(i, r)| {
            (
                i,
                u16::from_be_bytes([r.data[0], r.data[1]]),
                u16::from_be_bytes([r.data[2], r.data[3]]),
            )
        })
        .collect();
    let first_msg = recs.iter().position(|r| r.subtype == 4).expect("a message");
    let last_msg = recs
        .iter()
        .rposition(|r| r.subtype == 4)
        .expect("a message");
    let up = states
        .iter()
        .find(|s| s.2 == 6)
        .expect("a change to Established");
    assert!(up.0 < first_msg, "{states:?}");
    assert!(
        states.iter().any(|s| s.0 > last_msg && s.1 == 6),
        "a change out of Established after the UPDATEs: {states:?}"
    );
    for w in states.windows(2) {
        assert_eq!(w[0].2, w[1].1, "consecutive changes chain: {states:?}");
    }

    // 3. bgpkit-parser: the announcements in order with their attributes.
    let elems: Vec<_> =
        bgpkit_parser::BgpkitParser::from_reader(std::io::Cursor::new(stream.clone()))
            .into_elem_iter()
            .collect();
    let seen: Vec<Seen> = elems
        .iter()
        .map(|e| {
            (
                e.prefix.prefix.to_string(),
                e.as_path
                    .as_ref()
                    .and_then(|p| p.to_u32_vec_opt(false))
                    .unwrap_or_default(),
                e.med,
                e.communities.as_ref().map_or(0, |c| c.len()),
                e.next_hop.map(|n| n.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let nh = "127.0.0.3".to_string();
    assert_eq!(
        seen,
        vec![
            (
                "140.112.0.0/16".into(),
                vec![1659, 17716],
                Some(10),
                1,
                nh.clone()
            ),
            (
                "140.113.0.0/16".into(),
                vec![1659, 17716],
                Some(10),
                1,
                nh.clone()
            ),
            // bgpkit-parser shows an absent MED as 0 (the byte-exact check
            // above shows it is absent).
            (
                "163.13.0.0/16".into(),
                vec![1659, 4780],
                Some(0),
                1,
                nh.clone()
            ),
        ]
    );
    assert!(elems.iter().all(|e| e.peer_asn.to_u32() == 1659));

    // 4. bgpdump -m: the same announcements and the state changes.
    if Command::new("bgpdump").arg("-T").output().is_err() {
        eprintln!("bgpdump part skipped: bgpdump (Debian package) is not installed");
    } else {
        let mut lines = Vec::new();
        for n in &names {
            let out = Command::new("bgpdump")
                .arg("-m")
                .arg(logdir.join(n))
                .output()
                .expect("bgpdump");
            lines.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            );
        }
        let text = lines.join("\n");
        eprintln!("bgpdump -m:\n{text}");
        let ann: Vec<Vec<&str>> = lines
            .iter()
            .map(|l| l.split('|').collect::<Vec<_>>())
            .filter(|f| f.len() > 10 && f[2] == "A")
            .collect();
        let fields: Vec<(&str, &str, &str, &str, &str, &str)> = ann
            .iter()
            .map(|f| (f[3], f[4], f[5], f[6], f[8], f[10]))
            .collect();
        assert_eq!(
            fields,
            vec![
                (
                    "127.0.0.3",
                    "1659",
                    "140.112.0.0/16",
                    "1659 17716",
                    "127.0.0.3",
                    "10"
                ),
                (
                    "127.0.0.3",
                    "1659",
                    "140.113.0.0/16",
                    "1659 17716",
                    "127.0.0.3",
                    "10"
                ),
                (
                    "127.0.0.3",
                    "1659",
                    "163.13.0.0/16",
                    "1659 4780",
                    "127.0.0.3",
                    "0"
                ),
            ],
            "{text}"
        );
        assert!(
            ann[0][11].contains("1659:100") && ann[2][11].contains("1659:200"),
            "{text}"
        );
        let st: Vec<(u16, u16)> = lines
            .iter()
            .map(|l| l.split('|').collect::<Vec<_>>())
            .filter(|f| f.len() >= 7 && f[2] == "STATE")
            .map(|f| (f[5].parse().unwrap_or(0), f[6].parse().unwrap_or(0)))
            .collect();
        let ours: Vec<(u16, u16)> = states.iter().map(|s| (s.1, s.2)).collect();
        assert_eq!(st, ours, "{text}");
    }
    eprintln!(
        "files {names:?}; {} records; state changes {states:?}",
        recs.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
