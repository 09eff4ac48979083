//! STAMP sender and reflector on 127.0.0.1: RTT, sequence and loss accounting, metrics and API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fox_collector::fabric::MemberMap;
use fox_collector::probe::{bind_reflector, reflect, run_probe, Probe};
use fox_collector::Collector;
use fox_config::ProbeSettings;
use tokio::sync::watch;

fn settings(name: &str, target: SocketAddr, interval_ms: u64) -> ProbeSettings {
    ProbeSettings {
        name: name.to_owned(),
        target,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(300),
        kind: Default::default(),
        tags: Default::default(),
    }
}

async fn reflector(drop_every: u32, sd: &watch::Receiver<Option<String>>) -> SocketAddr {
    let sock = bind_reflector("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(reflect(sock, drop_every, sd.clone()));
    addr
}

/// Waits (bounded) until `probe` has `n` completed results.
async fn wait_done(probe: &Probe, n: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        {
            let st = probe.state();
            if st.received + st.lost >= n {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("probe did not complete {n} results in time");
}

#[tokio::test]
async fn loopback_rtt_is_positive_and_small_and_nothing_is_lost() {
    let (tx, sd) = watch::channel(None);
    let target = reflector(0, &sd).await;
    let collector = Collector::with_map(MemberMap::default());
    let probe = collector.add_probe(settings("lo", target, 10));
    tokio::spawn(run_probe(probe.clone(), None, sd.clone()));
    wait_done(&probe, 50).await;
    {
        let st = probe.state();
        assert_eq!(st.lost, 0);
        assert_eq!(st.late, 0);
        assert!(st.received >= 50);
        let mean = st.mean_rtt().unwrap();
        assert!(mean > 0.0, "mean RTT {mean}");
        assert!(mean < 0.02, "mean RTT {mean} on loopback");
        assert!(st.up());
    }
    let text = collector.metrics_text();
    assert!(text.contains("fox_probe_up{probe=\"lo\"} 1"), "{text}");
    assert!(text.contains("fox_probe_rtt_seconds_bucket{probe=\"lo\""));
    assert!(text.contains("fox_probe_availability_ratio{probe=\"lo\",window=\"1h\"} 1"));
    assert!(text.contains("fox_probe_lost_total{probe=\"lo\"} 0"));
    let report = probe.report(&collector.sla(), fox_collector::server::unix_now());
    assert_eq!(report["sla"]["rtt_met"], true);
    assert_eq!(report["sla"]["loss_met"], true);
    assert_eq!(report["sla"]["met"], true);
    let _ = tx.send(Some("done".into()));
}

#[tokio::test]
async fn every_fourth_packet_dropped_is_counted_as_lost() {
    let (tx, sd) = watch::channel(None);
    let target = reflector(4, &sd).await;
    let collector = Collector::with_map(MemberMap::default());
    let mut s = settings("drop4", target, 10);
    // A short timeout keeps the losses counted close behind the replies received.
    s.timeout = Duration::from_millis(30);
    let probe = collector.add_probe(s);
    tokio::spawn(run_probe(probe.clone(), None, sd.clone()));
    wait_done(&probe, 120).await;
    let _ = tx.send(Some("done".into()));
    let st = probe.state();
    let done = st.received + st.lost;
    // Sequence numbers 3, 7, 11, ... are dropped: a quarter of the completed packets,
    // give or take one or two whose timeout has not run out yet.
    assert!(
        st.lost * 4 >= done.saturating_sub(8) && st.lost * 4 <= done + 4,
        "lost {} of {done}",
        st.lost
    );
    assert_eq!(st.late, 0);
    assert!(st.sent >= done);
    // Never three in a row: the probe stays up.
    assert!(st.up());
    let loss = st.loss_ratio().unwrap();
    assert!((0.2..0.3).contains(&loss), "loss {loss}");
}

#[tokio::test]
async fn api_lists_probes_with_sla_figures() {
    let (tx, sd) = watch::channel(None);
    let target = reflector(0, &sd).await;
    let collector = Collector::with_map(MemberMap::default());
    let probe = collector.add_probe(settings("api", target, 10));
    tokio::spawn(run_probe(Arc::clone(&probe), None, sd.clone()));
    wait_done(&probe, 10).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = fox_collector::api::router(collector.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let status = fox_collector::alert::http::post_json(
        &format!("http://{addr}/api/v1/probes"),
        Vec::new(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    // The API is read-only: POST is refused, GET is what the looking glass uses.
    assert_eq!(status, 405);
    let body = get(addr, "/api/v1/probes").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["probes"][0]["probe"], "api");
    assert_eq!(v["probes"][0]["up"], true);
    assert!(v["probes"][0]["received"].as_u64().unwrap() >= 10);
    assert_eq!(v["sla"]["rtt_ms"], 12.0);
    assert_eq!(v["probes"][0]["availability"][0]["window"], "1h");
    assert_eq!(v["probes"][0]["availability"][0]["ratio"], 1.0);
    let _ = tx.send(Some("done".into()));
}

async fn get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// A UDP relay between one probe and a reflector that delays each direction by `delay`
/// and drops about `loss_pct`% of packets in each direction (fixed-seed generator).
async fn impaired_relay(
    upstream: SocketAddr,
    delay: Duration,
    loss_pct: u64,
    sd: watch::Receiver<Option<String>>,
) -> SocketAddr {
    let front = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    back.connect(upstream).await.unwrap();
    let addr = front.local_addr().unwrap();
    tokio::spawn(async move {
        let mut sd = sd;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut drop = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % 100 < loss_pct
        };
        let mut client: Option<SocketAddr> = None;
        let (mut b1, mut b2) = (vec![0u8; 2048], vec![0u8; 2048]);
        loop {
            tokio::select! {
                r = front.recv_from(&mut b1) => {
                    let Ok((n, from)) = r else { continue };
                    client = Some(from);
                    if drop() { continue; }
                    let (back, data) = (back.clone(), b1[..n].to_vec());
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = back.send(&data).await;
                    });
                }
                r = back.recv(&mut b2) => {
                    let (Ok(n), Some(c)) = (r, client) else { continue };
                    if drop() { continue; }
                    let (front, data) = (front.clone(), b2[..n].to_vec());
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = front.send_to(&data, c).await;
                    });
                }
                _ = sd.changed() => return,
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_and_loss_through_an_impaired_path_are_measured() {
    let (tx, sd) = watch::channel(None);
    let refl = reflector(0, &sd).await;
    let target = impaired_relay(refl, Duration::from_millis(20), 10, sd.clone()).await;
    let collector = Collector::with_map(MemberMap::default());
    let mut s = settings("impaired", target, 10);
    s.timeout = Duration::from_millis(400);
    let probe = collector.add_probe(s);
    tokio::spawn(run_probe(probe.clone(), None, sd.clone()));
    wait_done(&probe, 400).await;
    let _ = tx.send(Some("done".into()));
    let st = probe.state();
    let mean = st.mean_rtt().unwrap();
    // 20 ms each way (timers round up by up to a millisecond), never less than the delay.
    assert!((0.040..0.046).contains(&mean), "mean RTT {mean}");
    // About 10% each way: 1 - 0.9^2 = 19% round trip; n >= 400 gives sd ~2%.
    let loss = st.loss_ratio().unwrap();
    assert!((0.10..0.28).contains(&loss), "loss {loss}");
    assert_eq!(st.late, 0);
    drop(st);
    let text = collector.metrics_text();
    // Every RTT lands in the 25.6-51.2 ms bucket or above, none below.
    assert!(
        text.contains("fox_probe_rtt_seconds_bucket{probe=\"impaired\",le=\"0.0256\"} 0"),
        "{text}"
    );
}
