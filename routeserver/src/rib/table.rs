//! Prefix tables: for each prefix, the paths every member announced,
//! accepted and filtered alike (the Adj-RIBs-In share one table).

use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::policy::verdict::Verdict;
use crate::wire::PathAttrs;

/// Index of a neighbour session in the RIB's peer table.
pub type PeerId = u32;

/// One member's path for one prefix, as received, with the import verdict.
#[derive(Clone, Debug)]
pub struct Path {
    pub peer: PeerId,
    pub verdict: Verdict,
    /// Kept from a session that went down gracefully (RFC 4724) until the
    /// member re-announces it or its restart time runs out.
    pub stale: bool,
    pub attrs: Arc<PathAttrs>,
}

/// All paths for one prefix, in arrival order per peer (one path per peer).
/// Most prefixes have one path at a route server: it is stored inline.
pub type Paths = SmallVec<[Path; 1]>;

/// The two per-AFI prefix tables.
#[derive(Default)]
pub struct Table {
    // FxHash: the keys are prefixes members send, but a member can only
    // slow down lookups of its own prefixes by choosing colliding ones, and
    // SipHash was 16 % of the route server's CPU time (BENCHMARKS.md).
    pub v4: FxHashMap<Ipv4Net, Paths>,
    pub v6: FxHashMap<Ipv6Net, Paths>,
}

impl Table {
    /// The paths for a prefix, if any member announced it.
    pub fn get(&self, prefix: &IpNet) -> Option<&Paths> {
        match prefix {
            IpNet::V4(p) => self.v4.get(p),
            IpNet::V6(p) => self.v6.get(p),
        }
    }

    /// The paths for a prefix, created empty if absent.
    pub fn entry(&mut self, prefix: &IpNet) -> &mut Paths {
        match prefix {
            IpNet::V4(p) => self.v4.entry(*p).or_default(),
            IpNet::V6(p) => self.v6.entry(*p).or_default(),
        }
    }

    /// Drop the entry if it holds no path any more.
    pub fn prune(&mut self, prefix: &IpNet) {
        match prefix {
            IpNet::V4(p) => {
                if self.v4.get(p).is_some_and(|v| v.is_empty()) {
                    self.v4.remove(p);
                }
            }
            IpNet::V6(p) => {
                if self.v6.get(p).is_some_and(|v| v.is_empty()) {
                    self.v6.remove(p);
                }
            }
        }
    }

    /// Every prefix with its paths (IPv4 first).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &Paths)> {
        self.v4
            .iter()
            .map(|(p, v)| (IpNet::V4(*p), v))
            .chain(self.v6.iter().map(|(p, v)| (IpNet::V6(*p), v)))
    }

    /// Number of prefixes held.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when no prefix is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most specific prefix in the table that covers `addr_prefix`
    /// (which may be a host route), with its paths.
    pub fn longest_match(&self, target: &IpNet) -> Option<(IpNet, &Paths)> {
        match target {
            IpNet::V4(t) => (0..=t.prefix_len()).rev().find_map(|len| {
                let p = Ipv4Net::new(t.addr(), len).ok()?.trunc();
                self.v4
                    .get(&p)
                    .filter(|v| !v.is_empty())
                    .map(|v| (IpNet::V4(p), v))
            }),
            IpNet::V6(t) => (0..=t.prefix_len()).rev().find_map(|len| {
                let p = Ipv6Net::new(t.addr(), len).ok()?.trunc();
                self.v6
                    .get(&p)
                    .filter(|v| !v.is_empty())
                    .map(|v| (IpNet::V6(p), v))
            }),
        }
    }

    /// Prefixes equal to or more specific than `target`.
    pub fn more_specifics<'a>(&'a self, target: &'a IpNet) -> Vec<(IpNet, &'a Paths)> {
        let mut out: Vec<(IpNet, &Paths)> = match target {
            IpNet::V4(t) => self
                .v4
                .iter()
                .filter(|(p, v)| !v.is_empty() && t.contains(*p))
                .map(|(p, v)| (IpNet::V4(*p), v))
                .collect(),
            IpNet::V6(t) => self
                .v6
                .iter()
                .filter(|(p, v)| !v.is_empty() && t.contains(*p))
                .map(|(p, v)| (IpNet::V6(*p), v))
                .collect(),
        };
        out.sort_by_key(|a| a.0);
        out
    }
}
