//! BGP messages built by hand, byte by byte, so a test can send exactly the
//! malformation it is about (the project's encoder would never write them).
//! Layouts per RFC 4271 4 (header, OPEN, UPDATE, NOTIFICATION, KEEPALIVE),
//! RFC 2918 (ROUTE-REFRESH), RFC 4760 (MP_REACH_NLRI) and RFC 6793 (AS4_PATH).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

/// Message type OPEN.
pub const OPEN: u8 = 1;
/// Message type UPDATE.
pub const UPDATE: u8 = 2;
/// Message type NOTIFICATION.
pub const NOTIFICATION: u8 = 3;
/// Message type KEEPALIVE.
pub const KEEPALIVE: u8 = 4;
/// Message type ROUTE-REFRESH (RFC 2918).
pub const ROUTE_REFRESH: u8 = 5;

/// Attribute flag Optional.
pub const OPTIONAL: u8 = 0x80;
/// Attribute flag Transitive.
pub const TRANSITIVE: u8 = 0x40;
/// Attribute flag Partial.
pub const PARTIAL: u8 = 0x20;
/// Attribute flag Extended Length.
pub const EXTENDED: u8 = 0x10;

/// Attribute type ORIGIN.
pub const ORIGIN: u8 = 1;
/// Attribute type AS_PATH.
pub const AS_PATH: u8 = 2;
/// Attribute type NEXT_HOP.
pub const NEXT_HOP: u8 = 3;
/// Attribute type MP_REACH_NLRI (RFC 4760).
pub const MP_REACH_NLRI: u8 = 14;
/// Attribute type AS4_PATH (RFC 6793).
pub const AS4_PATH: u8 = 17;

/// AS_TRANS (RFC 6793).
pub const AS_TRANS: u16 = 23456;

/// A whole message: marker, length (computed), type, body.
pub fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    message_with_len((19 + body.len()) as u16, ty, body)
}

/// A message whose length field says `len`, whatever the body.
pub fn message_with_len(len: u16, ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

/// KEEPALIVE.
pub fn keepalive() -> Vec<u8> {
    message(KEEPALIVE, &[])
}

/// NOTIFICATION with code, subcode and data.
pub fn notification(code: u8, subcode: u8, data: &[u8]) -> Vec<u8> {
    let mut b = vec![code, subcode];
    b.extend_from_slice(data);
    message(NOTIFICATION, &b)
}

/// ROUTE-REFRESH for (AFI, SAFI), subtype 0 (RFC 2918 3).
pub fn route_refresh(afi: u16, safi: u8) -> Vec<u8> {
    let mut b = afi.to_be_bytes().to_vec();
    b.push(0);
    b.push(safi);
    message(ROUTE_REFRESH, &b)
}

/// OPEN with the given fields and raw optional parameters.
pub fn open(version: u8, my_as: u16, hold: u16, id: Ipv4Addr, params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id.octets());
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    message(OPEN, &b)
}

/// One optional parameter (type, one-octet length, value).
pub fn param(ty: u8, value: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, value.len() as u8];
    b.extend_from_slice(value);
    b
}

/// A Capabilities parameter (type 2) holding `caps` as (code, value).
pub fn capabilities(caps: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in caps {
        v.push(*code);
        v.push(value.len() as u8);
        v.extend_from_slice(value);
    }
    param(2, &v)
}

/// One path attribute; a two-octet length when `flags` has Extended Length.
pub fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut b = vec![flags, code];
    if flags & EXTENDED != 0 {
        b.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        b.push(value.len() as u8);
    }
    b.extend_from_slice(value);
    b
}

/// ORIGIN with value `v` (0 IGP, 1 EGP, 2 INCOMPLETE; anything else is undefined).
pub fn origin(v: u8) -> Vec<u8> {
    attr(TRANSITIVE, ORIGIN, &[v])
}

/// AS_PATH of one AS_SEQUENCE with 4-octet ASNs.
pub fn as_path4(asns: &[u32]) -> Vec<u8> {
    attr(TRANSITIVE, AS_PATH, &sequence4(asns))
}

/// AS_PATH of one AS_SEQUENCE with 2-octet ASNs.
pub fn as_path2(asns: &[u16]) -> Vec<u8> {
    let mut v = vec![2, asns.len() as u8];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(TRANSITIVE, AS_PATH, &v)
}

/// AS4_PATH of one AS_SEQUENCE (RFC 6793, optional transitive).
pub fn as4_path(asns: &[u32]) -> Vec<u8> {
    attr(OPTIONAL | TRANSITIVE, AS4_PATH, &sequence4(asns))
}

/// An AS_SEQUENCE segment with 4-octet ASNs.
pub fn sequence4(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, asns.len() as u8];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    v
}

/// NEXT_HOP.
pub fn next_hop(ip: Ipv4Addr) -> Vec<u8> {
    attr(TRANSITIVE, NEXT_HOP, &ip.octets())
}

/// MP_REACH_NLRI for IPv6 unicast with a global next hop.
pub fn mp_reach_v6(nh: Ipv6Addr, prefixes: &[IpNet]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, 16];
    v.extend_from_slice(&nh.octets());
    v.push(0);
    for p in prefixes {
        v.extend_from_slice(&prefix(p));
    }
    attr(OPTIONAL, MP_REACH_NLRI, &v)
}

/// NLRI encoding of a prefix: length in bits, then the fewest octets.
pub fn prefix(p: &IpNet) -> Vec<u8> {
    let n = usize::from(p.prefix_len()).div_ceil(8);
    let mut v = vec![p.prefix_len()];
    match p {
        IpNet::V4(x) => v.extend_from_slice(&x.network().octets()[..n]),
        IpNet::V6(x) => v.extend_from_slice(&x.network().octets()[..n]),
    }
    v
}

/// NLRI field for IPv4 prefixes.
pub fn nlri(prefixes: &[Ipv4Net]) -> Vec<u8> {
    prefixes
        .iter()
        .flat_map(|p| prefix(&IpNet::V4(*p)))
        .collect()
}

/// UPDATE with both length fields computed from the parts.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    update_with_lens(
        withdrawn.len() as u16,
        withdrawn,
        attrs.len() as u16,
        attrs,
        nlri,
    )
}

/// UPDATE whose Withdrawn Routes Length and Total Path Attribute Length
/// fields say `wlen` and `alen`, whatever the parts hold.
pub fn update_with_lens(
    wlen: u16,
    withdrawn: &[u8],
    alen: u16,
    attrs: &[u8],
    nlri: &[u8],
) -> Vec<u8> {
    let mut b = wlen.to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&alen.to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    message(UPDATE, &b)
}

/// A well-formed IPv4 announcement: ORIGIN IGP, AS_PATH (4-octet), NEXT_HOP,
/// then `extra` attributes, for `prefixes`.
pub fn announce_v4(path: &[u32], nh: Ipv4Addr, extra: &[u8], prefixes: &[Ipv4Net]) -> Vec<u8> {
    let mut a = origin(0);
    a.extend(as_path4(path));
    a.extend(next_hop(nh));
    a.extend_from_slice(extra);
    update(&[], &a, &nlri(prefixes))
}

/// The path attributes of an UPDATE message as (flags, code, value), read
/// independently of the project's decoder.
pub fn raw_attrs(msg: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    let Some(body) = msg.get(19..) else {
        return out;
    };
    let Some(&[w0, w1]) = body.get(..2) else {
        return out;
    };
    let wlen = usize::from(u16::from_be_bytes([w0, w1]));
    let Some(&[a0, a1]) = body.get(2 + wlen..4 + wlen) else {
        return out;
    };
    let alen = usize::from(u16::from_be_bytes([a0, a1]));
    let Some(mut rest) = body.get(4 + wlen..4 + wlen + alen) else {
        return out;
    };
    while rest.len() >= 3 {
        let (flags, code) = (rest[0], rest[1]);
        let (len, hdr) = if flags & EXTENDED != 0 {
            match rest.get(2..4) {
                Some(&[h, l]) => (usize::from(u16::from_be_bytes([h, l])), 4),
                _ => break,
            }
        } else {
            (usize::from(rest[2]), 3)
        };
        let Some(value) = rest.get(hdr..hdr + len) else {
            break;
        };
        out.push((flags, code, value.to_vec()));
        rest = &rest[hdr + len..];
    }
    out
}
