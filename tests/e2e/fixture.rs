//! One exchange per test: the LAN, a route server under test, and member routers of
//! different implementations, with every session Established before the scenario starts.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use ipnet::IpNet;

use crate::bird::BirdMember;
use crate::frr::FrrMember;
use crate::gobgp::GobgpMember;
use crate::member::{Announce, Member, MemberSpec, RouteSeen};
use crate::netns::{can_run, poll, Lab};
use crate::routeserver::{MemberEntry, MemberOptions, RouteServerUnderTest, RsOptions, RsSpec};
use crate::stayrtr::{StayRtr, Vrp};

/// Route server ASN in every lab (documentation ASN, as in the FOX config placeholder).
pub const RS_ASN: u32 = 64500;
/// Bound for all sessions to reach Established.
pub const ESTABLISH_LIMIT: Duration = Duration::from_secs(30);
/// Bound for an announcement or a withdrawal to show up everywhere (not a speed target).
pub const PROPAGATION_LIMIT: Duration = Duration::from_secs(10);

/// Which BGP implementation runs a member's router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// BIRD 2.
    Bird,
    /// GoBGP.
    Gobgp,
    /// FRR bgpd.
    Frr,
}

/// A member to put on the exchange.
#[derive(Debug, Clone, Copy)]
pub struct MemberPlan {
    /// Name as in the FOX config.
    pub name: &'static str,
    /// ASN.
    pub asn: u32,
    /// Last octet / last hextet of its LAN addresses.
    pub host_id: u8,
    /// Its router implementation.
    pub speaker: Speaker,
}

/// TANet (Ministry of Education), routed with BIRD.
pub const TANET: MemberPlan = MemberPlan {
    name: "TANet",
    asn: 1659,
    host_id: 11,
    speaker: Speaker::Bird,
};
/// TWAREN (NCHC/NARLabs), routed with GoBGP.
pub const TWAREN: MemberPlan = MemberPlan {
    name: "TWAREN",
    asn: 7539,
    host_id: 12,
    speaker: Speaker::Gobgp,
};
/// ASNet (Academia Sinica), routed with FRR.
pub const ASNET: MemberPlan = MemberPlan {
    name: "ASNet",
    asn: 9264,
    host_id: 13,
    speaker: Speaker::Frr,
};
/// GSN (government backbone), routed with BIRD.
pub const GSN: MemberPlan = MemberPlan {
    name: "GSN",
    asn: 4782,
    host_id: 14,
    speaker: Speaker::Bird,
};

/// What a scenario adds to the plain exchange: route-server policy, an IRR dump, RPKI caches,
/// per-member settings. The default is the core setup (no RPKI, no IRR).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Route server options; `rtr` and `irr_files` are filled in by the fixture.
    pub rs: RsOptions,
    /// RPSL text written to `rs1/irr.db` and configured as the IRR source.
    pub irr_rpsl: Option<String>,
    /// One StayRTR cache per entry, serving these VRPs, configured in this (preference) order.
    pub rtr_caches: Vec<Vec<Vrp>>,
    /// Per-member settings by member name.
    pub members: Vec<(&'static str, MemberOptions)>,
}

/// First port of the StayRTR caches (one after another), on the RS namespace's loopback.
pub const RTR_BASE_PORT: u16 = 8282;

/// A running exchange. Members drop (stop) first, then the route server, then the lab.
pub struct Fixture<R: RouteServerUnderTest> {
    /// Member routers, in plan order.
    pub members: Vec<Box<dyn Member>>,
    /// The route server under test.
    pub rs: R,
    /// RPKI caches (in the route server's preference order).
    pub rtr: Vec<StayRtr>,
    /// The namespaces.
    pub lab: Arc<Lab>,
}

fn v4(id: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, id)
}

fn v6(id: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(id))
}

impl<R: RouteServerUnderTest> Fixture<R> {
    /// Build the exchange for `test` with the scenario's policy, data sources and member
    /// settings, and start everything; returns once all sessions are up.
    pub fn start_with(
        test: &str,
        plan: &[(MemberPlan, Vec<Announce>)],
        setup: &Setup,
    ) -> Result<Fixture<R>> {
        let mut lab = Lab::new(test)?;
        let rs_host = lab.add_host("rs1", v4(1), v6(1))?;
        let mut entries = Vec::new();
        for (p, _) in plan {
            let host = lab.add_host(&p.name.to_lowercase(), v4(p.host_id), v6(p.host_id))?;
            let options = setup
                .members
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, o)| o.clone())
                .unwrap_or_default();
            entries.push(MemberEntry {
                name: p.name.to_owned(),
                asn: p.asn,
                host,
                options,
            });
        }
        let lab = Arc::new(lab);
        let mut options = setup.rs.clone();
        if let Some(rpsl) = &setup.irr_rpsl {
            let f = rs_host.dir.join("irr.db");
            fs::write(&f, rpsl)?;
            options.irr_files.push(f);
        }
        let mut rtr = Vec::new();
        for (i, vrps) in setup.rtr_caches.iter().enumerate() {
            let port = RTR_BASE_PORT + i as u16;
            let cache = StayRtr::start(&lab, &rs_host, &format!("stayrtr{i}"), port, vrps)?;
            options.rtr.push(cache.addr);
            rtr.push(cache);
        }
        let rs_spec = RsSpec {
            name: "rs1".to_owned(),
            asn: RS_ASN,
            host: rs_host,
            options,
        };
        let rs = R::start(&lab, &rs_spec, &entries)?;
        let rs_addrs = vec![IpAddr::V4(rs_spec.host.ipv4), IpAddr::V6(rs_spec.host.ipv6)];
        let mut members: Vec<Box<dyn Member>> = Vec::new();
        for ((p, announce), e) in plan.iter().zip(entries) {
            let spec = MemberSpec {
                name: e.name,
                asn: e.asn,
                host: e.host,
                rs_asn: RS_ASN,
                rs_addrs: rs_addrs.clone(),
            };
            let a = announce.clone();
            members.push(match p.speaker {
                Speaker::Bird => Box::new(BirdMember::start(&lab, spec, a)?),
                Speaker::Gobgp => Box::new(GobgpMember::start(&lab, spec, a)?),
                Speaker::Frr => Box::new(FrrMember::start(&lab, spec, a)?),
            });
        }
        let fx = Fixture {
            members,
            rs,
            rtr,
            lab,
        };
        fx.wait_established()?;
        Ok(fx)
    }

    fn wait_established(&self) -> Result<()> {
        let t0 = Instant::now();
        for m in &self.members {
            for rs in &m.spec().rs_addrs {
                let left = ESTABLISH_LIMIT.saturating_sub(t0.elapsed());
                if !poll(left, Duration::from_millis(100), || m.established(*rs)) {
                    bail!(
                        "{} ({}) session to route server {rs} not Established within {ESTABLISH_LIMIT:?}",
                        m.spec().name,
                        m.kind()
                    );
                }
            }
        }
        println!("all sessions Established after {:?}", t0.elapsed());
        Ok(())
    }

    /// The member named `name`.
    pub fn member(&self, name: &str) -> &dyn Member {
        match self.members.iter().find(|m| m.spec().name == name) {
            Some(m) => m.as_ref(),
            None => panic!("no member {name} in this fixture"),
        }
    }

    /// Mutable access to the member named `name`.
    pub fn member_mut(&mut self, name: &str) -> &mut Box<dyn Member> {
        match self.members.iter_mut().find(|m| m.spec().name == name) {
            Some(m) => m,
            None => panic!("no member {name} in this fixture"),
        }
    }

    /// Wait (bounded) until `who` holds a route for `prefix` that satisfies `ok`; returns it.
    pub fn wait_route(
        &self,
        who: &str,
        prefix: IpNet,
        ok: impl Fn(&RouteSeen) -> bool,
    ) -> Result<RouteSeen> {
        let m = self.member(who);
        let mut found = None;
        let mut last = Vec::new();
        poll(PROPAGATION_LIMIT, Duration::from_millis(50), || {
            last = m.routes_for(prefix).unwrap_or_default();
            found = last.iter().find(|r| ok(r)).cloned();
            found.is_some()
        });
        match found {
            Some(r) => Ok(r),
            None => bail!(
                "{who} ({}) has no matching route for {prefix} after {PROPAGATION_LIMIT:?}; it holds: [{}]",
                m.kind(),
                last.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
        }
    }
}

/// Run `scenario` on a fresh exchange; writes the route server's diagnostics to the log
/// directory and panics with the error and that directory if anything fails.
pub fn run<R: RouteServerUnderTest>(
    test: &str,
    plan: &[(MemberPlan, Vec<Announce>)],
    scenario: impl FnOnce(&mut Fixture<R>) -> Result<()>,
) {
    run_with(test, plan, &Setup::default(), scenario);
}

/// [`run`] with the scenario's [`Setup`].
pub fn run_with<R: RouteServerUnderTest>(
    test: &str,
    plan: &[(MemberPlan, Vec<Announce>)],
    setup: &Setup,
    scenario: impl FnOnce(&mut Fixture<R>) -> Result<()>,
) {
    if !can_run(test) {
        return;
    }
    let result = Fixture::<R>::start_with(test, plan, setup).and_then(|mut fx| {
        let r = scenario(&mut fx);
        let diag = fx.rs.diagnostics();
        let _ = fs::write(fx.lab.log_dir.join("rs-diagnostics.txt"), diag);
        for m in fx.members.iter_mut() {
            m.stop();
        }
        fx.rs.stop();
        for c in fx.rtr.iter_mut() {
            c.stop();
        }
        r
    });
    if let Err(e) = result {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/e2e-logs")
            .join(test);
        panic!(
            "{test} (route server {}): {e:#}\nlogs: {}",
            R::KIND,
            dir.display()
        );
    }
}
