//! What the RIB sends to the BMP stations: Peer Up/Down from the sessions,
//! Route Monitoring pre-policy (every route as received, filtered ones
//! included) and post-policy (accepted ones), periodic Statistics Reports,
//! and a full replay when a station asks for a resync (new connection or
//! dropped messages). Everything goes through [`BmpStation::send`], which
//! never waits, so a slow station never slows the RIB.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ipnet::IpNet;

use super::client::BmpStation;
use super::{DownReason, PeerHeader, PeerType};
use crate::rib::PeerId;
use crate::session::conn::SessionError;
use crate::wire::{self, Notification, Open, PathAttrs};

/// Session events the sessions send to the RIB for BMP.
#[derive(Debug)]
pub enum BmpEvent {
    /// A session reached Established.
    Up {
        /// The neighbour.
        peer: PeerId,
        /// Local and remote TCP endpoints of the session.
        local: SocketAddr,
        /// The member's endpoint.
        remote: SocketAddr,
        /// The OPEN the route server sent and the one it received.
        opens: Arc<(Open, Open)>,
    },
    /// An Established session ended.
    Down {
        /// The neighbour.
        peer: PeerId,
        /// Why (RFC 7854 4.9).
        reason: DownReason,
    },
    /// Once a second: resync requests and Statistics Reports.
    Tick,
}

/// The Peer Down reason for how a session ended.
pub fn down_reason(err: &SessionError) -> DownReason {
    match err {
        SessionError::Received(n) => DownReason::RemoteNotification(n.clone()),
        SessionError::Sent(n) => DownReason::LocalNotification(n.clone()),
        SessionError::HoldExpired => DownReason::LocalNotification(Notification::new(
            wire::HOLD_TIMER_EXPIRED,
            0,
            Bytes::new(),
        )),
        SessionError::Io(_) | SessionError::Closed => DownReason::RemoteNoData,
        // FSM event 0: none of the RFC 4271 events applies.
        SessionError::Collision | SessionError::Local(_) => DownReason::LocalNoNotification(0),
    }
}

struct Up {
    local: SocketAddr,
    remote: SocketAddr,
    opens: Arc<(Open, Open)>,
}

/// The RIB's BMP state: stations and the sessions that are up.
pub struct Feed {
    stations: Vec<BmpStation>,
    ups: HashMap<PeerId, Up>,
    ticks: u64,
    stats_every: u64,
    /// The route server's ASN and BGP ID when the Loc-RIB is exported.
    loc_rib: Option<(wire::Asn, Ipv4Addr)>,
}

/// What a station gets first on every connection when the Loc-RIB is
/// exported: the Initiation, then the Loc-RIB Peer Up (table "global",
/// RFC 9069 5.3), so no Loc-RIB Route Monitoring precedes its Peer Up.
pub fn loc_rib_preamble(initiation: &[u8], asn: wire::Asn, bgp_id: Ipv4Addr) -> Bytes {
    let up = super::loc_rib_peer_up(
        &super::loc_rib_header(asn, bgp_id, now()),
        super::GLOBAL_TABLE,
    );
    let mut out = Vec::with_capacity(initiation.len() + up.len());
    out.extend_from_slice(initiation);
    out.extend_from_slice(&up);
    Bytes::from(out)
}

/// The Loc-RIB Peer Down (reason 6 with the table name, RFC 9069 5.4),
/// sent on shutdown before the Termination.
pub fn loc_rib_down(asn: wire::Asn, bgp_id: Ipv4Addr) -> Bytes {
    let h = super::loc_rib_header(asn, bgp_id, now());
    super::peer_down(&h, &DownReason::LocRibClosed(super::GLOBAL_TABLE.into()))
}

/// Whether the session negotiated 4-octet ASNs: both OPENs carry the
/// capability (RFC 6793 section 3).
fn four_octet_as(opens: &(Open, Open)) -> bool {
    let has = |o: &Open| {
        o.capabilities
            .iter()
            .any(|c| matches!(c, wire::Capability::FourOctetAs(_)))
    };
    has(&opens.0) && has(&opens.1)
}

fn now() -> (u32, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as u32, d.subsec_micros())
}

impl Feed {
    /// A feed towards `stations`, with a Statistics Report per session
    /// every `stats_every` ticks (seconds).
    pub fn new(stations: Vec<BmpStation>, stats_every: u64) -> Feed {
        Feed {
            stations,
            ups: HashMap::new(),
            ticks: 0,
            stats_every: stats_every.max(1),
            loc_rib: None,
        }
    }

    /// Also export the Loc-RIB (RFC 9069) of the route server with this ASN
    /// and BGP ID. Its Peer Up must reach each station after the Initiation
    /// ([`loc_rib_preamble`]).
    pub fn with_loc_rib(mut self, asn: wire::Asn, bgp_id: Ipv4Addr) -> Feed {
        self.loc_rib = Some((asn, bgp_id));
        self
    }

    /// Whether the Loc-RIB is exported.
    pub fn has_loc_rib(&self) -> bool {
        self.loc_rib.is_some()
    }

    /// Loc-RIB Route Monitoring: the best path for `prefix` is now `best`
    /// (announced), or there is none (withdrawn). To every station, or to
    /// station `only` during its resync.
    pub fn loc_rib(&self, only: Option<usize>, prefix: IpNet, best: Option<&PathAttrs>) {
        let Some((asn, id)) = self.loc_rib else {
            return;
        };
        let h = super::loc_rib_header(asn, id, now());
        let msgs = match best {
            Some(attrs) => super::route_monitoring(&h, attrs, &[prefix]),
            None => super::route_withdrawal(&h, &[prefix]),
        };
        for m in msgs {
            self.emit(only, m);
        }
    }

    /// The per-peer header of an up session, pre- or post-policy.
    pub fn header(&self, peer: PeerId, post_policy: bool) -> Option<PeerHeader> {
        let u = self.ups.get(&peer)?;
        Some(PeerHeader {
            peer_type: PeerType::Global,
            post_policy,
            address: u.remote.ip(),
            asn: u.opens.1.asn(),
            bgp_id: u.opens.1.bgp_id,
            time: now(),
            legacy_as_path: !four_octet_as(&u.opens),
        })
    }

    fn emit(&self, only: Option<usize>, msg: Bytes) {
        for (i, s) in self.stations.iter().enumerate() {
            if only.is_none_or(|o| o == i) {
                s.send(msg.clone());
            }
        }
    }

    fn peer_up_msg(&self, peer: PeerId) -> Option<Bytes> {
        let h = self.header(peer, false)?;
        let u = self.ups.get(&peer)?;
        Some(super::peer_up(
            &h,
            (u.local.ip(), u.local.port()),
            u.remote.port(),
            &u.opens.0,
            &u.opens.1,
        ))
    }

    /// A session came up: Peer Up to every station.
    pub fn up(
        &mut self,
        peer: PeerId,
        local: SocketAddr,
        remote: SocketAddr,
        opens: Arc<(Open, Open)>,
    ) {
        self.ups.insert(
            peer,
            Up {
                local,
                remote,
                opens,
            },
        );
        if let Some(m) = self.peer_up_msg(peer) {
            self.emit(None, m);
        }
    }

    /// A session went down: Peer Down to every station.
    pub fn down(&mut self, peer: PeerId, reason: &DownReason) {
        if let Some(h) = self.header(peer, false) {
            self.emit(None, super::peer_down(&h, reason));
        }
        self.ups.remove(&peer);
    }

    /// Route Monitoring: `prefixes` announced with `attrs` (pre- or post-policy).
    pub fn announce(&self, peer: PeerId, post: bool, attrs: &PathAttrs, prefixes: &[IpNet]) {
        self.announce_to(None, peer, post, attrs, prefixes);
    }

    fn announce_to(
        &self,
        only: Option<usize>,
        peer: PeerId,
        post: bool,
        attrs: &PathAttrs,
        prefixes: &[IpNet],
    ) {
        if prefixes.is_empty() {
            return;
        }
        if let Some(h) = self.header(peer, post) {
            for m in super::route_monitoring(&h, attrs, prefixes) {
                self.emit(only, m);
            }
        }
    }

    /// Route Monitoring: `prefixes` withdrawn (pre- or post-policy).
    pub fn withdraw(&self, peer: PeerId, post: bool, prefixes: &[IpNet]) {
        if prefixes.is_empty() {
            return;
        }
        if let Some(h) = self.header(peer, post) {
            for m in super::route_withdrawal(&h, prefixes) {
                self.emit(None, m);
            }
        }
    }

    /// Whether a session is up for BMP.
    pub fn is_up(&self, peer: PeerId) -> bool {
        self.ups.contains_key(&peer)
    }

    /// One second passed. Returns the stations that asked for a resync
    /// and whether Statistics Reports are due.
    pub fn tick(&mut self) -> (Vec<usize>, bool) {
        self.ticks += 1;
        let resync = (0..self.stations.len())
            .filter(|&i| self.stations[i].take_resync())
            .collect();
        (resync, self.ticks.is_multiple_of(self.stats_every))
    }

    /// Statistics Report for one session.
    pub fn statistics(&self, peer: PeerId, rejected: u32, adj_rib_in: u64, accepted: u64) {
        if let Some(h) = self.header(peer, false) {
            self.emit(None, super::statistics(&h, rejected, adj_rib_in, accepted));
        }
    }

    /// Resync of station `i`: Peer Up for every session; the caller then
    /// replays the routes with [`Feed::replay_path`].
    pub fn replay_ups(&self, i: usize) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self.ups.keys().copied().collect();
        peers.sort_unstable();
        for &p in &peers {
            if let Some(m) = self.peer_up_msg(p) {
                self.emit(Some(i), m);
            }
        }
        peers
    }

    /// Resync of station `i`: one stored path, pre-policy and, if
    /// accepted, post-policy.
    pub fn replay_path(
        &self,
        i: usize,
        peer: PeerId,
        attrs: &PathAttrs,
        prefix: IpNet,
        accepted: bool,
    ) {
        self.announce_to(Some(i), peer, false, attrs, &[prefix]);
        if accepted {
            self.announce_to(Some(i), peer, true, attrs, &[prefix]);
        }
    }

    /// Termination to every station (on shutdown).
    pub fn terminate(&self) {
        self.emit(None, super::termination(0, "route server shutting down"));
    }
}
