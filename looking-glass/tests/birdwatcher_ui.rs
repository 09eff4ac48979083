//! birdwatcher shapes (as Alice-LG parses them) and the web UI: pages, login cookie,
//! error pages and security headers.

mod common;

use std::time::Duration;

use common::*;
use fox_looking_glass::client;

#[tokio::test]
async fn birdwatcher_shapes_match_what_alice_reads() {
    let lg = start_lg("").await;
    let (s, v) = lg.json("/birdwatcher/rs1/status", None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["api"]["Version"].is_string());
    assert_eq!(v["api"]["result_from_cache"], false);
    let date = v["api"]["cache_status"]["cached_at"]["date"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(date.len(), 20, "{date}");
    assert!(date.ends_with('Z') && v["ttl"].is_string() && v["cached_at"].is_string());
    let st = &v["status"];
    assert_eq!(st["router_id"], "10.9.0.1");
    assert_eq!(st["last_reboot"], "2025-01-01 12:00:00");
    for k in ["version", "current_server", "last_reconfig", "message"] {
        assert!(st[k].is_string(), "status.{k} missing: {st}");
    }

    let (_, v) = lg.json("/birdwatcher/rs1/protocols/bgp", None).await;
    let protos = v["protocols"].as_object().cloned().unwrap_or_default();
    assert_eq!(protos.len(), 3);
    let p = &protos["AS1659_10_9_0_3"];
    assert_eq!(p["protocol"], "AS1659_10_9_0_3");
    assert_eq!(p["bird_protocol"], "BGP");
    assert_eq!(p["neighbor_address"], TANET_ADDR);
    assert_eq!(p["neighbor_as"], 1659);
    assert_eq!(p["state"], "up");
    assert_eq!(p["bgp_state"], "Established");
    assert_eq!(p["description"], "TANet");
    assert_eq!(p["state_changed"], "2025-01-01 12:00:00");
    assert_eq!(
        (
            p["routes"]["imported"].as_u64(),
            p["routes"]["filtered"].as_u64(),
            p["routes"]["exported"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(p["channels"]["ipv4"]["routes"]["imported"], 1);
    assert_eq!(p["channels"]["ipv4"]["routes_count"]["imported"], 1);
    assert_eq!(protos["AS4782_10_9_0_5"]["state"], "start");

    let (_, v) = lg.json("/birdwatcher/rs1/protocols/short", None).await;
    assert_eq!(v["protocols"]["AS1659_10_9_0_3"]["state"], "up");

    let (_, v) = lg
        .json("/birdwatcher/rs1/routes/protocol/AS1659_10_9_0_3", None)
        .await;
    let r = &v["routes"][0];
    assert_eq!(r["network"], "140.112.0.0/16");
    assert_eq!(r["from_protocol"], "AS1659_10_9_0_3");
    assert_eq!(r["gateway"], TANET_ADDR);
    assert_eq!(r["primary"], true);
    assert_eq!(r["type"], serde_json::json!(["BGP", "unicast", "univ"]));
    assert_eq!(
        r["bgp"]["as_path"],
        serde_json::json!(["1659", "38000"]),
        "AS path as strings"
    );
    assert_eq!(r["bgp"]["communities"], serde_json::json!([[65000, 1]]));
    assert_eq!(
        r["bgp"]["ext_communities"],
        serde_json::json!([["rt", "65000", "100"]])
    );
    assert_eq!(r["bgp"]["local_pref"], "100");
    assert_eq!(r["bgp"]["origin"], "IGP");

    let (_, v) = lg
        .json("/birdwatcher/rs1/routes/filtered/AS4782_10_9_0_4", None)
        .await;
    let large = &v["routes"][0]["bgp"]["large_communities"];
    assert_eq!(v["routes"][0]["network"], "192.168.0.0/16");
    assert_eq!(
        large,
        &serde_json::json!([[64500, 1, 2], [64500, 1101, 3], [64500, 1101, 13]]),
        "reasons as Euro-IX large communities"
    );

    let (_, v) = lg
        .json("/birdwatcher/rs1/routes/noexport/AS4782_10_9_0_4", None)
        .await;
    assert_eq!(v["routes"], serde_json::json!([]));
    let (s, _) = lg
        .json("/birdwatcher/rs1/routes/protocol/AS1_1_1_1_1", None)
        .await;
    assert_eq!(s, 404);

    let (s, v) = lg
        .json(
            "/birdwatcher/rs1/routes/prefix?prefix=140.112.0.0%2F16",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["routes"].as_array().map(Vec::len), Some(1));
    let (s, v) = lg
        .json("/birdwatcher/rs1/routes/prefix?prefix=10.0.0.0/8", None)
        .await;
    assert_eq!(
        (s, v["routes"].as_array().map(Vec::len)),
        (200, Some(0)),
        "filtered paths are not routes in BIRD's table"
    );
    let (s, _) = lg
        .json(
            "/birdwatcher/rs1/routes/prefix?prefix=1.0.0.0/8&prefix=2.0.0.0/8",
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (s, v) = lg.json("/birdwatcher/rs2/status", None).await;
    assert_eq!(s, 500, "birdwatcher's answer when BIRD is unreachable");
    assert!(v["error"]
        .as_str()
        .unwrap_or_default()
        .contains("unreachable"));
}

#[tokio::test]
async fn birdwatcher_needs_a_trusted_network_or_the_noc() {
    let lg = start_lg("  birdwatcher_allow: [192.0.2.0/24]\n").await;
    assert_eq!(
        lg.get("/birdwatcher/rs1/protocols/bgp", None).await.status,
        403
    );
    assert_eq!(
        lg.get("/birdwatcher/rs1/protocols/bgp", Some(TANET_TOKEN))
            .await
            .status,
        403
    );
    assert_eq!(
        lg.get("/birdwatcher/rs1/protocols/bgp", Some(NOC_TOKEN))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn pages_render_with_security_headers_and_explain_reasons() {
    let lg = start_lg("").await;
    let r = lg.get("/", None).await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    assert!(r
        .header("content-security-policy")
        .unwrap_or_default()
        .contains("default-src 'self'"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(r.header("referrer-policy").is_some());
    let html = r.text();
    assert!(html.contains("FOX-test route servers"));
    assert!(
        html.contains("rs2") && html.contains("unreachable"),
        "rs2 shown as down"
    );
    assert!(html.contains(r#"name="viewport""#));
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external resources"
    );

    let r = lg
        .get("/lookup?prefix=140.112.0.0/16&mode=exact", None)
        .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(
        html.contains("TANet (AS1659)") && html.contains("the path from TANet"),
        "{html}"
    );

    let r = lg.get("/lookup?prefix=%3Cscript%3E", None).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("&lt;script&gt;` is not a prefix"),
        "escaped message"
    );

    let r = lg.get("/members/Nobody", Some(NOC_TOKEN)).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no member called `Nobody`"));
    let r = lg.get("/members/TANet", None).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains(r#"href="/login""#));
    let r = lg.get("/nowhere", None).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<!DOCTYPE html>"));

    let r = lg.get("/reasons", None).await;
    assert!(r.text().contains("64500:1101:13"));
    let r = lg.get("/static/fox.css", None).await;
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/css"));
}

#[tokio::test]
async fn login_cookie_gives_the_member_view_and_filtered_routes_in_words() {
    let lg = start_lg("").await;
    let url = format!("{}/login", lg.base);
    let bad = client::request(
        "POST",
        &url,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"token=guess".to_vec(),
        Duration::from_secs(5),
    )
    .await
    .expect("post");
    assert_eq!(bad.status, 401);
    assert!(bad.header("set-cookie").is_none());
    let body = format!("token={TANET_TOKEN}").into_bytes();
    let r = client::request(
        "POST",
        &url,
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
        Duration::from_secs(5),
    )
    .await
    .expect("post");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/members/TANet"));
    let cookie = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();

    let get = |path: &str| {
        let url = format!("{}{path}", lg.base);
        let pair = pair.clone();
        async move {
            client::request(
                "GET",
                &url,
                &[("cookie", pair.as_str())],
                Vec::new(),
                Duration::from_secs(5),
            )
            .await
            .expect("get")
        }
    };
    let r = get("/members/TANet").await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("Member TANet") && html.contains(TANET_ADDR));
    assert!(html.contains("Traffic") && html.contains("not available"));
    assert_eq!(get("/members/GSN").await.status, 403);

    let r = get(&format!(
        "/routeservers/rs1/neighbors/{TANET_ADDR}/routes/filtered"
    ))
    .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("10.0.0.0/8"));
    assert!(
        html.contains("prefix is a bogon")
            && html.contains("code 3")
            && html.contains("64500:1101:3"),
        "{html}"
    );
    let r = get(&format!(
        "/routeservers/rs1/neighbors/{GSN_ADDR}/routes/filtered"
    ))
    .await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("192.168.0.0"));

    let r = get("/routeservers/rs1").await;
    assert!(
        r.text().contains("TANet") && !r.text().contains(GSN_ADDR),
        "only its own sessions"
    );
    let r = get("/routeservers/rs1/neighbors/10.9.0.3/routes/received?page_size=abc").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("page_size `abc`"));
}

/// Networks of a birdwatcher `routes` answer, sorted.
fn networks(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["network"].as_str().map(str::to_owned))
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn birdwatcher_tables_and_counts_match_what_alice_reads() {
    let lg = start_lg("").await;
    // Alice-LG's single_table store refresh: /routes/table/{main_table} and .../filtered.
    let (s, v) = lg.json("/birdwatcher/rs1/routes/table/master", None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["api"]["Version"].is_string() && v["ttl"].is_string());
    assert_eq!(networks(&v), ["140.112.0.0/16", "163.29.0.0/16"]);
    let tanet = v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["network"] == "140.112.0.0/16")
        .cloned()
        .unwrap_or_default();
    assert_eq!(tanet["from_protocol"], "AS1659_10_9_0_3");
    assert_eq!(tanet["gateway"], TANET_ADDR);
    assert_eq!(tanet["age"], "2025-01-01 12:00:00");
    assert_eq!(
        tanet["bgp"]["as_path"],
        serde_json::json!(["1659", "38000"])
    );
    assert_eq!(tanet["type"], serde_json::json!(["BGP", "unicast", "univ"]));
    let (_, v4) = lg.json("/birdwatcher/rs1/routes/table/master4", None).await;
    assert_eq!(networks(&v4), networks(&v), "all test routes are IPv4");
    let (s, v6) = lg.json("/birdwatcher/rs1/routes/table/master6", None).await;
    assert_eq!((s, v6["routes"].clone()), (200, serde_json::json!([])));

    let (s, v) = lg
        .json("/birdwatcher/rs1/routes/table/master4/filtered", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(networks(&v), ["10.0.0.0/8", "192.168.0.0/16"]);
    for r in v["routes"].as_array().into_iter().flatten() {
        let large = r["bgp"]["large_communities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            large.contains(&serde_json::json!([64500, 1101, 3])),
            "bogon reason community on {r}"
        );
        assert_eq!(r["primary"], false);
    }

    let (s, v) = lg
        .json(
            &format!("/birdwatcher/rs1/routes/table/master/peer/{GSN_ADDR}"),
            None,
        )
        .await;
    assert_eq!((s, networks(&v)), (200, vec!["163.29.0.0/16".to_owned()]));
    let (_, v) = lg
        .json(&format!("/birdwatcher/rs1/routes/peer/{TANET_ADDR}"), None)
        .await;
    assert_eq!(networks(&v), ["140.112.0.0/16"]);
    let (s, v) = lg
        .json("/birdwatcher/rs1/routes/peer/not-an-ip", None)
        .await;
    assert_eq!(s, 400);
    assert!(v["error"]
        .as_str()
        .unwrap_or_default()
        .contains("not an IP"));

    // Counts: `{"routes": N}` in the envelope, as birdwatcher's parseRoutesCount.
    let (s, v) = lg
        .json(
            "/birdwatcher/rs1/routes/count/protocol/AS1659_10_9_0_3",
            None,
        )
        .await;
    assert_eq!((s, v["routes"].as_u64()), (200, Some(1)), "{v}");
    assert!(v["api"].is_object());
    let (_, v) = lg
        .json("/birdwatcher/rs1/routes/count/table/master", None)
        .await;
    assert_eq!(
        v["routes"].as_u64(),
        Some(3),
        "sum of the neighbours' accepted counts"
    );
    let (_, v) = lg
        .json("/birdwatcher/rs1/routes/count/table/master6", None)
        .await;
    assert_eq!(v["routes"].as_u64(), Some(0));
    let (_, v) = lg
        .json(
            "/birdwatcher/rs1/routes/count/primary/AS4782_10_9_0_4",
            None,
        )
        .await;
    assert_eq!(v["routes"].as_u64(), Some(1));

    let (s, v) = lg
        .json("/birdwatcher/rs1/routes/table/T_AS1659/filtered", None)
        .await;
    assert_eq!(s, 404);
    assert!(v["error"].as_str().unwrap_or_default().contains("master4"));
    let (s, _) = lg.json("/birdwatcher/rs2/routes/table/master", None).await;
    assert_eq!(
        s, 500,
        "unreachable route server, as birdwatcher when BIRD is down"
    );
}
