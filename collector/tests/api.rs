//! The collector over real sockets on 127.0.0.1: sFlow datagrams in over UDP, JSON API and
//! /metrics out over HTTP.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use fox_collector::server::{bind_udp, listen};
use fox_collector::testdata::{self, flow_sample};
use fox_collector::Collector;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

const CONFIG: &str = r#"exchange: { name: TEST }
sites:
  - { id: a, name: Site A }
  - { id: b, name: Site B }
peering_lans:
  - { name: v4, prefix: 192.0.2.0/24 }
route_servers:
  - { name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a }
members:
  - name: M1
    asn: 65001
    connections: [{ site: a, ipv4: 192.0.2.11, macs: ["02:00:00:00:00:11"] }]
  - name: M2
    asn: 65002
    connections: [{ site: b, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }]
collector: { sflow_listen: ["127.0.0.1:0"], api: "127.0.0.1:0" }
"#;

const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
const ROGUE: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

/// One HTTP/1.1 GET; returns status and body.
async fn get(api: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(api)
        .await
        .expect("connect API");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().expect("status code");
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn get_json(api: SocketAddr, path: &str) -> Value {
    let (status, body) = get(api, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

#[tokio::test]
async fn datagrams_in_json_and_metrics_out() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("valid config");
    let collector = Collector::new(&cfg);
    let (_tx, rx) = watch::channel(None);
    let sock = bind_udp(cfg.collector.sflow_listen[0]).expect("bind UDP");
    let sflow_addr = sock.local_addr().expect("addr");
    tokio::spawn(listen(collector.clone(), sock, rx.clone()));
    let tcp = tokio::net::TcpListener::bind(cfg.collector.api)
        .await
        .expect("bind API");
    let api = tcp.local_addr().expect("addr");
    tokio::spawn(
        async move { axum::serve(tcp, fox_collector::api::router(collector.clone())).await },
    );

    let agent = IpAddr::from([192, 0, 2, 250]);
    let v4 = testdata::ipv4_udp_frame(M1, M2, 1000);
    let v6 = testdata::ipv6_tcp_frame(M2, M1);
    let lldp = testdata::lldp_frame(M2);
    let dhcp = testdata::dhcp_discover_frame(ROGUE);
    let datagrams = [
        testdata::datagram(
            agent,
            1,
            (0..5).map(|i| flow_sample(i, 1000, 3, &v4, 1000)).collect(),
        ),
        testdata::datagram(
            agent,
            2,
            vec![
                flow_sample(1, 2000, 4, &v6, 200),
                flow_sample(2, 2000, 4, &v6, 200),
            ],
        ),
        testdata::datagram(
            agent,
            4,
            vec![
                flow_sample(3, 2000, 4, &lldp, 64),
                flow_sample(1, 500, 9, &dhcp, 342),
            ],
        ),
        b"not sflow at all".to_vec(),
    ];
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind sender");
    for d in &datagrams {
        sender.send_to(d, sflow_addr).await.expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = get_json(api, "/api/v1/status").await;
        if s["stats"]["datagrams"] == 3 && s["stats"]["errors"]["version"] == 1 {
            assert_eq!(s["lost_datagrams"], 1, "sequence 3 is missing");
            assert_eq!(s["stats"]["flow_samples"], 9);
            break;
        }
        assert!(Instant::now() < deadline, "datagrams not all received: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let t = get_json(api, "/api/v1/traffic").await;
    let m1 = &t["members"][0];
    assert_eq!(m1["member"], "M1");
    assert_eq!(m1["out"]["bytes"], 5 * 1000 * 1000);
    assert_eq!(m1["out"]["ipv4"]["packets"], 5000);
    assert_eq!(m1["in"]["ipv6"]["packets"], 4000);
    assert_eq!(t["unattributed"]["unknown_src"]["packets"], 500);

    let by_asn = get_json(api, "/api/v1/traffic/AS65002").await;
    assert_eq!(by_asn["member"], "M2");
    let peers = &by_asn["top_peers"];
    assert_eq!(peers[0]["member"], "M1");
    assert_eq!(peers[0]["received"]["bytes"], 5 * 1000 * 1000);
    assert_eq!(peers[0]["sent"]["bytes"], 2 * 2000 * 200);
    assert_eq!(get(api, "/api/v1/traffic/nobody").await.0, 404);

    let m = get_json(api, "/api/v1/matrix").await;
    let cells = m["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2);
    let c12 = cells
        .iter()
        .find(|c| c["src_member"] == "M1")
        .expect("M1 -> M2");
    assert_eq!(
        (c12["dst_member"].as_str(), c12["packets"].as_u64()),
        (Some("M2"), Some(5000))
    );
    assert!(m["sites"].as_array().is_some_and(|s| s
        .iter()
        .any(|x| x["src_site"] == "a" && x["dst_site"] == "b")));

    let h = get_json(api, "/api/v1/hygiene").await;
    let v = h["violations"].as_array().expect("violations");
    let lldp_row = v.iter().find(|r| r["rule"] == "lldp").expect("LLDP row");
    assert_eq!(
        (lldp_row["member"].as_str(), lldp_row["frames"].as_u64()),
        (Some("M2"), Some(2000))
    );
    assert_eq!(lldp_row["last"]["ethertype"], 0x88cc);
    assert!(v
        .iter()
        .any(|r| r["rule"] == "dhcp" && r["mac"] == "02:00:00:00:00:99"));
    assert!(v
        .iter()
        .any(|r| r["rule"] == "unregistered_mac" && r["member"].is_null()));

    let (status, text) = get(api, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "fox_sflow_datagrams_total 3",
        "fox_sflow_lost_datagrams_total 1",
        "fox_sflow_decode_errors_total{kind=\"version\"} 1",
        "fox_traffic_matrix_packets_total{dst_member=\"M2\",src_member=\"M1\"} 5000",
        "fox_traffic_out_bytes_total{asn=\"65001\",member=\"M1\"} 5000000",
        "fox_traffic_hygiene_violations_total{asn=\"65002\",member=\"M2\",rule=\"lldp\"} 1",
        "fox_traffic_hygiene_violations_total{asn=\"\",member=\"unknown\",rule=\"dhcp\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    // A second scrape does not double the counters.
    let (_, again) = get(api, "/metrics").await;
    assert!(again.lines().any(|l| l == "fox_sflow_datagrams_total 3"));
}

#[tokio::test]
async fn rates_come_from_the_snapshot_window() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("valid config");
    let collector = Collector::new(&cfg);
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind API");
    let api = tcp.local_addr().expect("addr");
    let c2 = collector.clone();
    tokio::spawn(async move { axum::serve(tcp, fox_collector::api::router(c2)).await });
    let t = get_json(api, "/api/v1/traffic").await;
    assert!(t["members"][0]["rate"].is_null(), "no snapshot yet");
    collector.tick_rates();
    let v4 = testdata::ipv4_udp_frame(M1, M2, 1000);
    let agent = IpAddr::from([192, 0, 2, 250]);
    collector.ingest(&testdata::datagram(
        agent,
        1,
        vec![flow_sample(1, 1000, 3, &v4, 1000)],
    ));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t = get_json(api, "/api/v1/traffic").await;
    let window = t["rate_window_seconds"].as_f64().expect("window");
    let out_bps = t["members"][0]["rate"]["out_bps"].as_f64().expect("rate");
    let want = 1000.0 * 1000.0 * 8.0 / window;
    assert!((out_bps - want).abs() < 1.0, "{out_bps} vs {want}");
    assert_eq!(t["members"][1]["rate"]["out_bps"].as_f64(), Some(0.0));
}
