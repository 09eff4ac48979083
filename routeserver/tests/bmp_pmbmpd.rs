//! The BMP encoder against a real station: pmacct's `pmbmpd` (Debian) listens on
//! 127.0.0.1, this test connects and sends Initiation, Peer Up, Route Monitoring pre- and
//! post-policy, Statistics, Peer Down and Termination, and checks the JSON lines pmbmpd logs.
//! Skips (with a message) when pmbmpd is not installed.

mod pmbmpd;

use pmbmpd::{free_port, Kill};

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fox_routeserver::bmp::{self, DownReason, PeerHeader, PeerType};
use fox_routeserver::wire::{AsPath, Capability, NextHop, Open, Origin, PathAttrs};

#[test]
fn pmbmpd_sees_peers_and_routes_pre_and_post_policy() {
    if Command::new("pmbmpd").arg("-V").output().is_err() {
        eprintln!("skipped: pmbmpd (Debian package pmacct) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fox-bmp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let log = dir.join("bmp.json");
    let port = free_port();
    let conf = dir.join("pmbmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "bmp_daemon_ip: 127.0.0.1\nbmp_daemon_port: {port}\nbmp_daemon_msglog_file: {}\n\
             bmp_daemon_msglog_output: json\n",
            log.display()
        ),
    )
    .expect("config");
    let child = Command::new("pmbmpd")
        .arg("-f")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pmbmpd");
    let _guard = Kill(child);
    let t0 = Instant::now();
    let mut sock = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if t0.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("pmbmpd does not listen on {port}: {e}"),
        }
    };
    let member = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
    let h = |post| PeerHeader {
        peer_type: PeerType::Global,
        post_policy: post,
        address: member,
        asn: 1659,
        bgp_id: Ipv4Addr::new(192, 0, 2, 11),
        time: (1_795_450_000, 0),
        legacy_as_path: false,
    };
    let attrs = PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(vec![1659, 17716]),
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)),
        med: None,
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![],
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    };
    let accepted = "140.112.0.0/16".parse().expect("prefix");
    let filtered = "10.0.0.0/8".parse().expect("prefix");
    let mut msgs = vec![bmp::initiation("rs1", "FOX route server")];
    msgs.push(bmp::peer_up(
        &h(false),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 179),
        40000,
        // Both OPENs carry the 4-octet AS capability: BMP Route Monitoring uses the
        // session's AS size, and pmbmpd learns it from these OPENs.
        &Open::new(
            64500,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![Capability::FourOctetAs(64500)],
        ),
        &Open::new(
            1659,
            90,
            Ipv4Addr::new(192, 0, 2, 11),
            vec![Capability::FourOctetAs(1659)],
        ),
    ));
    // Pre-policy: both routes; post-policy: only the accepted one.
    msgs.extend(bmp::route_monitoring(
        &h(false),
        &attrs,
        &[accepted, filtered],
    ));
    msgs.extend(bmp::route_monitoring(&h(true), &attrs, &[accepted]));
    msgs.push(bmp::statistics(&h(false), 1, 2, 1));
    msgs.push(bmp::peer_down(&h(false), &DownReason::RemoteNoData));
    msgs.push(bmp::termination(0, "test done"));
    for m in &msgs {
        sock.write_all(m).expect("send to pmbmpd");
    }
    sock.flush().expect("flush");
    // pmbmpd writes its log lines as messages arrive; wait (bounded) for the last one.
    let mut text = String::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(15) {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("\"term\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(sock);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let of = |ty: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|v| v["bmp_msg_type"] == ty).collect()
    };
    assert_eq!(of("init").len(), 1, "log:\n{text}");
    let up = of("peer_up");
    assert_eq!(up.len(), 1, "log:\n{text}");
    assert_eq!(up[0]["peer_ip"], "192.0.2.11", "log:\n{text}");
    let rm = of("route_monitor");
    let seen = |prefix: &str, post: i64| {
        rm.iter().any(|v| {
            v["ip_prefix"] == prefix
                && v["is_post"].as_i64() == Some(post)
                && v["as_path"] == "1659 17716"
        })
    };
    assert!(
        seen("140.112.0.0/16", 0),
        "pre-policy accepted route missing:\n{text}"
    );
    assert!(
        seen("10.0.0.0/8", 0),
        "pre-policy filtered route missing:\n{text}"
    );
    assert!(
        seen("140.112.0.0/16", 1),
        "post-policy route missing:\n{text}"
    );
    assert!(
        !seen("10.0.0.0/8", 1),
        "filtered route in post-policy:\n{text}"
    );
    assert_eq!(of("peer_down").len(), 1, "log:\n{text}");
    // pmbmpd logs one line per counter: rejected 1, Adj-RIB-In 2, Loc-RIB 1.
    let stats: Vec<(i64, i64)> = of("stats")
        .iter()
        .filter_map(|v| Some((v["counter_type"].as_i64()?, v["counter_value"].as_i64()?)))
        .collect();
    assert_eq!(stats, vec![(0, 1), (7, 2), (8, 1)], "log:\n{text}");
    assert_eq!(of("term").len(), 1, "log:\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts pmbmpd on `port` logging JSON to `log`.
async fn wait(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 10 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {secs}s waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_client_queues_drops_reconnects_and_resyncs() {
    if Command::new("pmbmpd").arg("-V").output().is_err() {
        eprintln!("skipped: pmbmpd (Debian package pmacct) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fox-bmp-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let port = free_port();
    let (st, _task) = bmp::client::BmpStation::start(
        format!("127.0.0.1:{port}"),
        bmp::initiation("rs1", "FOX route server"),
        4,
    );
    let h = PeerHeader {
        peer_type: PeerType::Global,
        post_policy: false,
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
        asn: 1659,
        bgp_id: Ipv4Addr::new(192, 0, 2, 11),
        time: (1_795_450_000, 0),
        legacy_as_path: false,
    };
    let down = || bmp::peer_down(&h, &DownReason::RemoteNoData);
    // 1. No station: the queue (4) fills, the rest is dropped and a resync asked for.
    for _ in 0..6 {
        st.send(down());
    }
    assert_eq!(st.dropped(), 2);
    assert!(st.take_resync());
    assert!(!st.connected());
    // 2. The station comes up: the client connects (backoff 1, 2, 4 s), sends Initiation,
    //    discards the stale queue and asks for a resync.
    let log1 = dir.join("bmp1.json");
    let p1 = pmbmpd::start(&dir, port, &log1, "1");
    wait(15, "connection to pmbmpd", || st.connected()).await;
    assert!(st.take_resync(), "a new connection asks for a resync");
    assert!(st.send(down()));
    wait(10, "peer_down in the pmbmpd log", || {
        std::fs::read_to_string(&log1).is_ok_and(|t| t.contains("\"peer_down\""))
    })
    .await;
    let text = std::fs::read_to_string(&log1).unwrap_or_default();
    assert_eq!(text.matches("\"init\"").count(), 1, "{text}");
    assert_eq!(
        text.matches("\"peer_down\"").count(),
        1,
        "stale queued messages must not be sent:\n{text}"
    );
    // 3. The station restarts: the client notices on the next write, reconnects, sends a
    //    new Initiation and asks for a resync again.
    drop(p1);
    let log2 = dir.join("bmp2.json");
    let _p2 = pmbmpd::start(&dir, port, &log2, "2");
    wait(40, "reconnection", || {
        st.send(down());
        std::fs::read_to_string(&log2).is_ok_and(|t| t.contains("\"init\""))
    })
    .await;
    assert!(st.take_resync());
    let _ = std::fs::remove_dir_all(&dir);
}
