//! Configuration reload inside the RIB: neighbours added, removed, or given
//! new import settings, and exchange-wide policy changes. Paths are kept
//! (accepted and filtered), so a new policy is applied to what was received
//! without asking the member again.

use ipnet::IpNet;

use super::out::Dirty;
use super::peers::{PeerState, PeerStatic};
use super::{PeerId, Rib};

impl Rib {
    /// Append a neighbour. Its id must be the next free index; a wrong id
    /// is logged and ignored (ids are indexes into the peer table).
    pub fn add_peer(&mut self, stat: PeerStatic) {
        if stat.id as usize != self.peers.len() {
            tracing::error!(id = stat.id, expected = self.peers.len(), peer = %stat.address, "reload: new neighbour with a wrong id, ignored");
            return;
        }
        tracing::info!(id = stat.id, peer = %stat.address, asn = stat.asn, member = %stat.member, "reload: neighbour added");
        self.peers.push(PeerState::new(stat));
        self.dirty.push(Dirty::default());
    }

    /// Remove a neighbour: withdraw its paths from every member, stop
    /// exporting to it, and mark its slot gone.
    pub fn remove_peer(&mut self, peer: PeerId) {
        let Some(st) = self.peers.get_mut(peer as usize) else {
            return;
        };
        if st.gone {
            return;
        }
        st.gone = true;
        st.established = false;
        st.out = None;
        st.ctl = None;
        st.advertised = [0, 0];
        st.generation += 1;
        tracing::info!(id = peer, peer = %st.stat.address, asn = st.stat.asn, "reload: neighbour removed, withdrawing its routes");
        self.targets.retain(|&t| t != peer);
        self.clear_dirty(peer);
        for prefix in self.prefixes_of(peer) {
            self.change(peer, prefix, None);
        }
        self.flush();
    }

    /// Replace a neighbour's import settings and evaluate its stored paths
    /// again. Returns how many of its paths changed verdict.
    pub fn set_peer(&mut self, stat: PeerStatic) -> usize {
        let peer = stat.id;
        let Some(st) = self.peers.get_mut(peer as usize) else {
            return 0;
        };
        if st.gone || st.stat.address != stat.address {
            tracing::error!(id = peer, peer = %stat.address, "reload: policy for an unknown neighbour, ignored");
            return 0;
        }
        st.stat = stat;
        // The limit may have changed: check it again from scratch.
        st.max_prefix_hit = false;
        let changed = self.reevaluate_peer(peer);
        self.check_max_prefix(peer);
        tracing::info!(
            id = peer,
            routes_changed = changed,
            "reload: neighbour policy applied"
        );
        changed
    }

    /// New peering LANs: every path is evaluated again.
    pub fn set_peering_lans(&mut self, lans: Vec<IpNet>) -> usize {
        self.policy.peering_lans = lans;
        let changed = self.reevaluate(None);
        tracing::info!(
            routes_changed = changed,
            "reload: peering LANs changed, policy applied"
        );
        changed
    }

    /// Run the import policy again on every path of `peer`.
    fn reevaluate_peer(&mut self, peer: PeerId) -> usize {
        let stat = self.peers[peer as usize].stat.clone();
        let mut changed = 0;
        for prefix in self.prefixes_of(peer) {
            let Some(path) = self
                .table
                .get(&prefix)
                .and_then(|ps| ps.iter().find(|p| p.peer == peer))
            else {
                continue;
            };
            let v = self.policy.evaluate(&stat, &prefix, &path.attrs);
            if v != path.verdict {
                let mut p = path.clone();
                p.verdict = v;
                changed += 1;
                self.bmp_verdict_changed(&p, prefix);
                self.change(peer, prefix, Some(p));
            }
        }
        changed
    }
}
