//! Probe down -> alert raised once, delivered (with a retry) to a webhook and to an
//! Alertmanager-style receiver; reflector back -> resolved.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use fox_collector::alert::{AlertEngine, AlertKind, Notifier, RetryPolicy};
use fox_collector::probe::{bind_reflector, reflect, run_probe, Probe};
use fox_config::{AlertTargets, ProbeSettings, SlaSettings};
use serde_json::Value;
use tokio::sync::watch;

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

#[derive(Clone)]
struct Receiver {
    seen: Seen,
    /// Requests to /hook answered 500 before the first success.
    fail_first: Arc<Mutex<u32>>,
}

async fn hook(State(r): State<Receiver>, Json(v): Json<Value>) -> StatusCode {
    {
        let mut f = r.fail_first.lock().unwrap();
        if *f > 0 {
            *f -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    r.seen.lock().unwrap().push(("hook".into(), v));
    StatusCode::OK
}

async fn am(State(r): State<Receiver>, Json(v): Json<Value>) -> StatusCode {
    r.seen.lock().unwrap().push(("am".into(), v));
    StatusCode::OK
}

async fn receiver() -> (SocketAddr, Receiver) {
    let r = Receiver {
        seen: Arc::default(),
        fail_first: Arc::new(Mutex::new(1)),
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/api/v2/alerts", post(am))
        .with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (addr, r)
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn texts(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == "hook")
        .filter_map(|(_, v)| v["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("FoxProbeDown"))
        .collect()
}

fn am_down(seen: &Seen) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == "am")
        .map(|(_, v)| v[0].clone())
        .filter(|a| a["labels"]["alertname"] == "FoxProbeDown")
        .collect()
}

#[tokio::test]
async fn reflector_gone_raises_once_and_back_resolves() {
    let (hook_addr, rx) = receiver().await;
    let targets = AlertTargets {
        webhooks: vec![format!("http://{hook_addr}/hook")],
        alertmanager: vec![format!("http://{hook_addr}")],
    };
    let policy = RetryPolicy {
        attempts: 5,
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
    };
    let engine = Arc::new(AlertEngine::new(
        SlaSettings::default(),
        Notifier::spawn(&targets, policy),
    ));

    let (refl_tx, refl_sd) = watch::channel(None);
    let sock = bind_reflector("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let target = sock.local_addr().unwrap();
    let refl = tokio::spawn(reflect(sock, 0, refl_sd));

    let (tx, sd) = watch::channel(None);
    let probe = Arc::new(Probe::new(
        ProbeSettings {
            name: "lo-alert".into(),
            target,
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(60),
            kind: Default::default(),
            tags: Default::default(),
        },
        None,
    ));
    tokio::spawn(run_probe(probe.clone(), Some(engine.clone()), sd.clone()));
    wait_for("probe up", || probe.state().received >= 5).await;
    assert!(texts(&rx.seen).is_empty());

    // The reflector stops answering.
    let _ = refl_tx.send(Some("stop".into()));
    let _ = refl.await;
    wait_for("FIRING on the webhook", || !texts(&rx.seen).is_empty()).await;
    assert!(engine
        .active()
        .iter()
        .any(|a| a.kind == AlertKind::ProbeDown && a.subject == "lo-alert"));
    // The first delivery got a 500 and was retried; the message arrived once.
    assert_eq!(*rx.fail_first.lock().unwrap(), 0);
    wait_for("Alertmanager alert", || !am_down(&rx.seen).is_empty()).await;
    let a = &am_down(&rx.seen)[0];
    assert_eq!(a["labels"]["probe"], "lo-alert");
    assert!(a["startsAt"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert!(a.get("endsAt").is_none());

    // Many more evaluations while down: still one message (de-duplicated).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = texts(&rx.seen);
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(t[0].starts_with("FIRING FoxProbeDown"), "{t:?}");
    // The periodic re-send reaches Alertmanager only, still firing.
    let am_before = am_down(&rx.seen).len();
    engine.resend_active();
    wait_for("Alertmanager re-send", || {
        am_down(&rx.seen).len() > am_before
    })
    .await;
    assert!(am_down(&rx.seen)
        .last()
        .is_some_and(|a| a.get("endsAt").is_none()));
    assert_eq!(texts(&rx.seen).len(), 1);

    // The reflector comes back on the same address.
    let (_refl_tx2, refl_sd2) = watch::channel(None);
    let sock = bind_reflector(target).await.unwrap();
    tokio::spawn(reflect(sock, 0, refl_sd2));
    wait_for("RESOLVED on the webhook", || texts(&rx.seen).len() >= 2).await;
    let t = texts(&rx.seen);
    assert!(t[1].starts_with("RESOLVED FoxProbeDown"), "{t:?}");
    wait_for("Alertmanager resolve", || {
        am_down(&rx.seen).iter().any(|a| a.get("endsAt").is_some())
    })
    .await;
    let all = am_down(&rx.seen);
    let a = all.last().unwrap();
    assert!(a["endsAt"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert!(probe.state().up());
    assert!(!engine
        .active()
        .iter()
        .any(|a| a.kind == AlertKind::ProbeDown));
    let _ = tx.send(Some("done".into()));
}
