//! Alerts on probe results: static thresholds (RTT over target, loss over target, probe
//! down) raised and resolved once each (de-duplicated), delivered to webhooks and
//! Alertmanager with retry.

pub mod deliver;
pub mod http;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use fox_config::{AlertTargets, SlaSettings};
use serde::Serialize;

pub use deliver::{Notifier, RetryPolicy};

use crate::probe::Probe;

/// How often firing alerts are re-sent to Alertmanager (well under its default 5 m
/// `resolve_timeout`).
pub const RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Recent mean RTT above the SLA target.
    RttHigh,
    /// Recent loss above the SLA target.
    LossHigh,
    /// The last packets were all lost.
    ProbeDown,
}

impl AlertKind {
    /// The Alertmanager `alertname`.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::RttHigh => "FoxProbeRttHigh",
            AlertKind::LossHigh => "FoxProbeLossHigh",
            AlertKind::ProbeDown => "FoxProbeDown",
        }
    }
}

/// One alert, firing (`ends_at` is `None`) or resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The probe it is about.
    pub probe: String,
    /// What is wrong.
    pub kind: AlertKind,
    /// One line for people.
    pub summary: String,
    /// When it was raised.
    pub starts_at: SystemTime,
    /// When it was resolved.
    pub ends_at: Option<SystemTime>,
}

impl Alert {
    /// Whether it is resolved.
    pub fn resolved(&self) -> bool {
        self.ends_at.is_some()
    }
}

/// Judges probes against the SLA and notifies on changes only.
pub struct AlertEngine {
    sla: SlaSettings,
    active: Mutex<HashMap<(String, AlertKind), Alert>>,
    notifier: Notifier,
    history: OnceLock<fox_history::HistoryHandle>,
}

impl AlertEngine {
    /// An engine judging against `sla`, delivering through `notifier`.
    pub fn new(sla: SlaSettings, notifier: Notifier) -> Self {
        AlertEngine {
            sla,
            active: Mutex::new(HashMap::new()),
            notifier,
            history: OnceLock::new(),
        }
    }

    /// An engine delivering to `targets` with the default retry policy (needs a runtime).
    pub fn from_config(sla: SlaSettings, targets: &AlertTargets) -> Self {
        Self::new(sla, Notifier::spawn(targets, RetryPolicy::default()))
    }

    /// Records every later raise and resolve in the history store too (set once).
    pub fn set_history(&self, handle: fox_history::HistoryHandle) {
        let _ = self.history.set(handle);
    }

    /// Alerts firing now.
    pub fn active(&self) -> Vec<Alert> {
        let a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Alert> = a.values().cloned().collect();
        v.sort_by(|x, y| (&x.probe, x.kind.name()).cmp(&(&y.probe, y.kind.name())));
        v
    }

    /// Sends every firing alert to Alertmanager again (call every `RESEND_INTERVAL`).
    pub fn resend_active(&self) {
        for a in self.active() {
            self.notifier.resend(&a);
        }
    }

    /// Evaluates every threshold for `probe`; raises or resolves what changed.
    pub fn evaluate(&self, probe: &Probe) {
        let (down, rtt, loss) = {
            let st = probe.state();
            (st.down(), st.recent_rtt(), st.recent_loss())
        };
        let rtt_target = self.sla.rtt.as_secs_f64();
        let loss_target = self.sla.loss_percent();
        let checks = [
            (
                AlertKind::ProbeDown,
                down,
                format!(
                    "probe {} to {} is down: the last {} test packets were lost",
                    probe.name,
                    probe.target,
                    crate::probe::DOWN_AFTER
                ),
            ),
            (
                AlertKind::RttHigh,
                !down && rtt.is_some_and(|r| r > rtt_target),
                format!(
                    "probe {}: RTT {:.3} ms is over the target of {:.3} ms",
                    probe.name,
                    rtt.unwrap_or_default() * 1000.0,
                    rtt_target * 1000.0
                ),
            ),
            (
                AlertKind::LossHigh,
                loss.is_some_and(|l| l * 100.0 > loss_target),
                format!(
                    "probe {}: loss {:.2}% is over the target of {:.2}%",
                    probe.name,
                    loss.unwrap_or_default() * 100.0,
                    loss_target
                ),
            ),
        ];
        for (kind, firing, summary) in checks {
            self.set(&probe.name, kind, firing, summary);
        }
    }

    fn set(&self, probe: &str, kind: AlertKind, firing: bool, summary: String) {
        let key = (probe.to_owned(), kind);
        let change = {
            let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            match (firing, a.contains_key(&key)) {
                (true, false) => {
                    let alert = Alert {
                        probe: probe.to_owned(),
                        kind,
                        summary,
                        starts_at: SystemTime::now(),
                        ends_at: None,
                    };
                    a.insert(key, alert.clone());
                    Some(alert)
                }
                (false, true) => a.remove(&key).map(|mut alert| {
                    alert.ends_at = Some(SystemTime::now());
                    alert
                }),
                _ => None,
            }
        };
        if let Some(alert) = change {
            tracing::info!(
                probe = %alert.probe,
                alert = alert.kind.name(),
                resolved = alert.resolved(),
                summary = %alert.summary,
                "alert"
            );
            self.notifier.send(&alert);
            if let Some(h) = self.history.get() {
                record(h, &alert);
            }
        }
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The history id of an alert: stable from raise to resolve.
pub fn history_id(alert: &Alert) -> String {
    format!(
        "{}/{}/{}",
        alert.kind.name(),
        alert.probe,
        unix(alert.starts_at)
    )
}

/// Records a raise or a resolve of `alert` in the history store.
fn record(h: &fox_history::HistoryHandle, alert: &Alert) {
    let id = history_id(alert);
    match alert.ends_at {
        None => {
            let severity = match alert.kind {
                AlertKind::ProbeDown => "critical",
                AlertKind::RttHigh | AlertKind::LossHigh => "warning",
            };
            let event = fox_history::AlertEvent {
                id,
                raised: unix(alert.starts_at),
                resolved: None,
                severity: severity.to_owned(),
                cause: format!("{} on probe {}", alert.kind.name(), alert.probe),
                symptoms: alert.summary.clone(),
            };
            h.record(|b| b.alert_raised(event));
        }
        Some(end) => h.record(|b| b.alert_resolved(&id, unix(end))),
    }
}
