//! Member traffic from flow samples: each sample stands for `sampling_rate` packets of
//! `frame_length` bytes. Samples are taken at ingress on member ports, so each packet is
//! counted once: `out` of the member whose MAC sent it, `in` of the member whose MAC
//! receives it (directions are the member's view), and in the matrix cell (src, dst).

use std::collections::HashMap;

use serde::Serialize;

use super::members::{MemberId, MemberMap, SiteId};
use crate::sflow::{Frame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};

/// Unknown MACs remembered at most (their traffic is still counted in the totals).
pub const MAX_UNKNOWN_MACS: usize = 4096;

/// Estimated bytes and packets (sample counts scaled by the sampling rate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Bytes on the wire.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
}

impl Counts {
    /// Adds `other`.
    pub fn add(&mut self, other: Counts) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.packets = self.packets.saturating_add(other.packets);
    }
}

/// IP version of a sampled frame: an index into per-AFI arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Afi {
    /// IPv4.
    Ipv4 = 0,
    /// IPv6.
    Ipv6 = 1,
    /// Anything else (ARP, LLDP, ...).
    Other = 2,
}

impl Afi {
    /// All three, in index order.
    pub const ALL: [Afi; 3] = [Afi::Ipv4, Afi::Ipv6, Afi::Other];

    /// From a frame's ethertype.
    pub fn of(frame: &Frame) -> Afi {
        match frame.ethertype {
            ETHERTYPE_IPV4 => Afi::Ipv4,
            ETHERTYPE_IPV6 => Afi::Ipv6,
            _ => Afi::Other,
        }
    }

    /// Lower-case name, for labels.
    pub fn name(self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
            Afi::Other => "other",
        }
    }
}

/// Counts split by IP version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ByAfi(pub [Counts; 3]);

impl ByAfi {
    /// Adds `c` to `afi`.
    pub fn add(&mut self, afi: Afi, c: Counts) {
        self.0[afi as usize].add(c);
    }

    /// Sum over all versions.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in &self.0 {
            t.add(*c);
        }
        t
    }

    /// The counts of one version.
    pub fn get(&self, afi: Afi) -> Counts {
        self.0[afi as usize]
    }
}

/// One member's traffic, from the member's view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemberTraffic {
    /// Received by the member (its MAC was the destination).
    #[serde(rename = "in")]
    pub in_: ByAfi,
    /// Sent by the member (its MAC was the source).
    pub out: ByAfi,
}

/// Traffic that could not be attributed to a pair of members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unattributed {
    /// Source MAC not registered to any member.
    pub unknown_src: Counts,
    /// Destination MAC (unicast) not registered to any member.
    pub unknown_dst: Counts,
    /// Destination is a group address (broadcast or multicast).
    pub non_unicast: Counts,
    /// Samples without a parsable Ethernet header (not counted anywhere else).
    pub unparsed_samples: u64,
    /// Unknown MACs seen as source or destination, up to [`MAX_UNKNOWN_MACS`].
    #[serde(skip)]
    pub unknown_macs: HashMap<[u8; 6], Counts>,
}

/// Everything the collector knows about traffic, since start.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Per member, indexed by [`MemberId`].
    pub members: Vec<MemberTraffic>,
    /// Member to member, by IP version.
    pub matrix: HashMap<(MemberId, MemberId), ByAfi>,
    /// Member to member per ingress site (the site of the sender's connection).
    pub matrix_by_site: HashMap<(SiteId, MemberId, MemberId), Counts>,
    /// Site to site (ingress site of the sender, egress site of the receiver), by IP version.
    pub sites: HashMap<(SiteId, SiteId), ByAfi>,
    /// Traffic not attributed to a member pair.
    pub unattributed: Unattributed,
    /// Everything sampled, by IP version.
    pub total: ByAfi,
}

impl Traffic {
    /// Empty counters for the members of `map`.
    pub fn new(map: &MemberMap) -> Self {
        Traffic {
            members: vec![MemberTraffic::default(); map.members().len()],
            ..Traffic::default()
        }
    }

    /// Accounts one sampled frame of `frame_length` bytes, sampled 1 in `rate`.
    pub fn add_sample(&mut self, map: &MemberMap, frame: &Frame, frame_length: u32, rate: u32) {
        let rate = u64::from(rate.max(1));
        let c = Counts {
            bytes: u64::from(frame_length).saturating_mul(rate),
            packets: rate,
        };
        let afi = Afi::of(frame);
        self.total.add(afi, c);
        let src = map.lookup(&frame.src_mac);
        let dst = if frame.is_dst_group() {
            None
        } else {
            map.lookup(&frame.dst_mac)
        };
        if let Some(s) = src {
            if let Some(m) = self.members.get_mut(s.member) {
                m.out.add(afi, c);
            }
        } else {
            self.unattributed.unknown_src.add(c);
            self.note_unknown(frame.src_mac, c);
        }
        if frame.is_dst_group() {
            self.unattributed.non_unicast.add(c);
            return;
        }
        match dst {
            Some(d) => {
                if let Some(m) = self.members.get_mut(d.member) {
                    m.in_.add(afi, c);
                }
                if let Some(s) = src {
                    self.matrix
                        .entry((s.member, d.member))
                        .or_default()
                        .add(afi, c);
                    self.matrix_by_site
                        .entry((s.site, s.member, d.member))
                        .or_default()
                        .add(c);
                    self.sites.entry((s.site, d.site)).or_default().add(afi, c);
                }
            }
            None => {
                self.unattributed.unknown_dst.add(c);
                self.note_unknown(frame.dst_mac, c);
            }
        }
    }

    fn note_unknown(&mut self, mac: [u8; 6], c: Counts) {
        let macs = &mut self.unattributed.unknown_macs;
        if let Some(e) = macs.get_mut(&mac) {
            e.add(c);
        } else if macs.len() < MAX_UNKNOWN_MACS {
            macs.insert(mac, c);
        }
    }

    /// Peers of `member` by volume (sent + received), largest first: (peer, sent, received).
    pub fn top_peers(&self, member: MemberId, limit: usize) -> Vec<(MemberId, Counts, Counts)> {
        let mut peers: HashMap<MemberId, (Counts, Counts)> = HashMap::new();
        for (&(s, d), v) in &self.matrix {
            if s == member && d != member {
                peers.entry(d).or_default().0.add(v.total());
            }
            if d == member && s != member {
                peers.entry(s).or_default().1.add(v.total());
            }
        }
        let mut out: Vec<(MemberId, Counts, Counts)> =
            peers.into_iter().map(|(p, (s, r))| (p, s, r)).collect();
        out.sort_by_key(|(p, s, r)| (std::cmp::Reverse(s.bytes.saturating_add(r.bytes)), *p));
        out.truncate(limit);
        out
    }
}
