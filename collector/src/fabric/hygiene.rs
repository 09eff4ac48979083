//! Peering-LAN hygiene: frames a member router must not send into an IXP fabric, counted per
//! source MAC and rule, with the last offending sample. A frame that breaks a specific
//! protocol rule (STP, LLDP, CDP, DHCP, RA) is reported under that rule only, not also as
//! non-unicast or unexpected ethertype; unregistered MACs and shared ports are independent.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use super::members::{MacOwner, MemberMap};
use crate::sflow::{
    Frame, Transport, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_LLDP,
};

/// (MAC, rule) pairs remembered at most; beyond that, violations only add to `overflow`.
pub const MAX_ENTRIES: usize = 100_000;
/// Ports whose MACs are tracked at most.
pub const MAX_PORTS: usize = 65_536;
/// Distinct MACs remembered per port.
const MAX_MACS_PER_PORT: usize = 16;
/// A MAC not seen on a port for this long no longer counts as behind it (router swaps).
pub const PORT_MAC_AGE_SECS: u64 = 3600;

const STP_DST: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
const CDP_DST: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];

/// A switch port: agent address and ifIndex.
type PortKey = (Option<IpAddr>, u32);

/// A hygiene rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Spanning tree BPDU (to 01:80:c2:00:00:00).
    SpanningTree,
    /// LLDP (ethertype 0x88cc).
    Lldp,
    /// CDP (to 01:00:0c:cc:cc:cc).
    Cdp,
    /// DHCP or BOOTP (UDP 67/68).
    Dhcp,
    /// IPv6 router advertisement (ICMPv6 134).
    RouterAdvertisement,
    /// Broadcast or multicast other than ARP and IPv6 neighbour discovery.
    NonUnicast,
    /// Ethertype other than IPv4, IPv6 and ARP.
    UnexpectedEthertype,
    /// Source MAC not registered to any member.
    UnregisteredMac,
    /// More than one MAC behind one port (input ifIndex of the agent).
    MultipleMacsOnPort,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 9] = [
        Rule::SpanningTree,
        Rule::Lldp,
        Rule::Cdp,
        Rule::Dhcp,
        Rule::RouterAdvertisement,
        Rule::NonUnicast,
        Rule::UnexpectedEthertype,
        Rule::UnregisteredMac,
        Rule::MultipleMacsOnPort,
    ];

    /// Stable snake_case name, for labels and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Rule::SpanningTree => "spanning_tree",
            Rule::Lldp => "lldp",
            Rule::Cdp => "cdp",
            Rule::Dhcp => "dhcp",
            Rule::RouterAdvertisement => "router_advertisement",
            Rule::NonUnicast => "non_unicast",
            Rule::UnexpectedEthertype => "unexpected_ethertype",
            Rule::UnregisteredMac => "unregistered_mac",
            Rule::MultipleMacsOnPort => "multiple_macs_on_port",
        }
    }
}

/// The rules a frame breaks by its content alone (not port or registration rules).
pub fn frame_rules(frame: &Frame) -> Vec<Rule> {
    let specific = if frame.dst_mac == STP_DST {
        Some(Rule::SpanningTree)
    } else if frame.ethertype == ETHERTYPE_LLDP {
        Some(Rule::Lldp)
    } else if frame.dst_mac == CDP_DST {
        Some(Rule::Cdp)
    } else {
        match frame.transport {
            Some(Transport::Udp { src_port, dst_port })
                if matches!(src_port, 67 | 68) || matches!(dst_port, 67 | 68) =>
            {
                Some(Rule::Dhcp)
            }
            Some(Transport::Icmpv6 { icmp_type: 134, .. }) => Some(Rule::RouterAdvertisement),
            _ => None,
        }
    };
    if let Some(r) = specific {
        return vec![r];
    }
    let mut out = Vec::new();
    let neighbour_discovery = matches!(
        frame.transport,
        Some(Transport::Icmpv6 {
            icmp_type: 135 | 136,
            ..
        })
    );
    if frame.is_dst_group() && frame.ethertype != ETHERTYPE_ARP && !neighbour_discovery {
        out.push(Rule::NonUnicast);
    }
    if !matches!(
        frame.ethertype,
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP
    ) {
        out.push(Rule::UnexpectedEthertype);
    }
    out
}

/// Where and when a sample was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleContext {
    /// The sFlow agent (switch).
    pub agent: Option<IpAddr>,
    /// Input ifIndex, when the sample names a single interface.
    pub input: Option<u32>,
    /// Sampling rate (1 in N).
    pub rate: u32,
    /// Unix time in seconds.
    pub now: u64,
}

/// The last sample that broke a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Offence {
    /// Source MAC.
    pub src_mac: String,
    /// Destination MAC.
    pub dst_mac: String,
    /// Ethertype (below 0x0600: an 802.3 length).
    pub ethertype: u16,
    /// Outer VLAN, if tagged.
    pub vlan: Option<u16>,
    /// The agent that sampled it.
    pub agent: Option<IpAddr>,
    /// Its input ifIndex.
    pub input_if_index: Option<u32>,
    /// Unix time in seconds.
    pub at: u64,
}

/// Count and last offence of one (MAC, rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Samples that broke the rule.
    pub samples: u64,
    /// Estimated frames (samples scaled by sampling rate).
    pub frames: u64,
    /// The member owning the source MAC, if registered.
    #[serde(skip)]
    pub owner: Option<MacOwner>,
    /// The latest offending sample.
    pub last: Offence,
}

/// Violations since start and the MACs seen behind each port.
#[derive(Clone, Debug, Default)]
pub struct Hygiene {
    /// Per (source MAC, rule).
    pub violations: HashMap<([u8; 6], Rule), Violation>,
    /// Violations not recorded because the table was full.
    pub overflow: u64,
    ports: HashMap<PortKey, Vec<([u8; 6], u64)>>,
}

impl Hygiene {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks one sampled frame; returns the rules it broke.
    pub fn check(&mut self, map: &MemberMap, frame: &Frame, cx: SampleContext) -> Vec<Rule> {
        let mut rules = frame_rules(frame);
        let owner = map.lookup(&frame.src_mac);
        if owner.is_none() {
            rules.push(Rule::UnregisteredMac);
        }
        if let Some(ifx) = cx.input {
            if self.port_is_shared(map, (cx.agent, ifx), frame.src_mac, cx.now) {
                rules.push(Rule::MultipleMacsOnPort);
            }
        }
        for &rule in &rules {
            self.record(frame, owner, rule, cx);
        }
        rules
    }

    /// Notes `mac` behind `port`; true if the port has MACs of more than one connection and
    /// `mac` is not the first of them.
    fn port_is_shared(&mut self, map: &MemberMap, port: PortKey, mac: [u8; 6], now: u64) -> bool {
        let len = self.ports.len();
        let macs = match self.ports.get_mut(&port) {
            Some(m) => m,
            None if len >= MAX_PORTS => return false,
            None => self.ports.entry(port).or_default(),
        };
        macs.retain(|(_, seen)| now.saturating_sub(*seen) < PORT_MAC_AGE_SECS);
        if let Some(e) = macs.iter_mut().find(|(m, _)| *m == mac) {
            e.1 = now;
        } else if macs.len() < MAX_MACS_PER_PORT {
            macs.push((mac, now));
        }
        if macs.len() < 2 || macs.first().is_some_and(|(m, _)| *m == mac) {
            return false;
        }
        // MACs registered to the same connection (a router with several) are one port.
        let first = macs.first().and_then(|(m, _)| map.lookup(m));
        let same = |m: &[u8; 6]| {
            let o = map.lookup(m);
            o.is_some()
                && o.map(|o| (o.member, o.connection)) == first.map(|f| (f.member, f.connection))
        };
        !macs.iter().all(|(m, _)| same(m))
    }

    fn record(&mut self, frame: &Frame, owner: Option<MacOwner>, rule: Rule, cx: SampleContext) {
        let last = Offence {
            src_mac: super::mac_string(&frame.src_mac),
            dst_mac: super::mac_string(&frame.dst_mac),
            ethertype: frame.ethertype,
            vlan: frame.outer_vlan,
            agent: cx.agent,
            input_if_index: cx.input,
            at: cx.now,
        };
        let key = (frame.src_mac, rule);
        let frames = u64::from(cx.rate.max(1));
        if let Some(v) = self.violations.get_mut(&key) {
            v.samples += 1;
            v.frames = v.frames.saturating_add(frames);
            v.last = last;
        } else if self.violations.len() < MAX_ENTRIES {
            self.violations.insert(
                key,
                Violation {
                    samples: 1,
                    frames,
                    owner,
                    last,
                },
            );
        } else {
            self.overflow += 1;
        }
    }
}
