//! Member history and service figures through the looking glass, over a fake collector
//! serving the collector's history API shapes: a member sees only its own history (API and
//! UI), the NOC sees every member's, anonymous callers get 401; the service figures are
//! public and leave out probes aimed at a member's router.

mod common;

use common::*;

fn collector_extra(c: std::net::SocketAddr) -> String {
    format!("  collectors:\n    - {{ name: c1, url: \"http://{c}\" }}\n")
}

#[tokio::test]
async fn member_history_is_for_the_member_and_the_noc_only() {
    let c = fake_collector().await;
    let lg = start_lg(&collector_extra(c)).await;
    let gsn_bytes = GSN_HISTORY_BYTES.to_string();

    // TANet: its own month, days aggregated from the hourly points.
    let (s, v) = lg
        .json(
            "/api/v1/members/TANet/history?month=2026-10",
            Some(TANET_TOKEN),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["month"], "2026-10");
    assert_eq!(v["from"], OCT_2026);
    assert_eq!(v["asn"], 1659);
    let days = v["days"].as_array().expect("days");
    assert_eq!(days.len(), 31);
    assert_eq!(days[1]["date"], "2026-10-02");
    assert_eq!(days[1]["bytes_in"], 4100);
    assert_eq!(days[1]["bytes_out"], 250);
    assert_eq!(days[1]["ipv4"]["bytes_in"], 4000);
    assert_eq!(days[1]["ipv6"]["bytes_in"], 100);
    assert_eq!(days[1]["hours_with_data"], 2);
    assert_eq!(days[0]["bytes_in"], 0);
    assert_eq!(v["total"]["bytes_in"], 4100);
    assert_eq!(v["peak_hour"]["ts"], OCT_2026 + 86_400 + 3600);
    // Its monthly report figures, from the collector's report endpoint.
    let m = &v["monthly"];
    assert_eq!(m["month"], "2026-10", "{v}");
    assert_eq!(m["time_zone"], "Asia/Taipei");
    assert_eq!(m["port"]["unavailable_minutes"], 22);
    assert_eq!(m["port"]["status"], "met");
    assert_eq!(m["rtt"]["median_ms"], 3.25);
    assert_eq!(m["rtt"]["p95_ms"], 6.5);
    assert_eq!(m["rtt_status"], "met");
    assert_eq!(m["loss"]["lost"], 2);
    assert_eq!(m["traffic"]["p95_in_bps"], 123_456_789.0);
    assert_eq!(m["traffic"]["peak_in_bps"], 246_913_578.0);
    assert!(!v.to_string().contains("987654321"));
    // Another month has none of these points.
    let (s, v) = lg
        .json(
            "/api/v1/members/TANet/history?month=2026-09",
            Some(TANET_TOKEN),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(v["total"]["bytes_in"], 0);

    // TANet asking for GSN: 403, API and UI, and GSN's figure appears nowhere.
    let (s, v) = lg
        .json(
            "/api/v1/members/GSN/history?month=2026-10",
            Some(TANET_TOKEN),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(!v.to_string().contains(&gsn_bytes) && !v.to_string().contains("987654321"));
    let r = lg
        .get("/members/GSN/history?month=2026-10", Some(TANET_TOKEN))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!r.text().contains(&gsn_bytes) && !r.text().contains("<svg"));
    assert!(!r.text().contains("987.7 Mbit/s") && !r.text().contains("Monthly figures"));

    // The UI page of its own: the chart and the table.
    let r = lg
        .get("/members/TANet/history?month=2026-10", Some(TANET_TOKEN))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("<svg") && html.contains("<polyline"),
        "{html}"
    );
    assert!(
        html.contains("2026-10-02") && html.contains("4.1 kB"),
        "{html}"
    );
    // The monthly figures table: availability, RTT against the target, loss, p95 and peak.
    assert!(
        html.contains("Monthly figures") && html.contains("Asia/Taipei"),
        "{html}"
    );
    assert!(
        html.contains(
            "<td>99.951 % (22 of 44640 min unavailable)</td><td>≥ 99.92 %</td><td>met</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<td>3.250 / 6.500 ms</td><td>p95 &lt; 12.0 ms</td><td>met</td>"),
        "{html}"
    );
    assert!(
        html.contains("123.5 Mbit/s / 61.7 Mbit/s") && html.contains("246.9 Mbit/s / 123.5 Mbit/s"),
        "{html}"
    );
    assert!(!html.contains("987.7 Mbit/s"));

    // The NOC sees both.
    for m in ["TANet", "GSN"] {
        let (s, v) = lg
            .json(
                &format!("/api/v1/members/{m}/history?month=2026-10"),
                Some(NOC_TOKEN),
            )
            .await;
        assert_eq!(s, 200, "{m}: {v}");
        let r = lg
            .get(
                &format!("/members/{m}/history?month=2026-10"),
                Some(NOC_TOKEN),
            )
            .await;
        assert_eq!(r.status, 200, "{m}");
        assert!(r.text().contains("<svg"));
    }
    let (_, v) = lg
        .json("/api/v1/members/GSN/history?month=2026-10", Some(NOC_TOKEN))
        .await;
    assert_eq!(v["days"][1]["bytes_in"], GSN_HISTORY_BYTES);
    assert_eq!(v["monthly"]["traffic"]["p95_in_bps"], GSN_P95_MARKER);
    assert_eq!(v["monthly"]["port"]["status"], "missed");
    let r = lg
        .get("/members/GSN/history?month=2026-10", Some(NOC_TOKEN))
        .await;
    assert!(r.text().contains("987.7 Mbit/s"), "{}", r.text());

    // Anonymous: 401 for both, API and UI.
    for m in ["TANet", "GSN"] {
        let (s, v) = lg
            .json(&format!("/api/v1/members/{m}/history?month=2026-10"), None)
            .await;
        assert_eq!(s, 401, "{v}");
        let r = lg.get(&format!("/members/{m}/history"), None).await;
        assert_eq!(r.status, 401);
        assert!(r.text().contains("/login"));
    }

    // Bad month and unknown member: 400 and 404 with a message.
    let (s, v) = lg
        .json(
            "/api/v1/members/TANet/history?month=2026-13",
            Some(TANET_TOKEN),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("YYYY-MM")));
    let (s, _) = lg
        .json("/api/v1/members/Nobody/history", Some(NOC_TOKEN))
        .await;
    assert_eq!(s, 404);
    // An unknown query parameter is refused, not ignored.
    let r = lg
        .get(
            "/members/TANet/history?month=2026-10&x=1",
            Some(TANET_TOKEN),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn service_figures_are_public_without_member_probes() {
    let c = fake_collector().await;
    let lg = start_lg(&collector_extra(c)).await;
    let (s, v) = lg.json("/api/v1/service/history?month=2026-10", None).await;
    assert_eq!(s, 200, "{v}");
    let probes = v["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 1, "{v}");
    assert_eq!(probes[0]["probe"], "hsinchu");
    assert_eq!(probes[0]["availability_percent"], 99.95);
    assert_eq!(probes[0]["rtt_median_ms"], 1.25);
    assert!(!v.to_string().contains("hsinchu-gsn"));
    let (_, v) = lg
        .json("/api/v1/service/history?month=2026-10", Some(TANET_TOKEN))
        .await;
    assert_eq!(v["probes"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = lg
        .json("/api/v1/service/history?month=2026-10", Some(NOC_TOKEN))
        .await;
    assert_eq!(v["probes"].as_array().map(Vec::len), Some(2), "{v}");

    let r = lg.get("/service?month=2026-10", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("hsinchu") && html.contains("99.950"),
        "{html}"
    );
    assert!(!html.contains("hsinchu-gsn"));
}

#[tokio::test]
async fn without_a_collector_history_is_unavailable() {
    let lg = start_lg("").await;
    let (s, v) = lg
        .json("/api/v1/members/TANet/history", Some(TANET_TOKEN))
        .await;
    assert_eq!(s, 503, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("collector")));
    let (s, _) = lg.json("/api/v1/service/history", None).await;
    assert_eq!(s, 503);
}
