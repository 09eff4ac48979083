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
",
        dir = dir.display()
    );
    let config = fox_config::parse(&yaml, "bmp-live.yaml").expect("config");
    assert_eq!(config.bmp.len(), 1);
    config
}

/// The member's session (retried while the route server starts); it announces
/// 140.112.0.0/16 and the bogon 10.0.0.0/8, then keeps the session until `stop`.
async fn member(
    bgp_port: u16,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Result<(), fox_routeserver::replay::ReplayError>> {
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
    let mut speaker = speaker.expect("member session to the route server");
    let attrs = PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(vec![1659, 17716]),
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
            vec![
                "140.112.0.0/16".parse().expect("prefix"),
                "10.0.0.0/8".parse().expect("prefix"),
            ],
        )],
        prefixes: 2,
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

/// Exactly one init and one peer_up (127.0.0.3, AS1659, local 127.0.0.1:`bgp_port`),
/// both routes pre-policy, the bogon not post-policy.
fn check_up_and_routes(log: &std::path::Path, bgp_port: u16) {
    let lines = log_lines(log);
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert_eq!(of(&lines, "init").len(), 1, "{text}");
    let ups = of(&lines, "peer_up");
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

    // The member stops with a Cease: Peer Down, reason 3 (remote NOTIFICATION).
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), member_task).await;
    wait_log(&log, 20, "peer_down", |l| !of(l, "peer_down").is_empty()).await;
    let lines = log_lines(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let down = of(&lines, "peer_down");
    assert_eq!(down.len(), 1, "{text}");
    assert_eq!(down[0]["peer_ip"], "127.0.0.3", "{text}");
    assert_eq!(down[0]["reason_type"].as_i64(), Some(3), "{text}");

    // Route server shutdown: Termination.
    let _ = sd_tx.send(Some("test done".into()));
    let _ = tokio::time::timeout(Duration::from_secs(15), rs).await;
    wait_log(&log, 10, "term", |l| !of(l, "term").is_empty()).await;
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
