//! `fox demo`, the README's first command: it starts, loads the members' routes into both
//! route servers, and the looking glass, the collector and every /metrics answer; SIGTERM
//! stops it cleanly. Runs on loopback in the test's own network namespace (fixed ports).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::netns::{can_run, Lab};

/// GET a URL inside namespace `ns` with curl; the body if the status is 200.
fn get(ns: &str, url: &str) -> Result<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-s", "-f", "-m", "30", url])
        .output()
        .context("running curl")?;
    if !out.status.success() {
        bail!("GET {url}: curl exit {:?}", out.status.code());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json(ns: &str, url: &str) -> Result<Value> {
    serde_json::from_str(&get(ns, url)?).with_context(|| format!("{url}: not JSON"))
}

#[test]
fn demo_starts_loads_routes_and_stops() {
    if !can_run("demo_starts_loads_routes_and_stops") {
        return;
    }
    let mut lab = Lab::new("demo").expect("lab");
    let host = lab
        .add_host(
            "demo",
            "192.0.2.200".parse().unwrap(),
            "2001:db8::200".parse().unwrap(),
        )
        .expect("host");
    let dir = host.dir.join("demo");
    let log = std::fs::File::create(host.dir.join("fox-demo.log")).expect("log file");
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &host.ns,
            env!("CARGO_BIN_EXE_fox"),
            "demo",
            "--dir",
        ])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start fox demo");
    let result = (|| -> Result<()> {
        let t0 = Instant::now();
        // Every member's routes in both route servers.
        loop {
            let ok = ["8180", "8181"].iter().all(|port| {
                json(
                    &host.ns,
                    &format!("http://127.0.0.1:{port}/api/v1/neighbors"),
                )
                .map(|v| {
                    let ns = v["neighbors"].as_array().cloned().unwrap_or_default();
                    ns.len() == 4
                        && ns.iter().all(|n| {
                            n["state"] == "Established"
                                && n["routes"]["received"]["ipv4"].as_u64().unwrap_or(0) > 1000
                        })
                })
                .unwrap_or(false)
            });
            if ok {
                break;
            }
            if t0.elapsed() > Duration::from_secs(120) {
                bail!("demo not loaded after 120 s");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        println!("demo loaded in {:?}", t0.elapsed());
        // Some routes are filtered as RPKI-invalid, with the Euro-IX code.
        let filtered = json(
            &host.ns,
            "http://127.0.0.1:8180/api/v1/neighbors/127.0.0.12/routes/filtered?reason=13&limit=5",
        )?;
        if filtered["total"].as_u64().unwrap_or(0) == 0 {
            bail!("no RPKI-invalid route filtered: {filtered}");
        }
        // The looking glass sees both route servers.
        let summary = json(&host.ns, "http://127.0.0.1:8080/api/v1/summary")?;
        let rs = summary["route_servers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if rs.len() != 2 || rs.iter().any(|r| r["up"] != true) {
            bail!("looking glass summary: {summary}");
        }
        let page = get(&host.ns, "http://127.0.0.1:8080/")?;
        if !page.contains("rs1") || !page.contains("rs2") {
            bail!("looking glass overview lacks the route servers");
        }
        // The collector counts the synthetic traffic.
        let t1 = Instant::now();
        loop {
            let traffic = json(&host.ns, "http://127.0.0.1:8190/api/v1/traffic")?;
            let bytes: u64 = traffic["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .map(|x| x["out"]["bytes"].as_u64().unwrap_or(0))
                        .sum()
                })
                .unwrap_or(0);
            if bytes > 0 {
                break;
            }
            if t1.elapsed() > Duration::from_secs(10) {
                bail!("collector saw no traffic: {traffic}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        // Every service exposes its metrics.
        for (port, name) in [
            ("8180", "fox_bgp_prefixes_accepted"),
            ("8181", "fox_bgp_session_established"),
            ("8190", "fox_traffic_out_bytes_total"),
        ] {
            let m = get(&host.ns, &format!("http://127.0.0.1:{port}/metrics"))?;
            if !m.contains(name) {
                bail!(":{port}/metrics lacks {name}");
            }
        }
        Ok(())
    })();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let t = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if t.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(lab);
    if let Err(e) = result {
        panic!("{e:#} (log: {})", host.dir.join("fox-demo.log").display());
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "fox demo did not stop cleanly on SIGTERM: {status:?}"
    );
}
