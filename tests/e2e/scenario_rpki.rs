//! RPKI revalidation end to end: StayRTR serves a VRP file the test rewrites; a route that
//! turns INVALID leaves every other member within 10 s and comes back when the ROA is fixed,
//! without touching any BGP session. With two caches in preference order, the first one's data
//! is in force while it is up; stopping it hands over to the second; with both stopped the
//! last set stays in force.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use ipnet::IpNet;

use crate::fixture::{run_with, Fixture, MemberPlan, Setup, ASNET, RS_ASN, TANET, TWAREN};
use crate::member::Announce;
use crate::netns::poll;
use crate::routeserver::{Fox, RsOptions};
use crate::scenario_policy::{addr_of, code, wait_api_route};
use crate::stayrtr::Vrp;

/// A route that turns INVALID must be gone from every other member within this bound.
const REVALIDATION_LIMIT: Duration = Duration::from_secs(10);
/// How long "stays as it is" is watched.
const HOLD: Duration = Duration::from_secs(3);
/// The AS that takes over the ROAs.
const HIJACKER: u32 = 4780;

const TANET_P: &str = "140.128.0.0/16";
const TWAREN_P: &str = "140.110.0.0/16";

fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test prefix {s}: {e}"))
}

/// VRPs with the ROA of TANet's and TWAREN's prefix for the given origins.
fn vrps(tanet_origin: u32, twaren_origin: u32) -> Vec<Vrp> {
    vec![
        Vrp::new(TANET_P, 16, tanet_origin),
        Vrp::new(TWAREN_P, 16, twaren_origin),
    ]
}

/// Wait until every member in `at` holds `prefix` from `origin` tagged RPKI valid
/// (`RS:1000:1`); returns how long it took.
fn wait_valid_at(
    fx: &Fixture<Fox>,
    at: &[&str],
    origin: &MemberPlan,
    prefix: IpNet,
    t0: Instant,
) -> Result<Duration> {
    let nh = addr_of(fx, origin.name, &prefix);
    for who in at {
        fx.wait_route(who, prefix, |r| {
            r.next_hop == nh && r.large_communities.contains(&(RS_ASN, 1000, 1))
        })?;
    }
    Ok(t0.elapsed())
}

/// Wait (up to `limit`) until no member in `at` holds `prefix`; returns how long it took.
fn wait_gone_at(fx: &Fixture<Fox>, at: &[&str], prefix: IpNet, t0: Instant) -> Result<Duration> {
    for who in at {
        let m = fx.member(who);
        let left = REVALIDATION_LIMIT.saturating_sub(t0.elapsed());
        let gone = poll(left, Duration::from_millis(20), || {
            m.routes_for(prefix).is_ok_and(|r| r.is_empty())
        });
        ensure!(
            gone,
            "{who} still holds {prefix} {REVALIDATION_LIMIT:?} after the VRP change"
        );
    }
    Ok(t0.elapsed())
}

/// `prefix` stays present at (or absent from) every member in `at` for [`HOLD`].
fn holds(fx: &Fixture<Fox>, at: &[&str], prefix: IpNet, present: bool) -> Result<()> {
    let until = Instant::now() + HOLD;
    while Instant::now() < until {
        for who in at {
            let n = fx.member(who).routes_for(prefix)?.len();
            ensure!(
                (n > 0) == present,
                "{who}: {prefix} {} while it should stay {}",
                if n > 0 { "appeared" } else { "vanished" },
                if present { "present" } else { "absent" }
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The value of the metric line `name{label="value"}` in `/metrics`.
fn metric(fx: &Fixture<Fox>, name: &str, label: &str, value: &str) -> Result<f64> {
    let text = fx.rs.api_get("/metrics")?;
    let key = format!("{name}{{{label}=\"{value}\"}}");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no metric {key}"))
}

/// Wait until cache `active` is the one in use (and every other cache is not).
fn wait_active_cache(fx: &Fixture<Fox>, active: Option<usize>) -> Result<()> {
    let names: Vec<String> = fx.rtr.iter().map(|c| c.addr.to_string()).collect();
    let mut seen = Vec::new();
    let ok = poll(REVALIDATION_LIMIT, Duration::from_millis(100), || {
        seen = names
            .iter()
            .map(|n| metric(fx, "fox_rpki_cache_active", "cache", n).unwrap_or(-1.0))
            .collect();
        seen.iter()
            .enumerate()
            .all(|(i, v)| (*v == 1.0) == (active == Some(i)))
    });
    ensure!(
        ok,
        "fox_rpki_cache_active for {names:?} is {seen:?}, want cache {active:?} active"
    );
    Ok(())
}

/// Every session's flap counter at the route server.
fn flaps(fx: &Fixture<Fox>) -> Result<Vec<(String, u64)>> {
    let v = fx.rs.api_json("/api/v1/neighbors")?;
    let list = v
        .get("neighbors")
        .and_then(|n| n.as_array())
        .context("no neighbors array")?;
    Ok(list
        .iter()
        .map(|n| {
            (
                n.get("address")
                    .and_then(|a| a.as_str())
                    .unwrap_or("?")
                    .to_owned(),
                n.get("flaps").and_then(|f| f.as_u64()).unwrap_or(u64::MAX),
            )
        })
        .collect())
}

pub fn sessions_untouched(fx: &Fixture<Fox>) -> Result<()> {
    let f = flaps(fx)?;
    ensure!(
        f.iter().all(|(_, n)| *n == 0),
        "sessions flapped during revalidation: {f:?}"
    );
    for m in &fx.members {
        for rs in &m.spec().rs_addrs {
            ensure!(
                m.established(*rs),
                "{}'s session to {rs} is not Established",
                m.spec().name
            );
        }
    }
    Ok(())
}

/// Revalidation on VRP change, cache preference, failover and keeping the last set.
pub fn rpki_revalidation(test: &str) {
    let plan: Vec<(MemberPlan, Vec<Announce>)> = vec![
        (TANET, vec![Announce::new(TANET_P)]),
        (TWAREN, vec![Announce::new(TWAREN_P)]),
        (ASNET, Vec::new()),
    ];
    let valid = vrps(TANET.asn, TWAREN.asn);
    let setup = Setup {
        rs: RsOptions {
            rpki: true,
            ..RsOptions::default()
        },
        rtr_caches: vec![valid.clone(), valid.clone()],
        ..Setup::default()
    };
    run_with::<Fox>(test, &plan, &setup, |fx| {
        let tanet_p = net(TANET_P);
        let twaren_p = net(TWAREN_P);
        let tanet_nbr: IpAddr = addr_of(fx, TANET.name, &tanet_p);
        let twaren_nbr: IpAddr = addr_of(fx, TWAREN.name, &twaren_p);
        let see_tanet = [TWAREN.name, ASNET.name];
        let see_twaren = [TANET.name, ASNET.name];
        let t0 = Instant::now();
        wait_valid_at(fx, &see_tanet, &TANET, tanet_p, t0)?;
        wait_valid_at(fx, &see_twaren, &TWAREN, twaren_p, t0)?;
        wait_active_cache(fx, Some(0))?;
        println!("ok both routes RPKI valid everywhere; cache 0 active");

        // 1. The ROA moves to another AS: TANet's route turns INVALID.
        let invalid = vrps(HIJACKER, TWAREN.asn);
        let t0 = Instant::now();
        fx.rtr[0].set_vrps(&invalid)?;
        let took = wait_gone_at(fx, &see_tanet, tanet_p, t0)?;
        println!("revalidation: RPKI-invalid {TANET_P} withdrawn from TWAREN and ASNet after {took:?} (VRP file rewritten at t=0; StayRTR re-reads it every 1 s)");
        let r = wait_api_route(fx, tanet_nbr, "filtered", tanet_p, |r| {
            r.reasons == [code::RPKI_INVALID]
        })?;
        ensure!(r.rpki == "invalid", "API shows {r:?}");
        sessions_untouched(fx)?;

        // 2. Fixed: it comes back.
        let t0 = Instant::now();
        fx.rtr[0].set_vrps(&valid)?;
        let took = wait_valid_at(fx, &see_tanet, &TANET, tanet_p, t0)?;
        println!("revalidation: {TANET_P} valid again and re-announced after {took:?}");
        sessions_untouched(fx)?;

        // 3. Preference: cache 0 says TANet is invalid, cache 1 says TWAREN is. Only cache 0
        // counts while it is up.
        let t0 = Instant::now();
        fx.rtr[0].set_vrps(&invalid)?;
        wait_gone_at(fx, &see_tanet, tanet_p, t0)?;
        fx.rtr[1].set_vrps(&vrps(TANET.asn, HIJACKER))?;
        holds(fx, &see_twaren, twaren_p, true)?;
        println!("ok cache 1's data is not used while cache 0 (preferred) is up");

        // Failover: stop cache 0, cache 1 takes over.
        let t0 = Instant::now();
        fx.rtr[0].stop();
        ensure!(!fx.rtr[0].listening(), "cache 0 still listens");
        wait_active_cache(fx, Some(1))?;
        let back = wait_valid_at(fx, &see_tanet, &TANET, tanet_p, t0)?;
        let gone = wait_gone_at(fx, &see_twaren, twaren_p, t0)?;
        println!(
            "failover: cache 1 active; {TANET_P} back after {back:?}, {TWAREN_P} withdrawn after {gone:?}"
        );
        wait_api_route(fx, twaren_nbr, "filtered", twaren_p, |r| {
            r.reasons == [code::RPKI_INVALID]
        })?;

        // 4. No cache left: the last set stays in force.
        fx.rtr[1].stop();
        let names: Vec<String> = fx.rtr.iter().map(|c| c.addr.to_string()).collect();
        let down = poll(REVALIDATION_LIMIT, Duration::from_millis(100), || {
            names
                .iter()
                .all(|n| metric(fx, "fox_rpki_cache_up", "cache", n).is_ok_and(|v| v == 0.0))
        });
        if !down {
            bail!("fox_rpki_cache_up does not show both caches down");
        }
        holds(fx, &see_twaren, twaren_p, false)?;
        holds(fx, &see_tanet, tanet_p, true)?;
        let r = wait_api_route(fx, twaren_nbr, "filtered", twaren_p, |r| {
            r.reasons == [code::RPKI_INVALID]
        })?;
        println!(
            "ok both caches down: last VRP set in force ({TWAREN_P} still filtered: {:?})",
            r.reasons
        );
        let effective = metric(fx, "fox_rpki_vrps", "source", "effective")?;
        ensure!(effective == 2.0, "effective VRPs {effective}, want 2");
        sessions_untouched(fx)?;
        println!("ok no session flapped during the whole scenario");
        Ok(())
    });
}

#[test]
fn fox_rpki_revalidation() {
    rpki_revalidation("fox_rpki_revalidation");
}
