//! Hostile connection patterns and a flap soak: a flood of connections that
//! never send an OPEN (from a member address and from an unknown one), and
//! a member flapping many times with a few thousand routes. Member B must
//! notice nothing, and the route server's memory must come back; a member
//! sending a 10,000-hop AS_PATH.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use fox_routeserver::wire::Message;
use ipnet::{IpNet, Ipv4Net};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::lab::{Lab, A};
use crate::msgs;
use crate::peer::{Event, RawPeer};

/// Route server's pending-connection cap per neighbour (session::MAX_INBOUND_PENDING).
const PENDING_CAP: usize = fox_routeserver::session::MAX_INBOUND_PENDING;

async fn raw_connect(local: Ipv4Addr, rs: SocketAddr) -> Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
    Ok(tokio::time::timeout(Duration::from_secs(5), s.connect(rs)).await??)
}

/// Wrap a connected stream as a raw peer to read what the route server sends.
async fn peer_of(name: &str, local: Ipv4Addr, rs: SocketAddr) -> Result<RawPeer> {
    RawPeer::connect(name, local, rs).await
}

/// 10 silent connections from A's address and 120 from an unknown address:
/// at most the cap of A's get an OPEN, the rest are closed at once; the
/// unknown source is rate limited; B stays up, A can still establish once
/// its silent connections are gone, and the silent ones that got an OPEN
/// are closed by the route server after its OPEN wait.
#[tokio::test]
async fn connection_flood_leaves_members_unaffected() -> Result<()> {
    let mut lab = Lab::start("hostile_flood", 100).await?;
    let rs = lab.fox.bgp;
    let mut silent = Vec::new();
    for i in 0..10 {
        silent.push(peer_of(&format!("silent{i}"), lab.a_addr(), rs).await?);
    }
    let (mut opened, mut closed) = (Vec::new(), 0);
    for mut p in silent {
        match p.next(Duration::from_secs(2)).await? {
            Event::Msg(Message::Open(_), _) => opened.push(p),
            Event::Closed => closed += 1,
            other => bail!("silent connection got {other:?}"),
        }
    }
    ensure!(
        opened.len() <= PENDING_CAP && closed >= 10 - PENDING_CAP,
        "{} silent connections got an OPEN, {closed} were closed",
        opened.len()
    );
    // Closed by the neighbour's cap, or before it when its queue of new
    // connections is full.
    let mut refused = 0.0;
    for reason in ["pending-cap", "busy"] {
        refused += lab
            .fox
            .metric(
                "fox_bgp_connections_refused_total",
                &[&format!("reason=\"{reason}\"")],
            )
            .await?;
    }
    ensure!(
        refused >= (10 - PENDING_CAP) as f64,
        "pending-cap + busy refusals: {refused}"
    );

    // An unknown source opens 120 connections as fast as it can.
    let stranger = Ipv4Addr::new(127, 0, lab.fox.lan, 99);
    let mut flood = Vec::new();
    for _ in 0..120 {
        if let Ok(s) = raw_connect(stranger, rs).await {
            flood.push(s);
        }
    }
    ensure!(
        flood.len() >= 100,
        "only {} flood connections connected",
        flood.len()
    );
    drop(flood);
    let unknown = lab
        .fox
        .metric(
            "fox_bgp_connections_refused_total",
            &["reason=\"unknown-address\""],
        )
        .await?;
    let limited = lab
        .fox
        .metric(
            "fox_bgp_connections_refused_total",
            &["reason=\"rate-limited\""],
        )
        .await?;
    ensure!(
        unknown >= 50.0 && limited >= 50.0,
        "unknown-address {unknown}, rate-limited {limited}"
    );
    lab.fox
        .wait_log("too many connections from this address", 0)
        .await?;

    // B was not disturbed and the API answers.
    lab.b.stay_up(Duration::from_millis(300)).await?;
    lab.fox.assert_alive().await?;

    // The silent connections that got an OPEN are closed by the route server
    // within its OPEN wait (30 s) with a Hold Timer Expired NOTIFICATION.
    let deadline = Instant::now() + Duration::from_secs(40);
    for mut p in opened {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match p.next(left).await? {
                Event::Msg(Message::Notification(n), _) if n.code == 4 => {}
                Event::Msg(Message::Notification(n), _) => {
                    bail!("silent connection closed with {n:?}, expected Hold Timer Expired")
                }
                Event::Closed => break,
                Event::Timeout => bail!("a silent connection was not closed within 40 s"),
                Event::Msg(..) => {}
            }
        }
    }
    // A real session from A comes up.
    let mut a = lab.a_reconnect().await?;
    lab.announce_valid(&mut a, lab.a_prefix()).await?;
    lab.finish().await
}

fn rss_kib(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

/// A's prefixes: `n` (at most 65,536) /24s from 20.0.0.0/8.
fn routes(n: usize) -> Vec<Ipv4Net> {
    (0..n.min(65_536))
        .map(|i| {
            Ipv4Net::new(Ipv4Addr::new(20, (i / 256) as u8, (i % 256) as u8, 0), 24)
                .unwrap_or_default()
        })
        .collect()
}

/// B reads UPDATEs until every prefix of `want` was announced (`announce`)
/// or withdrawn; any other prefix, or an announce during a withdraw phase
/// (and the reverse), is an error.
async fn b_sees(lab: &mut Lab, want: &BTreeSet<IpNet>, announce: bool) -> Result<()> {
    let mut left = want.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !left.is_empty() {
        let ev = lab
            .b
            .next(deadline.saturating_duration_since(Instant::now()))
            .await?;
        let u = match ev {
            Event::Msg(Message::Update(u), _) => u,
            Event::Msg(Message::Keepalive, _) => continue,
            other => bail!("B: {other:?} with {} prefixes outstanding", left.len()),
        };
        let (got, wrong): (Vec<IpNet>, Vec<IpNet>) = if announce {
            (
                u.announced
                    .iter()
                    .flat_map(|(_, ps)| ps.iter().copied())
                    .collect(),
                u.withdrawn.clone(),
            )
        } else {
            (
                u.withdrawn.clone(),
                u.announced
                    .iter()
                    .flat_map(|(_, ps)| ps.iter().copied())
                    .collect(),
            )
        };
        ensure!(
            wrong.is_empty(),
            "B got {} unexpected {} (first {:?})",
            wrong.len(),
            if announce {
                "withdrawals"
            } else {
                "announcements"
            },
            wrong.first()
        );
        for p in got {
            ensure!(want.contains(&p), "B got a prefix A never sent: {p}");
            ensure!(left.remove(&p), "B got {p} twice in one phase");
        }
    }
    Ok(())
}

/// A flaps `FOX_SOAK_FLAPS` (default 200) times carrying 2,000 routes; B
/// sees exactly 2,000 announcements and 2,000 withdrawals per flap, the RIB
/// ends with only B's route, and the route server's RSS ends within 20 MiB
/// of its value after the first cycle (allocator warm-up).
#[tokio::test]
async fn flapping_member_soak() -> Result<()> {
    let flaps: usize = std::env::var("FOX_SOAK_FLAPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .min(2000);
    // At most 4 connections a second from A: under the default per-source
    // rate limit (50 per 10 s).
    soak(
        "hostile_soak",
        101,
        flaps,
        2000,
        "",
        Duration::from_millis(250),
        20 * 1024,
    )
    .await
}

/// A flaps 1,000 times carrying 200 routes, with the same checks as
/// [`flapping_member_soak`] and RSS back within 8 MiB of its value after the
/// first flap. The route server allows A's 1,000 connections
/// (`connection_rate_limit: 2000` per 10 s), so the flaps are not paced.
#[tokio::test]
async fn thousand_flaps_soak() -> Result<()> {
    soak(
        "hostile_soak_1000",
        105,
        1000,
        200,
        "    connection_rate_limit: 2000\n",
        Duration::ZERO,
        8 * 1024,
    )
    .await
}

/// A flaps `flaps` times with `routes` routes, each cycle at least `pace`
/// long; B must see every announcement and withdrawal exactly once per flap
/// and nothing else; RSS must end within `slack_kib` of its value after the
/// first flap; A's routes must be gone from the RIB.
async fn soak(
    test: &str,
    lan: u8,
    flaps: usize,
    routes_per_flap: usize,
    rs_keys: &str,
    pace: Duration,
    slack_kib: u64,
) -> Result<()> {
    let mut lab = Lab::start_with_rs(test, lan, rs_keys).await?;
    let pid = lab.fox.pid();
    let nets = routes(routes_per_flap);
    let want: BTreeSet<IpNet> = nets.iter().map(|n| IpNet::V4(*n)).collect();
    let mut baseline = 0;
    let mut peak = 0;
    let t0 = Instant::now();
    for i in 0..flaps {
        let cycle = Instant::now();
        let mut a = lab.a_reconnect().await?;
        for chunk in nets.chunks(500) {
            a.send_raw(&msgs::announce_v4(&[A.asn], lab.a_addr(), &[], chunk))
                .await?;
        }
        b_sees(&mut lab, &want, true)
            .await
            .with_context(|| format!("flap {i}: announce"))?;
        if i % 50 == 0 {
            peak = peak.max(rss_kib(pid)?);
        }
        a.send_raw(&msgs::notification(6, 2, &[])).await?;
        drop(a);
        b_sees(&mut lab, &want, false)
            .await
            .with_context(|| format!("flap {i}: withdraw"))?;
        lab.fox.wait_down(lab.a_addr()).await?;
        if i == 0 {
            baseline = rss_kib(pid)?;
        }
        tokio::time::sleep_until(cycle + pace).await;
    }
    let end = rss_kib(pid)?;
    println!(
        "soak {test}: {flaps} flaps x {} routes in {:?}; RSS after first flap {baseline} KiB, \
         highest sampled with routes up {peak} KiB, at the end {end} KiB",
        nets.len(),
        t0.elapsed()
    );
    ensure!(
        end <= baseline + slack_kib,
        "RSS grew from {baseline} KiB to {end} KiB (allowed {slack_kib} KiB)"
    );
    let accepted = lab.fox.routes(lab.a_addr(), "received").await?;
    ensure!(
        accepted.is_empty(),
        "A's routes still in the RIB: {}",
        accepted.len()
    );
    lab.finish().await
}

/// A reload that changes what only a restart applies (blackhole next hop,
/// RPKI sources, admin API address) says so in the log, applies the rest and
/// leaves B's session alone.
#[tokio::test]
async fn restart_only_changes_are_logged() -> Result<()> {
    let lab = Lab::start("hostile_restart_only", 102).await?;
    let lan = lab.fox.lan;
    let base = lab
        .fox
        .config_for(&[crate::lab::A, crate::lab::B, crate::lab::C]);
    let api = format!("api: {}", lab.fox.api);
    ensure!(base.contains(&api), "config has no `{api}`");
    let other_api = std::net::SocketAddr::new(lab.fox.api.ip(), lab.fox.api.port().wrapping_add(1));
    let changed = base.replace(&api, &format!("api: {other_api}"))
        + &format!(
            "blackhole: {{ next_hop_ipv4: 127.0.{lan}.66 }}\nrpki: {{ rtr: [ {{ host: 127.0.{lan}.1, port: 3323 }} ] }}\n"
        );
    lab.fox.reload_with(&changed)?;
    for what in [
        "blackhole next hops not changed: a restart is needed",
        "RPKI sources not changed: a restart is needed",
        "listen addresses, BGP port and API address not changed: a restart is needed",
    ] {
        lab.fox.wait_log(what, 0).await?;
    }
    lab.fox.wait_log("configuration reloaded", 0).await?;
    lab.finish().await
}

/// An AS_PATH of `hops` 4-octet ASNs (A's first, then 200000..220000: no bogon
/// and no transit-free network)
/// in AS_SEQUENCE segments of at most 255 ASNs, Extended Length attribute.
fn long_as_path(hops: usize) -> Vec<u8> {
    let asns: Vec<u32> = std::iter::once(A.asn)
        .chain((1..hops).map(|i| 200_000 + (i % 20_000) as u32))
        .collect();
    let mut v = Vec::new();
    for seg in asns.chunks(255) {
        v.extend(msgs::sequence4(seg));
    }
    msgs::attr(msgs::TRANSITIVE | msgs::EXTENDED, msgs::AS_PATH, &v)
}

/// A (Extended Message negotiated) sends 20 UPDATEs, each with a
/// 10,000-hop AS_PATH in 40 segments (40 KB): every route is filtered with
/// reason 5 (as-path-too-long) and only that, A's session stays up, B
/// receives none of them (the valid route A sends afterwards is the first
/// thing B sees), and the route server's RSS grows by less than 16 MiB.
#[tokio::test]
async fn ten_thousand_hop_as_path_is_filtered() -> Result<()> {
    const HOPS: usize = 10_000;
    let mut lab = Lab::start("hostile_long_path", 103).await?;
    let lan = lab.fox.lan;
    let pid = lab.fox.pid();
    let mut opts = lab.a_opts();
    opts.extended_message = true;
    let mut a = lab.a_with(&opts).await?;
    let before = rss_kib(pid)?;
    let path = long_as_path(HOPS);
    let long: Vec<Ipv4Net> = (0..20u8)
        .map(|i| crate::lab::net(&format!("12.{lan}.{i}.0/24")))
        .collect();
    for p in &long {
        let mut attrs = msgs::origin(0);
        attrs.extend_from_slice(&path);
        attrs.extend(msgs::next_hop(lab.a_addr()));
        let m = msgs::update(&[], &attrs, &msgs::nlri(&[*p]));
        ensure!(
            m.len() > 40_000 && m.len() <= 65_535,
            "UPDATE is {} octets",
            m.len()
        );
        a.send_raw(&m).await?;
    }
    // Every one is filtered, with exactly the path-length reason.
    let deadline = Instant::now() + Duration::from_secs(10);
    let filtered = loop {
        let f = lab.fox.routes(lab.a_addr(), "filtered").await?;
        let mine: Vec<Value> = f
            .into_iter()
            .filter(|r| long.iter().any(|p| r["prefix"] == p.to_string()))
            .collect();
        if mine.len() == long.len() {
            break mine;
        }
        ensure!(
            Instant::now() < deadline,
            "{} of {} long-path routes filtered after 10 s",
            mine.len(),
            long.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for r in &filtered {
        let codes: Vec<u64> = r["reasons"]
            .as_array()
            .map(|rs| rs.iter().filter_map(|x| x["code"].as_u64()).collect())
            .unwrap_or_default();
        ensure!(
            codes == [5],
            "expected only reason 5 (as-path-too-long): {}",
            r["reasons"]
        );
    }
    for p in &long {
        ensure!(
            !lab.fox
                .has_route(lab.a_addr(), "accepted", &p.to_string())
                .await?,
            "{p} accepted"
        );
    }
    // A is still up; a valid route from A is the first announcement B sees.
    a.stay_up(Duration::from_millis(200)).await?;
    let valid = lab.a_prefix();
    a.send_raw(&msgs::announce_v4(&[A.asn], lab.a_addr(), &[], &[valid]))
        .await?;
    let (u, _) = lab
        .b
        .wait_update(Duration::from_secs(5), "any announcement", |u, _| {
            !u.announced.is_empty()
        })
        .await?;
    let got: Vec<IpNet> = u
        .announced
        .iter()
        .flat_map(|(_, ps)| ps.iter().copied())
        .collect();
    ensure!(
        got == [IpNet::V4(valid)],
        "B's first announcement after the long paths: {got:?}"
    );
    let after = rss_kib(pid)?;
    println!("long AS_PATH: RSS {before} KiB before, {after} KiB after 20 x {HOPS} hops");
    ensure!(
        after <= before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    ensure!(
        n["state"] == "Established" && n["flaps"] == 0,
        "A was reset: {n}"
    );
    lab.finish().await
}
