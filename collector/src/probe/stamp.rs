//! STAMP (RFC 8762) unauthenticated test packets and NTP-format timestamps.
//!
//! Session-Sender packet (44 octets): sequence (4), timestamp (8), error estimate (2), MBZ (30).
//! Session-Reflector packet (44 octets): sequence (4), timestamp T3 (8), error estimate (2),
//! MBZ (2), receive timestamp T2 (8), sender sequence (4), sender timestamp T1 (8), sender
//! error estimate (2), MBZ (2), sender TTL (1), MBZ (3).

use std::time::{SystemTime, UNIX_EPOCH};

/// Smallest unauthenticated STAMP packet, both directions.
pub const PACKET_LEN: usize = 44;
/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// Error estimate sent: S=0 (not known to be synchronised), Z=0 (NTP format), scale 0,
/// multiplier 1 (RFC 4656 §4.1.2: the multiplier must not be zero).
pub const ERROR_ESTIMATE: u16 = 0x0001;

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, fraction in the low 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The wall clock now.
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// Converts a system time (times before 1970 map to the Unix epoch).
    pub fn from_system(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET) & 0xffff_ffff;
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// `self - earlier` in seconds; wraps correctly across an NTP era boundary.
    pub fn seconds_since(self, earlier: NtpTime) -> f64 {
        let diff = self.0.wrapping_sub(earlier.0) as i64;
        diff as f64 / 4_294_967_296.0
    }
}

/// What the Session-Sender sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderPacket {
    /// Sequence number, from 0, one per packet.
    pub sequence: u32,
    /// T1, when the packet was sent.
    pub timestamp: NtpTime,
    /// Error estimate of T1.
    pub error_estimate: u16,
}

/// What the Session-Reflector answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReflectorPacket {
    /// Reflector sequence number (a stateless reflector copies the sender's).
    pub sequence: u32,
    /// T3, when the reflected packet was sent.
    pub timestamp: NtpTime,
    /// Error estimate of T2/T3.
    pub error_estimate: u16,
    /// T2, when the test packet was received.
    pub receive_timestamp: NtpTime,
    /// The sender's sequence number, copied.
    pub sender_sequence: u32,
    /// T1, copied.
    pub sender_timestamp: NtpTime,
    /// The sender's error estimate, copied.
    pub sender_error_estimate: u16,
    /// TTL / hop limit of the received test packet (0 when not known).
    pub sender_ttl: u8,
}

/// Why a datagram is not a STAMP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// Shorter than the 44-octet minimum.
    #[error("STAMP packet of {0} octets is shorter than {PACKET_LEN}")]
    Short(usize),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl SenderPacket {
    /// The 44-octet wire form.
    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let mut b = [0u8; PACKET_LEN];
        b[0..4].copy_from_slice(&self.sequence.to_be_bytes());
        b[4..12].copy_from_slice(&self.timestamp.0.to_be_bytes());
        b[12..14].copy_from_slice(&self.error_estimate.to_be_bytes());
        b
    }

    /// Reads a test packet (extra octets, e.g. padding or TLVs, are ignored).
    pub fn decode(b: &[u8]) -> Result<Self, StampError> {
        if b.len() < PACKET_LEN {
            return Err(StampError::Short(b.len()));
        }
        Ok(SenderPacket {
            sequence: u32_at(b, 0),
            timestamp: NtpTime(u64_at(b, 4)),
            error_estimate: u16_at(b, 12),
        })
    }
}

impl ReflectorPacket {
    /// The wire form, `len` octets long (at least 44; a reflector answers with the size it
    /// received so the path carries symmetric packets).
    pub fn encode(&self, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len.max(PACKET_LEN)];
        b[0..4].copy_from_slice(&self.sequence.to_be_bytes());
        b[4..12].copy_from_slice(&self.timestamp.0.to_be_bytes());
        b[12..14].copy_from_slice(&self.error_estimate.to_be_bytes());
        b[16..24].copy_from_slice(&self.receive_timestamp.0.to_be_bytes());
        b[24..28].copy_from_slice(&self.sender_sequence.to_be_bytes());
        b[28..36].copy_from_slice(&self.sender_timestamp.0.to_be_bytes());
        b[36..38].copy_from_slice(&self.sender_error_estimate.to_be_bytes());
        b[40] = self.sender_ttl;
        b
    }

    /// Reads a reflected packet.
    pub fn decode(b: &[u8]) -> Result<Self, StampError> {
        if b.len() < PACKET_LEN {
            return Err(StampError::Short(b.len()));
        }
        Ok(ReflectorPacket {
            sequence: u32_at(b, 0),
            timestamp: NtpTime(u64_at(b, 4)),
            error_estimate: u16_at(b, 12),
            receive_timestamp: NtpTime(u64_at(b, 16)),
            sender_sequence: u32_at(b, 24),
            sender_timestamp: NtpTime(u64_at(b, 28)),
            sender_error_estimate: u16_at(b, 36),
            sender_ttl: b[40],
        })
    }

    /// The reflection of `test` received at `t2` and sent at `t3` (stateless reflector).
    pub fn reflect(test: &SenderPacket, t2: NtpTime, t3: NtpTime, ttl: u8) -> Self {
        ReflectorPacket {
            sequence: test.sequence,
            timestamp: t3,
            error_estimate: ERROR_ESTIMATE,
            receive_timestamp: t2,
            sender_sequence: test.sequence,
            sender_timestamp: test.timestamp,
            sender_error_estimate: test.error_estimate,
            sender_ttl: ttl,
        }
    }

    /// Round-trip time in seconds given T4, the arrival of this packet at the sender:
    /// (T4 - T1) - (T3 - T2). Negative results (clock steps) are clamped to zero.
    pub fn rtt(&self, t4: NtpTime) -> f64 {
        let total = t4.seconds_since(self.sender_timestamp);
        let dwell = self.timestamp.seconds_since(self.receive_timestamp);
        (total - dwell).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ntp_time_of_the_unix_epoch_and_fractions() {
        assert_eq!(NtpTime::from_system(UNIX_EPOCH).0 >> 32, NTP_UNIX_OFFSET);
        let half = NtpTime::from_system(UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(half.0 >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(half.0 & 0xffff_ffff, 1 << 31);
        let a = NtpTime::from_system(UNIX_EPOCH + Duration::from_micros(10_000_250));
        let b = NtpTime::from_system(UNIX_EPOCH + Duration::from_micros(10_000_000));
        assert!((a.seconds_since(b) - 250e-6).abs() < 1e-8);
        assert!((b.seconds_since(a) + 250e-6).abs() < 1e-8);
        // Across the era boundary: 0xffffffff.8 -> 0x00000000.8 is one second.
        let late = NtpTime(0xffff_ffff_8000_0000);
        let early = NtpTime(0x0000_0000_8000_0000);
        assert!((early.seconds_since(late) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn sender_packet_layout_round_trips() {
        let p = SenderPacket {
            sequence: 0x0102_0304,
            timestamp: NtpTime(0x1112_1314_1516_1718),
            error_estimate: ERROR_ESTIMATE,
        };
        let b = p.encode();
        assert_eq!(&b[0..4], &[1, 2, 3, 4]);
        assert_eq!(&b[4..12], &[0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
        assert_eq!(&b[12..14], &[0, 1]);
        assert!(b[14..].iter().all(|&x| x == 0));
        assert_eq!(SenderPacket::decode(&b), Ok(p));
        assert_eq!(SenderPacket::decode(&b[..43]), Err(StampError::Short(43)));
    }

    #[test]
    fn reflector_packet_layout_and_rtt() {
        let t1 = NtpTime::from_system(UNIX_EPOCH + Duration::from_secs(1_000));
        let t2 = NtpTime::from_system(UNIX_EPOCH + Duration::from_millis(5_000_010));
        let t3 = NtpTime::from_system(UNIX_EPOCH + Duration::from_millis(5_000_013));
        let t4 = NtpTime::from_system(UNIX_EPOCH + Duration::from_millis(1_000_023));
        let test = SenderPacket {
            sequence: 7,
            timestamp: t1,
            error_estimate: 0x8001,
        };
        let r = ReflectorPacket::reflect(&test, t2, t3, 64);
        let b = r.encode(60);
        assert_eq!(b.len(), 60);
        assert_eq!(&b[24..28], &7u32.to_be_bytes());
        assert_eq!(&b[28..36], &t1.0.to_be_bytes());
        assert_eq!(&b[16..24], &t2.0.to_be_bytes());
        assert_eq!(&b[36..38], &[0x80, 0x01]);
        assert_eq!(b[40], 64);
        let back = ReflectorPacket::decode(&b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
        // 23 ms total, 3 ms in the reflector: 20 ms of path, whatever the clock offset.
        assert!((back.rtt(t4) - 0.020).abs() < 1e-6, "{}", back.rtt(t4));
    }
}
