//! Accept BGP connections and hand each to its neighbour's task; refuse
//! (and log) connections from addresses that are not configured members.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// Where connections go, by member address. Shared with the reload, which
/// adds and removes entries while the listeners run.
pub type PeerMap = Arc<RwLock<HashMap<IpAddr, mpsc::Sender<TcpStream>>>>;

/// Bind a listening socket (SO_REUSEADDR, IPV6_V6ONLY for IPv6 so IPv4 and
/// IPv6 listeners can share the port).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        let s2 = socket2::SockRef::from(&sock);
        s2.set_only_v6(true)?;
    }
    sock.bind(addr)?;
    sock.listen(128)
}

/// Map an IPv4-mapped IPv6 source back to IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Accept connections forever, dispatching by source address.
pub async fn accept_loop(listener: TcpListener, peers: PeerMap, metrics: Arc<Metrics>) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = canonical(from.ip());
        let tx = match peers.read() {
            Ok(m) => m.get(&ip).cloned(),
            Err(p) => p.into_inner().get(&ip).cloned(),
        };
        match tx {
            Some(tx) => {
                if tx.try_send(stream).is_err() {
                    metrics
                        .connections_refused
                        .with_label_values(&["busy"])
                        .inc();
                    tracing::warn!(peer = %ip, "too many pending connections from this neighbour, refused");
                }
            }
            None => {
                metrics
                    .connections_refused
                    .with_label_values(&["unknown-address"])
                    .inc();
                tracing::warn!(peer = %ip, "connection from an address that is not a configured neighbour, refused");
                drop(stream);
            }
        }
    }
}
