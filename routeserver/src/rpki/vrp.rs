//! Validated ROA payloads (VRPs) and route origin validation (RFC 6811).
//!
//! A [`VrpSet`] is immutable. Each address family is one `Vec` sorted by
//! (prefix length, address, max length, ASN), plus an index of where each
//! prefix length starts, so looking up the VRPs covering a route is one
//! binary search per prefix length that occurs in the set (at most 33 for
//! IPv4, 129 for IPv6; in practice ~25 and ~60).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use thiserror::Error;

use crate::aspa::AspaSet;
use crate::wire::Asn;

/// One validated ROA payload: `asn` may originate `prefix` and its
/// more-specifics up to `max_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vrp {
    /// The ROA prefix (host bits zero).
    pub prefix: IpNet,
    /// Longest prefix length this VRP authorises.
    pub max_len: u8,
    /// Authorised origin AS; AS0 means "no origin is authorised" (RFC 6483).
    pub asn: Asn,
}

/// Why a VRP is malformed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VrpError {
    /// The prefix has bits set beyond its length.
    #[error("prefix {0} has host bits set")]
    HostBits(IpNet),
    /// maxLength is shorter than the prefix or longer than the address.
    #[error("maxLength {max_len} is outside {min}..={max} for prefix {prefix}")]
    MaxLen {
        /// The prefix.
        prefix: IpNet,
        /// The offending maxLength.
        max_len: u8,
        /// The prefix length.
        min: u8,
        /// 32 or 128.
        max: u8,
    },
}

impl Vrp {
    /// Checks a VRP for canonical prefix and a sane maxLength.
    pub fn new(prefix: IpNet, max_len: u8, asn: Asn) -> Result<Self, VrpError> {
        if prefix.trunc() != prefix {
            return Err(VrpError::HostBits(prefix));
        }
        if max_len < prefix.prefix_len() || max_len > prefix.max_prefix_len() {
            return Err(VrpError::MaxLen {
                prefix,
                max_len,
                min: prefix.prefix_len(),
                max: prefix.max_prefix_len(),
            });
        }
        Ok(Vrp {
            prefix,
            max_len,
            asn,
        })
    }
}

impl fmt::Display for Vrp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} AS{}", self.prefix, self.max_len, self.asn)
    }
}

/// Route origin validation state (RFC 6811 section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RpkiState {
    /// A covering VRP matches origin and length.
    Valid,
    /// VRPs cover the prefix but none matches.
    Invalid,
    /// No VRP covers the prefix.
    NotFound,
}

impl RpkiState {
    /// The lower-case name used in APIs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RpkiState::Valid => "valid",
            RpkiState::Invalid => "invalid",
            RpkiState::NotFound => "not-found",
        }
    }
}

impl fmt::Display for RpkiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An address as stored in a table: ordered like the address itself.
trait Addr: Copy + Ord + Eq + fmt::Debug {
    /// Number of bits in the address (32 or 128).
    const BITS: u8;
    /// The address with all bits after `len` cleared.
    fn mask(self, len: u8) -> Self;
    /// The first `k` bits (k <= 16) as a bucket number.
    fn top(self, k: u8) -> usize;
}

impl Addr for u32 {
    const BITS: u8 = 32;
    fn mask(self, len: u8) -> Self {
        match len {
            0 => 0,
            l if l >= 32 => self,
            l => self & (u32::MAX << (32 - l)),
        }
    }
    fn top(self, k: u8) -> usize {
        match k {
            0 => 0,
            k => (self >> (32 - u32::from(k.min(16)))) as usize,
        }
    }
}

/// IPv6 address as two halves so that an entry stays 8-byte aligned (24
/// bytes instead of 32 with `u128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct V6(u64, u64);

impl V6 {
    fn from_u128(v: u128) -> Self {
        V6((v >> 64) as u64, v as u64)
    }
    fn to_u128(self) -> u128 {
        (u128::from(self.0) << 64) | u128::from(self.1)
    }
}

impl Addr for V6 {
    const BITS: u8 = 128;
    fn mask(self, len: u8) -> Self {
        let v = self.to_u128();
        V6::from_u128(match len {
            0 => 0,
            l if l >= 128 => v,
            l => v & (u128::MAX << (128 - l)),
        })
    }
    fn top(self, k: u8) -> usize {
        match k {
            0 => 0,
            k => (self.0 >> (64 - u32::from(k.min(16)))) as usize,
        }
    }
}

/// One stored VRP; field order is the sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry<A> {
    len: u8,
    addr: A,
    max_len: u8,
    asn: Asn,
}

/// Aim for about this many entries per bucket of a length's slice.
const BUCKET_FILL: usize = 4;

/// The VRPs of one address family, sorted, with a per-length index.
///
/// Large per-length slices also get a bucket index on the first k bits
/// (k <= 16, about `BUCKET_FILL` entries per bucket), so a lookup touches
/// two or three cache lines per length instead of a ~19-step binary search
/// over megabytes. It costs about one byte per VRP.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Table<A> {
    entries: Vec<Entry<A>>,
    /// `starts[l]..starts[l + 1]` are the entries of prefix length `l`.
    starts: Vec<u32>,
    /// Per length: bucket bits k (0 = no index) and where its 2^k + 1
    /// bucket bounds start in `buckets`.
    index: Vec<(u8, u32)>,
    /// Bucket bounds, relative to the start of the length's slice.
    buckets: Vec<u32>,
}

impl<A: Addr> Table<A> {
    fn build(mut entries: Vec<Entry<A>>) -> Self {
        entries.sort_unstable();
        entries.dedup();
        entries.shrink_to_fit();
        let mut starts = vec![0u32; usize::from(A::BITS) + 2];
        // Entries are sorted by length, so count per length, then prefix-sum.
        for e in &entries {
            starts[usize::from(e.len) + 1] += 1;
        }
        for l in 1..starts.len() {
            starts[l] += starts[l - 1];
        }
        let mut t = Table {
            entries,
            starts,
            index: Vec::new(),
            buckets: Vec::new(),
        };
        for l in 0..=A::BITS {
            let slice = t.slice_of_len(l);
            let want = slice.len() / BUCKET_FILL;
            let k = if want < 8 {
                0
            } else {
                (usize::BITS - 1 - want.leading_zeros())
                    .min(16)
                    .min(u32::from(l)) as u8
            };
            let at = u32::try_from(t.buckets.len()).unwrap_or(u32::MAX);
            if k > 0 {
                let mut bounds = vec![0u32; (1usize << k) + 1];
                for e in slice {
                    bounds[e.addr.top(k) + 1] += 1;
                }
                for b in 1..bounds.len() {
                    bounds[b] += bounds[b - 1];
                }
                t.buckets.extend_from_slice(&bounds);
            }
            t.index.push((k, at));
        }
        t.buckets.shrink_to_fit();
        t
    }

    /// The entries of length `len` whose first bits equal those of `key`
    /// (a superset of those equal to `key`).
    fn candidates(&self, len: u8, key: A) -> &[Entry<A>] {
        let slice = self.slice_of_len(len);
        match self.index.get(usize::from(len)) {
            Some(&(k, at)) if k > 0 => {
                let b = at as usize + key.top(k);
                match (self.buckets.get(b), self.buckets.get(b + 1)) {
                    (Some(&lo), Some(&hi)) => slice.get(lo as usize..hi as usize).unwrap_or(&[]),
                    _ => &[],
                }
            }
            _ => slice,
        }
    }

    fn empty() -> Self {
        Self::build(Vec::new())
    }

    fn slice_of_len(&self, len: u8) -> &[Entry<A>] {
        let l = usize::from(len);
        match (self.starts.get(l), self.starts.get(l + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Calls `f` with every VRP that covers `addr/len`; stops when `f`
    /// returns `true`.
    fn for_covering(&self, addr: A, len: u8, mut f: impl FnMut(&Entry<A>) -> bool) {
        for l in 0..=len.min(A::BITS) {
            let key = addr.mask(l);
            let slice = self.candidates(l, key);
            if slice.is_empty() {
                continue;
            }
            let start = slice.partition_point(|e| e.addr < key);
            for e in slice[start..].iter().take_while(|e| e.addr == key) {
                if f(e) {
                    return;
                }
            }
        }
    }

    fn validate(&self, addr: A, len: u8, origin: Option<Asn>) -> RpkiState {
        let mut state = RpkiState::NotFound;
        self.for_covering(addr, len, |e| {
            let matched = match origin {
                Some(asn) => asn != 0 && e.asn == asn && len <= e.max_len,
                None => false,
            };
            state = if matched {
                RpkiState::Valid
            } else {
                RpkiState::Invalid
            };
            matched
        });
        state
    }

    /// Prefixes (len, addr) whose VRP group differs between `a` and `b`.
    fn diff(a: &Self, b: &Self, out: &mut Vec<(u8, A)>) {
        let (mut i, mut j) = (0, 0);
        let (ea, eb) = (&a.entries, &b.entries);
        let group_end = |v: &[Entry<A>], start: usize| {
            let key = (v[start].len, v[start].addr);
            start
                + v[start..]
                    .iter()
                    .take_while(|e| (e.len, e.addr) == key)
                    .count()
        };
        while i < ea.len() || j < eb.len() {
            let ka = ea.get(i).map(|e| (e.len, e.addr));
            let kb = eb.get(j).map(|e| (e.len, e.addr));
            match (ka, kb) {
                (Some(x), Some(y)) if x == y => {
                    let (ni, nj) = (group_end(ea, i), group_end(eb, j));
                    if ea[i..ni] != eb[j..nj] {
                        out.push(x);
                    }
                    i = ni;
                    j = nj;
                }
                (Some(x), Some(y)) if x < y => {
                    out.push(x);
                    i = group_end(ea, i);
                }
                (Some(x), None) => {
                    out.push(x);
                    i = group_end(ea, i);
                }
                (_, Some(y)) => {
                    out.push(y);
                    j = group_end(eb, j);
                }
                (None, None) => break,
            }
        }
    }

    fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry<A>>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
            + self.index.capacity() * std::mem::size_of::<(u8, u32)>()
            + self.buckets.capacity() * std::mem::size_of::<u32>()
    }
}

/// An immutable, deduplicated set of VRPs with fast origin validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrpSet {
    v4: Table<u32>,
    v6: Table<V6>,
    /// ASPAs that came with the VRPs (JSON files, RTR v2).
    aspas: AspaSet,
}

impl Default for VrpSet {
    fn default() -> Self {
        VrpSet {
            v4: Table::empty(),
            v6: Table::empty(),
            aspas: AspaSet::new(),
        }
    }
}

impl FromIterator<Vrp> for VrpSet {
    fn from_iter<I: IntoIterator<Item = Vrp>>(iter: I) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for vrp in iter {
            match vrp.prefix {
                IpNet::V4(n) => v4.push(Entry {
                    len: n.prefix_len(),
                    addr: u32::from(n.network()),
                    max_len: vrp.max_len,
                    asn: vrp.asn,
                }),
                IpNet::V6(n) => v6.push(Entry {
                    len: n.prefix_len(),
                    addr: V6::from_u128(u128::from(n.network())),
                    max_len: vrp.max_len,
                    asn: vrp.asn,
                }),
            }
        }
        VrpSet {
            v4: Table::build(v4),
            v6: Table::build(v6),
            aspas: AspaSet::new(),
        }
    }
}

fn v4_net(len: u8, addr: u32) -> IpNet {
    // len comes from a parsed prefix, so it is always <= 32.
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), len.min(32)).unwrap_or_default())
}

fn v6_net(len: u8, addr: V6) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr.to_u128()), len.min(128)).unwrap_or_default())
}

impl VrpSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates a route (RFC 6811). `origin` is `None` when the AS_PATH
    /// ends in an AS_SET: such a route is Invalid if any VRP covers it.
    /// IPv4-mapped IPv6 prefixes are IPv6 and only match IPv6 VRPs.
    pub fn validate(&self, prefix: &IpNet, origin: Option<Asn>) -> RpkiState {
        match prefix {
            IpNet::V4(n) => self
                .v4
                .validate(u32::from(n.network()), n.prefix_len(), origin),
            IpNet::V6(n) => self.v6.validate(
                V6::from_u128(u128::from(n.network())),
                n.prefix_len(),
                origin,
            ),
        }
    }

    /// All VRPs covering `prefix` (for explaining a validation result).
    pub fn covering(&self, prefix: &IpNet) -> Vec<Vrp> {
        let mut out = Vec::new();
        match prefix {
            IpNet::V4(n) => self
                .v4
                .for_covering(u32::from(n.network()), n.prefix_len(), |e| {
                    out.push(Vrp {
                        prefix: v4_net(e.len, e.addr),
                        max_len: e.max_len,
                        asn: e.asn,
                    });
                    false
                }),
            IpNet::V6(n) => self.v6.for_covering(
                V6::from_u128(u128::from(n.network())),
                n.prefix_len(),
                |e| {
                    out.push(Vrp {
                        prefix: v6_net(e.len, e.addr),
                        max_len: e.max_len,
                        asn: e.asn,
                    });
                    false
                },
            ),
        }
        out
    }

    /// The VRP prefixes whose VRPs differ between `old` and `new`: only
    /// routes covered by one of these can change validation state.
    pub fn diff(old: &VrpSet, new: &VrpSet) -> Vec<IpNet> {
        let mut v4 = Vec::new();
        Table::diff(&old.v4, &new.v4, &mut v4);
        let mut v6 = Vec::new();
        Table::diff(&old.v6, &new.v6, &mut v6);
        v4.into_iter()
            .map(|(l, a)| v4_net(l, a))
            .chain(v6.into_iter().map(|(l, a)| v6_net(l, a)))
            .collect()
    }

    /// The union of several sets.
    pub fn union<'a>(sets: impl IntoIterator<Item = &'a VrpSet>) -> VrpSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut aspas = Vec::new();
        for s in sets {
            v4.extend_from_slice(&s.v4.entries);
            v6.extend_from_slice(&s.v6.entries);
            aspas.push(&s.aspas);
        }
        VrpSet {
            v4: Table::build(v4),
            v6: Table::build(v6),
            aspas: AspaSet::union(aspas),
        }
    }

    /// Iterates over all VRPs, IPv4 first, in sort order.
    pub fn iter(&self) -> impl Iterator<Item = Vrp> + '_ {
        let v4 = self.v4.entries.iter().map(|e| Vrp {
            prefix: v4_net(e.len, e.addr),
            max_len: e.max_len,
            asn: e.asn,
        });
        let v6 = self.v6.entries.iter().map(|e| Vrp {
            prefix: v6_net(e.len, e.addr),
            max_len: e.max_len,
            asn: e.asn,
        });
        v4.chain(v6)
    }

    /// Whether this exact VRP is in the set.
    pub fn contains(&self, vrp: &Vrp) -> bool {
        self.covering(&vrp.prefix)
            .iter()
            .any(|v| v.prefix == vrp.prefix && v.max_len == vrp.max_len && v.asn == vrp.asn)
    }

    /// Number of distinct VRPs.
    pub fn len(&self) -> usize {
        self.v4.entries.len() + self.v6.entries.len()
    }

    /// Whether the set has no VRPs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of IPv4 VRPs.
    pub fn len_v4(&self) -> usize {
        self.v4.entries.len()
    }

    /// Number of IPv6 VRPs.
    pub fn len_v6(&self) -> usize {
        self.v6.entries.len()
    }

    /// The ASPAs that came with this set.
    pub fn aspas(&self) -> &AspaSet {
        &self.aspas
    }

    /// This set with its ASPAs replaced.
    pub fn with_aspas(mut self, aspas: AspaSet) -> Self {
        self.aspas = aspas;
        self
    }

    /// Heap bytes used by the set (entries and indexes).
    pub fn heap_bytes(&self) -> usize {
        self.v4.bytes() + self.v6.bytes()
    }
}

#[cfg(test)]
#[path = "vrp_tests.rs"]
mod tests;
