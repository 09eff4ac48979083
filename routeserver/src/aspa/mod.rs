//! ASPA-based AS_PATH verification, as specified by
//! draft-ietf-sidrops-aspa-verification-28 (24 August 2026).
//!
//! The route server receives every member route as an RS from an RS-client,
//! so the upstream procedure (section 5.5) applies. The route server is
//! transparent: its AS never appears in the AS_PATH, and the member's AS is
//! the most recently added AS, AS(N). There is no hop between the member
//! and the route server to check (the RS AS is AS(N+1), the receiving AS),
//! so a member need not list the route server in its ASPA. The neighbour
//! check of step 2 applies (the receiving AS is the RS, not an RS-client):
//! AS(N) must be the member's ASN.

pub mod file;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::wire::{AsPath, AsSegment, Asn, LargeCommunity, PathAttrs};

/// Validated ASPA payloads: for each customer AS, the union of the provider
/// sets of all its ASPAs (the draft's U-SPAS, section 5.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AspaSet {
    map: BTreeMap<Asn, Box<[Asn]>>,
}

impl AspaSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from (customer, providers) records; records of the same
    /// customer are merged (union), providers sorted and deduplicated.
    pub fn from_records<I, P>(records: I) -> Self
    where
        I: IntoIterator<Item = (Asn, P)>,
        P: IntoIterator<Item = Asn>,
    {
        let mut acc: BTreeMap<Asn, BTreeSet<Asn>> = BTreeMap::new();
        for (customer, providers) in records {
            acc.entry(customer).or_default().extend(providers);
        }
        AspaSet {
            map: acc
                .into_iter()
                .map(|(c, p)| (c, p.into_iter().collect()))
                .collect(),
        }
    }

    /// The union of several sets (U-SPAS per customer over all sources).
    pub fn union<'a>(sets: impl IntoIterator<Item = &'a AspaSet>) -> AspaSet {
        AspaSet::from_records(
            sets.into_iter()
                .flat_map(|s| s.map.iter().map(|(c, p)| (*c, p.iter().copied()))),
        )
    }

    /// Number of customer ASes with an ASPA.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no customer AS has an ASPA.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The providers attested by `customer`, if it has an ASPA.
    pub fn providers(&self, customer: Asn) -> Option<&[Asn]> {
        self.map.get(&customer).map(|p| &p[..])
    }

    /// All (customer, providers) records in customer order.
    pub fn iter(&self) -> impl Iterator<Item = (Asn, &[Asn])> + '_ {
        self.map.iter().map(|(c, p)| (*c, &p[..]))
    }

    /// `authorized(x, y)` of section 5.3: is `provider` an attested provider
    /// of `customer`? AS0 in a provider set never matches a real AS, so an
    /// AS0-only ASPA makes every hop from that customer Not Provider+.
    pub fn authorized(&self, customer: Asn, provider: Asn) -> Hop {
        match self.map.get(&customer) {
            None => Hop::NoAttestation,
            Some(p) if p.binary_search(&provider).is_ok() => Hop::ProviderPlus,
            Some(_) => Hop::NotProviderPlus,
        }
    }

    /// The customer ASes whose provider sets differ between `old` and `new`:
    /// only paths through one of them can change verification outcome.
    pub fn diff(old: &AspaSet, new: &AspaSet) -> BTreeSet<Asn> {
        let mut out = BTreeSet::new();
        for (c, p) in &old.map {
            if new.map.get(c) != Some(p) {
                out.insert(*c);
            }
        }
        for c in new.map.keys() {
            if !old.map.contains_key(c) {
                out.insert(*c);
            }
        }
        out
    }

    /// Upstream path verification (section 5.5) of a route received by the
    /// route server from the member `neighbor` (an RS-client).
    pub fn verify_upstream(&self, path: &AsPath, neighbor: Asn) -> AspaState {
        // Step 3 (checked first: it needs the segments): an AS_SET, and
        // confederation segments, which an eBGP neighbour must not send
        // (RFC 5065 section 5), make the path Invalid.
        if path
            .segments
            .iter()
            .any(|s| !matches!(s, AsSegment::Sequence(_)))
        {
            return AspaState::Invalid;
        }
        // COMPRESSED_AS_PATH (section 5.2), origin first: a[0] = AS(1).
        let mut a: Vec<Asn> = Vec::new();
        for asn in path.all_asns() {
            if a.last() != Some(&asn) {
                a.push(asn);
            }
        }
        a.reverse();
        // Step 1: an empty path is Invalid.
        let Some(&last) = a.last() else {
            return AspaState::Invalid;
        };
        // Step 2: the most recently added AS must be the neighbour's.
        if last != neighbor {
            return AspaState::Invalid;
        }
        // Steps 4-6: max_up_ramp < N is Invalid, min_up_ramp < N Unknown.
        let mut unknown = false;
        for w in a.windows(2) {
            match self.authorized(w[0], w[1]) {
                Hop::NotProviderPlus => return AspaState::Invalid,
                Hop::NoAttestation => unknown = true,
                Hop::ProviderPlus => {}
            }
        }
        if unknown {
            AspaState::Unknown
        } else {
            AspaState::Valid
        }
    }

    /// The hops (customer, next AS) that are Not Provider+ on a path, origin
    /// side first: the cause of an Invalid outcome (section 6.6 asks to log it).
    pub fn unauthorized_hops(&self, path: &AsPath) -> Vec<(Asn, Asn)> {
        let mut a: Vec<Asn> = Vec::new();
        for asn in path.all_asns() {
            if a.last() != Some(&asn) {
                a.push(asn);
            }
        }
        a.reverse();
        a.windows(2)
            .filter(|w| self.authorized(w[0], w[1]) == Hop::NotProviderPlus)
            .map(|w| (w[0], w[1]))
            .collect()
    }
}

/// The outcome of `authorized(x, y)` (section 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// x has no ASPA.
    NoAttestation,
    /// y is in x's provider set.
    ProviderPlus,
    /// x has an ASPA and y is not in it.
    NotProviderPlus,
}

/// The outcome of ASPA path verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AspaState {
    /// Every hop is attested customer-to-provider.
    Valid,
    /// Some hop lacks an attestation, none is refuted.
    Unknown,
    /// A hop is refuted, or the path is empty, has an AS_SET, or does not
    /// start with the neighbour's AS.
    Invalid,
}

/// The ASPA state of a route as the route server saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AspaTag {
    /// Verification is off for the member.
    #[default]
    NotChecked,
    Valid,
    Unknown,
    Invalid,
}

/// The `RS_ASN:1002:N` informational large community carrying the ASPA
/// state (FOX's own numbering; Euro-IX defines none for ASPA yet).
pub const ASPA_INFO: u32 = 1002;

impl AspaTag {
    /// The N of the informational `RS_ASN:1002:N` large community, numbered
    /// like the RPKI one (`RS_ASN:1000:N`).
    pub fn community(self) -> u32 {
        match self {
            AspaTag::Valid => 1,
            AspaTag::Unknown => 2,
            AspaTag::NotChecked => 3,
            AspaTag::Invalid => 4,
        }
    }

    /// The lower-case name used in APIs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AspaTag::NotChecked => "not-checked",
            AspaTag::Valid => "valid",
            AspaTag::Unknown => "unknown",
            AspaTag::Invalid => "invalid",
        }
    }
}

impl From<AspaState> for AspaTag {
    fn from(s: AspaState) -> Self {
        match s {
            AspaState::Valid => AspaTag::Valid,
            AspaState::Unknown => AspaTag::Unknown,
            AspaState::Invalid => AspaTag::Invalid,
        }
    }
}

impl fmt::Display for AspaTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How ASPA verification is used for one member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AspaMode {
    /// Not verified, not tagged.
    #[default]
    Off,
    /// Verified and tagged; Invalid routes are still accepted.
    Tag,
    /// Verified and tagged; Invalid routes are filtered (reason aspa-invalid).
    Filter,
}

/// Adds the informational ASPA community to exported attributes, for
/// routes whose member has verification on (`NotChecked` adds nothing, so
/// members without ASPA see no change).
pub fn tag_export(out: &mut PathAttrs, rs_asn: Asn, tag: AspaTag) {
    if tag == AspaTag::NotChecked {
        return;
    }
    out.large_communities.push(LargeCommunity {
        global: rs_asn,
        local1: ASPA_INFO,
        local2: tag.community(),
    });
}
