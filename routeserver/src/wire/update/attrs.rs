//! Path attribute decoding with RFC 7606 error handling.
//!
//! ```text
//! Path attribute (RFC 4271 4.3):
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+--------------------------------+
//! |  Attr. Flags  |Attr. Type Code| Length (1, or 2 if Extended)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+--------------------------------+
//! |  Value (Length octets)                                          |
//! +-----------------------------------------------------------------+
//! Flags: O(ptional) 0x80, T(ransitive) 0x40, P(artial) 0x20, E(xtended length) 0x10
//!
//! MP_REACH_NLRI (RFC 4760 3)           MP_UNREACH_NLRI (RFC 4760 4)
//! +---------------------------------+  +---------------------------------+
//! | AFI (2) | SAFI (1)              |  | AFI (2) | SAFI (1)              |
//! | Length of Next Hop (1)          |  | Withdrawn Routes (variable)     |
//! | Next Hop (variable)             |  +---------------------------------+
//! | Reserved (1)                    |
//! | NLRI (variable)                 |
//! +---------------------------------+
//! ```
//!
//! FOX sessions are eBGP (RFC 7947 route server), so LOCAL_PREF,
//! ORIGINATOR_ID and CLUSTER_LIST are discarded (RFC 7606 7.5, 7.9, 7.10)
//! and confederation segments in AS_PATH are treat-as-withdraw (7.2).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use ipnet::IpNet;

use super::aspath;
use super::nlri::parse_prefixes;
use crate::wire::buf::{Reader, Src};
use crate::wire::error::*;
use crate::wire::notification::Notification;
use crate::wire::types::*;

/// Attribute flag: optional.
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: partial.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: two-octet length.
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXT_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
    /// OTC, Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
}

/// Optional/Transitive bits each known attribute must carry (RFC 7606 3 c).
fn expected_flags(c: u8) -> Option<u8> {
    use code::*;
    match c {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some(FLAG_TRANSITIVE),
        MED | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI => Some(FLAG_OPTIONAL),
        AGGREGATOR | COMMUNITIES | EXT_COMMUNITIES | AS4_PATH | AS4_AGGREGATOR
        | LARGE_COMMUNITY | OTC => Some(FLAG_OPTIONAL | FLAG_TRANSITIVE),
        _ => None,
    }
}

/// Whether the codec writes attribute `c` itself (so a `RawAttr` with that
/// code is never re-sent).
pub(crate) fn is_managed(c: u8) -> bool {
    expected_flags(c).is_some()
}

/// MP_REACH_NLRI for IPv4/IPv6 unicast.
pub(crate) struct MpReach {
    pub next_hop: NextHop,
    pub prefixes: Vec<IpNet>,
}

/// MP_UNREACH_NLRI; `afi` is `None` for families FOX does not carry.
pub(crate) struct MpUnreach {
    pub afi: Option<Afi>,
    pub prefixes: Vec<IpNet>,
}

/// Everything parsed from the attribute list.
#[derive(Default)]
pub(crate) struct Parsed {
    pub origin: Option<Origin>,
    pub as_path: Option<AsPath>,
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(Asn, Ipv4Addr)>,
    pub communities: Vec<u32>,
    pub ext_communities: Vec<[u8; 8]>,
    pub large_communities: Vec<LargeCommunity>,
    pub otc: Option<Asn>,
    pub unknown: Vec<RawAttr>,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    /// Attributes found (duplicates included).
    pub count: usize,
    /// Reasons to treat the UPDATE as withdraw.
    pub withdraw: Vec<String>,
    /// Attributes discarded, for logs.
    pub discarded: Vec<String>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<(Asn, Ipv4Addr)>,
}

/// Parse the path attribute field.
pub(crate) fn parse_attrs(
    field: &[u8],
    caps: &SessionCaps,
    src: &Src<'_>,
) -> Result<Parsed, Notification> {
    let mut p = Parsed::default();
    let mut seen = [false; 256];
    let mut r = Reader::new(field);
    while !r.is_empty() {
        let start = r.rest();
        // RFC 7606 4: too few octets for an attribute header, or an
        // attribute overrunning the list: treat-as-withdraw, the NLRI field
        // is located with the Total Path Attribute Length.
        let (Some(flags), Some(c)) = (r.u8(), r.u8()) else {
            p.withdraw
                .push("attribute list ends inside an attribute header".into());
            break;
        };
        let len = if flags & FLAG_EXTENDED_LENGTH != 0 {
            r.u16()
        } else {
            r.u8().map(u16::from)
        };
        let Some(len) = len else {
            p.withdraw
                .push("attribute list ends inside an attribute header".into());
            break;
        };
        let Some(value) = r.take(usize::from(len)) else {
            if matches!(c, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                // The MP NLRI cannot be located: RFC 7606 3 (end), session reset.
                return Err(Notification::update_error(
                    UPDATE_MALFORMED_ATTRIBUTE_LIST,
                    Bytes::new(),
                ));
            }
            p.withdraw.push(format!(
                "attribute {c} length {len} overruns the attribute list"
            ));
            break;
        };
        let raw = &start[..start.len() - r.remaining()];
        p.count += 1;
        if std::mem::replace(&mut seen[usize::from(c)], true) {
            if matches!(c, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                // RFC 7606 3 g.
                return Err(Notification::update_error(
                    UPDATE_MALFORMED_ATTRIBUTE_LIST,
                    Bytes::new(),
                ));
            }
            p.discarded
                .push(format!("duplicate attribute {c} discarded"));
            continue;
        }
        p.one(flags, c, value, raw, caps, src)?;
    }
    p.reconcile_as4(caps);
    Ok(p)
}

impl Parsed {
    fn one(
        &mut self,
        flags: u8,
        c: u8,
        v: &[u8],
        raw: &[u8],
        caps: &SessionCaps,
        src: &Src<'_>,
    ) -> Result<(), Notification> {
        use code::*;
        // Attributes an eBGP speaker ignores, whatever their flags or length.
        match c {
            LOCAL_PREF | ORIGINATOR_ID | CLUSTER_LIST => {
                self.discarded
                    .push(format!("attribute {c} from an external peer discarded"));
                return Ok(());
            }
            AS4_PATH | AS4_AGGREGATOR if caps.four_octet_as => {
                // RFC 6793 6: not carried between NEW speakers.
                self.discarded
                    .push(format!("attribute {c} from a 4-octet AS speaker discarded"));
                return Ok(());
            }
            _ => {}
        }
        let flags_ok =
            expected_flags(c).is_none_or(|e| flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) == e);
        if !flags_ok {
            self.withdraw
                .push(format!("attribute {c} has conflicting flags {flags:#04x}"));
            // MP attributes are still parsed so their NLRI can be withdrawn.
            if !matches!(c, MP_REACH_NLRI | MP_UNREACH_NLRI) {
                return Ok(());
            }
        }
        let width = if caps.four_octet_as { 4 } else { 2 };
        match c {
            ORIGIN => match v {
                [0] => self.origin = Some(Origin::Igp),
                [1] => self.origin = Some(Origin::Egp),
                [2] => self.origin = Some(Origin::Incomplete),
                _ => self.withdraw.push(format!("malformed ORIGIN {v:?}")),
            },
            AS_PATH => match aspath::parse(v, width) {
                Ok(path) if aspath::has_confed(&path) => self
                    .withdraw
                    .push("AS_PATH with confederation segments from an external peer".into()),
                Ok(path) => self.as_path = Some(path),
                Err(e) => self.withdraw.push(format!("malformed AS_PATH: {e}")),
            },
            NEXT_HOP => match v {
                &[a, b, c, d] => self.next_hop = Some(Ipv4Addr::new(a, b, c, d)),
                _ => self.withdraw.push(format!("NEXT_HOP length {}", v.len())),
            },
            MED => match v {
                &[a, b, c, d] => self.med = Some(u32::from_be_bytes([a, b, c, d])),
                _ => self
                    .withdraw
                    .push(format!("MULTI_EXIT_DISC length {}", v.len())),
            },
            ATOMIC_AGGREGATE => {
                if v.is_empty() {
                    self.atomic_aggregate = true;
                } else {
                    self.discarded
                        .push(format!("ATOMIC_AGGREGATE length {} discarded", v.len()));
                }
            }
            AGGREGATOR => match aggregator(v, width) {
                Some(a) => self.aggregator = Some(a),
                None => self
                    .discarded
                    .push(format!("AGGREGATOR length {} discarded", v.len())),
            },
            COMMUNITIES => match v.len() {
                n if n > 0 && n % 4 == 0 => {
                    self.communities = v
                        .chunks_exact(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                }
                n => self.withdraw.push(format!("COMMUNITIES length {n}")),
            },
            EXT_COMMUNITIES => match v.len() {
                n if n > 0 && n % 8 == 0 => {
                    self.ext_communities = v
                        .chunks_exact(8)
                        .filter_map(|c| c.try_into().ok())
                        .collect()
                }
                n => self
                    .withdraw
                    .push(format!("EXTENDED COMMUNITIES length {n}")),
            },
            LARGE_COMMUNITY => match v.len() {
                n if n > 0 && n % 12 == 0 => {
                    self.large_communities = v
                        .chunks_exact(12)
                        .map(|c| LargeCommunity {
                            global: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                            local1: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                            local2: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                        })
                        .collect()
                }
                n => self.withdraw.push(format!("LARGE_COMMUNITY length {n}")),
            },
            OTC => match v {
                &[a, b, c, d] => self.otc = Some(u32::from_be_bytes([a, b, c, d])),
                _ => self.withdraw.push(format!("OTC length {}", v.len())),
            },
            AS4_PATH => match aspath::parse(v, 4) {
                // RFC 6793 6: malformed AS4_PATH is attribute discard;
                // confederation segments are dropped.
                Ok(path) if v.len() >= 6 => {
                    if aspath::has_confed(&path) {
                        self.discarded
                            .push("AS4_PATH confederation segments discarded".into());
                    }
                    self.as4_path = Some(aspath::without_confed(&path));
                }
                Ok(_) => self
                    .discarded
                    .push("AS4_PATH shorter than one AS discarded".into()),
                Err(e) => self
                    .discarded
                    .push(format!("malformed AS4_PATH discarded: {e}")),
            },
            AS4_AGGREGATOR => match aggregator(v, 4) {
                Some(a) => self.as4_aggregator = Some(a),
                None => self
                    .discarded
                    .push(format!("AS4_AGGREGATOR length {} discarded", v.len())),
            },
            MP_REACH_NLRI => self.mp_reach = mp_reach(v, raw)?,
            MP_UNREACH_NLRI => self.mp_unreach = Some(mp_unreach(v, raw)?),
            _ if flags & FLAG_OPTIONAL == 0 => {
                // RFC 4271 6.3: unrecognised well-known attribute.
                return Err(Notification::update_error(
                    UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    src.bytes(raw),
                ));
            }
            _ if flags & FLAG_TRANSITIVE != 0 => self.unknown.push(RawAttr {
                flags: flags & !FLAG_EXTENDED_LENGTH,
                code: c,
                data: src.bytes(v),
            }),
            // Unknown optional non-transitive: not kept (RFC 4271 5).
            _ => {}
        }
        Ok(())
    }

    /// RFC 6793 4.2.3, for UPDATEs from a 2-octet speaker.
    fn reconcile_as4(&mut self, caps: &SessionCaps) {
        if caps.four_octet_as {
            return;
        }
        let mut as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();
        match self.aggregator {
            Some((asn, _)) if asn != AS_TRANS => {
                // AGGREGATOR is authoritative: both AS4 attributes ignored.
                if as4_aggregator.is_some() || as4_path.is_some() {
                    self.discarded
                        .push("AS4_PATH/AS4_AGGREGATOR ignored: AGGREGATOR is not AS_TRANS".into());
                }
                as4_path = None;
            }
            Some(_) => {
                if let Some(a) = as4_aggregator {
                    self.aggregator = Some(a);
                }
            }
            None => {}
        }
        if let (Some(path), Some(as4)) = (&self.as_path, &as4_path) {
            self.as_path = Some(aspath::reconcile(path, as4));
        }
    }
}

fn aggregator(v: &[u8], width: usize) -> Option<(Asn, Ipv4Addr)> {
    if v.len() != width + 4 {
        return None;
    }
    let asn = v[..width]
        .iter()
        .fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let ip: [u8; 4] = v[width..].try_into().ok()?;
    Some((asn, Ipv4Addr::from(ip)))
}

fn unicast_afi(afi: u16, safi: u8) -> Option<Afi> {
    match (afi, safi) {
        (1, SAFI_UNICAST) => Some(Afi::Ipv4),
        (2, SAFI_UNICAST) => Some(Afi::Ipv6),
        _ => None,
    }
}

/// RFC 4760 3 with RFC 7606 7.11: a next hop length other than expected
/// makes the NLRI impossible to locate, so it is a session reset.
fn mp_reach(v: &[u8], raw: &[u8]) -> Result<Option<MpReach>, Notification> {
    let err = || Notification::update_error(UPDATE_OPTIONAL_ATTRIBUTE_ERROR, raw.to_vec());
    let mut r = Reader::new(v);
    let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(err());
    };
    let nh = r.take(usize::from(nh_len)).ok_or_else(err)?;
    r.u8().ok_or_else(err)?; // Reserved
    let Some(family) = unicast_afi(afi, safi) else {
        // Only unicast is carried; other families are ignored.
        return Ok(None);
    };
    let v6 = |s: &[u8]| -> Ipv6Addr {
        <[u8; 16]>::try_from(s)
            .map(Ipv6Addr::from)
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    };
    let next_hop = match (family, nh.len()) {
        (Afi::Ipv4, 4) => NextHop::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])),
        // RFC 2545 (IPv6) and RFC 8950 (IPv4 NLRI over an IPv6 next hop).
        (_, 16) => NextHop::V6 {
            global: v6(nh),
            link_local: None,
        },
        (_, 32) => NextHop::V6 {
            global: v6(&nh[..16]),
            link_local: Some(v6(&nh[16..])),
        },
        _ => return Err(err()),
    };
    let mut prefixes = Vec::new();
    parse_prefixes(r.rest(), family, &mut prefixes)
        .map_err(|_| Notification::update_error(UPDATE_INVALID_NETWORK_FIELD, Bytes::new()))?;
    Ok(Some(MpReach { next_hop, prefixes }))
}

fn mp_unreach(v: &[u8], raw: &[u8]) -> Result<MpUnreach, Notification> {
    let mut r = Reader::new(v);
    let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
        return Err(Notification::update_error(
            UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
            raw.to_vec(),
        ));
    };
    let afi = unicast_afi(afi, safi);
    let mut prefixes = Vec::new();
    if let Some(family) = afi {
        parse_prefixes(r.rest(), family, &mut prefixes)
            .map_err(|_| Notification::update_error(UPDATE_INVALID_NETWORK_FIELD, Bytes::new()))?;
    }
    Ok(MpUnreach { afi, prefixes })
}
