//! The STAMP session-sender: one test packet per interval, replies matched by the sender
//! sequence number, losses declared after the timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::stamp::{NtpTime, ReflectorPacket, SenderPacket, ERROR_ESTIMATE};
use super::Probe;
use crate::alert::AlertEngine;
use crate::server::unix_now;

/// Most packets awaiting a reply; older ones are declared lost first.
const MAX_PENDING: usize = 4096;

async fn connect(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if target.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).await?;
    s.connect(target).await?;
    Ok(s)
}

/// Declares lost every pending packet sent before `deadline`.
fn expire(probe: &Probe, pending: &mut BTreeMap<u32, Instant>, timeout: Duration) {
    let now = Instant::now();
    let expired: Vec<u32> = pending
        .iter()
        .filter(|(_, sent)| now.duration_since(**sent) >= timeout)
        .map(|(s, _)| *s)
        .collect();
    let t = unix_now();
    for s in expired {
        pending.remove(&s);
        probe.loss(t);
    }
    while pending.len() > MAX_PENDING {
        let Some((&s, _)) = pending.iter().next() else {
            break;
        };
        pending.remove(&s);
        probe.loss(t);
    }
}

/// Runs `probe` until `shutdown` changes, judging it with `alerts` after every interval.
pub async fn run_probe(
    probe: Arc<Probe>,
    alerts: Option<Arc<AlertEngine>>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let interval = probe.settings.interval;
    let timeout = probe.settings.timeout;
    let mut sock: Option<UdpSocket> = None;
    let mut pending: BTreeMap<u32, Instant> = BTreeMap::new();
    let mut seq: u32 = 0;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 2048];
    loop {
        let recv = async {
            match &sock {
                Some(s) => s.recv(&mut buf).await.map(Some),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                expire(&probe, &mut pending, timeout);
                if let Some(a) = &alerts {
                    a.evaluate(&probe);
                }
                if sock.is_none() {
                    match connect(probe.target).await {
                        Ok(s) => sock = Some(s),
                        Err(e) => {
                            tracing::warn!(probe = %probe.name, error = %e, "STAMP socket");
                        }
                    }
                }
                let Some(s) = &sock else {
                    // Could not even open a socket: the packet that was due counts as lost.
                    probe.state().sent += 1;
                    probe.loss(unix_now());
                    continue;
                };
                let pkt = SenderPacket { sequence: seq, timestamp: NtpTime::now(), error_estimate: ERROR_ESTIMATE };
                probe.state().sent += 1;
                pending.insert(seq, Instant::now());
                seq = seq.wrapping_add(1);
                if let Err(e) = s.send(&pkt.encode()).await {
                    // ICMP errors (unreachable) surface here; the packet will time out.
                    tracing::debug!(probe = %probe.name, error = %e, "STAMP send");
                }
            }
            r = recv => {
                let t4 = NtpTime::now();
                let n = match r {
                    Ok(Some(n)) => n,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::debug!(probe = %probe.name, error = %e, "STAMP receive");
                        continue;
                    }
                };
                let Some(bytes) = buf.get(..n) else { continue };
                let Ok(r) = ReflectorPacket::decode(bytes) else {
                    tracing::debug!(probe = %probe.name, len = n, "not a STAMP reflection");
                    continue;
                };
                match pending.remove(&r.sender_sequence) {
                    Some(sent) if sent.elapsed() <= timeout => probe.reply(r.rtt(t4), unix_now()),
                    Some(_) => {
                        probe.loss(unix_now());
                        probe.state().late += 1;
                    }
                    None => probe.state().late += 1,
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
