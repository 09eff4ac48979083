//! BGP data types shared by the codec, the RIB and the policy.
//!
//! These are the decoded forms; the codec in this module turns bytes into
//! them and back. Path attributes are kept as received (after RFC 6793
//! AS4_PATH reconciliation), so the route server can pass them on unchanged.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use ipnet::IpNet;

/// An autonomous system number (always 4 octets internally, RFC 6793).
pub type Asn = u32;

/// AS_TRANS (RFC 6793): stands in for a 4-octet ASN towards 2-octet speakers.
pub const AS_TRANS: Asn = 23456;

/// Address family identifier (IANA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Afi {
    Ipv4,
    Ipv6,
}

impl Afi {
    pub fn code(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        }
    }
    pub fn of(prefix: &IpNet) -> Afi {
        match prefix {
            IpNet::V4(_) => Afi::Ipv4,
            IpNet::V6(_) => Afi::Ipv6,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
        }
    }
}

/// SAFI for unicast routes, the only one a route server carries.
pub const SAFI_UNICAST: u8 = 1;

/// ORIGIN attribute values (RFC 4271 5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// One AS_PATH segment (RFC 4271 4.3, RFC 5065 confederation types).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AsSegment {
    Sequence(Vec<Asn>),
    Set(Vec<Asn>),
    ConfedSequence(Vec<Asn>),
    ConfedSet(Vec<Asn>),
}

/// AS_PATH as a list of segments, ASNs 4 octets wide.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: Vec<Asn>) -> Self {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment::Sequence(asns)],
        }
    }

    /// The left-most ASN (the neighbour that announced the route), if the
    /// path starts with an AS_SEQUENCE.
    pub fn first_asn(&self) -> Option<Asn> {
        match self.segments.first()? {
            AsSegment::Sequence(v) => v.first().copied(),
            _ => None,
        }
    }

    /// The origin ASN: the right-most ASN of a trailing AS_SEQUENCE. `None`
    /// when the path is empty or ends in an AS_SET (RFC 6811: such a route
    /// has no single origin).
    pub fn origin_asn(&self) -> Option<Asn> {
        match self.segments.last()? {
            AsSegment::Sequence(v) => v.last().copied(),
            _ => None,
        }
    }

    /// Path length for the decision process (RFC 4271 9.1.2.2: an AS_SET
    /// counts as 1, confederation segments count 0).
    pub fn decision_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(_) => 1,
                _ => 0,
            })
            .sum()
    }

    /// Every ASN that appears anywhere in the path.
    pub fn all_asns(&self) -> impl Iterator<Item = Asn> + '_ {
        self.segments.iter().flat_map(|s| match s {
            AsSegment::Sequence(v)
            | AsSegment::Set(v)
            | AsSegment::ConfedSequence(v)
            | AsSegment::ConfedSet(v) => v.iter().copied(),
        })
    }

    /// A copy with `asn` prepended `times` times.
    pub fn prepended(&self, asn: Asn, times: usize) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(AsSegment::Sequence(v)) if v.len() + times <= 255 => {
                v.splice(0..0, std::iter::repeat_n(asn, times));
            }
            _ => segments.insert(0, AsSegment::Sequence(vec![asn; times])),
        }
        AsPath { segments }
    }
}

/// The next hop of a route: NEXT_HOP for IPv4 NLRI, the MP_REACH_NLRI next
/// hop (global, optionally with a link-local address) for IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHop {
    V4(Ipv4Addr),
    V6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
}

/// An attribute the codec does not interpret, kept to pass it on
/// (optional transitive ones get the partial bit when re-sent, RFC 4271 5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawAttr {
    pub flags: u8,
    pub code: u8,
    pub data: Bytes,
}

/// A RFC 8092 large community.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

/// The path attributes of a route, next hop included. One value is shared
/// (interned) by every prefix announced with the same attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathAttrs {
    pub origin: Origin,
    pub as_path: AsPath,
    pub next_hop: NextHop,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(Asn, Ipv4Addr)>,
    /// RFC 1997 communities, as received (order kept).
    pub communities: Vec<u32>,
    /// RFC 4360 extended communities, 8 octets each.
    pub ext_communities: Vec<[u8; 8]>,
    pub large_communities: Vec<LargeCommunity>,
    /// RFC 9234 Only-to-Customer.
    pub otc: Option<Asn>,
    /// Attributes the codec does not interpret (optional transitive ones are
    /// passed on; optional non-transitive ones are not kept).
    pub unknown: Vec<RawAttr>,
}

/// An UPDATE message after decoding, RFC 7606 applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn prefixes: the Withdrawn Routes field and MP_UNREACH_NLRI
    /// (IPv4 and IPv6 unicast), plus every NLRI of a treat-as-withdraw UPDATE.
    pub withdrawn: Vec<IpNet>,
    /// Announced prefixes with their attributes, one entry per next-hop
    /// family: the IPv4 NLRI field with NEXT_HOP, and MP_REACH_NLRI.
    pub announced: Vec<(PathAttrs, Vec<IpNet>)>,
    /// End-of-RIB marker (RFC 4724) for this AFI, if the UPDATE is one.
    pub end_of_rib: Option<Afi>,
    /// Why NLRI were turned into withdrawals or attributes discarded
    /// (RFC 7606), for logs and counters. Empty for a clean UPDATE.
    pub errors: Vec<String>,
}

/// What a session negotiated that changes how messages are encoded and decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCaps {
    /// RFC 6793: AS numbers are 4 octets in AS_PATH and AGGREGATOR.
    pub four_octet_as: bool,
    /// RFC 8654: messages up to 65535 octets.
    pub extended_message: bool,
}

impl Default for SessionCaps {
    fn default() -> Self {
        SessionCaps {
            four_octet_as: true,
            extended_message: false,
        }
    }
}

impl SessionCaps {
    /// Largest message this session may carry.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            65535
        } else {
            4096
        }
    }
}
