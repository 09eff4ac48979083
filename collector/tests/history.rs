//! The collector feeding the history store through the real writer: traffic and matrix
//! deltas, probe results, alert raises and resolves.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use fox_collector::alert::{AlertEngine, Notifier, RetryPolicy};
use fox_collector::history::Feed;
use fox_collector::testdata::{
    bpdu_frame, datagram, flow_sample, ipv4_udp_frame, ipv6_tcp_frame, lldp_frame,
};
use fox_collector::Collector;
use fox_history::{HistoryMetrics, HistoryStore, HistoryWriter, WriterOptions};

const CONFIG: &str = r#"exchange: { name: TEST }
sites:
  - { id: a, name: Site A }
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
    connections: [{ site: a, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }]
collector:
  probes:
    - { name: to-m2, target: "127.0.0.1:9", interval: 1s, timeout: 500ms }
"#;
const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
const AGENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250));

fn writer(dir: &tempfile::TempDir) -> HistoryWriter {
    let mut o = WriterOptions::new(dir.path().join("history.sqlite"));
    o.batch_interval = Duration::from_secs(3600); // only explicit flushes
    HistoryWriter::start(o, HistoryMetrics::unregistered().expect("metrics")).expect("thread")
}

#[test]
fn feed_writes_member_and_pair_deltas() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let w = writer(&dir);
    let c = Collector::new(&cfg);
    // Counted before the feed starts: not history.
    let v4 = ipv4_udp_frame(M1, M2, 1000);
    c.ingest(&datagram(AGENT, 1, vec![flow_sample(1, 100, 1, &v4, 1000)]));
    let mut feed = Feed::new(&c, w.handle());
    let t1 = fox_history::unix_now() / 60 * 60 - 600; // a complete minute in the past
    c.ingest(&datagram(
        AGENT,
        2,
        vec![flow_sample(2, 100, 1, &v4, 1000); 3],
    ));
    feed.tick(&c, t1 + 30);
    let v6 = ipv6_tcp_frame(M2, M1);
    c.ingest(&datagram(AGENT, 3, vec![flow_sample(5, 10, 2, &v6, 500)]));
    c.ingest(&datagram(AGENT, 4, vec![flow_sample(6, 100, 1, &v4, 1000)]));
    feed.tick(&c, t1 + 90);
    feed.tick(&c, t1 + 150); // nothing new: no rows
    assert!(w.handle().flush(Duration::from_secs(10)));
    let s = HistoryStore::open_read_only(&dir.path().join("history.sqlite")).expect("open");
    let m1 = s.traffic_minutes(Some(65001), 0, i64::MAX).expect("read");
    let got: Vec<(i64, u8, u64, u64, u64, u64)> = m1
        .iter()
        .map(|r| {
            (
                r.ts,
                r.ipv,
                r.bytes_in,
                r.bytes_out,
                r.packets_in,
                r.packets_out,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (t1, 4, 0, 300_000, 0, 300),
            (t1 + 60, 4, 0, 100_000, 0, 100),
            (t1 + 60, 6, 5_000, 0, 10, 0),
        ]
    );
    let m2 = s.traffic_minutes(Some(65002), 0, i64::MAX).expect("read");
    assert_eq!(m2.iter().map(|r| r.bytes_in).sum::<u64>(), 400_000);
    let pairs = s.matrix_5min(None, 0, i64::MAX).expect("matrix");
    let total = |src: u32| -> u64 {
        pairs
            .iter()
            .filter(|p| p.src_asn == src)
            .map(|p| p.bytes)
            .sum()
    };
    assert_eq!((total(65001), total(65002)), (400_000, 5_000));
    w.shutdown();
}

#[test]
fn feed_writes_hygiene_deltas_per_member_and_rule() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let w = writer(&dir);
    let c = Collector::new(&cfg);
    let rogue = [2, 0, 0, 0, 0, 0x99];
    let bpdu = bpdu_frame(M1);
    // Before the feed starts: not history.
    c.ingest(&datagram(AGENT, 1, vec![flow_sample(1, 100, 1, &bpdu, 64)]));
    let mut feed = Feed::new(&c, w.handle());
    let t1 = fox_history::unix_now() / 60 * 60 - 600;
    let lldp = lldp_frame(M1);
    let stray = ipv4_udp_frame(rogue, M2, 100);
    c.ingest(&datagram(
        AGENT,
        2,
        vec![
            flow_sample(2, 100, 1, &bpdu, 64),
            flow_sample(3, 100, 1, &bpdu, 64),
            flow_sample(4, 50, 1, &lldp, 64),
            flow_sample(5, 10, 7, &stray, 100),
        ],
    ));
    feed.tick(&c, t1 + 30);
    c.ingest(&datagram(AGENT, 3, vec![flow_sample(6, 200, 1, &bpdu, 64)]));
    feed.tick(&c, t1 + 90);
    feed.tick(&c, t1 + 150); // nothing new: no rows
    assert!(w.handle().flush(Duration::from_secs(10)));
    let s = HistoryStore::open_read_only(&dir.path().join("history.sqlite")).expect("open");
    let got: Vec<(u32, i64, String, u64, u64)> = s
        .hygiene_minutes(None, 0, i64::MAX)
        .expect("read")
        .into_iter()
        .map(|r| (r.asn, r.ts, r.rule, r.samples, r.frames))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, t1, "unregistered_mac".into(), 1, 10),
            (65001, t1, "lldp".into(), 1, 50),
            (65001, t1, "spanning_tree".into(), 2, 200),
            (65001, t1 + 60, "spanning_tree".into(), 1, 200),
        ]
    );
    let last = s.hygiene_minutes(Some(65001), t1, t1 + 60).expect("read");
    let v: serde_json::Value = serde_json::from_str(&last[0].last).expect("json");
    assert_eq!(v["src_mac"], "02:00:00:00:00:11");
    assert_eq!(v["ethertype"], 0x88cc);
    assert!(last[0].last_at > 0);
    w.shutdown();
}

#[tokio::test]
async fn probe_results_and_alerts_are_recorded() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let w = writer(&dir);
    let c = Collector::new(&cfg);
    c.set_history(w.handle(), dir.path().join("history.sqlite"));
    let probe = c.add_probe(cfg.collector.probes[0].clone());
    let t = u64::try_from(fox_history::unix_now() / 60 * 60 - 120).unwrap_or(0);
    for (i, rtt) in [0.002, 0.004, 0.003].into_iter().enumerate() {
        probe.reply(rtt, t + i as u64);
    }
    let engine = Arc::new(AlertEngine::new(
        cfg.collector.sla.clone(),
        Notifier::spawn(&cfg.collector.alerts, RetryPolicy::default()),
    ));
    engine.set_history(w.handle());
    for i in 0..3 {
        probe.loss(t + 10 + i);
    }
    engine.evaluate(&probe); // down: raised
    let alert = engine.active().into_iter().next().expect("an alert");
    probe.reply(0.001, t + 20);
    engine.evaluate(&probe); // resolved
    assert!(engine.active().is_empty());
    let h = w.handle();
    assert!(
        tokio::task::spawn_blocking(move || h.flush(Duration::from_secs(10)))
            .await
            .expect("join")
    );
    let s = HistoryStore::open_read_only(&dir.path().join("history.sqlite")).expect("open");
    let p = s.probe_minutes(Some("to-m2"), 0, i64::MAX).expect("probe");
    assert_eq!(p.len(), 1);
    let p = &p[0];
    assert_eq!((p.sent, p.lost), (7, 3));
    assert_eq!((p.rtt_min_us, p.rtt_max_us), (Some(1000), Some(4000)));
    assert_eq!((p.rtt_median_us, p.rtt_p95_us), (Some(2000), Some(4000)));
    let a = s.alert_events(0, i64::MAX).expect("alerts");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].id, fox_collector::alert::history_id(&alert));
    assert_eq!(a[0].severity, "critical");
    assert!(a[0].resolved.is_some_and(|r| r >= a[0].raised));
    assert!(a[0].symptoms.contains("is down"), "{}", a[0].symptoms);
    w.shutdown();
}
