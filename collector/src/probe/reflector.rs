//! The STAMP session-reflector (stateless, unauthenticated): every test packet is answered
//! with T2 (receive), T3 (transmit) and the sender's fields. T2 is the kernel's receive
//! timestamp (SO_TIMESTAMPNS) where there is one, so time a test packet waits in the socket
//! while the reflector is not scheduled counts as the reflector's, not the network's.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::stamp::{NtpTime, ReflectorPacket, SenderPacket};

/// Binds the reflector's UDP socket (with kernel receive timestamps where available).
pub async fn bind_reflector(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr).await?;
    if let Err(e) = super::icmp::set_timestamping(&SockRef::from(&s)) {
        tracing::debug!(error = %e, "no kernel receive timestamps on the STAMP reflector");
    }
    Ok(s)
}

/// The next datagram on `sock`: length, sender and kernel receive time.
async fn receive(
    sock: &UdpSocket,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr, Option<std::time::SystemTime>)> {
    loop {
        sock.readable().await?;
        let got = sock.try_io(Interest::READABLE, || {
            super::icmp::recv_from_with_time(&SockRef::from(sock), buf)
        });
        match got {
            Ok((n, Some(from), t)) => return Ok((n, from, t)),
            Ok((_, None, _)) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Answers test packets on `sock` until `shutdown` changes. `drop_every` > 0 leaves every
/// n-th test packet unanswered (for loss tests); 0 answers all.
pub async fn reflect(
    sock: UdpSocket,
    drop_every: u32,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let mut buf = vec![0u8; 2048];
    let mut seen: u64 = 0;
    loop {
        let (n, from, arrived) = tokio::select! {
            r = receive(&sock, &mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "STAMP reflector receive");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let t2 = arrived.map_or_else(NtpTime::now, NtpTime::from_system);
        let Some(bytes) = buf.get(..n) else { continue };
        let test = match SenderPacket::decode(bytes) {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "STAMP test packet rejected");
                continue;
            }
        };
        seen += 1;
        if drop_every > 0 && seen.is_multiple_of(u64::from(drop_every)) {
            continue;
        }
        let answer = ReflectorPacket::reflect(&test, t2, NtpTime::now(), 0).encode(n);
        if let Err(e) = sock.send_to(&answer, from).await {
            tracing::debug!(peer = %from, error = %e, "STAMP reflector send");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::stamp::ERROR_ESTIMATE;

    /// A test packet that waited in the reflector's socket (reflector not scheduled) is
    /// stamped T2 when it arrived: the wait is reflector dwell (T3 - T2), not network RTT.
    /// Before, T2 was taken when read and loopback probes of a loaded machine showed RTTs
    /// over the 12 ms target.
    #[tokio::test]
    async fn t2_is_the_arrival_not_the_read() {
        let refl = bind_reflector("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("bind");
        let at = refl.local_addr().expect("address");
        // Receive timestamps are switched on for the stack a moment after the first ask.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let test = SenderPacket {
            sequence: 7,
            timestamp: NtpTime::now(),
            error_estimate: ERROR_ESTIMATE,
        };
        client.send_to(&test.encode(), at).await.expect("send");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (stop, rx) = watch::channel(None);
        let task = tokio::spawn(reflect(refl, 0, rx));
        let mut buf = [0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
            .await
            .expect("a reflection in time")
            .expect("receive");
        let t4 = NtpTime::now();
        let r = ReflectorPacket::decode(&buf[..n]).expect("a reflection");
        assert_eq!(r.sender_sequence, 7);
        let dwell = r.timestamp.seconds_since(r.receive_timestamp);
        assert!(dwell >= 0.14, "dwell {dwell} s does not hold the wait");
        assert!(r.rtt(t4) < 0.05, "RTT {} s holds the wait", r.rtt(t4));
        let _ = stop.send(Some("done".into()));
        let _ = task.await;
    }
}
