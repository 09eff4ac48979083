//! Traffic baselines through the real ingest path with a fake clock: synthetic sFlow
//! datagrams are decoded and accounted, one baseline interval is closed every 60 s of fake
//! time, and surge and drop findings go through the alert engine (raised once, resolved).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use fox_collector::alert::{AlertEngine, AlertKind, Notifier};
use fox_collector::fabric::MemberMap;
use fox_collector::ops::TRAFFIC_KINDS;
use fox_collector::testdata::{datagram, ethernet, flow_sample, ipv4, udp};
use fox_collector::FabricState;
use fox_config::{BaselineSettings, SlaSettings};

const CONFIG: &str = r#"exchange: { name: TEST }
sites:
  - { id: a, name: Site A }
peering_lans:
  - { name: v4, prefix: 192.0.2.0/24 }
route_servers:
  - { name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a }
members:
  - { name: M1, asn: 65001, connections: [{ site: a, ipv4: 192.0.2.11, macs: ["02:00:00:00:00:11"] }] }
  - { name: M2, asn: 65002, connections: [{ site: a, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }] }
  - { name: M3, asn: 65003, connections: [{ site: a, ipv4: 192.0.2.31, macs: ["02:00:00:00:00:31"] }] }
"#;

const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
const M3: [u8; 6] = [2, 0, 0, 0, 0, 0x31];
/// Sampling rate of every synthetic sample: each stands for 1000 frames of 1000 bytes.
const RATE: u32 = 1000;
const T0: u64 = 1_795_000_000;

/// (src MAC, dst MAC, dst address, dst port, samples).
type Flow = ([u8; 6], [u8; 6], Ipv4Addr, u16, usize);

/// Feeds sFlow through the decoder: `flows` is (src MAC, dst MAC, dst address, dst port,
/// samples).
struct Feeder {
    seq: u32,
    sample_seq: u32,
}

impl Feeder {
    fn send(&mut self, st: &mut FabricState, flows: &[Flow], now: u64) {
        let mut frames = Vec::new();
        for &(src, dst, ip, port, n) in flows {
            let pkt = ipv4(
                Ipv4Addr::new(198, 51, 100, 7),
                ip,
                17,
                &udp(40_000, port, &[0u8; 100]),
            );
            let f = ethernet(dst, src, 0x0800, &pkt);
            frames.extend(std::iter::repeat_n(f, n));
        }
        for chunk in frames.chunks(10) {
            let samples = chunk
                .iter()
                .map(|f| {
                    self.sample_seq += 1;
                    flow_sample(self.sample_seq, RATE, 1, f, 1000)
                })
                .collect();
            self.seq += 1;
            let d = datagram(IpAddr::from([192, 0, 2, 250]), self.seq, samples);
            st.ingest(&d, now).expect("synthetic datagram decodes");
        }
    }
}

fn normal(m2_busy: bool) -> Vec<Flow> {
    let m2 = Ipv4Addr::new(192, 0, 2, 21);
    let m1 = Ipv4Addr::new(192, 0, 2, 11);
    let m3 = Ipv4Addr::new(192, 0, 2, 31);
    let mut v = vec![(M3, M1, m1, 443, 10), (M1, M3, m3, 443, 10)];
    if m2_busy {
        v.push((M1, M2, m2, 443, 10));
        v.push((M3, M2, m2, 443, 10));
        v.push((M2, M1, m1, 443, 10));
    }
    v
}

#[tokio::test]
async fn surge_names_the_target_and_drop_is_seen() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("valid config");
    let mut st = FabricState::new(MemberMap::from_config(&cfg));
    st.baselines = fox_collector::baseline::Baselines::new(BaselineSettings {
        interval: Duration::from_secs(60),
        warmup: 5,
        surge_factor: 5.0,
        surge_min_bps: 1e6,
        busy_bps: 1e5,
        drop_ratio: 0.05,
        ..BaselineSettings::default()
    });
    let engine = AlertEngine::new(SlaSettings::default(), Notifier::default());
    let mut feed = Feeder {
        seq: 0,
        sample_seq: 0,
    };
    let mut now = T0;
    assert!(
        st.observe_baselines(now).is_empty(),
        "first call only starts the interval"
    );

    // Warm-up: nothing is judged, even a tenfold interval.
    for i in 0..8 {
        now += 60;
        let mut flows = normal(true);
        if i == 1 {
            flows.push((M1, M2, Ipv4Addr::new(192, 0, 2, 21), 443, 90));
        }
        feed.send(&mut st, &flows, now);
        let found = st.observe_baselines(now);
        engine.reconcile(&TRAFFIC_KINDS, found.clone());
        if i < 5 {
            assert!(found.is_empty(), "interval {i}: {found:?}");
        }
    }
    assert!(engine.active().is_empty(), "{:?}", engine.active());
    // M2 receives 20 samples x 1000 x 1000 bytes per minute (2.67 Mb/s), once 110: the
    // hour slot's mean (weight 0.3) is 3.09 Mb/s.
    let [rx, tx] = st.baselines.expected(1, now);
    let rx = rx.expect("warmed up");
    assert!((rx - 3.09e6).abs() < 0.01e6, "M2 in baseline {rx}");
    assert!(tx.is_some_and(|t| (t - 1.333e6).abs() < 0.3e6), "{tx:?}");

    // An attack: M3 sends 200 more samples of UDP port 53 to 192.0.2.55 behind M2.
    now += 60;
    let mut flows = normal(true);
    flows.push((M3, M2, Ipv4Addr::new(192, 0, 2, 55), 53, 200));
    feed.send(&mut st, &flows, now);
    let found = st.observe_baselines(now);
    assert_eq!(
        found.len(),
        1,
        "one finding, sender and pair listed under it: {found:?}"
    );
    let f = &found[0];
    assert_eq!(
        (f.kind, f.subject.as_str()),
        (AlertKind::TrafficSurge, "M2 received")
    );
    assert!(f.summary.contains("possible DDoS"), "{}", f.summary);
    assert!(
        f.summary
            .contains("top destination 192.0.2.55/32 UDP port 53"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("29.3 Mb/s"), "{}", f.summary);
    assert!(
        f.symptoms[0].starts_with("to 192.0.2.55/32 UDP port 53: 91%"),
        "{:?}",
        f.symptoms
    );
    assert!(
        f.symptoms.iter().any(|s| s.starts_with("from M3: 95%")),
        "{:?}",
        f.symptoms
    );
    engine.reconcile(&TRAFFIC_KINDS, found);
    let active = engine.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].kind, AlertKind::TrafficSurge);

    // The attack was not learned: back to normal resolves it.
    now += 60;
    feed.send(&mut st, &normal(true), now);
    let found = st.observe_baselines(now);
    assert!(found.is_empty(), "{found:?}");
    engine.reconcile(&TRAFFIC_KINDS, found);
    assert!(engine.active().is_empty());
    let rx2 = st.baselines.expected(1, now)[0].expect("baseline");
    assert!(
        (rx2 - rx).abs() < 0.5e6,
        "baseline moved from {rx} to {rx2}"
    );

    // M2 goes silent: its received and sent traffic drop; M1 and M3 only lose a share.
    now += 60;
    feed.send(&mut st, &normal(false), now);
    let found = st.observe_baselines(now);
    let got: Vec<(AlertKind, &str)> = found.iter().map(|f| (f.kind, f.subject.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (AlertKind::TrafficDrop, "M2 received"),
            (AlertKind::TrafficDrop, "M2 sent")
        ],
        "{found:?}"
    );
    assert!(
        found[0].summary.contains("0.0 b/s received"),
        "{}",
        found[0].summary
    );
    engine.reconcile(&TRAFFIC_KINDS, found);
    assert_eq!(engine.active().len(), 2);
    // Calling again without time passing keeps the findings.
    assert_eq!(st.observe_baselines(now).len(), 2);
    now += 60;
    feed.send(&mut st, &normal(true), now);
    let found = st.observe_baselines(now);
    engine.reconcile(&TRAFFIC_KINDS, found);
    assert!(engine.active().is_empty(), "{:?}", engine.active());
}

/// After a restart the baselines are seeded from the history store (written through its
/// writer thread, as the collector's feed and probes write it): the first interval that
/// leaves the band is judged at once, where unseeded baselines are still warming up; the
/// same for a probe's RTT band.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baselines_seeded_from_history_judge_without_warm_up() {
    use fox_config::ProbeSettings;
    use fox_history::{HistoryMetrics, HistoryWriter, WriterOptions};

    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("valid config");
    let settings = BaselineSettings {
        interval: Duration::from_secs(60),
        warmup: 30,
        surge_factor: 5.0,
        surge_min_bps: 1e6,
        busy_bps: 1e5,
        drop_ratio: 0.05,
        rtt_after: 3,
        ..BaselineSettings::default()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.sqlite");
    let mut o = WriterOptions::new(path.clone());
    o.batch_interval = Duration::from_secs(3600); // only the explicit flush below
    let w = HistoryWriter::start(o, HistoryMetrics::unregistered().expect("metrics"))
        .expect("writer thread");
    // 26 hours (every hour of the day has its slot) of what the last run saw: M1 and M3
    // exchanging 10 MB a minute each way (1.33 Mb/s, the `normal(false)` flows), M2
    // silent; the probe answering in 2.0..2.05 ms, six replies a minute.
    let now = fox_history::unix_now() / 60 * 60;
    let minutes = 26 * 60;
    w.handle().record(|b| {
        for m in 1..=minutes {
            let ts = now - m * 60;
            for asn in [65001, 65003] {
                b.add_traffic(asn, 4, ts, 10_000_000, 10_000_000, 10_000, 10_000);
            }
            for k in 0..6u32 {
                b.add_probe_result("rs1-v4", ts + i64::from(k) * 10, Some(2000 + k * 10));
            }
        }
    });
    let h = w.handle();
    let flushed = tokio::task::spawn_blocking(move || h.flush(Duration::from_secs(30)))
        .await
        .expect("flush task");
    assert!(flushed, "history written");

    let start = |seed: bool| {
        let c = fox_collector::Collector::new(&cfg);
        if seed {
            c.set_history(w.handle(), path.clone());
        }
        c.state().baselines = fox_collector::baseline::Baselines::new(settings.clone());
        let p = c.add_probe(ProbeSettings::stamp(
            "rs1-v4",
            "127.0.0.1:862".parse().expect("address"),
        ));
        p.set_rtt_baseline(&settings);
        (c, p)
    };
    let (seeded, probe) = start(true);
    let (fresh, fresh_probe) = start(false);
    for (c, p) in [(&seeded, &probe), (&fresh, &fresh_probe)] {
        fox_collector::baseline::seed::from_history(c, std::slice::from_ref(p), 7).await;
    }
    assert_eq!(
        seeded.state().baselines.learned(0),
        u32::try_from(minutes).expect("small")
    );
    assert_eq!(fresh.state().baselines.learned(0), 0);
    assert!(probe.state().rtt_baseline.learned() > 1000);

    // The first interval after the restart: M1 receives ten times its usual traffic.
    let t = u64::try_from(now).expect("positive");
    let mut attack = normal(false);
    attack.push((M3, M1, Ipv4Addr::new(192, 0, 2, 11), 53, 90));
    let mut found = Vec::new();
    for c in [&seeded, &fresh] {
        let mut st = c.state();
        let mut feed = Feeder {
            seq: 0,
            sample_seq: 0,
        };
        assert!(st.observe_baselines(t).is_empty());
        feed.send(&mut st, &attack, t + 30);
        found.push(st.observe_baselines(t + 60));
    }
    assert!(
        found[0]
            .iter()
            .any(|f| f.kind == AlertKind::TrafficSurge && f.subject == "M1 received"),
        "{:?}",
        found[0]
    );
    assert!(found[1].is_empty(), "unseeded: still warming up");

    // RTT: three replies of 6 ms make an anomaly at once; unseeded they are learned.
    for p in [&probe, &fresh_probe] {
        for i in 0..3 {
            p.reply(0.006, t + 60 + i * 10);
        }
    }
    let a = probe
        .state()
        .rtt_baseline
        .anomaly()
        .expect("an RTT anomaly");
    assert!((a.band.expected - 0.002).abs() < 0.0001, "{a:?}");
    assert!(fresh_probe.state().rtt_baseline.anomaly().is_none());
    w.shutdown();
}
