//! Counting the IPv4 prefixes a session holds, decoding as little as possible: the Withdrawn
//! Routes and NLRI fields of each UPDATE; path attributes are skipped unread.

use std::collections::HashSet;

/// The set of IPv4 prefixes a session currently holds. Prefixes up to /24 live in a bitmap
/// (one bit per possible prefix, 4 MiB); longer ones in a hash set.
pub struct PrefixSet {
    bits: Vec<u64>,
    long: HashSet<(u32, u8)>,
    count: usize,
}

impl Default for PrefixSet {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an UPDATE could not be counted.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl PrefixSet {
    /// An empty set.
    pub fn new() -> Self {
        PrefixSet {
            bits: vec![0; (1usize << 25) / 64],
            long: HashSet::new(),
            count: 0,
        }
    }

    /// Prefixes held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn slot(addr: u32, len: u8) -> usize {
        // len <= 24: index (1 << len) + top `len` bits of addr, below 2^25.
        let top = if len == 0 {
            0
        } else {
            (addr >> (32 - u32::from(len))) as usize
        };
        (1usize << len) + top
    }

    /// Add a prefix; true if it was new.
    pub fn insert(&mut self, addr: u32, len: u8) -> bool {
        let new = if len <= 24 {
            let i = Self::slot(addr, len);
            let (w, b) = (i / 64, 1u64 << (i % 64));
            let new = self.bits[w] & b == 0;
            self.bits[w] |= b;
            new
        } else {
            self.long.insert((addr, len))
        };
        self.count += usize::from(new);
        new
    }

    /// Remove a prefix; true if it was held.
    pub fn remove(&mut self, addr: u32, len: u8) -> bool {
        let held = if len <= 24 {
            let i = Self::slot(addr, len);
            let (w, b) = (i / 64, 1u64 << (i % 64));
            let held = self.bits[w] & b != 0;
            self.bits[w] &= !b;
            held
        } else {
            self.long.remove(&(addr, len))
        };
        self.count -= usize::from(held);
        held
    }

    /// Apply one UPDATE body (after the 19-octet header): withdrawals, then announcements.
    /// Returns (announced, withdrawn) prefix counts as carried by the message.
    pub fn apply_update(&mut self, body: &[u8]) -> Result<(usize, usize), Malformed> {
        let u16_at = |i: usize| -> Result<usize, Malformed> {
            match body.get(i..i + 2) {
                Some(&[a, b]) => Ok(usize::from(u16::from_be_bytes([a, b]))),
                _ => Err(Malformed("truncated length field")),
            }
        };
        let wlen = u16_at(0)?;
        let withdrawn = body
            .get(2..2 + wlen)
            .ok_or(Malformed("withdrawn routes overrun"))?;
        let alen = u16_at(2 + wlen)?;
        let nlri = body
            .get(4 + wlen + alen..)
            .ok_or(Malformed("path attributes overrun"))?;
        let mut w = 0;
        for_each_prefix(withdrawn, |a, l| {
            self.remove(a, l);
            w += 1;
        })?;
        let mut n = 0;
        for_each_prefix(nlri, |a, l| {
            self.insert(a, l);
            n += 1;
        })?;
        Ok((n, w))
    }
}

/// Call `f(address, length)` for every IPv4 prefix in an NLRI-encoded field (RFC 4271 4.3).
pub fn for_each_prefix(mut field: &[u8], mut f: impl FnMut(u32, u8)) -> Result<(), Malformed> {
    while let Some((&len, rest)) = field.split_first() {
        if len > 32 {
            return Err(Malformed("IPv4 prefix length above 32"));
        }
        let n = usize::from(len).div_ceil(8);
        let bytes = rest
            .get(..n)
            .ok_or(Malformed("prefix overruns the field"))?;
        let mut a = [0u8; 4];
        a[..n].copy_from_slice(bytes);
        let addr = u32::from_be_bytes(a);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        f(addr & mask, len);
        field = &rest[n..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use fox_routeserver::wire::{
        encode_announcements, encode_withdrawals, Afi, AsPath, NextHop, Origin, PathAttrs,
        SessionCaps, HEADER_LEN,
    };
    use ipnet::IpNet;

    fn attrs() -> PathAttrs {
        PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath::from_sequence(vec![1659, 7539]),
            next_hop: NextHop::V4("192.0.2.11".parse().unwrap()),
            med: None,
            local_pref: None,
            atomic_aggregate: false,
            aggregator: None,
            communities: vec![1],
            ext_communities: vec![],
            large_communities: vec![],
            otc: None,
            unknown: vec![],
        }
    }

    fn apply_all(set: &mut PrefixSet, mut wire: &[u8]) {
        while wire.len() >= HEADER_LEN {
            let len = usize::from(u16::from_be_bytes([wire[16], wire[17]]));
            set.apply_update(&wire[HEADER_LEN..len]).unwrap();
            wire = &wire[len..];
        }
    }

    #[test]
    fn counts_codec_output_with_replacements_and_withdrawals() {
        let nets: Vec<IpNet> = [
            "140.112.0.0/16",
            "1.1.1.0/24",
            "8.0.0.0/8",
            "203.0.113.128/25",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let caps = SessionCaps::default();
        let mut out = BytesMut::new();
        encode_announcements(&attrs(), &nets, &caps, &mut out);
        // The same prefixes again (implicit withdraw + replace) must not count twice.
        encode_announcements(&attrs(), &nets[..2], &caps, &mut out);
        let mut set = PrefixSet::new();
        apply_all(&mut set, &out);
        assert_eq!(set.len(), 4);
        let mut w = BytesMut::new();
        encode_withdrawals(Afi::Ipv4, &nets[1..3], &caps, &mut w);
        apply_all(&mut set, &w);
        assert_eq!(set.len(), 2);
        assert!(set.remove(0x8C70_0000, 16));
        assert!(set.remove(0xCB00_7180, 25));
        assert!(set.is_empty());
    }

    #[test]
    fn rejects_bad_fields() {
        let mut set = PrefixSet::new();
        assert!(set.apply_update(&[0, 0, 0, 0, 33, 1, 2, 3, 4, 5]).is_err());
        assert!(set.apply_update(&[0, 0, 0, 0, 24, 1, 2]).is_err());
        assert!(set.apply_update(&[0, 5, 0]).is_err());
        assert!(set.apply_update(&[0, 0, 0, 0]).is_ok());
    }
}
