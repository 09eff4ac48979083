//! The RIB side of the BMP export (see [`crate::bmp::feed`]).

use ipnet::IpNet;

use super::{PeerId, Rib};
use crate::bmp::feed::BmpEvent;

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
        if peers.is_empty() {
            return;
        }
        for (prefix, paths) in self.table.iter() {
            for p in paths.iter().filter(|p| peers.contains(&p.peer)) {
                feed.replay_path(i, p.peer, &p.attrs, prefix, p.verdict.accepted());
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
