//! The STAMP session-reflector (stateless, unauthenticated): every test packet is answered
//! with T2 (receive), T3 (transmit) and the sender's fields.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::stamp::{NtpTime, ReflectorPacket, SenderPacket};

/// Binds the reflector's UDP socket.
pub async fn bind_reflector(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(addr).await
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
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "STAMP reflector receive");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let t2 = NtpTime::now();
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
