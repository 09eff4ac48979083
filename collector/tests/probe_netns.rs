//! STAMP between two network namespaces joined by a veth pair: netem delay and loss are
//! measured, and a link taken down raises a probe-down alert that resolves when it is back.
//! Needs root, `ip` and `tc`; otherwise it prints why it skipped.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use fox_collector::alert::{AlertEngine, Notifier, RetryPolicy};
use fox_collector::probe::{bind_reflector, reflect, run_probe, Probe};
use fox_config::{AlertTargets, ProbeSettings, SlaSettings};
use serde_json::Value;
use tokio::sync::watch;

fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn can_run() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root for network namespaces".into());
    }
    for tool in ["ip", "tc"] {
        sh(&["sh", "-c", &format!("command -v {tool}")])
            .map_err(|_| format!("{tool} is not installed"))?;
    }
    Ok(())
}

/// Two namespaces, `a` (10.77.0.1) and `b` (10.77.0.2), on one veth pair; removed on drop.
struct Lab {
    prefix: String,
}

impl Lab {
    fn new(tag: &str) -> Result<Lab, String> {
        let lab = Lab {
            prefix: format!("fp{}{tag}", std::process::id()),
        };
        for n in ["a", "b"] {
            sh(&["ip", "netns", "add", &lab.ns(n)])?;
            lab.exec(n, &["ip", "link", "set", "lo", "up"])?;
        }
        sh(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            &lab.ns("a"),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &lab.ns("b"),
        ])?;
        for (n, addr) in [("a", "10.77.0.1/30"), ("b", "10.77.0.2/30")] {
            lab.exec(n, &["ip", "addr", "add", addr, "dev", "eth0"])?;
            lab.exec(n, &["ip", "link", "set", "eth0", "up"])?;
        }
        Ok(lab)
    }

    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(ns);
        let mut full = vec!["ip", "netns", "exec", &ns];
        full.extend_from_slice(args);
        sh(&full)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in ["a", "b"] {
            let _ = sh(&["ip", "netns", "del", &self.ns(n)]);
        }
    }
}

/// Runs `fut` on a current-thread runtime in a new thread that entered namespace `ns`
/// (sockets belong to the namespace of the thread that creates them).
fn in_ns<F>(ns: String, fut: F) -> std::thread::JoinHandle<Result<(), String>>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    std::thread::spawn(move || {
        let file = File::open(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        // SAFETY: setns on a valid namespace fd; it only changes this thread's namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(fut);
        Ok(())
    })
}

fn start_reflector(lab: &Lab, sd: watch::Receiver<Option<String>>) {
    let _ = in_ns(lab.ns("b"), async move {
        match bind_reflector("10.77.0.2:862".parse().unwrap()).await {
            Ok(sock) => reflect(sock, 0, sd).await,
            Err(e) => eprintln!("reflector bind: {e}"),
        }
    });
}

fn probe(interval_ms: u64, timeout_ms: u64) -> Arc<Probe> {
    Arc::new(Probe::new(
        ProbeSettings {
            name: "a-b".into(),
            target: "10.77.0.2:862".parse().unwrap(),
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
            kind: Default::default(),
            tags: Default::default(),
        },
        None,
    ))
}

async fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netem_delay_and_loss_are_measured() {
    if let Err(why) = can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new("n").unwrap();
    for n in ["a", "b"] {
        let r = lab.exec(
            n,
            &[
                "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "20ms", "loss",
                "10%",
            ],
        );
        if let Err(e) = r {
            if e.contains("qdisc kind is unknown") {
                // Some kernels (e.g. minimal VM kernels) are built without sch_netem;
                // probe_stamp.rs measures the same impairment through a userspace relay.
                eprintln!("skipped: this kernel has no netem qdisc ({e})");
                return;
            }
            panic!("{e}");
        }
    }
    let (tx, sd) = watch::channel(None);
    start_reflector(&lab, sd.clone());
    let p = probe(10, 400);
    let sender = in_ns(lab.ns("a"), run_probe(p.clone(), None, sd.clone()));
    wait_for("400 results", 60, || {
        let st = p.state();
        st.received + st.lost >= 400
    })
    .await;
    let _ = tx.send(Some("done".into()));
    let _ = sender.join();
    let st = p.state();
    let mean = st.mean_rtt().unwrap();
    // 20 ms each way; allow for scheduling on a busy machine, never less than the delay.
    assert!((0.0395..0.046).contains(&mean), "mean RTT {mean}");
    // 10% each way: 1 - 0.9^2 = 19% round trip. n >= 400: sd ~2%, bound at about 4 sd.
    let loss = st.loss_ratio().unwrap();
    assert!((0.10..0.28).contains(&loss), "loss {loss}");
    assert_eq!(st.late, 0);
}

type Seen = Arc<Mutex<Vec<String>>>;

async fn hook(State(seen): State<Seen>, Json(v): Json<Value>) {
    if let Some(t) = v["text"].as_str() {
        seen.lock().unwrap().push(t.to_owned());
    }
}

fn down_texts(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|t| t.contains("FoxProbeDown"))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_down_alerts_and_link_up_resolves() {
    if let Err(why) = can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new("l").unwrap();
    // The webhook receiver and the delivery tasks run in the test's own namespace.
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let targets = AlertTargets {
        webhooks: vec![format!("http://{hook_addr}/hook")],
        alertmanager: Vec::new(),
    };
    let policy = RetryPolicy {
        first_backoff: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let engine = Arc::new(AlertEngine::new(
        SlaSettings::default(),
        Notifier::spawn(&targets, policy),
    ));

    let (tx, sd) = watch::channel(None);
    start_reflector(&lab, sd.clone());
    let p = probe(20, 100);
    let sender = in_ns(lab.ns("a"), run_probe(p.clone(), Some(engine), sd.clone()));
    wait_for("probe up", 10, || p.state().received >= 10).await;
    assert!(p.state().up());
    assert!(down_texts(&seen).is_empty());

    lab.exec("a", &["ip", "link", "set", "eth0", "down"])
        .unwrap();
    wait_for("FIRING", 10, || !down_texts(&seen).is_empty()).await;
    assert!(p.state().down());
    let t = down_texts(&seen);
    assert!(t[0].starts_with("FIRING FoxProbeDown"), "{t:?}");
    assert!(t[0].contains("a-b"), "{t:?}");

    lab.exec("a", &["ip", "link", "set", "eth0", "up"]).unwrap();
    wait_for("RESOLVED", 15, || down_texts(&seen).len() >= 2).await;
    let t = down_texts(&seen);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[1].starts_with("RESOLVED FoxProbeDown"), "{t:?}");
    assert!(p.state().up());
    let _ = tx.send(Some("done".into()));
    let _ = sender.join();
}
