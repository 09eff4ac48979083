//! The import filter chain, one step at a time, with the edge cases of each: exact bounds,
//! IPv4-mapped prefixes, AS0, transit-free members, third-party next hops, blackholes
//! outside the member's IRR space. Every test asserts the exact set of reasons.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

use super::reasons::Reason::{self, *};
use super::verdict::{IrrTag, RpkiTag, Verdict};
use super::{NextHopMode, PeerPolicy, Policy, RoleMode};
use crate::irr::{MemberIrr, PrefixList};
use crate::rib::export::{BLACKHOLE, GRACEFUL_SHUTDOWN};
use crate::rib::peers::PeerStatic;
use crate::rpki::{Vrp, VrpSet};
use crate::wire::{AsPath, AsSegment, NextHop, Origin, PathAttrs};

const TANET: u32 = 1659;
const CUSTOMER: u32 = 17716;
const TANET_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
const TANET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 11);
const OTHER_MEMBER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 13);

fn p(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// TANet's IPv4 session: its own addresses as next hops, `pol` tweaked by `f`.
fn peer_with(asn: u32, f: impl FnOnce(&mut PeerPolicy), irr: Option<MemberIrr>) -> PeerStatic {
    let mut pol = PeerPolicy {
        next_hops: vec![IpAddr::V4(TANET_V4), IpAddr::V6(TANET_V6)],
        ..PeerPolicy::default()
    };
    f(&mut pol);
    PeerStatic {
        id: 0,
        member: Arc::from("TANet"),
        asn,
        address: IpAddr::V4(TANET_V4),
        max_prefix_v4: None,
        max_prefix_v6: None,
        max_prefix_enforce: true,
        blackhole_opt_in: false,
        policy: Arc::new(pol),
        irr: irr.map(Arc::new),
    }
}

fn peer() -> PeerStatic {
    peer_with(TANET, |_| {}, None)
}

fn attrs_nh(path: &[u32], nh: NextHop, communities: Vec<u32>) -> PathAttrs {
    PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(path.to_vec()),
        next_hop: nh,
        med: None,
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities,
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    }
}

fn attrs(path: &[u32]) -> PathAttrs {
    attrs_nh(path, NextHop::V4(TANET_V4), vec![])
}

fn v6_attrs(path: &[u32]) -> PathAttrs {
    attrs_nh(
        path,
        NextHop::V6 {
            global: TANET_V6,
            link_local: None,
        },
        vec![],
    )
}

fn reasons(v: &Verdict) -> Vec<Reason> {
    v.reasons.iter().collect()
}

fn eval(peer: &PeerStatic, prefix: &str, a: &PathAttrs) -> Vec<Reason> {
    reasons(&Policy::default().evaluate(peer, &p(prefix), a))
}

fn irr(origins: &[u32], prefixes: &[&str]) -> MemberIrr {
    MemberIrr {
        origins: origins.iter().copied().collect::<HashSet<_>>(),
        prefixes: PrefixList::from_prefixes(prefixes.iter().map(|s| p(s))),
    }
}

fn vrps(list: &[(&str, u8, u32)]) -> Arc<VrpSet> {
    Arc::new(
        list.iter()
            .map(|(pfx, max, asn)| Vrp::new(p(pfx), *max, *asn).unwrap())
            .collect(),
    )
}

#[test]
fn a_clean_route_passes_and_is_not_checked_against_off_sources() {
    let v = Policy::default().evaluate(&peer(), &p("140.128.0.0/16"), &attrs(&[TANET]));
    assert!(v.accepted());
    assert_eq!(v.rpki, RpkiTag::NotChecked);
    assert_eq!(v.irr, IrrTag::NotChecked);
    assert!(!v.blackhole && !v.gshut);
}

#[test]
fn next_hop_must_be_the_members_own_address() {
    let pr = peer();
    let nh = |a: Ipv4Addr| attrs_nh(&[TANET], NextHop::V4(a), vec![]);
    assert!(eval(&pr, "140.128.0.0/16", &nh(TANET_V4)).is_empty());
    // Another member's address on the LAN: a third-party next hop nobody authorised.
    assert_eq!(
        eval(&pr, "140.128.0.0/16", &nh(OTHER_MEMBER_V4)),
        [NextHopNotPeer]
    );
    assert_eq!(
        eval(&pr, "140.128.0.0/16", &nh(Ipv4Addr::new(192, 0, 2, 66))),
        [NextHopNotPeer]
    );
    // The member's IPv6 address is its own even on an IPv4-learned session.
    assert!(eval(&pr, "2001:288::/32", &v6_attrs(&[TANET])).is_empty());
    // An IPv4-mapped IPv6 next hop is not the member's IPv4 address.
    let mapped = attrs_nh(
        &[TANET],
        NextHop::V6 {
            global: TANET_V4.to_ipv6_mapped(),
            link_local: None,
        },
        vec![],
    );
    assert_eq!(eval(&pr, "2001:288::/32", &mapped), [NextHopNotPeer]);
    // Authorised next hops and `any` mode.
    let auth = peer_with(TANET, |p| p.next_hops.push(OTHER_MEMBER_V4.into()), None);
    assert!(eval(&auth, "140.128.0.0/16", &nh(OTHER_MEMBER_V4)).is_empty());
    let any = peer_with(TANET, |p| p.next_hop = NextHopMode::Any, None);
    assert!(eval(&any, "140.128.0.0/16", &nh(OTHER_MEMBER_V4)).is_empty());
}

#[test]
fn first_as_must_be_the_members() {
    let pr = peer();
    assert_eq!(
        eval(&pr, "140.128.0.0/16", &attrs(&[4780, TANET])),
        [FirstAsNotPeer]
    );
    // An empty path (an iBGP-style announcement) has no first AS either.
    assert_eq!(eval(&pr, "140.128.0.0/16", &attrs(&[])), [FirstAsNotPeer]);
    // Prepends of the member's own ASN are fine.
    assert!(eval(&pr, "140.128.0.0/16", &attrs(&[TANET, TANET, CUSTOMER])).is_empty());
    let off = peer_with(TANET, |p| p.first_as = false, None);
    assert!(eval(&off, "140.128.0.0/16", &attrs(&[4780, TANET])).is_empty());
}

#[test]
fn as_path_length_bound_is_inclusive() {
    let pr = peer();
    let mut path = vec![TANET; 31];
    path.push(CUSTOMER);
    assert_eq!(path.len(), 32);
    assert!(eval(&pr, "140.128.0.0/16", &attrs(&path)).is_empty());
    path.insert(0, TANET);
    assert_eq!(eval(&pr, "140.128.0.0/16", &attrs(&path)), [AsPathTooLong]);
}

#[test]
fn bogon_asns_anywhere_in_the_path() {
    let pr = peer();
    for bogon in [
        0,
        23456,
        64496,
        64512,
        65535,
        65536,
        4_200_000_000,
        u32::MAX,
    ] {
        assert_eq!(
            eval(&pr, "140.128.0.0/16", &attrs(&[TANET, bogon, CUSTOMER])),
            [BogonAsn],
            "AS{bogon} in the middle"
        );
        assert_eq!(
            eval(&pr, "140.128.0.0/16", &attrs(&[TANET, bogon])),
            [BogonAsn],
            "AS{bogon} as origin"
        );
    }
    // AS0 inside an AS_SET is found too.
    let mut a = attrs(&[TANET]);
    a.as_path.segments.push(AsSegment::Set(vec![0, CUSTOMER]));
    assert_eq!(eval(&pr, "140.128.0.0/16", &a), [BogonAsn, AsSetInPath]);
    // Public 4-octet ASNs are not bogons.
    assert!(eval(
        &pr,
        "140.128.0.0/16",
        &attrs(&[TANET, 131072, 4_199_999_999])
    )
    .is_empty());
    let off = peer_with(TANET, |p| p.bogon_asns = false, None);
    assert!(eval(&off, "140.128.0.0/16", &attrs(&[TANET, 64512])).is_empty());
}

#[test]
fn as_set_is_not_accepted() {
    let mut a = attrs(&[TANET]);
    a.as_path
        .segments
        .push(AsSegment::Set(vec![CUSTOMER, 9264]));
    assert_eq!(eval(&peer(), "140.128.0.0/16", &a), [AsSetInPath]);
    // A path that starts with an AS_SET has no first AS.
    let b = PathAttrs {
        as_path: AsPath {
            segments: vec![AsSegment::Set(vec![TANET])],
        },
        ..attrs(&[])
    };
    assert_eq!(
        eval(&peer(), "140.128.0.0/16", &b),
        [FirstAsNotPeer, AsSetInPath]
    );
}

#[test]
fn transit_free_asns_behind_a_member() {
    let pr = peer();
    assert_eq!(
        eval(&pr, "140.128.0.0/16", &attrs(&[TANET, 3356, CUSTOMER])),
        [TransitFree]
    );
    assert_eq!(
        eval(&pr, "140.128.0.0/16", &attrs(&[TANET, 174])),
        [TransitFree]
    );
    // A transit-free member announcing its own routes, prepended or with customers.
    let lumen = peer_with(3356, |_| {}, None);
    assert!(eval(&lumen, "4.0.0.0/9", &attrs(&[3356])).is_empty());
    assert!(eval(&lumen, "4.0.0.0/9", &attrs(&[3356, 3356, 3356])).is_empty());
    assert!(eval(&lumen, "4.0.0.0/9", &attrs(&[3356, CUSTOMER])).is_empty());
    // ... but not another transit-free network's routes: that is a leak between them.
    assert_eq!(
        eval(&lumen, "38.0.0.0/8", &attrs(&[3356, 174])),
        [TransitFree]
    );
    let off = peer_with(TANET, |p| p.transit_free = false, None);
    assert!(eval(&off, "140.128.0.0/16", &attrs(&[TANET, 3356, CUSTOMER])).is_empty());
    // The list is the member's configured one.
    let custom = peer_with(
        TANET,
        |p| p.transit_free_asns = Arc::new([CUSTOMER].into_iter().collect()),
        None,
    );
    assert_eq!(
        eval(&custom, "140.128.0.0/16", &attrs(&[TANET, CUSTOMER])),
        [TransitFree]
    );
    assert!(eval(&custom, "140.128.0.0/16", &attrs(&[TANET, 3356])).is_empty());
}

#[test]
fn bogon_prefixes_including_ipv4_mapped_and_default_routes() {
    let pr = peer();
    let a = attrs(&[TANET]);
    assert_eq!(eval(&pr, "10.10.0.0/16", &a), [BogonPrefix]);
    assert_eq!(eval(&pr, "192.168.0.0/16", &a), [BogonPrefix]);
    assert_eq!(eval(&pr, "0.0.0.0/0", &a), [BogonPrefix, PrefixTooShort]);
    let a6 = v6_attrs(&[TANET]);
    assert_eq!(eval(&pr, "::/0", &a6), [BogonPrefix, PrefixTooShort]);
    assert_eq!(eval(&pr, "fc00:1::/32", &a6), [BogonPrefix]);
    assert_eq!(eval(&pr, "2001:db8:1::/48", &a6), [BogonPrefix]);
    // IPv4-mapped and IPv4-compatible IPv6 prefixes are outside 2000::/3, whatever IPv4
    // space they embed; they are too long for IPv6 as well.
    assert_eq!(
        eval(&pr, "::ffff:140.128.0.0/112", &a6),
        [BogonPrefix, PrefixTooLong]
    );
    assert_eq!(
        eval(&pr, "::ffff:0:0/96", &a6),
        [BogonPrefix, PrefixTooLong]
    );
    assert_eq!(
        eval(&pr, "::140.128.0.0/112", &a6),
        [BogonPrefix, PrefixTooLong]
    );
    let off = peer_with(TANET, |p| p.bogon_prefixes = false, None);
    assert!(eval(&off, "10.10.0.0/16", &a).is_empty());
}

#[test]
fn the_exchange_lan_and_its_more_specifics_are_refused_but_not_a_covering_aggregate() {
    // A LAN numbered from a member's public space (not a bogon range).
    let policy = Policy {
        peering_lans: vec![p("140.110.240.0/24"), p("2001:e10:ff::/64")],
        ..Policy::default()
    };
    let pr = peer();
    let a = attrs(&[TANET]);
    let ev = |s: &str, a: &PathAttrs| reasons(&policy.evaluate(&pr, &p(s), a));
    assert_eq!(ev("140.110.240.0/24", &a), [BogonPrefix]);
    assert_eq!(ev("140.110.240.0/25", &a), [BogonPrefix, PrefixTooLong]);
    assert_eq!(
        ev("2001:e10:ff::/64", &v6_attrs(&[TANET])),
        [BogonPrefix, PrefixTooLong]
    );
    // The member's aggregate that contains the LAN is its own, legitimate route.
    assert!(ev("140.110.0.0/16", &a).is_empty());
    assert!(ev("2001:e10::/32", &v6_attrs(&[TANET])).is_empty());
}

#[test]
fn prefix_length_bounds_are_inclusive() {
    let pr = peer();
    let a = attrs(&[TANET]);
    assert!(eval(&pr, "140.0.0.0/8", &a).is_empty());
    assert!(eval(&pr, "140.128.1.0/24", &a).is_empty());
    assert_eq!(eval(&pr, "140.0.0.0/7", &a), [PrefixTooShort]);
    assert_eq!(eval(&pr, "140.128.1.0/25", &a), [PrefixTooLong]);
    assert_eq!(eval(&pr, "140.128.1.1/32", &a), [PrefixTooLong]);
    let a6 = v6_attrs(&[TANET]);
    assert!(eval(&pr, "2400::/12", &a6).is_empty());
    assert!(eval(&pr, "2001:288:1::/48", &a6).is_empty());
    assert_eq!(eval(&pr, "2400::/11", &a6), [PrefixTooShort]);
    assert_eq!(eval(&pr, "2001:288:1::/49", &a6), [PrefixTooLong]);
    // A member's own bounds.
    let narrow = peer_with(
        TANET,
        |p| {
            p.prefix_len_v4 = (16, 22);
            p.prefix_len_v6 = (32, 32);
        },
        None,
    );
    assert!(eval(&narrow, "140.128.0.0/16", &a).is_empty());
    assert!(eval(&narrow, "140.128.0.0/22", &a).is_empty());
    assert_eq!(eval(&narrow, "140.128.0.0/23", &a), [PrefixTooLong]);
    assert_eq!(eval(&narrow, "140.0.0.0/15", &a), [PrefixTooShort]);
    assert!(eval(&narrow, "2001:288::/32", &a6).is_empty());
    assert_eq!(eval(&narrow, "2001:288::/33", &a6), [PrefixTooLong]);
}

#[test]
fn rpki_origin_validation() {
    let policy = Policy {
        vrps: vrps(&[("140.128.0.0/16", 20, TANET), ("163.28.24.0/24", 24, 4780)]),
        ..Policy::default()
    };
    let on = peer_with(TANET, |p| p.rpki = true, None);
    let ev = |pr: &PeerStatic, s: &str, a: &PathAttrs| policy.evaluate(pr, &p(s), a);
    let a = attrs(&[TANET]);
    let v = ev(&on, "140.128.0.0/16", &a);
    assert!(v.accepted());
    assert_eq!(v.rpki, RpkiTag::Valid);
    // Up to maxLength exactly; one bit longer is INVALID.
    assert_eq!(ev(&on, "140.128.16.0/20", &a).rpki, RpkiTag::Valid);
    let v = ev(&on, "140.128.16.0/21", &a);
    assert_eq!((reasons(&v), v.rpki), (vec![RpkiInvalid], RpkiTag::Invalid));
    let v = ev(&on, "163.28.24.0/24", &a);
    assert_eq!((reasons(&v), v.rpki), (vec![RpkiInvalid], RpkiTag::Invalid));
    let v = ev(&on, "163.28.0.0/16", &a);
    assert!(v.accepted());
    assert_eq!(v.rpki, RpkiTag::NotFound);
    // An AS_SET origin has no single origin: INVALID when covered.
    let mut set = attrs(&[TANET]);
    set.as_path.segments.push(AsSegment::Set(vec![TANET]));
    assert_eq!(
        reasons(&ev(&on, "140.128.0.0/16", &set)),
        [AsSetInPath, RpkiInvalid]
    );
    // Tag only, when invalid routes are not rejected.
    let tag_only = peer_with(
        TANET,
        |p| {
            p.rpki = true;
            p.rpki_reject_invalid = false;
        },
        None,
    );
    let v = ev(&tag_only, "163.28.24.0/24", &a);
    assert!(v.accepted());
    assert_eq!(v.rpki, RpkiTag::Invalid);
    // IPv4 VRPs do not cover IPv4-mapped IPv6 prefixes.
    let v = ev(&on, "::ffff:140.128.0.0/112", &v6_attrs(&[TANET]));
    assert_eq!(v.rpki, RpkiTag::NotFound);
    assert!(!v.reasons.contains(RpkiInvalid));
}

#[test]
fn irr_origin_and_prefix_checks() {
    let member_irr = || irr(&[TANET, CUSTOMER], &["140.128.0.0/16", "163.28.0.0/16"]);
    let policy = Policy {
        vrps: vrps(&[("140.129.0.0/16", 16, TANET)]),
        ..Policy::default()
    };
    let pr = peer_with(
        TANET,
        |p| {
            p.irr = true;
            p.rpki = true;
        },
        Some(member_irr()),
    );
    let ev = |pr: &PeerStatic, s: &str, path: &[u32]| policy.evaluate(pr, &p(s), &attrs(path));
    let v = ev(&pr, "140.128.0.0/16", &[TANET, CUSTOMER]);
    assert!(v.accepted());
    assert_eq!(v.irr, IrrTag::Valid);
    let v = ev(&pr, "140.128.0.0/16", &[TANET, 4780]);
    assert_eq!((reasons(&v), v.irr), (vec![IrrOrigin], IrrTag::Invalid));
    let v = ev(&pr, "140.130.0.0/16", &[TANET]);
    assert_eq!((reasons(&v), v.irr), (vec![IrrPrefix], IrrTag::Invalid));
    assert_eq!(
        reasons(&ev(&pr, "140.130.0.0/16", &[TANET, 4780])),
        [IrrOrigin, IrrPrefix]
    );
    // Exact match only by default: a more-specific of a route object fails.
    assert_eq!(reasons(&ev(&pr, "140.128.1.0/24", &[TANET])), [IrrPrefix]);
    // No route object, but RPKI VALID stands in for it.
    let v = ev(&pr, "140.129.0.0/16", &[TANET]);
    assert!(v.accepted());
    assert_eq!((v.rpki, v.irr), (RpkiTag::Valid, IrrTag::ValidByRpki));
    let strict = peer_with(
        TANET,
        |p| {
            p.irr = true;
            p.rpki = true;
            p.irr_accept_rpki_valid = false;
        },
        Some(member_irr()),
    );
    assert_eq!(
        reasons(&ev(&strict, "140.129.0.0/16", &[TANET])),
        [IrrPrefix]
    );
    // More-specifics up to the prefix-length limit when enabled.
    let longer = peer_with(
        TANET,
        |p| {
            p.irr = true;
            p.irr_more_specifics = true;
        },
        Some(member_irr()),
    );
    assert!(ev(&longer, "140.128.1.0/24", &[TANET]).accepted());
    // Without IRR data for the member the check does not run.
    let no_data = peer_with(TANET, |p| p.irr = true, None);
    let v = ev(&no_data, "140.130.0.0/16", &[TANET]);
    assert!(v.accepted());
    assert_eq!(v.irr, IrrTag::NotChecked);
}

#[test]
fn blackhole_requests() {
    let bh = |prefix_path: &[u32]| attrs_nh(prefix_path, NextHop::V4(TANET_V4), vec![BLACKHOLE]);
    let pr = peer();
    // A /32 blackhole is accepted despite the IPv4 limit of /24.
    let v = Policy::default().evaluate(&pr, &p("140.128.1.1/32"), &bh(&[TANET]));
    assert!(v.accepted() && v.blackhole);
    // Not enabled for the member.
    let off = peer_with(TANET, |p| p.blackhole = false, None);
    let v = Policy::default().evaluate(&off, &p("140.128.1.1/32"), &bh(&[TANET]));
    assert_eq!(reasons(&v), [PrefixTooLong, BlackholeNotAuthorized]);
    assert!(!v.blackhole);
    // Other checks still apply: a bogon or a wrong next hop is not blackholed.
    assert_eq!(
        reasons(&Policy::default().evaluate(&pr, &p("10.1.1.1/32"), &bh(&[TANET]))),
        [BogonPrefix]
    );
    let wrong_nh = attrs_nh(&[TANET], NextHop::V4(OTHER_MEMBER_V4), vec![BLACKHOLE]);
    assert_eq!(
        reasons(&Policy::default().evaluate(&pr, &p("140.128.1.1/32"), &wrong_nh)),
        [NextHopNotPeer]
    );
    // With IRR: inside the member's route objects (any length) fine; outside not authorised.
    let with_irr = peer_with(
        TANET,
        |p| {
            p.irr = true;
            p.rpki = true;
        },
        Some(irr(&[TANET], &["140.128.0.0/16"])),
    );
    let policy = Policy {
        // Another network's ROA covers the /32: blackholes are not origin-validated.
        vrps: vrps(&[("140.128.0.0/16", 16, TANET), ("8.8.8.0/24", 24, 15169)]),
        ..Policy::default()
    };
    let v = policy.evaluate(&with_irr, &p("140.128.1.1/32"), &bh(&[TANET]));
    assert!(v.accepted() && v.blackhole);
    assert_eq!((v.rpki, v.irr), (RpkiTag::NotChecked, IrrTag::Valid));
    let v = policy.evaluate(&with_irr, &p("8.8.8.8/32"), &bh(&[TANET]));
    assert_eq!(reasons(&v), [BlackholeNotAuthorized, IrrPrefix]);
    assert_eq!(v.irr, IrrTag::Invalid);
    // IPv6 /128 inside a route6 object.
    let with_irr6 = peer_with(
        TANET,
        |p| p.irr = true,
        Some(irr(&[TANET], &["2001:288::/32"])),
    );
    let a6 = attrs_nh(
        &[TANET],
        NextHop::V6 {
            global: TANET_V6,
            link_local: None,
        },
        vec![BLACKHOLE],
    );
    assert!(Policy::default()
        .evaluate(&with_irr6, &p("2001:288::1/128"), &a6)
        .accepted());
    assert_eq!(
        reasons(&Policy::default().evaluate(&with_irr6, &p("2001:4860::8888/128"), &a6)),
        [BlackholeNotAuthorized, IrrPrefix]
    );
}

#[test]
fn graceful_shutdown_is_flagged_not_filtered() {
    let a = attrs_nh(&[TANET], NextHop::V4(TANET_V4), vec![GRACEFUL_SHUTDOWN]);
    let v = Policy::default().evaluate(&peer(), &p("140.128.0.0/16"), &a);
    assert!(v.accepted() && v.gshut);
    let off = peer_with(TANET, |p| p.graceful_shutdown = false, None);
    assert!(
        !Policy::default()
            .evaluate(&off, &p("140.128.0.0/16"), &a)
            .gshut
    );
}

#[test]
fn otc_from_an_rs_client_is_a_leak_whatever_its_value() {
    // RFC 9234 section 5, ingress procedure 1: OTC received from an
    // RS-Client is a leak, a foreign value and the member's own alike.
    let mut a = attrs(&[TANET, CUSTOMER]);
    assert_eq!(eval(&peer(), "140.128.0.0/16", &a), []);
    a.otc = Some(3356);
    assert_eq!(eval(&peer(), "140.128.0.0/16", &a), [OtcLeak]);
    assert_eq!(OtcLeak.code(), 1004);
    a.otc = Some(TANET);
    assert_eq!(eval(&peer(), "140.128.0.0/16", &a), [OtcLeak]);
    for mode in [RoleMode::On, RoleMode::Strict] {
        let p = peer_with(TANET, |p| p.role = mode, None);
        assert_eq!(eval(&p, "140.128.0.0/16", &a), [OtcLeak], "{mode:?}");
    }
    // `role: off`: no OTC procedures at all.
    let off = peer_with(TANET, |p| p.role = RoleMode::Off, None);
    assert_eq!(eval(&off, "140.128.0.0/16", &a), []);
}

#[test]
fn every_failed_step_is_kept() {
    let a = attrs_nh(&[4780, 64512, 3356], NextHop::V4(OTHER_MEMBER_V4), vec![]);
    assert_eq!(
        eval(&peer(), "10.0.0.0/7", &a),
        [
            NextHopNotPeer,
            FirstAsNotPeer,
            BogonAsn,
            TransitFree,
            PrefixTooShort
        ]
    );
}

#[test]
fn aspa_off_tag_and_filter() {
    use crate::aspa::{AspaMode, AspaSet, AspaTag};
    let policy = Policy {
        vrps: Arc::new(VrpSet::new().with_aspas(AspaSet::from_records([(CUSTOMER, vec![TANET])]))),
        ..Policy::default()
    };
    let ok = attrs(&[TANET, CUSTOMER]);
    // CUSTOMER's ASPA does not list 4780: a leak through 4780.
    let leak = attrs(&[TANET, 4780, CUSTOMER]);
    let off = peer();
    let v = policy.evaluate(&off, &p("140.128.0.0/16"), &leak);
    assert!(v.accepted());
    assert_eq!(v.aspa, AspaTag::NotChecked);
    let tag = peer_with(TANET, |p| p.aspa = AspaMode::Tag, None);
    let v = policy.evaluate(&tag, &p("140.128.0.0/16"), &leak);
    assert!(v.accepted());
    assert_eq!(v.aspa, AspaTag::Invalid);
    let filter = peer_with(TANET, |p| p.aspa = AspaMode::Filter, None);
    let v = policy.evaluate(&filter, &p("140.128.0.0/16"), &leak);
    assert_eq!((reasons(&v), v.aspa), (vec![AspaInvalid], AspaTag::Invalid));
    let v = policy.evaluate(&filter, &p("140.128.0.0/16"), &ok);
    assert_eq!((reasons(&v), v.aspa), (vec![], AspaTag::Valid));
    // 4780 has no ASPA: a path from it via TANET is Unknown, accepted.
    let v = policy.evaluate(&filter, &p("163.28.0.0/16"), &attrs(&[TANET, 4780]));
    assert_eq!((reasons(&v), v.aspa), (vec![], AspaTag::Unknown));
}
