//! Datagram -> bytes, the inverse of `decode`: for simulated exporters, tests and benchmarks.
//! Unknown samples and records are written as zero bytes of their recorded length.

use std::net::IpAddr;

use super::{
    CounterRecord, CounterSample, Datagram, FlowRecord, FlowSample, Interface, Sample, Unknown,
};

/// Encodes a datagram in sFlow v5 wire format.
pub fn encode(d: &Datagram<'_>) -> Vec<u8> {
    let mut w = Vec::with_capacity(1400);
    put(&mut w, 5);
    address(&mut w, d.agent);
    put(&mut w, d.sub_agent);
    put(&mut w, d.sequence);
    put(&mut w, d.uptime_ms);
    put(&mut w, len32(d.samples.len()));
    for s in &d.samples {
        match s {
            Sample::Flow(f) => item(&mut w, 0, if f.expanded { 3 } else { 1 }, |w| flow(w, f)),
            Sample::Counter(c) => {
                item(&mut w, 0, if c.expanded { 4 } else { 2 }, |w| counter(w, c))
            }
            Sample::Unknown(u) => unknown(&mut w, u),
        }
    }
    w
}

fn put(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_be_bytes());
}

fn put64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_be_bytes());
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn address(w: &mut Vec<u8>, a: Option<IpAddr>) {
    match a {
        None => put(w, 0),
        Some(IpAddr::V4(a)) => {
            put(w, 1);
            w.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            put(w, 2);
            w.extend_from_slice(&a.octets());
        }
    }
}

/// Writes format word, length word and the body produced by `body`.
fn item(w: &mut Vec<u8>, enterprise: u32, format: u32, body: impl FnOnce(&mut Vec<u8>)) {
    put(w, (enterprise << 12) | (format & 0xfff));
    let at = w.len();
    put(w, 0);
    body(w);
    let len = len32(w.len() - at - 4);
    w[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn unknown(w: &mut Vec<u8>, u: &Unknown) {
    item(w, u.enterprise, u.format, |w| {
        w.resize(w.len() + u.len, 0);
    });
}

fn interface(w: &mut Vec<u8>, i: Interface, expanded: bool) {
    if expanded {
        put(w, i.format);
        put(w, i.value);
    } else {
        put(w, (i.format << 30) | (i.value & 0x3fff_ffff));
    }
}

fn source(w: &mut Vec<u8>, kind: u32, index: u32, expanded: bool) {
    if expanded {
        put(w, kind);
        put(w, index);
    } else {
        put(w, (kind << 24) | (index & 0x00ff_ffff));
    }
}

fn flow(w: &mut Vec<u8>, f: &FlowSample<'_>) {
    put(w, f.sequence);
    source(w, f.source_id_type, f.source_id_index, f.expanded);
    put(w, f.sampling_rate);
    put(w, f.sample_pool);
    put(w, f.drops);
    interface(w, f.input, f.expanded);
    interface(w, f.output, f.expanded);
    put(w, len32(f.records.len()));
    for r in &f.records {
        match r {
            FlowRecord::RawHeader(h) => item(w, 0, 1, |w| {
                put(w, h.protocol);
                put(w, h.frame_length);
                put(w, h.stripped);
                put(w, len32(h.header.len()));
                w.extend_from_slice(h.header);
                w.resize(w.len() + (4 - h.header.len() % 4) % 4, 0);
            }),
            FlowRecord::ExtendedSwitch(s) => item(w, 0, 1001, |w| {
                put(w, s.src_vlan);
                put(w, s.src_priority);
                put(w, s.dst_vlan);
                put(w, s.dst_priority);
            }),
            FlowRecord::ExtendedRouter(r) => item(w, 0, 1002, |w| {
                address(w, r.next_hop);
                put(w, r.src_mask_len);
                put(w, r.dst_mask_len);
            }),
            FlowRecord::Unknown(u) => unknown(w, u),
        }
    }
}

fn counter(w: &mut Vec<u8>, c: &CounterSample) {
    put(w, c.sequence);
    source(w, c.source_id_type, c.source_id_index, c.expanded);
    put(w, len32(c.records.len()));
    for r in &c.records {
        match r {
            CounterRecord::Generic(g) => item(w, 0, 1, |w| {
                put(w, g.if_index);
                put(w, g.if_type);
                put64(w, g.if_speed);
                put(w, g.if_direction);
                put(w, g.if_status);
                put64(w, g.if_in_octets);
                for v in [
                    g.if_in_ucast_pkts,
                    g.if_in_multicast_pkts,
                    g.if_in_broadcast_pkts,
                    g.if_in_discards,
                    g.if_in_errors,
                    g.if_in_unknown_protos,
                ] {
                    put(w, v);
                }
                put64(w, g.if_out_octets);
                for v in [
                    g.if_out_ucast_pkts,
                    g.if_out_multicast_pkts,
                    g.if_out_broadcast_pkts,
                    g.if_out_discards,
                    g.if_out_errors,
                    g.if_promiscuous_mode,
                ] {
                    put(w, v);
                }
            }),
            CounterRecord::Ethernet(e) => item(w, 0, 2, |w| {
                for v in [
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
                    e.symbol_errors,
                ] {
                    put(w, v);
                }
            }),
            CounterRecord::Unknown(u) => unknown(w, u),
        }
    }
}
