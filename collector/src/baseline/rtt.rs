//! Per-probe RTT baselines with a daily profile.
//!
//! Every reply's RTT is compared with a band learned from the earlier replies: an
//! exponentially weighted mean and mean absolute deviation kept per hour of the day (UTC):
//! the daily profile. An hour slot is judged once it has learned `warmup` replies of its
//! own (with a reply every 10 s and the default 30, after five minutes of that hour on the
//! first day); until then it learns every reply. The band is
//! mean ± max(`rtt_k` × deviation, `rtt_min_band_ms`). `rtt_after` replies in a row
//! outside the band make an anomaly (even under the static RTT target), the first reply
//! back inside resolves it. Replies outside the band are not learned, so a degraded path
//! does not become the new normal.

use fox_config::BaselineSettings;

/// Least smoothing factor of an hour slot (a long warm-up must not freeze the mean).
const SLOT_ALPHA: f64 = 0.02;

/// An exponentially weighted mean and mean absolute deviation.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    n: u32,
    mean: f64,
    dev: f64,
}

impl Slot {
    fn learn(&mut self, x: f64, alpha: f64) {
        if self.n == 0 {
            self.mean = x;
            self.dev = 0.0;
        } else {
            let d = (x - self.mean).abs();
            self.mean += alpha * (x - self.mean);
            self.dev += alpha * (d - self.dev);
        }
        self.n = self.n.saturating_add(1);
    }
}

/// The band an RTT is expected in, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// Learned mean.
    pub expected: f64,
    /// Lowest normal RTT.
    pub low: f64,
    /// Highest normal RTT.
    pub high: f64,
}

/// An RTT outside its band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttAnomaly {
    /// The last RTT, seconds.
    pub rtt: f64,
    /// The band it left.
    pub band: Band,
}

impl RttAnomaly {
    /// One line for people: `RTT 9.100 ms above its band 2.800..3.200 ms (expected 3.000 ms)`.
    pub fn describe(&self) -> String {
        let side = if self.rtt > self.band.high {
            "above"
        } else {
            "below"
        };
        format!(
            "RTT {:.3} ms {side} its usual band {:.3}..{:.3} ms for this hour (expected {:.3} ms)",
            self.rtt * 1e3,
            self.band.low * 1e3,
            self.band.high * 1e3,
            self.band.expected * 1e3
        )
    }
}

/// The learned RTT of one probe.
#[derive(Clone, Debug, Default)]
pub struct RttBaseline {
    /// Warm-up, band width and persistence.
    pub settings: BaselineSettings,
    learned: u32,
    hours: [Slot; 24],
    outside: u32,
    anomaly: Option<RttAnomaly>,
}

impl RttBaseline {
    /// An empty baseline judged with `settings`.
    pub fn new(settings: BaselineSettings) -> Self {
        RttBaseline {
            settings,
            ..RttBaseline::default()
        }
    }

    /// Replies learned.
    pub fn learned(&self) -> u32 {
        self.learned
    }

    /// The band at unix time `now`, once warm.
    pub fn band(&self, now: u64) -> Option<Band> {
        let s = self
            .hours
            .get(hour(now))
            .filter(|s| s.n >= self.settings.warmup)?;
        let half = (self.settings.rtt_k * s.dev).max(self.settings.rtt_min_band_ms / 1e3);
        Some(Band {
            expected: s.mean,
            low: (s.mean - half).max(0.0),
            high: s.mean + half,
        })
    }

    /// Judges and (if normal) learns a reply of `rtt` seconds at unix time `now`.
    pub fn observe(&mut self, rtt: f64, now: u64) {
        if !rtt.is_finite() || rtt < 0.0 {
            return;
        }
        match self.band(now) {
            Some(band) if rtt < band.low || rtt > band.high => {
                self.outside = self.outside.saturating_add(1);
                if self.outside >= self.settings.rtt_after {
                    self.anomaly = Some(RttAnomaly { rtt, band });
                }
            }
            _ => {
                self.outside = 0;
                self.anomaly = None;
                let alpha = (2.0 / (f64::from(self.settings.warmup) + 1.0)).clamp(SLOT_ALPHA, 1.0);
                self.learned = self.learned.saturating_add(1);
                if let Some(s) = self.hours.get_mut(hour(now)) {
                    s.learn(rtt, alpha);
                }
            }
        }
    }

    /// Judges and learns past `(rtt, unix time)` samples, oldest first (from the history
    /// store); what they said about anomalies is not kept: judging starts afresh.
    pub fn seed(&mut self, samples: impl Iterator<Item = (f64, u64)>) {
        for (rtt, at) in samples {
            self.observe(rtt, at);
        }
        self.outside = 0;
        self.anomaly = None;
    }

    /// The anomaly going on, if any.
    pub fn anomaly(&self) -> Option<RttAnomaly> {
        self.anomaly
    }
}

/// Hour of the day (UTC) of unix time `now`.
fn hour(now: u64) -> usize {
    ((now / 3600) % 24) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BaselineSettings {
        BaselineSettings {
            warmup: 10,
            rtt_k: 4.0,
            rtt_min_band_ms: 0.5,
            rtt_after: 3,
            ..BaselineSettings::default()
        }
    }

    #[test]
    fn each_hour_has_its_own_band() {
        let mut b = RttBaseline::new(settings());
        let night = 3 * 3600;
        let evening = 20 * 3600;
        assert_eq!(b.band(night), None);
        // Nights at 2 ms, evenings (busy links) at 6 ms, a little jitter.
        for i in 0..40u64 {
            let j = (i % 3) as f64 * 0.0001;
            b.observe(0.002 + j, night + i);
            b.observe(0.006 + j, evening + i);
        }
        let n = b.band(night).expect("warm");
        let e = b.band(evening).expect("warm");
        assert!((n.expected - 0.0021).abs() < 0.0002, "{n:?}");
        assert!((e.expected - 0.0061).abs() < 0.0002, "{e:?}");
        assert!(n.high < 0.003 && e.low > 0.005, "{n:?} {e:?}");
        // An evening RTT at night: three in a row raise, one normal reply resolves.
        for k in 0..3u64 {
            assert_eq!(b.anomaly(), None);
            b.observe(0.006, night + 100 + k);
        }
        let a = b.anomaly().expect("anomaly");
        assert!(a.describe().contains("above"), "{}", a.describe());
        b.observe(0.002, night + 200);
        assert_eq!(b.anomaly(), None);
        // The same RTT in the evening is normal.
        for k in 0..5u64 {
            b.observe(0.006, evening + 100 + k);
        }
        assert_eq!(b.anomaly(), None);
        // An hour without history of its own is learned, not judged.
        assert_eq!(b.band(9 * 3600), None);
        b.observe(0.050, 9 * 3600);
        assert_eq!(b.anomaly(), None);
        // Nonsense is ignored.
        b.observe(f64::NAN, night);
        b.observe(-1.0, night);
        assert_eq!(b.anomaly(), None);
    }
}
