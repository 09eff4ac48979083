//! Alerts on probe results: static thresholds (RTT over target, loss over target, probe
//! down) raised and resolved once each (de-duplicated), delivered to webhooks and
//! Alertmanager with retry. Probes tagged with a site, link or route server are correlated
//! first (one alert per cause, see `correlate`); traffic baselines add surge and drop
//! alerts (see `crate::baseline`).

pub mod correlate;
pub mod deliver;
pub mod http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use fox_config::{AlertTargets, SlaSettings};
use serde::Serialize;

pub use deliver::{Notifier, RetryPolicy};

use crate::probe::Probe;

/// How often firing alerts are re-sent to Alertmanager (well under its default 5 m
/// `resolve_timeout`).
pub const RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// SLA windows judged by the availability alert (the 30 d one is for the monthly report).
pub const AVAILABILITY_WINDOWS: [&str; 2] = ["1h", "1d"];
/// The correlated alert kinds, raised from a view over all tagged probes.
pub const GROUP_KINDS: [AlertKind; 4] = [
    AlertKind::SiteUnreachable,
    AlertKind::LinkDown,
    AlertKind::RouteServerDown,
    AlertKind::MemberSessionDown,
];
/// Minutes with results a window needs before its availability is judged.
pub const MIN_AVAILABILITY_MINUTES: u32 = 10;

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
    /// Every probe to one site fails (correlated).
    SiteUnreachable,
    /// Every probe across one fabric link fails while its sites answer otherwise (correlated).
    LinkDown,
    /// Every probe to one route server fails (correlated).
    RouteServerDown,
    /// Traffic far above its baseline (possible DDoS).
    TrafficSurge,
    /// A normally busy member's traffic fell to almost nothing.
    TrafficDrop,
    /// A probe's RTT left the band learned for this hour of the day.
    RttAnomaly,
    /// Availability over the 1 h or 1 d window under the SLA target.
    AvailabilityLow,
    /// A member's session on a route server left Established (from the route server's API).
    MemberSessionDown,
}

impl AlertKind {
    /// The Alertmanager `alertname`.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::RttHigh => "FoxProbeRttHigh",
            AlertKind::LossHigh => "FoxProbeLossHigh",
            AlertKind::ProbeDown => "FoxProbeDown",
            AlertKind::SiteUnreachable => "FoxSiteUnreachable",
            AlertKind::LinkDown => "FoxLinkDown",
            AlertKind::RouteServerDown => "FoxRouteServerDown",
            AlertKind::TrafficSurge => "FoxTrafficSurge",
            AlertKind::TrafficDrop => "FoxTrafficDrop",
            AlertKind::RttAnomaly => "FoxProbeRttAnomaly",
            AlertKind::AvailabilityLow => "FoxProbeAvailabilityLow",
            AlertKind::MemberSessionDown => "FoxMemberSessionDown",
        }
    }

    /// The Alertmanager label that carries the subject.
    pub fn subject_label(self) -> &'static str {
        match self {
            AlertKind::RttHigh
            | AlertKind::LossHigh
            | AlertKind::ProbeDown
            | AlertKind::RttAnomaly
            | AlertKind::AvailabilityLow => "probe",
            AlertKind::SiteUnreachable => "site",
            AlertKind::LinkDown => "link",
            AlertKind::RouteServerDown => "route_server",
            AlertKind::TrafficSurge | AlertKind::TrafficDrop => "traffic",
            AlertKind::MemberSessionDown => "session",
        }
    }

    /// Whether it needs someone now.
    pub fn critical(self) -> bool {
        !matches!(
            self,
            AlertKind::RttHigh
                | AlertKind::LossHigh
                | AlertKind::TrafficDrop
                | AlertKind::RttAnomaly
                | AlertKind::AvailabilityLow
                | AlertKind::MemberSessionDown
        )
    }
}

/// A condition found by a detector: firing while it is reported, resolved when not.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What it is about (member, `src -> dst` pair, site, ...).
    pub subject: String,
    /// What is wrong.
    pub kind: AlertKind,
    /// One line for people.
    pub summary: String,
    /// What was observed under it.
    pub symptoms: Vec<String>,
}

/// One alert, firing (`ends_at` is `None`) or resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// What it is about: a probe, or for a correlated alert the site, link or route server,
    /// for a traffic alert the member or member pair.
    pub subject: String,
    /// What is wrong.
    pub kind: AlertKind,
    /// One line for people.
    pub summary: String,
    /// The observations it stands for (failed probes of a site, top destinations of a surge).
    pub symptoms: Vec<String>,
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
    correlator: Mutex<correlate::Correlator>,
    history: OnceLock<fox_history::HistoryHandle>,
}

impl AlertEngine {
    /// An engine judging against `sla`, delivering through `notifier`.
    pub fn new(sla: SlaSettings, notifier: Notifier) -> Self {
        AlertEngine {
            sla,
            active: Mutex::new(HashMap::new()),
            notifier,
            correlator: Mutex::new(correlate::Correlator::new(correlate::DEFAULT_HOLD)),
            history: OnceLock::new(),
        }
    }

    /// Sets how long alerts of tagged probes wait for a common cause before going out alone.
    pub fn set_hold(&self, hold: std::time::Duration) {
        self.lock_correlator().hold = hold;
    }

    fn lock_correlator(&self) -> std::sync::MutexGuard<'_, correlate::Correlator> {
        self.correlator.lock().unwrap_or_else(|p| p.into_inner())
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
        v.sort_by(|x, y| (&x.subject, x.kind.name()).cmp(&(&y.subject, y.kind.name())));
        v
    }

    /// Sends every firing alert to Alertmanager again (call every `RESEND_INTERVAL`).
    pub fn resend_active(&self) {
        for a in self.active() {
            self.notifier.resend(&a);
        }
    }

    /// Raises every finding of `kinds` in `firing` and resolves the active alerts of those
    /// kinds that are no longer in it.
    pub fn reconcile(&self, kinds: &[AlertKind], firing: Vec<Finding>) {
        let gone: Vec<(String, AlertKind)> = {
            let a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            a.keys()
                .filter(|(s, k)| {
                    kinds.contains(k) && !firing.iter().any(|f| f.kind == *k && &f.subject == s)
                })
                .cloned()
                .collect()
        };
        for (subject, kind) in gone {
            self.set(&subject, kind, false, String::new(), Vec::new());
        }
        for f in firing {
            if kinds.contains(&f.kind) {
                self.set(&f.subject, f.kind, true, f.summary, f.symptoms);
            }
        }
    }

    /// Evaluates every threshold for `probe`; raises or resolves what changed. A probe with
    /// tags is correlated with the other tagged probes evaluated so far: when all probes of
    /// its site, link or route server fail, one alert names that cause and lists the probes
    /// as symptoms; its own alerts wait `hold` for such a cause before they go out.
    pub fn evaluate(&self, probe: &Arc<Probe>) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.evaluate_at(probe, now);
    }

    /// `evaluate` at unix time `now` (seconds; the availability windows end there).
    pub fn evaluate_at(&self, probe: &Arc<Probe>, now: u64) {
        let (down, rtt, loss, anomaly) = {
            let st = probe.state();
            (
                st.down(),
                st.recent_rtt(),
                st.recent_loss(),
                st.rtt_baseline.anomaly(),
            )
        };
        let avail_target = self.sla.availability_percent();
        let low_avail = probe
            .availability(now)
            .into_iter()
            .filter(|w| {
                AVAILABILITY_WINDOWS.contains(&w.window) && w.minutes >= MIN_AVAILABILITY_MINUTES
            })
            .filter_map(|w| w.ratio.map(|r| (w.window, r * 100.0)))
            .filter(|(_, pct)| *pct < avail_target)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let rtt_target = self.sla.rtt.as_secs_f64();
        let loss_target = self.sla.loss_percent();
        let checks = [
            (
                AlertKind::ProbeDown,
                down,
                format!(
                    "probe {} to {} is down: the last {} test packets were lost",
                    probe.name,
                    probe.target_text(),
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
            (
                AlertKind::RttAnomaly,
                !down && anomaly.is_some(),
                format!(
                    "probe {}: {}",
                    probe.name,
                    anomaly.map(|a| a.describe()).unwrap_or_default()
                ),
            ),
            (
                AlertKind::AvailabilityLow,
                low_avail.is_some(),
                format!(
                    "probe {}: availability {:.3}% over {} is under the target of {:.3}%",
                    probe.name,
                    low_avail.map_or(0.0, |a| a.1),
                    low_avail.map_or("", |a| a.0),
                    avail_target
                ),
            ),
        ];
        if !probe.settings.tags.any() {
            for (kind, firing, summary) in checks {
                self.set(&probe.name, kind, firing, summary, Vec::new());
            }
            return;
        }
        let (groups, decisions) = self.correlate(probe, &checks);
        self.apply_groups(groups);
        for ((kind, _, summary), fire) in checks.into_iter().zip(decisions) {
            self.set(&probe.name, kind, fire, summary, Vec::new());
        }
    }

    /// Registers `probe` with the correlator and takes a view of the group alerts as they
    /// stand now, with the decisions on the probe's own `checks`.
    pub fn correlate(
        &self,
        probe: &Arc<Probe>,
        checks: &[(AlertKind, bool, String)],
    ) -> (correlate::Groups, Vec<bool>) {
        let mut c = self.lock_correlator();
        c.register(probe);
        let groups = c.groups();
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let decisions = c.individual(probe, &groups, checks, Instant::now(), |k| {
            active.contains_key(&(probe.name.clone(), k))
        });
        (groups, decisions)
    }

    /// Raises and resolves the group alerts (site, link, route server) as `groups` has
    /// them, unless a newer view was applied already: between taking a view and applying
    /// it another probe's task may have applied a later one, and the stale view would
    /// resolve what it raised (the alert then fires again at the next evaluation). The
    /// correlator stays locked while the alerts change, so views are applied in order.
    pub fn apply_groups(&self, groups: correlate::Groups) {
        let mut c = self.lock_correlator();
        if !c.newest(&groups) {
            return;
        }
        self.reconcile(&GROUP_KINDS, groups.firing);
        drop(c);
    }

    /// Takes one poll of route server `rs`'s member sessions (admin API at `api`) and
    /// raises or resolves the session and route-server alerts it changes.
    pub fn update_sessions(
        &self,
        rs: &str,
        api: &str,
        poll: Result<Vec<crate::sessions::Session>, String>,
    ) {
        let groups = {
            let mut c = self.lock_correlator();
            c.set_sessions(rs, api, poll);
            c.groups()
        };
        self.apply_groups(groups);
    }

    fn set(
        &self,
        subject: &str,
        kind: AlertKind,
        firing: bool,
        summary: String,
        symptoms: Vec<String>,
    ) {
        let key = (subject.to_owned(), kind);
        let change = {
            let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            match (firing, a.contains_key(&key)) {
                (true, false) => {
                    let alert = Alert {
                        subject: subject.to_owned(),
                        kind,
                        summary,
                        symptoms,
                        starts_at: SystemTime::now(),
                        ends_at: None,
                    };
                    a.insert(key, alert.clone());
                    Some(alert)
                }
                (true, true) => {
                    // Still firing: keep what it says current (no new notification).
                    if let Some(alert) = a.get_mut(&key) {
                        alert.summary = summary;
                        alert.symptoms = symptoms;
                    }
                    None
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
                subject = %alert.subject,
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
        alert.subject,
        unix(alert.starts_at)
    )
}

/// Records a raise or a resolve of `alert` in the history store.
fn record(h: &fox_history::HistoryHandle, alert: &Alert) {
    let id = history_id(alert);
    match alert.ends_at {
        None => {
            let severity = match alert.kind {
                AlertKind::ProbeDown
                | AlertKind::SiteUnreachable
                | AlertKind::LinkDown
                | AlertKind::RouteServerDown
                | AlertKind::TrafficSurge => "critical",
                AlertKind::RttHigh
                | AlertKind::LossHigh
                | AlertKind::TrafficDrop
                | AlertKind::RttAnomaly
                | AlertKind::AvailabilityLow
                | AlertKind::MemberSessionDown => "warning",
            };
            let mut symptoms = alert.summary.clone();
            for s in &alert.symptoms {
                symptoms.push_str("; ");
                symptoms.push_str(s);
            }
            let event = fox_history::AlertEvent {
                id,
                raised: unix(alert.starts_at),
                resolved: None,
                severity: severity.to_owned(),
                cause: format!("{} on {}", alert.kind.name(), alert.subject),
                symptoms,
            };
            h.record(|b| b.alert_raised(event));
        }
        Some(end) => h.record(|b| b.alert_resolved(&id, unix(end))),
    }
}
