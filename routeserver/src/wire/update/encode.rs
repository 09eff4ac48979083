//! UPDATE encoding: announcements, withdrawals and End-of-RIB, split into as
//! many messages as the session's maximum message length needs.

use bytes::{BufMut, BytesMut};
use ipnet::IpNet;

use super::aspath;
use super::attrs::{
    code, is_managed, FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL, FLAG_PARTIAL, FLAG_TRANSITIVE,
};
use super::nlri::{put_prefix, wire_len};
use crate::wire::header::{self, HEADER_LEN, MSG_UPDATE};
use crate::wire::types::*;

/// Append one attribute, with a two-octet length when the value needs it.
fn put_attr(out: &mut BytesMut, flags: u8, c: u8, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX))];
    if value.len() > 255 {
        out.put_u8(flags | FLAG_EXTENDED_LENGTH);
        out.put_u8(c);
        out.put_u16(value.len() as u16);
    } else {
        out.put_u8(flags & !FLAG_EXTENDED_LENGTH);
        out.put_u8(c);
        out.put_u8(value.len() as u8);
    }
    out.put_slice(value);
}

/// Encodes the path attributes except MP_REACH_NLRI, in ascending type
/// order, unknown optional transitive attributes merged in with the Partial
/// bit set. LOCAL_PREF is never written (eBGP).
fn attr_block(
    attrs: &PathAttrs,
    caps: &SessionCaps,
    next_hop: Option<std::net::Ipv4Addr>,
) -> BytesMut {
    let mut out = BytesMut::with_capacity(64);
    let mut unknown: Vec<&RawAttr> = attrs
        .unknown
        .iter()
        .filter(|a| {
            a.flags & FLAG_OPTIONAL != 0 && a.flags & FLAG_TRANSITIVE != 0 && !is_managed(a.code)
        })
        .collect();
    unknown.sort_by_key(|a| a.code);
    let mut next_unknown = 0;
    let mut known = |out: &mut BytesMut, flags: u8, c: u8, value: &[u8]| {
        while let Some(u) = unknown.get(next_unknown).filter(|u| u.code < c) {
            put_attr(out, u.flags | FLAG_PARTIAL, u.code, &u.data);
            next_unknown += 1;
        }
        put_attr(out, flags, c, value);
    };
    let width = if caps.four_octet_as { 4 } else { 2 };
    known(
        &mut out,
        FLAG_TRANSITIVE,
        code::ORIGIN,
        &[attrs.origin as u8],
    );
    let mut path = BytesMut::new();
    aspath::put(&attrs.as_path, width, &mut path);
    known(&mut out, FLAG_TRANSITIVE, code::AS_PATH, &path);
    if let Some(nh) = next_hop {
        known(&mut out, FLAG_TRANSITIVE, code::NEXT_HOP, &nh.octets());
    }
    if let Some(med) = attrs.med {
        known(&mut out, FLAG_OPTIONAL, code::MED, &med.to_be_bytes());
    }
    if attrs.atomic_aggregate {
        known(&mut out, FLAG_TRANSITIVE, code::ATOMIC_AGGREGATE, &[]);
    }
    if let Some((asn, ip)) = attrs.aggregator {
        let mut v = Vec::with_capacity(8);
        if caps.four_octet_as {
            v.extend_from_slice(&asn.to_be_bytes());
        } else {
            v.extend_from_slice(&u16::try_from(asn).unwrap_or(AS_TRANS as u16).to_be_bytes());
        }
        v.extend_from_slice(&ip.octets());
        known(
            &mut out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            code::AGGREGATOR,
            &v,
        );
    }
    if !attrs.communities.is_empty() {
        let v: Vec<u8> = attrs
            .communities
            .iter()
            .flat_map(|c| c.to_be_bytes())
            .collect();
        known(
            &mut out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            code::COMMUNITIES,
            &v,
        );
    }
    if !attrs.ext_communities.is_empty() {
        let v: Vec<u8> = attrs.ext_communities.iter().flatten().copied().collect();
        known(
            &mut out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            code::EXT_COMMUNITIES,
            &v,
        );
    }
    if !caps.four_octet_as {
        // RFC 6793 4.2.2: the real path and aggregator for a 2-octet speaker.
        if aspath::needs_as4(&attrs.as_path) {
            let mut v = BytesMut::new();
            aspath::put(&aspath::without_confed(&attrs.as_path), 4, &mut v);
            known(
                &mut out,
                FLAG_OPTIONAL | FLAG_TRANSITIVE,
                code::AS4_PATH,
                &v,
            );
        }
        if let Some((asn, ip)) = attrs.aggregator.filter(|(a, _)| *a > 0xffff) {
            let mut v = asn.to_be_bytes().to_vec();
            v.extend_from_slice(&ip.octets());
            known(
                &mut out,
                FLAG_OPTIONAL | FLAG_TRANSITIVE,
                code::AS4_AGGREGATOR,
                &v,
            );
        }
    }
    if !attrs.large_communities.is_empty() {
        let v: Vec<u8> = attrs
            .large_communities
            .iter()
            .flat_map(|c| [c.global, c.local1, c.local2])
            .flat_map(u32::to_be_bytes)
            .collect();
        known(
            &mut out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            code::LARGE_COMMUNITY,
            &v,
        );
    }
    if let Some(otc) = attrs.otc {
        known(
            &mut out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            code::OTC,
            &otc.to_be_bytes(),
        );
    }
    for u in &unknown[next_unknown..] {
        put_attr(&mut out, u.flags | FLAG_PARTIAL, u.code, &u.data);
    }
    out
}

/// Splits `prefixes` into runs whose encoding fits in `room` octets; calls
/// `write` per run. Returns the number of runs; stops (with a warning) if a
/// single prefix does not fit.
fn chunked(prefixes: &[&IpNet], room: usize, mut write: impl FnMut(&[&IpNet])) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < prefixes.len() {
        let mut used = 0;
        let mut j = i;
        while let Some(p) = prefixes.get(j) {
            if used + wire_len(p) > room {
                break;
            }
            used += wire_len(p);
            j += 1;
        }
        if j == i {
            tracing::warn!(
                prefixes = prefixes.len() - i,
                room,
                "path attributes too large for one UPDATE; prefixes not sent"
            );
            break;
        }
        write(&prefixes[i..j]);
        count += 1;
        i = j;
    }
    count
}

/// Append as many UPDATE messages as needed (respecting
/// `caps.max_message_len()`) announcing `prefixes` with `attrs`. IPv4
/// prefixes with an IPv4 next hop use NEXT_HOP and the NLRI field; others use
/// MP_REACH_NLRI (IPv6, or IPv4 over an IPv6 next hop per RFC 8950). Prefixes
/// whose family cannot be carried with `attrs.next_hop` are skipped. Towards a
/// 2-octet peer AS_TRANS plus AS4_PATH/AS4_AGGREGATOR are written (RFC 6793).
/// Returns the number of messages written.
pub fn encode_announcements(
    attrs: &PathAttrs,
    prefixes: &[IpNet],
    caps: &SessionCaps,
    out: &mut BytesMut,
) -> usize {
    let max = caps.max_message_len();
    let of = |afi: Afi| -> Vec<&IpNet> { prefixes.iter().filter(|p| Afi::of(p) == afi).collect() };
    match attrs.next_hop {
        NextHop::V4(nh) => {
            let v4 = of(Afi::Ipv4);
            if v4.len() != prefixes.len() {
                tracing::warn!(
                    skipped = prefixes.len() - v4.len(),
                    "IPv6 prefixes with an IPv4 next hop not sent"
                );
            }
            let block = attr_block(attrs, caps, Some(nh));
            let room = max.saturating_sub(HEADER_LEN + 4 + block.len());
            chunked(&v4, room, |run| {
                let start = header::begin(out, MSG_UPDATE);
                out.put_u16(0);
                out.put_u16(block.len() as u16);
                out.put_slice(&block);
                run.iter().for_each(|p| put_prefix(p, out));
                header::finish(out, start);
            })
        }
        NextHop::V6 { global, link_local } => {
            let block = attr_block(attrs, caps, None);
            let nh_len = if link_local.is_some() { 32 } else { 16 };
            let room = max.saturating_sub(HEADER_LEN + 4 + 4 + 5 + nh_len + block.len());
            let mut count = 0;
            for afi in [Afi::Ipv4, Afi::Ipv6] {
                count += chunked(&of(afi), room, |run| {
                    let start = header::begin(out, MSG_UPDATE);
                    out.put_u16(0);
                    let nlri_len: usize = run.iter().map(|p| wire_len(p)).sum();
                    let mp_len = 5 + nh_len + nlri_len;
                    out.put_u16((4 + mp_len + block.len()) as u16);
                    // RFC 7606 5.1: MP_REACH_NLRI first.
                    out.put_u8(FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH);
                    out.put_u8(code::MP_REACH_NLRI);
                    out.put_u16(mp_len as u16);
                    out.put_u16(afi.code());
                    out.put_u8(SAFI_UNICAST);
                    out.put_u8(nh_len as u8);
                    out.put_slice(&global.octets());
                    if let Some(ll) = link_local {
                        out.put_slice(&ll.octets());
                    }
                    out.put_u8(0);
                    run.iter().for_each(|p| put_prefix(p, out));
                    out.put_slice(&block);
                    header::finish(out, start);
                });
            }
            count
        }
    }
}

/// Append as many UPDATE messages as needed withdrawing `prefixes` of `afi`
/// (IPv4 in the Withdrawn Routes field, IPv6 in MP_UNREACH_NLRI); prefixes
/// of the other family are skipped. Returns the number of messages written.
pub fn encode_withdrawals(
    afi: Afi,
    prefixes: &[IpNet],
    caps: &SessionCaps,
    out: &mut BytesMut,
) -> usize {
    let list: Vec<&IpNet> = prefixes.iter().filter(|p| Afi::of(p) == afi).collect();
    let max = caps.max_message_len();
    match afi {
        Afi::Ipv4 => chunked(&list, max.saturating_sub(HEADER_LEN + 4), |run| {
            let start = header::begin(out, MSG_UPDATE);
            out.put_u16(run.iter().map(|p| wire_len(p)).sum::<usize>() as u16);
            run.iter().for_each(|p| put_prefix(p, out));
            out.put_u16(0);
            header::finish(out, start);
        }),
        Afi::Ipv6 => chunked(&list, max.saturating_sub(HEADER_LEN + 4 + 4 + 3), |run| {
            let start = header::begin(out, MSG_UPDATE);
            let len: usize = 3 + run.iter().map(|p| wire_len(p)).sum::<usize>();
            out.put_u16(0);
            out.put_u16((len + 4) as u16);
            out.put_u8(FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH);
            out.put_u8(code::MP_UNREACH_NLRI);
            out.put_u16(len as u16);
            out.put_u16(afi.code());
            out.put_u8(SAFI_UNICAST);
            run.iter().for_each(|p| put_prefix(p, out));
            header::finish(out, start);
        }),
    }
}

/// Append the End-of-RIB marker for `afi` (RFC 4724 2): an empty UPDATE for
/// IPv4, an UPDATE with only an empty MP_UNREACH_NLRI otherwise.
pub fn encode_end_of_rib(afi: Afi, out: &mut BytesMut) {
    let start = header::begin(out, MSG_UPDATE);
    out.put_u16(0);
    match afi {
        Afi::Ipv4 => out.put_u16(0),
        Afi::Ipv6 => {
            out.put_u16(6);
            out.put_u8(FLAG_OPTIONAL);
            out.put_u8(code::MP_UNREACH_NLRI);
            out.put_u8(3);
            out.put_u16(afi.code());
            out.put_u8(SAFI_UNICAST);
        }
    }
    header::finish(out, start);
}

/// Encode a decoded [`Update`]: its withdrawals, announcements and
/// End-of-RIB marker, as as many messages as needed.
pub(crate) fn encode_update(u: &Update, caps: &SessionCaps, out: &mut BytesMut) -> usize {
    let mut n = 0;
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        n += encode_withdrawals(afi, &u.withdrawn, caps, out);
    }
    for (attrs, prefixes) in &u.announced {
        n += encode_announcements(attrs, prefixes, caps, out);
    }
    if let Some(afi) = u.end_of_rib {
        encode_end_of_rib(afi, out);
        n += 1;
    }
    n
}
