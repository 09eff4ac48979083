//! Decoder tests on crafted and malformed datagrams, and frame parsing of crafted headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::testdata::{self, ethernet, icmp, ipv4, ipv6, tagged, tcp, udp};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

fn generic() -> GenericCounters {
    GenericCounters {
        if_index: 7,
        if_type: 6,
        if_speed: 10_000_000_000,
        if_direction: 1,
        if_status: 3,
        if_in_octets: 1 << 40,
        if_in_ucast_pkts: 11,
        if_in_multicast_pkts: 12,
        if_in_broadcast_pkts: 13,
        if_in_discards: 14,
        if_in_errors: 15,
        if_in_unknown_protos: 16,
        if_out_octets: (1 << 41) + 5,
        if_out_ucast_pkts: 21,
        if_out_multicast_pkts: 22,
        if_out_broadcast_pkts: 23,
        if_out_discards: 24,
        if_out_errors: 25,
        if_promiscuous_mode: 0,
    }
}

/// A datagram with every sample and record type the decoder reads, and unknown ones.
fn full_datagram(frame: &[u8]) -> Datagram<'_> {
    let Sample::Flow(mut compact) = testdata::flow_sample(42, 2048, 5, frame, 1518) else {
        unreachable!("flow_sample builds a flow sample")
    };
    compact
        .records
        .push(FlowRecord::ExtendedRouter(ExtendedRouter {
            next_hop: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            src_mask_len: 24,
            dst_mask_len: 48,
        }));
    compact.records.push(FlowRecord::Unknown(Unknown {
        enterprise: 4413,
        format: 7,
        len: 12,
    }));
    let mut expanded = compact.clone();
    expanded.expanded = true;
    expanded.source_id_index = 0x0100_0000; // needs the expanded encoding
    expanded.input = Interface {
        format: 0,
        value: 0x4000_0001,
    };
    expanded.output = Interface {
        format: 2,
        value: 3,
    };
    Datagram {
        agent: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250))),
        sub_agent: 3,
        sequence: 9,
        uptime_ms: 123_456,
        samples: vec![
            Sample::Flow(compact),
            Sample::Counter(CounterSample {
                expanded: false,
                sequence: 4,
                source_id_type: 0,
                source_id_index: 7,
                records: vec![
                    CounterRecord::Generic(generic()),
                    CounterRecord::Ethernet(EthernetCounters {
                        fcs_errors: 2,
                        symbol_errors: 9,
                        ..EthernetCounters::default()
                    }),
                    CounterRecord::Unknown(Unknown {
                        enterprise: 0,
                        format: 1005,
                        len: 8,
                    }),
                ],
            }),
            Sample::Flow(expanded),
            Sample::Counter(CounterSample {
                expanded: true,
                sequence: 5,
                source_id_type: 0,
                source_id_index: 0x0200_0000,
                records: vec![CounterRecord::Generic(generic())],
            }),
            Sample::Unknown(Unknown {
                enterprise: 0,
                format: 5,
                len: 16,
            }),
        ],
    }
}

fn frame() -> Vec<u8> {
    testdata::ipv4_udp_frame(A, B, 1000)
}

#[test]
fn crafted_datagram_decodes_field_by_field_and_round_trips() {
    let f = frame();
    let want = full_datagram(&f);
    let bytes = encode(&want);
    let got = decode(&bytes).expect("valid datagram");
    assert_eq!(got, want);
    assert_eq!(encode(&got), bytes, "encode(decode(x)) == x");
    let Sample::Flow(s) = &got.samples[0] else {
        panic!("first sample is a flow sample")
    };
    assert_eq!(s.sampling_rate, 2048);
    assert_eq!(s.input.if_index(), Some(5));
    let h = s.raw_header().expect("raw header");
    assert_eq!(h.header.len(), 128, "header cut at 128 bytes");
    assert_eq!(h.frame_length, 1518);
    assert_eq!(s.extended_switch().map(|x| x.src_vlan), Some(10));
    let Sample::Flow(e) = &got.samples[2] else {
        panic!("third sample is a flow sample")
    };
    assert_eq!(e.source_id_index, 0x0100_0000);
    assert_eq!(e.input.value, 0x4000_0001);
    assert_eq!(e.output.if_index(), None);
}

#[test]
fn ipv6_and_unknown_agents() {
    for agent in [
        Some(IpAddr::V6("2001:db8::250".parse().expect("literal"))),
        None,
    ] {
        let d = Datagram {
            agent,
            sub_agent: 0,
            sequence: 1,
            uptime_ms: 2,
            samples: Vec::new(),
        };
        assert_eq!(decode(&encode(&d)), Ok(d));
    }
}

#[test]
fn every_truncation_is_an_error() {
    let f = frame();
    let bytes = encode(&full_datagram(&f));
    for n in 0..bytes.len() {
        match decode(&bytes[..n]) {
            Err(DecodeError::Truncated {
                offset, need, have, ..
            }) => {
                assert!(
                    offset <= n && have < need,
                    "cut {n}: {offset} {need} {have}"
                );
            }
            other => panic!("cut at {n} of {}: {other:?}", bytes.len()),
        }
    }
}

#[test]
fn wrong_version_and_address_type() {
    let mut bytes = encode(&full_datagram(&frame()));
    bytes[3] = 4;
    assert_eq!(decode(&bytes), Err(DecodeError::Version(4)));
    bytes[3] = 5;
    bytes[7] = 9;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AddressType { kind: 9, offset: 4 })
    );
}

#[test]
fn record_shorter_than_its_fields_is_an_error() {
    // One counter sample with a generic counter record declared 8 bytes long.
    let mut b = Vec::new();
    for w in [5u32, 1, 0xc000_02fa, 0, 1, 2, 1, 2, 28, 1, 7, 1, 1, 8, 7, 6] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    match decode(&b) {
        Err(DecodeError::Truncated { what, .. }) => assert_eq!(what, "ifSpeed"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_records_are_skipped_by_length() {
    let f = frame();
    let d = full_datagram(&f);
    let bytes = encode(&d);
    let got = decode(&bytes).expect("valid");
    let Sample::Flow(s) = &got.samples[0] else {
        panic!("flow")
    };
    // The unknown record came last and the next sample still decoded.
    assert!(matches!(
        s.records.last(),
        Some(FlowRecord::Unknown(Unknown {
            enterprise: 4413,
            format: 7,
            len: 12
        }))
    ));
    assert!(matches!(got.samples[1], Sample::Counter(_)));
}

#[test]
fn huge_counts_fail_fast_without_allocating() {
    let mut b = Vec::new();
    for w in [5u32, 1, 0x7f00_0001, 0, 1, 2, u32::MAX] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    assert!(matches!(decode(&b), Err(DecodeError::Truncated { .. })));
    // A sample claiming a length beyond the datagram.
    for w in [1u32, 0x7fff_fff0] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    assert!(matches!(decode(&b), Err(DecodeError::Truncated { .. })));
}

#[test]
fn frame_ipv4_udp() {
    let f = Frame::parse(&frame()).expect("frame");
    assert_eq!((f.src_mac, f.dst_mac), (A, B));
    assert_eq!(f.ethertype, ETHERTYPE_IPV4);
    let ip = f.ip.expect("ip");
    assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)));
    assert_eq!((ip.protocol, ip.ttl), (17, 64));
    assert_eq!(
        f.transport,
        Some(Transport::Udp {
            src_port: 40000,
            dst_port: 4000
        })
    );
}

#[test]
fn frame_vlan_and_qinq() {
    let ip = ipv4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, &icmp(8, 0));
    let f = Frame::parse(&tagged(B, A, &[100], 0x0800, &ip)).expect("frame");
    assert_eq!((f.outer_vlan, f.inner_vlan), (Some(100), None));
    assert_eq!(
        f.transport,
        Some(Transport::Icmp {
            icmp_type: 8,
            code: 0
        })
    );
    let f = Frame::parse(&tagged(B, A, &[200, 300], 0x0800, &ip)).expect("frame");
    assert_eq!((f.outer_vlan, f.inner_vlan), (Some(200), Some(300)));
    assert_eq!(f.ethertype, ETHERTYPE_IPV4);
    assert!(f.transport.is_some());
}

#[test]
fn frame_ipv6_tcp_and_extension_headers() {
    let f = Frame::parse(&testdata::ipv6_tcp_frame(A, B)).expect("frame");
    assert_eq!(f.ethertype, ETHERTYPE_IPV6);
    assert_eq!(
        f.transport,
        Some(Transport::Tcp {
            src_port: 179,
            dst_port: 50000,
            flags: 0x18
        })
    );
    // Hop-by-hop options header (8 bytes) in front of UDP.
    let mut payload = vec![17, 0, 0, 0, 0, 0, 0, 0];
    payload.extend_from_slice(&udp(547, 546, &[]));
    let ip = ipv6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 0, &payload);
    let f = Frame::parse(&ethernet(B, A, 0x86dd, &ip)).expect("frame");
    assert_eq!(f.ip.map(|i| i.protocol), Some(17));
    assert_eq!(
        f.transport,
        Some(Transport::Udp {
            src_port: 547,
            dst_port: 546
        })
    );
}

#[test]
fn frame_cut_short_keeps_what_it_has() {
    let full = testdata::ipv6_tcp_frame(A, B);
    assert!(Frame::parse(&full[..13]).is_none());
    let f = Frame::parse(&full[..14]).expect("ethernet only");
    assert_eq!(f.ip, None);
    let f = Frame::parse(&full[..14 + 40 + 10]).expect("ip, partial tcp");
    assert!(f.ip.is_some());
    assert_eq!(f.transport, None);
    let tcp_frame = ethernet(
        B,
        A,
        0x0800,
        &ipv4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 6, &tcp(1, 2, 2)),
    );
    for n in 0..tcp_frame.len() {
        let _ = Frame::parse(&tcp_frame[..n]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
        let _ = Frame::parse(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut b = Vec::new();
        for w in [5u32, 1, 0xc000_02fa, 0, 1, 2] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&tail);
        if let Ok(d) = decode(&b) {
            for s in &d.samples {
                if let Sample::Flow(f) = s {
                    let _ = f.raw_header().and_then(|h| h.frame());
                }
            }
        }
    }

    #[test]
    fn mutated_valid_datagrams_never_panic(pos in 0usize..2000, val in any::<u8>(), cut in 0usize..2000) {
        let f = frame();
        let mut b = encode(&full_datagram(&f));
        let p = pos % b.len();
        b[p] = val;
        b.truncate(cut.max(1).min(b.len()));
        if let Ok(d) = decode(&b) {
            for s in &d.samples {
                if let Sample::Flow(f) = s {
                    let _ = f.raw_header().and_then(|h| h.frame());
                }
            }
        }
    }
}
