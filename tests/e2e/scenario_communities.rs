//! Announcement control end to end: every control community of the FOX scheme (arouteserver's,
//! see routeserver/src/rib/export.rs), NO_EXPORT towards one member, graceful shutdown, and
//! blackholing to the member that opted in. Asserts what each member receives: which routes,
//! with which AS path, next hop and communities, and that control communities are stripped.

use std::net::IpAddr;

use anyhow::{ensure, Result};
use ipnet::IpNet;

use crate::fixture::{run_with, Fixture, MemberPlan, Setup, ASNET, GSN, RS_ASN, TANET, TWAREN};
use crate::member::{Announce, Community, RouteSeen};
use crate::routeserver::{Fox, MemberOptions, RsOptions};
use crate::scenario_policy::{addr_of, wait_api_route};

const RS: u16 = RS_ASN as u16;
const NO_EXPORT: Community = (65535, 65281);
const GSHUT: Community = (65535, 0);
const BLACKHOLE: Community = (65535, 666);
const BLACKHOLE_V4: &str = "192.0.2.66";
const BLACKHOLE_V6: &str = "2001:db8::66";
/// A community of TANet's own, which must pass through untouched.
const OWN: Community = (1659, 100);

/// What one receiver must hold for a prefix.
#[derive(Debug, Clone)]
enum Expect {
    /// Nothing.
    Absent,
    /// The route with this AS path, next hop (None: the origin's) and these extra
    /// communities added by the route server.
    Present {
        path: Vec<u32>,
        next_hop: Option<IpAddr>,
        added: Vec<Community>,
    },
}

fn present(n: usize) -> Expect {
    Expect::Present {
        path: vec![TANET.asn; n],
        next_hop: None,
        added: Vec::new(),
    }
}

/// One of TANet's announcements and what TWAREN, ASNet and GSN (in that order) receive.
struct Case {
    what: &'static str,
    announce: Announce,
    expect: [Expect; 3],
}

const RECEIVERS: [MemberPlan; 3] = [TWAREN, ASNET, GSN];

fn cases() -> Vec<Case> {
    use Expect::Absent;
    let p1 = || present(1);
    let bh = |nh: &str| Expect::Present {
        path: vec![TANET.asn],
        next_hop: nh.parse().ok(),
        added: vec![NO_EXPORT],
    };
    vec![
        Case {
            what: "0:peer (not to TWAREN)",
            announce: Announce::new("140.128.1.0/24")
                .community((0, 7539))
                .community(OWN),
            expect: [Absent, p1(), p1()],
        },
        Case {
            what: "0:RS (to nobody)",
            announce: Announce::new("140.128.2.0/24")
                .community((0, RS))
                .community(OWN),
            expect: [Absent, Absent, Absent],
        },
        Case {
            what: "RS:peer (only to ASNet)",
            announce: Announce::new("140.128.3.0/24")
                .community((RS, 9264))
                .community(OWN),
            expect: [Absent, p1(), Absent],
        },
        Case {
            what: "RS:0:peer large (not to ASNet)",
            announce: Announce::new("140.128.4.0/24")
                .large((RS_ASN, 0, 9264))
                .community(OWN),
            expect: [p1(), Absent, p1()],
        },
        Case {
            what: "RS:1:peer large (only to GSN)",
            announce: Announce::new("140.128.5.0/24")
                .large((RS_ASN, 1, 4782))
                .community(OWN),
            expect: [Absent, Absent, p1()],
        },
        Case {
            what: "RS:101..103:peer large prepends",
            announce: Announce::new("140.128.6.0/24")
                .large((RS_ASN, 101, 7539))
                .large((RS_ASN, 102, 9264))
                .large((RS_ASN, 103, 4782))
                .community(OWN),
            expect: [present(2), present(3), present(4)],
        },
        Case {
            what: "65511..65513:peer prepends",
            announce: Announce::new("140.128.7.0/24")
                .community((65511, 7539))
                .community((65512, 9264))
                .community((65513, 4782))
                .community(OWN),
            expect: [present(2), present(3), present(4)],
        },
        Case {
            what: "65281:peer (NO_EXPORT to ASNet)",
            announce: Announce::new("140.128.8.0/24")
                .community((65281, 9264))
                .community(OWN),
            expect: [
                p1(),
                Expect::Present {
                    path: vec![TANET.asn],
                    next_hop: None,
                    added: vec![NO_EXPORT],
                },
                p1(),
            ],
        },
        Case {
            what: "blackhole v4 (only to GSN, opted in)",
            announce: Announce::new("140.128.10.1/32")
                .community(BLACKHOLE)
                .community(OWN),
            expect: [Absent, Absent, bh(BLACKHOLE_V4)],
        },
        Case {
            what: "blackhole v6 (only to GSN, opted in)",
            announce: Announce::new("2001:288:1::1/128")
                .community(BLACKHOLE)
                .community(OWN),
            expect: [Absent, Absent, bh(BLACKHOLE_V6)],
        },
    ]
}

/// The prefix TANet announces with GRACEFUL_SHUTDOWN and TWAREN with a longer path.
const GSHUT_P: &str = "140.128.9.0/24";

fn is_control(c: &Community) -> bool {
    matches!(c.0, 0 | 65281 | 65282 | 65501..=65503 | 65511..=65513) || c.0 == RS
}

/// The communities a receiver must see: the announced ones minus control ones, plus `added`.
fn expected_communities(a: &Announce, added: &[Community]) -> Vec<Community> {
    let mut c: Vec<Community> = a
        .communities
        .iter()
        .copied()
        .filter(|c| !is_control(c))
        .collect();
    for x in added {
        if !c.contains(x) {
            c.push(*x);
        }
    }
    c.sort_unstable();
    c
}

/// No control community left, and of the route server's large communities only its
/// informational RS:1000:N / RS:1001:N tags.
fn check_stripped(who: &str, r: &RouteSeen) -> Result<()> {
    ensure!(
        !r.communities.iter().any(is_control),
        "{who}: control community not stripped: {r}"
    );
    ensure!(
        r.large_communities
            .iter()
            .all(|l| l.0 != RS_ASN || l.1 == 1000 || l.1 == 1001),
        "{who}: control large community not stripped: {r}"
    );
    Ok(())
}

fn check_case(fx: &Fixture<Fox>, c: &Case) -> Result<()> {
    let p = c.announce.prefix;
    let origin_nh = addr_of(fx, TANET.name, &p);
    for (m, e) in RECEIVERS.iter().zip(&c.expect) {
        let Expect::Present {
            path,
            next_hop,
            added,
        } = e
        else {
            continue;
        };
        let nh = next_hop.unwrap_or(origin_nh);
        let want = expected_communities(&c.announce, added);
        let r = fx.wait_route(m.name, p, |r| r.next_hop == nh && r.as_path == *path)?;
        ensure!(
            r.communities == want,
            "{} {p} ({}): communities {:?}, want {want:?}",
            m.name,
            c.what,
            r.communities
        );
        check_stripped(m.name, &r)?;
    }
    Ok(())
}

fn check_absent(fx: &Fixture<Fox>, c: &Case) -> Result<()> {
    let p = c.announce.prefix;
    for (m, e) in RECEIVERS.iter().zip(&c.expect) {
        if matches!(e, Expect::Absent) {
            let got = fx.member(m.name).routes_for(p)?;
            ensure!(
                got.is_empty(),
                "{} received {p} ({}): {:?}",
                m.name,
                c.what,
                got.iter().map(ToString::to_string).collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

/// Graceful shutdown: TANet's short path tagged 65535:0 loses to TWAREN's longer one at ASNet
/// and GSN; TWAREN, which has only TANet's path, receives it with 65535:0 intact.
fn check_gshut(fx: &Fixture<Fox>) -> Result<()> {
    let p: IpNet = GSHUT_P.parse()?;
    let twaren_nh = addr_of(fx, TWAREN.name, &p);
    let tanet_nh = addr_of(fx, TANET.name, &p);
    for who in [ASNET.name, GSN.name] {
        fx.wait_route(who, p, |r| r.next_hop == twaren_nh)?;
        let all = fx.member(who).routes_for(p)?;
        ensure!(
            all.iter().all(|r| r.next_hop == twaren_nh),
            "{who} holds the graceful-shutdown path: {all:?}"
        );
        ensure!(
            all.iter().all(|r| r.as_path == vec![TWAREN.asn; 3]),
            "{who}: {all:?}"
        );
    }
    let r = fx.wait_route(TWAREN.name, p, |r| r.next_hop == tanet_nh)?;
    ensure!(
        r.communities.contains(&GSHUT) && r.as_path == vec![TANET.asn],
        "TWAREN got TANet's path without GRACEFUL_SHUTDOWN: {r}"
    );
    fx.wait_route(TANET.name, p, |r| r.next_hop == twaren_nh)?;
    println!(
        "ok graceful shutdown: ASNet and GSN prefer TWAREN's 3-AS path over TANet's 65535:0 path"
    );
    Ok(())
}

/// Every announcement-control community, NO_EXPORT to a peer, graceful shutdown, blackholing.
pub fn communities(test: &str) {
    let cs = cases();
    let mut tanet: Vec<Announce> = cs.iter().map(|c| c.announce.clone()).collect();
    tanet.push(Announce::new(GSHUT_P).community(GSHUT));
    let plan: Vec<(MemberPlan, Vec<Announce>)> = vec![
        (TANET, tanet),
        (TWAREN, vec![Announce::new(GSHUT_P).prepend(2)]),
        (ASNET, Vec::new()),
        (GSN, Vec::new()),
    ];
    let setup = Setup {
        rs: RsOptions {
            blackhole_v4: BLACKHOLE_V4.parse().ok(),
            blackhole_v6: BLACKHOLE_V6.parse().ok(),
            ..RsOptions::default()
        },
        members: vec![(
            GSN.name,
            MemberOptions {
                blackhole_opt_in: true,
                ..MemberOptions::default()
            },
        )],
        ..Setup::default()
    };
    run_with::<Fox>(test, &plan, &setup, |fx| {
        // Everything accepted at the route server (announcement control acts on export).
        for c in &cs {
            let p = c.announce.prefix;
            let nbr = addr_of(fx, TANET.name, &p);
            wait_api_route(fx, nbr, "accepted", p, |_| true)?;
        }
        for c in &cs {
            check_case(fx, c)?;
        }
        for c in &cs {
            check_absent(fx, c)?;
            println!("ok {} {}", c.announce.prefix, c.what);
        }
        check_gshut(fx)
    });
}

#[test]
fn fox_communities() {
    communities("fox_communities");
}
