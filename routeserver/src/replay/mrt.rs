//! Read the routes of an MRT file (TABLE_DUMP_V2 RIB dumps or BGP4MP update
//! files, gzip or bzip2) as the final table one peer (or every peer) left.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::Path;

use bgpkit_parser::models::{
    AsPathSegment, Community, ElemType, MetaCommunity, Origin as MrtOrigin,
};
use bgpkit_parser::BgpkitParser;
use ipnet::IpNet;

use crate::wire::{AsPath, AsSegment, Asn, LargeCommunity, Origin};

/// Why an MRT file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MrtError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
}

/// The attributes of one route as the file carries them (the next hop is
/// replaced by the replaying speaker's own).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MrtAttrs {
    pub origin: Origin,
    pub as_path: AsPath,
    pub med: Option<u32>,
    pub communities: Vec<u32>,
    pub large_communities: Vec<LargeCommunity>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(Asn, std::net::Ipv4Addr)>,
}

/// Which peer's routes of the file to take.
#[derive(Clone, Debug, Default)]
pub enum PeerSelect {
    /// Every peer; for a prefix several peers carry, the first one read wins.
    #[default]
    All,
    /// The peer with this address.
    Address(IpAddr),
    /// The peer with this ASN.
    Asn(Asn),
}

/// What was read.
#[derive(Debug, Default)]
pub struct MrtTable {
    /// Final routes, in the order prefixes first appeared.
    pub routes: Vec<(IpNet, MrtAttrs)>,
    /// Elements read (announcements and withdrawals) from the selected peers.
    pub elements: usize,
    /// Distinct peers seen in the file, with the prefixes each announced.
    pub peers: Vec<(IpAddr, Asn, usize)>,
}

fn open(path: &Path) -> Result<Box<dyn Read + Send>, MrtError> {
    let f = File::open(path).map_err(|e| MrtError::Open {
        path: path.display().to_string(),
        source: e,
    })?;
    let r = BufReader::new(f);
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(r))
    } else if name.ends_with(".bz2") {
        Box::new(bzip2::read::MultiBzDecoder::new(r))
    } else {
        Box::new(r)
    })
}

/// The standard (RFC 1997, as `u32`) and large communities of an MRT element.
pub fn communities(elem: &bgpkit_parser::BgpElem) -> (Vec<u32>, Vec<LargeCommunity>) {
    let mut communities = Vec::new();
    let mut large = Vec::new();
    for c in elem.communities.iter().flatten() {
        match c {
            MetaCommunity::Plain(Community::Custom(asn, v)) => {
                communities.push((u32::from(*asn) << 16) | u32::from(*v))
            }
            MetaCommunity::Plain(Community::NoExport) => communities.push(0xFFFF_FF01),
            MetaCommunity::Plain(Community::NoAdvertise) => communities.push(0xFFFF_FF02),
            MetaCommunity::Plain(Community::NoExportSubConfed) => communities.push(0xFFFF_FF03),
            MetaCommunity::Large(l) => large.push(LargeCommunity {
                global: l.global_admin,
                local1: l.local_data[0],
                local2: l.local_data[1],
            }),
            _ => {}
        }
    }
    (communities, large)
}

fn convert(elem: &bgpkit_parser::BgpElem) -> MrtAttrs {
    let mut segments = Vec::new();
    if let Some(p) = &elem.as_path {
        for seg in p.iter_segments() {
            segments.push(match seg {
                AsPathSegment::AsSequence(v) => {
                    AsSegment::Sequence(v.iter().map(|a| u32::from(*a)).collect())
                }
                AsPathSegment::AsSet(v) => {
                    AsSegment::Set(v.iter().map(|a| u32::from(*a)).collect())
                }
                AsPathSegment::ConfedSequence(v) => {
                    AsSegment::ConfedSequence(v.iter().map(|a| u32::from(*a)).collect())
                }
                AsPathSegment::ConfedSet(v) => {
                    AsSegment::ConfedSet(v.iter().map(|a| u32::from(*a)).collect())
                }
            });
        }
    }
    let (communities, large) = communities(elem);
    MrtAttrs {
        origin: match elem.origin {
            Some(MrtOrigin::IGP) => Origin::Igp,
            Some(MrtOrigin::EGP) => Origin::Egp,
            _ => Origin::Incomplete,
        },
        as_path: AsPath { segments },
        med: elem.med,
        communities,
        large_communities: large,
        atomic_aggregate: elem.atomic,
        aggregator: match (elem.aggr_asn, elem.aggr_ip) {
            (Some(a), Some(ip)) => Some((u32::from(a), ip)),
            _ => None,
        },
    }
}

/// Read `path` and return the table the selected peer(s) left at its end.
pub fn read_table(path: &Path, select: &PeerSelect) -> Result<MrtTable, MrtError> {
    Ok(read_table_from(open(path)?, select))
}

/// The same as [`read_table`] from an uncompressed MRT stream.
pub fn read_table_from(reader: impl Read + Send + 'static, select: &PeerSelect) -> MrtTable {
    let mut order: Vec<IpNet> = Vec::new();
    let mut state: HashMap<IpNet, Option<MrtAttrs>> = HashMap::new();
    let mut peers: HashMap<(IpAddr, Asn), usize> = HashMap::new();
    let mut elements = 0;
    let parser = BgpkitParser::from_reader(reader);
    for elem in parser.into_elem_iter() {
        let peer_asn = u32::from(elem.peer_asn);
        if elem.elem_type == ElemType::ANNOUNCE {
            *peers.entry((elem.peer_ip, peer_asn)).or_default() += 1;
        }
        let wanted = match select {
            PeerSelect::All => true,
            PeerSelect::Address(a) => elem.peer_ip == *a,
            PeerSelect::Asn(a) => peer_asn == *a,
        };
        if !wanted {
            continue;
        }
        elements += 1;
        let prefix = elem.prefix.prefix.trunc();
        if elem.elem_type == ElemType::WITHDRAW {
            if let Some(v) = state.get_mut(&prefix) {
                *v = None;
            }
            continue;
        }
        match state.get_mut(&prefix) {
            Some(v) => {
                if v.is_none() || !matches!(select, PeerSelect::All) {
                    *v = Some(convert(&elem));
                }
            }
            None => {
                order.push(prefix);
                state.insert(prefix, Some(convert(&elem)));
            }
        }
    }
    let routes = order
        .into_iter()
        .filter_map(|p| state.remove(&p).flatten().map(|a| (p, a)))
        .collect();
    let mut peers: Vec<(IpAddr, Asn, usize)> = peers
        .into_iter()
        .map(|((ip, asn), n)| (ip, asn, n))
        .collect();
    peers.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    MrtTable {
        routes,
        elements,
        peers,
    }
}
