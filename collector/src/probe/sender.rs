//! The STAMP session-sender: one test packet per interval, replies matched by the sender
//! sequence number, losses declared after the timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use socket2::SockRef;
use tokio::io::Interest;
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
    if let Err(e) = super::icmp::set_timestamping(&SockRef::from(&s)) {
        tracing::debug!(error = %e, "no kernel receive timestamps on the STAMP socket");
    }
    Ok(s)
}

/// Reads every reflection waiting on `sock` and matches it to its test packet. A reply is
/// judged by when it arrived (the kernel receive timestamp) rather than when it was read:
/// a reflection that came back in time but waited in the socket while this task was not
/// scheduled is a reply, not a loss.
pub(crate) fn take_replies(
    probe: &Probe,
    sock: &UdpSocket,
    pending: &mut BTreeMap<u32, Instant>,
    buf: &mut [u8],
    timeout: Duration,
) {
    for _ in 0..=MAX_PENDING {
        let got = sock.try_io(Interest::READABLE, || {
            super::icmp::recv_with_time(&SockRef::from(sock), buf)
        });
        let (n, arrived) = match got {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // ICMP errors (port unreachable) surface here; the packet will time out.
                tracing::debug!(probe = %probe.name, error = %e, "STAMP receive");
                continue;
            }
        };
        let waited = arrived
            .and_then(|a| SystemTime::now().duration_since(a).ok())
            .unwrap_or_default();
        let t4 = arrived.map_or_else(NtpTime::now, NtpTime::from_system);
        let Some(bytes) = buf.get(..n) else { continue };
        let Ok(r) = ReflectorPacket::decode(bytes) else {
            tracing::debug!(probe = %probe.name, len = n, "not a STAMP reflection");
            continue;
        };
        match pending.remove(&r.sender_sequence) {
            Some(sent) if sent.elapsed().saturating_sub(waited) <= timeout => {
                probe.reply_sent(sent, r.rtt(t4), unix_now());
            }
            Some(sent) => {
                probe.loss_sent(sent, unix_now());
                probe.state().late += 1;
            }
            None => probe.state().late += 1,
        }
    }
}

/// Declares lost every pending packet older than `timeout`.
pub(crate) fn expire(probe: &Probe, pending: &mut BTreeMap<u32, Instant>, timeout: Duration) {
    let now = Instant::now();
    let expired: Vec<(u32, Instant)> = pending
        .iter()
        .filter(|(_, sent)| now.duration_since(**sent) >= timeout)
        .map(|(s, sent)| (*s, *sent))
        .collect();
    let t = unix_now();
    for (s, sent) in expired {
        pending.remove(&s);
        probe.loss_sent(sent, t);
    }
    while pending.len() > MAX_PENDING {
        let Some((&s, &sent)) = pending.iter().next() else {
            break;
        };
        pending.remove(&s);
        probe.loss_sent(sent, t);
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
        let readable = async {
            match &sock {
                Some(s) => s.readable().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                // Replies already waiting count before anything is declared lost.
                if let Some(s) = &sock {
                    take_replies(&probe, s, &mut pending, &mut buf, timeout);
                }
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
            r = readable => match (r, &sock) {
                (Ok(()), Some(s)) => take_replies(&probe, s, &mut pending, &mut buf, timeout),
                (Err(e), _) => tracing::debug!(probe = %probe.name, error = %e, "STAMP receive"),
                (Ok(()), None) => {}
            },
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fox_config::ProbeSettings;

    /// A reflector socket on 127.0.0.1 and a sender socket connected to it.
    async fn pair() -> (UdpSocket, UdpSocket) {
        let refl = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let target = refl.local_addr().expect("address");
        let sender = connect(target).await.expect("connect");
        refl.connect(sender.local_addr().expect("address"))
            .await
            .expect("connect back");
        // The kernel turns receive timestamps on for the whole stack a moment after the
        // first socket asks (a deferred static key); until then a packet is stamped when read.
        tokio::time::sleep(Duration::from_millis(100)).await;
        (refl, sender)
    }

    async fn reflect(refl: &UdpSocket, sequence: u32) {
        let test = SenderPacket {
            sequence,
            timestamp: NtpTime::now(),
            error_estimate: ERROR_ESTIMATE,
        };
        let t = NtpTime::now();
        let answer = ReflectorPacket::reflect(&test, t, t, 0).encode(44);
        refl.send(&answer).await.expect("send");
    }

    /// The other flap of the correlation test: on a loaded machine a reflection came back in
    /// time but sat in the socket while the sender task was not scheduled; when the task ran
    /// again the tick expired the packet first (or the reply was judged by the time it was
    /// read), so a packet that came back was counted lost and a loss alert fired.
    #[tokio::test]
    async fn a_reply_waiting_in_the_socket_is_judged_by_its_arrival() {
        let (refl, sender) = pair().await;
        let probe = Probe::new(
            ProbeSettings::stamp("p", refl.local_addr().expect("address")),
            None,
        );
        let timeout = Duration::from_millis(50);
        let mut buf = vec![0u8; 2048];
        let mut pending = BTreeMap::new();

        // Reflected at once, read only after 150 ms (three timeouts).
        pending.insert(0, Instant::now());
        reflect(&refl, 0).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        // What the tick does: replies waiting first, then expiry.
        take_replies(&probe, &sender, &mut pending, &mut buf, timeout);
        expire(&probe, &mut pending, timeout);
        {
            let st = probe.state();
            assert_eq!((st.received, st.lost, st.late), (1, 0, 0));
            let rtt = st.last_rtt.expect("an RTT");
            assert!(rtt < 0.05, "RTT {rtt} s counts the wait in the socket");
        }

        // Reflected after the timeout: lost (and late), however soon it is read.
        pending.insert(1, Instant::now());
        tokio::time::sleep(Duration::from_millis(80)).await;
        reflect(&refl, 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        take_replies(&probe, &sender, &mut pending, &mut buf, timeout);
        let st = probe.state();
        assert_eq!((st.received, st.lost, st.late), (1, 1, 1));
        assert!(pending.is_empty());
    }
}
