//! Rows the read API returns and the writer accepts.

use std::collections::BTreeMap;

use crate::hist::RttHistogram;

/// Unix time in seconds (UTC).
pub type Ts = i64;

/// Traffic of one member in one minute or hour, one IP version, from the member's view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficRow {
    /// Member ASN.
    pub asn: u32,
    /// Start of the minute or hour.
    pub ts: Ts,
    /// 4 or 6.
    pub ipv: u8,
    /// Bytes received by the member.
    pub bytes_in: u64,
    /// Bytes sent by the member.
    pub bytes_out: u64,
    /// Packets received.
    pub packets_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Largest minute's `bytes_in` within the row (equal to `bytes_in` for a minute row).
    pub peak_bytes_in: u64,
    /// Largest minute's `bytes_out` within the row.
    pub peak_bytes_out: u64,
}

/// Traffic from one member to another in one 5-minute slot or hour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatrixRow {
    /// Start of the slot or hour.
    pub ts: Ts,
    /// Sending member.
    pub src_asn: u32,
    /// Receiving member.
    pub dst_asn: u32,
    /// Bytes.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
}

/// Total traffic of one member pair over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairTotal {
    /// Sending member.
    pub src_asn: u32,
    /// Receiving member.
    pub dst_asn: u32,
    /// Bytes.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
}

/// Probe results of one target in one minute or hour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeRow {
    /// Probe name.
    pub probe: String,
    /// Start of the minute or hour.
    pub ts: Ts,
    /// Test packets sent.
    pub sent: u64,
    /// Test packets lost.
    pub lost: u64,
    /// Smallest RTT, µs (`None` without replies).
    pub rtt_min_us: Option<u32>,
    /// Median RTT, µs (exact for minutes, from `histogram` for hours).
    pub rtt_median_us: Option<u32>,
    /// 95th percentile RTT, µs.
    pub rtt_p95_us: Option<u32>,
    /// Largest RTT, µs.
    pub rtt_max_us: Option<u32>,
    /// Minutes with results (1 or 0 for a minute row).
    pub minutes_with_data: u32,
    /// Minutes with at least one reply (availability).
    pub minutes_up: u32,
    /// All RTT samples, bucketed; merge these for longer periods.
    pub histogram: RttHistogram,
}

/// A route server session going up or down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionEvent {
    /// When.
    pub ts: Ts,
    /// Route server name.
    pub rs: String,
    /// Member ASN.
    pub asn: u32,
    /// Neighbour address.
    pub neighbor: String,
    /// Up (true) or down.
    pub up: bool,
    /// Reason: the NOTIFICATION sent or received, or what else ended the session.
    pub reason: String,
}

/// An alert, raised and perhaps resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertEvent {
    /// Alert identifier (stable across raise and resolve).
    pub id: String,
    /// When it was raised.
    pub raised: Ts,
    /// When it was resolved, if it was.
    pub resolved: Option<Ts>,
    /// Severity (e.g. `warning`, `critical`).
    pub severity: String,
    /// Likely cause from the alert correlation.
    pub cause: String,
    /// Symptoms, as text.
    pub symptoms: String,
}

/// Prefix counts of one member on one route server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixCounts {
    /// Prefixes received.
    pub received: u64,
    /// Accepted by the import policy.
    pub accepted: u64,
    /// Filtered by the import policy.
    pub filtered: u64,
    /// RPKI valid.
    pub rpki_valid: u64,
    /// RPKI invalid.
    pub rpki_invalid: u64,
    /// RPKI not found.
    pub rpki_not_found: u64,
    /// Filtered prefixes per reason code (a prefix with two reasons counts in both).
    pub filtered_by_reason: BTreeMap<u32, u64>,
}

/// Prefix counts of one member on one route server in one hour (the last snapshot of the hour).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixRow {
    /// Start of the hour.
    pub ts: Ts,
    /// Route server name.
    pub rs: String,
    /// Member ASN.
    pub asn: u32,
    /// The counts.
    pub counts: PrefixCounts,
}

/// Peering-LAN hygiene violations of one member and rule in one minute or hour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HygieneRow {
    /// Member ASN owning the offending source MAC (0: a MAC registered to no member).
    pub asn: u32,
    /// Start of the minute or hour.
    pub ts: Ts,
    /// Rule broken (the collector's snake_case rule name, e.g. `spanning_tree`).
    pub rule: String,
    /// Sampled frames that broke the rule.
    pub samples: u64,
    /// Estimated frames (samples scaled by the sampling rate).
    pub frames: u64,
    /// When the last offending sample of the row was taken (Unix seconds).
    pub last_at: Ts,
    /// That sample, as the collector describes it (JSON text).
    pub last: String,
}
