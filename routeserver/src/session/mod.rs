//! BGP sessions: TCP accept/connect, the RFC 4271 FSM per neighbour, timers
//! and connection collision detection.

pub mod ao;
pub mod conn;
pub mod established;
pub mod handshake;
pub mod listener;
pub mod security;
pub mod status;
pub mod tcp_ao;
pub mod writer;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::rib::export::ExportConfig;
use crate::rib::{PeerId, RibMsg, RibTx};
use crate::wire::{Asn, Notification};
use conn::{MsgReader, MsgWriter, SessionError};
use handshake::{handshake, Negotiated};
use status::{unix_now, PeerStatus, State};

/// A neighbour session as configured.
#[derive(Clone, Debug)]
pub struct NeighborConfig {
    pub id: PeerId,
    pub member: Arc<str>,
    pub asn: Asn,
    pub address: IpAddr,
    /// Source address for connections we open (the route server's LAN address).
    pub local_address: Option<IpAddr>,
    pub port: u16,
    pub passive: bool,
    pub local_asn: Asn,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    pub connect_retry: Duration,
    /// After a max-prefix shutdown: `None` stays down, else restart after this.
    pub max_prefix_restart: Option<Duration>,
    /// BGP Role capability (RFC 9234): sent and checked unless `Off`.
    pub role: crate::policy::RoleMode,
    /// TCP-MD5 key (RFC 2385) of the session.
    pub password: Option<fox_config::Password>,
    /// GTSM (RFC 5082): TTL 255 sent and required.
    pub ttl_security: bool,
    /// TCP-AO keys (RFC 5925) at start; a reload rolls them in [`PeerHandle::ao`].
    pub tcp_ao: Option<fox_config::TcpAo>,
    /// Inbound connections that may be in OpenSent / OpenConfirm at once
    /// (`max_pending_connections` of the route server); more are closed.
    pub max_inbound_pending: usize,
}

/// Default of the inbound connections of one neighbour that may be in
/// OpenSent or OpenConfirm at once (`max_pending_connections`).
pub const MAX_INBOUND_PENDING: usize = fox_config::DEFAULT_MAX_PENDING_CONNECTIONS as usize;

/// Shared view of a session for the API.
pub type SharedStatus = Arc<Mutex<PeerStatus>>;

/// Everything a peer task needs besides its configuration.
#[derive(Clone)]
pub struct PeerEnv {
    pub rib: RibTx,
    pub metrics: Arc<Metrics>,
    pub export: Arc<ExportConfig>,
    pub shutdown: watch::Receiver<Option<String>>,
    /// The history store and this route server's name, for session events.
    pub history: Option<(fox_history::HistoryHandle, Arc<str>)>,
    /// The BGP4MP update log (`mrt.updates`), if configured.
    pub mrt_updates: Option<crate::rib::mrt_updates::UpdateLog>,
}

/// Handle to a running peer task.
pub struct PeerHandle {
    pub cfg: Arc<NeighborConfig>,
    pub status: SharedStatus,
    pub incoming: mpsc::Sender<TcpStream>,
    /// The TCP-AO keys in use and the established socket, for key rollover.
    pub ao: ao::SharedAo,
    stop: Arc<watch::Sender<Option<Notification>>>,
}

impl PeerHandle {
    /// End the peer task: an Established session is closed with `n`, one
    /// being set up is dropped. The first stop (or process shutdown) wins.
    pub fn stop(&self, n: Notification) {
        self.stop.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(n);
                true
            } else {
                false
            }
        });
    }
}

/// A Cease with `subcode` carrying `msg` encoded as an RFC 9003 Shutdown
/// Communication (length octet, UTF-8, at most 255 octets). Used with Peer
/// De-configured (3) and Other Configuration Change (6) on reload: RFC 9003
/// defines the message for subcodes 2 and 4, so a receiver that does not
/// expect it with another subcode only shows it as data.
pub fn cease_with_message(subcode: u8, msg: &str) -> Notification {
    let mut n = Notification::cease_admin_shutdown(msg);
    n.subcode = subcode;
    n
}

/// Messages from connection tasks back to the peer task.
enum ConnEvent {
    OpenReceived {
        conn: u64,
        remote_id: Ipv4Addr,
        reply: oneshot::Sender<bool>,
    },
    Established {
        conn: u64,
        neg: Negotiated,
        rd: MsgReader,
        wr: MsgWriter,
    },
    Failed {
        conn: u64,
        err: SessionError,
    },
}

struct ConnInfo {
    outbound: bool,
    open_confirm: bool,
    cancel: Option<oneshot::Sender<()>>,
}

fn set_state(status: &SharedStatus, metrics: &Metrics, state: State) {
    let mut s = match status.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    if s.state == state {
        return;
    }
    let was_up = s.state == State::Established;
    if let Some(l) = &s.mrt {
        l.state(s.state, state);
    }
    s.state = state;
    let asn = s.asn.to_string();
    let addr = s.address.to_string();
    let member = s.member.clone();
    let labels = [member.as_str(), asn.as_str(), addr.as_str()];
    metrics
        .session_state
        .with_label_values(&labels)
        .set(state as i64);
    let up = state == State::Established;
    metrics
        .session_established
        .with_label_values(&labels)
        .set(up as i64);
    if up || was_up {
        s.since = unix_now();
        metrics
            .session_established_since
            .with_label_values(&labels)
            .set(if up { s.since as i64 } else { 0 });
        metrics
            .session_transitions
            .with_label_values(&[
                member.as_str(),
                asn.as_str(),
                addr.as_str(),
                if up { "up" } else { "down" },
            ])
            .inc();
        if was_up {
            s.flaps += 1;
        }
    }
}

/// Start the task that runs one neighbour's FSM.
pub fn spawn_peer(cfg: NeighborConfig, env: PeerEnv) -> PeerHandle {
    let cfg = Arc::new(cfg);
    let status = Arc::new(Mutex::new(PeerStatus::new(
        &cfg.member,
        cfg.asn,
        cfg.address,
    )));
    crate::rib::mrt_updates::attach(&status, &cfg, env.mrt_updates.as_ref());
    set_state(&status, &env.metrics, State::Active);
    let (tx, rx) = mpsc::channel(4);
    let (stop_tx, stop_rx) = watch::channel(None);
    let stop = Arc::new(stop_tx);
    let ao_state = ao::shared(cfg.tcp_ao.clone());
    let handle = PeerHandle {
        cfg: cfg.clone(),
        status: status.clone(),
        incoming: tx,
        ao: ao_state.clone(),
        stop: stop.clone(),
    };
    // Process shutdown reaches the peer as an Administrative Shutdown with
    // the operator's message; the forwarder ends with the peer task.
    let mut global = env.shutdown.clone();
    tokio::spawn(async move {
        loop {
            if let Some(msg) = global.borrow_and_update().clone() {
                stop.send_if_modified(|v| {
                    if v.is_none() {
                        *v = Some(Notification::cease_admin_shutdown(&msg));
                        true
                    } else {
                        false
                    }
                });
                return;
            }
            tokio::select! {
                r = global.changed() => if r.is_err() { return },
                _ = stop.closed() => return,
            }
        }
    });
    tokio::spawn(run_peer(cfg, env, status, rx, stop_rx, ao_state));
    handle
}

async fn connect(cfg: &NeighborConfig, ao_state: &ao::SharedAo) -> std::io::Result<TcpStream> {
    let remote = SocketAddr::new(cfg.address, cfg.port);
    let sock = if cfg.address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    let v6 = cfg.address.is_ipv6();
    if let Some(key) = &cfg.password {
        security::set_md5(&sock, v6, cfg.address, Some(key.as_bytes()))?;
    }
    if let Some(keys) = ao::keys(ao_state) {
        ao::apply_to_connect(&sock, cfg.address, &keys)?;
    }
    if cfg.ttl_security {
        security::gtsm(&sock, v6)?;
    }
    if let Some(local) = cfg.local_address {
        if local.is_ipv4() == cfg.address.is_ipv4() {
            sock.bind(SocketAddr::new(local, 0))?;
        }
    }
    tokio::time::timeout(Duration::from_secs(10), sock.connect(remote))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
}

/// Run a handshake on a new connection in its own task.
fn start_conn(
    cfg: Arc<NeighborConfig>,
    stream: TcpStream,
    conn: u64,
    events: mpsc::UnboundedSender<ConnEvent>,
    cancel: oneshot::Receiver<()>,
) {
    tokio::spawn(async move {
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let mut rd = MsgReader::new(rd);
        let mut wr = MsgWriter::new(wr);
        let ev = events.clone();
        let check: handshake::CollisionCheck = Box::new(move |remote_id| {
            let (reply, rx) = oneshot::channel();
            let _ = ev.send(ConnEvent::OpenReceived {
                conn,
                remote_id,
                reply,
            });
            rx
        });
        let result = tokio::select! {
            r = handshake(&cfg, &mut rd, &mut wr, check, || {}) => r,
            _ = cancel => {
                let n = crate::wire::Notification::new(crate::wire::CEASE, crate::wire::CEASE_CONNECTION_COLLISION_RESOLUTION, bytes::Bytes::new());
                let _ = wr.send(&crate::wire::Message::Notification(n), &Default::default()).await;
                Err(SessionError::Collision)
            }
        };
        let _ = match result {
            Ok(neg) => events.send(ConnEvent::Established { conn, neg, rd, wr }),
            Err(err) => events.send(ConnEvent::Failed { conn, err }),
        };
    });
}

async fn run_peer(
    cfg: Arc<NeighborConfig>,
    env: PeerEnv,
    status: SharedStatus,
    mut incoming: mpsc::Receiver<TcpStream>,
    mut shutdown: watch::Receiver<Option<Notification>>,
    ao_state: ao::SharedAo,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<ConnEvent>();
    let mut conns: HashMap<u64, ConnInfo> = HashMap::new();
    let mut next_conn = 0u64;
    // First connect attempt soon after start, then every ConnectRetry.
    let mut retry_at = Instant::now() + Duration::from_millis(200);
    let mut idle_until: Option<Instant> = None;
    loop {
        let outbound_pending = conns.values().any(|c| c.outbound);
        let may_connect =
            !cfg.passive && !outbound_pending && idle_until.is_none_or(|t| Instant::now() >= t);
        tokio::select! {
            _ = shutdown.changed() => {
                for (_, c) in conns.drain() {
                    if let Some(cancel) = c.cancel { let _ = cancel.send(()); }
                }
                set_state(&status, &env.metrics, State::Idle);
                return;
            }
            Some(stream) = incoming.recv() => {
                if idle_until.is_some_and(|t| Instant::now() < t) {
                    drop(stream);
                    continue;
                }
                if conns.values().filter(|c| !c.outbound).count() >= cfg.max_inbound_pending {
                    env.metrics.connections_refused.with_label_values(&["pending-cap"]).inc();
                    tracing::warn!(peer = %cfg.address, asn = cfg.asn, cap = cfg.max_inbound_pending, "connection refused: as many connections as the cap from this neighbour are already opening");
                    drop(stream);
                    continue;
                }
                next_conn += 1;
                let (cancel_tx, cancel_rx) = oneshot::channel();
                conns.insert(next_conn, ConnInfo { outbound: false, open_confirm: false, cancel: Some(cancel_tx) });
                set_state(&status, &env.metrics, State::OpenSent);
                start_conn(cfg.clone(), stream, next_conn, ev_tx.clone(), cancel_rx);
            }
            _ = tokio::time::sleep_until(retry_at), if may_connect => {
                retry_at = Instant::now() + cfg.connect_retry;
                set_state(&status, &env.metrics, State::Connect);
                next_conn += 1;
                let id = next_conn;
                let (cancel_tx, cancel_rx) = oneshot::channel();
                conns.insert(id, ConnInfo { outbound: true, open_confirm: false, cancel: Some(cancel_tx) });
                let cfg2 = cfg.clone();
                let ev = ev_tx.clone();
                let ao2 = ao_state.clone();
                tokio::spawn(async move {
                    match connect(&cfg2, &ao2).await {
                        Ok(stream) => start_conn(cfg2, stream, id, ev, cancel_rx),
                        Err(e) => { let _ = ev.send(ConnEvent::Failed { conn: id, err: SessionError::Io(e) }); }
                    }
                });
            }
            Some(ev) = ev_rx.recv() => match ev {
                ConnEvent::OpenReceived { conn, remote_id, reply } => {
                    let keep = resolve_collision(&cfg, &mut conns, conn, remote_id);
                    let _ = reply.send(keep);
                    if keep {
                        set_state(&status, &env.metrics, State::OpenConfirm);
                    }
                }
                ConnEvent::Failed { conn, err } => {
                    conns.remove(&conn);
                    if !matches!(err, SessionError::Collision) {
                        tracing::info!(peer = %cfg.address, asn = cfg.asn, error = %err, "session attempt failed");
                        if let Ok(mut s) = status.lock() { s.last_error = Some(err.to_string()); }
                    }
                    if conns.is_empty() {
                        set_state(&status, &env.metrics, State::Active);
                    }
                }
                ConnEvent::Established { conn, neg, rd, wr } => {
                    conns.remove(&conn);
                    for (_, c) in conns.drain() {
                        if let Some(cancel) = c.cancel { let _ = cancel.send(()); }
                    }
                    crate::history::session_event(&env, &cfg, true, "established");
                    let ao_live = ao::register(&ao_state, rd.stream(), cfg.address);
                    let ao_counters = ao_live.as_ref().map(|_| {
                        let labels = [cfg.member.to_string(), cfg.asn.to_string(), cfg.address.to_string()];
                        tokio::spawn(ao::export_counters(ao_state.clone(), env.metrics.clone(), labels))
                    });
                    let err = established::run(&cfg, &env, &status, neg, rd, wr, &mut incoming, &mut shutdown).await;
                    if let Some(t) = ao_counters { t.abort(); }
                    drop(ao_live);
                    tracing::info!(peer = %cfg.address, asn = cfg.asn, reason = %err, "session down");
                    crate::history::session_event(&env, &cfg, false, &err.to_string());
                    if let Ok(mut s) = status.lock() { s.last_error = Some(err.to_string()); }
                    set_state(&status, &env.metrics, State::Active);
                    if let SessionError::Sent(n) = &err {
                        if n.code == crate::wire::CEASE && n.subcode == crate::wire::CEASE_MAX_PREFIXES_REACHED {
                            idle_until = Some(match cfg.max_prefix_restart {
                                Some(d) => Instant::now() + d,
                                None => Instant::now() + Duration::from_secs(365 * 24 * 3600),
                            });
                        }
                    }
                    if shutdown.borrow().is_some() {
                        set_state(&status, &env.metrics, State::Idle);
                        return;
                    }
                    retry_at = Instant::now() + cfg.connect_retry.min(Duration::from_secs(5));
                    if let Some(t) = idle_until { retry_at = retry_at.max(t); }
                }
            }
        }
    }
}

/// RFC 4271 6.8: of two connections that both reached OpenConfirm, keep the
/// one opened by the side with the higher BGP identifier.
fn resolve_collision(
    cfg: &NeighborConfig,
    conns: &mut HashMap<u64, ConnInfo>,
    conn: u64,
    remote_id: Ipv4Addr,
) -> bool {
    let other = conns
        .iter()
        .find(|(id, c)| **id != conn && c.open_confirm)
        .map(|(id, c)| (*id, c.outbound));
    let this_outbound = conns.get(&conn).map(|c| c.outbound).unwrap_or(false);
    match other {
        None => {
            if let Some(c) = conns.get_mut(&conn) {
                c.open_confirm = true;
            }
            true
        }
        Some((other_id, _)) => {
            let local_wins = u32::from(cfg.router_id) > u32::from(remote_id);
            // Keep the connection initiated by the higher identifier.
            let keep_this = local_wins == this_outbound;
            if keep_this {
                if let Some(c) = conns.get_mut(&other_id).and_then(|c| c.cancel.take()) {
                    let _ = c.send(());
                }
                if let Some(c) = conns.get_mut(&conn) {
                    c.open_confirm = true;
                }
            }
            keep_this
        }
    }
}

/// Ask the RIB to drop a peer's routes (used on shutdown paths).
pub async fn rib_down(rib: &RibTx, peer: PeerId) {
    let _ = rib
        .send(RibMsg::Down {
            peer,
            restart_time: None,
        })
        .await;
}
