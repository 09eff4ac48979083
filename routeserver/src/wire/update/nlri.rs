//! NLRI prefixes (RFC 4271 4.3, RFC 4760 5): a length in bits, then the
//! fewest octets holding that many bits.
//!
//! ```text
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::wire::types::Afi;

/// Why a prefix list could not be parsed (RFC 7606 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NlriError {
    #[error("prefix length {0} exceeds the address family maximum")]
    TooLong(u8),
    #[error("prefix overruns the field")]
    Overrun,
}

/// Parse a whole prefix list of `afi`, appending to `out`. Host bits past the
/// prefix length are cleared.
pub(crate) fn parse_prefixes(
    field: &[u8],
    afi: Afi,
    out: &mut Vec<IpNet>,
) -> Result<(), NlriError> {
    let max = match afi {
        Afi::Ipv4 => 32,
        Afi::Ipv6 => 128,
    };
    let mut rest = field;
    while let Some((&bits, tail)) = rest.split_first() {
        if bits > max {
            return Err(NlriError::TooLong(bits));
        }
        let n = usize::from(bits).div_ceil(8);
        let Some(addr) = tail.get(..n) else {
            return Err(NlriError::Overrun);
        };
        rest = &tail[n..];
        out.push(match afi {
            Afi::Ipv4 => {
                let mut a = [0u8; 4];
                a[..n].copy_from_slice(addr);
                IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(a), bits)
                        .map_err(|_| NlriError::TooLong(bits))?
                        .trunc(),
                )
            }
            Afi::Ipv6 => {
                let mut a = [0u8; 16];
                a[..n].copy_from_slice(addr);
                IpNet::V6(
                    Ipv6Net::new(Ipv6Addr::from(a), bits)
                        .map_err(|_| NlriError::TooLong(bits))?
                        .trunc(),
                )
            }
        });
    }
    Ok(())
}

/// Octets `p` takes on the wire.
pub(crate) fn wire_len(p: &IpNet) -> usize {
    1 + usize::from(p.prefix_len()).div_ceil(8)
}

/// Append `p` in NLRI encoding.
pub(crate) fn put_prefix(p: &IpNet, out: &mut BytesMut) {
    let n = usize::from(p.prefix_len()).div_ceil(8);
    out.put_u8(p.prefix_len());
    match p.trunc() {
        IpNet::V4(v) => out.put_slice(&v.addr().octets()[..n]),
        IpNet::V6(v) => out.put_slice(&v.addr().octets()[..n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_round_trip_and_host_bits_are_cleared() {
        let mut out = Vec::new();
        parse_prefixes(
            &[24, 192, 0, 2, 25, 10, 1, 2, 0xff, 32, 1, 2, 3, 4],
            Afi::Ipv4,
            &mut out,
        )
        .unwrap();
        let want: Vec<IpNet> = ["192.0.2.0/24", "10.1.2.128/25", "1.2.3.4/32", "0.0.0.0/0"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        parse_prefixes(&[0], Afi::Ipv4, &mut out).unwrap();
        assert_eq!(out, want);
        let mut buf = BytesMut::new();
        for p in &want {
            put_prefix(p, &mut buf);
        }
        let mut back = Vec::new();
        parse_prefixes(&buf, Afi::Ipv4, &mut back).unwrap();
        assert_eq!(back, want);
        assert_eq!(buf.len(), want.iter().map(wire_len).sum::<usize>());
    }

    #[test]
    fn too_long_and_overrun_are_errors() {
        let mut out = Vec::new();
        assert_eq!(
            parse_prefixes(&[33, 1, 2, 3, 4, 5], Afi::Ipv4, &mut out),
            Err(NlriError::TooLong(33))
        );
        assert_eq!(
            parse_prefixes(&[129], Afi::Ipv6, &mut out),
            Err(NlriError::TooLong(129))
        );
        assert_eq!(
            parse_prefixes(&[24, 10, 0], Afi::Ipv4, &mut out),
            Err(NlriError::Overrun)
        );
        let mut v6 = Vec::new();
        parse_prefixes(&[32, 0x20, 0x01, 0x0d, 0xb8], Afi::Ipv6, &mut v6).unwrap();
        assert_eq!(v6, vec!["2001:db8::/32".parse::<IpNet>().unwrap()]);
    }
}
