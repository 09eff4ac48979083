//! Route-server sessions as alert input, end to end: a fake admin API on 127.0.0.1 serves
//! the route server's neighbour JSON, which the test changes; the collector's poller reads
//! it and alerts reach a webhook through the real delivery path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fox_collector::alert::{AlertEngine, AlertKind, Notifier, RetryPolicy};
use fox_collector::probe::Probe;
use fox_config::{AlertTargets, ProbeSettings, ProbeTags, SlaSettings};
use serde_json::{json, Value};
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

/// The fake route server: its sessions (member, state, last error) and whether the API
/// answers at all.
#[derive(Default)]
struct Fake {
    sessions: Vec<(String, u32, String, String, Option<String>)>,
    broken: bool,
}

type Shared = Arc<Mutex<Fake>>;

async fn admin_api(fake: Shared) -> SocketAddr {
    let app = Router::new()
        .route(
            "/api/v1/neighbors",
            get(|State(f): State<Shared>| async move {
                let f = f.lock().unwrap();
                if f.broken {
                    return Err(StatusCode::SERVICE_UNAVAILABLE);
                }
                let list: Vec<Value> = f
                    .sessions
                    .iter()
                    .enumerate()
                    .map(|(i, (member, asn, address, state, err))| {
                        json!({
                            "id": i, "member": member, "asn": asn, "address": address,
                            "state": state, "state_since": 0, "uptime_seconds": 0,
                            "remote_router_id": null, "hold_time": 90, "capabilities": {},
                            "last_error": err, "flaps": 0, "routes": null,
                        })
                    })
                    .collect();
                Ok(Json(json!({ "neighbors": list })))
            }),
        )
        .with_state(fake);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr
}

fn set_state(fake: &Shared, asns: &[u32], state: &str, err: Option<&str>) {
    let mut f = fake.lock().unwrap();
    for s in f.sessions.iter_mut().filter(|s| asns.contains(&s.1)) {
        s.3 = state.to_owned();
        s.4 = err.map(str::to_owned);
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_sessions_and_a_failed_route_server() {
    let (hook, seen) = webhook().await;
    let engine = Arc::new(AlertEngine::new(
        SlaSettings::default(),
        Notifier::spawn(
            &AlertTargets {
                webhooks: vec![format!("http://{hook}/hook")],
                alertmanager: Vec::new(),
            },
            RetryPolicy {
                first_backoff: Duration::from_millis(50),
                ..RetryPolicy::default()
            },
        ),
    ));
    let fake: Shared = Arc::default();
    for (i, m) in ["GSN", "TWIX", "NCHC", "HINET"].iter().enumerate() {
        let asn = 65001 + i as u32;
        fake.lock().unwrap().sessions.push((
            (*m).to_owned(),
            asn,
            format!("192.0.2.{}", i + 1),
            "Established".into(),
            None,
        ));
    }
    let api = admin_api(fake.clone()).await;
    let poll = Duration::from_millis(100);
    let (stop, sd) = watch::channel(None);
    tokio::spawn(fox_collector::sessions::run(
        engine.clone(),
        "rs1".into(),
        api,
        poll,
        sd.clone(),
    ));
    // A probe to the route server, driven by hand (the STAMP path has its own tests).
    let mut s = ProbeSettings::stamp("rs1-v4", "127.0.0.1:862".parse().unwrap());
    s.tags = ProbeTags {
        site: Some("taipei".into()),
        route_server: Some("rs1".into()),
        ..ProbeTags::default()
    };
    let probe = Arc::new(Probe::new(s, None));
    probe.reply(0.001, 0);
    engine.evaluate(&probe);

    // All up: several polls, nothing sent.
    tokio::time::sleep(poll * 5).await;
    assert!(texts(&seen).is_empty(), "{:?}", texts(&seen));

    // One member's session drops: one alert naming member, route server and last error.
    set_state(&fake, &[65002], "Active", Some("hold timer expired"));
    wait_for("session alert", || !texts(&seen).is_empty()).await;
    assert_eq!(
        texts(&seen)[0],
        "FIRING FoxMemberSessionDown: session of member TWIX (AS65002, 192.0.2.2) on route server rs1 is Active, last error: hold timer expired"
    );
    let a = engine.active();
    assert_eq!(
        (a[0].kind, a[0].subject.as_str()),
        (AlertKind::MemberSessionDown, "rs1/192.0.2.2")
    );
    // Back up: resolved.
    set_state(&fake, &[65002], "Established", None);
    wait_for("session resolved", || texts(&seen).len() >= 2).await;
    assert!(texts(&seen)[1].starts_with("RESOLVED FoxMemberSessionDown: session of member TWIX"));
    assert!(engine.active().is_empty());

    // Three of four sessions drop at once: one route-server alert, the sessions under it,
    // no per-session alerts.
    set_state(
        &fake,
        &[65001, 65003, 65004],
        "Idle",
        Some("connection refused"),
    );
    wait_for("route server alert", || texts(&seen).len() >= 3).await;
    let t = texts(&seen);
    assert!(
        t[2].starts_with(
            "FIRING FoxRouteServerDown: route server rs1 is unreachable: 3 of 4 member sessions left Established"
        ),
        "{t:?}"
    );
    for m in ["GSN (AS65001", "NCHC (AS65003", "HINET (AS65004"] {
        assert!(t[2].contains(&format!("- session of member {m}")), "{t:?}");
    }
    tokio::time::sleep(poll * 5).await;
    assert_eq!(texts(&seen).len(), 3, "{:?}", texts(&seen));
    let a = engine.active();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].kind, AlertKind::RouteServerDown);
    assert_eq!(a[0].symptoms.len(), 3);
    set_state(&fake, &[65001, 65003, 65004], "Established", None);
    wait_for("route server resolved", || texts(&seen).len() >= 4).await;
    assert!(texts(&seen)[3].starts_with("RESOLVED FoxRouteServerDown"));

    // The API stops answering: after two failed polls one alert. Then the route server's
    // probe fails too: it joins that alert as a symptom, and its own alert is held back.
    fake.lock().unwrap().broken = true;
    wait_for("API down alert", || texts(&seen).len() >= 5).await;
    let t = texts(&seen);
    assert_eq!(
        t[4],
        format!("FIRING FoxRouteServerDown: route server rs1 is unreachable: its admin API at {api} does not answer (HTTP status 503)"),
    );
    for _ in 0..fox_collector::probe::DOWN_AFTER {
        probe.loss(0);
    }
    engine.evaluate(&probe);
    let a = engine.active();
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(a[0].summary.ends_with("; all 1 probes to it fail"), "{a:?}");
    assert_eq!(
        a[0].symptoms,
        vec!["probe rs1-v4 to 127.0.0.1:862 is down".to_owned()]
    );
    engine.evaluate(&probe);
    tokio::time::sleep(poll * 5).await;
    assert_eq!(texts(&seen).len(), 5, "{:?}", texts(&seen));
    // Both back: resolved once.
    fake.lock().unwrap().broken = false;
    probe.reply(0.001, 0);
    engine.evaluate(&probe);
    wait_for("resolved", || texts(&seen).len() >= 6).await;
    assert!(texts(&seen)[5].starts_with("RESOLVED FoxRouteServerDown"));
    tokio::time::sleep(poll * 5).await;
    assert_eq!(texts(&seen).len(), 6, "{:?}", texts(&seen));
    assert!(engine.active().is_empty());
    let _ = stop.send(Some("done".into()));
}
