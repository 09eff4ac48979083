//! A mergeable RTT histogram: log-linear buckets over microseconds, stored sparse.
//!
//! Values below 64 µs have a bucket each; above, every power of two is split into 32 buckets,
//! so a bucket is at most 1/32 (about 3 %) of its value wide and a quantile read back as the
//! bucket's midpoint is within about 1.6 % of the true sample. Histograms of minutes add up to
//! the histogram of the hour (and of the month), which quantiles of minutes would not.
//!
//! Encoding: a sequence of (bucket index delta, count) pairs as LEB128 varints, buckets ascending.

use std::collections::BTreeMap;

const LINEAR: u32 = 64;
const SUB_BITS: u32 = 5;

/// Bucket counts of RTT samples (µs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RttHistogram {
    buckets: BTreeMap<u32, u64>,
}

/// Bucket index of `us`.
fn bucket(us: u32) -> u32 {
    if us < LINEAR {
        return us;
    }
    let e = 31 - us.leading_zeros(); // floor(log2), >= 6
    let shift = e - SUB_BITS;
    let sub = (us >> shift) - (1 << SUB_BITS); // 0..32
    LINEAR + (e - 6) * (1 << SUB_BITS) + sub
}

/// Lowest and highest value (inclusive) of bucket `i`.
fn bounds(i: u32) -> (u32, u32) {
    if i < LINEAR {
        return (i, i);
    }
    let k = i - LINEAR;
    let e = 6 + k / (1 << SUB_BITS);
    let sub = k % (1 << SUB_BITS);
    let shift = e - SUB_BITS;
    let lo = ((1u64 << SUB_BITS) + u64::from(sub)) << shift;
    let hi = lo + (1u64 << shift) - 1;
    (
        u32::try_from(lo).unwrap_or(u32::MAX),
        u32::try_from(hi).unwrap_or(u32::MAX),
    )
}

impl RttHistogram {
    /// Empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one sample of `us` microseconds.
    pub fn add(&mut self, us: u32) {
        *self.buckets.entry(bucket(us)).or_insert(0) += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &RttHistogram) {
        for (&b, &c) in &other.buckets {
            let e = self.buckets.entry(b).or_insert(0);
            *e = e.saturating_add(c);
        }
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.buckets
            .values()
            .fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// The `q` quantile (0..=1, nearest rank) as its bucket's midpoint, µs; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u32> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (&b, &c) in &self.buckets {
            seen = seen.saturating_add(c);
            if seen >= rank {
                let (lo, hi) = bounds(b);
                return Some(lo + (hi - lo) / 2);
            }
        }
        None
    }

    /// Samples above `us` (counting a bucket as above when its lowest value is above `us`).
    pub fn count_above(&self, us: u32) -> u64 {
        self.buckets
            .iter()
            .filter(|(&b, _)| bounds(b).0 > us)
            .fold(0u64, |a, (_, c)| a.saturating_add(*c))
    }

    /// The sparse encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * 2);
        let mut prev = 0u32;
        for (&b, &c) in &self.buckets {
            put_varint(&mut out, u64::from(b - prev));
            put_varint(&mut out, c);
            prev = b;
        }
        out
    }

    /// Decodes [`RttHistogram::encode`] output; `None` when malformed.
    pub fn decode(mut bytes: &[u8]) -> Option<RttHistogram> {
        let mut h = RttHistogram::new();
        let mut prev = 0u64;
        while !bytes.is_empty() {
            let d = get_varint(&mut bytes)?;
            let c = get_varint(&mut bytes)?;
            prev = prev.checked_add(d)?;
            let b = u32::try_from(prev).ok()?;
            if d == 0 && !h.buckets.is_empty() {
                return None;
            }
            h.buckets.insert(b, c);
        }
        Some(h)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_and_are_narrow() {
        for us in [0u32, 1, 63, 64, 65, 100, 1000, 12_000, 999_999, u32::MAX] {
            let (lo, hi) = bounds(bucket(us));
            assert!(lo <= us && us <= hi, "{us} not in [{lo}, {hi}]");
            assert!(
                u64::from(hi - lo) * 32 <= u64::from(lo).max(32),
                "{us}: [{lo}, {hi}]"
            );
        }
        assert!(bucket(64) > bucket(63));
    }

    #[test]
    fn quantiles_merge_and_roundtrip() {
        let mut a = RttHistogram::new();
        let mut b = RttHistogram::new();
        for us in 1..=100u32 {
            a.add(us * 100);
        }
        for us in 101..=200u32 {
            b.add(us * 100);
        }
        let mut all = a.clone();
        all.merge(&b);
        assert_eq!(all.count(), 200);
        // True median 10_000 µs, p95 19_000 µs: within a bucket's width.
        let med = all.quantile(0.5).unwrap_or(0);
        assert!((med as f64 - 10_000.0).abs() / 10_000.0 < 0.035, "{med}");
        let p95 = all.quantile(0.95).unwrap_or(0);
        assert!((p95 as f64 - 19_000.0).abs() / 19_000.0 < 0.035, "{p95}");
        // 15_100 shares the bucket [14_848, 15_103] with 15_000, so 15_200..=20_000 count.
        assert_eq!(all.count_above(15_000), 49);
        let enc = all.encode();
        assert_eq!(RttHistogram::decode(&enc), Some(all.clone()));
        assert!(RttHistogram::decode(&[0x80]).is_none());
        assert_eq!(RttHistogram::new().quantile(0.5), None);
    }
}
