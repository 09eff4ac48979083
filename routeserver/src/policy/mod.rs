//! The import filter chain, per member (MANRS Action 1). A route failing a
//! step is kept as filtered with every reason it earned, never dropped.
//!
//! Order, as built: next hop, OTC (RFC 9234), first AS, AS path length, bogon ASNs, AS_SET,
//! transit-free ASNs, bogon prefixes, prefix length, blackhole, RPKI origin
//! validation, IRR, ASPA path verification.

pub mod bogons;
pub mod reasons;
pub mod verdict;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::aspa::{AspaMode, AspaTag};
use crate::irr::IrrMatch;
use crate::rib::export::{BLACKHOLE, GRACEFUL_SHUTDOWN};
use crate::rib::peers::PeerStatic;
use crate::rpki::{RpkiState, VrpSet};
use crate::wire::{AsSegment, Asn, NextHop, PathAttrs};
use bogons::{is_bogon_asn, Bogons};
use reasons::{Reason, Reasons};
use verdict::{IrrTag, RpkiTag, Verdict};

/// How strictly NEXT_HOP is checked (RFC 7948 4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHopMode {
    /// One of the member's own addresses on the LAN (or an authorised one).
    Strict,
    /// No check: the member announces for others on the LAN.
    Any,
}

/// How the BGP Role capability and the OTC attribute (RFC 9234) are used
/// with one member. The route server's role is RS, a member's RS-Client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoleMode {
    /// No Role capability, no OTC procedures.
    Off,
    /// Role RS announced; a member that sends a role must send RS-Client.
    #[default]
    On,
    /// As `On`, and a member that sends no role is refused.
    Strict,
}

impl RoleMode {
    /// True when the RFC 9234 section 5 OTC procedures apply to the member.
    pub fn otc(self) -> bool {
        self != RoleMode::Off
    }
}

/// The import settings of one neighbour: exchange defaults merged with the
/// member's overrides.
#[derive(Clone, Debug)]
pub struct PeerPolicy {
    pub next_hop: NextHopMode,
    /// Addresses NEXT_HOP may carry under `Strict`: the member's own LAN
    /// addresses plus the authorised ones.
    pub next_hops: Vec<IpAddr>,
    pub first_as: bool,
    pub max_as_path_len: usize,
    pub bogon_asns: bool,
    pub bogon_prefixes: bool,
    pub prefix_len_v4: (u8, u8),
    pub prefix_len_v6: (u8, u8),
    pub transit_free: bool,
    pub transit_free_asns: Arc<HashSet<Asn>>,
    pub rpki: bool,
    pub rpki_reject_invalid: bool,
    pub irr: bool,
    pub irr_more_specifics: bool,
    pub irr_accept_rpki_valid: bool,
    pub blackhole: bool,
    pub graceful_shutdown: bool,
    /// BGP Role check and OTC procedures.
    pub role: RoleMode,
    /// ASPA path verification (off, tag, filter).
    pub aspa: AspaMode,
}

impl Default for PeerPolicy {
    fn default() -> Self {
        PeerPolicy {
            next_hop: NextHopMode::Strict,
            next_hops: Vec::new(),
            first_as: true,
            max_as_path_len: 32,
            bogon_asns: true,
            bogon_prefixes: true,
            prefix_len_v4: (8, 24),
            prefix_len_v6: (12, 48),
            transit_free: true,
            transit_free_asns: Arc::new(
                [
                    174, 701, 1299, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762, 6830, 7018,
                    12956,
                ]
                .into_iter()
                .collect(),
            ),
            rpki: false,
            rpki_reject_invalid: true,
            irr: false,
            irr_more_specifics: false,
            irr_accept_rpki_valid: true,
            blackhole: true,
            graceful_shutdown: true,
            role: RoleMode::On,
            aspa: AspaMode::Off,
        }
    }
}

/// The exchange-wide part of the import policy and the data it reads.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub bogons: Bogons,
    /// The exchange's own peering LANs: never accepted from members.
    pub peering_lans: Vec<IpNet>,
    /// The VRPs in force (RTR caches and files merged).
    pub vrps: Arc<VrpSet>,
}

impl Policy {
    /// Run the filter chain for one route of one member.
    pub fn evaluate(&self, peer: &PeerStatic, prefix: &IpNet, attrs: &PathAttrs) -> Verdict {
        let pol = &peer.policy;
        let mut reasons = Reasons::NONE;
        let mut verdict = Verdict::default();

        // 1. NEXT_HOP is the member's own address.
        if pol.next_hop == NextHopMode::Strict {
            let nh = match attrs.next_hop {
                NextHop::V4(a) => IpAddr::V4(a),
                NextHop::V6 { global, .. } => IpAddr::V6(global),
            };
            if !pol.next_hops.contains(&nh) && nh != peer.address {
                reasons.insert(Reason::NextHopNotPeer);
            }
        }
        // 1b. Only to Customer (RFC 9234 section 5, ingress procedure 1): "If
        // a route with the OTC Attribute is received from a Customer or an
        // RS-Client, then it is a route leak and MUST be considered
        // ineligible". Every member is an RS-Client of the route server, so
        // any OTC value, the member's own included, marks a leak.
        if pol.role.otc() && attrs.otc.is_some() {
            reasons.insert(Reason::OtcLeak);
        }
        // 2. Left-most ASN is the member's.
        if pol.first_as && attrs.as_path.first_asn() != Some(peer.asn) {
            reasons.insert(Reason::FirstAsNotPeer);
        }
        // 3. AS path length, bogon ASNs, AS_SET (RFC 6472: not accepted).
        if attrs.as_path.decision_len() > pol.max_as_path_len {
            reasons.insert(Reason::AsPathTooLong);
        }
        if pol.bogon_asns && attrs.as_path.all_asns().any(is_bogon_asn) {
            reasons.insert(Reason::BogonAsn);
        }
        if attrs
            .as_path
            .segments
            .iter()
            .any(|s| !matches!(s, AsSegment::Sequence(_)))
        {
            reasons.insert(Reason::AsSetInPath);
        }
        // 4. Transit-free networks in the path other than the member itself: a
        // transit-free member may announce its own routes (with prepends), but
        // not another transit-free network's.
        if pol.transit_free
            && attrs
                .as_path
                .all_asns()
                .any(|a| a != peer.asn && pol.transit_free_asns.contains(&a))
        {
            reasons.insert(Reason::TransitFree);
        }
        // 5. Bogon prefixes, the exchange's own LANs (and more-specifics; an
        // aggregate of the member that covers the LAN is its own), prefix length.
        if pol.bogon_prefixes
            && (self.bogons.is_bogon(prefix)
                || self.peering_lans.iter().any(|lan| lan.contains(prefix)))
        {
            reasons.insert(Reason::BogonPrefix);
        }
        let blackhole_request = attrs.communities.contains(&BLACKHOLE);
        if blackhole_request {
            if pol.blackhole {
                verdict.blackhole = true;
            } else {
                reasons.insert(Reason::BlackholeNotAuthorized);
            }
        }
        let (min, max) = match prefix {
            IpNet::V4(_) => pol.prefix_len_v4,
            IpNet::V6(_) => pol.prefix_len_v6,
        };
        let len = prefix.prefix_len();
        if len < min {
            reasons.insert(Reason::PrefixTooShort);
        } else if len > max && !verdict.blackhole {
            reasons.insert(Reason::PrefixTooLong);
        }
        // 6. RPKI origin validation (RFC 6811). Blackhole requests are
        // more specific than any ROA allows and are not validated.
        let origin = attrs.as_path.origin_asn();
        verdict.rpki = RpkiTag::NotChecked;
        if pol.rpki && !verdict.blackhole {
            verdict.rpki = match self.vrps.validate(prefix, origin) {
                RpkiState::Valid => RpkiTag::Valid,
                RpkiState::NotFound => RpkiTag::NotFound,
                RpkiState::Invalid => {
                    if pol.rpki_reject_invalid {
                        reasons.insert(Reason::RpkiInvalid);
                    }
                    RpkiTag::Invalid
                }
            };
        }
        // 7. IRR: origin in the member's AS-SET, prefix covered by a route
        // object of it; an RPKI VALID route may stand in for a missing object.
        verdict.irr = IrrTag::NotChecked;
        if let (true, Some(irr)) = (pol.irr, &peer.irr) {
            let mode = if verdict.blackhole {
                IrrMatch::MoreSpecifics {
                    max_len_v4: 32,
                    max_len_v6: 128,
                }
            } else if pol.irr_more_specifics {
                IrrMatch::MoreSpecifics {
                    max_len_v4: pol.prefix_len_v4.1,
                    max_len_v6: pol.prefix_len_v6.1,
                }
            } else {
                IrrMatch::Exact
            };
            let v = irr.check(prefix, origin, mode);
            verdict.irr = if v.origin_ok && v.prefix_ok {
                IrrTag::Valid
            } else if pol.irr_accept_rpki_valid && verdict.rpki == RpkiTag::Valid {
                IrrTag::ValidByRpki
            } else {
                if !v.origin_ok {
                    reasons.insert(Reason::IrrOrigin);
                }
                if !v.prefix_ok {
                    reasons.insert(Reason::IrrPrefix);
                    // A blackhole outside the member's registered space.
                    if verdict.blackhole {
                        reasons.insert(Reason::BlackholeNotAuthorized);
                    }
                }
                IrrTag::Invalid
            };
        }
        // 8. ASPA upstream path verification: the member is an RS-client of
        // the route server (see crate::aspa for how the draft applies).
        verdict.aspa = AspaTag::NotChecked;
        if pol.aspa != AspaMode::Off {
            let tag = AspaTag::from(self.vrps.aspas().verify_upstream(&attrs.as_path, peer.asn));
            if tag == AspaTag::Invalid && pol.aspa == AspaMode::Filter {
                reasons.insert(Reason::AspaInvalid);
            }
            verdict.aspa = tag;
        }
        verdict.gshut = pol.graceful_shutdown && attrs.communities.contains(&GRACEFUL_SHUTDOWN);
        verdict.reasons = reasons;
        verdict
    }
}
