//! Read-only questions the admin API asks the RIB, and the answers as JSON
//! views.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::{afi_of, eligible, global_best, select, Path, PeerId, Rib};
use crate::policy::reasons::Reason;
use crate::policy::verdict::RpkiTag;
use crate::wire::{Afi, AsSegment, NextHop, PathAttrs};

/// Which routes of a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Received,
    Accepted,
    Filtered,
    Advertised,
}

/// How a prefix lookup matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchMode {
    Exact,
    Longest,
    MoreSpecific,
}

/// A question for the RIB.
#[derive(Debug)]
pub enum Query {
    Summary,
    Routes {
        peer: PeerId,
        kind: RouteKind,
        filter: RouteFilter,
        offset: usize,
        limit: usize,
    },
    Lookup {
        prefix: IpNet,
        mode: MatchMode,
        limit: usize,
    },
    /// Every path of every member, for an MRT dump.
    Dump,
    /// Filtered paths per neighbour and filter reason code (a full table walk).
    ReasonCounts,
}

/// Narrowing of a route listing.
#[derive(Clone, Debug, Default)]
pub struct RouteFilter {
    pub prefix: Option<IpNet>,
    pub origin: Option<u32>,
    pub community: Option<String>,
    pub reason: Option<u32>,
}

/// The RIB's answer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Summary(Summary),
    Routes(RoutePage),
    Lookup(Vec<PrefixView>),
    /// Every path (not JSON: the API writes it as MRT).
    #[serde(skip)]
    Dump(Vec<super::mrt::DumpPath>),
    /// Filtered paths per neighbour and reason code (a path with two reasons counts in both).
    ReasonCounts(std::collections::BTreeMap<PeerId, std::collections::BTreeMap<u32, usize>>),
}

/// Route counts of one neighbour.
#[derive(Debug, Serialize)]
pub struct PeerCounts {
    pub id: PeerId,
    pub member: String,
    pub asn: u32,
    pub address: IpAddr,
    pub established: bool,
    pub received: AfiCounts,
    pub accepted: AfiCounts,
    pub filtered: AfiCounts,
    pub advertised: AfiCounts,
    pub max_prefix_reached: bool,
    /// Paths from this neighbour by RPKI state ("valid", "invalid", "not-found", "not-checked").
    pub rpki: std::collections::BTreeMap<&'static str, usize>,
}

/// A count per address family.
#[derive(Debug, Serialize)]
pub struct AfiCounts {
    pub ipv4: usize,
    pub ipv6: usize,
}

impl From<[usize; 2]> for AfiCounts {
    fn from(v: [usize; 2]) -> Self {
        AfiCounts {
            ipv4: v[0],
            ipv6: v[1],
        }
    }
}

/// The RIB at a glance.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub prefixes_ipv4: usize,
    pub prefixes_ipv6: usize,
    pub paths: usize,
    pub attribute_sets: usize,
    pub peers: Vec<PeerCounts>,
}

/// A page of routes.
#[derive(Debug, Serialize)]
pub struct RoutePage {
    pub total: usize,
    pub offset: usize,
    pub routes: Vec<RouteView>,
}

/// A filter reason as shown to people and programs.
#[derive(Debug, Serialize)]
pub struct ReasonView {
    pub code: u32,
    pub name: &'static str,
    pub description: &'static str,
    /// The large community that tags it: `RS_ASN:1101:code`.
    pub community: String,
}

/// One path of one prefix.
#[derive(Debug, Serialize)]
pub struct RouteView {
    pub prefix: IpNet,
    pub neighbor: IpAddr,
    pub member: String,
    pub asn: u32,
    pub next_hop: String,
    pub as_path: Vec<u32>,
    pub as_path_text: String,
    pub origin: &'static str,
    pub med: Option<u32>,
    pub communities: Vec<String>,
    pub large_communities: Vec<String>,
    pub ext_communities: Vec<String>,
    pub accepted: bool,
    pub reasons: Vec<ReasonView>,
    pub rpki: &'static str,
    pub irr: &'static str,
    /// ASPA path verification state.
    pub aspa: &'static str,
    pub blackhole: bool,
    pub graceful_shutdown: bool,
    pub stale: bool,
    /// The overall best path for the prefix.
    pub best: bool,
}

/// A prefix with every path and who receives what.
#[derive(Debug, Serialize)]
pub struct PrefixView {
    pub prefix: IpNet,
    pub paths: Vec<RouteView>,
    /// Per established member: which path it receives, or why none.
    pub receivers: Vec<ReceiverView>,
}

/// What one member receives for a prefix.
#[derive(Debug, Serialize)]
pub struct ReceiverView {
    pub member: String,
    pub asn: u32,
    pub neighbor: IpAddr,
    /// Session address of the member whose path it receives.
    pub receives_from: Option<IpAddr>,
    pub best_withheld: Option<String>,
}

fn as_path_text(attrs: &PathAttrs) -> String {
    let mut parts = Vec::new();
    for s in &attrs.as_path.segments {
        match s {
            AsSegment::Sequence(v) => parts.extend(v.iter().map(|a| a.to_string())),
            AsSegment::Set(v) => parts.push(format!(
                "{{{}}}",
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            AsSegment::ConfedSequence(v) => parts.push(format!(
                "({})",
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            AsSegment::ConfedSet(v) => parts.push(format!(
                "[{}]",
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        }
    }
    parts.join(" ")
}

impl Rib {
    /// A JSON view of one path.
    pub fn view(&self, prefix: IpNet, p: &Path, best: bool) -> RouteView {
        let st = &self.peers[p.peer as usize];
        let a = &p.attrs;
        RouteView {
            prefix,
            neighbor: st.stat.address,
            member: st.stat.member.to_string(),
            asn: st.stat.asn,
            next_hop: match a.next_hop {
                NextHop::V4(x) => x.to_string(),
                NextHop::V6 {
                    global,
                    link_local: None,
                } => global.to_string(),
                NextHop::V6 {
                    global,
                    link_local: Some(ll),
                } => format!("{global} ({ll})"),
            },
            as_path: a.as_path.all_asns().collect(),
            as_path_text: as_path_text(a),
            origin: match a.origin {
                crate::wire::Origin::Igp => "igp",
                crate::wire::Origin::Egp => "egp",
                crate::wire::Origin::Incomplete => "incomplete",
            },
            med: a.med,
            communities: a
                .communities
                .iter()
                .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                .collect(),
            large_communities: a
                .large_communities
                .iter()
                .map(|l| format!("{}:{}:{}", l.global, l.local1, l.local2))
                .collect(),
            ext_communities: a
                .ext_communities
                .iter()
                .map(|e| e.iter().map(|b| format!("{b:02x}")).collect::<String>())
                .collect(),
            accepted: p.verdict.accepted(),
            reasons: p
                .verdict
                .reasons
                .iter()
                .map(|r| self.reason_view(r))
                .collect(),
            rpki: p.verdict.rpki.as_str(),
            irr: p.verdict.irr.as_str(),
            aspa: p.verdict.aspa.as_str(),
            blackhole: p.verdict.blackhole,
            graceful_shutdown: p.verdict.gshut,
            stale: p.stale,
            best,
        }
    }

    fn reason_view(&self, r: Reason) -> ReasonView {
        ReasonView {
            code: r.code(),
            name: r.name(),
            description: r.description(),
            community: format!("{}:1101:{}", self.export.rs_asn, r.code()),
        }
    }

    /// Answer one query.
    pub fn answer(&self, q: Query) -> Answer {
        match q {
            Query::Summary => Answer::Summary(self.summary()),
            Query::Routes {
                peer,
                kind,
                filter,
                offset,
                limit,
            } => Answer::Routes(self.routes(peer, kind, &filter, offset, limit)),
            Query::Lookup {
                prefix,
                mode,
                limit,
            } => Answer::Lookup(self.lookup(&prefix, mode, limit)),
            Query::Dump => Answer::Dump(self.dump()),
            Query::ReasonCounts => Answer::ReasonCounts(self.reason_counts()),
        }
    }

    fn dump(&self) -> Vec<super::mrt::DumpPath> {
        self.table
            .iter()
            .flat_map(|(prefix, paths)| {
                paths.iter().map(move |p| {
                    let st = &self.peers[p.peer as usize].stat;
                    super::mrt::DumpPath {
                        prefix,
                        peer_ip: st.address,
                        peer_asn: st.asn,
                        attrs: p.attrs.clone(),
                    }
                })
            })
            .collect()
    }

    fn reason_counts(
        &self,
    ) -> std::collections::BTreeMap<PeerId, std::collections::BTreeMap<u32, usize>> {
        let mut out: std::collections::BTreeMap<PeerId, std::collections::BTreeMap<u32, usize>> =
            Default::default();
        for (_, paths) in self.table.iter() {
            for p in paths.iter() {
                for r in p.verdict.reasons.iter() {
                    *out.entry(p.peer).or_default().entry(r.code()).or_default() += 1;
                }
            }
        }
        out
    }

    fn summary(&self) -> Summary {
        Summary {
            prefixes_ipv4: self.table.len_v4(),
            prefixes_ipv6: self.table.len_v6(),
            paths: self.table.iter().map(|(_, v)| v.len()).sum(),
            attribute_sets: self.interner.len(),
            peers: self
                .peers
                .iter()
                .filter(|st| !st.gone)
                .map(|st| PeerCounts {
                    id: st.stat.id,
                    member: st.stat.member.to_string(),
                    asn: st.stat.asn,
                    address: st.stat.address,
                    established: st.established,
                    received: st.received.into(),
                    accepted: st.accepted.into(),
                    filtered: st.filtered().into(),
                    advertised: st.advertised.into(),
                    max_prefix_reached: st.max_prefix_hit,
                    rpki: [
                        RpkiTag::Valid,
                        RpkiTag::Invalid,
                        RpkiTag::NotFound,
                        RpkiTag::NotChecked,
                    ]
                    .into_iter()
                    .map(|t| (t.as_str(), st.by_rpki[t as usize]))
                    .collect(),
                })
                .collect(),
        }
    }

    fn matches(filter: &RouteFilter, prefix: &IpNet, p: &Path) -> bool {
        if let Some(f) = &filter.prefix {
            if !f.contains(prefix) {
                return false;
            }
        }
        if let Some(o) = filter.origin {
            if p.attrs.as_path.origin_asn() != Some(o) {
                return false;
            }
        }
        if let Some(code) = filter.reason {
            if !p.verdict.reasons.iter().any(|r| r.code() == code) {
                return false;
            }
        }
        if let Some(c) = &filter.community {
            let std = p
                .attrs
                .communities
                .iter()
                .any(|x| format!("{}:{}", x >> 16, x & 0xffff) == *c);
            let large = p
                .attrs
                .large_communities
                .iter()
                .any(|l| format!("{}:{}:{}", l.global, l.local1, l.local2) == *c);
            if !std && !large {
                return false;
            }
        }
        true
    }

    fn routes(
        &self,
        peer: PeerId,
        kind: RouteKind,
        filter: &RouteFilter,
        offset: usize,
        limit: usize,
    ) -> RoutePage {
        let mut hits: Vec<(IpNet, &Path, bool)> = Vec::new();
        let Some(t) = self.peers.get(peer as usize) else {
            return RoutePage {
                total: 0,
                offset,
                routes: vec![],
            };
        };
        for (prefix, paths) in self.table.iter() {
            let g = global_best(paths, &self.peers);
            match kind {
                RouteKind::Advertised => {
                    if !t.established {
                        continue;
                    }
                    if let Some(p) = select(paths, g, &self.peers, t, &self.export, afi_of(&prefix))
                    {
                        if Self::matches(filter, &prefix, p) {
                            hits.push((prefix, p, g.is_some_and(|g| std::ptr::eq(g, p))));
                        }
                    }
                }
                _ => {
                    if let Some(p) = paths.iter().find(|p| p.peer == peer) {
                        let keep = match kind {
                            RouteKind::Accepted => p.verdict.accepted(),
                            RouteKind::Filtered => !p.verdict.accepted(),
                            _ => true,
                        };
                        if keep && Self::matches(filter, &prefix, p) {
                            hits.push((prefix, p, g.is_some_and(|g| std::ptr::eq(g, p))));
                        }
                    }
                }
            }
        }
        hits.sort_by_key(|a| a.0);
        let total = hits.len();
        let routes = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(prefix, p, best)| self.view(prefix, p, best))
            .collect();
        RoutePage {
            total,
            offset,
            routes,
        }
    }

    fn prefix_view(&self, prefix: IpNet, paths: &[Path]) -> PrefixView {
        let g = global_best(paths, &self.peers);
        let afi = afi_of(&prefix);
        // Only sessions that carry the prefix's address family can receive it; a member's
        // IPv6 session is not a receiver of an IPv4 prefix (nor a reason to list it).
        let receivers = self
            .targets
            .iter()
            .filter(|&&t| {
                let ts = &self.peers[t as usize];
                match afi {
                    Afi::Ipv4 => ts.ipv4,
                    Afi::Ipv6 => ts.ipv6,
                }
            })
            .map(|&t| {
                let ts = &self.peers[t as usize];
                let sel = select(paths, g, &self.peers, ts, &self.export, afi);
                let best_withheld = match g {
                    Some(g) if !eligible(g, &self.peers, ts, &self.export, afi) => {
                        Some(if g.peer == t {
                            "its own path".to_string()
                        } else if self.peers[g.peer as usize].stat.asn == ts.stat.asn {
                            "path from its own AS".to_string()
                        } else if g.verdict.blackhole && !ts.stat.blackhole_opt_in {
                            "blackhole route, member did not opt in".to_string()
                        } else {
                            "announcement-control community of the announcing member".to_string()
                        })
                    }
                    _ => None,
                };
                ReceiverView {
                    member: ts.stat.member.to_string(),
                    asn: ts.stat.asn,
                    neighbor: ts.stat.address,
                    receives_from: sel.map(|p| self.peers[p.peer as usize].stat.address),
                    best_withheld,
                }
            })
            .collect();
        PrefixView {
            prefix,
            paths: paths
                .iter()
                .map(|p| self.view(prefix, p, g.is_some_and(|g| std::ptr::eq(g, p))))
                .collect(),
            receivers,
        }
    }

    fn lookup(&self, prefix: &IpNet, mode: MatchMode, limit: usize) -> Vec<PrefixView> {
        match mode {
            MatchMode::Exact => self
                .table
                .get(prefix)
                .map(|paths| vec![self.prefix_view(*prefix, paths)])
                .unwrap_or_default(),
            MatchMode::Longest => self
                .table
                .longest_match(prefix)
                .map(|(p, paths)| vec![self.prefix_view(p, paths)])
                .unwrap_or_default(),
            MatchMode::MoreSpecific => self
                .table
                .more_specifics(prefix)
                .into_iter()
                .take(limit)
                .map(|(p, paths)| self.prefix_view(p, paths))
                .collect(),
        }
    }
}
