//! The Established state: read UPDATEs into the RIB, keep the hold timer,
//! answer ROUTE-REFRESH, and close with the right NOTIFICATION.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::conn::{MsgReader, MsgWriter, SessionError};
use super::handshake::Negotiated;
use super::status::State;
use super::writer::{run_writer, send_hold_time, WriterCmd, WriterCounters};
use super::{set_state, NeighborConfig, PeerEnv, SharedStatus};
use crate::bmp::feed::{down_reason, BmpEvent};
use crate::rib::{OutQueue, PeerCtl, PeerUp, RibMsg};
use crate::wire::{self, Afi, Message, Notification, SAFI_UNICAST};

/// Run an Established session until it ends; returns why.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    cfg: &NeighborConfig,
    env: &PeerEnv,
    status: &SharedStatus,
    neg: Negotiated,
    mut rd: MsgReader,
    wr: MsgWriter,
    incoming: &mut mpsc::Receiver<TcpStream>,
    shutdown: &mut watch::Receiver<Option<Notification>>,
) -> SessionError {
    let m = &env.metrics;
    let asn = cfg.asn.to_string();
    let addr = cfg.address.to_string();
    let rx = |t: &str| {
        m.messages_received
            .with_label_values(&[&*cfg.member, asn.as_str(), addr.as_str(), t])
    };
    let tx = |t: &str| {
        m.messages_sent
            .with_label_values(&[&*cfg.member, asn.as_str(), addr.as_str(), t])
    };
    let (rx_update, rx_keepalive, rx_notification, rx_refresh) = (
        rx("update"),
        rx("keepalive"),
        rx("notification"),
        rx("route-refresh"),
    );
    let update_errors =
        m.update_errors
            .with_label_values(&[&*cfg.member, asn.as_str(), addr.as_str()]);
    let counters = WriterCounters {
        updates: tx("update"),
        keepalives: tx("keepalive"),
        notifications: tx("notification"),
    };
    // OPEN and KEEPALIVE of the handshake.
    tx("open").inc();
    rx("open").inc();

    let (out_tx, out_rx) = OutQueue::new();
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let keepalive =
        (neg.hold_time > 0).then(|| Duration::from_secs((neg.hold_time / 3).max(1) as u64));
    let mut writer = tokio::spawn(run_writer(
        wr,
        neg.caps,
        keepalive,
        send_hold_time(neg.hold_time),
        env.export.clone(),
        cfg.asn,
        out_rx,
        cmd_rx,
        counters,
    ));
    if let Ok(mut s) = status.lock() {
        s.remote_router_id = Some(neg.remote_id.to_string());
        s.hold_time = neg.hold_time;
        s.four_octet_as = neg.caps.four_octet_as;
        s.ipv4 = neg.ipv4;
        s.ipv6 = neg.ipv6;
        s.route_refresh = neg.route_refresh;
        s.extended_message = neg.caps.extended_message;
        s.graceful_restart = neg.restart_time;
        s.last_error = None;
    }
    let mrt = crate::rib::mrt_updates::established(status, rd.addrs(), neg.caps.four_octet_as);
    rd.keep_last = mrt.is_some();
    let up = PeerUp {
        router_id: u32::from(neg.remote_id),
        ipv4: neg.ipv4,
        ipv6: neg.ipv6,
        out: out_tx,
        ctl: ctl_tx,
    };
    if let Some((local, remote)) = rd.addrs() {
        let (peer, opens) = (cfg.id, neg.opens.clone());
        let ev = BmpEvent::Up {
            peer,
            local,
            remote,
            opens,
        };
        let _ = env.rib.send(RibMsg::Bmp(ev)).await;
    }
    if env.rib.send(RibMsg::Up { peer: cfg.id, up }).await.is_err() {
        writer.abort();
        return SessionError::Local("RIB stopped".into());
    }
    set_state(status, m, State::Established);
    tracing::info!(peer = %cfg.address, asn = cfg.asn, member = %cfg.member, ipv4 = neg.ipv4, ipv6 = neg.ipv6, "session established");

    let hold = Duration::from_secs(neg.hold_time as u64);
    let mut hold_deadline = tokio::time::Instant::now() + hold;
    let notify_and_wait = |n: Notification| {
        let _ = cmd_tx.send(WriterCmd::Notify(n));
    };
    let err = loop {
        tokio::select! {
            biased;
            r = &mut writer => {
                break match r { Ok(e) => e, Err(e) => SessionError::Local(format!("writer task: {e}")) };
            }
            _ = shutdown.changed() => {
                let n = shutdown.borrow().clone().unwrap_or_else(|| Notification::cease_admin_shutdown(""));
                notify_and_wait(n);
                break wait_writer(&mut writer).await;
            }
            Some(ctl) = ctl_rx.recv() => match ctl {
                PeerCtl::MaxPrefix { afi, limit } => {
                    notify_and_wait(Notification::cease_max_prefixes(afi.code(), SAFI_UNICAST, limit));
                    break wait_writer(&mut writer).await;
                }
            },
            Some(stream) = incoming.recv() => {
                // Collision with an Established session: the new connection
                // loses (RFC 4271 6.8), unless the member does graceful
                // restart, where a new connection means it restarted (RFC 4724 4.2).
                if neg.restart_time.is_some() {
                    drop(stream);
                    writer.abort();
                    break SessionError::Closed;
                }
                refuse_collision(stream).await;
            }
            _ = tokio::time::sleep_until(hold_deadline), if neg.hold_time > 0 => {
                notify_and_wait(Notification::new(wire::HOLD_TIMER_EXPIRED, 0, bytes::Bytes::new()));
                let _ = wait_writer(&mut writer).await;
                break SessionError::HoldExpired;
            }
            r = rd.next(&neg.caps) => {
                match r {
                    Ok((msg, _len)) => {
                        hold_deadline = tokio::time::Instant::now() + hold;
                        match msg {
                            Message::Update(u) => {
                                rx_update.inc();
                                if let Some(l) = &mrt { l.message(rd.last.clone()); }
                                if !u.errors.is_empty() {
                                    update_errors.inc();
                                    tracing::warn!(peer = %cfg.address, asn = cfg.asn, errors = ?u.errors, "UPDATE error handled per RFC 7606");
                                }
                                let msg = RibMsg::Update { peer: cfg.id, update: u, received: Instant::now() };
                                if env.rib.send(msg).await.is_err() {
                                    break SessionError::Local("RIB stopped".into());
                                }
                            }
                            Message::Keepalive => rx_keepalive.inc(),
                            Message::Notification(n) => {
                                rx_notification.inc();
                                break SessionError::Received(n);
                            }
                            Message::RouteRefresh(rr) => {
                                rx_refresh.inc();
                                let afi = match rr.afi { 1 => Some(Afi::Ipv4), 2 => Some(Afi::Ipv6), _ => None };
                                if let (Some(afi), SAFI_UNICAST, 0) = (afi, rr.safi, rr.subtype) {
                                    let _ = env.rib.send(RibMsg::RouteRefresh { peer: cfg.id, afi }).await;
                                }
                            }
                            Message::Open(_) => {
                                let n = Notification::new(wire::FSM_ERROR, wire::FSM_UNEXPECTED_IN_ESTABLISHED, bytes::Bytes::new());
                                notify_and_wait(n);
                                break wait_writer(&mut writer).await;
                            }
                        }
                    }
                    Err(SessionError::Sent(n)) => {
                        tracing::warn!(peer = %cfg.address, asn = cfg.asn, notification = %n.describe(), "malformed message");
                        notify_and_wait(n);
                        break wait_writer(&mut writer).await;
                    }
                    Err(e) => break e,
                }
            }
        }
    };
    writer.abort();
    let restart_time = match (err.keeps_routes_for_restart(), neg.restart_time) {
        (true, Some(t)) => Some(Duration::from_secs(t as u64)),
        _ => None,
    };
    let ev = BmpEvent::Down {
        peer: cfg.id,
        reason: down_reason(&err),
    };
    let _ = env.rib.send(RibMsg::Bmp(ev)).await;
    let _ = env
        .rib
        .send(RibMsg::Down {
            peer: cfg.id,
            restart_time,
        })
        .await;
    err
}

async fn wait_writer(writer: &mut tokio::task::JoinHandle<SessionError>) -> SessionError {
    match tokio::time::timeout(Duration::from_secs(5), &mut *writer).await {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => SessionError::Local(format!("writer task: {e}")),
        Err(_) => SessionError::Local("timed out sending NOTIFICATION".into()),
    }
}

async fn refuse_collision(stream: TcpStream) {
    let (_, wr) = stream.into_split();
    let mut w = MsgWriter::new(wr);
    let n = Notification::new(
        wire::CEASE,
        wire::CEASE_CONNECTION_COLLISION_RESOLUTION,
        bytes::Bytes::new(),
    );
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        w.send(&Message::Notification(n), &Default::default()),
    )
    .await;
}
