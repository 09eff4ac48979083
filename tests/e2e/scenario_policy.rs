//! The MANRS import policy of FOX end to end (issue "MANRS import policy per member"):
//! StayRTR as the RPKI cache, an IRR dump written here, members' AS-SETs, and BIRD 2 and
//! GoBGP members that announce, next to good routes, one route per filter case. Every other
//! member must receive only the good ones; the admin API must list each filtered route with
//! exactly the expected reason codes, and accepted ones with their RPKI state. A member over
//! its max-prefix limit is closed with Cease / Maximum Number of Prefixes Reached.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, ensure, Result};
use ipnet::IpNet;

use crate::fixture::{run_with, Fixture, MemberPlan, Setup, ASNET, GSN, RS_ASN, TANET, TWAREN};
use crate::member::Announce;
use crate::netns::poll;
use crate::routeserver::{ApiRoute, Fox, MemberOptions, RsOptions};
use crate::stayrtr::Vrp;

/// Bound for the route server to have judged every announced route.
pub const JUDGED_LIMIT: Duration = Duration::from_secs(15);

/// A downstream customer of TANet (in AS-TANET).
const TANET_CUSTOMER: u32 = 17716;
/// A downstream customer of TWAREN (in AS-TWAREN).
const TWAREN_CUSTOMER: u32 = 24155;
/// A network in no member's AS-SET (and holder of the conflicting ROAs).
const STRANGER: u32 = 4780;

/// Reason codes (Euro-IX `RS:1101:N`, see routeserver/src/policy/reasons.rs).
pub mod code {
    /// Prefix too long.
    pub const TOO_LONG: u32 = 1;
    /// Prefix too short.
    pub const TOO_SHORT: u32 = 2;
    /// Bogon prefix.
    pub const BOGON_PREFIX: u32 = 3;
    /// Bogon (private, reserved) ASN in the path.
    pub const BOGON_ASN: u32 = 4;
    /// Left-most ASN is not the member's.
    pub const FIRST_AS: u32 = 7;
    /// NEXT_HOP is not the member's address.
    pub const NEXT_HOP: u32 = 8;
    /// No route object for the prefix in the member's AS-SET.
    pub const IRR_PREFIX: u32 = 9;
    /// Origin not in the member's AS-SET.
    pub const IRR_ORIGIN: u32 = 10;
    /// RPKI INVALID.
    pub const RPKI_INVALID: u32 = 13;
    /// Transit-free network in the path.
    pub const TRANSIT_FREE: u32 = 14;
}

/// One announcement and what the route server must make of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it tests.
    pub what: &'static str,
    /// The announcement.
    pub announce: Announce,
    /// Expected reason codes; empty = accepted.
    pub reasons: Vec<u32>,
    /// For accepted routes: the expected RPKI state.
    pub rpki: &'static str,
}

fn good(what: &'static str, a: Announce, rpki: &'static str) -> Case {
    Case {
        what,
        announce: a,
        reasons: Vec::new(),
        rpki,
    }
}

fn bad(what: &'static str, a: Announce, reasons: &[u32]) -> Case {
    Case {
        what,
        announce: a,
        reasons: reasons.to_vec(),
        rpki: "",
    }
}

/// TANet (BIRD): every filter case, including a foreign first AS (BIRD in `rs client` mode).
fn tanet_cases() -> Vec<Case> {
    use code::*;
    vec![
        good("RPKI valid", Announce::new("140.128.0.0/16"), "valid"),
        good(
            "RPKI not found",
            Announce::new("163.28.0.0/16"),
            "not-found",
        ),
        good("RPKI valid v6", Announce::new("2001:288::/32"), "valid"),
        good(
            "customer route",
            Announce::new("140.123.0.0/16").via(&[TANET_CUSTOMER]),
            "not-found",
        ),
        bad(
            "bogon prefix",
            Announce::new("10.10.0.0/16"),
            &[BOGON_PREFIX],
        ),
        bad("too long", Announce::new("163.28.10.0/25"), &[TOO_LONG]),
        bad("too short", Announce::new("140.0.0.0/7"), &[TOO_SHORT]),
        bad(
            "wrong first AS",
            Announce::new("163.28.20.0/24").raw_path(&[STRANGER, TANET.asn]),
            &[FIRST_AS],
        ),
        bad(
            "wrong next hop",
            Announce::new("163.28.21.0/24").next_hop("192.0.2.13"),
            &[NEXT_HOP],
        ),
        bad(
            "private ASN in path",
            Announce::new("163.28.22.0/24").via(&[64512, TANET_CUSTOMER]),
            &[BOGON_ASN],
        ),
        bad(
            "transit-free ASN in path",
            Announce::new("163.28.23.0/24").via(&[3356, TANET_CUSTOMER]),
            &[TRANSIT_FREE],
        ),
        bad(
            "RPKI invalid",
            Announce::new("163.28.24.0/24"),
            &[RPKI_INVALID],
        ),
        bad("not in IRR", Announce::new("163.28.25.0/24"), &[IRR_PREFIX]),
        bad(
            "origin not in AS-SET",
            Announce::new("163.28.26.0/24").via(&[STRANGER]),
            &[IRR_ORIGIN],
        ),
    ]
}

/// TWAREN (GoBGP): every filter case but a foreign first AS (gobgpd always puts its own
/// ASN first on an eBGP session).
fn twaren_cases() -> Vec<Case> {
    use code::*;
    vec![
        good("RPKI valid", Announce::new("140.110.0.0/16"), "valid"),
        good(
            "RPKI not found",
            Announce::new("140.114.0.0/16"),
            "not-found",
        ),
        good("RPKI valid v6", Announce::new("2001:e10::/32"), "valid"),
        good(
            "customer route",
            Announce::new("140.113.0.0/16").via(&[TWAREN_CUSTOMER]),
            "not-found",
        ),
        bad(
            "bogon prefix",
            Announce::new("192.168.0.0/16"),
            &[BOGON_PREFIX],
        ),
        bad(
            "bogon prefix v6",
            Announce::new("fc00:1::/32"),
            &[BOGON_PREFIX],
        ),
        bad("too long", Announce::new("140.114.10.0/25"), &[TOO_LONG]),
        bad("too short", Announce::new("142.0.0.0/7"), &[TOO_SHORT]),
        bad(
            "wrong next hop",
            Announce::new("140.114.21.0/24").next_hop("192.0.2.13"),
            &[NEXT_HOP],
        ),
        bad(
            "private ASN in path",
            Announce::new("140.114.22.0/24").via(&[65000, TWAREN_CUSTOMER]),
            &[BOGON_ASN],
        ),
        bad(
            "transit-free ASN in path",
            Announce::new("140.114.23.0/24").via(&[174, TWAREN_CUSTOMER]),
            &[TRANSIT_FREE],
        ),
        bad(
            "RPKI invalid",
            Announce::new("140.114.24.0/24"),
            &[RPKI_INVALID],
        ),
        bad(
            "not in IRR",
            Announce::new("140.114.25.0/24"),
            &[IRR_PREFIX],
        ),
        bad(
            "origin not in AS-SET",
            Announce::new("140.114.26.0/24").via(&[STRANGER]),
            &[IRR_ORIGIN],
        ),
    ]
}

fn asnet_cases() -> Vec<Case> {
    vec![good("plain", Announce::new("140.109.0.0/16"), "not-found")]
}

/// GSN's routes; its IPv4 limit is exactly their number.
fn gsn_cases() -> Vec<Case> {
    vec![
        good("within limit", Announce::new("163.29.0.0/16"), "not-found"),
        good("within limit", Announce::new("210.69.0.0/16"), "not-found"),
    ]
}

/// The announcement that takes GSN over its limit.
const GSN_OVER_LIMIT: &str = "117.56.0.0/16";

/// RPSL for a route object (`route` or `route6`).
pub fn route_object(prefix: &str, origin: u32) -> String {
    let class = if prefix.contains(':') {
        "route6"
    } else {
        "route"
    };
    format!("{class}: {prefix}\norigin: AS{origin}\nsource: TEST\n\n")
}

/// The IRR dump: the members' AS-SETs and a route object for every case except the one
/// that tests a missing object.
fn irr_rpsl(plan: &[(MemberPlan, Vec<Case>)]) -> String {
    let mut s = format!(
        "as-set: AS-TANET\nmembers: AS{}, AS{TANET_CUSTOMER}\nsource: TEST\n\n\
         as-set: AS-TWAREN\nmembers: AS{}, AS{TWAREN_CUSTOMER}\nsource: TEST\n\n",
        TANET.asn, TWAREN.asn
    );
    for (m, cases) in plan {
        for c in cases.iter().filter(|c| c.what != "not in IRR") {
            s.push_str(&route_object(&c.announce.prefix.to_string(), m.asn));
        }
    }
    s.push_str(&route_object(GSN_OVER_LIMIT, GSN.asn));
    s
}

/// The VRPs: the members' main prefixes are valid; the "RPKI invalid" cases belong to another AS.
fn vrps() -> Vec<Vrp> {
    vec![
        Vrp::new("140.128.0.0/16", 16, TANET.asn),
        Vrp::new("2001:288::/32", 32, TANET.asn),
        Vrp::new("140.110.0.0/16", 16, TWAREN.asn),
        Vrp::new("2001:e10::/32", 32, TWAREN.asn),
        Vrp::new("163.28.24.0/24", 24, STRANGER),
        Vrp::new("140.114.24.0/24", 24, STRANGER),
    ]
}

fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test prefix {s}: {e}"))
}

/// The member's own LAN address of the prefix's family.
pub fn addr_of(fx: &Fixture<Fox>, member: &str, prefix: &IpNet) -> IpAddr {
    let h = &fx.member(member).spec().host;
    match prefix {
        IpNet::V4(_) => IpAddr::V4(h.ipv4),
        IpNet::V6(_) => IpAddr::V6(h.ipv6),
    }
}

/// Wait (bounded) until the API lists `prefix` among `kind` routes of `neighbor`.
pub fn wait_api_route(
    fx: &Fixture<Fox>,
    neighbor: IpAddr,
    kind: &str,
    prefix: IpNet,
    ok: impl Fn(&ApiRoute) -> bool,
) -> Result<ApiRoute> {
    let mut last = Vec::new();
    let mut found = None;
    poll(JUDGED_LIMIT, Duration::from_millis(100), || {
        last = fx.rs.api_routes(neighbor, kind).unwrap_or_default();
        found = last.iter().find(|r| r.prefix == prefix && ok(r)).cloned();
        found.is_some()
    });
    match found {
        Some(r) => Ok(r),
        None => bail!(
            "API: {prefix} not among {kind} routes of {neighbor} as expected after {JUDGED_LIMIT:?}; \
             it lists {:?}",
            last.iter()
                .map(|r| format!("{} {:?} rpki={} irr={}", r.prefix, r.reasons, r.rpki, r.irr))
                .collect::<Vec<_>>()
        ),
    }
}

/// Wait until no member in `at` holds `prefix`.
pub fn wait_gone(fx: &Fixture<Fox>, at: &[&str], prefix: IpNet, limit: Duration) -> Result<()> {
    for who in at {
        let m = fx.member(who);
        let gone = poll(limit, Duration::from_millis(50), || {
            m.routes_for(prefix).is_ok_and(|r| r.is_empty())
        });
        ensure!(gone, "{who} still holds {prefix} {limit:?} later");
    }
    Ok(())
}

/// Check every case of `origin` at the API and at every other member.
fn check_member_cases(
    fx: &Fixture<Fox>,
    origin: &MemberPlan,
    cases: &[Case],
    receivers: &[&str],
) -> Result<()> {
    // First the route server's verdicts: once every route is judged, absence at the
    // receivers means filtered, not "not yet arrived".
    for c in cases {
        let p = c.announce.prefix;
        let nbr = addr_of(fx, origin.name, &p);
        let ctx = format!("{} {} ({})", origin.name, p, c.what);
        if c.reasons.is_empty() {
            let r = wait_api_route(fx, nbr, "accepted", p, |r| r.rpki == c.rpki)?;
            ensure!(r.accepted && r.reasons.is_empty(), "{ctx}: {r:?}");
            ensure!(r.irr == "valid", "{ctx}: IRR state {} (want valid)", r.irr);
            println!("ok {ctx}: accepted, rpki {} irr {}", r.rpki, r.irr);
        } else {
            let r = wait_api_route(fx, nbr, "filtered", p, |r| r.reasons == c.reasons)?;
            ensure!(!r.accepted, "{ctx}: listed as filtered but accepted: {r:?}");
            println!("ok {ctx}: filtered with {:?} (rpki {})", r.reasons, r.rpki);
        }
    }
    for c in cases {
        let p = c.announce.prefix;
        let nh = addr_of(fx, origin.name, &p);
        if c.reasons.is_empty() {
            let info = (RS_ASN, 1000, if c.rpki == "valid" { 1 } else { 2 });
            for who in receivers {
                let r = fx.wait_route(who, p, |r| {
                    r.next_hop == nh && r.large_communities.contains(&info)
                })?;
                ensure!(
                    r.as_path.first() == Some(&origin.asn),
                    "{who} got {p} from {} with path {:?}",
                    origin.name,
                    r.as_path
                );
            }
        } else {
            for who in receivers {
                let got = fx.member(who).routes_for(p)?;
                ensure!(
                    got.is_empty(),
                    "{who} received {} {p} ({}), which must be filtered: {:?}",
                    origin.name,
                    c.what,
                    got.iter().map(ToString::to_string).collect::<Vec<_>>()
                );
            }
        }
    }
    Ok(())
}

/// Every filter case of TANet and TWAREN, then GSN over its max-prefix limit.
pub fn policy_filters(test: &str) {
    let plan_cases = vec![
        (TANET, tanet_cases()),
        (TWAREN, twaren_cases()),
        (ASNET, asnet_cases()),
        (GSN, gsn_cases()),
    ];
    let plan: Vec<(MemberPlan, Vec<Announce>)> = plan_cases
        .iter()
        .map(|(m, cs)| (*m, cs.iter().map(|c| c.announce.clone()).collect()))
        .collect();
    let setup = Setup {
        rs: RsOptions {
            rpki: true,
            irr: true,
            ..RsOptions::default()
        },
        irr_rpsl: Some(irr_rpsl(&plan_cases)),
        rtr_caches: vec![vrps()],
        members: vec![
            (
                TANET.name,
                MemberOptions {
                    as_set: Some("AS-TANET".into()),
                    ..MemberOptions::default()
                },
            ),
            (
                TWAREN.name,
                MemberOptions {
                    as_set: Some("AS-TWAREN".into()),
                    ..MemberOptions::default()
                },
            ),
            (
                GSN.name,
                MemberOptions {
                    max_prefix_v4: Some(2),
                    ..MemberOptions::default()
                },
            ),
        ],
    };
    run_with::<Fox>(test, &plan, &setup, |fx| {
        let names: Vec<&str> = plan_cases.iter().map(|(m, _)| m.name).collect();
        for (origin, cases) in &plan_cases {
            let receivers: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| *n != origin.name)
                .collect();
            check_member_cases(fx, origin, cases, &receivers)?;
        }
        max_prefix(fx)
    });
}

/// GSN (limit 2 IPv4 prefixes) announces a third: the route server closes the IPv4 session
/// with Cease / Maximum Number of Prefixes Reached and GSN's routes leave every other member.
fn max_prefix(fx: &mut Fixture<Fox>) -> Result<()> {
    let rs_v4 = fx
        .member(GSN.name)
        .spec()
        .rs_addrs
        .iter()
        .copied()
        .find(IpAddr::is_ipv4)
        .ok_or_else(|| anyhow::anyhow!("no IPv4 route server address"))?;
    let gsn_v4 = addr_of(fx, GSN.name, &net("163.29.0.0/16"));
    fx.member_mut(GSN.name)
        .announce(Announce::new(GSN_OVER_LIMIT))?;
    // BIRD keeps the error until its next attempt (1 s later) overwrites it: poll closely.
    let mut bird_err = None;
    poll(Duration::from_secs(10), Duration::from_millis(25), || {
        bird_err = fx
            .member(GSN.name)
            .last_error(rs_v4)
            .filter(|e| e.to_lowercase().contains("maximum number of prefixes"));
        bird_err.is_some()
    });
    let Some(bird_err) = bird_err else {
        bail!("GSN's BIRD never reported a maximum-prefix Cease from the route server");
    };
    println!("ok GSN over max-prefix: BIRD last error {bird_err:?}");
    let mut rs_err = String::new();
    let ok = poll(Duration::from_secs(5), Duration::from_millis(100), || {
        rs_err = fx
            .rs
            .api_neighbor(gsn_v4)
            .ok()
            .and_then(|v| v.get("last_error")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        rs_err.contains("Maximum Number of Prefixes Reached")
    });
    ensure!(ok, "route server API last_error for GSN is {rs_err:?}");
    println!("ok GSN over max-prefix: route server last_error {rs_err:?}");
    let others = [TANET.name, TWAREN.name, ASNET.name];
    for p in ["163.29.0.0/16", "210.69.0.0/16", GSN_OVER_LIMIT] {
        wait_gone(fx, &others, net(p), Duration::from_secs(10))?;
    }
    // The session stays down (the restart delay is 15 minutes): the routes do not come back.
    std::thread::sleep(Duration::from_secs(3));
    for who in others {
        let back = fx.member(who).routes_for(net("163.29.0.0/16"))?;
        ensure!(back.is_empty(), "{who} got GSN's route back: {back:?}");
    }
    let state = fx.rs.api_neighbor(gsn_v4)?;
    ensure!(
        state.get("state").and_then(|s| s.as_str()) != Some("Established"),
        "GSN's IPv4 session is up again: {state}"
    );
    println!("ok GSN's routes withdrawn from every other member; session stays down");
    Ok(())
}

#[test]
fn fox_policy_filters() {
    policy_filters("fox_policy_filters");
}
