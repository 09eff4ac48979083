//! sFlow version 5 (sflow.org/sflow_version_5.txt): datagrams, flow and counter samples (compact
//! and expanded), the records an IXP fabric needs, and the sampled frame parsed down to L4.
//! Decoding borrows from the datagram; a malformed datagram is a [`DecodeError`].

mod decode;
mod encode;
mod error;
mod frame;
pub mod fuzzing;
mod sequence;
mod xdr;

use std::net::IpAddr;

pub use decode::decode;
pub use encode::encode;
pub use error::DecodeError;
pub use frame::{
    Frame, IpInfo, Transport, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_LLDP,
};
pub use sequence::{SequenceTracker, SequenceUpdate};

/// Header protocol number of an Ethernet frame in a raw packet header record.
pub const HEADER_PROTOCOL_ETHERNET: u32 = 1;

/// One sFlow v5 datagram.
///
/// ```text
/// struct sample_datagram_v5 {
///    address agent_address;  unsigned int sub_agent_id;  unsigned int sequence_number;
///    unsigned int uptime;    sample_record samples<>;
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The agent's address; `None` for address type 0 (unknown).
    pub agent: Option<IpAddr>,
    /// Sub-agent id (one agent may run several, each with its own sequence).
    pub sub_agent: u32,
    /// Datagram sequence number of this agent and sub-agent.
    pub sequence: u32,
    /// Agent uptime in milliseconds.
    pub uptime_ms: u32,
    /// Samples in datagram order.
    pub samples: Vec<Sample<'a>>,
}

/// One sample record of a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sample<'a> {
    /// Flow sample (0,1) or expanded flow sample (0,3).
    Flow(FlowSample<'a>),
    /// Counter sample (0,2) or expanded counter sample (0,4).
    Counter(CounterSample),
    /// Any other sample type, skipped by its length.
    Unknown(Unknown),
}

/// A record or sample type this decoder does not read, skipped by its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// Enterprise number (top 20 bits of the data format).
    pub enterprise: u32,
    /// Format number (low 12 bits).
    pub format: u32,
    /// Length of the skipped data in bytes.
    pub len: usize,
}

/// An interface as sFlow encodes it: format 0 = ifIndex, 1 = discarded (value = reason),
/// 2 = multiple output interfaces (value = count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interface {
    /// Format (0, 1 or 2).
    pub format: u32,
    /// ifIndex, drop reason or interface count, by `format`.
    pub value: u32,
}

impl Interface {
    /// The ifIndex if the format is a single interface.
    pub fn if_index(&self) -> Option<u32> {
        (self.format == 0).then_some(self.value)
    }
}

/// A flow sample: one packet sampled 1 in `sampling_rate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSample<'a> {
    /// True for the expanded encoding (0,3).
    pub expanded: bool,
    /// Flow-sample sequence of this data source.
    pub sequence: u32,
    /// Data source type (0 = ifIndex, 1 = VLAN, 2 = entPhysicalEntry).
    pub source_id_type: u32,
    /// Data source index.
    pub source_id_index: u32,
    /// 1 in N packets is sampled.
    pub sampling_rate: u32,
    /// Packets that could have been sampled.
    pub sample_pool: u32,
    /// Samples the agent dropped for lack of resources (cumulative).
    pub drops: u32,
    /// Input interface.
    pub input: Interface,
    /// Output interface.
    pub output: Interface,
    /// Flow records in sample order.
    pub records: Vec<FlowRecord<'a>>,
}

impl<'a> FlowSample<'a> {
    /// The raw packet header record, if the sample has one.
    pub fn raw_header(&self) -> Option<&RawHeader<'a>> {
        self.records.iter().find_map(|r| match r {
            FlowRecord::RawHeader(h) => Some(h),
            _ => None,
        })
    }

    /// The extended switch record, if the sample has one.
    pub fn extended_switch(&self) -> Option<&ExtendedSwitch> {
        self.records.iter().find_map(|r| match r {
            FlowRecord::ExtendedSwitch(s) => Some(s),
            _ => None,
        })
    }
}

/// A flow record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowRecord<'a> {
    /// Raw packet header (0,1).
    RawHeader(RawHeader<'a>),
    /// Extended switch data (0,1001).
    ExtendedSwitch(ExtendedSwitch),
    /// Extended router data (0,1002).
    ExtendedRouter(ExtendedRouter),
    /// Any other record, skipped by its length.
    Unknown(Unknown),
}

/// The first bytes of a sampled packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawHeader<'a> {
    /// Header protocol (1 = Ethernet).
    pub protocol: u32,
    /// Length of the packet on the wire, before sampling.
    pub frame_length: u32,
    /// Bytes removed from the packet before the header was taken (e.g. FCS).
    pub stripped: u32,
    /// The header bytes.
    pub header: &'a [u8],
}

impl RawHeader<'_> {
    /// The header parsed as an Ethernet frame, if the protocol is Ethernet and 14 bytes fit.
    pub fn frame(&self) -> Option<Frame> {
        (self.protocol == HEADER_PROTOCOL_ETHERNET)
            .then(|| Frame::parse(self.header))
            .flatten()
    }
}

/// Extended switch data: VLANs and priorities in and out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedSwitch {
    /// 802.1Q VLAN id of the incoming frame.
    pub src_vlan: u32,
    /// 802.1p priority of the incoming frame.
    pub src_priority: u32,
    /// 802.1Q VLAN id of the outgoing frame.
    pub dst_vlan: u32,
    /// 802.1p priority of the outgoing frame.
    pub dst_priority: u32,
}

/// Extended router data: next hop and mask lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedRouter {
    /// Next hop; `None` if the address type is unknown.
    pub next_hop: Option<IpAddr>,
    /// Source prefix length.
    pub src_mask_len: u32,
    /// Destination prefix length.
    pub dst_mask_len: u32,
}

/// A counter sample: interface counters polled from one data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterSample {
    /// True for the expanded encoding (0,4).
    pub expanded: bool,
    /// Counter-sample sequence of this data source.
    pub sequence: u32,
    /// Data source type.
    pub source_id_type: u32,
    /// Data source index.
    pub source_id_index: u32,
    /// Counter records in sample order.
    pub records: Vec<CounterRecord>,
}

/// A counter record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterRecord {
    /// Generic interface counters (0,1).
    Generic(GenericCounters),
    /// Ethernet interface counters (0,2).
    Ethernet(EthernetCounters),
    /// Any other record, skipped by its length.
    Unknown(Unknown),
}

/// Generic interface counters (RFC 2233 ifTable/ifXTable values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GenericCounters {
    pub if_index: u32,
    pub if_type: u32,
    pub if_speed: u64,
    pub if_direction: u32,
    pub if_status: u32,
    pub if_in_octets: u64,
    pub if_in_ucast_pkts: u32,
    pub if_in_multicast_pkts: u32,
    pub if_in_broadcast_pkts: u32,
    pub if_in_discards: u32,
    pub if_in_errors: u32,
    pub if_in_unknown_protos: u32,
    pub if_out_octets: u64,
    pub if_out_ucast_pkts: u32,
    pub if_out_multicast_pkts: u32,
    pub if_out_broadcast_pkts: u32,
    pub if_out_discards: u32,
    pub if_out_errors: u32,
    pub if_promiscuous_mode: u32,
}

/// Ethernet interface counters (RFC 2358 dot3StatsTable values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct EthernetCounters {
    pub alignment_errors: u32,
    pub fcs_errors: u32,
    pub single_collision_frames: u32,
    pub multiple_collision_frames: u32,
    pub sqe_test_errors: u32,
    pub deferred_transmissions: u32,
    pub late_collisions: u32,
    pub excessive_collisions: u32,
    pub internal_mac_transmit_errors: u32,
    pub carrier_sense_errors: u32,
    pub frame_too_longs: u32,
    pub internal_mac_receive_errors: u32,
    pub symbol_errors: u32,
}

#[cfg(test)]
mod tests;
