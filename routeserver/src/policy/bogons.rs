//! Bogon prefixes and ASNs: what no member may announce through the route
//! server. Lists as arouteserver's defaults (RFC 6890 special-purpose
//! ranges, documentation ranges, multicast and reserved space).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::wire::Asn;

const BOGONS_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
];

const BOGONS_V6: &[&str] = &[
    "::/8",
    "64:ff9b::/96",
    "100::/8",
    "200::/7",
    "400::/6",
    "800::/5",
    "1000::/4",
    "2001::/33",
    "2001:0:8000::/33",
    "2001:2::/48",
    "2001:3::/32",
    "2001:10::/28",
    "2001:20::/28",
    "2001:db8::/32",
    "2002::/16",
    "3ffe::/16",
    "4000::/3",
    "5f00::/8",
    "6000::/3",
    "8000::/3",
    "a000::/3",
    "c000::/3",
    "e000::/4",
    "f000::/5",
    "f800::/6",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// The bogon prefix lists, parsed once.
#[derive(Clone, Debug)]
pub struct Bogons {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl Default for Bogons {
    fn default() -> Self {
        Bogons {
            v4: BOGONS_V4.iter().filter_map(|s| s.parse().ok()).collect(),
            v6: BOGONS_V6.iter().filter_map(|s| s.parse().ok()).collect(),
        }
    }
}

impl Bogons {
    /// True for a default route, a prefix inside a bogon range, or an IPv6
    /// prefix outside global unicast 2000::/3.
    pub fn is_bogon(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(p) => p.prefix_len() == 0 || self.v4.iter().any(|b| b.contains(p)),
            IpNet::V6(p) => {
                let global: Ipv6Net =
                    Ipv6Net::new(std::net::Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)
                        .unwrap_or_default();
                p.prefix_len() == 0 || !global.contains(p) || self.v6.iter().any(|b| b.contains(p))
            }
        }
    }
}

/// True for ASNs that must not appear in a path seen at an exchange:
/// 0, AS_TRANS, documentation, private and reserved ranges.
pub fn is_bogon_asn(asn: Asn) -> bool {
    asn == 0 || asn == 23456 || (64496..=131071).contains(&asn) || asn >= 4_200_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn bogon_prefixes() {
        let b = Bogons::default();
        for bogon in [
            "0.0.0.0/0",
            "10.1.0.0/16",
            "192.168.1.0/24",
            "240.0.0.0/4",
            "::/0",
            "2001:db8:1::/48",
            "fe80::/64",
            "4000::/4",
            "fc00::/8",
            "5f00::/12",
        ] {
            assert!(b.is_bogon(&p(bogon)), "{bogon}");
        }
        for good in [
            "140.112.0.0/16",
            "1.1.1.0/24",
            "2001:e10::/32",
            "2400:4500::/32",
            "2001:c08::/32",
        ] {
            assert!(!b.is_bogon(&p(good)), "{good}");
        }
    }

    #[test]
    fn bogon_asns() {
        for a in [
            0,
            23456,
            64496,
            64512,
            65535,
            65536,
            131071,
            4_200_000_000,
            u32::MAX,
        ] {
            assert!(is_bogon_asn(a), "{a}");
        }
        for a in [1659, 7539, 9264, 4782, 64495, 131072, 4_199_999_999] {
            assert!(!is_bogon_asn(a), "{a}");
        }
    }
}
