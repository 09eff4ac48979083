//! A member's monthly report figures from the collector (`fox-report` over the store): the
//! figures for a synthetic October 2026 (Asia/Taipei) written through the real write path
//! equal the hand-computed ones and those of `fox_report::build --member`; another member's
//! figures are its own; bad requests are 400/404.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use fox_collector::Collector;
use fox_history::{
    HistoryBatch, HistoryMetrics, HistoryStore, HistoryWriter, SessionEvent, WriterOptions,
};
use fox_report::{Options, Period};
use serde_json::Value;

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
"#;

const RTT_OK: u32 = 4_159;
const RTT_BAD: u32 = 14_975;

async fn get(api: SocketAddr, path: &str) -> (u16, Value) {
    common::get(api, path, Duration::from_secs(60)).await
}

fn session(ts: i64, rs: &str, asn: u32, up: bool) -> SessionEvent {
    SessionEvent {
        ts,
        rs: rs.into(),
        asn,
        neighbor: format!("192.0.2.{}", asn - 65000),
        up,
        reason: if up {
            "established"
        } else {
            "Hold Timer Expired"
        }
        .into(),
    }
}

/// M1: both sessions down 3 Oct 10:00-10:30 local; probe `a-M1` on 2 Oct, one packet a
/// minute, 60 minutes at 14.975 ms and 10 lost; 600 kB out a minute on 2 Oct plus 6 MB in
/// one minute. M2: down 5 hours on 4 Oct, 1 MB out a minute on 2 Oct, no probe.
fn write_store(path: &std::path::Path, p: &Period) {
    let mut s = HistoryStore::open(path).expect("open");
    let mut b = HistoryBatch::new();
    let day = |d: i64| p.from() + (d - 1) * 86_400;
    for rs in ["rs1", "rs2"] {
        for asn in [65001, 65002] {
            b.session_event(session(p.from() - 3600, rs, asn, true));
        }
        b.session_event(session(day(3) + 10 * 3600, rs, 65001, false));
        b.session_event(session(day(3) + 10 * 3600 + 1800, rs, 65001, true));
        b.session_event(session(day(4), rs, 65002, false));
        b.session_event(session(day(4) + 5 * 3600, rs, 65002, true));
    }
    for i in 0..1440i64 {
        let ts = day(2) + i * 60;
        let rtt = match i {
            0..10 => None,
            100..160 => Some(RTT_BAD),
            _ => Some(RTT_OK),
        };
        b.add_probe_result("a-M1", ts + 5, rtt);
        let extra = if i == 700 { 6_000_000 } else { 0 };
        b.add_traffic(65001, 4, ts, 0, 600_000 + extra, 0, 1);
        b.add_traffic(65002, 4, ts, 0, 1_000_000, 0, 1);
    }
    s.write_batch(&b).expect("write");
}

#[tokio::test]
async fn member_monthly_figures_come_from_the_report() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    assert_eq!(cfg.history.time_zone, "Asia/Taipei");
    let p = Period::parse("2026-10", "Asia/Taipei").expect("period");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    write_store(&path, &p);
    let c = Collector::new(&cfg);
    let mut o = WriterOptions::new(path.clone());
    o.batch_interval = Duration::from_secs(3600);
    let w = HistoryWriter::start(o, HistoryMetrics::unregistered().expect("m")).expect("writer");
    c.set_history(w.handle(), path.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = tcp.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(tcp, fox_collector::api::router(c)).await });

    let (s, v) = get(api, "/api/v1/history/report/member/65001?month=2026-10").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["member"], "M1");
    assert_eq!(v["time_zone"], "Asia/Taipei");
    assert_eq!(v["from"], p.from());
    let minutes = 31 * 1440;
    assert_eq!(v["port"]["measured_minutes"], minutes);
    assert_eq!(v["port"]["unavailable_minutes"], 30);
    assert_eq!(
        v["port"]["percent"],
        f64::from(minutes - 30) / f64::from(minutes) * 100.0
    );
    assert_eq!(v["port"]["status"], "met");
    assert_eq!(v["rtt"]["samples"], 1430);
    assert_eq!(v["rtt"]["median_ms"], 4.159);
    assert_eq!(v["rtt"]["p95_ms"], 4.159);
    assert_eq!(v["rtt"]["p99_ms"], 14.975);
    assert_eq!(v["rtt"]["over_target_share"], 60.0 / 1430.0);
    assert_eq!(v["rtt_status"], "met");
    assert_eq!(v["targets"]["rtt_ms"], 12.0);
    assert_eq!(
        (v["loss"]["sent"].clone(), v["loss"]["lost"].clone()),
        (1440.into(), 10.into())
    );
    assert_eq!(v["traffic"]["bytes_out"], 600_000u64 * 1440 + 6_000_000);
    assert_eq!(v["traffic"]["peak_out_bps"], 6_600_000.0 * 8.0 / 60.0);
    // One day of traffic is 288 of 8,928 five-minute slots: the 95th percentile is zero.
    assert_eq!(v["traffic"]["p95_out_bps"], 0.0);
    assert_eq!(v["session_downs"], 2);
    let faults = v["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{v}");
    assert_eq!(faults[0]["start_local"], "2026-10-03 10:00");
    assert_eq!(faults[0]["duration_minutes"], 30);
    assert!(v["source"]["hourly_until"].is_null());

    // The same computation as `fox report --member M1`.
    let store = HistoryStore::open_read_only(&path).expect("open");
    let opts = Options {
        period: p.clone(),
        site: None,
        member: Some("M1".into()),
        targets: fox_report::cli::targets(&cfg),
    };
    let r =
        fox_report::build(&store, &fox_report::Layout::from_config(&cfg), &opts).expect("build");
    let m = &r.members[0];
    assert_eq!(v["port"], serde_json::to_value(&m.port).expect("json"));
    assert_eq!(v["rtt"], serde_json::to_value(&m.rtt).expect("json"));
    assert_eq!(v["traffic"]["p95_in_bps"], m.traffic.p95_in_bps);

    // M2's figures are M2's, with nothing of M1's.
    let (s, v2) = get(api, "/api/v1/history/report/member/AS65002?month=2026-10").await;
    assert_eq!(s, 200, "{v2}");
    assert_eq!(v2["member"], "M2");
    assert_eq!(v2["port"]["unavailable_minutes"], 300);
    assert_eq!(v2["traffic"]["bytes_out"], 1_000_000u64 * 1440);
    assert!(v2["rtt"].is_null() && v2["loss"].is_null());
    assert_eq!(v2["rtt_status"], "no_data");
    assert_eq!(v2["faults"].as_array().map(Vec::len), Some(1));

    for (q, status) in [
        ("/api/v1/history/report/member/65009?month=2026-10", 404),
        ("/api/v1/history/report/member/65001?month=2026-13", 400),
        ("/api/v1/history/report/member/65001", 400),
        ("/api/v1/history/report/member/x?month=2026-10", 400),
        ("/api/v1/history/report/member/65001?month=2026-10&x=1", 400),
    ] {
        let (s, v) = get(api, q).await;
        assert_eq!(s, status, "{q}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}: {v}"
        );
    }
    w.shutdown();
}
