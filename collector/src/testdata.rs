//! Crafted Ethernet frames and sFlow datagrams for tests, benchmarks and simulated exporters.
//! Checksums are left zero: the collector never checks them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::sflow::{
    encode, Datagram, ExtendedSwitch, FlowRecord, FlowSample, Interface, RawHeader, Sample,
    HEADER_PROTOCOL_ETHERNET,
};

/// Broadcast MAC.
pub const BROADCAST: [u8; 6] = [0xff; 6];
/// Spanning tree BPDU destination.
pub const STP_DST: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
/// LLDP nearest-bridge destination.
pub const LLDP_DST: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
/// CDP / VTP destination.
pub const CDP_DST: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];

/// Ethernet header + payload.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Ethernet with 802.1Q tags (outer first) in front of `ethertype`; the first tag is
/// 0x88a8 (802.1ad) when there are two.
pub fn tagged(
    dst: [u8; 6],
    src: [u8; 6],
    vlans: &[u16],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for (i, v) in vlans.iter().enumerate() {
        let tpid: u16 = if i == 0 && vlans.len() > 1 {
            0x88a8
        } else {
            0x8100
        };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 header (no options) + payload.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// IPv6 header + payload.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[next, 255]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// UDP header + payload.
pub fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut p = Vec::new();
    p.extend_from_slice(&src_port.to_be_bytes());
    p.extend_from_slice(&dst_port.to_be_bytes());
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// TCP header (20 bytes) with `flags`.
pub fn tcp(src_port: u16, dst_port: u16, flags: u8) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src_port.to_be_bytes());
    p.extend_from_slice(&dst_port.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

/// ICMP or ICMPv6 header of `icmp_type` with 4 more bytes.
pub fn icmp(icmp_type: u8, code: u8) -> Vec<u8> {
    vec![icmp_type, code, 0, 0, 0, 0, 0, 0]
}

/// A unicast IPv4 UDP frame between two MACs.
pub fn ipv4_udp_frame(src: [u8; 6], dst: [u8; 6], len: usize) -> Vec<u8> {
    let pad = vec![0u8; len.saturating_sub(14 + 20 + 8)];
    let ip = ipv4(
        Ipv4Addr::new(192, 0, 2, 11),
        Ipv4Addr::new(192, 0, 2, 21),
        17,
        &udp(40000, 4000, &pad),
    );
    ethernet(dst, src, 0x0800, &ip)
}

/// A unicast IPv6 TCP frame between two MACs.
pub fn ipv6_tcp_frame(src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    let ip = ipv6(
        "2001:db8::11".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        "2001:db8::21".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        6,
        &tcp(179, 50000, 0x18),
    );
    ethernet(dst, src, 0x86dd, &ip)
}

/// LLDP frame.
pub fn lldp_frame(src: [u8; 6]) -> Vec<u8> {
    ethernet(LLDP_DST, src, 0x88cc, &[0x02, 0x07, 0x04, 0, 0, 0, 0, 0, 1])
}

/// Spanning tree BPDU (802.3 length + LLC 42 42 03).
pub fn bpdu_frame(src: [u8; 6]) -> Vec<u8> {
    let mut llc = vec![0x42, 0x42, 0x03, 0, 0, 0, 0];
    llc.resize(38, 0);
    ethernet(STP_DST, src, 38, &llc)
}

/// CDP frame (802.3 length + LLC/SNAP with Cisco OUI, type 0x2000).
pub fn cdp_frame(src: [u8; 6]) -> Vec<u8> {
    let body = [
        0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, 0x02, 0xb4, 0, 0,
    ];
    ethernet(CDP_DST, src, body.len() as u16, &body)
}

/// DHCP discover: 0.0.0.0:68 -> 255.255.255.255:67, broadcast.
pub fn dhcp_discover_frame(src: [u8; 6]) -> Vec<u8> {
    let mut bootp = vec![1u8, 1, 6, 0];
    bootp.resize(240, 0);
    let ip = ipv4(
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        17,
        &udp(68, 67, &bootp),
    );
    ethernet(BROADCAST, src, 0x0800, &ip)
}

/// IPv6 router advertisement to all nodes.
pub fn router_advert_frame(src: [u8; 6]) -> Vec<u8> {
    let mut ra = icmp(134, 0);
    ra.extend_from_slice(&[0u8; 8]);
    let ip = ipv6(
        "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        "ff02::1".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        58,
        &ra,
    );
    ethernet([0x33, 0x33, 0, 0, 0, 1], src, 0x86dd, &ip)
}

/// IPv6 neighbour solicitation to a solicited-node group.
pub fn neighbor_solicit_frame(src: [u8; 6]) -> Vec<u8> {
    let mut ns = icmp(135, 0);
    ns.extend_from_slice(&[0u8; 16]);
    let ip = ipv6(
        "2001:db8::11".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        "ff02::1:ff00:21".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        58,
        &ns,
    );
    ethernet([0x33, 0x33, 0xff, 0, 0, 0x21], src, 0x86dd, &ip)
}

/// ARP request (broadcast).
pub fn arp_request_frame(src: [u8; 6]) -> Vec<u8> {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&src);
    arp.extend_from_slice(&[192, 0, 2, 11, 0, 0, 0, 0, 0, 0, 192, 0, 2, 21]);
    ethernet(BROADCAST, src, 0x0806, &arp)
}

/// A compact flow sample of `frame` (header cut at 128 bytes) with an extended switch record.
pub fn flow_sample(seq: u32, rate: u32, input: u32, frame: &[u8], frame_length: u32) -> Sample<'_> {
    let header = &frame[..frame.len().min(128)];
    Sample::Flow(FlowSample {
        expanded: false,
        sequence: seq,
        source_id_type: 0,
        source_id_index: input,
        sampling_rate: rate,
        sample_pool: seq.wrapping_mul(rate),
        drops: 0,
        input: Interface {
            format: 0,
            value: input,
        },
        output: Interface {
            format: 0,
            value: 0,
        },
        records: vec![
            FlowRecord::RawHeader(RawHeader {
                protocol: HEADER_PROTOCOL_ETHERNET,
                frame_length,
                stripped: 4,
                header,
            }),
            FlowRecord::ExtendedSwitch(ExtendedSwitch {
                src_vlan: 10,
                src_priority: 0,
                dst_vlan: 10,
                dst_priority: 0,
            }),
        ],
    })
}

/// A datagram from agent `agent` with `samples`, encoded.
pub fn datagram(agent: IpAddr, seq: u32, samples: Vec<Sample<'_>>) -> Vec<u8> {
    encode(&Datagram {
        agent: Some(agent),
        sub_agent: 0,
        sequence: seq,
        uptime_ms: 1000 + seq,
        samples,
    })
}
