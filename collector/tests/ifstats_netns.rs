//! Interface counters over netlink in a namespace the test creates: bounded traffic over a
//! veth pair moves the counters, the API and /metrics show them, and an interface the kernel
//! does not have is reported by name in the status.

mod netns;

use std::net::SocketAddr;
use std::time::Duration;

use fox_collector::fabric::MemberMap;
use fox_collector::ifstats::{self, Interfaces};
use fox_collector::{serve, Collector};
use fox_config::{CollectorSettings, InterfaceSettings};
use netns::{can_run, in_ns, Lab};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// Sends `n` UDP datagrams of 1000 bytes from namespace `ns` to `to` (port 9, no listener:
/// the frames still cross the veth and count on both ends).
fn blast(ns: String, to: String, n: usize) {
    in_ns(ns, async move {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        for _ in 0..n {
            let _ = s.send_to(&[0u8; 1000], format!("{to}:9"));
        }
    })
    .expect("send in namespace");
}

fn settings(name: &str) -> InterfaceSettings {
    InterfaceSettings {
        name: name.into(),
        site: "a".into(),
    }
}

#[test]
fn veth_traffic_moves_the_counters_and_unknown_is_reported() {
    if let Err(why) = can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new("if", 1).expect("lab");
    let ns = lab.ns("a");
    // Resolve ARP both ways first, so the counted datagrams do not wait in a neighbour queue.
    blast(lab.ns("a"), lab.addr(2), 1);
    blast(lab.ns("b"), lab.addr(1), 1);
    std::thread::sleep(Duration::from_millis(300));
    let ifs = std::sync::Arc::new(Interfaces::new(&[settings("eth0"), settings("nope0")]));
    let first = {
        let ifs = ifs.clone();
        in_ns(ns.clone(), async move {
            let h = ifstats::connect().expect("netlink");
            ifstats::poll_once(&ifs, &h).await;
            ifs.snapshot()
        })
        .expect("read in namespace")
    };
    let before = first[0].counters.expect("eth0 read");
    assert!(first[0].error.is_none(), "{:?}", first[0].error);
    assert!(first[0].index.is_some());
    assert_eq!(
        first[1].error.as_deref(),
        Some("interface `nope0` not found")
    );

    // 20 datagrams of 1000 bytes each way over the veth.
    blast(lab.ns("a"), lab.addr(2), 20);
    blast(lab.ns("b"), lab.addr(1), 20);
    let ifs2 = ifs.clone();
    let second = in_ns(ns.clone(), async move {
        let h = ifstats::connect().expect("netlink");
        // Bounded: at most 30 reads 100 ms apart until both directions moved by 20.
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ifstats::poll_once(&ifs2, &h).await;
            let s = ifs2.snapshot();
            if s[0].counters.is_some_and(|c| {
                c.tx_packets >= before.tx_packets + 20 && c.rx_packets >= before.rx_packets + 20
            }) {
                break;
            }
        }
        ifs2.snapshot()
    })
    .expect("read in namespace");
    let after = second[0].counters.expect("eth0 read");
    let sent = after.tx_packets - before.tx_packets;
    let got = after.rx_packets - before.rx_packets;
    assert!(sent >= 20, "tx packets moved by {sent}");
    assert!(got >= 20, "rx packets moved by {got}");
    // 1000 bytes of data + 8 UDP + 20 IP + 14 Ethernet per datagram.
    assert!(after.tx_bytes - before.tx_bytes >= 20 * 1042);
    assert!(after.rx_bytes - before.rx_bytes >= 20 * 1042);
    assert_eq!(after.rx_errors, before.rx_errors);
    assert!(second[0].rates.is_some_and(|r| r.tx_bytes > 0));
    assert_eq!(second[0].up, Some(true));
    assert!(second[1].counters.is_none());
}

async fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split_once("\r\n\r\n").map(|x| x.1.to_owned())
}

#[test]
fn served_collector_shows_interfaces_in_api_status_and_metrics() {
    if let Err(why) = can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new("ia", 2).expect("lab");
    let (peer, ns_a) = (lab.addr(2), lab.ns("a"));
    let ns = lab.ns("a");
    let api: SocketAddr = "127.0.0.1:18193".parse().expect("address");
    let cfg = CollectorSettings {
        sflow_listen: vec!["127.0.0.1:0".parse().expect("address")],
        api,
        interfaces: vec![settings("eth0"), settings("nope0")],
        interface_interval: Duration::from_millis(100),
        ..CollectorSettings::default()
    };
    let pinger = std::thread::scope(|s| {
        let h = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            blast(ns_a, peer, 10);
        });
        let out = in_ns(ns, async move {
            let collector = Collector::with_map(MemberMap::default());
            let (tx, sd) = watch::channel(None);
            let task = tokio::spawn({
                let c = collector.clone();
                async move { serve(c, &cfg, sd).await }
            });
            let start = tokio::time::Instant::now();
            let mut last = (Value::Null, Value::Null, String::new());
            while start.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let (Some(i), Some(st), Some(m)) = (
                    get(api, "/api/v1/interfaces").await,
                    get(api, "/api/v1/status").await,
                    get(api, "/metrics").await,
                ) else {
                    continue;
                };
                let i: Value = serde_json::from_str(&i).unwrap_or_default();
                let st: Value = serde_json::from_str(&st).unwrap_or_default();
                let moved = i["interfaces"][0]["counters"]["tx_packets"]
                    .as_u64()
                    .is_some_and(|n| n >= 10);
                last = (i, st, m);
                if moved {
                    break;
                }
            }
            let _ = tx.send(Some("done".into()));
            let _ = task.await;
            last
        });
        (out, h.join())
    });
    let ((i, st, m), sender) = (pinger.0.expect("namespace thread"), pinger.1);
    sender.expect("sender thread");
    assert!(
        i["interfaces"][0]["counters"]["tx_packets"]
            .as_u64()
            .is_some_and(|n| n >= 10),
        "{i}"
    );
    assert_eq!(i["interfaces"][0]["site"], "a");
    assert_eq!(
        i["interfaces"][1]["error"], "interface `nope0` not found",
        "{i}"
    );
    assert_eq!(i["failing"], 1);
    assert_eq!(st["interface_errors"][0]["interface"], "nope0", "{st}");
    assert!(
        m.lines().any(|l| l
            .starts_with("fox_interface_transmit_packets_total{interface=\"eth0\",site=\"a\"}")),
        "{m}"
    );
    assert!(
        m.contains("fox_interface_read_ok{interface=\"nope0\",site=\"a\"} 0"),
        "{m}"
    );
    assert!(
        m.contains("fox_interface_receive_drops_total{interface=\"eth0\",site=\"a\"}"),
        "{m}"
    );
}
