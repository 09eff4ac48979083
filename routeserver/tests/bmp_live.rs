//! BMP export of a running route server to a real station: pmacct's `pmbmpd`
//! (Debian) on 127.0.0.1. The route server (in this process, configured with
//! `bmp:`) serves one member, a `fox replay` speaker on 127.0.0.3 that
//! announces an accepted route and a bogon; the station must log the Peer
//! Up with both OPENs' endpoints, both routes pre-policy, only the accepted
//! one post-policy, the Peer Down with the member's NOTIFICATION when it
//! stops, and the Termination when the route server shuts down.
//! Skips (with a message) when pmbmpd is not installed.

mod pmbmpd;

use pmbmpd::free_port;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use fox_routeserver::replay::{PeerSelect, Prepared, ReplayConfig, Speaker};
use fox_routeserver::wire::{AsPath, NextHop, Origin, PathAttrs};

fn log_lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn wait_log(
    log: &std::path::Path,
    secs: u64,
    what: &str,
    f: impl Fn(&[serde_json::Value]) -> bool,
) {
    for _ in 0..secs * 5 {
        if f(&log_lines(log)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    panic!("timed out after {secs}s waiting for {what}; pmbmpd log:\n{text}");
}

fn of<'a>(lines: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|v| v["bmp_msg_type"] == ty).collect()
}

fn route(lines: &[serde_json::Value], prefix: &str, post: i64) -> bool {
    of(lines, "route_monitor").iter().any(|v| {
        v["ip_prefix"] == prefix
            && v["is_post"].as_i64() == Some(post)
            && v["as_path"] == "1659 17716"
    })
}

/// Sequence numbers of the Loc-RIB (RFC 9069) Route Monitoring lines for
/// `prefix`: announcements with `path`, or withdrawals when `path` is None.
fn loc_rib(lines: &[serde_json::Value], prefix: &str, path: Option<&str>) -> Vec<i64> {
    of(lines, "route_monitor")
        .iter()
        .filter(|v| v["is_loc"].as_i64() == Some(1) && v["ip_prefix"] == prefix)
        .filter(|v| match path {
            Some(p) => v["log_type"] == "update" && v["as_path"] == p,
            None => v["log_type"] == "withdraw",
        })
        .filter_map(|v| v["seq"].as_i64())
        .collect()
}

/// The member peer_up lines (peer type 0), without the Loc-RIB's.
fn member_ups(lines: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    of(lines, "peer_up")
        .into_iter()
        .filter(|v| v["peer_type"].as_i64() == Some(0))
        .collect()
}

/// Exactly one Loc-RIB peer_up: peer type 3, the route server's ASN and BGP
/// ID, address and ports zero, the VRF/Table Name TLV "global".
fn check_loc_rib_up(lines: &[serde_json::Value], text: &str) {
    let ups: Vec<_> = of(lines, "peer_up")
        .into_iter()
        .filter(|v| v["peer_type"].as_i64() == Some(3))
        .collect();
    assert_eq!(ups.len(), 1, "{text}");
    let u = ups[0];
    assert_eq!(u["is_loc"].as_i64(), Some(1), "{text}");
    assert_eq!(u["peer_asn"].as_i64(), Some(64500), "{text}");
    assert_eq!(u["bgp_id"], "127.0.0.1", "{text}");
    assert_eq!(u["peer_ip"], "0.0.0.0", "{text}");
    assert_eq!(u["local_port"].as_i64(), Some(0), "{text}");
    // "global" in the hex pmbmpd prints for TLV type 3.
    assert_eq!(u["bmp_peer_up_info_3"], "67-6C-6F-62-61-6C", "{text}");
}

/// rs1 (AS64500) on 127.0.0.1:`bgp_port` exporting BMP to 127.0.0.1:`bmp_port`;
/// one member, TANet (AS1659) on 127.0.0.3.
fn rs_config(dir: &std::path::Path, bmp_port: u16, bgp_port: u16) -> fox_config::Config {
    let api_port = free_port();
    let yaml = format!(
        "exchange: {{ name: FOX-bmp, data_dir: {dir} }}
sites: [ {{ id: hsinchu, name: Hsinchu }} ]
peering_lans: [ {{ name: loopback, prefix: 127.0.0.0/24 }} ]
route_servers:
  - {{ name: rs1, asn: 64500, router_id: 127.0.0.1, ipv4: 127.0.0.1, site: hsinchu, port: {bgp_port}, api: 127.0.0.1:{api_port} }}
policy: {{ rpki: false, irr: false }}
history: {{ enabled: false }}
bmp:
  - {{ host: 127.0.0.1, port: {bmp_port} }}
members:
  - {{ name: TANet, asn: 1659, passive: true, connections: [ {{ site: hsinchu, ipv4: 127.0.0.3 }} ] }}
  - {{ name: ASNet, asn: 9264, passive: true, connections: [ {{ site: hsinchu, ipv4: 127.0.0.4 }} ] }}
  - {{ name: OldNet, asn: 4780, passive: true, connections: [ {{ site: hsinchu, ipv4: 127.0.0.5 }} ] }}
",
        dir = dir.display()
    );
    let config = fox_config::parse(&yaml, "bmp-live.yaml").expect("config");
    assert_eq!(config.bmp.len(), 1);
    config
}

/// TANet's session (retried while the route server starts); it announces
/// 140.112.0.0/16 and the bogon 10.0.0.0/8 via `1659 17716`, then keeps the
/// session until `stop`.
async fn member(
    bgp_port: u16,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Result<(), fox_routeserver::replay::ReplayError>> {
    let prefixes = ["140.112.0.0/16", "10.0.0.0/8"];
    speaker(bgp_port, stop, 3, 1659, vec![1659, 17716], &prefixes).await
}

/// A member on 127.0.0.`host` with AS `asn` announcing `prefixes` with
/// `path`, keeping the session until `stop`.
async fn speaker(
    bgp_port: u16,
    stop: tokio::sync::oneshot::Receiver<()>,
    host: u8,
    asn: u32,
    path: Vec<u32>,
    prefixes: &[&str],
) -> tokio::task::JoinHandle<Result<(), fox_routeserver::replay::ReplayError>> {
    let member = Ipv4Addr::new(127, 0, 0, host);
    let cfg = ReplayConfig {
        mrt: vec![],
        select: PeerSelect::default(),
        via: vec![],
        limit: None,
        local_asn: asn,
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
    let mut speaker = speaker.expect("member session to the route server");
    let attrs = PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(path),
        next_hop: NextHop::V4(member),
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
    let prepared = Prepared {
        groups: vec![(
            attrs,
            prefixes
                .iter()
                .map(|p| p.parse().expect("prefix"))
                .collect(),
        )],
        prefixes: prefixes.len(),
    };
    speaker
        .announce(&prepared, None, |_| {})
        .await
        .expect("announce");
    tokio::spawn(async move {
        speaker
            .hold_open(async {
                let _ = stop.await;
            })
            .await
    })
}

/// Exactly one init, the Loc-RIB peer_up and one member peer_up (127.0.0.3,
/// AS1659, local 127.0.0.1:`bgp_port`), both routes pre-policy, the bogon
/// not post-policy; in the Loc-RIB TANet's route and not the bogon.
fn check_up_and_routes(log: &std::path::Path, bgp_port: u16) {
    let lines = log_lines(log);
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert_eq!(of(&lines, "init").len(), 1, "{text}");
    check_loc_rib_up(&lines, &text);
    assert!(
        !loc_rib(&lines, "140.112.0.0/16", Some("1659 17716")).is_empty(),
        "{text}"
    );
    assert!(
        loc_rib(&lines, "10.0.0.0/8", Some("1659 17716")).is_empty(),
        "bogon in the Loc-RIB:\n{text}"
    );
    let ups = member_ups(&lines);
    assert_eq!(ups.len(), 1, "{text}");
    for u in &ups {
        assert_eq!(u["peer_ip"], "127.0.0.3", "{text}");
        assert_eq!(u["peer_asn"].as_i64(), Some(1659), "{text}");
        assert_eq!(u["local_ip"], "127.0.0.1", "{text}");
        assert_eq!(
            u["local_port"].as_i64(),
            Some(i64::from(bgp_port)),
            "{text}"
        );
    }
    assert!(route(&lines, "10.0.0.0/8", 0), "{text}");
    assert!(
        !route(&lines, "10.0.0.0/8", 1),
        "bogon in post-policy:\n{text}"
    );
}

async fn routes_logged(log: &std::path::Path) {
    wait_log(
        log,
        30,
        "both routes pre-policy and the accepted one post-policy",
        |l| {
            route(l, "140.112.0.0/16", 0)
                && route(l, "10.0.0.0/8", 0)
                && route(l, "140.112.0.0/16", 1)
                && !loc_rib(l, "140.112.0.0/16", Some("1659 17716")).is_empty()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_route_server_exports_to_pmbmpd() {
    if Command::new("pmbmpd").arg("-V").output().is_err() {
        eprintln!("skipped: pmbmpd (Debian package pmacct) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fox-bmp-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let log = dir.join("bmp.json");
    let (bmp_port, bgp_port) = (free_port(), free_port());
    let _station = pmbmpd::start(&dir, bmp_port, &log, "live");
    let config = rs_config(&dir, bmp_port, bgp_port);
    let (sd_tx, sd_rx) = tokio::sync::watch::channel(None);
    let rs = tokio::spawn(async move { fox_routeserver::server::run(config, "rs1", sd_rx).await });
    // Let the station connect and its first resync (nothing up yet) pass, so
    // what follows comes from the live hooks, not from a replay.
    wait_log(&log, 20, "init", |l| !of(l, "init").is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let member_task = member(bgp_port, stop_rx).await;
    routes_logged(&log).await;
    check_up_and_routes(&log, bgp_port);
    // ASNet announces 140.112.0.0/16 with a shorter path: the Loc-RIB's
    // best path is replaced by ASNet's; when ASNet leaves, TANet's is back.
    let (stop2_tx, stop2_rx) = tokio::sync::oneshot::channel::<()>();
    let asnet = speaker(bgp_port, stop2_rx, 4, 9264, vec![9264], &["140.112.0.0/16"]).await;
    wait_log(&log, 30, "ASNet's route as the Loc-RIB best", |l| {
        !loc_rib(l, "140.112.0.0/16", Some("9264")).is_empty()
    })
    .await;
    let _ = stop2_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), asnet).await;
    wait_log(&log, 20, "TANet's route back in the Loc-RIB", |l| {
        loc_rib(l, "140.112.0.0/16", Some("1659 17716")).len() == 2
    })
    .await;
    let lines = log_lines(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let tanet = loc_rib(&lines, "140.112.0.0/16", Some("1659 17716"));
    let asnet = loc_rib(&lines, "140.112.0.0/16", Some("9264"));
    assert_eq!(asnet.len(), 1, "{text}");
    assert!(tanet[0] < asnet[0] && asnet[0] < tanet[1], "{text}");
    // Replaced, never withdrawn in between.
    assert!(loc_rib(&lines, "140.112.0.0/16", None).is_empty(), "{text}");

    // The member stops with a Cease: Peer Down, reason 3 (remote NOTIFICATION).
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), member_task).await;
    let tanet_down = |l: &[serde_json::Value]| {
        of(l, "peer_down")
            .into_iter()
            .filter(|v| v["peer_ip"] == "127.0.0.3")
            .count()
    };
    wait_log(&log, 20, "peer_down", |l| tanet_down(l) > 0).await;
    let lines = log_lines(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let down: Vec<_> = of(&lines, "peer_down")
        .into_iter()
        .filter(|v| v["peer_ip"] == "127.0.0.3")
        .collect();
    assert_eq!(down.len(), 1, "{text}");
    assert_eq!(down[0]["reason_type"].as_i64(), Some(3), "{text}");
    // No path is left: the Loc-RIB withdraws the prefix.
    wait_log(&log, 10, "Loc-RIB withdrawal", |l| {
        loc_rib(l, "140.112.0.0/16", None).len() == 1
    })
    .await;

    // Route server shutdown: Termination.
    let _ = sd_tx.send(Some("test done".into()));
    let _ = tokio::time::timeout(Duration::from_secs(15), rs).await;
    wait_log(&log, 10, "term", |l| !of(l, "term").is_empty()).await;
    // The Loc-RIB's Peer Down: reason 6 (RFC 9069 5.4).
    let lines = log_lines(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let loc_down: Vec<_> = of(&lines, "peer_down")
        .into_iter()
        .filter(|v| v["peer_type"].as_i64() == Some(3))
        .collect();
    assert_eq!(loc_down.len(), 1, "{text}");
    assert_eq!(loc_down[0]["reason_type"].as_i64(), Some(6), "{text}");
    eprintln!(
        "pmbmpd log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The station comes up after the member's routes are in the RIB: its new
/// connection asks for a resync, and the RIB replays the Peer Up and the
/// routes, pre-policy and (accepted only) post-policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_started_late_gets_a_replay() {
    if Command::new("pmbmpd").arg("-V").output().is_err() {
        eprintln!("skipped: pmbmpd (Debian package pmacct) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fox-bmp-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let log = dir.join("bmp.json");
    let (bmp_port, bgp_port) = (free_port(), free_port());
    let config = rs_config(&dir, bmp_port, bgp_port);
    let (sd_tx, sd_rx) = tokio::sync::watch::channel(None);
    let rs = tokio::spawn(async move { fox_routeserver::server::run(config, "rs1", sd_rx).await });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let member_task = member(bgp_port, stop_rx).await;
    // The routes reach the RIB while no station listens (their BMP messages
    // are dropped); then the station starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _station = pmbmpd::start(&dir, bmp_port, &log, "live");
    routes_logged(&log).await;
    check_up_and_routes(&log, bgp_port);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), member_task).await;
    let _ = sd_tx.send(Some("test done".into()));
    let _ = tokio::time::timeout(Duration::from_secs(15), rs).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A member on 127.0.0.5 (AS4780) that does not announce the 4-octet AS
/// capability (RFC 6793): it sends 163.28.0.0/16 with AS_PATH
/// `4780 AS_TRANS` and AS4_PATH `4780 263075`, then holds the session
/// until `stop`.
async fn two_octet_member(
    bgp_port: u16,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    use fox_routeserver::wire::{self, Capability, Message, Open, SessionCaps};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let me = Ipv4Addr::new(127, 0, 0, 5);
    let two = SessionCaps {
        four_octet_as: false,
        extended_message: false,
    };
    let mut stream = None;
    for _ in 0..50 {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.bind(SocketAddr::new(IpAddr::V4(me), 0)).expect("bind");
        if let Ok(s) = sock
            .connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bgp_port))
            .await
        {
            stream = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut stream = stream.expect("2-octet member connects");
    let open = Open {
        version: 4,
        my_as: 4780,
        hold_time: 90,
        bgp_id: me,
        capabilities: vec![Capability::Multiprotocol { afi: 1, safi: 1 }],
    };
    let mut out = bytes::BytesMut::new();
    wire::encode(&Message::Open(open), &two, &mut out);
    wire::encode(&Message::Keepalive, &two, &mut out);
    stream.write_all(&out).await.expect("OPEN");
    // The route server's OPEN and KEEPALIVE.
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0;
    while seen < 2 {
        if let Ok(Some(len)) = wire::frame_len(&buf, 4096) {
            let m = buf.split_to(len);
            let msg = wire::decode(&m, &two).expect("decode");
            assert!(
                matches!(msg, Message::Open(_) | Message::Keepalive),
                "{msg:?}"
            );
            seen += 1;
            continue;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read_buf(&mut buf))
            .await
            .expect("route server answers")
            .expect("read");
        assert!(n > 0, "route server closed the session");
    }
    let attrs = PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(vec![4780, 263_075]),
        next_hop: NextHop::V4(me),
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
    out.clear();
    wire::encode_announcements(
        &attrs,
        &["163.28.0.0/16".parse().expect("prefix")],
        &two,
        &mut out,
    );
    stream.write_all(&out).await.expect("UPDATE");
    tokio::spawn(async move {
        let mut stop = stop;
        let mut tick = tokio::time::interval(Duration::from_secs(20));
        let mut sink = [0u8; 4096];
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {
                    let mut k = bytes::BytesMut::new();
                    wire::encode(&Message::Keepalive, &two, &mut k);
                    if stream.write_all(&k).await.is_err() { break; }
                }
                r = stream.read(&mut sink) => if !matches!(r, Ok(n) if n > 0) { break; },
            }
        }
    })
}

/// RFC 7854 4.2 and RFC 6793: a member without the 4-octet AS capability.
/// Its Route Monitoring must be readable by a station that takes the AS
/// size from the OPENs in the Peer Up (pmbmpd does): pmbmpd must show the
/// real AS path `4780 263075`, pre- and post-policy, and in the Loc-RIB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_octet_as_member_is_decoded_right_by_pmbmpd() {
    if Command::new("pmbmpd").arg("-V").output().is_err() {
        eprintln!("skipped: pmbmpd (Debian package pmacct) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fox-bmp-as2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let log = dir.join("bmp.json");
    let (bmp_port, bgp_port) = (free_port(), free_port());
    let _station = pmbmpd::start(&dir, bmp_port, &log, "as2");
    let config = rs_config(&dir, bmp_port, bgp_port);
    let (sd_tx, sd_rx) = tokio::sync::watch::channel(None);
    let rs = tokio::spawn(async move { fox_routeserver::server::run(config, "rs1", sd_rx).await });
    wait_log(&log, 20, "init", |l| !of(l, "init").is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let member = two_octet_member(bgp_port, stop_rx).await;
    let rm = |l: &[serde_json::Value], post: i64| {
        of(l, "route_monitor").into_iter().any(|v| {
            v["peer_ip"] == "127.0.0.5"
                && v["ip_prefix"] == "163.28.0.0/16"
                && v["is_post"].as_i64() == Some(post)
        })
    };
    wait_log(
        &log,
        30,
        "OldNet's route pre- and post-policy and in the Loc-RIB",
        |l| rm(l, 0) && rm(l, 1) && !loc_rib(l, "163.28.0.0/16", Some("4780 263075")).is_empty(),
    )
    .await;
    let lines = log_lines(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let ups = member_ups(&lines);
    assert_eq!(ups.len(), 1, "{text}");
    assert_eq!(ups[0]["peer_asn"].as_i64(), Some(4780), "{text}");
    let paths: Vec<&serde_json::Value> = of(&lines, "route_monitor")
        .into_iter()
        .filter(|v| v["peer_ip"] == "127.0.0.5")
        .map(|v| &v["as_path"])
        .collect();
    assert_eq!(paths.len(), 2, "{text}");
    assert!(paths.iter().all(|p| *p == "4780 263075"), "{text}");
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), member).await;
    let _ = sd_tx.send(Some("test done".into()));
    let _ = tokio::time::timeout(Duration::from_secs(15), rs).await;
    let _ = std::fs::remove_dir_all(&dir);
}
