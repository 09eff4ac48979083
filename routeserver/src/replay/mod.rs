//! `fox replay`: a BGP speaker that announces the routes of an MRT file into
//! a session, as a configured member would. Used by the demo, tests and
//! benchmarks.

pub mod mrt;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::wire::{
    self, encode_announcements, encode_end_of_rib, Afi, Capability, Message, NextHop, Notification,
    Open, PathAttrs, SessionCaps,
};
pub use mrt::{read_table, MrtAttrs, MrtTable, PeerSelect};

/// What to replay, into which session.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    pub mrt: Vec<PathBuf>,
    pub select: PeerSelect,
    /// Keep only routes whose AS path contains one of these ASNs, cut so it
    /// starts at that ASN (the member's own and its customers' routes).
    pub via: Vec<u32>,
    /// At most this many prefixes.
    pub limit: Option<usize>,
    pub local_asn: u32,
    pub local_address: Option<IpAddr>,
    pub router_id: Ipv4Addr,
    pub next_hop_v4: Option<Ipv4Addr>,
    pub next_hop_v6: Option<Ipv6Addr>,
    pub remote: SocketAddr,
    pub remote_asn: u32,
    /// Routes per second at most (None: as fast as the socket takes them).
    pub rate: Option<u32>,
    pub hold_time: u16,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Mrt(#[from] mrt::MrtError),
    #[error("connecting to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("session: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer sent NOTIFICATION {0}")]
    Notification(Notification),
    #[error("peer closed the session")]
    Closed,
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Routes grouped by attribute set, ready to announce.
#[derive(Debug, Default)]
pub struct Prepared {
    pub groups: Vec<(PathAttrs, Vec<IpNet>)>,
    pub prefixes: usize,
}

/// Load the MRT files and turn their routes into what this speaker announces:
/// its ASN first in the path, its own next hop.
pub fn prepare(cfg: &ReplayConfig) -> Result<Prepared, ReplayError> {
    let mut index: HashMap<MrtAttrs, usize> = HashMap::new();
    let mut out = Prepared::default();
    let mut seen = std::collections::HashSet::new();
    for path in &cfg.mrt {
        let table = read_table(path, &cfg.select)?;
        for (prefix, mut a) in table.routes {
            if cfg.limit.is_some_and(|l| out.prefixes >= l) {
                break;
            }
            if !cfg.via.is_empty() {
                let asns: Vec<u32> = a.as_path.all_asns().collect();
                let Some(pos) = asns.iter().position(|x| cfg.via.contains(x)) else {
                    continue;
                };
                a.as_path = crate::wire::AsPath::from_sequence(asns[pos..].to_vec());
            }
            let next_hop = match prefix {
                IpNet::V4(_) => match cfg.next_hop_v4 {
                    Some(nh) => NextHop::V4(nh),
                    None => continue,
                },
                IpNet::V6(_) => match cfg.next_hop_v6 {
                    Some(nh) => NextHop::V6 {
                        global: nh,
                        link_local: None,
                    },
                    None => continue,
                },
            };
            if !seen.insert(prefix) {
                continue;
            }
            if a.as_path.first_asn() != Some(cfg.local_asn) {
                a.as_path = a.as_path.prepended(cfg.local_asn, 1);
            }
            let i = *index.entry(a.clone()).or_insert_with(|| {
                out.groups.push((
                    PathAttrs {
                        origin: a.origin,
                        as_path: a.as_path.clone(),
                        next_hop,
                        med: a.med,
                        local_pref: None,
                        atomic_aggregate: a.atomic_aggregate,
                        aggregator: a.aggregator,
                        communities: a.communities.clone(),
                        ext_communities: vec![],
                        large_communities: a.large_communities.clone(),
                        otc: None,
                        unknown: vec![],
                    },
                    Vec::new(),
                ));
                out.groups.len() - 1
            });
            // Two families share attributes but not next hops: key by family too.
            let (attrs, list) = &mut out.groups[i];
            if Afi::of(&prefix) == afi_of_nh(&attrs.next_hop) {
                list.push(prefix);
            } else {
                let mut other = attrs.clone();
                other.next_hop = next_hop;
                out.groups.push((other, vec![prefix]));
            }
            out.prefixes += 1;
        }
    }
    Ok(out)
}

fn afi_of_nh(nh: &NextHop) -> Afi {
    match nh {
        NextHop::V4(_) => Afi::Ipv4,
        NextHop::V6 { .. } => Afi::Ipv6,
    }
}

/// Progress of a replay.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub sent: usize,
    pub total: usize,
    pub received: usize,
}

/// An open session of the replaying speaker.
pub struct Speaker {
    stream: TcpStream,
    caps: SessionCaps,
    hold: u16,
    buf: BytesMut,
    last_sent: Instant,
    /// Prefixes the peer currently announces to us.
    pub received: std::collections::HashSet<IpNet>,
}

async fn read_message(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut BytesMut,
    caps: &SessionCaps,
) -> Result<Message, ReplayError> {
    loop {
        match wire::frame_len(buf, caps.max_message_len()) {
            Err(n) => return Err(ReplayError::Protocol(n.describe())),
            Ok(Some(len)) => {
                let msg = buf.split_to(len).freeze();
                return wire::decode(&msg, caps).map_err(|n| ReplayError::Protocol(n.describe()));
            }
            Ok(None) => {}
        }
        buf.reserve(65536);
        if stream.read_buf(buf).await? == 0 {
            return Err(ReplayError::Closed);
        }
    }
}

impl Speaker {
    /// Connect and bring the session to Established.
    pub async fn connect(cfg: &ReplayConfig) -> Result<Speaker, ReplayError> {
        Speaker::connect_with_ao(cfg, &[]).await
    }

    /// Connect with TCP-AO keys (RFC 5925) for the remote address, the
    /// first one current, and bring the session to Established.
    pub async fn connect_with_ao(
        cfg: &ReplayConfig,
        ao_keys: &[crate::session::tcp_ao::AoKey],
    ) -> Result<Speaker, ReplayError> {
        let sock = if cfg.remote.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        for (i, k) in ao_keys.iter().enumerate() {
            crate::session::tcp_ao::add_key(&sock, cfg.remote.ip(), k, i == 0)
                .map_err(|e| ReplayError::Connect(cfg.remote, e.into()))?;
        }
        if let Some(a) = cfg.local_address {
            sock.bind(SocketAddr::new(a, 0))
                .map_err(|e| ReplayError::Connect(cfg.remote, e))?;
        }
        let mut stream = tokio::time::timeout(Duration::from_secs(10), sock.connect(cfg.remote))
            .await
            .map_err(|_| ReplayError::Connect(cfg.remote, std::io::ErrorKind::TimedOut.into()))?
            .map_err(|e| ReplayError::Connect(cfg.remote, e))?;
        stream.set_nodelay(true)?;
        let open = Open {
            version: 4,
            my_as: u16::try_from(cfg.local_asn).unwrap_or(wire::AS_TRANS as u16),
            hold_time: cfg.hold_time,
            bgp_id: cfg.router_id,
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 1 },
                Capability::Multiprotocol { afi: 2, safi: 1 },
                Capability::RouteRefresh,
                Capability::FourOctetAs(cfg.local_asn),
                Capability::ExtendedMessage,
            ],
        };
        let pre = SessionCaps {
            four_octet_as: false,
            extended_message: false,
        };
        let mut out = BytesMut::new();
        wire::encode(&Message::Open(open.clone()), &pre, &mut out);
        stream.write_all(&out).await?;
        let mut buf = BytesMut::new();
        let theirs = match read_message(&mut stream, &mut buf, &pre).await? {
            Message::Open(o) => o,
            Message::Notification(n) => return Err(ReplayError::Notification(n)),
            other => {
                return Err(ReplayError::Protocol(format!(
                    "expected OPEN, got {other:?}"
                )))
            }
        };
        let four = theirs
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        let ext = theirs
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::ExtendedMessage));
        let caps = SessionCaps {
            four_octet_as: four,
            extended_message: ext,
        };
        out.clear();
        wire::encode(&Message::Keepalive, &caps, &mut out);
        stream.write_all(&out).await?;
        match read_message(&mut stream, &mut buf, &caps).await? {
            Message::Keepalive => {}
            Message::Notification(n) => return Err(ReplayError::Notification(n)),
            other => {
                return Err(ReplayError::Protocol(format!(
                    "expected KEEPALIVE, got {other:?}"
                )))
            }
        }
        let hold = cfg.hold_time.min(theirs.hold_time);
        Ok(Speaker {
            stream,
            caps,
            hold,
            buf,
            last_sent: Instant::now(),
            received: Default::default(),
        })
    }

    /// The session's TCP connection (for socket options such as TCP-AO keys).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Announce everything, then End-of-RIB for both families. Calls
    /// `progress` after each chunk.
    pub async fn announce(
        &mut self,
        prepared: &Prepared,
        rate: Option<u32>,
        mut progress: impl FnMut(Progress),
    ) -> Result<(), ReplayError> {
        let started = Instant::now();
        let mut sent = 0usize;
        let mut out = BytesMut::with_capacity(1 << 20);
        for (attrs, prefixes) in &prepared.groups {
            for chunk in prefixes.chunks(256) {
                encode_announcements(attrs, chunk, &self.caps, &mut out);
                sent += chunk.len();
                if out.len() > 256 * 1024 {
                    self.stream.write_all(&out).await?;
                    out.clear();
                    self.last_sent = Instant::now();
                    progress(Progress {
                        sent,
                        total: prepared.prefixes,
                        received: self.received.len(),
                    });
                }
                if let Some(r) = rate {
                    let due = Duration::from_secs_f64(sent as f64 / r.max(1) as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        self.stream.write_all(&out).await?;
                        out.clear();
                        tokio::time::sleep(wait).await;
                        progress(Progress {
                            sent,
                            total: prepared.prefixes,
                            received: self.received.len(),
                        });
                    }
                }
            }
        }
        encode_end_of_rib(Afi::Ipv4, &mut out);
        encode_end_of_rib(Afi::Ipv6, &mut out);
        self.stream.write_all(&out).await?;
        self.last_sent = Instant::now();
        progress(Progress {
            sent,
            total: prepared.prefixes,
            received: self.received.len(),
        });
        Ok(())
    }

    /// Keep the session up: answer with KEEPALIVEs, count what the peer
    /// sends, until `until` resolves or the session fails.
    pub async fn hold_open(
        &mut self,
        until: impl std::future::Future<Output = ()>,
    ) -> Result<(), ReplayError> {
        tokio::pin!(until);
        let period = Duration::from_secs((self.hold as u64 / 3).max(1));
        let mut tick = tokio::time::interval(period);
        let caps = self.caps;
        let (mut rd, mut wr) = self.stream.split();
        loop {
            tokio::select! {
                _ = &mut until => {
                    let mut out = BytesMut::new();
                    wire::encode(&Message::Notification(Notification::cease_admin_shutdown("replay finished")), &caps, &mut out);
                    let _ = wr.write_all(&out).await;
                    return Ok(());
                }
                _ = tick.tick() => {
                    let mut out = BytesMut::new();
                    wire::encode(&Message::Keepalive, &caps, &mut out);
                    wr.write_all(&out).await?;
                }
                m = read_message(&mut rd, &mut self.buf, &caps) => {
                    match m? {
                        Message::Update(u) => {
                            for p in &u.withdrawn {
                                self.received.remove(p);
                            }
                            for (_, ps) in &u.announced {
                                self.received.extend(ps.iter().copied());
                            }
                        }
                        Message::Notification(n) => return Err(ReplayError::Notification(n)),
                        _ => {}
                    }
                }
            }
        }
    }
}
