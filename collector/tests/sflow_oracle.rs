//! Our decoder against sflow-parser on every datagram of the real captures in
//! shared/data/pcap/sflow (read from there, never copied): both must accept or both reject,
//! and what both accept must agree field by field.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use fox_collector::sflow::{self, CounterRecord, FlowRecord, Sample};
use sflow_parser::models::core::{Address, CounterData, FlowData};
use sflow_parser::SampleData;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/pcap/sflow")
}

/// UDP payloads of a classic pcap file with Ethernet link type (IPv4 or IPv6, untagged);
/// IPv4 fragments are reassembled in order of arrival.
fn udp_payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
    let u32le = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u16be = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    assert_eq!(u32le(bytes, 20), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut fragments: std::collections::HashMap<u16, Vec<u8>> = Default::default();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32le(bytes, at + 8) as usize;
        let pkt = &bytes[at + 16..(at + 16 + caplen).min(bytes.len())];
        at += 16 + caplen;
        let ip_payload: Vec<u8> = match u16be(pkt, 12) {
            0x0800 => {
                let ihl = usize::from(pkt[14] & 0x0f) * 4;
                let total = usize::from(u16be(pkt, 16));
                if pkt[14 + 9] != 17 {
                    continue;
                }
                let data = &pkt[14 + ihl..(14 + total).min(pkt.len())];
                let frag = u16be(pkt, 20);
                let (more, offset) = (frag & 0x2000 != 0, usize::from(frag & 0x1fff) * 8);
                if !more && offset == 0 {
                    data.to_vec()
                } else {
                    let buf = fragments.entry(u16be(pkt, 18)).or_default();
                    if buf.len() != offset {
                        continue; // out of order or missing: skip
                    }
                    buf.extend_from_slice(data);
                    if more {
                        continue;
                    }
                    fragments.remove(&u16be(pkt, 18)).unwrap_or_default()
                }
            }
            0x86dd if pkt[14 + 6] == 17 => pkt[14 + 40..].to_vec(),
            _ => continue,
        };
        if ip_payload.len() < 8 {
            continue;
        }
        let udp_len = usize::from(u16be(&ip_payload, 4))
            .max(8)
            .min(ip_payload.len());
        out.push(ip_payload[8..udp_len].to_vec());
    }
    out
}

fn oracle_addr(a: &Address) -> Option<IpAddr> {
    match a {
        Address::Unknown => None,
        Address::IPv4(v) => Some(IpAddr::V4(*v)),
        Address::IPv6(v) => Some(IpAddr::V6(*v)),
    }
}

fn compare_flow_records(
    ours: &[FlowRecord<'_>],
    theirs: &[sflow_parser::models::core::FlowRecord],
) {
    assert_eq!(ours.len(), theirs.len(), "flow record count");
    for (o, t) in ours.iter().zip(theirs) {
        match (o, &t.flow_data) {
            (FlowRecord::RawHeader(h), FlowData::SampledHeader(s)) => {
                assert_eq!(h.protocol, s.protocol as u32);
                assert_eq!(h.frame_length, s.frame_length);
                assert_eq!(h.stripped, s.stripped);
                assert_eq!(h.header, &s.header[..]);
            }
            (FlowRecord::ExtendedSwitch(x), FlowData::ExtendedSwitch(y)) => {
                assert_eq!(
                    (x.src_vlan, x.src_priority, x.dst_vlan, x.dst_priority),
                    (y.src_vlan, y.src_priority, y.dst_vlan, y.dst_priority)
                );
            }
            (FlowRecord::ExtendedRouter(x), FlowData::ExtendedRouter(y)) => {
                assert_eq!(x.next_hop, oracle_addr(&y.next_hop));
                assert_eq!(
                    (x.src_mask_len, x.dst_mask_len),
                    (y.src_mask_len, y.dst_mask_len)
                );
            }
            (FlowRecord::Unknown(u), _) => {
                assert_eq!(u.enterprise, t.flow_format.enterprise());
                assert_eq!(u.format, t.flow_format.format());
            }
            (o, t) => panic!("record mismatch: ours {o:?}, oracle {t:?}"),
        }
    }
}

fn compare_counter_records(
    ours: &[CounterRecord],
    theirs: &[sflow_parser::models::core::CounterRecord],
) {
    assert_eq!(ours.len(), theirs.len(), "counter record count");
    for (o, t) in ours.iter().zip(theirs) {
        match (o, &t.counter_data) {
            (CounterRecord::Generic(g), CounterData::GenericInterface(y)) => {
                assert_eq!(
                    (g.if_index, g.if_type, g.if_speed),
                    (y.if_index, y.if_type, y.if_speed)
                );
                assert_eq!((g.if_direction, g.if_status), (y.if_direction, y.if_status));
                assert_eq!(
                    (g.if_in_octets, g.if_out_octets),
                    (y.if_in_octets, y.if_out_octets)
                );
                assert_eq!(
                    (
                        g.if_in_ucast_pkts,
                        g.if_in_multicast_pkts,
                        g.if_in_broadcast_pkts
                    ),
                    (
                        y.if_in_ucast_pkts,
                        y.if_in_multicast_pkts,
                        y.if_in_broadcast_pkts
                    )
                );
                assert_eq!(
                    (g.if_in_discards, g.if_in_errors, g.if_in_unknown_protos),
                    (y.if_in_discards, y.if_in_errors, y.if_in_unknown_protos)
                );
                assert_eq!(
                    (
                        g.if_out_ucast_pkts,
                        g.if_out_multicast_pkts,
                        g.if_out_broadcast_pkts
                    ),
                    (
                        y.if_out_ucast_pkts,
                        y.if_out_multicast_pkts,
                        y.if_out_broadcast_pkts
                    )
                );
                assert_eq!(
                    (g.if_out_discards, g.if_out_errors, g.if_promiscuous_mode),
                    (y.if_out_discards, y.if_out_errors, y.if_promiscuous_mode)
                );
            }
            (CounterRecord::Ethernet(e), CounterData::EthernetInterface(y)) => {
                assert_eq!(
                    [
                        e.alignment_errors,
                        e.fcs_errors,
                        e.single_collision_frames,
                        e.multiple_collision_frames,
                        e.sqe_test_errors,
                        e.deferred_transmissions,
                        e.late_collisions,
                        e.excessive_collisions,
                        e.internal_mac_transmit_errors,
                        e.carrier_sense_errors,
                        e.frame_too_longs,
                        e.internal_mac_receive_errors,
                        e.symbol_errors
                    ],
                    [
                        y.dot3_stats_alignment_errors,
                        y.dot3_stats_fcs_errors,
                        y.dot3_stats_single_collision_frames,
                        y.dot3_stats_multiple_collision_frames,
                        y.dot3_stats_sqe_test_errors,
                        y.dot3_stats_deferred_transmissions,
                        y.dot3_stats_late_collisions,
                        y.dot3_stats_excessive_collisions,
                        y.dot3_stats_internal_mac_transmit_errors,
                        y.dot3_stats_carrier_sense_errors,
                        y.dot3_stats_frame_too_longs,
                        y.dot3_stats_internal_mac_receive_errors,
                        y.dot3_stats_symbol_errors
                    ]
                );
            }
            (CounterRecord::Unknown(u), _) => {
                assert_eq!(u.enterprise, t.counter_format.enterprise());
                assert_eq!(u.format, t.counter_format.format());
            }
            (o, t) => panic!("counter mismatch: ours {o:?}, oracle {t:?}"),
        }
    }
}

/// Compares one datagram; returns (flow samples, counter samples, parsed frames).
fn compare(payload: &[u8], name: &str) -> Option<(usize, usize, usize)> {
    let ours = sflow::decode(payload);
    let theirs = sflow_parser::parse_datagram(payload);
    let (ours, theirs) = match (ours, theirs) {
        (Ok(o), Ok(t)) => (o, t),
        (Err(o), Err(_)) => {
            println!("{name}: both reject: {o}");
            return None;
        }
        (o, t) => panic!("{name}: ours {o:?}\noracle {t:?}"),
    };
    assert_eq!(ours.agent, oracle_addr(&theirs.agent_address), "{name}");
    assert_eq!(ours.sub_agent, theirs.sub_agent_id, "{name}");
    assert_eq!(ours.sequence, theirs.sequence_number, "{name}");
    assert_eq!(ours.uptime_ms, theirs.uptime, "{name}");
    assert_eq!(ours.samples.len(), theirs.samples.len(), "{name}");
    let (mut flows, mut counters, mut frames) = (0, 0, 0);
    for (o, t) in ours.samples.iter().zip(&theirs.samples) {
        match (o, &t.sample_data) {
            (Sample::Flow(f), SampleData::FlowSample(g)) => {
                assert!(!f.expanded);
                assert_eq!(
                    (f.sequence, f.sampling_rate, f.sample_pool, f.drops),
                    (g.sequence_number, g.sampling_rate, g.sample_pool, g.drops),
                    "{name}"
                );
                assert_eq!(
                    (f.source_id_type, f.source_id_index),
                    (u32::from(g.source_id.source_type()), g.source_id.index()),
                    "{name}"
                );
                assert_eq!(
                    (f.input.format, f.input.value),
                    (u32::from(g.input.format()), g.input.value())
                );
                assert_eq!(
                    (f.output.format, f.output.value),
                    (u32::from(g.output.format()), g.output.value())
                );
                compare_flow_records(&f.records, &g.flow_records);
                flows += 1;
                frames += usize::from(f.raw_header().and_then(|h| h.frame()).is_some());
            }
            (Sample::Flow(f), SampleData::FlowSampleExpanded(g)) => {
                assert!(f.expanded);
                assert_eq!(
                    (f.sequence, f.sampling_rate, f.sample_pool, f.drops),
                    (g.sequence_number, g.sampling_rate, g.sample_pool, g.drops),
                    "{name}"
                );
                assert_eq!(
                    (f.source_id_type, f.source_id_index),
                    (g.source_id.source_id_type, g.source_id.source_id_index)
                );
                assert_eq!(
                    (f.input.format, f.input.value),
                    (g.input.format, g.input.value)
                );
                assert_eq!(
                    (f.output.format, f.output.value),
                    (g.output.format, g.output.value)
                );
                compare_flow_records(&f.records, &g.flow_records);
                flows += 1;
                frames += usize::from(f.raw_header().and_then(|h| h.frame()).is_some());
            }
            (Sample::Counter(c), SampleData::CountersSample(g)) => {
                assert!(!c.expanded);
                assert_eq!(c.sequence, g.sequence_number);
                assert_eq!(
                    (c.source_id_type, c.source_id_index),
                    (u32::from(g.source_id.source_type()), g.source_id.index())
                );
                compare_counter_records(&c.records, &g.counters);
                counters += 1;
            }
            (Sample::Counter(c), SampleData::CountersSampleExpanded(g)) => {
                assert!(c.expanded);
                assert_eq!(c.sequence, g.sequence_number);
                assert_eq!(
                    (c.source_id_type, c.source_id_index),
                    (g.source_id.source_id_type, g.source_id.source_id_index)
                );
                compare_counter_records(&c.records, &g.counters);
                counters += 1;
            }
            (Sample::Unknown(u), _) => assert_eq!(
                (u.enterprise, u.format),
                (t.sample_type.enterprise(), t.sample_type.format())
            ),
            (o, t) => panic!("{name}: sample mismatch: ours {o:?}, oracle {t:?}"),
        }
    }
    Some((flows, counters, frames))
}

#[test]
fn every_captured_datagram_matches_sflow_parser() {
    let dir = data_dir();
    if !dir.exists() {
        println!("skipped: {} is missing", dir.display());
        return;
    }
    let (mut files, mut datagrams, mut accepted) = (0, 0, 0);
    let (mut flows, mut counters, mut frames) = (0, 0, 0);
    for sub in ["tcpdump", "akvorado-agpl"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .expect("readable capture folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        entries.sort();
        for path in entries {
            let bytes = std::fs::read(&path).expect("readable capture");
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files += 1;
            for (i, p) in udp_payloads(&bytes).iter().enumerate() {
                datagrams += 1;
                if let Some((f, c, fr)) = compare(p, &format!("{name}#{i}")) {
                    accepted += 1;
                    flows += f;
                    counters += c;
                    frames += fr;
                }
            }
        }
    }
    println!("{files} files, {datagrams} datagrams ({accepted} accepted), {flows} flow samples ({frames} frames), {counters} counter samples");
    assert_eq!(files, 15, "both capture folders were read");
    assert!(accepted * 10 >= datagrams * 9, "most datagrams decode");
    assert!(
        flows >= 25 && counters >= 150 && frames >= 25,
        "captures exercise flows, counters, frames"
    );
}

#[test]
fn captured_frames_parse_to_the_layers_tcpdump_printed() {
    // sflow_expanded.pcap: tcpdump's .out shows expanded flow samples of IPv4 traffic.
    let path = data_dir().join("tcpdump/sflow_expanded.pcap");
    if !path.exists() {
        println!("skipped: {} is missing", path.display());
        return;
    }
    let bytes = std::fs::read(&path).expect("readable");
    let payloads = udp_payloads(&bytes);
    let mut ipv4 = 0;
    for p in &payloads {
        let d = sflow::decode(p).expect("valid capture");
        for s in &d.samples {
            if let Sample::Flow(f) = s {
                assert!(f.expanded);
                if let Some(fr) = f.raw_header().and_then(|h| h.frame()) {
                    ipv4 += usize::from(fr.ethertype == sflow::ETHERTYPE_IPV4 && fr.ip.is_some());
                }
            }
        }
    }
    assert!(ipv4 > 0, "expanded samples carry IPv4 frames");
}
