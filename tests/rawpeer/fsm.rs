//! FSM errors (RFC 4271 6.6 and 8, subcodes RFC 6608) and the hold timer
//! (RFC 4271 6.5).

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use fox_routeserver::wire::*;

use crate::lab::Lab;
use crate::msgs;
use crate::peer::{Event, RawPeer};

/// An End-of-RIB: the smallest well-formed UPDATE.
fn eor() -> Vec<u8> {
    msgs::update(&[], &[], &[])
}

/// The route server's OPEN is in (OpenSent); A sends `msg` instead of an OPEN.
async fn open_sent_case(test: &str, lan: u8, msg: Vec<u8>) -> Result<()> {
    let mut lab = Lab::start(test, lan).await?;
    let mut a = lab.a_connected().await?;
    a.send_raw(&msg).await?;
    a.expect_error(FSM_ERROR, FSM_UNEXPECTED_IN_OPEN_SENT, &[])
        .await?;
    let mut a = lab.a_reconnect().await?;
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

#[tokio::test]
async fn update_before_open_is_fsm_error_open_sent() -> Result<()> {
    open_sent_case("fsm_update_before_open", 30, eor()).await
}

#[tokio::test]
async fn keepalive_in_open_sent_is_fsm_error_open_sent() -> Result<()> {
    open_sent_case("fsm_keepalive_open_sent", 31, msgs::keepalive()).await
}

/// OPEN exchanged, the route server's KEEPALIVE in (OpenConfirm); an UPDATE
/// instead of the KEEPALIVE.
#[tokio::test]
async fn update_in_open_confirm_is_fsm_error_open_confirm() -> Result<()> {
    let mut lab = Lab::start("fsm_update_open_confirm", 32).await?;
    let mut a = RawPeer::connect("A", lab.a_addr(), lab.fox.bgp).await?;
    a.send_raw(&lab.a_opts().bytes()).await?;
    a.expect_open().await?;
    match a.next(Duration::from_secs(5)).await? {
        Event::Msg(Message::Keepalive, _) => {}
        other => anyhow::bail!("expected KEEPALIVE after OPEN, got {other:?}"),
    }
    a.send_raw(&eor()).await?;
    a.expect_error(FSM_ERROR, FSM_UNEXPECTED_IN_OPEN_CONFIRM, &[])
        .await?;
    ensure!(lab.fox.state(lab.a_addr()).await? != "Established");
    let mut a = lab.a_reconnect().await?;
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

#[tokio::test]
async fn open_in_established_is_fsm_error_established() -> Result<()> {
    let mut lab = Lab::start("fsm_open_established", 33).await?;
    let mut a = lab.a_announced().await?;
    a.send_raw(&lab.a_opts().bytes()).await?;
    a.expect_error(FSM_ERROR, FSM_UNEXPECTED_IN_ESTABLISHED, &[])
        .await?;
    lab.a_reset_and_recovers().await?;
    lab.finish().await
}

/// Hold time 3 s negotiated, then A goes silent: Hold Timer Expired arrives
/// 3 s after A's last message (not earlier, not much later) and A's route
/// is withdrawn from B.
#[tokio::test]
async fn hold_timer_expiry_sends_notification_and_withdraws() -> Result<()> {
    let mut lab = Lab::start("fsm_hold_timer", 34).await?;
    let mut opts = lab.a_opts();
    opts.hold = 3;
    let mut a = lab.a_with(&opts).await?;
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    ensure!(n["hold_time"] == 3, "negotiated hold time: {n}");
    let p = lab.a_prefix();
    a.send_raw(&msgs::announce_v4(
        &[crate::lab::A.asn],
        lab.a_addr(),
        &[],
        &[p],
    ))
    .await?;
    let silent_since = Instant::now();
    lab.b.wait_announce(ipnet::IpNet::V4(p)).await?;
    let n = a.expect_notification(Duration::from_secs(8)).await?;
    let waited = silent_since.elapsed();
    ensure!(
        (n.code, n.subcode, n.data.len()) == (HOLD_TIMER_EXPIRED, 0, 0),
        "expected Hold Timer Expired, got {n}"
    );
    ensure!(
        waited >= Duration::from_millis(2800) && waited <= Duration::from_millis(4500),
        "Hold Timer Expired after {waited:?}, want about 3 s"
    );
    lab.fox.wait_down(lab.a_addr()).await?;
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    ensure!(
        n["flaps"] == 1 && n["last_error"] == "hold timer expired",
        "A after one hold timer expiry: {n}"
    );
    lab.a_reset_and_recovers().await?;
    lab.finish().await
}

/// RFC 4271 6.8: a new connection from a member whose session is
/// Established loses: Cease / Connection Collision Resolution, and the
/// Established session carries on.
#[tokio::test]
async fn second_connection_while_established_is_closed_with_collision_cease() -> Result<()> {
    let mut lab = Lab::start("fsm_collision", 35).await?;
    let mut a = lab.a_announced().await?;
    let mut a2 = RawPeer::connect("A2", lab.a_addr(), lab.fox.bgp).await?;
    a2.send_raw(&lab.a_opts().bytes()).await?;
    let n = a2.expect_notification(Duration::from_secs(5)).await?;
    ensure!(
        (n.code, n.subcode) == (CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION),
        "second connection got {n}"
    );
    a.send_raw(&msgs::keepalive()).await?;
    a.stay_up(Duration::from_millis(200)).await?;
    let st = lab.fox.neighbor(lab.a_addr()).await?;
    ensure!(st["state"] == "Established" && st["flaps"] == 0, "A: {st}");
    ensure!(
        lab.fox
            .has_route(lab.a_addr(), "accepted", &lab.a_prefix().to_string())
            .await?,
        "A's route lost"
    );
    lab.finish().await
}
