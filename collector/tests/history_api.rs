//! The history read endpoints over a store written through fox_history's real write path
//! (`HistoryBatch` + `write_batch` + `rollup`): hourly and minute member series, service
//! figures per probe, and the error answers (bad parameters, range cap, store off or absent).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use fox_collector::Collector;
use fox_history::{
    HistoryBatch, HistoryMetrics, HistoryStore, HistoryWriter, Retention, WriterOptions,
};
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
"#;

/// Start of the synthetic data: an hour boundary (2026-10-01T00:00:00Z).
const T0: i64 = 1_790_812_800;
const ASN: u32 = 65001;

async fn get(api: SocketAddr, path: &str) -> (u16, Value) {
    common::get(api, path, Duration::from_secs(10)).await
}

async fn serve(c: Collector) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = tcp.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(tcp, fox_collector::api::router(c)).await });
    api
}

/// Three hours of minutes for ASN 65001 (IPv4 in = 1000 + minute index, out = 2 x that;
/// IPv6 in = 10 each minute); probe `site-a` 2 ms replies except every minute of hour 1
/// with index % 10 == 0 entirely lost; rolled up at T0 + 2h + 5min, so hours 0 and 1 come
/// from `traffic_hour` and hour 2 from the minutes.
fn write_store(path: &std::path::Path) {
    let mut store = HistoryStore::open(path).expect("open");
    let mut b = HistoryBatch::new();
    for i in 0..180i64 {
        let ts = T0 + i * 60;
        let v = 1000 + u64::try_from(i).expect("i");
        b.add_traffic(ASN, 4, ts, v, 2 * v, 1, 2);
        b.add_traffic(ASN, 6, ts, 10, 0, 1, 0);
        b.add_traffic(65002, 4, ts, 7, 7, 1, 1);
        let lost = (60..120).contains(&i) && i % 10 == 0;
        for k in 0..3 {
            b.add_probe_result("site-a", ts + k, if lost { None } else { Some(2000) });
        }
    }
    store.write_batch(&b).expect("write");
    let ret = Retention {
        minutes: 35 * 86_400,
        hours: 400 * 86_400,
        lag: 120,
    };
    store.rollup(T0 + 2 * 3600 + 300, &ret).expect("rollup");
    assert_eq!(store.rolled_until().expect("rolled"), Some(T0 + 2 * 3600));
}

fn minutes_sum(lo: i64, hi: i64) -> u64 {
    (lo..hi).map(|i| 1000 + u64::try_from(i).unwrap_or(0)).sum()
}

#[tokio::test]
async fn member_and_service_history_from_the_store() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    write_store(&path);
    let c = Collector::new(&cfg);
    let mut o = WriterOptions::new(path.clone());
    o.batch_interval = Duration::from_secs(3600);
    let w = HistoryWriter::start(o, HistoryMetrics::unregistered().expect("m")).expect("writer");
    c.set_history(w.handle(), path.clone());
    let api = serve(c).await;

    // Hourly: two rolled-up hours and one summed from minutes, per IP version.
    let (s, v) = get(
        api,
        &format!(
            "/api/v1/history/member/{ASN}?from={T0}&to={}&step=hour",
            T0 + 3 * 3600
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let pts = v["points"].as_array().expect("points");
    assert_eq!(pts.len(), 3, "{v}");
    for (h, p) in pts.iter().enumerate() {
        let h = i64::try_from(h).expect("h");
        assert_eq!(p["ts"], T0 + h * 3600);
        let v4 = minutes_sum(h * 60, h * 60 + 60);
        assert_eq!(p["ipv4"]["bytes_in"], v4, "hour {h}");
        assert_eq!(p["ipv4"]["bytes_out"], 2 * v4, "hour {h}");
        assert_eq!(p["ipv4"]["peak_bytes_in"], 1000 + h * 60 + 59, "hour {h}");
        assert_eq!(p["ipv6"]["bytes_in"], 600, "hour {h}");
        assert_eq!(p["bytes_in"], v4 + 600, "hour {h}");
        assert_eq!(p["packets_out"], 120, "hour {h}");
    }
    // The other member's traffic is not in this series.
    let total: u64 = pts
        .iter()
        .map(|p| p["bytes_in"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, minutes_sum(0, 180) + 1800);

    // Minutes: exactly the range asked.
    let (s, v) = get(
        api,
        &format!(
            "/api/v1/history/member/AS{ASN}?from={}&to={}&step=minute",
            T0 + 600,
            T0 + 900
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let pts = v["points"].as_array().expect("points");
    assert_eq!(pts.len(), 5);
    assert_eq!(pts[0]["ts"], T0 + 600);
    assert_eq!(pts[0]["ipv4"]["bytes_in"], 1010);
    assert_eq!(pts[4]["ipv6"]["bytes_in"], 10);

    // Service: per probe, hourly availability and RTT; totals over the range.
    let (s, v) = get(
        api,
        &format!("/api/v1/history/service?from={T0}&to={}", T0 + 3 * 3600),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let p = &v["probes"][0];
    assert_eq!(p["probe"], "site-a");
    assert_eq!(p["sent"], 540);
    assert_eq!(p["lost"], 18);
    assert_eq!(p["minutes_with_data"], 180);
    assert_eq!(p["minutes_up"], 174);
    let avail = p["availability_percent"].as_f64().expect("avail");
    assert!((avail - 174.0 * 100.0 / 180.0).abs() < 1e-9, "{avail}");
    let hours = p["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0]["minutes_up"], 60);
    assert_eq!(hours[1]["minutes_up"], 54);
    assert_eq!(
        hours[2]["minutes_up"], 60,
        "hour from minutes: {}",
        hours[2]
    );
    let med = p["rtt_median_ms"].as_f64().expect("median");
    assert!((med - 2.0).abs() < 0.04, "median {med}");
    assert_eq!(p["rtt_over_target_percent"], 0.0);

    // Bad parameters and the range cap: 400 with a message.
    for q in [
        format!("/api/v1/history/member/{ASN}?step=second"),
        format!("/api/v1/history/member/{ASN}?from=abc"),
        format!("/api/v1/history/member/{ASN}?from=10&to=5"),
        format!("/api/v1/history/member/{ASN}?from=0&to=1000000&step=minute"),
        format!("/api/v1/history/member/{ASN}?from=0&to=100000000&step=hour"),
        format!("/api/v1/history/member/{ASN}?bogus=1"),
        "/api/v1/history/member/nobody".to_owned(),
        "/api/v1/history/service?step=hour".to_owned(),
    ] {
        let (s, v) = get(api, &q).await;
        assert_eq!(s, 400, "{q}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}: {v}"
        );
    }
    w.shutdown();
}

#[tokio::test]
async fn store_disabled_or_absent_is_a_clear_error() {
    let cfg = fox_config::parse(CONFIG, "t.yaml").expect("config");
    let c = Collector::new(&cfg);
    let api = serve(c).await;
    let (s, v) = get(api, "/api/v1/history/member/65001").await;
    assert_eq!(s, 503, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("disabled")),
        "{v}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("never-written.sqlite");
    let c = Collector::new(&cfg);
    let mut o = WriterOptions::new(dir.path().join("other.sqlite"));
    o.batch_interval = Duration::from_secs(3600);
    let w = HistoryWriter::start(o, HistoryMetrics::unregistered().expect("m")).expect("writer");
    c.set_history(w.handle(), path);
    let api = serve(c).await;
    let (s, v) = get(api, "/api/v1/history/service").await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not exist")),
        "{v}"
    );
    w.shutdown();
}
