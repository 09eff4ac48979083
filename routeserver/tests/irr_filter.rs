//! `MemberIrr::check`: origin in the as-set, prefix covered by the as-set's
//! route objects, in exact and more-specifics modes, IPv4 and IPv6.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fox_routeserver::irr::{IrrDb, IrrMatch, IrrVerdict, MemberIrr};
use ipnet::IpNet;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

const DB: &str = "\
as-set:   AS-MEMBER
members:  AS64500, AS-MEMBER-CUSTOMERS

as-set:   AS-MEMBER-CUSTOMERS
members:  AS64501

route:    192.0.2.0/24
origin:   AS64500

route:    198.51.100.0/25
origin:   AS64501

route:    203.0.113.0/24
origin:   AS64999

route6:   2001:db8::/32
origin:   AS64500

route6:   2001:db8:ff00::/40
origin:   AS64501
";

fn db() -> IrrDb {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf =
        std::env::temp_dir().join(format!("fox-irr-filter-{}-{n}.db", std::process::id()));
    std::fs::write(&path, DB).unwrap();
    let (db, warnings) = IrrDb::load(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    db
}

fn member() -> MemberIrr {
    let (irr, warnings) = MemberIrr::build(&db(), 64500, Some("AS-MEMBER")).unwrap();
    assert!(warnings.is_empty());
    irr
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

const MORE: IrrMatch = IrrMatch::MoreSpecifics {
    max_len_v4: 24,
    max_len_v6: 48,
};

fn verdict(origin_ok: bool, prefix_ok: bool) -> IrrVerdict {
    IrrVerdict {
        origin_ok,
        prefix_ok,
    }
}

#[test]
fn irr_lists_built_from_as_set() {
    let irr = member();
    assert_eq!(irr.origins.len(), 2);
    assert!(irr.origins.contains(&64500) && irr.origins.contains(&64501));
    assert_eq!((irr.prefixes.len_v4(), irr.prefixes.len_v6()), (2, 2));
    assert!(!irr.prefixes.contains_exact(&net("203.0.113.0/24")));
}

#[test]
fn irr_lists_built_from_asn_alone() {
    let (irr, _) = MemberIrr::build(&db(), 64501, None).unwrap();
    assert_eq!(irr.origins.len(), 1);
    assert!(irr.origins.contains(&64501));
    assert!(irr.prefixes.contains_exact(&net("198.51.100.0/25")));
    assert!(!irr.prefixes.contains_exact(&net("192.0.2.0/24")));
    let v = irr.check(&net("192.0.2.0/24"), Some(64501), IrrMatch::Exact);
    assert_eq!(v, verdict(true, false));
}

#[test]
fn irr_unknown_as_set_fails_the_build() {
    assert!(MemberIrr::build(&db(), 64500, Some("AS-NOT-THERE")).is_err());
}

#[test]
fn irr_exact_mode() {
    let irr = member();
    let v = irr.check(&net("192.0.2.0/24"), Some(64500), IrrMatch::Exact);
    assert_eq!(v, verdict(true, true));
    assert!(v.accepted());
    // More-specific of a route object: not in exact mode.
    let v = irr.check(&net("192.0.2.0/25"), Some(64500), IrrMatch::Exact);
    assert_eq!(v, verdict(true, false));
    assert!(!v.accepted());
    // Less-specific than a route object.
    let v = irr.check(&net("192.0.0.0/16"), Some(64500), IrrMatch::Exact);
    assert_eq!(v, verdict(true, false));
    // Route object in the set but registered for the other ASN of the set:
    // accepted, as bgpq4/arouteserver do (prefix list and origin list are independent).
    let v = irr.check(&net("198.51.100.0/25"), Some(64500), IrrMatch::Exact);
    assert_eq!(v, verdict(true, true));
}

#[test]
fn irr_origin_checks() {
    let irr = member();
    // Origin outside the as-set, prefix fine.
    let v = irr.check(&net("192.0.2.0/24"), Some(64999), IrrMatch::Exact);
    assert_eq!(v, verdict(false, true));
    // Prefix with a route object of an AS outside the set: both fail.
    let v = irr.check(&net("203.0.113.0/24"), Some(64999), IrrMatch::Exact);
    assert_eq!(v, verdict(false, false));
    // No single origin (AS_SET at the end of the path).
    let v = irr.check(&net("192.0.2.0/24"), None, MORE);
    assert_eq!(v, verdict(false, true));
}

#[test]
fn irr_more_specifics_mode_ipv4() {
    let irr = member();
    assert_eq!(
        irr.check(&net("192.0.2.0/24"), Some(64500), MORE),
        verdict(true, true)
    );
    // Longer than the route object but beyond max_len_v4 = 24.
    assert_eq!(
        irr.check(&net("192.0.2.128/25"), Some(64500), MORE),
        verdict(true, false)
    );
    let wider = IrrMatch::MoreSpecifics {
        max_len_v4: 28,
        max_len_v6: 48,
    };
    assert_eq!(
        irr.check(&net("192.0.2.128/25"), Some(64500), wider),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("192.0.2.240/28"), Some(64500), wider),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("192.0.2.240/29"), Some(64500), wider),
        verdict(true, false)
    );
    // A route object longer than the limit still matches exactly.
    assert_eq!(
        irr.check(&net("198.51.100.0/25"), Some(64501), MORE),
        verdict(true, true)
    );
    // Not covered at all, and a covering (shorter) announcement.
    assert_eq!(
        irr.check(&net("192.0.3.0/24"), Some(64500), wider),
        verdict(true, false)
    );
    assert_eq!(
        irr.check(&net("192.0.0.0/22"), Some(64500), wider),
        verdict(true, false)
    );
}

#[test]
fn irr_ipv6_both_modes() {
    let irr = member();
    assert_eq!(
        irr.check(&net("2001:db8::/32"), Some(64500), IrrMatch::Exact),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("2001:db8:1::/48"), Some(64500), IrrMatch::Exact),
        verdict(true, false)
    );
    assert_eq!(
        irr.check(&net("2001:db8:1::/48"), Some(64500), MORE),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("2001:db8:1::/49"), Some(64500), MORE),
        verdict(true, false)
    );
    assert_eq!(
        irr.check(&net("2001:db8:ff42::/48"), Some(64501), MORE),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("2001:db9::/32"), Some(64500), MORE),
        verdict(true, false)
    );
    // An IPv4 limit does not leak into IPv6 and vice versa.
    let v6_only = IrrMatch::MoreSpecifics {
        max_len_v4: 24,
        max_len_v6: 128,
    };
    assert_eq!(
        irr.check(&net("2001:db8::1/128"), Some(64500), v6_only),
        verdict(true, true)
    );
    assert_eq!(
        irr.check(&net("192.0.2.1/32"), Some(64500), v6_only),
        verdict(true, false)
    );
}
