//! The RIB as an MRT TABLE_DUMP_V2 dump (RFC 6396): every path of every
//! member, filtered ones included, as received, written with
//! bgpkit-parser's RIB encoder. Attributes FOX does not model (unknown
//! ones) are left out of the dump.

use std::net::IpAddr;
use std::sync::Arc;

use bgpkit_parser::encoder::MrtRibEncoder;
use bgpkit_parser::models as bk;
use bytes::Bytes;
use ipnet::IpNet;

use crate::rib::export::{NO_ADVERTISE, NO_EXPORT};
use crate::wire::{AsSegment, Asn, NextHop, Origin, PathAttrs};

/// RFC 1997 NO_EXPORT_SUBCONFED.
const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;

/// One path of the dump: prefix, the member's session address and ASN, attributes.
#[derive(Clone, Debug)]
pub struct DumpPath {
    pub prefix: IpNet,
    pub peer_ip: IpAddr,
    pub peer_asn: Asn,
    pub attrs: Arc<PathAttrs>,
}

fn segment(s: &AsSegment) -> bk::AsPathSegment {
    let asns = |v: &Vec<Asn>| v.iter().map(|&a| bk::Asn::from(a)).collect();
    match s {
        AsSegment::Sequence(v) => bk::AsPathSegment::AsSequence(asns(v)),
        AsSegment::Set(v) => bk::AsPathSegment::AsSet(asns(v)),
        AsSegment::ConfedSequence(v) => bk::AsPathSegment::ConfedSequence(asns(v)),
        AsSegment::ConfedSet(v) => bk::AsPathSegment::ConfedSet(asns(v)),
    }
}

fn community(c: u32) -> bk::Community {
    match c {
        NO_EXPORT => bk::Community::NoExport,
        NO_ADVERTISE => bk::Community::NoAdvertise,
        NO_EXPORT_SUBCONFED => bk::Community::NoExportSubConfed,
        _ => bk::Community::Custom(bk::Asn::from(c >> 16), (c & 0xFFFF) as u16),
    }
}

/// The path as a bgpkit element (an announcement at `timestamp`).
pub fn elem(p: &DumpPath, timestamp: f64) -> bk::BgpElem {
    let a = &p.attrs;
    let mut communities: Vec<bk::MetaCommunity> = a
        .communities
        .iter()
        .map(|&c| bk::MetaCommunity::Plain(community(c)))
        .collect();
    communities.extend(
        a.ext_communities
            .iter()
            .map(|e| bk::MetaCommunity::Extended(bk::ExtendedCommunity::Raw(*e))),
    );
    communities.extend(a.large_communities.iter().map(|l| {
        bk::MetaCommunity::Large(bk::LargeCommunity::new(l.global, [l.local1, l.local2]))
    }));
    let next_hop = match a.next_hop {
        NextHop::V4(v4) => IpAddr::V4(v4),
        NextHop::V6 { global, .. } => IpAddr::V6(global),
    };
    bk::BgpElem {
        timestamp,
        elem_type: bk::ElemType::ANNOUNCE,
        peer_ip: p.peer_ip,
        peer_asn: bk::Asn::from(p.peer_asn),
        prefix: bk::NetworkPrefix::new(p.prefix, None),
        next_hop: Some(next_hop),
        as_path: Some(bk::AsPath::from_segments(
            a.as_path.segments.iter().map(segment).collect::<Vec<_>>(),
        )),
        origin: Some(match a.origin {
            Origin::Igp => bk::Origin::IGP,
            Origin::Egp => bk::Origin::EGP,
            Origin::Incomplete => bk::Origin::INCOMPLETE,
        }),
        local_pref: a.local_pref,
        med: a.med,
        communities: (!communities.is_empty()).then_some(communities),
        atomic: a.atomic_aggregate,
        aggr_asn: a.aggregator.map(|(asn, _)| bk::Asn::from(asn)),
        aggr_ip: a.aggregator.map(|(_, ip)| ip),
        only_to_customer: a.otc.map(bk::Asn::from),
        ..bk::BgpElem::default()
    }
}

/// Encode `paths` as one TABLE_DUMP_V2 dump (PEER_INDEX_TABLE, then one
/// RIB record per prefix) stamped `timestamp` (UNIX seconds).
pub fn dump(paths: &[DumpPath], timestamp: f64) -> Result<Bytes, String> {
    let mut enc = MrtRibEncoder::new();
    for p in paths {
        enc.process_elem(&elem(p, timestamp))
            .map_err(|e| format!("MRT encoding: {e:?}"))?;
    }
    enc.export_bytes()
        .map_err(|e| format!("MRT encoding: {e:?}"))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bgpkit_parser::BgpkitParser;

    use super::*;
    use crate::wire::{AsPath, LargeCommunity};

    fn path(prefix: &str, host: u8, asn: Asn, path: Vec<Asn>, otc: Option<Asn>) -> DumpPath {
        let ip = Ipv4Addr::new(192, 0, 2, host);
        DumpPath {
            prefix: prefix.parse().unwrap(),
            peer_ip: IpAddr::V4(ip),
            peer_asn: asn,
            attrs: Arc::new(PathAttrs {
                origin: Origin::Igp,
                as_path: AsPath::from_sequence(path),
                next_hop: NextHop::V4(ip),
                med: Some(7),
                local_pref: None,
                atomic_aggregate: false,
                aggregator: None,
                communities: vec![(asn << 16) | 100, NO_EXPORT],
                ext_communities: vec![],
                large_communities: vec![LargeCommunity {
                    global: asn,
                    local1: 1,
                    local2: 2,
                }],
                otc,
                unknown: vec![],
            }),
        }
    }

    /// Prefix, peer, peer ASN, AS path, OTC, number of communities.
    type Seen = (IpNet, IpAddr, u32, Vec<u32>, Option<u32>, usize);

    #[test]
    fn dump_reads_back_with_bgpkit() {
        let paths = vec![
            path("140.128.0.0/16", 11, 1659, vec![1659], None),
            path("140.128.0.0/16", 12, 7539, vec![7539, 1659], Some(17716)),
            path("2001:db8::/32", 11, 1659, vec![1659, 4_200_000_001], None),
        ];
        let bytes = dump(&paths, 1_700_000_000.0).unwrap();
        let mut got: Vec<Seen> = BgpkitParser::from_reader(std::io::Cursor::new(bytes.to_vec()))
            .into_elem_iter()
            .map(|e| {
                (
                    e.prefix.prefix,
                    e.peer_ip,
                    e.peer_asn.to_u32(),
                    e.as_path
                        .as_ref()
                        .and_then(|p| p.to_u32_vec_opt(false))
                        .unwrap_or_default(),
                    e.only_to_customer.map(|a| a.to_u32()),
                    e.communities.as_ref().map_or(0, |c| c.len()),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<_> = paths
            .iter()
            .map(|p| {
                (
                    p.prefix,
                    p.peer_ip,
                    p.peer_asn,
                    p.attrs.as_path.all_asns().collect::<Vec<_>>(),
                    p.attrs.otc,
                    3,
                )
            })
            .collect();
        want.sort();
        assert_eq!(got, want);
    }
}
