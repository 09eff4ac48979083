//! Loss accounting from sequence numbers: datagrams per agent and sub-agent, flow samples per
//! agent, sub-agent and data source. A sequence that goes backwards means the agent restarted.

use std::collections::HashMap;
use std::net::IpAddr;

/// Streams tracked at most; beyond this new streams are not tracked (spoofed agents).
pub const MAX_STREAMS: usize = 65_536;

/// A gap larger than this is treated as a restart, not as loss.
const MAX_GAP: u32 = 1 << 24;

/// What one sequence number says about its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceUpdate {
    /// First number seen on this stream.
    First,
    /// The next number, as expected.
    InOrder,
    /// Numbers were skipped: that many datagrams or samples were lost.
    Lost(u32),
    /// The number went backwards or jumped too far: the agent restarted.
    Reset,
    /// Same number as last time (duplicate).
    Duplicate,
    /// The stream is not tracked (table full).
    Untracked,
}

/// Key of a datagram stream: agent and sub-agent.
type DatagramKey = (Option<IpAddr>, u32);
/// Key of a sample stream: agent, sub-agent, source id type and index.
type SampleKey = (Option<IpAddr>, u32, u32, u32);

/// Last sequence number per stream, and totals of what was lost.
#[derive(Debug, Default)]
pub struct SequenceTracker {
    datagrams: HashMap<DatagramKey, u32>,
    samples: HashMap<SampleKey, u32>,
    /// Datagrams lost in transit, summed over agents.
    pub lost_datagrams: u64,
    /// Flow samples lost (sequence gaps), summed over data sources.
    pub lost_samples: u64,
    /// Agent restarts seen (datagram sequence went backwards).
    pub resets: u64,
}

fn step<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K, seq: u32) -> SequenceUpdate {
    let len = map.len();
    match map.get_mut(&key) {
        None if len >= MAX_STREAMS => SequenceUpdate::Untracked,
        None => {
            map.insert(key, seq);
            SequenceUpdate::First
        }
        Some(last) => {
            let prev = *last;
            *last = seq;
            let gap = seq.wrapping_sub(prev);
            match gap {
                0 => SequenceUpdate::Duplicate,
                1 => SequenceUpdate::InOrder,
                g if g < MAX_GAP => SequenceUpdate::Lost(g - 1),
                _ => SequenceUpdate::Reset,
            }
        }
    }
}

impl SequenceTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a datagram's sequence number.
    pub fn datagram(&mut self, agent: Option<IpAddr>, sub_agent: u32, seq: u32) -> SequenceUpdate {
        let u = step(&mut self.datagrams, (agent, sub_agent), seq);
        match u {
            SequenceUpdate::Lost(n) => self.lost_datagrams += u64::from(n),
            SequenceUpdate::Reset => {
                self.resets += 1;
                // Sample sequences of a restarted agent restart too.
                self.samples
                    .retain(|k, _| !(k.0 == agent && k.1 == sub_agent));
            }
            _ => {}
        }
        u
    }

    /// Records a flow sample's sequence number for its data source.
    pub fn flow_sample(
        &mut self,
        agent: Option<IpAddr>,
        sub_agent: u32,
        source: (u32, u32),
        seq: u32,
    ) -> SequenceUpdate {
        let u = step(
            &mut self.samples,
            (agent, sub_agent, source.0, source.1),
            seq,
        );
        if let SequenceUpdate::Lost(n) = u {
            self.lost_samples += u64::from(n);
        }
        u
    }

    /// Streams currently tracked (datagram streams, sample streams).
    pub fn streams(&self) -> (usize, usize) {
        (self.datagrams.len(), self.samples.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, n]))
    }

    #[test]
    fn gaps_count_lost_datagrams_per_agent_and_sub_agent() {
        let mut t = SequenceTracker::new();
        assert_eq!(t.datagram(agent(1), 0, 10), SequenceUpdate::First);
        assert_eq!(t.datagram(agent(1), 0, 11), SequenceUpdate::InOrder);
        assert_eq!(t.datagram(agent(1), 1, 500), SequenceUpdate::First);
        assert_eq!(t.datagram(agent(2), 0, 7), SequenceUpdate::First);
        assert_eq!(t.datagram(agent(1), 0, 15), SequenceUpdate::Lost(3));
        assert_eq!(t.datagram(agent(1), 1, 501), SequenceUpdate::InOrder);
        assert_eq!(t.datagram(agent(2), 0, 9), SequenceUpdate::Lost(1));
        assert_eq!(t.lost_datagrams, 4);
        assert_eq!(t.datagram(agent(2), 0, 9), SequenceUpdate::Duplicate);
    }

    #[test]
    fn wrap_is_in_order_and_backwards_is_a_reset() {
        let mut t = SequenceTracker::new();
        t.datagram(None, 0, u32::MAX);
        assert_eq!(t.datagram(None, 0, 0), SequenceUpdate::InOrder);
        t.flow_sample(None, 0, (0, 3), 100);
        assert_eq!(t.datagram(None, 0, 1), SequenceUpdate::InOrder);
        assert_eq!(t.datagram(None, 0, 0), SequenceUpdate::Reset);
        assert_eq!(t.resets, 1);
        assert_eq!(t.lost_datagrams, 0);
        // The restart forgot the agent's sample streams.
        assert_eq!(t.flow_sample(None, 0, (0, 3), 1), SequenceUpdate::First);
    }

    #[test]
    fn sample_gaps_are_per_data_source() {
        let mut t = SequenceTracker::new();
        t.flow_sample(agent(1), 0, (0, 3), 1);
        t.flow_sample(agent(1), 0, (0, 4), 1);
        assert_eq!(
            t.flow_sample(agent(1), 0, (0, 3), 2),
            SequenceUpdate::InOrder
        );
        assert_eq!(
            t.flow_sample(agent(1), 0, (0, 4), 6),
            SequenceUpdate::Lost(4)
        );
        assert_eq!(t.lost_samples, 4);
    }
}
