//! Correlated alerts over real STAMP probes on 127.0.0.1: when every reflector of one site
//! stops, the webhook gets one "site unreachable" alert listing the failed probes, not one
//! alert per probe; it resolves when they answer again. The same for a route server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use fox_collector::alert::{AlertEngine, AlertKind, Notifier, RetryPolicy};
use fox_collector::probe::{bind_reflector, reflect, run, Probe};
use fox_config::{AlertTargets, ProbeSettings, ProbeTags, SlaSettings};
use serde_json::Value;
use tokio::sync::watch;

type Seen = Arc<Mutex<Vec<String>>>;

async fn webhook() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(s): State<Seen>, Json(v): Json<Value>| async move {
                if let Some(t) = v["text"].as_str() {
                    s.lock().unwrap().push(t.to_owned());
                }
                "ok"
            }),
        )
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (addr, seen)
}

/// A reflector on `addr` (port 0: any) until the returned sender is used.
async fn reflector(
    addr: SocketAddr,
) -> (
    SocketAddr,
    watch::Sender<Option<String>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = watch::channel(None);
    let sock = bind_reflector(addr).await.expect("bind reflector");
    let a = sock.local_addr().expect("address");
    (a, tx, tokio::spawn(reflect(sock, 0, rx)))
}

fn probe(name: &str, target: SocketAddr, site: &str, rs: Option<&str>) -> Arc<Probe> {
    let mut s = ProbeSettings::stamp(name, target);
    s.interval = Duration::from_millis(20);
    // Reflectors and senders share this process's two worker threads; on a machine shared
    // with builds a 60 ms budget was sometimes missed by a healthy reflector (a real late
    // reply, then a loss alert on a probe this test keeps up). What is tested here is the
    // correlation, not a loss measurement: give replies 250 ms.
    s.timeout = Duration::from_millis(250);
    s.tags = ProbeTags {
        site: Some(site.into()),
        link: Some(format!("hsinchu-{site}")),
        route_server: rs.map(str::to_owned),
        member: Some(format!("AS-{name}")),
    };
    Arc::new(Probe::new(s, None))
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn texts(s: &Seen) -> Vec<String> {
    s.lock().unwrap().clone()
}

// This test flapped (FoxRouteServerDown resolved and fired again): two probe tasks took
// views of the groups in one order and applied them in the other, see
// `alert::correlate::tests::a_stale_view_does_not_resolve_what_a_newer_one_raised`; and
// replies that waited in the socket while the sender was not scheduled were counted lost
// (`probe::sender::tests::a_reply_waiting_in_the_socket_is_judged_by_its_arrival`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_per_failed_site_and_route_server() {
    let (hook, seen) = webhook().await;
    let policy = RetryPolicy {
        first_backoff: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let targets = AlertTargets {
        webhooks: vec![format!("http://{hook}/hook")],
        alertmanager: Vec::new(),
    };
    let engine = Arc::new(AlertEngine::new(
        SlaSettings::default(),
        Notifier::spawn(&targets, policy),
    ));
    let hold = Duration::from_millis(1500);
    engine.set_hold(hold);

    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut tainan = Vec::new();
    for _ in 0..3 {
        tainan.push(reflector(any).await);
    }
    let rs = [reflector(any).await, reflector(any).await];
    let taichung = reflector(any).await;
    let mut probes = Vec::new();
    for (i, r) in tainan.iter().enumerate() {
        probes.push(probe(&format!("tainan-{i}"), r.0, "tainan", None));
    }
    probes.push(probe("rs1-a", rs[0].0, "taichung", Some("rs1")));
    probes.push(probe("rs1-b", rs[1].0, "taichung", Some("rs1")));
    probes.push(probe("taichung-0", taichung.0, "taichung", None));
    let (stop, sd) = watch::channel(None);
    for p in &probes {
        tokio::spawn(run(p.clone(), Some(engine.clone()), sd.clone()));
    }
    wait_for("all probes up", || {
        probes.iter().all(|p| p.state().received >= 5)
    })
    .await;

    // Site tainan fails: all three reflectors stop at once.
    let addrs: Vec<SocketAddr> = tainan.iter().map(|r| r.0).collect();
    for (_, tx, task) in tainan.drain(..) {
        let _ = tx.send(Some("stop".into()));
        let _ = task.await;
    }
    wait_for("site alert", || !texts(&seen).is_empty()).await;
    let t = texts(&seen);
    assert!(
        t[0].starts_with("FIRING FoxSiteUnreachable: site tainan is unreachable: all 3 probes"),
        "{t:?}"
    );
    for i in 0..3 {
        assert!(t[0].contains(&format!("- probe tainan-{i} to ")), "{t:?}");
        assert!(
            t[0].contains(&format!("(member AS-tainan-{i}) is down")),
            "{t:?}"
        );
    }
    // Longer than the hold: still only that one message (no per-probe alerts).
    tokio::time::sleep(hold + Duration::from_millis(700)).await;
    assert_eq!(texts(&seen).len(), 1, "{:?}", texts(&seen));
    let active = engine.active();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(
        (active[0].kind, active[0].subject.as_str()),
        (AlertKind::SiteUnreachable, "tainan")
    );
    assert_eq!(active[0].symptoms.len(), 3);

    // The site comes back on the same addresses: resolved, and the outage's losses raise
    // no loss alert afterwards.
    for a in addrs {
        tainan.push(reflector(a).await);
    }
    wait_for("resolved", || texts(&seen).len() >= 2).await;
    assert!(
        texts(&seen)[1].starts_with("RESOLVED FoxSiteUnreachable"),
        "{:?}",
        texts(&seen)
    );
    tokio::time::sleep(hold + Duration::from_millis(700)).await;
    assert_eq!(texts(&seen).len(), 2, "{:?}", texts(&seen));

    // Route server rs1 fails (its site's other probe still answers): one alert.
    let [(_, tx_a, task_a), (_, tx_b, task_b)] = rs;
    let _ = tx_a.send(Some("stop".into()));
    let _ = tx_b.send(Some("stop".into()));
    let _ = task_a.await;
    let _ = task_b.await;
    wait_for("route server alert", || texts(&seen).len() >= 3).await;
    let t = texts(&seen);
    assert!(
        t[2].starts_with(
            "FIRING FoxRouteServerDown: route server rs1 is unreachable: all 2 probes"
        ),
        "{t:?}"
    );
    tokio::time::sleep(hold + Duration::from_millis(700)).await;
    assert_eq!(texts(&seen).len(), 3, "{:?}", texts(&seen));
    assert!(engine
        .active()
        .iter()
        .all(|a| a.kind == AlertKind::RouteServerDown));
    let _ = stop.send(Some("done".into()));
    let _ = taichung.1.send(Some("done".into()));
}
