//! Who sent what to each member during the current baseline interval: destination address,
//! protocol and port, and source member, scaled by the sampling rate. A surge alert names the
//! top entries; the table is emptied every interval and bounded in size.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::fabric::{MemberId, MemberMap};
use crate::sflow::{Frame, Transport};

/// Distinct (address, protocol, port) entries kept per member and interval; the rest is
/// counted as `other`.
pub const MAX_FLOWS: usize = 512;

/// A destination as seen in samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub protocol: u8,
    /// TCP or UDP destination port.
    pub port: Option<u16>,
}

impl FlowKey {
    /// `192.0.2.55/32 UDP port 53`.
    pub fn describe(&self) -> String {
        let len = if self.dst.is_ipv4() { 32 } else { 128 };
        let proto = match self.protocol {
            1 => "ICMP".to_owned(),
            6 => "TCP".to_owned(),
            17 => "UDP".to_owned(),
            58 => "ICMPv6".to_owned(),
            n => format!("protocol {n}"),
        };
        match self.port {
            Some(p) => format!("{}/{len} {proto} port {p}", self.dst),
            None => format!("{}/{len} {proto}", self.dst),
        }
    }
}

/// What one member received during the interval.
#[derive(Clone, Debug, Default)]
pub struct MemberTalkers {
    /// Bytes per destination (address, protocol, port).
    pub flows: HashMap<FlowKey, u64>,
    /// Bytes per source member (`None`: unregistered MAC).
    pub sources: HashMap<Option<MemberId>, u64>,
    /// Bytes not in `flows` (non-IP, or past `MAX_FLOWS`).
    pub other: u64,
}

impl MemberTalkers {
    /// The `n` largest destinations, largest first.
    pub fn top_flows(&self, n: usize) -> Vec<(FlowKey, u64)> {
        let mut v: Vec<(FlowKey, u64)> = self.flows.iter().map(|(k, b)| (*k, *b)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// The `n` largest sources, largest first.
    pub fn top_sources(&self, n: usize) -> Vec<(Option<MemberId>, u64)> {
        let mut v: Vec<(Option<MemberId>, u64)> =
            self.sources.iter().map(|(k, b)| (*k, *b)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// Per receiving member, what it received this interval.
#[derive(Clone, Debug, Default)]
pub struct Talkers {
    /// By destination member.
    pub by_dst: HashMap<MemberId, MemberTalkers>,
}

impl Talkers {
    /// Accounts one sampled frame standing for `bytes` bytes.
    pub fn add(&mut self, map: &MemberMap, frame: &Frame, bytes: u64) {
        if frame.is_dst_group() {
            return;
        }
        let Some(dst) = map.lookup(&frame.dst_mac) else {
            return;
        };
        let src = map.lookup(&frame.src_mac).map(|o| o.member);
        let t = self.by_dst.entry(dst.member).or_default();
        *t.sources.entry(src).or_default() += bytes;
        let Some(ip) = &frame.ip else {
            t.other += bytes;
            return;
        };
        let port = match frame.transport {
            Some(Transport::Tcp { dst_port, .. }) | Some(Transport::Udp { dst_port, .. }) => {
                Some(dst_port)
            }
            _ => None,
        };
        let key = FlowKey {
            dst: ip.dst,
            protocol: ip.protocol,
            port,
        };
        if let Some(b) = t.flows.get_mut(&key) {
            *b += bytes;
        } else if t.flows.len() < MAX_FLOWS {
            t.flows.insert(key, bytes);
        } else {
            t.other += bytes;
        }
    }
}
