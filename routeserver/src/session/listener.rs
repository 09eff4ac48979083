//! Accept BGP connections and hand each to its neighbour's task; refuse
//! (and log) connections from addresses that are not configured members,
//! sources that open connections too fast, and GTSM members whose SYN did
//! not arrive with TTL 255.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::security;
use crate::metrics::Metrics;

/// Where a member address's connections go, and how they are checked.
#[derive(Clone, Debug)]
pub struct PeerEntry {
    /// The neighbour task's queue of new connections.
    pub tx: mpsc::Sender<TcpStream>,
    /// GTSM: only a SYN with TTL 255 is accepted, later segments below 255 are dropped.
    pub ttl_security: bool,
}

/// Where connections go, by member address. Shared with the reload, which
/// adds and removes entries while the listeners run.
pub type PeerMap = Arc<RwLock<HashMap<IpAddr, PeerEntry>>>;

/// Default of the connections one source address may open per window
/// (`connection_rate_limit`); more are closed at once.
pub const RATE_MAX: u32 = fox_config::DEFAULT_CONNECTION_RATE_LIMIT;
/// Default window of [`RATE_MAX`] (`connection_rate_window`).
pub const RATE_WINDOW: Duration = fox_config::DEFAULT_CONNECTION_RATE_WINDOW;
/// Sources tracked by the rate limit before old entries are dropped.
const RATE_TABLE_MAX: usize = 4096;

/// The bound listening sockets, kept so a reload can change TCP-MD5 keys.
#[derive(Clone, Default)]
pub struct Listeners {
    socks: Vec<Arc<TcpListener>>,
}

impl Listeners {
    /// Bind every address in `addrs` (see [`bind`]).
    pub fn bind_all(addrs: &[SocketAddr]) -> anyhow::Result<Listeners> {
        let mut socks = Vec::new();
        for sa in addrs {
            let l = bind(*sa).map_err(|e| anyhow::anyhow!("cannot listen for BGP on {sa}: {e}"))?;
            tracing::info!(address = %sa, "listening for BGP");
            socks.push(Arc::new(l));
        }
        Ok(Listeners { socks })
    }

    /// The sockets, for the accept loops.
    pub fn sockets(&self) -> &[Arc<TcpListener>] {
        &self.socks
    }

    /// Install (or with `None` remove) the TCP-MD5 key for `peer` on every
    /// listener of its address family.
    pub fn set_md5(&self, peer: IpAddr, key: Option<&[u8]>) -> std::io::Result<()> {
        for l in &self.socks {
            let v6 = l.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
            if v6 == peer.is_ipv6() {
                security::set_md5(l.as_ref(), v6, peer, key)?;
            }
        }
        Ok(())
    }
}

impl Listeners {
    /// Change the TCP-AO keys for `peer` on every listener of its address
    /// family from `old` to `new`: keys only in `new` are added, keys only
    /// in `old` deleted. Connections accepted later inherit them;
    /// established ones keep theirs.
    pub fn set_ao(
        &self,
        peer: IpAddr,
        old: Option<&fox_config::TcpAo>,
        new: Option<&fox_config::TcpAo>,
    ) -> Result<(), super::tcp_ao::AoError> {
        use super::{ao, tcp_ao};
        for l in &self.socks {
            let v6 = l.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
            if v6 != peer.is_ipv6() {
                continue;
            }
            for (id, recv_id) in ao::removed_keys(old, new) {
                tcp_ao::del_key(l.as_ref(), peer, id, recv_id)?;
            }
            if let Some(new) = new {
                for k in ao::added_keys(old, new) {
                    tcp_ao::add_key(l.as_ref(), peer, &tcp_ao::AoKey::from(k), false)?;
                }
            }
        }
        Ok(())
    }
}

/// Bind a listening socket (SO_REUSEADDR, IPV6_V6ONLY for IPv6 so IPv4 and
/// IPv6 listeners can share the port), sending with TTL 255 and saving
/// each SYN for the GTSM check.
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
    if let Err(e) =
        security::send_ttl_255(&sock, addr.is_ipv6()).and_then(|_| security::save_syn(&sock))
    {
        tracing::warn!(address = %addr, error = %e, "cannot set TTL 255 / TCP_SAVE_SYN: GTSM members cannot connect to this listener");
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

/// What the per-source rate limit says about one more connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Rate {
    /// Within the limit.
    Allow,
    /// Over the limit, first time in this window (log it).
    RefuseFirst,
    /// Over the limit again (count it, do not log).
    Refuse,
}

/// Connections per source address in a fixed window.
#[derive(Clone, Debug)]
pub struct RateLimit {
    seen: HashMap<IpAddr, (Instant, u32)>,
    max: u32,
    window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::new(RATE_MAX, RATE_WINDOW)
    }
}

impl RateLimit {
    /// At most `max` connections per source address per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimit {
            seen: HashMap::new(),
            max,
            window,
        }
    }

    /// Count a connection from `ip` at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Rate {
        if self.seen.len() >= RATE_TABLE_MAX && !self.seen.contains_key(&ip) {
            self.seen
                .retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if self.seen.len() >= RATE_TABLE_MAX {
                // Flooded by many sources: forget the table rather than grow.
                self.seen.clear();
            }
        }
        let e = self.seen.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
        match e.1 {
            n if n <= self.max => Rate::Allow,
            n if n == self.max.saturating_add(1) => Rate::RefuseFirst,
            _ => Rate::Refuse,
        }
    }
}

fn refuse(metrics: &Metrics, reason: &str) {
    metrics
        .connections_refused
        .with_label_values(&[reason])
        .inc();
}

/// Accept connections forever, dispatching by source address, with the per-source `rate` limit.
pub async fn accept_loop(
    listener: Arc<TcpListener>,
    peers: PeerMap,
    metrics: Arc<Metrics>,
    mut rate: RateLimit,
) {
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
        match rate.check(ip, Instant::now()) {
            Rate::Allow => {}
            r => {
                refuse(&metrics, "rate-limited");
                if r == Rate::RefuseFirst {
                    tracing::warn!(peer = %ip, max = rate.max, window_s = rate.window.as_secs(), "too many connections from this address: refusing for the rest of the window");
                }
                continue;
            }
        }
        let entry = match peers.read() {
            Ok(m) => m.get(&ip).cloned(),
            Err(p) => p.into_inner().get(&ip).cloned(),
        };
        let Some(entry) = entry else {
            refuse(&metrics, "unknown-address");
            tracing::warn!(peer = %ip, "connection from an address that is not a configured neighbour, refused");
            continue;
        };
        if entry.ttl_security && !gtsm_ok(&stream, ip, &metrics) {
            continue;
        }
        if entry.tx.try_send(stream).is_err() {
            refuse(&metrics, "busy");
            tracing::warn!(peer = %ip, "too many pending connections from this neighbour, refused");
        }
    }
}

/// GTSM on an accepted connection: its SYN must have had TTL 255, and the
/// kernel drops later segments below 255.
fn gtsm_ok(stream: &TcpStream, ip: IpAddr, metrics: &Metrics) -> bool {
    let v6 = stream.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
    match security::syn_ttl(stream) {
        Some(security::GTSM_TTL) => match security::gtsm(stream, v6) {
            Ok(()) => true,
            Err(e) => {
                refuse(metrics, "gtsm");
                tracing::warn!(peer = %ip, error = %e, "cannot set the GTSM minimum TTL, connection refused");
                false
            }
        },
        ttl => {
            refuse(metrics, "gtsm");
            tracing::warn!(peer = %ip, ttl = ?ttl, "GTSM: connection whose SYN did not arrive with TTL 255, refused");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_per_source_and_window() {
        let mut r = RateLimit::default();
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..RATE_MAX {
            assert_eq!(r.check(a, t0), Rate::Allow);
        }
        assert_eq!(r.check(a, t0), Rate::RefuseFirst);
        assert_eq!(r.check(a, t0), Rate::Refuse);
        // Another source is not affected.
        assert_eq!(r.check(b, t0), Rate::Allow);
        // A new window starts afresh.
        assert_eq!(r.check(a, t0 + RATE_WINDOW), Rate::Allow);
    }

    #[test]
    fn rate_table_stays_bounded() {
        let mut r = RateLimit::default();
        let t0 = Instant::now();
        for i in 0..(RATE_TABLE_MAX as u32 * 2) {
            r.check(IpAddr::V4(i.into()), t0);
        }
        assert!(r.seen.len() <= RATE_TABLE_MAX);
    }
}
