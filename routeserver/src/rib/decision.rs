//! The decision process (RFC 4271 9.1.2) as a route server applies it:
//! every path is external, LOCAL_PREF from members is ignored, and a path
//! tagged GRACEFUL_SHUTDOWN (RFC 8326) is least preferred.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::table::Path;

/// What the decision needs to know about the neighbour a path came from.
pub trait PeerKeys {
    /// BGP identifier and session address of a peer, for the final tie-breaks.
    fn tie_break(&self, peer: u32) -> (u32, IpAddr);
}

/// Compare two candidate paths: `Ordering::Less` means `a` is preferred.
pub fn compare(a: &Path, b: &Path, peers: &impl PeerKeys) -> Ordering {
    // Graceful shutdown: LOCAL_PREF 0 against the default 100.
    a.verdict
        .gshut
        .cmp(&b.verdict.gshut)
        // A stale path (graceful restart) loses to a fresh one.
        .then(a.stale.cmp(&b.stale))
        .then_with(|| {
            a.attrs
                .as_path
                .decision_len()
                .cmp(&b.attrs.as_path.decision_len())
        })
        .then_with(|| (a.attrs.origin as u8).cmp(&(b.attrs.origin as u8)))
        .then_with(|| {
            // MED only between paths from the same neighbouring AS (9.1.2.2 c).
            let (na, nb) = (a.attrs.as_path.first_asn(), b.attrs.as_path.first_asn());
            if na.is_some() && na == nb {
                a.attrs.med.unwrap_or(0).cmp(&b.attrs.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| {
            let (ida, addra) = peers.tie_break(a.peer);
            let (idb, addrb) = peers.tie_break(b.peer);
            ida.cmp(&idb).then(addra.cmp(&addrb))
        })
        .then(a.peer.cmp(&b.peer))
}

/// The best of the paths that `eligible` admits, by a left fold over the
/// comparison (deterministic for a given arrival order even though MED
/// comparison is not transitive across neighbouring ASes).
pub fn best<'a>(
    paths: &'a [Path],
    peers: &impl PeerKeys,
    mut eligible: impl FnMut(&Path) -> bool,
) -> Option<&'a Path> {
    let mut best: Option<&Path> = None;
    for p in paths {
        if !eligible(p) {
            continue;
        }
        best = match best {
            Some(b) if compare(b, p, peers) != Ordering::Greater => Some(b),
            _ => Some(p),
        };
    }
    best
}
