//! Core route-server behaviour, generic over the implementation: sessions, transparent
//! propagation (next hop, AS path, MED, communities), fast withdrawal, member shutdown,
//! and per-member export without path hiding. Instantiated for BIRD (the reference) and FOX.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use ipnet::IpNet;

use crate::fixture::{
    run, Fixture, MemberPlan, ASNET, GSN, PROPAGATION_LIMIT, RS_ASN, TANET, TWAREN,
};
use crate::member::{Announce, RouteSeen};
use crate::netns::poll;
use crate::routeserver::{BirdRs, Fox, RouteServerUnderTest};

/// A withdrawal must reach every other member within this bound (functional, from the brief).
const WITHDRAW_LIMIT: Duration = Duration::from_secs(1);

fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test prefix {s}: {e}"))
}

/// Each member's real address space, one IPv4 and one IPv6 prefix, with distinct attributes.
fn attribute_plan() -> Vec<(MemberPlan, Vec<Announce>)> {
    vec![
        (
            TANET,
            vec![
                Announce::new("140.128.0.0/16")
                    .med(10)
                    .community((1659, 100))
                    .large((1659, 1, 100)),
                Announce::new("2001:288::/32")
                    .med(11)
                    .community((1659, 106))
                    .large((1659, 1, 106)),
            ],
        ),
        (
            TWAREN,
            vec![
                Announce::new("140.110.0.0/16")
                    .med(20)
                    .community((7539, 200))
                    .community((7539, 201))
                    .large((7539, 2, 200)),
                Announce::new("2001:e10::/32")
                    .med(21)
                    .community((7539, 206))
                    .large((7539, 2, 206)),
            ],
        ),
        (
            ASNET,
            vec![
                Announce::new("140.109.0.0/16")
                    .med(30)
                    .community((9264, 300))
                    .large((9264, 3, 300)),
                Announce::new("2001:c08::/32")
                    .med(31)
                    .community((9264, 306))
                    .large((9264, 3, 306)),
            ],
        ),
    ]
}

/// The route `a` from member `origin` should arrive as: origin's next hop, path `[origin]`.
fn check_transparent(
    at: &str,
    origin: &MemberPlan,
    a: &Announce,
    r: &RouteSeen,
    origin_nh: IpAddr,
) -> Result<()> {
    let ctx = format!("{at} received {} from {}: {r}", a.prefix, origin.name);
    ensure!(
        r.next_hop == origin_nh,
        "{ctx}: next hop should be {origin_nh}"
    );
    ensure!(
        r.as_path.first() == Some(&origin.asn),
        "{ctx}: AS path should start with {}",
        origin.asn
    );
    ensure!(
        !r.as_path.contains(&RS_ASN),
        "{ctx}: route server ASN {RS_ASN} must not be in the AS path"
    );
    ensure!(
        r.as_path == vec![origin.asn],
        "{ctx}: AS path should be exactly [{}]",
        origin.asn
    );
    ensure!(r.med == a.med, "{ctx}: MED should be {:?}", a.med);
    let mut c = a.communities.clone();
    c.sort_unstable();
    ensure!(r.communities == c, "{ctx}: communities should be {c:?}");
    let mut l = a.large_communities.clone();
    l.sort_unstable();
    // The route server may add its informational Euro-IX tags (RS:1000:x
    // RPKI state, RS:1001:x IRR state); everything the member sent must
    // arrive unchanged.
    let member_large: Vec<_> = r
        .large_communities
        .iter()
        .copied()
        .filter(|c| !(c.0 == RS_ASN && (c.1 == 1000 || c.1 == 1001)))
        .collect();
    ensure!(
        member_large == l,
        "{ctx}: large communities should be {l:?}"
    );
    Ok(())
}

fn origin_next_hop<R: RouteServerUnderTest>(
    fx: &Fixture<R>,
    origin: &str,
    prefix: &IpNet,
) -> IpAddr {
    let h = &fx.member(origin).spec().host;
    match prefix {
        IpNet::V4(_) => IpAddr::V4(h.ipv4),
        IpNet::V6(_) => IpAddr::V6(h.ipv6),
    }
}

/// Wait until every member holds every other member's announcements; check each transparently.
fn check_full_mesh<R: RouteServerUnderTest>(
    fx: &Fixture<R>,
    plan: &[(MemberPlan, Vec<Announce>)],
) -> Result<()> {
    for (origin, announces) in plan {
        for a in announces {
            let nh = origin_next_hop(fx, origin.name, &a.prefix);
            for (receiver, _) in plan.iter().filter(|(p, _)| p.name != origin.name) {
                let r = fx.wait_route(receiver.name, a.prefix, |r| r.next_hop == nh)?;
                check_transparent(receiver.name, origin, a, &r, nh)?;
            }
        }
    }
    Ok(())
}

/// Sessions up over IPv4 and IPv6 (the fixture waits for that) and every route arrives with
/// next hop, AS path, MED, standard and large communities unchanged.
pub fn sessions_and_attributes<R: RouteServerUnderTest>(test: &str) {
    let plan = attribute_plan();
    run::<R>(test, &plan, |fx| check_full_mesh(fx, &plan));
}

/// Every member withdraws each of its prefixes in turn; each withdrawal must be gone from
/// every other member within one second of the withdraw command.
pub fn withdraw_within_one_second<R: RouteServerUnderTest>(test: &str) {
    let plan = attribute_plan();
    run::<R>(test, &plan, |fx| {
        check_full_mesh(fx, &plan)?;
        for (origin, announces) in &plan {
            for a in announces {
                let others: Vec<&str> = plan
                    .iter()
                    .map(|(p, _)| p.name)
                    .filter(|n| *n != origin.name)
                    .collect();
                let t0 = Instant::now();
                fx.member_mut(origin.name).withdraw(a.prefix)?;
                let mut gone_at: Vec<Option<Duration>> = vec![None; others.len()];
                poll(Duration::from_secs(3), Duration::from_millis(5), || {
                    for (i, who) in others.iter().enumerate() {
                        if gone_at[i].is_none() {
                            let routes = fx.member(who).routes_for(a.prefix);
                            if routes.is_ok_and(|r| r.is_empty()) {
                                gone_at[i] = Some(t0.elapsed());
                            }
                        }
                    }
                    gone_at.iter().all(Option::is_some)
                });
                for (who, at) in others.iter().zip(&gone_at) {
                    match at {
                        Some(d) => {
                            println!(
                                "withdrawal of {} by {} gone at {who} after {d:?}",
                                a.prefix, origin.name
                            );
                            ensure!(
                                *d < WITHDRAW_LIMIT,
                                "withdrawal of {} by {} reached {who} after {d:?} (limit {WITHDRAW_LIMIT:?})",
                                a.prefix,
                                origin.name
                            );
                        }
                        None => bail!(
                            "withdrawal of {} by {} never reached {who}",
                            a.prefix,
                            origin.name
                        ),
                    }
                }
            }
        }
        Ok(())
    });
}

/// Wait until no member in `at` holds `prefix`.
fn wait_gone<R: RouteServerUnderTest>(
    fx: &Fixture<R>,
    at: &[&str],
    prefix: IpNet,
    why: &str,
) -> Result<()> {
    for who in at {
        let m = fx.member(who);
        let gone = poll(PROPAGATION_LIMIT, Duration::from_millis(50), || {
            m.routes_for(prefix).is_ok_and(|r| r.is_empty())
        });
        ensure!(
            gone,
            "{who} still holds {prefix} {PROPAGATION_LIMIT:?} after {why}"
        );
    }
    Ok(())
}

/// Stopping a member's router withdraws all its routes at every other member.
pub fn member_stop_withdraws<R: RouteServerUnderTest>(test: &str) {
    let plan = attribute_plan();
    run::<R>(test, &plan, |fx| {
        check_full_mesh(fx, &plan)?;
        // GoBGP first, then FRR: the remaining members must lose exactly the stopped one's routes.
        for (stopped, remaining) in [
            (TWAREN, vec![TANET.name, ASNET.name]),
            (ASNET, vec![TANET.name]),
        ] {
            fx.member_mut(stopped.name).stop();
            let why = format!("{} stopped", stopped.name);
            for (origin, announces) in &plan {
                for a in announces {
                    if origin.name == stopped.name {
                        wait_gone(fx, &remaining, a.prefix, &why)?;
                    }
                }
            }
            // Routes of members still running stay where they were.
            for (origin, announces) in plan.iter().filter(|(p, _)| remaining.contains(&p.name)) {
                for a in announces {
                    let nh = origin_next_hop(fx, origin.name, &a.prefix);
                    for who in remaining.iter().filter(|n| **n != origin.name) {
                        fx.wait_route(who, a.prefix, |r| r.next_hop == nh)?;
                    }
                }
            }
        }
        Ok(())
    });
}

/// Path hiding: TANet (A) and TWAREN (B) announce the same prefixes; A's path is shorter and
/// wins, but A tags it `0:9264` (do not announce to ASNet, C). GSN (D) receives A's path,
/// so A's really is the overall best; C must still receive B's path, and never A's.
pub fn no_path_hiding<R: RouteServerUnderTest>(test: &str) {
    let shared = ["140.110.0.0/16", "2001:e10::/32"];
    let plan = vec![
        (
            TANET,
            shared
                .iter()
                .map(|p| Announce::new(p).community((0, ASNET.asn as u16)))
                .collect(),
        ),
        (
            TWAREN,
            shared.iter().map(|p| Announce::new(p).prepend(2)).collect(),
        ),
        (ASNET, Vec::new()),
        (GSN, Vec::new()),
    ];
    run::<R>(test, &plan, |fx| {
        for p in shared {
            let prefix = net(p);
            let a_nh = origin_next_hop(fx, TANET.name, &prefix);
            let b_nh = origin_next_hop(fx, TWAREN.name, &prefix);
            // Both paths reached the route server, and A's is the one it prefers.
            let d = fx.wait_route(GSN.name, prefix, |r| r.next_hop == a_nh)?;
            ensure!(
                d.as_path == vec![TANET.asn],
                "GSN got A's path with wrong AS path: {d}"
            );
            let b = fx.wait_route(TANET.name, prefix, |r| r.next_hop == b_nh)?;
            ensure!(
                b.as_path == vec![TWAREN.asn; 3],
                "TANet got B's path with wrong AS path: {b}"
            );
            // C gets B's path although the overall best (A's) is withheld from it.
            let c = fx.wait_route(ASNET.name, prefix, |r| r.next_hop == b_nh)?;
            ensure!(
                c.as_path == vec![TWAREN.asn; 3],
                "ASNet got B's path with wrong AS path: {c}"
            );
            let at_c = fx.member(ASNET.name).routes_for(prefix)?;
            ensure!(
                at_c.iter().all(|r| r.next_hop != a_nh),
                "ASNet received TANet's path despite 0:{}: {:?}",
                ASNET.asn,
                at_c
            );
        }
        Ok(())
    });
}

macro_rules! core_tests {
    ($rs:ty, $($(#[$attr:meta])* $name:ident => $scenario:ident),* $(,)?) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                $scenario::<$rs>(stringify!($name));
            }
        )*
    };
}

core_tests!(BirdRs,
    bird_rs_sessions_and_attributes => sessions_and_attributes,
    bird_rs_withdraw_within_one_second => withdraw_within_one_second,
    bird_rs_member_stop_withdraws => member_stop_withdraws,
    bird_rs_no_path_hiding => no_path_hiding,
);

core_tests!(Fox,
    fox_rs_sessions_and_attributes => sessions_and_attributes,
    fox_rs_withdraw_within_one_second => withdraw_within_one_second,
    fox_rs_member_stop_withdraws => member_stop_withdraws,
    fox_rs_no_path_hiding => no_path_hiding,
);
