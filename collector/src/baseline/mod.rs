//! Dynamic traffic baselines: per member (received and sent) and per member pair, the rate
//! of every interval is compared with what was learned, then learned itself if normal.
//!
//! The model is an exponentially weighted mean of the rate, kept overall and per hour of the
//! day (UTC), so a daily profile is learned: once an hour slot has seen a few intervals its
//! own mean is the expectation, before that the overall mean. Nothing is judged before
//! `warmup` intervals. An anomalous interval is not learned, so an attack does not become
//! the new normal.
//!
//! - Surge: rate above `surge_factor` times the baseline and at least `surge_min_bps` above
//!   it. A surge towards a member names the top destination addresses (/32, /128),
//!   protocols and ports and the sending members seen in the samples: a suspected DDoS the
//!   NOC can decide to blackhole.
//! - Drop: a member whose baseline is at least `busy_bps` falls under `drop_ratio` of it.

pub mod rtt;
pub mod seed;
pub mod talkers;

use std::collections::HashMap;

use fox_config::BaselineSettings;

pub use rtt::{RttAnomaly, RttBaseline};
pub use talkers::{FlowKey, MemberTalkers, Talkers};

use crate::alert::{AlertKind, Finding};
use crate::fabric::{MemberId, MemberMap, Traffic};

/// Smoothing of an hour slot's mean (its intervals are further apart in time).
const SLOT_ALPHA: f64 = 0.3;
/// Intervals an hour slot needs before its own mean is used.
const SLOT_MIN: u32 = 3;
/// Destinations and sources named in a surge alert.
const TOP: usize = 5;

/// An exponentially weighted mean.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    n: u32,
    mean: f64,
}

impl Slot {
    fn learn(&mut self, x: f64, alpha: f64) {
        self.mean = if self.n == 0 {
            x
        } else {
            self.mean + alpha * (x - self.mean)
        };
        self.n = self.n.saturating_add(1);
    }
}

/// The learned rate of one series (bits per second).
#[derive(Clone, Debug, Default)]
pub struct Model {
    global: Slot,
    hours: [Slot; 24],
}

impl Model {
    /// The expected rate in `hour`, once `warmup` intervals were learned.
    pub fn expected(&self, hour: usize, warmup: u32) -> Option<f64> {
        if self.global.n < warmup {
            return None;
        }
        match self.hours.get(hour) {
            Some(s) if s.n >= SLOT_MIN => Some(s.mean),
            _ => Some(self.global.mean),
        }
    }

    /// Intervals learned.
    pub fn learned(&self) -> u32 {
        self.global.n
    }

    fn learn(&mut self, x: f64, hour: usize, warmup: u32) {
        let alpha = (2.0 / (f64::from(warmup) + 1.0)).clamp(0.02, 1.0);
        self.global.learn(x, alpha);
        if let Some(s) = self.hours.get_mut(hour) {
            s.learn(x, SLOT_ALPHA);
        }
    }
}

/// Byte totals at one instant.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    at: u64,
    members: Vec<[u64; 2]>,
    pairs: HashMap<(MemberId, MemberId), u64>,
}

impl Snapshot {
    fn of(t: &Traffic, at: u64) -> Self {
        Snapshot {
            at,
            members: t
                .members
                .iter()
                .map(|m| [m.in_.total().bytes, m.out.total().bytes])
                .collect(),
            pairs: t
                .matrix
                .iter()
                .map(|(k, v)| (*k, v.total().bytes))
                .collect(),
        }
    }
}

/// What one series did in the last interval.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    Normal,
    Surge { rate: f64, base: f64 },
    Drop { rate: f64, base: f64 },
}

/// `812.3 Mb/s`.
pub fn fmt_bps(bps: f64) -> String {
    let (v, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gb/s")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mb/s")
    } else if bps >= 1e3 {
        (bps / 1e3, "kb/s")
    } else {
        (bps, "b/s")
    };
    format!("{v:.1} {unit}")
}

/// Baselines of every member and pair, and the findings of the last interval.
#[derive(Debug, Default)]
pub struct Baselines {
    /// Thresholds and interval.
    pub settings: BaselineSettings,
    members: Vec<[Model; 2]>,
    pairs: HashMap<(MemberId, MemberId), Model>,
    last: Option<Snapshot>,
    firing: Vec<Finding>,
}

impl Baselines {
    /// Empty baselines judged with `settings`.
    pub fn new(settings: BaselineSettings) -> Self {
        Baselines {
            settings,
            ..Baselines::default()
        }
    }

    /// The expected received and sent rates of `member` now, in bits per second.
    pub fn expected(&self, member: MemberId, now: u64) -> [Option<f64>; 2] {
        let h = hour(now);
        let w = self.settings.warmup;
        match self.members.get(member) {
            Some([i, o]) => [i.expected(h, w), o.expected(h, w)],
            None => [None, None],
        }
    }

    /// Intervals learned for `member` (received side).
    pub fn learned(&self, member: MemberId) -> u32 {
        self.members.get(member).map_or(0, |m| m[0].learned())
    }

    /// Ends the interval at unix time `now` (seconds): judges every member and pair against
    /// its baseline, learns the normal ones, and returns the findings firing now. `talkers`
    /// is what was sampled during the interval.
    pub fn observe(
        &mut self,
        now: u64,
        traffic: &Traffic,
        talkers: &Talkers,
        map: &MemberMap,
    ) -> Vec<Finding> {
        let snap = Snapshot::of(traffic, now);
        let prev = match self.last.take() {
            Some(p) if now > p.at => p,
            Some(p) => {
                // No time has passed: keep the interval open.
                self.last = Some(p);
                return self.firing.clone();
            }
            None => {
                self.last = Some(snap);
                return Vec::new();
            }
        };
        let secs = (now - prev.at) as f64;
        let h = hour(now);
        let settings = self.settings.clone();
        let warmup = settings.warmup;
        let name = |m: MemberId| {
            map.members()
                .get(m)
                .map_or_else(|| format!("member #{m}"), |i| i.name.clone())
        };
        self.members
            .resize_with(snap.members.len(), Default::default);
        let mut member_verdicts = Vec::new();
        for (m, now_b) in snap.members.iter().enumerate() {
            let old = prev.members.get(m).copied().unwrap_or_default();
            for dir in 0..2 {
                let rate = now_b[dir].saturating_sub(old[dir]) as f64 * 8.0 / secs;
                let model = &mut self.members[m][dir];
                match judge(&settings, model, rate, h) {
                    Verdict::Normal => model.learn(rate, h, warmup),
                    v => member_verdicts.push((m, dir, v)),
                }
            }
        }
        let mut pair_verdicts = Vec::new();
        for (&pair, &bytes) in &snap.pairs {
            let old = prev.pairs.get(&pair).copied().unwrap_or_default();
            let rate = bytes.saturating_sub(old) as f64 * 8.0 / secs;
            let model = self.pairs.entry(pair).or_default();
            match judge(&settings, model, rate, h) {
                v @ Verdict::Surge { .. } => pair_verdicts.push((pair, v)),
                // A pair going quiet is normal (members shift traffic); drops are per member.
                _ => model.learn(rate, h, warmup),
            }
        }
        self.last = Some(snap);
        self.firing = findings(&member_verdicts, &pair_verdicts, talkers, &name);
        self.firing.clone()
    }
}

/// How `rate` in hour `h` compares with `model`.
fn judge(s: &BaselineSettings, model: &Model, rate: f64, h: usize) -> Verdict {
    let Some(base) = model.expected(h, s.warmup) else {
        return Verdict::Normal;
    };
    if rate > base * s.surge_factor && rate - base >= s.surge_min_bps {
        Verdict::Surge { rate, base }
    } else if base >= s.busy_bps && rate <= base * s.drop_ratio {
        Verdict::Drop { rate, base }
    } else {
        Verdict::Normal
    }
}

/// Hour of the day (UTC) of unix time `now`.
fn hour(now: u64) -> usize {
    ((now / 3600) % 24) as usize
}

/// Findings from the verdicts; a pair or sender surge explained by a receiver's surge is
/// listed under it rather than alerted on its own.
fn findings(
    members: &[(MemberId, usize, Verdict)],
    pairs: &[((MemberId, MemberId), Verdict)],
    talkers: &Talkers,
    name: &dyn Fn(MemberId) -> String,
) -> Vec<Finding> {
    let surging = |m: MemberId, dir: usize| {
        members
            .iter()
            .any(|(x, d, v)| *x == m && *d == dir && matches!(v, Verdict::Surge { .. }))
    };
    let mut out = Vec::new();
    let mut explained_senders: Vec<MemberId> = Vec::new();
    for &(m, _, v) in members.iter().filter(|x| x.1 == 0) {
        let Verdict::Surge { rate, base } = v else {
            continue;
        };
        let t = talkers.by_dst.get(&m).cloned().unwrap_or_default();
        let total: u64 = t.sources.values().sum::<u64>().max(1);
        let flows = t.top_flows(TOP);
        let mut symptoms: Vec<String> = flows
            .iter()
            .map(|(k, b)| {
                format!(
                    "to {}: {:.0}% of the sampled bytes",
                    k.describe(),
                    *b as f64 * 100.0 / total as f64
                )
            })
            .collect();
        for (src, b) in t.top_sources(TOP) {
            if let Some(s) = src {
                explained_senders.push(s);
            }
            let who = src.map_or_else(|| "unregistered MACs".to_owned(), name);
            symptoms.push(format!(
                "from {who}: {:.0}% of the sampled bytes",
                b as f64 * 100.0 / total as f64
            ));
        }
        let top = flows
            .first()
            .map(|(k, _)| format!("; top destination {}", k.describe()))
            .unwrap_or_default();
        out.push(Finding {
            subject: format!("{} received", name(m)),
            kind: AlertKind::TrafficSurge,
            summary: format!(
                "traffic surge towards {}: {} received, baseline {} ({:.1}x), possible DDoS{top}",
                name(m),
                fmt_bps(rate),
                fmt_bps(base),
                rate / base.max(1.0)
            ),
            symptoms,
        });
    }
    for &(m, dir, v) in members {
        let side = if dir == 0 { "received" } else { "sent" };
        match v {
            Verdict::Surge { rate, base } if dir == 1 && !explained_senders.contains(&m) => out
                .push(Finding {
                    subject: format!("{} sent", name(m)),
                    kind: AlertKind::TrafficSurge,
                    summary: format!(
                        "traffic surge from {}: {} sent, baseline {} ({:.1}x)",
                        name(m),
                        fmt_bps(rate),
                        fmt_bps(base),
                        rate / base.max(1.0)
                    ),
                    symptoms: Vec::new(),
                }),
            Verdict::Drop { rate, base } => out.push(Finding {
                subject: format!("{} {side}", name(m)),
                kind: AlertKind::TrafficDrop,
                summary: format!(
                    "traffic drop at {}: {} {side}, normally {}",
                    name(m),
                    fmt_bps(rate),
                    fmt_bps(base)
                ),
                symptoms: Vec::new(),
            }),
            _ => {}
        }
    }
    for &((s, d), v) in pairs {
        let Verdict::Surge { rate, base } = v else {
            continue;
        };
        if surging(d, 0) || surging(s, 1) {
            continue;
        }
        out.push(Finding {
            subject: format!("{} -> {}", name(s), name(d)),
            kind: AlertKind::TrafficSurge,
            summary: format!(
                "traffic surge from {} to {}: {}, baseline {} ({:.1}x)",
                name(s),
                name(d),
                fmt_bps(rate),
                fmt_bps(base),
                rate / base.max(1.0)
            ),
            symptoms: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.subject.cmp(&b.subject));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_profile_judges_each_hour_by_its_own_mean() {
        let s = BaselineSettings {
            warmup: 4,
            surge_factor: 5.0,
            surge_min_bps: 10.0,
            busy_bps: 50.0,
            drop_ratio: 0.1,
            ..BaselineSettings::default()
        };
        let mut m = Model::default();
        assert_eq!(m.expected(3, s.warmup), None);
        // Quiet nights (hour 3, 100 b/s) and busy afternoons (hour 15, 1000 b/s).
        for _ in 0..6 {
            m.learn(100.0, 3, s.warmup);
            m.learn(1000.0, 15, s.warmup);
        }
        let night = m.expected(3, s.warmup).expect("warm");
        let day = m.expected(15, s.warmup).expect("warm");
        assert!(
            (night - 100.0).abs() < 1.0 && (day - 1000.0).abs() < 1.0,
            "{night} {day}"
        );
        // An afternoon's rate at night is a surge; in the afternoon it is normal.
        assert!(matches!(judge(&s, &m, 1000.0, 3), Verdict::Surge { .. }));
        assert_eq!(judge(&s, &m, 1000.0, 15), Verdict::Normal);
        // An hour without its own history falls back to the overall mean.
        let overall = m.expected(9, s.warmup).expect("warm");
        assert!(overall > night && overall < day);
        // Nearly nothing in the afternoon is a drop; at night 100 b/s is normal.
        assert!(matches!(judge(&s, &m, 5.0, 15), Verdict::Drop { .. }));
        assert_eq!(judge(&s, &m, 100.0, 3), Verdict::Normal);
        // The minimum keeps tiny absolute changes quiet.
        let small = Model {
            global: Slot { n: 10, mean: 1.0 },
            ..Model::default()
        };
        assert_eq!(judge(&s, &small, 9.0, 0), Verdict::Normal);
        assert!(matches!(judge(&s, &small, 12.0, 0), Verdict::Surge { .. }));
    }

    #[test]
    fn rates_print_with_units() {
        assert_eq!(fmt_bps(0.0), "0.0 b/s");
        assert_eq!(fmt_bps(2_500.0), "2.5 kb/s");
        assert_eq!(fmt_bps(29_333_333.0), "29.3 Mb/s");
        assert_eq!(fmt_bps(1.2e10), "12.0 Gb/s");
    }
}
