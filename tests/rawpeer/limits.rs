//! Connection limits from the configuration take effect: a route server with
//! `max_pending_connections: 1`, `connection_rate_limit: 8` and
//! `connection_rate_window: 5m` (defaults 2, 50 and 10s).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, ensure, Result};
use fox_routeserver::wire::Message;
use tokio::net::TcpSocket;
use tokio::time::Instant;

use crate::lab::Lab;
use crate::peer::{Event, RawPeer};

const KEYS: &str = "    max_pending_connections: 1\n    connection_rate_limit: 8\n    connection_rate_window: 5m\n";

/// 4 silent connections from A: only 1 gets an OPEN (the default cap lets 2
/// through). 10 connections from an unknown address: the first 8 are refused
/// as unknown, the last 2 by the rate limit (the default allows 50 per 10 s),
/// logged with the configured figures. A then establishes, B is undisturbed.
#[tokio::test]
async fn lowered_connection_limits_take_effect() -> Result<()> {
    let mut lab = Lab::start_with_rs("limits_lowered", 104, KEYS).await?;
    let rs = lab.fox.bgp;
    let mut silent = Vec::new();
    for i in 0..4 {
        silent.push(RawPeer::connect(&format!("silent{i}"), lab.a_addr(), rs).await?);
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
        opened.len() == 1 && closed == 3,
        "{} silent connections got an OPEN, {closed} were closed",
        opened.len()
    );
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
    ensure!(refused == 3.0, "pending-cap + busy refusals: {refused}");

    let stranger = Ipv4Addr::new(127, 0, lab.fox.lan, 99);
    for _ in 0..10 {
        let s = TcpSocket::new_v4()?;
        s.bind(SocketAddr::new(IpAddr::V4(stranger), 0))?;
        let _ = tokio::time::timeout(Duration::from_secs(5), s.connect(rs)).await??;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let (unknown, limited) = loop {
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
        if unknown + limited >= 10.0 || Instant::now() > deadline {
            break (unknown, limited);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    ensure!(
        unknown == 8.0 && limited == 2.0,
        "unknown-address {unknown}, rate-limited {limited}"
    );
    lab.fox.wait_log("max=8 window_s=300", 0).await?;

    // The open silent connection goes away; A's real session (its 5th
    // connection, under the limit of 8) comes up.
    drop(opened);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut a = lab.a_reconnect().await?;
    lab.announce_valid(&mut a, lab.a_prefix()).await?;
    lab.b.stay_up(Duration::from_millis(300)).await?;
    lab.finish().await
}
