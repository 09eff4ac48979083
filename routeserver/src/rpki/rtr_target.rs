//! The `rpki` crate's RTR client pushes payload into a [`CacheTarget`],
//! which keeps the cache's VRPs as an immutable [`VrpSet`] and applies
//! each reset or serial update as a whole (RFC 8210 section 5).

use std::collections::HashMap;
use std::sync::Arc;

use ::rpki::rtr::client::{PayloadError, PayloadTarget, PayloadUpdate};
use ::rpki::rtr::payload::{Action, Payload, Timing};
use ipnet::IpNet;
use tokio::time::Instant;

use super::vrp::{Vrp, VrpSet};

/// Called with every new set a cache delivers.
pub(crate) type OnUpdate = Box<dyn FnMut(&Arc<VrpSet>, Timing) + Send>;

/// Receives RTR payload for one cache.
pub(crate) struct CacheTarget {
    /// The cache's current VRPs (kept across reconnects for serial queries).
    pub(crate) set: Arc<VrpSet>,
    /// Timing from the last End of Data.
    pub(crate) timing: Timing,
    /// When the last update was applied.
    pub(crate) last_update: Option<Instant>,
    /// Updates applied since this target was handed to a client.
    pub(crate) updates: u64,
    on_update: OnUpdate,
}

impl CacheTarget {
    /// A target starting from `set`.
    pub(crate) fn new(set: Arc<VrpSet>, on_update: OnUpdate) -> Self {
        CacheTarget {
            set,
            timing: Timing::default(),
            last_update: None,
            updates: 0,
            on_update,
        }
    }
}

/// One reset or serial response, collected in order.
pub(crate) struct CacheUpdate {
    reset: bool,
    items: Vec<(Action, Vrp)>,
}

/// Converts an RTR route origin to a VRP; `None` if it is malformed.
fn to_vrp(payload: &Payload) -> Option<Result<Vrp, PayloadError>> {
    let origin = payload.to_origin()?;
    let p = origin.prefix;
    let vrp = IpNet::new(p.addr(), p.prefix_len())
        .ok()
        .and_then(|net| Vrp::new(net, p.resolved_max_len(), origin.asn.into_u32()).ok());
    Some(vrp.ok_or(PayloadError::Corrupt))
}

impl PayloadUpdate for CacheUpdate {
    fn push_update(&mut self, action: Action, payload: Payload) -> Result<(), PayloadError> {
        match to_vrp(&payload) {
            // Router keys and ASPAs are not used for origin validation.
            None => Ok(()),
            Some(Err(e)) => Err(e),
            Some(Ok(vrp)) => {
                if self.reset && action == Action::Withdraw {
                    return Err(PayloadError::Corrupt);
                }
                self.items.push((action, vrp));
                Ok(())
            }
        }
    }
}

/// Applies a serial delta to `base`, in order; announcing a present VRP
/// or withdrawing an absent one is an error (RFC 8210 error codes 7, 6).
pub(crate) fn apply_delta(base: &VrpSet, items: &[(Action, Vrp)]) -> Result<VrpSet, PayloadError> {
    let mut overlay: HashMap<Vrp, bool> = HashMap::new();
    for (action, vrp) in items {
        let present = overlay
            .get(vrp)
            .copied()
            .unwrap_or_else(|| base.contains(vrp));
        match (action, present) {
            (Action::Announce, true) => return Err(PayloadError::DuplicateAnnounce),
            (Action::Withdraw, false) => return Err(PayloadError::UnknownWithdraw),
            (Action::Announce, false) => overlay.insert(*vrp, true),
            (Action::Withdraw, true) => overlay.insert(*vrp, false),
        };
    }
    if overlay.is_empty() {
        return Ok(base.clone());
    }
    let kept = base.iter().filter(|v| overlay.get(v) != Some(&false));
    let added = overlay.iter().filter(|(_, p)| **p).map(|(v, _)| *v);
    Ok(kept.chain(added).collect())
}

impl PayloadTarget for CacheTarget {
    type Update = CacheUpdate;

    fn start(&mut self, reset: bool) -> CacheUpdate {
        CacheUpdate {
            reset,
            items: Vec::new(),
        }
    }

    fn apply(&mut self, update: CacheUpdate, timing: Timing) -> Result<(), PayloadError> {
        // An empty serial delta (StayRTR sends one on every refresh) keeps
        // the same Arc, so the manager can tell nothing changed.
        if update.reset || !update.items.is_empty() {
            let new = if update.reset {
                // Duplicates in a reset response are harmless: the set dedups.
                update.items.into_iter().map(|(_, v)| v).collect()
            } else {
                apply_delta(&self.set, &update.items)?
            };
            if *self.set != new {
                self.set = Arc::new(new);
            }
        }
        self.timing = timing;
        self.last_update = Some(Instant::now());
        self.updates += 1;
        (self.on_update)(&self.set, timing);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(p: &str, m: u8, a: u32) -> Vrp {
        Vrp::new(p.parse().unwrap(), m, a).unwrap()
    }

    #[test]
    fn delta_in_order_and_strict() {
        let base: VrpSet = [v("10.0.0.0/8", 8, 1), v("2001:db8::/32", 32, 2)]
            .into_iter()
            .collect();
        let new = apply_delta(
            &base,
            &[
                (Action::Withdraw, v("10.0.0.0/8", 8, 1)),
                (Action::Announce, v("192.0.2.0/24", 24, 3)),
                (Action::Announce, v("10.0.0.0/8", 8, 1)),
                (Action::Withdraw, v("192.0.2.0/24", 24, 3)),
                (Action::Announce, v("198.51.100.0/24", 24, 4)),
            ],
        )
        .unwrap();
        let want: VrpSet = [
            v("10.0.0.0/8", 8, 1),
            v("2001:db8::/32", 32, 2),
            v("198.51.100.0/24", 24, 4),
        ]
        .into_iter()
        .collect();
        assert_eq!(new, want);
        assert!(matches!(
            apply_delta(&base, &[(Action::Announce, v("10.0.0.0/8", 8, 1))]),
            Err(PayloadError::DuplicateAnnounce)
        ));
        assert!(matches!(
            apply_delta(&base, &[(Action::Withdraw, v("10.0.0.0/8", 9, 1))]),
            Err(PayloadError::UnknownWithdraw)
        ));
    }
}
