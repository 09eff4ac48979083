//! End to end on loopback: the real FOX route server (in this process), a real BIRD 2
//! member announcing a good route and a bogon, and the looking glass showing both, the
//! bogon with its reason. Skips (with a message) if BIRD is not installed.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fox_looking_glass::client;
use fox_looking_glass::hash_token;
use serde_json::Value;

/// Stops BIRD when the test ends, however it ends.
struct Bird(Child);

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn json(url: &str, token: Option<&str>) -> Option<(u16, Value)> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let r = client::request("GET", url, &headers, Vec::new(), Duration::from_secs(5))
        .await
        .ok()?;
    Some((r.status, serde_json::from_slice(&r.body).ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_member_routes_show_up_with_their_filter_reason() {
    if Command::new("bird")
        .arg("--version")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIPPED: `bird` (BIRD 2) is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (rs_ip, member_ip) = ("127.42.0.1", "127.42.0.2");
    let bgp_port = free_port(rs_ip);
    let api_port = free_port("127.0.0.1");
    let noc = "e2e-noc-token";
    let member = "e2e-tanet-token";
    std::fs::write(
        dir.path().join("tokens"),
        format!("noc {}\nTANet {}\n", hash_token(noc), hash_token(member)),
    )
    .expect("tokens");
    let yaml = format!(
        r#"exchange: {{ name: FOX-e2e }}
sites: [ {{ id: a, name: A }} ]
peering_lans: [ {{ name: lo, prefix: 127.42.0.0/24 }} ]
route_servers:
  - {{ name: rs1, asn: 64500, router_id: {rs_ip}, ipv4: {rs_ip}, site: a, port: {bgp_port}, api: "127.0.0.1:{api_port}", hold_time: 9s, connect_retry: 1s }}
policy: {{ rpki: false, irr: false }}
members:
  - {{ name: TANet, asn: 1659, passive: true, connections: [ {{ site: a, ipv4: {member_ip} }} ] }}
  - {{ name: GSN, asn: 4782, passive: true, connections: [ {{ site: a, ipv4: 127.42.0.3 }} ] }}
looking_glass:
  cache_seconds: 0
  tokens_file: tokens
"#
    );
    let cfg_path = dir.path().join("fox.yaml");
    std::fs::write(&cfg_path, &yaml).expect("config");
    let config = fox_config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));

    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(None);
    let rs_config = config.clone();
    let rs_task =
        tokio::spawn(async move { fox_routeserver::server::run(rs_config, "rs1", stop_rx).await });

    let settings = config.looking_glass_settings();
    assert_eq!(
        settings.route_servers[0].url,
        format!("http://127.0.0.1:{api_port}")
    );
    let st = fox_looking_glass::build(&config, &settings).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let lg = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = fox_looking_glass::server::serve(st, listener, std::future::pending()).await;
    });

    let bird_conf = format!(
        r#"router id {member_ip};
protocol device {{ }}
protocol static announced {{
  ipv4;
  route 193.0.0.0/21 unreachable;
  route 10.0.0.0/8 unreachable;
}}
protocol bgp rs1 {{
  local {member_ip} as 1659;
  neighbor {rs_ip} port {bgp_port} as 64500;
  multihop;
  strict bind on;
  connect retry time 1;
  hold time 9;
  ipv4 {{ import all; export all; next hop self; }};
}}
"#
    );
    let conf = dir.path().join("bird.conf");
    std::fs::write(&conf, bird_conf).expect("bird.conf");
    let log = std::fs::File::create(dir.path().join("bird.log")).expect("log");
    let child = Command::new("bird")
        .args(["-f", "-c"])
        .arg(&conf)
        .arg("-s")
        .arg(dir.path().join("bird.ctl"))
        .arg("-P")
        .arg(dir.path().join("bird.pid"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start bird");
    let mut bird = Bird(child);

    // Wait (bounded) until both routes are in the route server, seen through the LG.
    let routes_url = format!("{lg}/api/v1/routeservers/rs1/neighbors/{member_ip}/routes/received");
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut last = None;
    let received = loop {
        if let Ok(Some(code)) = bird.0.try_wait() {
            panic!(
                "bird exited ({code}): {}",
                std::fs::read_to_string(dir.path().join("bird.log")).unwrap_or_default()
            );
        }
        if rs_task.is_finished() {
            panic!("route server stopped: {:?}", rs_task.await);
        }
        if let Some((200, v)) = json(&routes_url, Some(noc)).await {
            if v["total"] == 2 {
                break v;
            }
            last = Some(v);
        }
        assert!(
            Instant::now() < deadline,
            "routes did not arrive in 45 s; last answer {last:?}; bird log: {}",
            std::fs::read_to_string(dir.path().join("bird.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let by_prefix = |p: &str| {
        received["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["prefix"] == p)
            .cloned()
            .unwrap_or_default()
    };
    let good = by_prefix("193.0.0.0/21");
    assert_eq!(good["accepted"], true, "{good}");
    assert_eq!(good["as_path"], serde_json::json!([1659]));
    let bogon = by_prefix("10.0.0.0/8");
    assert_eq!(bogon["accepted"], false, "{bogon}");
    assert_eq!(bogon["reasons"][0]["name"], "bogon-prefix");
    assert_eq!(bogon["reasons"][0]["code"], 3);
    assert_eq!(bogon["reasons"][0]["community"], "64500:1101:3");

    // The member sees its own filtered route with the reason in words, in the UI too.
    let page = client::request(
        "GET",
        &format!("{lg}/routeservers/rs1/neighbors/{member_ip}/routes/filtered"),
        &[("cookie", &format!("fox_lg={member}"))],
        Vec::new(),
        Duration::from_secs(5),
    )
    .await
    .expect("page");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("10.0.0.0/8") && page.text().contains("bogon"),
        "{}",
        page.text()
    );

    // Public: summary counts, and the bogon is not visible in a lookup; the NOC sees it.
    let (_, sum) = json(&format!("{lg}/api/v1/summary"), None)
        .await
        .expect("summary");
    let rs1 = &sum["route_servers"][0];
    assert_eq!(rs1["sessions"]["established"], 1, "{sum}");
    assert_eq!(rs1["prefixes"]["accepted"]["ipv4"], 1);
    assert_eq!(rs1["prefixes"]["filtered"]["ipv4"], 1);
    assert_eq!(rs1["rpki"]["counts"]["not-checked"], 2);
    let (_, anon) = json(
        &format!("{lg}/api/v1/lookup?prefix=10.0.0.0/8&mode=exact"),
        None,
    )
    .await
    .expect("lookup");
    assert_eq!(
        anon["route_servers"][0]["prefixes"],
        serde_json::json!([]),
        "a prefix with only filtered paths is not even listed for the public: {anon}"
    );
    let (_, nocv) = json(
        &format!("{lg}/api/v1/lookup?prefix=10.0.0.0/8&mode=exact"),
        Some(noc),
    )
    .await
    .expect("lookup");
    assert_eq!(
        nocv["route_servers"][0]["prefixes"][0]["paths"][0]["reasons"][0]["code"],
        3
    );
    let (_, good_lookup) = json(&format!("{lg}/api/v1/lookup?prefix=193.0.1.1"), None)
        .await
        .expect("lookup");
    let px = &good_lookup["route_servers"][0]["prefixes"][0];
    assert_eq!(px["prefix"], "193.0.0.0/21");
    assert_eq!(px["paths"][0]["member"], "TANet");

    // birdwatcher: the filtered route carries the reason community, as Alice-LG reads it.
    let id = format!("AS1659_{}", member_ip.replace('.', "_"));
    let (s, bw) = json(&format!("{lg}/birdwatcher/rs1/routes/filtered/{id}"), None)
        .await
        .expect("bw");
    assert_eq!(s, 200, "{bw}");
    assert_eq!(bw["routes"][0]["network"], "10.0.0.0/8");
    let large = bw["routes"][0]["bgp"]["large_communities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        large.contains(&serde_json::json!([64500, 1101, 3])),
        "{large:?}"
    );
    let (_, protos) = json(&format!("{lg}/birdwatcher/rs1/protocols/bgp"), None)
        .await
        .expect("bw");
    assert_eq!(protos["protocols"][&id]["bgp_state"], "Established");
    assert_eq!(protos["protocols"][&id]["routes"]["filtered"], 1);
}
