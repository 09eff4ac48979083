//! The NOC dashboards against the demo: a real Prometheus (Debian package `prometheus`)
//! scrapes `fox demo` with the demo jobs of lab/prometheus.yml; every target must be up,
//! and every PromQL expression of the Grafana dashboards in lab/grafana/ must return data
//! (at least one series with a finite value).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::netns::{can_run, Lab};

/// Port of Prometheus inside the test's own namespace (nothing else listens there).
const PROM_PORT: u16 = 19090;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// GET `url` inside `ns` with curl, with `query` URL-encoded as `query=`; JSON body.
fn get_json(ns: &str, url: &str, query: Option<&str>) -> Result<Value> {
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns", "exec", ns, "curl", "-s", "-f", "-m", "10", "-G", url,
    ]);
    if let Some(q) = query {
        cmd.arg("--data-urlencode").arg(format!("query={q}"));
    }
    let out = cmd.output().context("running curl")?;
    if !out.status.success() {
        bail!("GET {url}: curl exit {:?}", out.status.code());
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{url}: not JSON"))
}

/// The scrape configuration the test runs: lab/prometheus.yml with only its demo jobs,
/// scraped every second (the shipped interval is 15 s), as JSON (valid YAML).
fn demo_scrape_config() -> Result<(Value, usize)> {
    let text = std::fs::read_to_string(root().join("lab/prometheus.yml"))?;
    let mut cfg: Value = serde_saphyr::from_str(&text).context("lab/prometheus.yml")?;
    let jobs: Vec<Value> = cfg["scrape_configs"]
        .as_array()
        .context("scrape_configs")?
        .iter()
        .filter(|j| {
            j["job_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("fox-demo-"))
        })
        .cloned()
        .collect();
    let targets: usize = jobs
        .iter()
        .flat_map(|j| j["static_configs"].as_array().cloned().unwrap_or_default())
        .map(|s| s["targets"].as_array().map_or(0, Vec::len))
        .sum();
    cfg["scrape_configs"] = Value::Array(jobs);
    cfg["global"]["scrape_interval"] = "1s".into();
    cfg["global"]["evaluation_interval"] = "1s".into();
    Ok((cfg, targets))
}

/// Every `expr` in the dashboards: (file, panel title, expression).
fn dashboard_queries(dir: &Path) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f)?)
            .with_context(|| format!("{} is not JSON", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for p in v["panels"].as_array().context("panels")? {
            for t in p["targets"].as_array().context("targets")? {
                let e = t["expr"].as_str().context("expr")?;
                out.push((
                    name.clone(),
                    p["title"].as_str().unwrap_or("").to_owned(),
                    e.to_owned(),
                ));
            }
        }
    }
    Ok(out)
}

/// At least one series with a finite value.
fn has_data(answer: &Value) -> bool {
    answer["status"] == "success"
        && answer["data"]["result"].as_array().is_some_and(|r| {
            r.iter().any(|s| {
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            })
        })
}

#[test]
fn dashboards_queries_return_data_from_the_demo() {
    if !can_run("dashboards_queries_return_data_from_the_demo") {
        return;
    }
    if !Path::new("/usr/bin/prometheus").exists() {
        println!("SKIPPED dashboards_queries_return_data_from_the_demo: /usr/bin/prometheus missing (apt-get install prometheus)");
        return;
    }
    let queries = dashboard_queries(&root().join("lab/grafana")).expect("dashboards");
    assert!(
        queries.len() >= 20,
        "only {} queries in the dashboards",
        queries.len()
    );
    let (cfg, targets) = demo_scrape_config().expect("scrape config");
    assert_eq!(
        targets, 4,
        "demo jobs: both route servers, collector, looking glass"
    );

    let mut lab = Lab::new("dashboards").expect("lab");
    let host = lab
        .add_host(
            "dash",
            "192.0.2.200".parse().unwrap(),
            "2001:db8::200".parse().unwrap(),
        )
        .expect("host");
    let cfg_path = host.dir.join("prometheus.json");
    std::fs::write(&cfg_path, serde_json::to_string_pretty(&cfg).unwrap()).expect("config");
    let tsdb = host.dir.join("tsdb");
    let demo_dir = host.dir.join("demo");
    let demo_dir_s = demo_dir.to_string_lossy().into_owned();
    let _demo = lab
        .spawn(
            &host.ns,
            "fox-demo",
            &[env!("CARGO_BIN_EXE_fox"), "demo", "--dir", &demo_dir_s],
        )
        .expect("start fox demo");
    let (cfg_s, tsdb_s) = (
        cfg_path.to_string_lossy().into_owned(),
        tsdb.to_string_lossy().into_owned(),
    );
    let listen = format!("--web.listen-address=127.0.0.1:{PROM_PORT}");
    let _prom = lab
        .spawn(
            &host.ns,
            "prometheus",
            &[
                "/usr/bin/prometheus",
                &format!("--config.file={cfg_s}"),
                &format!("--storage.tsdb.path={tsdb_s}"),
                &listen,
            ],
        )
        .expect("start prometheus");
    let api = format!("http://127.0.0.1:{PROM_PORT}/api/v1");

    // Every target up (the demo loads its routes first; bounded).
    let t0 = Instant::now();
    loop {
        let up = get_json(&host.ns, &format!("{api}/targets"), None)
            .map(|v| {
                let t = v["data"]["activeTargets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (t.len(), t.iter().filter(|x| x["health"] == "up").count())
            })
            .unwrap_or((0, 0));
        if up == (targets, targets) {
            println!("all {targets} targets up after {:?}", t0.elapsed());
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "targets up after 120 s: {up:?} of {targets}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Every dashboard query answers with data; rate() needs two scrapes, hence the retries.
    let t1 = Instant::now();
    let mut pending = queries.clone();
    while !pending.is_empty() {
        pending.retain(|(_, _, e)| {
            !get_json(&host.ns, &format!("{api}/query"), Some(e)).is_ok_and(|a| has_data(&a))
        });
        if pending.is_empty() || t1.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        pending.is_empty(),
        "dashboard queries without data after 60 s:\n{}",
        pending
            .iter()
            .map(|(f, t, e)| format!("  {f} / {t}: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!(
        "{} dashboard queries return data ({:?} after the targets were up)",
        queries.len(),
        t1.elapsed()
    );
    // A query that cannot have data does not pass: the check is not vacuous.
    let none = get_json(
        &host.ns,
        &format!("{api}/query"),
        Some("fox_no_such_metric"),
    )
    .expect("query");
    assert!(!has_data(&none));
}
