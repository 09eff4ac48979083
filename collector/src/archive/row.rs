//! One archived flow sample and its TabSeparated encoding.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::fabric::{mac_string, MemberMap};
use crate::sflow::{Frame, Transport};

/// One flow sample as archived: estimated bytes and packets are scaled by the sampling rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRow {
    /// Unix time (seconds) the datagram was received.
    pub time: u64,
    /// sFlow agent address.
    pub agent: Option<IpAddr>,
    /// Input ifIndex on the agent (0 when not a single interface).
    pub input_if: u32,
    /// Output ifIndex on the agent (0 when not a single interface).
    pub output_if: u32,
    /// ASN of the member owning the source MAC (0 if none).
    pub src_asn: u32,
    /// ASN of the member owning the destination MAC (0 if none or a group address).
    pub dst_asn: u32,
    /// Name of the source member ("" if none).
    pub src_member: String,
    /// Name of the destination member ("" if none).
    pub dst_member: String,
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Outer VLAN (0 if untagged).
    pub vlan: u16,
    /// Ethertype after tags.
    pub ethertype: u16,
    /// Source IP address, if IP.
    pub src_ip: Option<IpAddr>,
    /// Destination IP address, if IP.
    pub dst_ip: Option<IpAddr>,
    /// IP protocol (0 if not IP).
    pub protocol: u8,
    /// TCP/UDP source port (0 otherwise).
    pub src_port: u16,
    /// TCP/UDP destination port (0 otherwise).
    pub dst_port: u16,
    /// Length of the sampled frame on the wire.
    pub frame_length: u32,
    /// 1 in this many packets was sampled.
    pub sampling_rate: u32,
    /// Estimated bytes (frame length times the rate).
    pub bytes: u64,
    /// Estimated packets (the rate).
    pub packets: u64,
}

impl FlowRow {
    /// The row for one sampled `frame`, with members looked up in `map` (group destinations
    /// have no member, as in the traffic counters).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        map: &MemberMap,
        time: u64,
        agent: Option<IpAddr>,
        input_if: u32,
        output_if: u32,
        frame: &Frame,
        frame_length: u32,
        rate: u32,
    ) -> FlowRow {
        let member = |mac: &[u8; 6]| {
            map.lookup(mac)
                .and_then(|o| map.members().get(o.member))
                .map_or((0, String::new()), |m| (m.asn, m.name.clone()))
        };
        let (src_asn, src_member) = member(&frame.src_mac);
        let (dst_asn, dst_member) = if frame.is_dst_group() {
            (0, String::new())
        } else {
            member(&frame.dst_mac)
        };
        let (src_port, dst_port) = match frame.transport {
            Some(Transport::Tcp {
                src_port, dst_port, ..
            })
            | Some(Transport::Udp { src_port, dst_port }) => (src_port, dst_port),
            _ => (0, 0),
        };
        let r = u64::from(rate.max(1));
        FlowRow {
            time,
            agent,
            input_if,
            output_if,
            src_asn,
            dst_asn,
            src_member,
            dst_member,
            src_mac: frame.src_mac,
            dst_mac: frame.dst_mac,
            vlan: frame.outer_vlan.unwrap_or(0),
            ethertype: frame.ethertype,
            src_ip: frame.ip.map(|i| i.src),
            dst_ip: frame.ip.map(|i| i.dst),
            protocol: frame.ip.map_or(0, |i| i.protocol),
            src_port,
            dst_port,
            frame_length,
            sampling_rate: rate,
            bytes: u64::from(frame_length).saturating_mul(r),
            packets: r,
        }
    }

    /// Appends the row as one TabSeparated line in [`super::INSERT_COLUMNS`] order.
    pub fn write_tsv(&self, out: &mut String) {
        let ip = |a: Option<IpAddr>| a.map_or(String::new(), |a| a.to_string());
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.time,
            ip(self.agent),
            self.input_if,
            self.output_if,
            self.src_asn,
            self.dst_asn,
            tsv_escape(&self.src_member),
            tsv_escape(&self.dst_member),
            mac_string(&self.src_mac),
            mac_string(&self.dst_mac),
            self.vlan,
            self.ethertype,
            ip(self.src_ip),
            ip(self.dst_ip),
            self.protocol,
            self.src_port,
            self.dst_port,
            self.frame_length,
            self.sampling_rate,
            self.bytes,
            self.packets,
        );
    }
}

/// Escapes a string field for TabSeparated (backslash, tab, newline).
fn tsv_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// (year, month, day) in UTC of a Unix time in seconds.
pub fn civil_date(unix: u64) -> (i64, u32, u32) {
    // Days to civil date (proleptic Gregorian), after H. Hinnant's published algorithm.
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(1_790_000_000), (2026, 9, 21));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_798_761_599), (2026, 12, 31));
    }

    #[test]
    fn tsv_fields_are_escaped() {
        assert_eq!(tsv_escape("a\tb\\c\nd"), "a\\tb\\\\c\\nd");
    }
}
