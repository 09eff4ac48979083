//! The RIB side of the BMP export (see [`crate::bmp::feed`]).

use std::sync::Arc;

use ipnet::IpNet;

use super::{global_best, PeerId, Rib};
use crate::bmp::feed::BmpEvent;
use crate::wire::PathAttrs;

impl Rib {
    /// Whether `peer` has an accepted path for `prefix`.
    pub(super) fn accepted_from(&self, peer: PeerId, prefix: &IpNet) -> bool {
        self.table
            .get(prefix)
            .and_then(|ps| ps.iter().find(|p| p.peer == peer))
            .is_some_and(|p| p.verdict.accepted())
    }

    /// A stored path's verdict changes without an UPDATE (VRP/ASPA/IRR
    /// data, a policy reload): post-policy announce or withdrawal when it
    /// enters or leaves the accepted routes. Call before storing `new`.
    pub(super) fn bmp_verdict_changed(&self, new: &super::Path, prefix: IpNet) {
        let Some(feed) = self.bmp.as_ref().filter(|b| b.is_up(new.peer)) else {
            return;
        };
        let was = self.accepted_from(new.peer, &prefix);
        match (was, new.verdict.accepted()) {
            (false, true) => feed.announce(new.peer, true, &new.attrs, &[prefix]),
            (true, false) => feed.withdraw(new.peer, true, &[prefix]),
            _ => {}
        }
    }

    /// The best path for `prefix` (the Loc-RIB entry of a transparent route
    /// server: the best accepted path over all members) when the Loc-RIB is
    /// exported; `None` when it is not.
    #[allow(clippy::type_complexity)]
    pub(super) fn loc_rib_best(&self, prefix: &IpNet) -> Option<Option<(PeerId, Arc<PathAttrs>)>> {
        if !self.bmp.as_ref().is_some_and(|b| b.has_loc_rib()) {
            return None;
        }
        let paths = self.table.get(prefix).map(|p| p.as_slice()).unwrap_or(&[]);
        Some(global_best(paths, &self.peers).map(|p| (p.peer, p.attrs.clone())))
    }

    /// After a change of `prefix`: Loc-RIB Route Monitoring when its best
    /// path changed (another member's path, or new attributes), a Loc-RIB
    /// withdrawal when no accepted path is left.
    pub(super) fn loc_rib_changed(&self, prefix: IpNet, before: Option<(PeerId, Arc<PathAttrs>)>) {
        let Some(after) = self.loc_rib_best(&prefix) else {
            return;
        };
        let same = match (&before, &after) {
            (Some((p0, a0)), Some((p1, a1))) => p0 == p1 && (Arc::ptr_eq(a0, a1) || a0 == a1),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        if let Some(feed) = &self.bmp {
            feed.loc_rib(None, prefix, after.as_ref().map(|(_, a)| a.as_ref()));
        }
    }

    /// Session events and the once-a-second timer of the BMP export.
    pub(super) fn bmp_event(&mut self, ev: BmpEvent) {
        let Some(feed) = self.bmp.as_mut() else {
            return;
        };
        match ev {
            BmpEvent::Up {
                peer,
                local,
                remote,
                opens,
            } => feed.up(peer, local, remote, opens),
            BmpEvent::Down { peer, reason } => feed.down(peer, &reason),
            BmpEvent::Tick => {
                let (resync, stats) = feed.tick();
                for i in resync {
                    self.bmp_replay(i);
                }
                if stats {
                    self.bmp_statistics();
                }
            }
        }
    }

    /// A station asked for a resync: Peer Up for every session, then every
    /// stored path of those sessions, pre-policy and (accepted) post-policy.
    fn bmp_replay(&self, i: usize) {
        let Some(feed) = &self.bmp else {
            return;
        };
        let peers = feed.replay_ups(i);
        tracing::info!(station = i, sessions = peers.len(), "BMP resync");
        if peers.is_empty() && !feed.has_loc_rib() {
            return;
        }
        for (prefix, paths) in self.table.iter() {
            for p in paths.iter().filter(|p| peers.contains(&p.peer)) {
                feed.replay_path(i, p.peer, &p.attrs, prefix, p.verdict.accepted());
            }
            // The Loc-RIB (its Peer Up came with the station's Initiation).
            if feed.has_loc_rib() {
                if let Some(best) = global_best(paths, &self.peers) {
                    feed.loc_rib(Some(i), prefix, Some(&best.attrs));
                }
            }
        }
    }

    /// Statistics Report per up session: routes rejected by the import
    /// policy (currently held), routes in its Adj-RIB-In, accepted routes.
    fn bmp_statistics(&self) {
        let Some(feed) = &self.bmp else {
            return;
        };
        for (id, st) in self.peers.iter().enumerate() {
            let id = id as PeerId;
            if !feed.is_up(id) {
                continue;
            }
            let received: usize = st.received.iter().sum();
            let accepted: usize = st.accepted.iter().sum();
            let rejected = received.saturating_sub(accepted);
            feed.statistics(
                id,
                u32::try_from(rejected).unwrap_or(u32::MAX),
                received as u64,
                accepted as u64,
            );
        }
    }
}
