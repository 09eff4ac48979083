//! Active probes: STAMP (RFC 8762) session-sender and session-reflector over UDP, and ICMP
//! echo, with per-probe loss, RTT and availability accounting.

pub mod availability;
pub mod icmp;
pub mod reflector;
pub mod sender;
pub mod stamp;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use fox_config::{ProbeSettings, SlaSettings};
use prometheus::Histogram;
use serde::Serialize;

pub use availability::{MinuteRing, WINDOWS};
pub use icmp::run_icmp_probe;
pub use reflector::{bind_reflector, reflect};
pub use sender::run_probe;

/// Runs `probe` with the sender of its kind (STAMP or ICMP echo) until `shutdown` changes.
pub async fn run(
    probe: std::sync::Arc<Probe>,
    alerts: Option<std::sync::Arc<crate::alert::AlertEngine>>,
    shutdown: tokio::sync::watch::Receiver<Option<String>>,
) {
    match probe.settings.kind {
        fox_config::ProbeKind::Stamp => run_probe(probe, alerts, shutdown).await,
        fox_config::ProbeKind::Icmp => run_icmp_probe(probe, alerts, shutdown).await,
    }
}

/// Consecutive lost packets after which a probe is down.
pub const DOWN_AFTER: u32 = 3;
/// Results kept for the recent RTT and loss figures the alerts look at.
pub const RECENT: usize = 100;
/// Fewest results in the recent window before loss is judged.
pub const MIN_FOR_LOSS: usize = 10;

/// Counters and recent results of one probe.
#[derive(Debug, Default)]
pub struct ProbeState {
    /// Test packets sent.
    pub sent: u64,
    /// Reflected packets received in time.
    pub received: u64,
    /// Test packets not reflected within the timeout.
    pub lost: u64,
    /// Reflections that came after their timeout or were duplicates (not counted as received).
    pub late: u64,
    /// Sum of all measured RTTs in seconds.
    pub rtt_sum: f64,
    /// Last RTT in seconds.
    pub last_rtt: Option<f64>,
    /// Lost packets in a row, in the order they were sent, after the newest packet that
    /// was answered.
    pub consecutive_lost: u32,
    /// When the newest answered packet was sent.
    pub newest_reply: Option<Instant>,
    /// When the first packet of the current loss streak was sent.
    pub streak_from: Option<Instant>,
    /// Last results, newest at the back: `Some(rtt)` or `None` for a loss.
    pub recent: VecDeque<Option<f64>>,
    /// Per-minute results for availability.
    pub minutes: MinuteRing,
    /// Learned RTT band with its daily profile.
    pub rtt_baseline: crate::baseline::RttBaseline,
}

impl ProbeState {
    /// Records a reply with `rtt` seconds at unix time `now` to the packet sent last.
    pub fn reply(&mut self, rtt: f64, now: u64) {
        self.reply_sent(Instant::now(), rtt, now);
    }

    /// Records a reply with `rtt` seconds at unix time `now` to the packet sent at `sent`.
    pub fn reply_sent(&mut self, sent: Instant, rtt: f64, now: u64) {
        self.received += 1;
        self.rtt_sum += rtt;
        self.last_rtt = Some(rtt);
        if self.newest_reply.is_none_or(|n| sent >= n) {
            self.newest_reply = Some(sent);
        }
        // A reply to a packet sent before the streak began does not end it.
        if self.streak_from.is_none_or(|f| sent >= f) {
            self.consecutive_lost = 0;
            self.streak_from = None;
        }
        self.push(Some(rtt));
        self.minutes.record(now, true);
        self.rtt_baseline.observe(rtt, now);
    }

    /// Records a loss at unix time `now` (of a packet sent after the last reply).
    pub fn loss(&mut self, now: u64) {
        self.lost += 1;
        self.consecutive_lost = self.consecutive_lost.saturating_add(1);
        self.push(None);
        self.minutes.record(now, false);
    }

    /// Records the loss, at unix time `now`, of the packet sent at `sent`. A packet sent
    /// before the newest answered one does not make the probe down: when a target comes
    /// back, packets sent during the outage expire after the first replies.
    pub fn loss_sent(&mut self, sent: Instant, now: u64) {
        if self.newest_reply.is_some_and(|n| sent < n) {
            self.lost += 1;
            self.push(None);
            self.minutes.record(now, false);
        } else {
            if self.consecutive_lost == 0 {
                self.streak_from = Some(sent);
            }
            self.loss(now);
        }
    }

    fn push(&mut self, r: Option<f64>) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r);
    }

    /// Down: the last `DOWN_AFTER` packets were lost.
    pub fn down(&self) -> bool {
        self.consecutive_lost >= DOWN_AFTER
    }

    /// Up: answered at least once and not down.
    pub fn up(&self) -> bool {
        self.received > 0 && !self.down()
    }

    /// Mean RTT of the recent replies, seconds.
    pub fn recent_rtt(&self) -> Option<f64> {
        let (n, sum) = self
            .recent
            .iter()
            .flatten()
            .fold((0u32, 0.0), |(n, s), r| (n + 1, s + r));
        (n > 0).then(|| sum / f64::from(n))
    }

    /// Loss ratio of the recent results, once there are enough of them.
    pub fn recent_loss(&self) -> Option<f64> {
        if self.recent.len() < MIN_FOR_LOSS {
            return None;
        }
        let lost = self.recent.iter().filter(|r| r.is_none()).count();
        Some(lost as f64 / self.recent.len() as f64)
    }

    /// Loss ratio since the start.
    pub fn loss_ratio(&self) -> Option<f64> {
        let done = self.received + self.lost;
        (done > 0).then(|| self.lost as f64 / done as f64)
    }

    /// Mean RTT since the start, seconds.
    pub fn mean_rtt(&self) -> Option<f64> {
        (self.received > 0).then(|| self.rtt_sum / self.received as f64)
    }
}

/// One configured probe and its state, shared by its sender task, metrics and the API.
#[derive(Debug)]
pub struct Probe {
    /// Probe name.
    pub name: String,
    /// Reflector address.
    pub target: SocketAddr,
    /// Sending settings.
    pub settings: ProbeSettings,
    state: Mutex<ProbeState>,
    rtt_histogram: Option<Histogram>,
    history: OnceLock<fox_history::HistoryHandle>,
}

/// Availability in one window.
#[derive(Clone, Debug, Serialize)]
pub struct WindowFigure {
    /// Window name (`1h`, `1d`, `30d`).
    pub window: &'static str,
    /// Ratio of minutes with at least one reply among minutes with results.
    pub ratio: Option<f64>,
    /// Minutes with results in the window.
    pub minutes: u32,
}

impl Probe {
    /// A probe for `settings`; RTTs are also observed into `rtt_histogram`.
    pub fn new(settings: ProbeSettings, rtt_histogram: Option<Histogram>) -> Self {
        Probe {
            name: settings.name.clone(),
            target: settings.target,
            settings,
            state: Mutex::new(ProbeState::default()),
            rtt_histogram,
            history: OnceLock::new(),
        }
    }

    /// The state, locked (a poisoned lock is recovered: the state is counters only).
    pub fn state(&self) -> MutexGuard<'_, ProbeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The target as configured: `addr:port` for STAMP, the address for ICMP.
    pub fn target_text(&self) -> String {
        match self.settings.kind {
            fox_config::ProbeKind::Icmp => self.target.ip().to_string(),
            fox_config::ProbeKind::Stamp => self.target.to_string(),
        }
    }

    /// Records a reply to the packet sent last.
    pub fn reply(&self, rtt: f64, now: u64) {
        self.reply_sent(Instant::now(), rtt, now);
    }

    /// Records a reply to the packet sent at `sent`.
    pub fn reply_sent(&self, sent: Instant, rtt: f64, now: u64) {
        if let Some(h) = &self.rtt_histogram {
            h.observe(rtt);
        }
        self.state().reply_sent(sent, rtt, now);
        if let Some(h) = self.history.get() {
            let us = (rtt * 1e6).round().clamp(0.0, f64::from(u32::MAX)) as u32;
            let ts = i64::try_from(now).unwrap_or(i64::MAX);
            h.record(|b| b.add_probe_result(&self.name, ts, Some(us)));
        }
    }

    /// Records a lost test packet (sent after the last reply).
    pub fn loss(&self, now: u64) {
        self.state().loss(now);
        self.record_loss(now);
    }

    /// Records the loss of the test packet sent at `sent`.
    pub fn loss_sent(&self, sent: Instant, now: u64) {
        self.state().loss_sent(sent, now);
        self.record_loss(now);
    }

    fn record_loss(&self, now: u64) {
        if let Some(h) = self.history.get() {
            let ts = i64::try_from(now).unwrap_or(i64::MAX);
            h.record(|b| b.add_probe_result(&self.name, ts, None));
        }
    }

    /// Judges this probe's RTT against a baseline learned with `settings` (from now on).
    pub fn set_rtt_baseline(&self, settings: &fox_config::BaselineSettings) {
        self.state().rtt_baseline = crate::baseline::RttBaseline::new(settings.clone());
    }

    /// Records every later result in the history store too (set once).
    pub fn set_history(&self, handle: fox_history::HistoryHandle) {
        let _ = self.history.set(handle);
    }

    /// Availability in each of `WINDOWS` at unix time `now`.
    pub fn availability(&self, now: u64) -> Vec<WindowFigure> {
        let st = self.state();
        WINDOWS
            .iter()
            .map(|&(window, minutes)| {
                let (up, with_data) = st.minutes.window(now, minutes);
                WindowFigure {
                    window,
                    ratio: (with_data > 0).then(|| f64::from(up) / f64::from(with_data)),
                    minutes: with_data,
                }
            })
            .collect()
    }

    /// The API view of this probe, judged against `sla`, at unix time `now`.
    pub fn report(&self, sla: &SlaSettings, now: u64) -> serde_json::Value {
        let windows = self.availability(now);
        let st = self.state();
        let target_rtt = sla.rtt.as_secs_f64();
        let rtt_met = st.mean_rtt().map(|r| r <= target_rtt);
        let loss_met = st.loss_ratio().map(|l| l * 100.0 <= sla.loss_percent());
        let avail = windows
            .iter()
            .rev()
            .find_map(|w| w.ratio.map(|r| (w.window, r)));
        let availability_met = avail.map(|(_, r)| r * 100.0 >= sla.availability_percent());
        let met = [rtt_met, loss_met, availability_met]
            .iter()
            .flatten()
            .all(|m| *m);
        serde_json::json!({
            "probe": self.name,
            "target": self.target_text(),
            "kind": match self.settings.kind {
                fox_config::ProbeKind::Icmp => "icmp",
                fox_config::ProbeKind::Stamp => "stamp",
            },
            "up": st.up(),
            "sent": st.sent,
            "received": st.received,
            "lost": st.lost,
            "late": st.late,
            "loss_ratio": st.loss_ratio(),
            "rtt_seconds": { "last": st.last_rtt, "mean": st.mean_rtt(), "recent_mean": st.recent_rtt() },
            "availability": windows,
            "sla": {
                "rtt_met": rtt_met,
                "loss_met": loss_met,
                "availability_met": availability_met,
                "availability_window": avail.map(|a| a.0),
                "met": met,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The other flap of the correlation test: when a site came back, its probes' first
    /// replies made them up, then the packets sent during the outage expired one after the
    /// other, made three losses "in a row" and the probes down again: the site alert
    /// resolved, fired again and resolved.
    #[test]
    fn losses_of_packets_older_than_the_newest_reply_do_not_make_a_probe_down() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut st = ProbeState::default();
        // Outage: three packets lost, down.
        for ms in [0, 20, 40] {
            st.loss_sent(at(ms), 1);
        }
        assert!(st.down());
        // Back: the packet sent at 100 ms is answered; those of 60 and 80 ms (sent into
        // the outage) expire after that.
        st.reply_sent(at(100), 0.001, 2);
        st.loss_sent(at(60), 2);
        st.loss_sent(at(80), 2);
        st.loss_sent(at(90), 2);
        assert!(st.up(), "{} in a row", st.consecutive_lost);
        assert_eq!((st.lost, st.received), (6, 1));
        // They are still losses for the loss ratio and availability.
        assert_eq!(st.recent.iter().filter(|r| r.is_none()).count(), 6);
        // Packets sent after the newest reply count: three of them and it is down.
        for ms in [120, 140] {
            st.loss_sent(at(ms), 3);
        }
        assert!(st.up());
        st.loss_sent(at(160), 3);
        assert!(st.down());
        // A reply to an older packet arriving late does not end a newer streak.
        st.reply_sent(at(110), 0.001, 3);
        assert!(st.down());
        st.reply_sent(at(180), 0.001, 3);
        assert!(st.up());
    }
}
