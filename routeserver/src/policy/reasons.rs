//! Why a route was filtered: the one list of reasons and their codes.
//!
//! Codes follow the Euro-IX large-community numbering `RS_ASN:1101:N`
//! (https://www.euro-ix.net/en/forixps/large-bgp-communities/) where one
//! exists; reasons Euro-IX lacks use codes from 1101:1001 upwards. The same
//! table is in the README.

use serde::Serialize;

/// One reason a route was filtered on import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Reason {
    PrefixTooLong = 0,
    PrefixTooShort,
    BogonPrefix,
    BogonAsn,
    AsPathTooLong,
    FirstAsNotPeer,
    NextHopNotPeer,
    IrrPrefix,
    IrrOrigin,
    RpkiInvalid,
    TransitFree,
    AsSetInPath,
    BlackholeNotAuthorized,
    AfiNotEnabled,
    OtcLeak,
    AspaInvalid,
}

/// Every reason, in the order the import filter checks them.
pub const ALL_REASONS: [Reason; 16] = [
    Reason::NextHopNotPeer,
    Reason::FirstAsNotPeer,
    Reason::AsPathTooLong,
    Reason::BogonAsn,
    Reason::AsSetInPath,
    Reason::TransitFree,
    Reason::BogonPrefix,
    Reason::PrefixTooLong,
    Reason::PrefixTooShort,
    Reason::AfiNotEnabled,
    Reason::BlackholeNotAuthorized,
    Reason::RpkiInvalid,
    Reason::IrrOrigin,
    Reason::IrrPrefix,
    Reason::OtcLeak,
    Reason::AspaInvalid,
];

impl Reason {
    /// The N of the `RS_ASN:1101:N` large community.
    pub fn code(self) -> u32 {
        match self {
            Reason::PrefixTooLong => 1,
            Reason::PrefixTooShort => 2,
            Reason::BogonPrefix => 3,
            Reason::BogonAsn => 4,
            Reason::AsPathTooLong => 5,
            Reason::FirstAsNotPeer => 7,
            Reason::NextHopNotPeer => 8,
            Reason::IrrPrefix => 9,
            Reason::IrrOrigin => 10,
            Reason::RpkiInvalid => 13,
            Reason::TransitFree => 14,
            Reason::AsSetInPath => 1001,
            Reason::BlackholeNotAuthorized => 1002,
            Reason::AfiNotEnabled => 1003,
            Reason::OtcLeak => 1004,
            Reason::AspaInvalid => 1005,
        }
    }

    /// Short machine name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Reason::PrefixTooLong => "prefix-too-long",
            Reason::PrefixTooShort => "prefix-too-short",
            Reason::BogonPrefix => "bogon-prefix",
            Reason::BogonAsn => "bogon-asn",
            Reason::AsPathTooLong => "as-path-too-long",
            Reason::FirstAsNotPeer => "first-as-not-peer",
            Reason::NextHopNotPeer => "next-hop-not-peer",
            Reason::IrrPrefix => "irr-prefix",
            Reason::IrrOrigin => "irr-origin",
            Reason::RpkiInvalid => "rpki-invalid",
            Reason::TransitFree => "transit-free-asn",
            Reason::AsSetInPath => "as-set-in-path",
            Reason::BlackholeNotAuthorized => "blackhole-not-authorized",
            Reason::AfiNotEnabled => "afi-not-enabled",
            Reason::OtcLeak => "otc-leak",
            Reason::AspaInvalid => "aspa-invalid",
        }
    }

    /// What it means, in words a member understands.
    pub fn description(self) -> &'static str {
        match self {
            Reason::PrefixTooLong => "prefix is more specific than the exchange accepts",
            Reason::PrefixTooShort => "prefix is less specific than the exchange accepts",
            Reason::BogonPrefix => {
                "prefix is a bogon (special-purpose, the exchange's own LAN, or outside 2000::/3)"
            }
            Reason::BogonAsn => "AS path contains a private or reserved ASN",
            Reason::AsPathTooLong => "AS path is longer than the exchange accepts",
            Reason::FirstAsNotPeer => "left-most ASN of the AS path is not the member's ASN",
            Reason::NextHopNotPeer => "NEXT_HOP is not the member's own address on the peering LAN",
            Reason::IrrPrefix => "prefix is not covered by a route object of the member's AS-SET",
            Reason::IrrOrigin => "origin ASN is not in the member's AS-SET",
            Reason::RpkiInvalid => "RPKI origin validation says INVALID",
            Reason::TransitFree => "AS path contains a transit-free network that is not the member",
            Reason::AsSetInPath => "AS path contains an AS_SET (RFC 6472)",
            Reason::BlackholeNotAuthorized => {
                "blackhole request outside the member's authorised address space or not enabled"
            }
            Reason::AfiNotEnabled => "address family not enabled for this session",
            Reason::OtcLeak => "Only-to-Customer attribute shows a route leak (RFC 9234)",
            Reason::AspaInvalid => "ASPA path verification says INVALID",
        }
    }
}

/// A set of reasons (a route may fail several steps: all are kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reasons(u32);

impl Reasons {
    /// No reason: the route is accepted.
    pub const NONE: Reasons = Reasons(0);

    pub fn insert(&mut self, r: Reason) {
        self.0 |= 1 << (r as u8);
    }
    pub fn remove(&mut self, r: Reason) {
        self.0 &= !(1 << (r as u8));
    }
    pub fn contains(self, r: Reason) -> bool {
        self.0 & (1 << (r as u8)) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The reasons in filter order.
    pub fn iter(self) -> impl Iterator<Item = Reason> {
        ALL_REASONS.into_iter().filter(move |r| self.contains(*r))
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
}

impl FromIterator<Reason> for Reasons {
    fn from_iter<I: IntoIterator<Item = Reason>>(iter: I) -> Self {
        let mut s = Reasons::NONE;
        for r in iter {
            s.insert(r);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_reason_is_listed() {
        let mut codes: Vec<u32> = ALL_REASONS.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ALL_REASONS.len());
        let all: Reasons = ALL_REASONS.into_iter().collect();
        assert_eq!(all.len(), ALL_REASONS.len());
    }

    #[test]
    fn set_keeps_several_reasons_in_filter_order() {
        let mut s = Reasons::NONE;
        s.insert(Reason::RpkiInvalid);
        s.insert(Reason::NextHopNotPeer);
        assert!(s.contains(Reason::RpkiInvalid));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Reason::NextHopNotPeer, Reason::RpkiInvalid]
        );
        s.remove(Reason::RpkiInvalid);
        assert_eq!(s.len(), 1);
    }
}
