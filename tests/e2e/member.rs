//! What every member speaker offers the scenarios: who it is, what it announces, what it sees.

use std::fmt;
use std::net::IpAddr;

use anyhow::Result;
use ipnet::IpNet;

use crate::netns::Host;

/// A standard community (RFC 1997), `high:low`.
pub type Community = (u16, u16);
/// A large community (RFC 8092), `global:local1:local2`.
pub type LargeCommunity = (u32, u32, u32);

/// One route as a member's BGP speaker holds it after receiving it from a neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSeen {
    /// The NLRI.
    pub prefix: IpNet,
    /// NEXT_HOP (IPv4) or the global MP_REACH next hop (IPv6).
    pub next_hop: IpAddr,
    /// AS_PATH flattened, left-most (neighbour) first.
    pub as_path: Vec<u32>,
    /// MULTI_EXIT_DISC, if present.
    pub med: Option<u32>,
    /// Standard communities, sorted.
    pub communities: Vec<Community>,
    /// Large communities, sorted.
    pub large_communities: Vec<LargeCommunity>,
}

impl fmt::Display for RouteSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} via {} path {:?} med {:?} comm {:?} lc {:?}",
            self.prefix,
            self.next_hop,
            self.as_path,
            self.med,
            self.communities,
            self.large_communities
        )
    }
}

/// A route a member originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    /// The prefix.
    pub prefix: IpNet,
    /// Explicit next hop; `None` means next hop self (the member's LAN address).
    pub next_hop: Option<IpAddr>,
    /// MED to send.
    pub med: Option<u32>,
    /// Standard communities to attach.
    pub communities: Vec<Community>,
    /// Large communities to attach.
    pub large_communities: Vec<LargeCommunity>,
    /// Extra copies of the member's own ASN to prepend (0 = plain path).
    pub prepend: u8,
    /// ASNs after the member's own in the AS path, as if the route were learnt from them
    /// (the last one is the origin): the path sent is `own [own x prepend] tail...`.
    pub path_tail: Vec<u32>,
    /// The AS path exactly as sent, without the member's own ASN in front (a route leaked
    /// with a foreign first AS). Only BIRD sends this: its sessions to the route server then
    /// run in `rs client` mode, and every other announcement gets the member's ASN explicitly.
    pub raw_path: Option<Vec<u32>>,
}

impl Announce {
    /// A plain announcement of `prefix` with next hop self.
    pub fn new(prefix: &str) -> Announce {
        Announce {
            prefix: prefix
                .parse()
                .unwrap_or_else(|e| panic!("bad test prefix {prefix}: {e}")),
            next_hop: None,
            med: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            prepend: 0,
            path_tail: Vec::new(),
            raw_path: None,
        }
    }

    /// With an explicit NEXT_HOP (a third-party next hop on the LAN).
    pub fn next_hop(mut self, nh: &str) -> Announce {
        self.next_hop = Some(
            nh.parse()
                .unwrap_or_else(|e| panic!("bad test next hop {nh}: {e}")),
        );
        self
    }

    /// With these ASNs behind the member's own (the last is the origin).
    pub fn via(mut self, tail: &[u32]) -> Announce {
        self.path_tail = tail.to_vec();
        self
    }

    /// With exactly this AS path, the member's ASN not added (see [`Announce::raw_path`]).
    pub fn raw_path(mut self, path: &[u32]) -> Announce {
        self.raw_path = Some(path.to_vec());
        self
    }

    /// With a MED.
    pub fn med(mut self, med: u32) -> Announce {
        self.med = Some(med);
        self
    }

    /// With a standard community.
    pub fn community(mut self, c: Community) -> Announce {
        self.communities.push(c);
        self
    }

    /// With a large community.
    pub fn large(mut self, c: LargeCommunity) -> Announce {
        self.large_communities.push(c);
        self
    }

    /// With the member's ASN prepended `n` more times.
    pub fn prepend(mut self, n: u8) -> Announce {
        self.prepend = n;
        self
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_v4(&self) -> bool {
        matches!(self.prefix, IpNet::V4(_))
    }
}

/// Who a member is and where it peers: the route server it talks to.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// Name as in the FOX config (`TANet`).
    pub name: String,
    /// Member ASN.
    pub asn: u32,
    /// The member's host on the LAN.
    pub host: Host,
    /// Route server ASN.
    pub rs_asn: u32,
    /// Route server LAN addresses (one session per address).
    pub rs_addrs: Vec<IpAddr>,
}

/// A running member BGP speaker.
pub trait Member {
    /// The member's spec.
    fn spec(&self) -> &MemberSpec;
    /// Which implementation this is (`bird`, `gobgp`, `frr`).
    fn kind(&self) -> &'static str;
    /// Whether the BGP session to `peer` is Established.
    fn established(&self, peer: IpAddr) -> bool;
    /// Every route received from neighbours (IPv4 and IPv6), not the member's own.
    fn routes(&self) -> Result<Vec<RouteSeen>>;
    /// Originate `a` (replacing an earlier announcement of the same prefix).
    fn announce(&mut self, a: Announce) -> Result<()>;
    /// Stop originating `prefix`.
    fn withdraw(&mut self, prefix: IpNet) -> Result<()>;
    /// Stop the daemon gracefully (sessions closed with a NOTIFICATION).
    fn stop(&mut self);

    /// The last error the speaker recorded for its session to `peer`, where it reports one.
    fn last_error(&self, _peer: IpAddr) -> Option<String> {
        None
    }

    /// Routes received for `prefix`.
    fn routes_for(&self, prefix: IpNet) -> Result<Vec<RouteSeen>> {
        Ok(self
            .routes()?
            .into_iter()
            .filter(|r| r.prefix == prefix)
            .collect())
    }
}

/// Parse `(a,b)` groups of BIRD's community lists: `(1659,1) (0,9264)`.
pub fn paren_groups(s: &str) -> Vec<Vec<u64>> {
    s.split('(')
        .skip(1)
        .filter_map(|g| g.split(')').next())
        .map(|g| {
            g.split(',')
                .filter_map(|n| n.trim().parse::<u64>().ok())
                .collect()
        })
        .collect()
}

/// Standard communities from `(a,b)` groups.
pub fn to_communities(groups: &[Vec<u64>]) -> Vec<Community> {
    let mut v: Vec<Community> = groups
        .iter()
        .filter(|g| g.len() == 2)
        .filter_map(|g| Some((u16::try_from(g[0]).ok()?, u16::try_from(g[1]).ok()?)))
        .collect();
    v.sort_unstable();
    v
}

/// Large communities from `(a,b,c)` groups.
pub fn to_large(groups: &[Vec<u64>]) -> Vec<LargeCommunity> {
    let mut v: Vec<LargeCommunity> = groups
        .iter()
        .filter(|g| g.len() == 3)
        .filter_map(|g| {
            Some((
                u32::try_from(g[0]).ok()?,
                u32::try_from(g[1]).ok()?,
                u32::try_from(g[2]).ok()?,
            ))
        })
        .collect();
    v.sort_unstable();
    v
}

/// A well-known community by the name FRR and GoBGP print for it (RFC 1997, 7999, 8326).
fn well_known(word: &str) -> Option<Community> {
    match word.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "noexport" => Some((65535, 65281)),
        "noadvertise" => Some((65535, 65282)),
        "noexportsubconfed" | "localas" => Some((65535, 65283)),
        "nopeer" => Some((65535, 65284)),
        "blackhole" => Some((65535, 666)),
        "graceshut" | "gracefulshutdown" => Some((65535, 0)),
        _ => None,
    }
}

/// `a:b` text pairs (GoBGP / FRR output) to communities; well-known names are mapped to
/// their values.
pub fn parse_community_words(s: &str) -> Vec<Community> {
    let mut v: Vec<Community> = s
        .split_whitespace()
        .filter_map(|w| {
            if let Some(c) = well_known(w) {
                return Some(c);
            }
            let (a, b) = w.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    v.sort_unstable();
    v
}

/// `a:b:c` text triples to large communities.
pub fn parse_large_words(s: &str) -> Vec<LargeCommunity> {
    let mut v: Vec<LargeCommunity> = s
        .split_whitespace()
        .filter_map(|w| {
            let mut it = w.split(':');
            let a = it.next()?.parse().ok()?;
            let b = it.next()?.parse().ok()?;
            let c = it.next()?.parse().ok()?;
            Some((a, b, c))
        })
        .collect();
    v.sort_unstable();
    v
}
