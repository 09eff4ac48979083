//! The test table: read a real IPv4 table from MRT, drop the routes whose fate would differ
//! between route servers (so every receiver's expected count is exact), group prefixes by
//! attribute set as real tables pack them, and pre-encode one UPDATE stream per sender.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Context, Result};
use bgpkit_parser::models::{AsPathSegment, ElemType, Origin as MrtOrigin};
use bgpkit_parser::BgpkitParser;
use bytes::BytesMut;
use fox_routeserver::policy::bogons::{is_bogon_asn, Bogons};
use fox_routeserver::rpki::{RpkiState, VrpSet};
use fox_routeserver::wire::{
    encode_announcements, encode_end_of_rib, Afi, AsPath, Asn, LargeCommunity, NextHop, Origin,
    PathAttrs, SessionCaps,
};
use ipnet::{IpNet, Ipv4Net};
use serde::Serialize;

/// The attributes of a route as the table carries them, minus what a sender replaces
/// (next hop) or an eBGP speaker never sends (LOCAL_PREF).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH, one AS_SEQUENCE (routes with other segments are dropped).
    pub path: Vec<Asn>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// RFC 1997 communities.
    pub communities: Vec<u32>,
    /// RFC 8092 large communities.
    pub large: Vec<LargeCommunity>,
    /// ATOMIC_AGGREGATE.
    pub atomic: bool,
    /// AGGREGATOR.
    pub aggregator: Option<(Asn, Ipv4Addr)>,
}

/// Prefixes sharing one attribute set, in the order the table announced them.
#[derive(Clone, Debug)]
pub struct Group {
    /// The shared attributes.
    pub key: RouteKey,
    /// Its prefixes.
    pub prefixes: Vec<Ipv4Net>,
}

/// What cleaning dropped, by reason (a route is counted under its first reason).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Dropped {
    /// IPv6 routes (the bench is IPv4).
    pub ipv6: usize,
    /// AS_SET or confederation segments in AS_PATH.
    pub as_set: usize,
    /// A bogon ASN (0, AS_TRANS, private, documentation, reserved) anywhere in the path.
    pub bogon_asn: usize,
    /// Path longer than 32 after the sender's ASN is prepended.
    pub path_too_long: usize,
    /// Prefix length outside 8..=24.
    pub prefix_length: usize,
    /// Bogon prefix or the peering LAN.
    pub bogon_prefix: usize,
    /// Well-known or route-server control communities (change what a route server exports).
    pub control_community: usize,
    /// A transit-free ASN in the path (only with `drop_transit_free`).
    pub transit_free: usize,
    /// A participant's own ASN in the path (loop prevention could drop it).
    pub participant_asn: usize,
    /// RPKI-invalid origin against the VRP set (only with `vrps`); a route with an empty
    /// AS_PATH counts here too, as its origin would be the sender's own ASN.
    pub rpki_invalid: usize,
}

/// Which routes to keep.
#[derive(Clone, Debug)]
pub struct CleanRules {
    /// The route server's ASN (its control communities are dropped).
    pub rs_asn: Asn,
    /// ASNs of every bench participant (senders, receivers).
    pub participants: Vec<Asn>,
    /// Also drop routes through transit-free networks (FOX `policy.transit_free: true`).
    pub drop_transit_free: bool,
    /// The peering LAN (never accepted from members).
    pub peering_lan: Ipv4Net,
    /// The route servers' VRP set: RPKI-invalid routes are dropped (they reject them).
    pub vrps: Option<VrpSet>,
}

/// Transit-free ASNs of FOX's default policy.
pub const TRANSIT_FREE: [Asn; 14] = [
    174, 701, 1299, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
];

/// The cleaned table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Attribute groups, in the order of their first announcement.
    pub groups: Vec<Group>,
    /// Routes read (final table state: announcements minus withdrawals).
    pub routes_read: usize,
    /// Routes dropped, by reason.
    pub dropped: Dropped,
}

impl Table {
    /// Number of prefixes kept.
    pub fn prefixes(&self) -> usize {
        self.groups.iter().map(|g| g.prefixes.len()).sum()
    }
}

fn open_mrt(path: &Path) -> Result<Box<dyn Read + Send>> {
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let r = BufReader::new(f);
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    })
}

/// The final state of the table in an MRT file (BGP4MP updates or TABLE_DUMP_V2; for a RIB
/// with many peers, the first peer's route per prefix wins), IPv4 only.
fn read_routes(path: &Path, dropped: &mut Dropped) -> Result<Vec<(Ipv4Net, (RouteKey, bool))>> {
    let mut order: Vec<Ipv4Net> = Vec::new();
    let mut state: HashMap<Ipv4Net, Option<(RouteKey, bool)>> = HashMap::new();
    let mut seen_v6 = std::collections::HashSet::new();
    for elem in BgpkitParser::from_reader(open_mrt(path)?).into_elem_iter() {
        let IpNet::V4(prefix) = elem.prefix.prefix else {
            seen_v6.insert(elem.prefix.prefix);
            continue;
        };
        let prefix = prefix.trunc();
        if elem.elem_type == ElemType::WITHDRAW {
            if let Some(v) = state.get_mut(&prefix) {
                *v = None;
            }
            continue;
        }
        let key = route_key(&elem);
        match state.get_mut(&prefix) {
            Some(v) => *v = Some(key),
            None => {
                order.push(prefix);
                state.insert(prefix, Some(key));
            }
        }
    }
    dropped.ipv6 = seen_v6.len();
    Ok(order
        .into_iter()
        .filter_map(|p| state.remove(&p).flatten().map(|k| (p, k)))
        .collect())
}

/// The route's attributes, and whether its path has AS_SET or confederation segments.
fn route_key(elem: &bgpkit_parser::BgpElem) -> (RouteKey, bool) {
    let mut path = Vec::new();
    let mut only_sequences = true;
    if let Some(p) = &elem.as_path {
        for seg in p.iter_segments() {
            match seg {
                AsPathSegment::AsSequence(v) => path.extend(v.iter().map(|a| u32::from(*a))),
                _ => only_sequences = false,
            }
        }
    }
    let (communities, large) = fox_routeserver::replay::mrt::communities(elem);
    let key = RouteKey {
        origin: match elem.origin {
            Some(MrtOrigin::IGP) => Origin::Igp,
            Some(MrtOrigin::EGP) => Origin::Egp,
            _ => Origin::Incomplete,
        },
        path,
        med: elem.med,
        communities,
        large,
        atomic: elem.atomic,
        aggregator: match (elem.aggr_asn, elem.aggr_ip) {
            (Some(a), Some(ip)) => Some((u32::from(a), ip)),
            _ => None,
        },
    };
    (key, !only_sequences)
}

/// Read and clean the table in `path`; with `limit`, keep only the first `limit` routes
/// (in table order) that pass cleaning.
pub fn load(path: &Path, rules: &CleanRules, limit: Option<usize>) -> Result<Table> {
    let mut table = Table::default();
    let routes = read_routes(path, &mut table.dropped)?;
    table.routes_read = routes.len();
    let bogons = Bogons::default();
    let mut index: HashMap<RouteKey, usize> = HashMap::new();
    let mut kept = 0;
    for (prefix, (key, has_set)) in routes {
        if limit.is_some_and(|n| kept >= n) {
            break;
        }
        let d = &mut table.dropped;
        let reason = if has_set {
            Some(&mut d.as_set)
        } else if key.path.iter().any(|&a| is_bogon_asn(a)) {
            Some(&mut d.bogon_asn)
        } else if key.path.len() + 1 > 32 {
            Some(&mut d.path_too_long)
        } else if !(8..=24).contains(&prefix.prefix_len()) {
            Some(&mut d.prefix_length)
        } else if bogons.is_bogon(&IpNet::V4(prefix))
            || rules.peering_lan.contains(&prefix)
            || prefix.contains(&rules.peering_lan)
        {
            Some(&mut d.bogon_prefix)
        } else if key
            .communities
            .iter()
            .any(|&c| c >> 16 == 0 || c >> 16 == 0xFFFF)
            || key.communities.iter().any(|&c| c >> 16 == rules.rs_asn)
            || key.large.iter().any(|l| l.global == rules.rs_asn)
        {
            Some(&mut d.control_community)
        } else if rules.drop_transit_free && key.path.iter().any(|a| TRANSIT_FREE.contains(a)) {
            Some(&mut d.transit_free)
        } else if key.path.iter().any(|a| rules.participants.contains(a)) {
            Some(&mut d.participant_asn)
        } else if rules
            .vrps
            .as_ref()
            .is_some_and(|v| !rpki_ok(v, prefix, &key.path))
        {
            Some(&mut d.rpki_invalid)
        } else {
            None
        };
        if let Some(r) = reason {
            *r += 1;
            continue;
        }
        let i = *index.entry(key.clone()).or_insert_with(|| {
            table.groups.push(Group {
                key,
                prefixes: Vec::new(),
            });
            table.groups.len() - 1
        });
        table.groups[i].prefixes.push(prefix);
        kept += 1;
    }
    Ok(table)
}

/// Whether a route with `path` (before the sender's prepend) for `prefix` is not RPKI-invalid
/// against `vrps`. An empty path is treated as invalid (the origin would be the sender).
pub fn rpki_ok(vrps: &VrpSet, prefix: Ipv4Net, path: &[Asn]) -> bool {
    match path.last() {
        Some(&origin) => vrps.validate(&IpNet::V4(prefix), Some(origin)) != RpkiState::Invalid,
        None => false,
    }
}

/// How the table is shared among the senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Sender i of P takes every P-th attribute group (its prefixes keep their real packing).
    Stride,
    /// Every sender announces the whole table.
    All,
}

/// One sender's share: the groups it announces.
pub fn share(table: &Table, split: Split, i: usize, p: usize) -> Vec<&Group> {
    table
        .groups
        .iter()
        .enumerate()
        .filter(|(g, _)| split == Split::All || g % p.max(1) == i)
        .map(|(_, g)| g)
        .collect()
}

/// The pre-encoded stream of one sender.
#[derive(Debug, Default)]
pub struct Encoded {
    /// UPDATE messages, End-of-RIB last.
    pub bytes: BytesMut,
    /// Prefixes announced.
    pub prefixes: usize,
    /// Number of UPDATE messages (End-of-RIB included).
    pub messages: usize,
}

/// Encode `groups` as UPDATEs from `asn` (prepended) with next hop `nh`.
pub fn encode(groups: &[&Group], asn: Asn, nh: Ipv4Addr, caps: &SessionCaps) -> Encoded {
    let mut e = Encoded::default();
    let mut nets: Vec<IpNet> = Vec::new();
    for g in groups {
        let mut path = Vec::with_capacity(g.key.path.len() + 1);
        path.push(asn);
        path.extend_from_slice(&g.key.path);
        let attrs = PathAttrs {
            origin: g.key.origin,
            as_path: AsPath::from_sequence(path),
            next_hop: NextHop::V4(nh),
            med: g.key.med,
            local_pref: None,
            atomic_aggregate: g.key.atomic,
            aggregator: g.key.aggregator,
            communities: g.key.communities.clone(),
            ext_communities: Vec::new(),
            large_communities: g.key.large.clone(),
            otc: None,
            unknown: Vec::new(),
        };
        nets.clear();
        nets.extend(g.prefixes.iter().map(|p| IpNet::V4(*p)));
        e.messages += encode_announcements(&attrs, &nets, caps, &mut e.bytes);
        e.prefixes += nets.len();
    }
    encode_end_of_rib(Afi::Ipv4, &mut e.bytes);
    e.messages += 1;
    e
}

/// Histogram of prefixes per attribute group (for the plan report).
pub fn group_sizes(table: &Table) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for g in &table.groups {
        let b = match g.prefixes.len() {
            1 => "1",
            2..=4 => "2-4",
            5..=10 => "5-10",
            11..=100 => "11-100",
            _ => ">100",
        };
        *h.entry(b.to_owned()).or_insert(0) += g.prefixes.len();
    }
    h
}
