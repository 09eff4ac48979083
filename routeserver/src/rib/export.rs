//! Per-member export: which paths a member may receive, and the attributes
//! it receives them with. Announcement control follows the community scheme
//! of arouteserver (documented in the README):
//!
//! | function                       | standard          | large            |
//! |--------------------------------|-------------------|------------------|
//! | do not announce to any member  | `0:RS`            | `RS:0:0`         |
//! | do not announce to peer        | `0:peer`          | `RS:0:peer`      |
//! | announce only to peer          | `RS:peer`         | `RS:1:peer`      |
//! | prepend 1..3 times to any      | `65501..65503:RS` | `RS:101..103:0`  |
//! | prepend 1..3 times to peer     | `65511..65513:peer` | `RS:101..103:peer` |
//! | add NO_EXPORT to peer          | `65281:peer`      | `RS:65281:peer`  |
//! | add NO_ADVERTISE to peer       | `65282:peer`      | `RS:65282:peer`  |
//!
//! Towards a member with the RFC 9234 procedures on, a route without the
//! Only to Customer attribute gets OTC = the route server's ASN (RFC 9234
//! section 5, egress procedure 1); an OTC already present is never changed.
//!
//! Control communities are removed before export. "Announce only to"
//! communities restrict the route to the listed members; a member listed
//! both as "do not announce" and "announce to" does not receive it.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::policy::verdict::{IrrTag, RpkiTag};
use crate::wire::{Asn, LargeCommunity, NextHop, PathAttrs};

/// RFC 1997 NO_EXPORT.
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// RFC 1997 NO_ADVERTISE.
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// RFC 7999 BLACKHOLE.
pub const BLACKHOLE: u32 = 0xFFFF_029A;
/// RFC 8326 GRACEFUL_SHUTDOWN.
pub const GRACEFUL_SHUTDOWN: u32 = 0xFFFF_0000;

/// Exchange-wide export settings.
#[derive(Clone, Debug)]
pub struct ExportConfig {
    pub rs_asn: Asn,
    pub blackhole_v4: Option<Ipv4Addr>,
    pub blackhole_v6: Option<Ipv6Addr>,
    /// Add the informational RPKI/IRR large communities to exported routes.
    pub tag_info: bool,
    /// Members (by ASN) with the RFC 9234 OTC procedures on: routes without
    /// OTC get OTC = `rs_asn` towards them.
    pub otc_to: Arc<HashSet<Asn>>,
}

/// What the route server knows about a member it exports to.
#[derive(Clone, Debug)]
pub struct ExportTarget {
    pub asn: Asn,
    pub ipv4: bool,
    pub ipv6: bool,
    pub blackhole_opt_in: bool,
}

fn std_parts(c: u32) -> (u32, u32) {
    (c >> 16, c & 0xFFFF)
}

/// True when the announcement-control communities of `attrs` let the route
/// go to a member with ASN `dst`.
pub fn control_allows(attrs: &PathAttrs, rs_asn: Asn, dst: Asn) -> bool {
    let mut block_all = false;
    let mut blocked = false;
    let mut only_to_any = false;
    let mut only_to_dst = false;
    for &c in &attrs.communities {
        let (hi, lo) = std_parts(c);
        if hi == 0 {
            if lo == rs_asn {
                block_all = true;
            } else if lo == dst {
                blocked = true;
            }
        } else if hi == rs_asn && hi != 0 {
            only_to_any = true;
            if lo == dst {
                only_to_dst = true;
            }
        }
    }
    for lc in &attrs.large_communities {
        if lc.global != rs_asn {
            continue;
        }
        match (lc.local1, lc.local2) {
            (0, 0) => block_all = true,
            (0, p) if p == dst => blocked = true,
            (1, p) => {
                only_to_any = true;
                if p == dst {
                    only_to_dst = true;
                }
            }
            _ => {}
        }
    }
    if blocked {
        return false;
    }
    if only_to_any {
        return only_to_dst;
    }
    !block_all
}

fn is_control_std(c: u32, rs_asn: Asn) -> bool {
    let (hi, _) = std_parts(c);
    hi == 0
        || hi == rs_asn
        || (65501..=65503).contains(&hi)
        || (65511..=65513).contains(&hi)
        || hi == 65281
        || hi == 65282
}

fn is_control_large(lc: &LargeCommunity, rs_asn: Asn) -> bool {
    lc.global == rs_asn
}

/// How often to prepend the announcing member's ASN towards `dst`.
fn prepend_count(attrs: &PathAttrs, rs_asn: Asn, dst: Asn) -> usize {
    let mut to_any = 0;
    let mut to_dst = 0;
    for &c in &attrs.communities {
        let (hi, lo) = std_parts(c);
        if (65511..=65513).contains(&hi) && lo == dst {
            to_dst = to_dst.max(hi - 65510);
        } else if (65501..=65503).contains(&hi) && lo == rs_asn {
            to_any = to_any.max(hi - 65500);
        }
    }
    for lc in &attrs.large_communities {
        if lc.global == rs_asn && (101..=103).contains(&lc.local1) {
            if lc.local2 == dst {
                to_dst = to_dst.max(lc.local1 - 100);
            } else if lc.local2 == 0 {
                to_any = to_any.max(lc.local1 - 100);
            }
        }
    }
    (if to_dst > 0 { to_dst } else { to_any }) as usize
}

/// Extra well-known communities the member asked to add towards `dst`.
fn added_communities(attrs: &PathAttrs, rs_asn: Asn, dst: Asn) -> Vec<u32> {
    let mut out = Vec::new();
    for &c in &attrs.communities {
        let (hi, lo) = std_parts(c);
        if lo == dst && hi == 65281 {
            out.push(NO_EXPORT);
        } else if lo == dst && hi == 65282 {
            out.push(NO_ADVERTISE);
        }
    }
    for lc in &attrs.large_communities {
        if lc.global == rs_asn && lc.local2 == dst {
            match lc.local1 {
                65281 => out.push(NO_EXPORT),
                65282 => out.push(NO_ADVERTISE),
                _ => {}
            }
        }
    }
    out
}

/// Does the route carry any community the export step acts on? Routes
/// without one are sent with their attributes unchanged.
pub fn needs_rewrite(attrs: &PathAttrs, cfg: &ExportConfig, blackhole: bool) -> bool {
    blackhole
        || cfg.tag_info
        || (attrs.otc.is_none() && !cfg.otc_to.is_empty())
        || attrs
            .communities
            .iter()
            .any(|&c| is_control_std(c, cfg.rs_asn))
        || attrs
            .large_communities
            .iter()
            .any(|lc| is_control_large(lc, cfg.rs_asn))
}

/// The attributes a member receives: control communities removed,
/// prepends applied, blackhole next hop and NO_EXPORT set, informational
/// tags added, OTC added where RFC 9234 requires it. NEXT_HOP, MED, other
/// communities and an existing OTC are passed unchanged.
pub fn export_attrs(
    attrs: &PathAttrs,
    cfg: &ExportConfig,
    dst: Asn,
    rpki: RpkiTag,
    irr: IrrTag,
    blackhole: bool,
) -> PathAttrs {
    let mut out = attrs.clone();
    let prepend = prepend_count(attrs, cfg.rs_asn, dst);
    if prepend > 0 {
        if let Some(first) = attrs.as_path.first_asn() {
            out.as_path = attrs.as_path.prepended(first, prepend);
        }
    }
    let added = added_communities(attrs, cfg.rs_asn, dst);
    out.communities.retain(|&c| !is_control_std(c, cfg.rs_asn));
    out.large_communities
        .retain(|lc| !is_control_large(lc, cfg.rs_asn));
    for c in added {
        if !out.communities.contains(&c) {
            out.communities.push(c);
        }
    }
    if blackhole {
        match out.next_hop {
            NextHop::V4(_) => {
                if let Some(nh) = cfg.blackhole_v4 {
                    out.next_hop = NextHop::V4(nh);
                }
            }
            NextHop::V6 { .. } => {
                if let Some(nh) = cfg.blackhole_v6 {
                    out.next_hop = NextHop::V6 {
                        global: nh,
                        link_local: None,
                    };
                }
            }
        }
        if !out.communities.contains(&NO_EXPORT) {
            out.communities.push(NO_EXPORT);
        }
    }
    // RFC 9234 section 5, egress procedure 1: "If a route is to be
    // advertised to a Customer, a Peer, or an RS-Client (when the sender is
    // an RS), and the OTC Attribute is not present, then when advertising the
    // route, an OTC Attribute MUST be added with a value equal to the AS
    // number of the local AS." The local AS is the route server's, also for
    // a transparent one. "Once the OTC Attribute has been set, it MUST be
    // preserved unchanged": a present OTC is kept as it is. Egress procedure
    // 2 (no OTC routes to Providers, Peers, RSes) has no case here: every
    // member is an RS-Client.
    if out.otc.is_none() && cfg.otc_to.contains(&dst) {
        out.otc = Some(cfg.rs_asn);
    }
    if cfg.tag_info {
        out.large_communities.push(LargeCommunity {
            global: cfg.rs_asn,
            local1: 1000,
            local2: rpki.community(),
        });
        out.large_communities.push(LargeCommunity {
            global: cfg.rs_asn,
            local1: 1001,
            local2: irr.community(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AsPath, Origin};

    fn attrs(communities: Vec<u32>, large: Vec<(u32, u32, u32)>) -> PathAttrs {
        PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath::from_sequence(vec![1659, 3356]),
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)),
            med: Some(10),
            local_pref: None,
            atomic_aggregate: false,
            aggregator: None,
            communities,
            ext_communities: vec![],
            large_communities: large
                .into_iter()
                .map(|(g, a, b)| LargeCommunity {
                    global: g,
                    local1: a,
                    local2: b,
                })
                .collect(),
            otc: None,
            unknown: vec![],
        }
    }

    const RS: u32 = 64500;

    #[test]
    fn no_control_community_goes_everywhere() {
        assert!(control_allows(
            &attrs(vec![(1659 << 16) | 100], vec![]),
            RS,
            7539
        ));
    }

    #[test]
    fn do_not_announce_to_peer_std_and_large() {
        let a = attrs(vec![7539], vec![]);
        assert!(!control_allows(&a, RS, 7539));
        assert!(control_allows(&a, RS, 9264));
        let a = attrs(vec![], vec![(RS, 0, 7539)]);
        assert!(!control_allows(&a, RS, 7539));
        assert!(control_allows(&a, RS, 9264));
    }

    #[test]
    fn announce_to_none_and_only_to() {
        let a = attrs(vec![RS], vec![]);
        assert!(!control_allows(&a, RS, 7539));
        let a = attrs(vec![RS, (RS << 16) | 7539], vec![]);
        assert!(control_allows(&a, RS, 7539));
        assert!(!control_allows(&a, RS, 9264));
        let a = attrs(vec![], vec![(RS, 1, 4_200_000_001)]);
        assert!(control_allows(&a, RS, 4_200_000_001));
        assert!(!control_allows(&a, RS, 9264));
        // Conflicting: listed as both allowed and blocked: not announced.
        let a = attrs(vec![7539, (RS << 16) | 7539], vec![]);
        assert!(!control_allows(&a, RS, 7539));
    }

    #[test]
    fn export_strips_control_and_prepends() {
        let cfg = ExportConfig {
            rs_asn: RS,
            blackhole_v4: None,
            blackhole_v6: None,
            tag_info: false,
            otc_to: Arc::default(),
        };
        let a = attrs(
            vec![(65512 << 16) | 7539, (1659 << 16) | 5, 9264],
            vec![(RS, 103, 0), (1659, 1, 2)],
        );
        let to_twaren = export_attrs(&a, &cfg, 7539, RpkiTag::Valid, IrrTag::Valid, false);
        assert_eq!(
            to_twaren.as_path,
            AsPath::from_sequence(vec![1659, 1659, 1659, 3356])
        );
        assert_eq!(to_twaren.communities, vec![(1659 << 16) | 5]);
        assert_eq!(
            to_twaren.large_communities,
            vec![LargeCommunity {
                global: 1659,
                local1: 1,
                local2: 2
            }]
        );
        let to_asnet = export_attrs(&a, &cfg, 4782, RpkiTag::Valid, IrrTag::Valid, false);
        assert_eq!(to_asnet.as_path.decision_len(), 5);
        assert_eq!(to_asnet.next_hop, a.next_hop);
        assert_eq!(to_asnet.med, Some(10));
    }

    #[test]
    fn blackhole_rewrites_next_hop_and_adds_no_export() {
        let cfg = ExportConfig {
            rs_asn: RS,
            blackhole_v4: Some(Ipv4Addr::new(192, 0, 2, 66)),
            blackhole_v6: None,
            tag_info: true,
            otc_to: Arc::default(),
        };
        let a = attrs(vec![BLACKHOLE], vec![]);
        let out = export_attrs(&a, &cfg, 7539, RpkiTag::NotChecked, IrrTag::Valid, true);
        assert_eq!(out.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 66)));
        assert!(out.communities.contains(&NO_EXPORT) && out.communities.contains(&BLACKHOLE));
        assert!(out.large_communities.contains(&LargeCommunity {
            global: RS,
            local1: 1000,
            local2: 3
        }));
    }

    #[test]
    fn otc_is_added_towards_rs_clients_and_never_changed() {
        let cfg = ExportConfig {
            rs_asn: RS,
            blackhole_v4: None,
            blackhole_v6: None,
            tag_info: false,
            otc_to: Arc::new([7539].into_iter().collect()),
        };
        let a = attrs(vec![], vec![]);
        assert!(needs_rewrite(&a, &cfg, false));
        let out = export_attrs(
            &a,
            &cfg,
            7539,
            RpkiTag::NotChecked,
            IrrTag::NotChecked,
            false,
        );
        assert_eq!(out.otc, Some(RS));
        assert_eq!(PathAttrs { otc: None, ..out }, a, "nothing else changes");
        // A member with `role: off` gets the route as it was.
        let out = export_attrs(
            &a,
            &cfg,
            9264,
            RpkiTag::NotChecked,
            IrrTag::NotChecked,
            false,
        );
        assert_eq!(out.otc, None);
        // An OTC already set is kept unchanged (RFC 9234 section 5).
        let mut b = a.clone();
        b.otc = Some(1659);
        assert!(!needs_rewrite(&b, &cfg, false));
        let out = export_attrs(
            &b,
            &cfg,
            7539,
            RpkiTag::NotChecked,
            IrrTag::NotChecked,
            false,
        );
        assert_eq!(out.otc, Some(1659));
        // No member with OTC procedures: routes go out untouched.
        let none = ExportConfig {
            otc_to: Arc::default(),
            ..cfg
        };
        assert!(!needs_rewrite(&a, &none, false));
    }
}
