//! A ring of per-minute probe results covering 30 days, for availability over windows.

/// Minutes kept (30 days).
pub const RING_MINUTES: usize = 30 * 24 * 60;
/// Availability windows reported: name and length in minutes.
pub const WINDOWS: [(&str, u32); 3] = [("1h", 60), ("1d", 24 * 60), ("30d", 30 * 24 * 60)];

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Unix minute this slot holds (slots of older minutes are stale).
    minute: u64,
    results: u32,
    replies: u32,
}

/// Per-minute counts of results and replies; a minute is available when it saw a reply.
#[derive(Debug, Clone)]
pub struct MinuteRing {
    slots: Vec<Slot>,
}

impl Default for MinuteRing {
    fn default() -> Self {
        MinuteRing {
            slots: vec![Slot::default(); RING_MINUTES],
        }
    }
}

impl MinuteRing {
    /// Records one result (`replied` or lost) at unix time `now` (seconds).
    pub fn record(&mut self, now: u64, replied: bool) {
        let minute = now / 60;
        let i = (minute % RING_MINUTES as u64) as usize;
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.minute != minute {
            *s = Slot {
                minute,
                ..Slot::default()
            };
        }
        s.results = s.results.saturating_add(1);
        if replied {
            s.replies = s.replies.saturating_add(1);
        }
    }

    /// (available minutes, minutes with results) among the last `minutes` minutes up to `now`.
    pub fn window(&self, now: u64, minutes: u32) -> (u32, u32) {
        let current = now / 60;
        let oldest = current.saturating_sub(u64::from(minutes.saturating_sub(1)));
        let (mut up, mut with_data) = (0, 0);
        for s in &self.slots {
            if s.results > 0 && s.minute >= oldest && s.minute <= current {
                with_data += 1;
                if s.replies > 0 {
                    up += 1;
                }
            }
        }
        (up, with_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_minutes_with_a_reply() {
        let mut r = MinuteRing::default();
        let t0 = 1_700_000_000 / 60 * 60;
        // 120 minutes: the first 60 all good, then 3 minutes with only losses, one mixed.
        for m in 0..120u64 {
            let t = t0 + m * 60;
            let down = (100..103).contains(&m);
            r.record(t, !down);
            r.record(t + 1, m == 110 || !down);
        }
        let now = t0 + 119 * 60 + 30;
        assert_eq!(r.window(now, 60), (57, 60));
        assert_eq!(r.window(now, 24 * 60), (117, 120));
        // A day later the last hour has no data; the 30-day window still has all of it.
        assert_eq!(r.window(now + 86_400, 60), (0, 0));
        assert_eq!(r.window(now + 86_400, 30 * 24 * 60), (117, 120));
        // A slot reused 30 days later forgets the old minute.
        r.record(t0 + RING_MINUTES as u64 * 60, false);
        assert_eq!(r.window(t0 + RING_MINUTES as u64 * 60, 1), (0, 1));
    }
}
