//! Unit tests for origin validation edge cases (RFC 6811, 6483, 7607).

use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn vrp(p: &str, max_len: u8, asn: Asn) -> Vrp {
    Vrp::new(net(p), max_len, asn).unwrap()
}

fn set(vrps: &[Vrp]) -> VrpSet {
    vrps.iter().copied().collect()
}

use RpkiState::{Invalid, NotFound, Valid};

#[test]
fn no_vrp_is_not_found() {
    let s = set(&[vrp("192.0.2.0/24", 24, 64496)]);
    assert_eq!(s.validate(&net("198.51.100.0/24"), Some(64496)), NotFound);
    assert_eq!(s.validate(&net("2001:db8::/32"), Some(64496)), NotFound);
    // A less-specific route than the VRP is not covered by it.
    assert_eq!(s.validate(&net("192.0.0.0/16"), Some(64496)), NotFound);
    assert_eq!(VrpSet::new().validate(&net("0.0.0.0/0"), Some(1)), NotFound);
}

#[test]
fn exact_match_and_wrong_origin() {
    let s = set(&[vrp("192.0.2.0/24", 24, 64496)]);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64497)), Invalid);
}

#[test]
fn max_len_exact_and_over() {
    let s = set(&[
        vrp("10.0.0.0/16", 20, 64496),
        vrp("2001:db8::/32", 48, 64496),
    ]);
    assert_eq!(s.validate(&net("10.0.0.0/16"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("10.0.240.0/20"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("10.0.16.0/21"), Some(64496)), Invalid);
    assert_eq!(s.validate(&net("10.0.0.1/32"), Some(64496)), Invalid);
    assert_eq!(s.validate(&net("2001:db8:ffff::/48"), Some(64496)), Valid);
    assert_eq!(
        s.validate(&net("2001:db8:ffff:1::/64"), Some(64496)),
        Invalid
    );
}

#[test]
fn as0_never_validates() {
    let s = set(&[vrp("192.0.2.0/24", 32, 0)]);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64496)), Invalid);
    // A route "originated" by AS0 must not match an AS0 VRP (RFC 7607).
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(0)), Invalid);
    // AS0 next to a real VRP: the real one still validates.
    let s = set(&[vrp("192.0.2.0/24", 24, 0), vrp("192.0.2.0/24", 24, 64496)]);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64497)), Invalid);
}

#[test]
fn overlapping_vrps_one_matches() {
    // Mirrors 140.110.0.0/15 AS1659 (maxLength 15) and 140.110.0.0/16-24 AS7539.
    let s = set(&[
        vrp("140.110.0.0/15", 15, 1659),
        vrp("140.110.0.0/16", 24, 7539),
    ]);
    assert_eq!(s.validate(&net("140.110.0.0/15"), Some(1659)), Valid);
    assert_eq!(s.validate(&net("140.110.0.0/15"), Some(7539)), Invalid);
    assert_eq!(s.validate(&net("140.110.0.0/16"), Some(7539)), Valid);
    assert_eq!(s.validate(&net("140.110.0.0/16"), Some(1659)), Invalid);
    assert_eq!(s.validate(&net("140.110.12.0/24"), Some(7539)), Valid);
    assert_eq!(s.validate(&net("140.110.12.0/25"), Some(7539)), Invalid);
    // 140.111.0.0/16 is covered only by the /15 (maxLength 15).
    assert_eq!(s.validate(&net("140.111.0.0/16"), Some(1659)), Invalid);
    assert_eq!(s.covering(&net("140.110.12.0/24")).len(), 2);
    assert_eq!(s.covering(&net("140.111.0.0/16")).len(), 1);
}

#[test]
fn covering_less_specific_vrp() {
    let s = set(&[vrp("10.0.0.0/8", 24, 64496), vrp("10.1.0.0/16", 16, 64497)]);
    assert_eq!(s.validate(&net("10.2.3.0/24"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("10.1.3.0/24"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("10.1.3.0/24"), Some(64497)), Invalid);
    assert_eq!(s.validate(&net("10.1.0.0/16"), Some(64497)), Valid);
    let s = set(&[vrp("0.0.0.0/0", 32, 64496), vrp("::/0", 128, 64496)]);
    assert_eq!(s.validate(&net("203.0.113.7/32"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("2001:db8::1/128"), Some(64497)), Invalid);
}

#[test]
fn as_set_origin() {
    let s = set(&[vrp("192.0.2.0/24", 24, 64496)]);
    assert_eq!(s.validate(&net("192.0.2.0/24"), None), Invalid);
    assert_eq!(s.validate(&net("198.51.100.0/24"), None), NotFound);
}

#[test]
fn ipv4_mapped_ipv6_is_ipv6() {
    let s = set(&[vrp("192.0.2.0/24", 32, 64496)]);
    // ::ffff:192.0.2.0/120 is an IPv6 prefix: the IPv4 VRP does not cover it.
    assert_eq!(
        s.validate(&net("::ffff:192.0.2.0/120"), Some(64496)),
        NotFound
    );
    let s = set(&[vrp("::ffff:0:0/96", 128, 64496)]);
    assert_eq!(s.validate(&net("::ffff:192.0.2.0/120"), Some(64496)), Valid);
    assert_eq!(s.validate(&net("192.0.2.0/24"), Some(64496)), NotFound);
    assert_eq!(s.len_v6(), 1);
    assert_eq!(s.len_v4(), 0);
}

#[test]
fn malformed_vrps_rejected() {
    assert!(matches!(
        Vrp::new(net("192.0.2.1/24"), 24, 1),
        Err(VrpError::HostBits(_))
    ));
    assert!(matches!(
        Vrp::new(net("192.0.2.0/24"), 23, 1),
        Err(VrpError::MaxLen { .. })
    ));
    assert!(matches!(
        Vrp::new(net("192.0.2.0/24"), 33, 1),
        Err(VrpError::MaxLen { .. })
    ));
    assert!(Vrp::new(net("2001:db8::/32"), 128, 1).is_ok());
}

#[test]
fn dedup_union_iter_contains() {
    let a = set(&[vrp("192.0.2.0/24", 24, 1), vrp("192.0.2.0/24", 24, 1)]);
    assert_eq!(a.len(), 1);
    let b = set(&[vrp("192.0.2.0/24", 24, 1), vrp("2001:db8::/32", 32, 2)]);
    let u = VrpSet::union([&a, &b]);
    assert_eq!(u.len(), 2);
    assert_eq!((u.len_v4(), u.len_v6()), (1, 1));
    let all: Vec<Vrp> = u.iter().collect();
    assert_eq!(
        all,
        vec![vrp("192.0.2.0/24", 24, 1), vrp("2001:db8::/32", 32, 2)]
    );
    assert!(u.contains(&vrp("2001:db8::/32", 32, 2)));
    assert!(!u.contains(&vrp("2001:db8::/32", 33, 2)));
    assert!(u.heap_bytes() >= 2 * 12);
}

#[test]
fn diff_reports_changed_prefixes_only() {
    let old = set(&[
        vrp("192.0.2.0/24", 24, 1),
        vrp("198.51.100.0/24", 24, 2),
        vrp("2001:db8::/32", 48, 3),
        vrp("10.0.0.0/8", 8, 4),
    ]);
    let new = set(&[
        vrp("192.0.2.0/24", 24, 1),    // unchanged
        vrp("198.51.100.0/24", 25, 2), // maxLength changed
        vrp("2001:db8::/32", 48, 3),
        vrp("2001:db8::/32", 48, 5),  // extra origin
        vrp("203.0.113.0/24", 24, 6), // new prefix
    ]); // 10.0.0.0/8 removed
    let mut d = VrpSet::diff(&old, &new);
    d.sort();
    let mut want = vec![
        net("10.0.0.0/8"),
        net("198.51.100.0/24"),
        net("203.0.113.0/24"),
        net("2001:db8::/32"),
    ];
    want.sort();
    assert_eq!(d, want);
    assert!(VrpSet::diff(&new, &new).is_empty());
    let mut back = VrpSet::diff(&new, &old);
    back.sort();
    assert_eq!(back, want);
}

#[test]
fn entries_are_compact() {
    assert_eq!(std::mem::size_of::<Entry<u32>>(), 12);
    assert_eq!(std::mem::size_of::<Entry<V6>>(), 24);
}

/// Straight RFC 6811 over a list, as the reference.
fn naive(covering: &[Vrp], route: &IpNet, origin: Option<Asn>) -> RpkiState {
    if covering.is_empty() {
        return NotFound;
    }
    let ok = covering
        .iter()
        .any(|v| origin.is_some_and(|o| o != 0 && o == v.asn) && route.prefix_len() <= v.max_len);
    if ok {
        Valid
    } else {
        Invalid
    }
}

fn v4_route(r: u64, min: u8, span: u64) -> IpNet {
    let len = min + (r % span) as u8;
    let addr = 0x0800_0000u32 | ((r >> 8) as u32 & 0x03ff_ffff); // 8.0.0.0/6
    IpNet::new(std::net::Ipv4Addr::from(addr).into(), len)
        .unwrap()
        .trunc()
}

fn v6_route(r: u64, min: u8, span: u64) -> IpNet {
    let len = min + (r % span) as u8;
    let a6 = (0x2001u128 << 112) | (u128::from(r >> 8) << 56); // 2001::/16
    IpNet::new(std::net::Ipv6Addr::from(a6).into(), len)
        .unwrap()
        .trunc()
}

#[test]
fn large_set_with_bucket_index_matches_reference() {
    // Deterministic pseudo-random VRPs, dense enough that most lengths get
    // a bucket index, sparse enough that some routes are not covered.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut vrps = Vec::new();
    for _ in 0..8_000 {
        let r = next();
        let asn = (r >> 60) as u32 % 4;
        let net = v4_route(r, 18, 7); // /18../24
        let max_len = net.prefix_len() + (r >> 52) as u8 % (33 - net.prefix_len());
        vrps.push(Vrp::new(net, max_len, asn).unwrap());
        let r = next();
        let net6 = v6_route(r, 32, 17); // /32../48
        let max_len = net6.prefix_len() + (r >> 58) as u8 % 16;
        vrps.push(Vrp::new(net6, max_len, asn).unwrap());
    }
    let s: VrpSet = vrps.iter().copied().collect();
    assert!(s.v4.index.iter().filter(|(k, _)| *k > 0).count() >= 7);
    assert!(s.v6.index.iter().filter(|(k, _)| *k > 0).count() >= 10);
    let mut seen = [0usize; 3];
    for i in 0..2000 {
        let r = next();
        let route = match i % 3 {
            0 => v4_route(r, 16, 17),
            1 => v6_route(r, 30, 35),
            _ => vrps[(r >> 20) as usize % vrps.len()].prefix, // exactly a VRP's prefix
        };
        let mut want: Vec<Vrp> = vrps
            .iter()
            .filter(|v| v.prefix.contains(&route))
            .copied()
            .collect();
        want.sort();
        want.dedup();
        let mut cov = s.covering(&route);
        cov.sort();
        assert_eq!(cov, want, "{route}");
        for origin in [None, Some(0), Some((r >> 60) as u32 % 4)] {
            let expect = naive(&want, &route, origin);
            assert_eq!(s.validate(&route, origin), expect, "{route} {origin:?}");
            seen[expect as usize] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
}
