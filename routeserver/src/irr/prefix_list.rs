//! A set of prefixes per address family with exact and covering lookups.
//!
//! Entries are kept sorted by (network, length) per family together with
//! the distinct lengths present, so a covering lookup costs one binary
//! search per distinct length no longer than the query (at most 33 or 129),
//! whatever the size of the list.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Prefixes from route objects, sorted per address family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixList {
    v4: Table,
    v6: Table,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Table {
    entries: Vec<(u128, u8)>,
    lengths: Vec<u8>,
}

const V4_BITS: u8 = 32;
const V6_BITS: u8 = 128;

fn mask(addr: u128, len: u8, bits: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (bits - len))
    }
}

fn key(prefix: &IpNet) -> (u128, u8, bool) {
    match prefix {
        IpNet::V4(n) => (u128::from(u32::from(n.network())), n.prefix_len(), false),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len(), true),
    }
}

impl Table {
    fn finish(&mut self) {
        self.entries.sort_unstable();
        self.entries.dedup();
        self.lengths = self.entries.iter().map(|&(_, len)| len).collect();
        self.lengths.sort_unstable();
        self.lengths.dedup();
    }

    fn contains(&self, addr: u128, len: u8) -> bool {
        self.entries.binary_search(&(addr, len)).is_ok()
    }

    /// The longest entry covering (addr, len), if any.
    fn longest_covering(&self, addr: u128, len: u8, bits: u8) -> Option<(u128, u8)> {
        self.lengths
            .iter()
            .rev()
            .filter(|&&l| l <= len)
            .map(|&l| (mask(addr, l, bits), l))
            .find(|&(a, l)| self.contains(a, l))
    }
}

impl PrefixList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a list from any prefixes; host bits are cleared, duplicates dropped.
    pub fn from_prefixes<I: IntoIterator<Item = IpNet>>(prefixes: I) -> Self {
        let mut list = Self::new();
        for prefix in prefixes {
            let (addr, len, v6) = key(&prefix);
            let table = if v6 { &mut list.v6 } else { &mut list.v4 };
            table.entries.push((addr, len));
        }
        list.v4.finish();
        list.v6.finish();
        list
    }

    /// Number of distinct prefixes (both families).
    pub fn len(&self) -> usize {
        self.v4.entries.len() + self.v6.entries.len()
    }

    /// True when the list holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct IPv4 prefixes.
    pub fn len_v4(&self) -> usize {
        self.v4.entries.len()
    }

    /// Number of distinct IPv6 prefixes.
    pub fn len_v6(&self) -> usize {
        self.v6.entries.len()
    }

    /// True if exactly this prefix (host bits ignored) is in the list.
    pub fn contains_exact(&self, prefix: &IpNet) -> bool {
        let (addr, len, v6) = key(prefix);
        if v6 {
            self.v6.contains(addr, len)
        } else {
            self.v4.contains(addr, len)
        }
    }

    /// The most specific list entry equal to or covering `prefix`.
    pub fn longest_covering(&self, prefix: &IpNet) -> Option<IpNet> {
        let (addr, len, v6) = key(prefix);
        if v6 {
            let (a, l) = self.v6.longest_covering(addr, len, V6_BITS)?;
            Ipv6Net::new(Ipv6Addr::from(a), l).ok().map(IpNet::V6)
        } else {
            let (a, l) = self.v4.longest_covering(addr, len, V4_BITS)?;
            let a = u32::try_from(a).ok()?;
            Ipv4Net::new(Ipv4Addr::from(a), l).ok().map(IpNet::V4)
        }
    }

    /// IPv4 prefixes in ascending order.
    pub fn v4(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        self.v4.entries.iter().filter_map(|&(a, l)| {
            let a = u32::try_from(a).ok()?;
            Ipv4Net::new(Ipv4Addr::from(a), l).ok()
        })
    }

    /// IPv6 prefixes in ascending order.
    pub fn v6(&self) -> impl Iterator<Item = Ipv6Net> + '_ {
        self.v6
            .entries
            .iter()
            .filter_map(|&(a, l)| Ipv6Net::new(Ipv6Addr::from(a), l).ok())
    }
}

impl FromIterator<IpNet> for PrefixList {
    fn from_iter<I: IntoIterator<Item = IpNet>>(iter: I) -> Self {
        Self::from_prefixes(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn exact_and_covering() {
        let list: PrefixList = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.0.0/16",
            "2001:db8::/32",
            "0.0.0.0/0",
        ]
        .iter()
        .map(|s| net(s))
        .collect();
        assert_eq!(list.len_v4(), 3);
        assert_eq!(list.len_v6(), 1);
        assert!(list.contains_exact(&net("10.1.0.0/16")));
        assert!(!list.contains_exact(&net("10.2.0.0/16")));
        assert_eq!(
            list.longest_covering(&net("10.1.2.0/24")),
            Some(net("10.1.0.0/16"))
        );
        assert_eq!(
            list.longest_covering(&net("10.2.2.0/24")),
            Some(net("10.0.0.0/8"))
        );
        assert_eq!(
            list.longest_covering(&net("11.0.0.0/8")),
            Some(net("0.0.0.0/0"))
        );
        assert_eq!(
            list.longest_covering(&net("2001:db8:1::/48")),
            Some(net("2001:db8::/32"))
        );
        assert_eq!(list.longest_covering(&net("2001:db9::/32")), None);
        assert_eq!(
            list.longest_covering(&net("2001:db8::1/128")),
            Some(net("2001:db8::/32"))
        );
    }
}
