//! BMP message encoding (RFC 7854, Loc-RIB peer type of RFC 9069).
//!
//! The encoder is checked against bgpkit-parser's BMP parser and against
//! pmacct's `pmbmpd` (routeserver/tests/bmp_pmbmpd.rs); [`client`] keeps one
//! station connection, [`feed`] is what the RIB sends.

pub mod client;
pub mod feed;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr};

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::IpNet;

use crate::wire::{self, Asn, Message, Notification, Open, PathAttrs, SessionCaps, Update};

/// BMP version 3.
pub const VERSION: u8 = 3;
/// Message types (RFC 7854 section 4.1).
pub const ROUTE_MONITORING: u8 = 0;
/// Statistics Report.
pub const STATISTICS: u8 = 1;
/// Peer Down Notification.
pub const PEER_DOWN: u8 = 2;
/// Peer Up Notification.
pub const PEER_UP: u8 = 3;
/// Initiation.
pub const INITIATION: u8 = 4;
/// Termination.
pub const TERMINATION: u8 = 5;

/// Whose RIB a per-peer message describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerType {
    /// A member's Adj-RIB-In (Global Instance Peer, type 0).
    Global,
    /// The route server's own Loc-RIB (RFC 9069, type 3).
    LocRib,
}

/// The per-peer header (RFC 7854 section 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerHeader {
    /// Adj-RIB-In of a member or the Loc-RIB.
    pub peer_type: PeerType,
    /// L flag: post-policy Adj-RIB-In (ignored for Loc-RIB).
    pub post_policy: bool,
    /// The member's address (unspecified for Loc-RIB).
    pub address: IpAddr,
    /// The member's ASN (the route server's for Loc-RIB).
    pub asn: Asn,
    /// The member's BGP identifier (the route server's for Loc-RIB).
    pub bgp_id: Ipv4Addr,
    /// Time of the event: seconds and microseconds since the UNIX epoch.
    pub time: (u32, u32),
    /// A flag (RFC 7854 4.2): the member did not negotiate 4-octet ASNs
    /// (RFC 6793), so its UPDATEs are written with the 2-octet AS_PATH
    /// (and AS4_PATH), as a station reading the AS size from the Peer Up's
    /// OPENs expects. Never set for the Loc-RIB (RFC 9069 5.6.1).
    pub legacy_as_path: bool,
}

impl PeerHeader {
    /// The capabilities the UPDATEs inside are encoded with.
    fn caps(&self) -> SessionCaps {
        SessionCaps {
            four_octet_as: !self.legacy_as_path || self.peer_type == PeerType::LocRib,
            ..SessionCaps::default()
        }
    }
}

fn begin(out: &mut BytesMut, ty: u8) -> usize {
    let start = out.len();
    out.put_u8(VERSION);
    out.put_u32(0);
    out.put_u8(ty);
    start
}

fn finish(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start) as u32;
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
}

fn put_addr(out: &mut BytesMut, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            out.put_bytes(0, 12);
            out.put_slice(&v4.octets());
        }
        IpAddr::V6(v6) => out.put_slice(&v6.octets()),
    }
}

fn put_peer(out: &mut BytesMut, h: &PeerHeader) {
    let (ty, mut flags) = match h.peer_type {
        PeerType::Global => (0u8, 0u8),
        PeerType::LocRib => (3u8, 0u8),
    };
    if h.peer_type == PeerType::Global {
        if h.address.is_ipv6() {
            flags |= 0x80;
        }
        if h.post_policy {
            flags |= 0x40;
        }
        if h.legacy_as_path {
            flags |= 0x20;
        }
    }
    out.put_u8(ty);
    out.put_u8(flags);
    out.put_u64(0); // peer distinguisher
    put_addr(out, h.address);
    out.put_u32(h.asn);
    out.put_slice(&h.bgp_id.octets());
    out.put_u32(h.time.0);
    out.put_u32(h.time.1);
}

fn put_tlv(out: &mut BytesMut, ty: u16, value: &[u8]) {
    out.put_u16(ty);
    out.put_u16(value.len().min(usize::from(u16::MAX)) as u16);
    out.put_slice(&value[..value.len().min(usize::from(u16::MAX))]);
}

/// Initiation: sysDescr and sysName TLVs (RFC 7854 section 4.3).
pub fn initiation(sys_name: &str, sys_descr: &str) -> Bytes {
    let mut out = BytesMut::new();
    let s = begin(&mut out, INITIATION);
    put_tlv(&mut out, 1, sys_descr.as_bytes());
    put_tlv(&mut out, 2, sys_name.as_bytes());
    finish(&mut out, s);
    out.freeze()
}

/// Termination with a reason code (0 administratively closed, 1
/// unspecified, 2 out of resources, 3 redundant connection, 4 permanently
/// closed; RFC 7854 section 4.5).
pub fn termination(reason: u16, text: &str) -> Bytes {
    let mut out = BytesMut::new();
    let s = begin(&mut out, TERMINATION);
    put_tlv(&mut out, 0, text.as_bytes());
    put_tlv(&mut out, 1, &reason.to_be_bytes());
    finish(&mut out, s);
    out.freeze()
}

/// Peer Up (RFC 7854 section 4.10): the session's addresses and both OPENs.
pub fn peer_up(
    h: &PeerHeader,
    local: (IpAddr, u16),
    remote_port: u16,
    sent: &Open,
    received: &Open,
) -> Bytes {
    let mut out = BytesMut::new();
    let s = begin(&mut out, PEER_UP);
    put_peer(&mut out, h);
    put_addr(&mut out, local.0);
    out.put_u16(local.1);
    out.put_u16(remote_port);
    let caps = SessionCaps::default();
    wire::encode(&Message::Open(sent.clone()), &caps, &mut out);
    wire::encode(&Message::Open(received.clone()), &caps, &mut out);
    finish(&mut out, s);
    out.freeze()
}

/// Peer Up / Peer Down information TLV: VRF/Table Name (RFC 9069 section 5.3.1).
pub const TLV_TABLE_NAME: u16 = 3;
/// The table name of the default Loc-RIB instance (RFC 9069 section 5.3.1).
pub const GLOBAL_TABLE: &str = "global";

/// The table name as sent: 1 to 255 bytes (RFC 9069 5.3.1), cut at a
/// character boundary; an empty name becomes [`GLOBAL_TABLE`].
fn table_name(name: &str) -> &[u8] {
    if name.is_empty() {
        return GLOBAL_TABLE.as_bytes();
    }
    let mut end = name.len().min(255);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name.as_bytes()[..end]
}

/// The per-peer header of the route server's Loc-RIB (RFC 9069 section
/// 5.1): peer type 3, distinguisher and address zero, its ASN and BGP ID.
pub fn loc_rib_header(asn: Asn, bgp_id: Ipv4Addr, time: (u32, u32)) -> PeerHeader {
    PeerHeader {
        peer_type: PeerType::LocRib,
        post_policy: false,
        address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        asn,
        bgp_id,
        time,
        legacy_as_path: false,
    }
}

/// The fabricated OPEN of a Loc-RIB Peer Up (RFC 9069 section 5.3): the
/// 4-octet ASN capability and the address families the Loc-RIB carries.
pub fn loc_rib_open(asn: Asn, bgp_id: Ipv4Addr) -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(wire::AS_TRANS as u16),
        hold_time: 0,
        bgp_id,
        capabilities: vec![
            wire::Capability::Multiprotocol { afi: 1, safi: 1 },
            wire::Capability::Multiprotocol { afi: 2, safi: 1 },
            wire::Capability::FourOctetAs(asn),
        ],
    }
}

/// Peer Up of the Loc-RIB (RFC 9069 section 5.3): local address and ports
/// zero, the fabricated OPEN as sent and as received, the VRF/Table Name TLV.
pub fn loc_rib_peer_up(h: &PeerHeader, table: &str) -> Bytes {
    let open = loc_rib_open(h.asn, h.bgp_id);
    let mut out = BytesMut::new();
    let s = begin(&mut out, PEER_UP);
    put_peer(&mut out, h);
    out.put_bytes(0, 16);
    out.put_u16(0);
    out.put_u16(0);
    let caps = SessionCaps::default();
    wire::encode(&Message::Open(open.clone()), &caps, &mut out);
    wire::encode(&Message::Open(open), &caps, &mut out);
    put_tlv(&mut out, TLV_TABLE_NAME, table_name(table));
    finish(&mut out, s);
    out.freeze()
}

/// Why a session went down (RFC 7854 section 4.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// 1: the route server sent this NOTIFICATION.
    LocalNotification(Notification),
    /// 2: closed locally without a NOTIFICATION; the FSM event code.
    LocalNoNotification(u16),
    /// 3: the member sent this NOTIFICATION.
    RemoteNotification(Notification),
    /// 4: the member closed without a NOTIFICATION.
    RemoteNoData,
    /// 5: removed from the configuration.
    Deconfigured,
    /// 6 (RFC 9069 section 5.4): the Loc-RIB instance closed; the
    /// VRF/Table Name TLV follows.
    LocRibClosed(String),
}

/// Peer Down (RFC 7854 section 4.9).
pub fn peer_down(h: &PeerHeader, reason: &DownReason) -> Bytes {
    let mut out = BytesMut::new();
    let s = begin(&mut out, PEER_DOWN);
    put_peer(&mut out, h);
    let caps = SessionCaps::default();
    match reason {
        DownReason::LocalNotification(n) => {
            out.put_u8(1);
            wire::encode(&Message::Notification(n.clone()), &caps, &mut out);
        }
        DownReason::LocalNoNotification(ev) => {
            out.put_u8(2);
            out.put_u16(*ev);
        }
        DownReason::RemoteNotification(n) => {
            out.put_u8(3);
            wire::encode(&Message::Notification(n.clone()), &caps, &mut out);
        }
        DownReason::RemoteNoData => out.put_u8(4),
        DownReason::Deconfigured => out.put_u8(5),
        DownReason::LocRibClosed(name) => {
            out.put_u8(6);
            put_tlv(&mut out, TLV_TABLE_NAME, table_name(name));
        }
    }
    finish(&mut out, s);
    out.freeze()
}

/// Route Monitoring messages announcing `prefixes` with `attrs` (one BMP
/// message per BGP UPDATE, RFC 7854 section 4.6; 4-octet ASNs unless the
/// header has the A flag).
pub fn route_monitoring(h: &PeerHeader, attrs: &PathAttrs, prefixes: &[IpNet]) -> Vec<Bytes> {
    let mut updates = BytesMut::new();
    wire::update::encode_announcements(attrs, prefixes, &h.caps(), &mut updates);
    wrap_updates(h, updates.freeze())
}

/// Route Monitoring messages withdrawing `prefixes`.
pub fn route_withdrawal(h: &PeerHeader, prefixes: &[IpNet]) -> Vec<Bytes> {
    let mut updates = BytesMut::new();
    let u = Update {
        withdrawn: prefixes.to_vec(),
        ..Update::default()
    };
    wire::encode(&Message::Update(u), &h.caps(), &mut updates);
    wrap_updates(h, updates.freeze())
}

/// Splits a buffer of BGP messages and wraps each in a Route Monitoring message.
fn wrap_updates(h: &PeerHeader, mut msgs: Bytes) -> Vec<Bytes> {
    let mut res = Vec::new();
    while msgs.len() >= 19 {
        let len = usize::from(u16::from_be_bytes([msgs[16], msgs[17]]));
        if len < 19 || len > msgs.len() {
            break;
        }
        let m = msgs.split_to(len);
        let mut out = BytesMut::with_capacity(len + 48);
        let s = begin(&mut out, ROUTE_MONITORING);
        put_peer(&mut out, h);
        out.put_slice(&m);
        finish(&mut out, s);
        res.push(out.freeze());
    }
    res
}

/// Statistics Report (RFC 7854 section 4.8): routes rejected by the import
/// policy (type 0, counter), routes in Adj-RIBs-In (type 7, gauge) and in
/// the Loc-RIB (type 8, gauge).
pub fn statistics(h: &PeerHeader, rejected: u32, adj_rib_in: u64, loc_rib: u64) -> Bytes {
    let mut out = BytesMut::new();
    let s = begin(&mut out, STATISTICS);
    put_peer(&mut out, h);
    out.put_u32(3);
    put_tlv(&mut out, 0, &rejected.to_be_bytes());
    put_tlv(&mut out, 7, &adj_rib_in.to_be_bytes());
    put_tlv(&mut out, 8, &loc_rib.to_be_bytes());
    finish(&mut out, s);
    out.freeze()
}
