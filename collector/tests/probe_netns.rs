//! STAMP and ICMP echo between two network namespaces: delay and loss (netem on a veth pair
//! where the kernel has it, else a TUN relay in the test process) are measured; and a link
//! taken down raises a probe-down alert that resolves when it is back.
//! Needs root and `ip` (`tc` for the netem parts); otherwise it prints why it skipped.

mod netns;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use fox_collector::alert::{AlertEngine, Notifier, RetryPolicy};
use fox_collector::probe::{bind_reflector, reflect, run, run_probe, Probe};
use fox_config::{AlertTargets, ProbeKind, ProbeSettings, SlaSettings};
use netns::tun::{Impairment, TunLink};
use netns::{sh, spawn_in_ns as in_ns, Lab};
use serde_json::Value;
use tokio::sync::watch;

/// Namespaces can be made here and `tc` is installed.
fn can_run() -> Result<(), String> {
    netns::can_run()?;
    sh(&["sh", "-c", "command -v tc"]).map_err(|_| "tc is not installed".to_string())?;
    Ok(())
}

/// The reflector's address: `eth0` of namespace `b`, port 862.
fn reflector_addr(lab: &Lab) -> std::net::SocketAddr {
    format!("{}:862", lab.addr(2)).parse().unwrap()
}

fn start_reflector(lab: &Lab, sd: watch::Receiver<Option<String>>) {
    let at = reflector_addr(lab);
    let _ = in_ns(lab.ns("b"), async move {
        match bind_reflector(at).await {
            Ok(sock) => reflect(sock, 0, sd).await,
            Err(e) => eprintln!("reflector bind: {e}"),
        }
    });
}

fn probe(lab: &Lab, interval_ms: u64, timeout_ms: u64) -> Arc<Probe> {
    Arc::new(Probe::new(
        ProbeSettings {
            name: "a-b".into(),
            target: reflector_addr(lab),
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

/// Adds netem `delay` and `loss` on `eth0` of both namespaces; `Err` (with why) where this
/// kernel has no netem qdisc or `tc` is missing, so the TUN relay is used instead.
fn add_netem(lab: &Lab, one_way_ms: u64, loss_percent: u32) -> Result<(), String> {
    sh(&["sh", "-c", "command -v tc"]).map_err(|_| "tc is not installed".to_string())?;
    for n in ["a", "b"] {
        let delay = format!("{one_way_ms}ms");
        let loss = format!("{loss_percent}%");
        let args = [
            "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", &delay, "loss", &loss,
        ];
        if let Err(e) = lab.exec(n, &args) {
            if e.contains("qdisc kind is unknown") {
                return Err(format!("this kernel has no netem qdisc ({})", e.trim()));
            }
            panic!("{e}");
        }
    }
    Ok(())
}

/// Delay and loss between `a` and `b` through netem where the kernel has it, else (or with
/// `FOX_IMPAIR=relay`) through the TUN relay of `netns/tun.rs`. STAMP and ICMP echo run
/// across it at once: the median RTT of each is within 1 ms of the configured RTT and the
/// loss within 4 standard deviations of the expected round-trip loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netem_delay_and_loss_are_measured() {
    if let Err(why) = netns::can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let forced = std::env::var("FOX_IMPAIR").is_ok_and(|v| v == "relay");
    let lab = Lab::new("n", 4).unwrap();
    let netem = if forced {
        Err("FOX_IMPAIR=relay".to_string())
    } else {
        add_netem(&lab, 20, 10)
    };
    match netem {
        Ok(()) => {
            eprintln!("impairment: netem 20 ms and 10 % each way on the veth pair");
            let m = measure(&lab, 400).await;
            drop(lab);
            check(&m, Duration::from_millis(40), 0.10, None);
        }
        Err(why) => {
            drop(lab);
            eprintln!("impairment: TUN relay, 10 ms and 5 % each way ({why})");
            relay_delay_and_loss().await;
        }
    }
}

async fn relay_delay_and_loss() {
    let imp = Impairment {
        one_way: Duration::from_millis(10),
        loss: 0.05,
        seed: 0x5eed_f0c5,
    };
    let mut link = TunLink::new("r", 6, imp, Duration::from_secs(90)).unwrap();
    let m = measure(&link.lab, 1000).await;
    let relay = link.finish();
    drop(link);
    eprintln!(
        "relay: SCHED_FIFO {}, a->b forwarded {} dropped {}, b->a forwarded {} dropped {}, \
         not IPv4 {}, overflow {}",
        relay.realtime,
        relay.forwarded[0],
        relay.dropped[0],
        relay.forwarded[1],
        relay.dropped[1],
        relay.not_ipv4,
        relay.overflow
    );
    assert_eq!(relay.error, None);
    assert_eq!(relay.overflow, 0);
    let q = |x| relay.lateness_quantile(x).unwrap() * 1e3;
    eprintln!(
        "relay lateness (write time minus due time): median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    // The relay's own drop decisions follow the configured probability.
    for dir in 0..2 {
        let n = (relay.forwarded[dir] + relay.dropped[dir]) as f64;
        let ratio = relay.dropped[dir] as f64 / n;
        let bound = 4.0 * (imp.loss * (1.0 - imp.loss) / n).sqrt();
        assert!(
            (ratio - imp.loss).abs() <= bound,
            "relay dropped {ratio} in direction {dir}, bound {bound}"
        );
    }
    // Every loss a probe saw is a packet the relay dropped (none timed out in the relay).
    let drops = relay.dropped[0] + relay.dropped[1];
    assert!(m.iter().map(|p| p.lost).sum::<u64>() <= drops);
    check(&m, imp.one_way * 2, imp.loss, relay.lateness_quantile(0.5));
}

/// Results of one probe: every RTT in order, and the counters.
#[derive(Debug, Default)]
struct Measured {
    name: &'static str,
    rtts: Vec<f64>,
    done: u64,
    lost: u64,
    late: u64,
    /// Results that left the recent window before they were read (a stalled test task).
    missed: usize,
}

impl Measured {
    /// Takes the results `p` recorded since the last call (from its recent window).
    fn take(&mut self, p: &Probe) {
        let st = p.state();
        let done = st.received + st.lost;
        let new = usize::try_from(done - self.done).unwrap();
        self.missed += new.saturating_sub(st.recent.len());
        let skip = st.recent.len().saturating_sub(new);
        self.rtts.extend(st.recent.iter().skip(skip).flatten());
        self.done = done;
        self.lost = st.lost;
        self.late = st.late;
    }

    fn median(&self) -> f64 {
        let mut v = self.rtts.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

/// Runs a STAMP and an ICMP echo probe from `a` to `b` (5 ms interval) until each has `n`
/// results.
async fn measure(lab: &Lab, n: u64) -> [Measured; 2] {
    let (tx, sd) = watch::channel(None);
    start_reflector(lab, sd.clone());
    let stamp = probe(lab, 5, 400);
    let mut s = ProbeSettings::stamp("a-b-icmp", format!("{}:0", lab.addr(2)).parse().unwrap());
    s.kind = ProbeKind::Icmp;
    s.interval = Duration::from_millis(5);
    s.timeout = Duration::from_millis(400);
    let icmp = Arc::new(Probe::new(s, None));
    let senders = [
        in_ns(lab.ns("a"), run_probe(stamp.clone(), None, sd.clone())),
        in_ns(lab.ns("a"), run(icmp.clone(), None, sd.clone())),
    ];
    let mut m = [
        Measured {
            name: "STAMP",
            ..Measured::default()
        },
        Measured {
            name: "ICMP",
            ..Measured::default()
        },
    ];
    let start = Instant::now();
    while m.iter().any(|x| x.done < n) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        m[0].take(&stamp);
        m[1].take(&icmp);
    }
    let _ = tx.send(Some("done".into()));
    for s in senders {
        let _ = s.join();
    }
    m
}

/// Median RTT within 1 ms of `rtt` (plus the relay's median lateness each way when that is
/// over 0.3 ms), no RTT below `rtt`, round-trip loss within 4 sd of `1 - (1 - loss)^2`.
fn check(m: &[Measured], rtt: Duration, loss: f64, lateness: Option<f64>) {
    let mut expect = rtt.as_secs_f64();
    if let Some(l) = lateness.filter(|l| *l > 0.0003) {
        expect += 2.0 * l;
        eprintln!(
            "the relay's median lateness {:.3} ms is over 0.3 ms: RTT compared against {:.3} ms",
            l * 1e3,
            expect * 1e3
        );
    }
    let p = 1.0 - (1.0 - loss) * (1.0 - loss);
    for x in m {
        // The RTTs are all those read; a stall of the test task may cost a few, never many.
        assert!(
            x.missed * 10 < x.rtts.len(),
            "{} missed {}",
            x.name,
            x.missed
        );
        assert_eq!(x.late, 0, "{}", x.name);
        let n = x.done as f64;
        let ratio = x.lost as f64 / n;
        let bound = 4.0 * (p * (1.0 - p) / n).sqrt();
        let med = x.median();
        let min = x.rtts.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = x.rtts.iter().sum::<f64>() / x.rtts.len() as f64;
        eprintln!(
            "{}: {} results ({} RTTs read, {} missed), median RTT {:.3} ms (min {:.3}, mean {:.3}), expected {:.3}; \
             loss {:.4} ({} lost), expected {:.4} +- {:.4}",
            x.name,
            x.done,
            x.rtts.len(),
            x.missed,
            med * 1e3,
            min * 1e3,
            mean * 1e3,
            expect * 1e3,
            ratio,
            x.lost,
            p,
            bound
        );
        assert!(
            (med - expect).abs() <= 0.001,
            "{} median RTT {med} not within 1 ms of {expect}",
            x.name
        );
        assert!(
            min >= rtt.as_secs_f64() - 1e-5,
            "{} RTT {min} below the configured {rtt:?}",
            x.name
        );
        assert!(
            (ratio - p).abs() <= bound,
            "{} loss {ratio} not within {bound} of {p}",
            x.name
        );
    }
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
    let lab = Lab::new("l", 5).unwrap();
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
    let p = probe(&lab, 20, 100);
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
