//! UPDATE message (RFC 4271 4.3, RFC 4760, RFC 7606): decode, and encode
//! announcements, withdrawals and End-of-RIB markers.

mod aspath;
pub mod attrs;
mod encode;
mod nlri;

pub(crate) use encode::encode_update;
pub use encode::{encode_announcements, encode_end_of_rib, encode_withdrawals};

use std::net::Ipv4Addr;

use bytes::Bytes;

use crate::wire::buf::{Reader, Src};
use crate::wire::error::*;
use crate::wire::notification::Notification;
use crate::wire::types::*;
use attrs::{code, parse_attrs};
use nlri::parse_prefixes;

/// UPDATE message body (RFC 4271 4.3), after the 19-octet header:
///
/// ```text
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// ```
///
/// Decoded into [`Update`]. Errors that RFC 7606 lets the session survive
/// (treat-as-withdraw, attribute discard) are reported in `Update::errors`;
/// the others return the NOTIFICATION to send.
pub(crate) fn decode_update(
    body: &[u8],
    caps: &SessionCaps,
    src: &Src<'_>,
) -> Result<Update, Notification> {
    let malformed = || Notification::update_error(UPDATE_MALFORMED_ATTRIBUTE_LIST, Bytes::new());
    let invalid_network =
        |_| Notification::update_error(UPDATE_INVALID_NETWORK_FIELD, Bytes::new());
    let mut r = Reader::new(body);
    // RFC 4271 6.3: lengths that overrun the message are Malformed Attribute List.
    let wlen = r.u16().ok_or_else(malformed)?;
    let withdrawn_field = r.take(usize::from(wlen)).ok_or_else(malformed)?;
    let alen = r.u16().ok_or_else(malformed)?;
    let attr_field = r.take(usize::from(alen)).ok_or_else(malformed)?;
    let nlri_field = r.rest();

    let mut upd = Update::default();
    // RFC 7606 5.3: a syntactically incorrect Withdrawn Routes or NLRI field
    // is a session reset.
    parse_prefixes(withdrawn_field, Afi::Ipv4, &mut upd.withdrawn).map_err(invalid_network)?;
    let mut nlri = Vec::new();
    parse_prefixes(nlri_field, Afi::Ipv4, &mut nlri).map_err(invalid_network)?;
    if withdrawn_field.is_empty() && attr_field.is_empty() && nlri_field.is_empty() {
        upd.end_of_rib = Some(Afi::Ipv4); // RFC 4724 2
        return Ok(upd);
    }

    let mut p = parse_attrs(attr_field, caps, src)?;
    if let Some(un) = p.mp_unreach.take() {
        if p.count == 1
            && withdrawn_field.is_empty()
            && nlri_field.is_empty()
            && un.prefixes.is_empty()
        {
            upd.end_of_rib = un.afi;
        }
        upd.withdrawn.extend(un.prefixes);
    }
    let mp = p.mp_reach.take();
    let has_nlri = !nlri.is_empty() || mp.as_ref().is_some_and(|m| !m.prefixes.is_empty());
    if has_nlri && p.withdraw.is_empty() {
        // RFC 7606 3 b: missing well-known mandatory attributes (NEXT_HOP only
        // for the NLRI field, RFC 4760 3).
        if p.origin.is_none() {
            p.withdraw
                .push(format!("missing ORIGIN (attribute {})", code::ORIGIN));
        }
        if p.as_path.is_none() {
            p.withdraw
                .push(format!("missing AS_PATH (attribute {})", code::AS_PATH));
        }
        if !nlri.is_empty() && p.next_hop.is_none() {
            p.withdraw
                .push(format!("missing NEXT_HOP (attribute {})", code::NEXT_HOP));
        }
    }
    upd.errors = p
        .withdraw
        .iter()
        .map(|w| format!("treat-as-withdraw: {w}"))
        .collect();
    upd.errors.append(&mut p.discarded);
    if !p.withdraw.is_empty() {
        // RFC 7606 2: every NLRI of the UPDATE is withdrawn.
        upd.withdrawn.extend(nlri);
        if let Some(m) = mp {
            upd.withdrawn.extend(m.prefixes);
        }
        return Ok(upd);
    }
    if !has_nlri {
        return Ok(upd);
    }
    let base = PathAttrs {
        origin: p.origin.unwrap_or(Origin::Incomplete),
        as_path: p.as_path.take().unwrap_or_default(),
        next_hop: NextHop::V4(Ipv4Addr::UNSPECIFIED),
        med: p.med,
        local_pref: None,
        atomic_aggregate: p.atomic_aggregate,
        aggregator: p.aggregator,
        communities: std::mem::take(&mut p.communities),
        ext_communities: std::mem::take(&mut p.ext_communities),
        large_communities: std::mem::take(&mut p.large_communities),
        otc: p.otc,
        unknown: std::mem::take(&mut p.unknown),
    };
    match (nlri.is_empty(), mp) {
        (false, Some(m)) if !m.prefixes.is_empty() => {
            let v4 = PathAttrs {
                next_hop: NextHop::V4(p.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                ..base.clone()
            };
            upd.announced.push((v4, nlri));
            upd.announced.push((
                PathAttrs {
                    next_hop: m.next_hop,
                    ..base
                },
                m.prefixes,
            ));
        }
        (false, _) => {
            let v4 = PathAttrs {
                next_hop: NextHop::V4(p.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                ..base
            };
            upd.announced.push((v4, nlri));
        }
        (true, Some(m)) => upd.announced.push((
            PathAttrs {
                next_hop: m.next_hop,
                ..base
            },
            m.prefixes,
        )),
        (true, None) => {}
    }
    Ok(upd)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
