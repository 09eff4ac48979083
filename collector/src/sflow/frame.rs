//! The sampled packet header parsed with pnet's packet types: Ethernet, up to two 802.1Q /
//! 802.1ad tags (QinQ), IPv4 or IPv6 (skipping extension headers), then TCP, UDP, ICMP or
//! ICMPv6. Sampled headers are usually cut short; whatever is missing is left `None`.

use std::net::IpAddr;

use pnet_packet::ethernet::EthernetPacket;
use pnet_packet::icmp::IcmpPacket;
use pnet_packet::icmpv6::Icmpv6Packet;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;
use pnet_packet::vlan::VlanPacket;

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Ethertype of LLDP.
pub const ETHERTYPE_LLDP: u16 = 0x88cc;

const TAG_TYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// More tags than this are not peeled (the rest of the frame is left unparsed).
const MAX_TAGS: usize = 4;
/// IPv6 extension headers walked before giving up.
const MAX_EXT_HEADERS: usize = 8;

/// A sampled Ethernet frame, decoded as far as its captured bytes allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Outer VLAN id (first tag), if tagged.
    pub outer_vlan: Option<u16>,
    /// Inner VLAN id (second tag, QinQ), if double tagged.
    pub inner_vlan: Option<u16>,
    /// Ethertype after the tags; below 0x0600 it is an 802.3 length (LLC frame).
    pub ethertype: u16,
    /// IP header fields, for IPv4 and IPv6 frames.
    pub ip: Option<IpInfo>,
    /// Transport header fields, when captured.
    pub transport: Option<Transport>,
}

/// IP header fields of a sampled packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 TOS or IPv6 traffic class.
    pub tos: u8,
}

/// Transport header fields of a sampled packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP ports and flags.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flags byte (FIN=0x01 ... CWR=0x80).
        flags: u8,
    },
    /// UDP ports.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP for IPv4.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// ICMPv6.
    Icmpv6 {
        /// Type (134 = router advertisement).
        icmp_type: u8,
        /// Code.
        code: u8,
    },
}

impl Frame {
    /// Parses `header`; `None` if it is shorter than an Ethernet header.
    pub fn parse(header: &[u8]) -> Option<Frame> {
        let eth = EthernetPacket::new(header)?;
        let d = eth.get_destination();
        let s = eth.get_source();
        let mut frame = Frame {
            dst_mac: [d.0, d.1, d.2, d.3, d.4, d.5],
            src_mac: [s.0, s.1, s.2, s.3, s.4, s.5],
            outer_vlan: None,
            inner_vlan: None,
            ethertype: eth.get_ethertype().0,
            ip: None,
            transport: None,
        };
        let mut rest = header.get(14..).unwrap_or_default();
        let mut tags = 0;
        while TAG_TYPES.contains(&frame.ethertype) {
            if tags == MAX_TAGS {
                return Some(frame);
            }
            let Some(tag) = VlanPacket::new(rest) else {
                return Some(frame);
            };
            let vid = tag.get_vlan_identifier();
            match tags {
                0 => frame.outer_vlan = Some(vid),
                1 => frame.inner_vlan = Some(vid),
                _ => {}
            }
            frame.ethertype = tag.get_ethertype().0;
            rest = rest.get(4..).unwrap_or_default();
            tags += 1;
        }
        let l4 = match frame.ethertype {
            ETHERTYPE_IPV4 => ipv4(rest, &mut frame),
            ETHERTYPE_IPV6 => ipv6(rest, &mut frame),
            _ => None,
        };
        if let (Some(ip), Some(payload)) = (frame.ip, l4) {
            frame.transport = transport(ip.protocol, payload);
        }
        Some(frame)
    }

    /// True if the destination is a group (multicast or broadcast) address.
    pub fn is_dst_group(&self) -> bool {
        self.dst_mac[0] & 1 == 1
    }
}

/// Reads the IPv4 header into `frame`; returns the transport bytes of a first fragment.
fn ipv4<'a>(buf: &'a [u8], frame: &mut Frame) -> Option<&'a [u8]> {
    let p = Ipv4Packet::new(buf)?;
    if p.get_version() != 4 {
        return None;
    }
    frame.ip = Some(IpInfo {
        src: IpAddr::V4(p.get_source()),
        dst: IpAddr::V4(p.get_destination()),
        protocol: p.get_next_level_protocol().0,
        ttl: p.get_ttl(),
        tos: (p.get_dscp() << 2) | p.get_ecn(),
    });
    let ihl = usize::from(p.get_header_length()) * 4;
    if ihl < 20 || p.get_fragment_offset() != 0 {
        return None;
    }
    buf.get(ihl..)
}

/// Reads the IPv6 header into `frame`, walking extension headers to the upper layer.
fn ipv6<'a>(buf: &'a [u8], frame: &mut Frame) -> Option<&'a [u8]> {
    let p = Ipv6Packet::new(buf)?;
    if p.get_version() != 6 {
        return None;
    }
    let mut next = p.get_next_header().0;
    let mut rest = buf.get(40..)?;
    let mut first_fragment = true;
    let mut walked = 0;
    // Hop-by-hop (0), routing (43), fragment (44), destination options (60).
    while matches!(next, 0 | 43 | 44 | 60) && walked < MAX_EXT_HEADERS {
        let hdr = rest.get(..8)?;
        let len = if next == 44 {
            first_fragment = u16::from_be_bytes([hdr[2], hdr[3]]) & 0xfff8 == 0;
            8
        } else {
            (usize::from(hdr[1]) + 1) * 8
        };
        next = hdr[0];
        rest = rest.get(len..)?;
        walked += 1;
    }
    frame.ip = Some(IpInfo {
        src: IpAddr::V6(p.get_source()),
        dst: IpAddr::V6(p.get_destination()),
        protocol: next,
        ttl: p.get_hop_limit(),
        tos: p.get_traffic_class(),
    });
    first_fragment.then_some(rest)
}

fn transport(protocol: u8, buf: &[u8]) -> Option<Transport> {
    match protocol {
        6 => TcpPacket::new(buf).map(|t| Transport::Tcp {
            src_port: t.get_source(),
            dst_port: t.get_destination(),
            flags: t.get_flags(),
        }),
        17 => UdpPacket::new(buf).map(|u| Transport::Udp {
            src_port: u.get_source(),
            dst_port: u.get_destination(),
        }),
        1 => IcmpPacket::new(buf).map(|i| Transport::Icmp {
            icmp_type: i.get_icmp_type().0,
            code: i.get_icmp_code().0,
        }),
        58 => Icmpv6Packet::new(buf).map(|i| Transport::Icmpv6 {
            icmp_type: i.get_icmpv6_type().0,
            code: i.get_icmpv6_code().0,
        }),
        _ => None,
    }
}
