//! What one interval collected, aggregated in memory: written in one transaction.

use std::collections::HashMap;

use crate::model::{AlertEvent, PrefixRow, SessionEvent, Ts};

/// Start of the minute of `ts`.
pub fn minute_of(ts: Ts) -> Ts {
    ts.div_euclid(60) * 60
}

/// Start of the 5-minute slot of `ts`.
pub fn slot5_of(ts: Ts) -> Ts {
    ts.div_euclid(300) * 300
}

/// Start of the hour of `ts`.
pub fn hour_of(ts: Ts) -> Ts {
    ts.div_euclid(3600) * 3600
}

/// Counts of one member, minute and IP version: bytes in, bytes out, packets in, packets out.
pub(crate) type TrafficCounts = [u64; 4];

/// RTT samples and losses of one probe in one minute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProbeMinute {
    pub(crate) sent: u64,
    pub(crate) lost: u64,
    pub(crate) rtts_us: Vec<u32>,
}

/// Samples and events of one interval, aggregated per row of the store.
#[derive(Clone, Debug, Default)]
pub struct HistoryBatch {
    pub(crate) traffic: HashMap<(u32, Ts, u8), TrafficCounts>,
    pub(crate) matrix: HashMap<(Ts, u32, u32), [u64; 2]>,
    pub(crate) probes: HashMap<(String, Ts), ProbeMinute>,
    pub(crate) sessions: Vec<SessionEvent>,
    pub(crate) alerts_raised: Vec<AlertEvent>,
    pub(crate) alerts_resolved: Vec<(String, Ts)>,
    pub(crate) prefixes: Vec<PrefixRow>,
    pub(crate) hygiene: HashMap<(u32, Ts, String), crate::hygiene::HygieneAcc>,
    pub(crate) samples: u64,
}

impl HistoryBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds traffic of member `asn` over IP version `ipv` (4 or 6) in the minute of `ts`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_traffic(
        &mut self,
        asn: u32,
        ipv: u8,
        ts: Ts,
        bytes_in: u64,
        bytes_out: u64,
        packets_in: u64,
        packets_out: u64,
    ) {
        if bytes_in == 0 && bytes_out == 0 && packets_in == 0 && packets_out == 0 {
            return;
        }
        let c = self.traffic.entry((asn, minute_of(ts), ipv)).or_default();
        for (v, d) in c
            .iter_mut()
            .zip([bytes_in, bytes_out, packets_in, packets_out])
        {
            *v = v.saturating_add(d);
        }
        self.samples += 1;
    }

    /// Adds traffic from member `src` to member `dst` in the 5-minute slot of `ts`.
    pub fn add_pair(&mut self, src: u32, dst: u32, ts: Ts, bytes: u64, packets: u64) {
        if bytes == 0 && packets == 0 {
            return;
        }
        let c = self.matrix.entry((slot5_of(ts), src, dst)).or_default();
        c[0] = c[0].saturating_add(bytes);
        c[1] = c[1].saturating_add(packets);
        self.samples += 1;
    }

    /// Counts one test packet of `probe` sent at `ts`: its RTT in µs, or `None` if lost.
    pub fn add_probe_result(&mut self, probe: &str, ts: Ts, rtt_us: Option<u32>) {
        let key = (probe.to_owned(), minute_of(ts));
        let m = self.probes.entry(key).or_default();
        m.sent += 1;
        match rtt_us {
            Some(r) => m.rtts_us.push(r),
            None => m.lost += 1,
        }
        self.samples += 1;
    }

    /// Records a session going up or down.
    pub fn session_event(&mut self, event: SessionEvent) {
        self.sessions.push(event);
        self.samples += 1;
    }

    /// Records an alert being raised (a second raise of the same id updates its texts).
    pub fn alert_raised(&mut self, event: AlertEvent) {
        self.alerts_raised.push(event);
        self.samples += 1;
    }

    /// Records the alert `id` as resolved at `ts`.
    pub fn alert_resolved(&mut self, id: &str, ts: Ts) {
        self.alerts_resolved.push((id.to_owned(), ts));
        self.samples += 1;
    }

    /// Records the prefix counts of a member on a route server; the last of an hour is kept.
    pub fn prefix_counts(&mut self, mut row: PrefixRow) {
        row.ts = hour_of(row.ts);
        self.prefixes.push(row);
        self.samples += 1;
    }

    /// Samples and events added since the batch was made.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.traffic.is_empty()
            && self.matrix.is_empty()
            && self.probes.is_empty()
            && self.sessions.is_empty()
            && self.alerts_raised.is_empty()
            && self.alerts_resolved.is_empty()
            && self.prefixes.is_empty()
            && self.hygiene.is_empty()
    }

    /// Takes everything out except probe minutes still running at `now` (their median and
    /// p95 need the whole minute); those stay for the next batch.
    pub fn take_ready(&mut self, now: Ts) -> HistoryBatch {
        let mut out = std::mem::take(self);
        let current = minute_of(now);
        let (keep, ready): (HashMap<_, _>, HashMap<_, _>) =
            out.probes.drain().partition(|((_, ts), _)| *ts >= current);
        out.probes = ready;
        let kept: u64 = keep.values().map(|m| m.sent).sum();
        self.probes = keep;
        self.samples = kept;
        out.samples = out.samples.saturating_sub(kept);
        out
    }
}
