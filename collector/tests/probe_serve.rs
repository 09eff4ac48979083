//! `serve` with `stamp_reflector` and `probes` set: the collector probes its own reflector
//! and reports the probe on /api/v1/probes and /metrics.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fox_collector::fabric::MemberMap;
use fox_collector::{serve, Collector};
use fox_config::{CollectorSettings, ProbeSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

fn free_tcp() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn free_udp() -> SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

async fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

#[tokio::test]
async fn configured_reflector_and_probe_run_and_report() {
    let reflector = free_udp();
    let settings = CollectorSettings {
        sflow_listen: vec![free_udp()],
        api: free_tcp(),
        stamp_reflector: Some(reflector),
        probes: vec![ProbeSettings {
            name: "self".into(),
            target: reflector,
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(200),
            kind: Default::default(),
            tags: Default::default(),
        }],
        ..CollectorSettings::default()
    };
    let api = settings.api;
    let collector = Collector::with_map(MemberMap::default());
    let (tx, sd) = watch::channel(None);
    let task = tokio::spawn({
        let c = collector.clone();
        async move { serve(c, &settings, sd).await }
    });
    let start = Instant::now();
    let mut last = serde_json::Value::Null;
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(body) = get(api, "/api/v1/probes").await {
            last = serde_json::from_str(&body).unwrap_or_default();
            if last["probes"][0]["received"].as_u64().unwrap_or(0) >= 10 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["probes"][0]["probe"], "self", "{last}");
    assert!(
        last["probes"][0]["received"].as_u64().unwrap_or(0) >= 10,
        "{last}"
    );
    assert_eq!(last["probes"][0]["up"], true);
    assert_eq!(last["probes"][0]["sla"]["met"], true);
    assert_eq!(last["alerts"].as_array().map(Vec::len), Some(0));
    let metrics = get(api, "/metrics").await.unwrap_or_default();
    assert!(
        metrics.contains("fox_probe_up{probe=\"self\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("fox_probe_sent_total{probe=\"self\"}"));
    let _ = tx.send(Some("stop".into()));
    let r = tokio::time::timeout(Duration::from_secs(5), task).await;
    assert!(matches!(r, Ok(Ok(Ok(())))), "{r:?}");
}
