//! What the RIB knows about each neighbour session.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{OutQueue, PeerCtl, PeerId};
use crate::irr::MemberIrr;
use crate::policy::verdict::Verdict;
use crate::policy::PeerPolicy;
use crate::wire::Asn;

/// A neighbour as configured. A reload may replace it (policy changes, see
/// [`super::RibMsg::SetPeer`]); session changes give a new peer instead.
#[derive(Clone, Debug)]
pub struct PeerStatic {
    pub id: PeerId,
    pub member: Arc<str>,
    pub asn: Asn,
    pub address: IpAddr,
    pub max_prefix_v4: Option<u32>,
    pub max_prefix_v6: Option<u32>,
    /// Close the session at the limit (else only warn).
    pub max_prefix_enforce: bool,
    pub blackhole_opt_in: bool,
    pub policy: Arc<PeerPolicy>,
    /// The member's IRR origins and prefixes (shared by its sessions).
    pub irr: Option<Arc<MemberIrr>>,
}

/// A neighbour's state as the RIB sees it.
#[derive(Debug)]
pub struct PeerState {
    pub stat: PeerStatic,
    pub established: bool,
    pub router_id: u32,
    pub ipv4: bool,
    pub ipv6: bool,
    pub out: Option<OutQueue>,
    pub ctl: Option<mpsc::UnboundedSender<PeerCtl>>,
    /// Bumped at every up and down, so late timers for an old session are ignored.
    pub generation: u64,
    /// Paths held from this peer per AFI (index `Afi as usize`): all, and accepted.
    pub received: [usize; 2],
    pub accepted: [usize; 2],
    /// Prefixes this peer is currently sent, per AFI.
    pub advertised: [usize; 2],
    pub max_prefix_hit: bool,
    /// Paths held from this peer, per filter reason (index `Reason as usize`).
    pub by_reason: [usize; 16],
    /// Paths held from this peer, per RPKI state (index `RpkiTag as usize`).
    pub by_rpki: [usize; 4],
    /// Removed from the configuration by a reload: the slot stays (ids are
    /// indexes) but the peer gets and gives no routes.
    pub gone: bool,
}

impl PeerState {
    /// A neighbour that has not come up yet.
    pub fn new(stat: PeerStatic) -> PeerState {
        PeerState {
            stat,
            established: false,
            router_id: 0,
            ipv4: false,
            ipv6: false,
            out: None,
            ctl: None,
            generation: 0,
            received: [0, 0],
            accepted: [0, 0],
            advertised: [0, 0],
            max_prefix_hit: false,
            by_reason: [0; 16],
            by_rpki: [0; 4],
            gone: false,
        }
    }

    /// Count a path's verdict in (`add`) or out of the per-reason and
    /// per-RPKI-state tallies.
    pub fn count_verdict(&mut self, v: &Verdict, add: bool) {
        let bump = |n: &mut usize| {
            if add {
                *n += 1
            } else {
                *n = n.saturating_sub(1)
            }
        };
        for r in v.reasons.iter() {
            bump(&mut self.by_reason[r as usize]);
        }
        bump(&mut self.by_rpki[v.rpki as usize]);
    }

    /// Paths filtered by the import policy, per AFI.
    pub fn filtered(&self) -> [usize; 2] {
        [
            self.received[0] - self.accepted[0],
            self.received[1] - self.accepted[1],
        ]
    }
}
