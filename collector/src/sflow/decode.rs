//! Datagram -> samples -> records. Each structure is read from a sub-reader bounded by its own
//! length, so a record can never read into the next one, and unknown types are skipped whole.

use super::error::DecodeError;
use super::xdr::Reader;
use super::{
    CounterRecord, CounterSample, Datagram, EthernetCounters, ExtendedRouter, ExtendedSwitch,
    FlowRecord, FlowSample, GenericCounters, Interface, RawHeader, Sample, Unknown,
};

/// Smallest encoded sample or record: format and length words.
const MIN_ITEM: usize = 8;

/// Decodes one sFlow v5 datagram (the payload of one UDP packet).
pub fn decode(buf: &[u8]) -> Result<Datagram<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u32("version")?;
    if version != 5 {
        return Err(DecodeError::Version(version));
    }
    let agent = r.address("agent address")?;
    let sub_agent = r.u32("sub-agent id")?;
    let sequence = r.u32("datagram sequence")?;
    let uptime_ms = r.u32("uptime")?;
    let count = r.u32("sample count")? as usize;
    let mut samples = Vec::with_capacity(count.min(r.remaining() / MIN_ITEM));
    for _ in 0..count {
        samples.push(sample(&mut r)?);
    }
    Ok(Datagram {
        agent,
        sub_agent,
        sequence,
        uptime_ms,
        samples,
    })
}

/// Splits a data format word into (enterprise, format).
fn split_format(word: u32) -> (u32, u32) {
    (word >> 12, word & 0xfff)
}

fn sample<'a>(r: &mut Reader<'a>) -> Result<Sample<'a>, DecodeError> {
    let (enterprise, format) = split_format(r.u32("sample type")?);
    let mut s = r.sub("sample")?;
    Ok(match (enterprise, format) {
        (0, 1) => Sample::Flow(flow_sample(&mut s, false)?),
        (0, 3) => Sample::Flow(flow_sample(&mut s, true)?),
        (0, 2) => Sample::Counter(counter_sample(&mut s, false)?),
        (0, 4) => Sample::Counter(counter_sample(&mut s, true)?),
        _ => Sample::Unknown(Unknown {
            enterprise,
            format,
            len: s.remaining(),
        }),
    })
}

/// Source id: compact (type in the top byte) or expanded (two words).
fn source_id(r: &mut Reader<'_>, expanded: bool) -> Result<(u32, u32), DecodeError> {
    if expanded {
        Ok((r.u32("source id type")?, r.u32("source id index")?))
    } else {
        let w = r.u32("source id")?;
        Ok((w >> 24, w & 0x00ff_ffff))
    }
}

/// Interface: compact (format in the top two bits) or expanded (two words).
fn interface(r: &mut Reader<'_>, expanded: bool) -> Result<Interface, DecodeError> {
    if expanded {
        Ok(Interface {
            format: r.u32("interface format")?,
            value: r.u32("interface value")?,
        })
    } else {
        let w = r.u32("interface")?;
        Ok(Interface {
            format: w >> 30,
            value: w & 0x3fff_ffff,
        })
    }
}

fn flow_sample<'a>(r: &mut Reader<'a>, expanded: bool) -> Result<FlowSample<'a>, DecodeError> {
    let sequence = r.u32("flow sample sequence")?;
    let (source_id_type, source_id_index) = source_id(r, expanded)?;
    let sampling_rate = r.u32("sampling rate")?;
    let sample_pool = r.u32("sample pool")?;
    let drops = r.u32("drops")?;
    let input = interface(r, expanded)?;
    let output = interface(r, expanded)?;
    let count = r.u32("flow record count")? as usize;
    let mut records = Vec::with_capacity(count.min(r.remaining() / MIN_ITEM));
    for _ in 0..count {
        records.push(flow_record(r)?);
    }
    Ok(FlowSample {
        expanded,
        sequence,
        source_id_type,
        source_id_index,
        sampling_rate,
        sample_pool,
        drops,
        input,
        output,
        records,
    })
}

fn flow_record<'a>(r: &mut Reader<'a>) -> Result<FlowRecord<'a>, DecodeError> {
    let (enterprise, format) = split_format(r.u32("flow record type")?);
    let mut d = r.sub("flow record")?;
    Ok(match (enterprise, format) {
        (0, 1) => {
            let protocol = d.u32("header protocol")?;
            let frame_length = d.u32("frame length")?;
            let stripped = d.u32("stripped")?;
            let len = d.u32("header length")? as usize;
            let header = d.opaque(len, "sampled header")?;
            FlowRecord::RawHeader(RawHeader {
                protocol,
                frame_length,
                stripped,
                header,
            })
        }
        (0, 1001) => FlowRecord::ExtendedSwitch(ExtendedSwitch {
            src_vlan: d.u32("src vlan")?,
            src_priority: d.u32("src priority")?,
            dst_vlan: d.u32("dst vlan")?,
            dst_priority: d.u32("dst priority")?,
        }),
        (0, 1002) => FlowRecord::ExtendedRouter(ExtendedRouter {
            next_hop: d.address("next hop")?,
            src_mask_len: d.u32("src mask length")?,
            dst_mask_len: d.u32("dst mask length")?,
        }),
        _ => FlowRecord::Unknown(Unknown {
            enterprise,
            format,
            len: d.remaining(),
        }),
    })
}

fn counter_sample(r: &mut Reader<'_>, expanded: bool) -> Result<CounterSample, DecodeError> {
    let sequence = r.u32("counter sample sequence")?;
    let (source_id_type, source_id_index) = source_id(r, expanded)?;
    let count = r.u32("counter record count")? as usize;
    let mut records = Vec::with_capacity(count.min(r.remaining() / MIN_ITEM));
    for _ in 0..count {
        records.push(counter_record(r)?);
    }
    Ok(CounterSample {
        expanded,
        sequence,
        source_id_type,
        source_id_index,
        records,
    })
}

fn counter_record(r: &mut Reader<'_>) -> Result<CounterRecord, DecodeError> {
    let (enterprise, format) = split_format(r.u32("counter record type")?);
    let mut d = r.sub("counter record")?;
    Ok(match (enterprise, format) {
        (0, 1) => CounterRecord::Generic(generic_counters(&mut d)?),
        (0, 2) => CounterRecord::Ethernet(ethernet_counters(&mut d)?),
        _ => CounterRecord::Unknown(Unknown {
            enterprise,
            format,
            len: d.remaining(),
        }),
    })
}

fn generic_counters(d: &mut Reader<'_>) -> Result<GenericCounters, DecodeError> {
    Ok(GenericCounters {
        if_index: d.u32("ifIndex")?,
        if_type: d.u32("ifType")?,
        if_speed: d.u64("ifSpeed")?,
        if_direction: d.u32("ifDirection")?,
        if_status: d.u32("ifStatus")?,
        if_in_octets: d.u64("ifInOctets")?,
        if_in_ucast_pkts: d.u32("ifInUcastPkts")?,
        if_in_multicast_pkts: d.u32("ifInMulticastPkts")?,
        if_in_broadcast_pkts: d.u32("ifInBroadcastPkts")?,
        if_in_discards: d.u32("ifInDiscards")?,
        if_in_errors: d.u32("ifInErrors")?,
        if_in_unknown_protos: d.u32("ifInUnknownProtos")?,
        if_out_octets: d.u64("ifOutOctets")?,
        if_out_ucast_pkts: d.u32("ifOutUcastPkts")?,
        if_out_multicast_pkts: d.u32("ifOutMulticastPkts")?,
        if_out_broadcast_pkts: d.u32("ifOutBroadcastPkts")?,
        if_out_discards: d.u32("ifOutDiscards")?,
        if_out_errors: d.u32("ifOutErrors")?,
        if_promiscuous_mode: d.u32("ifPromiscuousMode")?,
    })
}

fn ethernet_counters(d: &mut Reader<'_>) -> Result<EthernetCounters, DecodeError> {
    Ok(EthernetCounters {
        alignment_errors: d.u32("dot3StatsAlignmentErrors")?,
        fcs_errors: d.u32("dot3StatsFCSErrors")?,
        single_collision_frames: d.u32("dot3StatsSingleCollisionFrames")?,
        multiple_collision_frames: d.u32("dot3StatsMultipleCollisionFrames")?,
        sqe_test_errors: d.u32("dot3StatsSQETestErrors")?,
        deferred_transmissions: d.u32("dot3StatsDeferredTransmissions")?,
        late_collisions: d.u32("dot3StatsLateCollisions")?,
        excessive_collisions: d.u32("dot3StatsExcessiveCollisions")?,
        internal_mac_transmit_errors: d.u32("dot3StatsInternalMacTransmitErrors")?,
        carrier_sense_errors: d.u32("dot3StatsCarrierSenseErrors")?,
        frame_too_longs: d.u32("dot3StatsFrameTooLongs")?,
        internal_mac_receive_errors: d.u32("dot3StatsInternalMacReceiveErrors")?,
        symbol_errors: d.u32("dot3StatsSymbolErrors")?,
    })
}
