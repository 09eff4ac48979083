//! Per-probe RTT baselines and the availability threshold through the probe result path
//! (`Probe::reply` / `Probe::loss`, as the STAMP and ICMP senders call them) with a fake
//! clock, judged by the real alert engine.

use std::sync::Arc;

use fox_collector::alert::{AlertEngine, AlertKind, Notifier};
use fox_collector::probe::Probe;
use fox_config::{BaselineSettings, ProbeSettings, SlaSettings};

/// Monday 2026-11-23 00:00 UTC.
const DAY0: u64 = 1_795_392_000;

fn probe() -> Arc<Probe> {
    let p = Arc::new(Probe::new(
        ProbeSettings::stamp("a-b", "127.0.0.1:862".parse().expect("address")),
        None,
    ));
    p.set_rtt_baseline(&BaselineSettings {
        warmup: 20,
        rtt_k: 4.0,
        rtt_min_band_ms: 0.5,
        rtt_after: 3,
        ..BaselineSettings::default()
    });
    p
}

fn kinds(e: &AlertEngine) -> Vec<AlertKind> {
    e.active().into_iter().map(|a| a.kind).collect()
}

/// Jitter of ±0.1 ms that repeats.
fn jitter(i: u64) -> f64 {
    [0.0, 0.0001, -0.0001, 0.00005][(i % 4) as usize]
}

#[tokio::test]
async fn rtt_leaving_its_hourly_band_alerts_under_the_static_target() {
    let sla = SlaSettings::default();
    assert!(
        sla.rtt.as_secs_f64() > 0.008,
        "the static target is above the test RTTs"
    );
    let engine = AlertEngine::new(sla, Notifier::default());
    let p = probe();
    // Three days: 2 ms at night (03:00), 6 ms in the evening peak (20:00), a reply every 10 s
    // for 10 minutes in each of those hours.
    for day in 0..3u64 {
        for (hour, rtt) in [(3u64, 0.002), (20, 0.006)] {
            for i in 0..60u64 {
                let now = DAY0 + day * 86_400 + hour * 3600 + i * 10;
                p.reply(rtt + jitter(i), now);
                engine.evaluate_at(&p, now);
            }
        }
    }
    assert!(kinds(&engine).is_empty(), "{:?}", engine.active());
    assert_eq!(p.state().rtt_baseline.learned(), 360);

    // Day 4, 03:00: the evening RTT at night, 6 ms, far under the 12 ms target.
    let night = DAY0 + 3 * 86_400 + 3 * 3600;
    for i in 0..2u64 {
        p.reply(0.006, night + i * 10);
        engine.evaluate_at(&p, night + i * 10);
    }
    assert!(
        kinds(&engine).is_empty(),
        "two replies are not yet an anomaly"
    );
    p.reply(0.006, night + 20);
    engine.evaluate_at(&p, night + 20);
    let active = engine.active();
    assert_eq!(kinds(&engine), vec![AlertKind::RttAnomaly], "{active:?}");
    assert!(
        active[0].summary.contains("6.000 ms above its usual band"),
        "{}",
        active[0].summary
    );
    assert!(!kinds(&engine).contains(&AlertKind::RttHigh));
    // Still anomalous: one alert, not more.
    p.reply(0.0061, night + 30);
    engine.evaluate_at(&p, night + 30);
    assert_eq!(engine.active().len(), 1);
    // Back to normal: resolved.
    p.reply(0.002, night + 40);
    engine.evaluate_at(&p, night + 40);
    assert!(kinds(&engine).is_empty(), "{:?}", engine.active());

    // 6 ms at 20:00 is that hour's normal.
    let evening = DAY0 + 3 * 86_400 + 20 * 3600;
    for i in 0..10u64 {
        p.reply(0.006 + jitter(i), evening + i * 10);
        engine.evaluate_at(&p, evening + i * 10);
    }
    assert!(kinds(&engine).is_empty(), "{:?}", engine.active());
    // A drop far under the evening band is an anomaly too.
    for i in 10..13u64 {
        p.reply(0.001, evening + i * 10);
        engine.evaluate_at(&p, evening + i * 10);
    }
    let a = engine.active();
    assert_eq!(kinds(&engine), vec![AlertKind::RttAnomaly]);
    assert!(a[0].summary.contains("below"), "{}", a[0].summary);
}

#[tokio::test]
async fn availability_under_target_alerts_and_resolves() {
    let sla = SlaSettings {
        availability_ppm: 999_000,
        ..SlaSettings::default()
    };
    assert!((sla.availability_percent() - 99.9).abs() < 1e-9);
    let engine = AlertEngine::new(sla, Notifier::default());
    let p = probe();
    let mut now = DAY0;
    // 30 minutes answered, a reply every 20 s.
    for _ in 0..90 {
        p.reply(0.002, now);
        engine.evaluate_at(&p, now);
        now += 20;
    }
    assert!(kinds(&engine).is_empty(), "{:?}", engine.active());
    // One minute without replies.
    for _ in 0..3 {
        p.loss(now);
        engine.evaluate_at(&p, now);
        now += 20;
    }
    let active = engine.active();
    let low = active
        .iter()
        .find(|a| a.kind == AlertKind::AvailabilityLow)
        .expect("availability alert");
    // 30 of 31 minutes: 96.774 % over the 1 h window (the worst window is named).
    assert!(low.summary.contains("96.774% over 1h"), "{}", low.summary);
    // Answering again: the probe is up, the 1 h and then the 1 d window recover. One bad
    // minute among N is at least 99.9 % from N = 1000 minutes on.
    let bad_minute = (now - 20) / 60;
    let mut resolved_at = None;
    for _ in 0..(1100 * 3) {
        p.reply(0.002, now);
        engine.evaluate_at(&p, now);
        if !kinds(&engine).contains(&AlertKind::AvailabilityLow) {
            resolved_at = Some(now);
            break;
        }
        now += 20;
    }
    let at = resolved_at.expect("resolved within 1100 minutes");
    let minutes_with_data = at / 60 - DAY0 / 60 + 1;
    assert!(
        (995..=1005).contains(&minutes_with_data),
        "resolved after {minutes_with_data} minutes with data (bad minute {bad_minute})"
    );
    assert!(kinds(&engine).is_empty(), "{:?}", engine.active());
}
