//! The JSON API against a fake route server: summary, access control for anonymous,
//! member A, member B and NOC, bad input, rate limit, metrics and the OpenAPI document.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn summary_is_public_and_survives_an_unreachable_route_server() {
    let lg = start_lg("").await;
    let (status, v) = lg.json("/api/v1/summary", None).await;
    assert_eq!(status, 200);
    assert_eq!(v["exchange"], "FOX-test");
    assert_eq!(v["members"], 2);
    let rs1 = &v["route_servers"][0];
    assert_eq!(rs1["name"], "rs1");
    assert_eq!(rs1["up"], true);
    assert_eq!(rs1["sessions"]["configured"], 3);
    assert_eq!(rs1["sessions"]["established"], 2);
    assert_eq!(rs1["sessions"]["down"], 1);
    assert_eq!(rs1["prefixes"]["accepted"]["ipv4"], 3);
    assert_eq!(rs1["prefixes"]["filtered"]["ipv4"], 3);
    // RPKI states counted from the received routes of the two established sessions.
    let c = &rs1["rpki"]["counts"];
    assert_eq!(
        (
            c["valid"].as_u64(),
            c["invalid"].as_u64(),
            c["not-found"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(rs1["rpki"]["complete"], true);
    let rs2 = &v["route_servers"][1];
    assert_eq!(rs2["name"], "rs2");
    assert_eq!(rs2["up"], false);
    assert!(
        rs2["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unreachable"),
        "{rs2}"
    );
}

#[tokio::test]
async fn neighbours_are_for_members_and_noc_only() {
    let lg = start_lg("").await;
    let (s, v) = lg.json("/api/v1/routeservers/rs1/neighbors", None).await;
    assert_eq!(s, 401, "{v}");
    assert!(v["error"].as_str().unwrap_or_default().contains("token"));

    let members = |v: &Value| -> BTreeSet<String> {
        v["neighbors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["member"].as_str().map(String::from))
            .collect()
    };
    let (s, v) = lg
        .json("/api/v1/routeservers/rs1/neighbors", Some(TANET_TOKEN))
        .await;
    assert_eq!(s, 200);
    assert_eq!(members(&v), BTreeSet::from(["TANet".to_string()]));
    let (_, v) = lg
        .json("/api/v1/routeservers/rs1/neighbors", Some(GSN_TOKEN))
        .await;
    assert_eq!(v["neighbors"].as_array().map(Vec::len), Some(2));
    assert_eq!(members(&v), BTreeSet::from(["GSN".to_string()]));
    let (_, v) = lg
        .json("/api/v1/routeservers/rs1/neighbors", Some(NOC_TOKEN))
        .await;
    assert_eq!(
        members(&v),
        BTreeSet::from(["GSN".to_string(), "TANet".to_string()])
    );

    let (s, _) = lg
        .json("/api/v1/routeservers/rs1/neighbors", Some("wrong-token"))
        .await;
    assert_eq!(
        s, 401,
        "a wrong bearer token is refused, not treated as public"
    );
    let (s, v) = lg
        .json("/api/v1/routeservers/rs2/neighbors", Some(NOC_TOKEN))
        .await;
    assert_eq!(s, 502);
    assert!(v["error"]
        .as_str()
        .unwrap_or_default()
        .contains("rs2 unreachable"));
}

#[tokio::test]
async fn a_member_never_sees_another_members_filtered_routes() {
    let lg = start_lg("").await;
    let gsn_filtered = format!("/api/v1/routeservers/rs1/neighbors/{GSN_ADDR}/routes/filtered");
    let tanet_filtered = format!("/api/v1/routeservers/rs1/neighbors/{TANET_ADDR}/routes/filtered");

    let (s, v) = lg.json(&gsn_filtered, None).await;
    assert_eq!(s, 401, "{v}");
    let (s, v) = lg.json(&gsn_filtered, Some(TANET_TOKEN)).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        !v.to_string().contains("192.168.0.0"),
        "no data leaks in the error: {v}"
    );
    let (s, v) = lg.json(&gsn_filtered, Some(GSN_TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(v["routes"][0]["prefix"], "192.168.0.0/16");
    let codes: Vec<u64> = v["routes"][0]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["code"].as_u64())
        .collect();
    assert_eq!(codes, [3, 13]);
    let (s, _) = lg.json(&gsn_filtered, Some(NOC_TOKEN)).await;
    assert_eq!(s, 200);

    let (s, v) = lg.json(&tanet_filtered, Some(TANET_TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 1);
    assert_eq!(v["routes"][0]["reasons"][0]["name"], "bogon-prefix");
    assert!(v["routes"][0]["reasons"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .contains("bogon"));

    // Prefix lookup: filtered paths only for their own member and the NOC.
    let paths = |v: &Value| -> Vec<String> {
        v["route_servers"][0]["prefixes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["paths"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["prefix"].as_str().map(String::from))
            .collect()
    };
    let q = "/api/v1/lookup?prefix=0.0.0.0/0&mode=more-specific";
    let (s, anon) = lg.json(q, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        BTreeSet::from_iter(paths(&anon)),
        BTreeSet::from(["140.112.0.0/16".into(), "163.29.0.0/16".into()])
    );
    let (_, tanet) = lg.json(q, Some(TANET_TOKEN)).await;
    assert!(paths(&tanet).contains(&"10.0.0.0/8".to_string()));
    assert!(
        !paths(&tanet).contains(&"192.168.0.0/16".to_string()),
        "GSN's filtered route leaked to TANet"
    );
    let listed: Vec<&str> = tanet["route_servers"][0]["prefixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["prefix"].as_str())
        .collect();
    assert!(
        !listed.contains(&"192.168.0.0/16"),
        "a prefix with only another member's filtered paths is not listed: {listed:?}"
    );
    let (_, noc) = lg.json(q, Some(NOC_TOKEN)).await;
    assert_eq!(paths(&noc).len(), 4);
    assert_eq!(
        noc["route_servers"][1]["up"], false,
        "rs2 is down but the lookup still answers"
    );

    // Member pages.
    let (s, _) = lg.json("/api/v1/members/GSN", None).await;
    assert_eq!(s, 401);
    let (s, _) = lg.json("/api/v1/members/GSN", Some(TANET_TOKEN)).await;
    assert_eq!(s, 403);
    let (s, v) = lg.json("/api/v1/members/GSN", Some(GSN_TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["route_servers"][0]["sessions"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(v["traffic"]["available"], false);
    assert!(v["rtt"]["note"]
        .as_str()
        .unwrap_or_default()
        .starts_with("not available"));
    let (s, v) = lg.json("/api/v1/members/Nobody", Some(NOC_TOKEN)).await;
    assert_eq!(s, 404);
    assert!(v["error"].as_str().unwrap_or_default().contains("Nobody"));
    let (_, who) = lg.json("/api/v1/whoami", Some(GSN_TOKEN)).await;
    assert_eq!(
        (who["role"].as_str(), who["member"].as_str()),
        (Some("member"), Some("GSN"))
    );
}

#[tokio::test]
async fn route_filters_and_pages_are_checked_and_forwarded() {
    let lg = start_lg("").await;
    let base = format!("/api/v1/routeservers/rs1/neighbors/{TANET_ADDR}/routes");
    let (s, v) = lg.json(&format!("{base}/received?prefix=140.112.1.7/16&origin=AS38000&community=65000:1&reason=3&page=2&page_size=1"), Some(NOC_TOKEN)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["page"].as_u64(), v["page_size"].as_u64()),
        (Some(2), Some(1))
    );
    let fwd = lg
        .seen
        .all()
        .into_iter()
        .find(|q| q.contains("reason=3"))
        .unwrap_or_default();
    for part in [
        "prefix=140.112.0.0%2F16",
        "origin=38000",
        "community=65000%3A1",
        "reason=3",
        "offset=1",
        "limit=1",
    ] {
        assert!(fwd.contains(part), "`{part}` not forwarded in {fwd}");
    }
    let (_, v) = lg
        .json(&format!("{base}/received?page_size=1"), Some(NOC_TOKEN))
        .await;
    assert_eq!(
        (v["total"].as_u64(), v["pages"].as_u64()),
        (Some(2), Some(2))
    );

    let bad = [
        (
            format!("{base}/received?prefix=not-a-prefix"),
            400,
            "not-a-prefix",
        ),
        (
            format!("{base}/received?origin=ASX"),
            400,
            "not an AS number",
        ),
        (
            format!("{base}/received?community=1:2:3:4"),
            400,
            "community",
        ),
        (format!("{base}/received?page_size=5000"), 400, "page_size"),
        (format!("{base}/received?page=0"), 400, "page"),
        (format!("{base}/received?colour=red"), 400, "colour"),
        (format!("{base}/everything"), 404, "received, accepted"),
        (
            "/api/v1/routeservers/rs1/neighbors/10.9.0.99/routes/accepted".to_string(),
            404,
            "no neighbour 10.9.0.99",
        ),
        (
            "/api/v1/routeservers/rs1/neighbors/nonsense/routes/accepted".to_string(),
            400,
            "not an IP address",
        ),
        (
            "/api/v1/routeservers/rs9/neighbors".to_string(),
            404,
            "no route server called `rs9`",
        ),
        ("/api/v1/lookup".to_string(), 400, "`prefix` is required"),
        (
            "/api/v1/lookup?prefix=foo".to_string(),
            400,
            "`foo` is not a prefix",
        ),
        (
            "/api/v1/lookup?prefix=10.0.0.0/8&mode=fuzzy".to_string(),
            400,
            "fuzzy",
        ),
        ("/api/v2/nothing".to_string(), 404, "no page or endpoint"),
    ];
    for (path, status, frag) in bad {
        let (s, v) = lg.json(&path, Some(NOC_TOKEN)).await;
        assert_eq!(s, status, "{path}: {v}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains(frag),
            "{path}: `{frag}` not in {v}"
        );
    }
    let long = format!("/api/v1/lookup?prefix={}", "1".repeat(3000));
    assert_eq!(lg.get(&long, None).await.status, 414);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let lg = start_lg("  rate_limit: { per_minute: 6, burst: 3 }\n").await;
    for _ in 0..3 {
        assert_eq!(lg.get("/api/v1/whoami", None).await.status, 200);
    }
    let r = lg.get("/api/v1/whoami", None).await;
    assert_eq!(r.status, 429);
    let wait: u64 = r
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!((1..=10).contains(&wait), "Retry-After {wait}");
    assert!(r.text().contains("too many requests"));
}

#[tokio::test]
async fn metrics_count_requests_and_source_state() {
    let lg = start_lg("  birdwatcher_allow: [192.0.2.0/24]\n").await;
    lg.get("/api/v1/summary", None).await;
    lg.get("/api/v1/lookup?prefix=bad", None).await;
    assert_eq!(
        lg.get("/metrics", None).await.status,
        403,
        "loopback is not trusted here"
    );
    let r = lg.get("/metrics", Some(NOC_TOKEN)).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains(r#"fox_lg_requests_total{endpoint="/api/v1/summary",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"fox_lg_requests_total{endpoint="/api/v1/lookup",status="400"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"fox_lg_source_up{source="rs1"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"fox_lg_source_up{source="rs2"} 0"#),
        "{text}"
    );
    assert!(
        text.contains("fox_lg_request_duration_seconds_bucket"),
        "{text}"
    );
}

/// Route templates registered in server.rs for the JSON API, birdwatcher and metrics.
fn registered_routes() -> BTreeSet<String> {
    let src = std::fs::read_to_string(crate_file("src/server.rs")).expect("read server.rs");
    src.match_indices(".route(")
        .filter_map(|(i, _)| {
            let rest = &src[i..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            Some(rest[start..end].to_owned())
        })
        .filter(|p| p.starts_with("/api/") || p.starts_with("/birdwatcher/") || p == "/metrics")
        .collect()
}

#[tokio::test]
async fn openapi_documents_exactly_the_real_routes() {
    let lg = start_lg("").await;
    let (s, doc) = lg.json("/api/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let registered = registered_routes();
    assert!(registered.len() >= 15, "{registered:?}");
    assert_eq!(documented, registered);
    // Every documented path is routed (not the fallback) and each $ref resolves.
    for p in &documented {
        let path = p
            .replace("{rs}", "rs1")
            .replace("{addr}", TANET_ADDR)
            .replace("{kind}", "accepted")
            .replace("{name}", "TANet")
            .replace("{id}", "AS1659_10_9_0_3")
            .replace("{table}", "master")
            .replace("{peer}", TANET_ADDR);
        let r = lg
            .get(&format!("{path}?prefix=140.112.0.0/16"), Some(NOC_TOKEN))
            .await;
        assert!(!r.text().contains("no page or endpoint"), "{p} not routed");
        assert!(r.status < 500, "{p}: {} {}", r.status, r.text());
    }
    let text = doc.to_string();
    for (i, _) in text.match_indices("#/components/schemas/") {
        let name: String = text[i + 21..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        assert!(
            doc["components"]["schemas"].get(&name).is_some(),
            "missing schema {name}"
        );
    }
}

#[tokio::test]
async fn member_view_shows_traffic_and_rtt_from_the_collector() {
    let c = fake_collector().await;
    let lg = start_lg(&format!(
        "  collectors:\n    - {{ name: c1, url: \"http://{c}\" }}\n"
    ))
    .await;
    let (s, v) = lg.json("/api/v1/members/GSN", Some(GSN_TOKEN)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["traffic"]["available"], true, "{v}");
    assert_eq!(v["traffic"]["data"]["out"]["bytes"], 2000);
    assert_eq!(v["rtt"]["available"], true, "{v}");
    let probes = v["rtt"]["probes"].as_array().cloned().unwrap_or_default();
    assert_eq!(probes.len(), 1, "only the probe towards GSN's router: {v}");
    assert!(
        v["rtt"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("4.20 ms"),
        "{v}"
    );
    // TANet sees its own probe, never GSN's traffic.
    let (s, v) = lg.json("/api/v1/members/TANet", Some(TANET_TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["traffic"]["available"], false,
        "no traffic for TANet at the collector"
    );
    assert_eq!(v["rtt"]["probes"][0]["probe"], "hsinchu-tanet");
    let (s, summary) = lg.json("/api/v1/summary", None).await;
    assert_eq!(s, 200);
    assert_eq!(summary["collectors"][0]["up"], true, "{summary}");
}
