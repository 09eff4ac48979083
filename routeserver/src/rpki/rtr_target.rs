//! The `rpki` crate's RTR client pushes payload into a [`CacheTarget`],
//! which keeps the cache's VRPs as an immutable [`VrpSet`] and applies
//! each reset or serial update as a whole (RFC 8210 section 5).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ::rpki::rtr::client::{PayloadError, PayloadTarget, PayloadUpdate};
use ::rpki::rtr::payload::{Action, Payload, Timing};
use ipnet::IpNet;
use tokio::time::Instant;

use super::vrp::{Vrp, VrpSet};
use crate::aspa::AspaSet;

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
    /// ASPA PDUs (RTR version 2): customer and its providers, in order.
    aspas: Vec<(Action, u32, Vec<u32>)>,
    /// An ASPA PDU made no sense: ignore this cache's ASPAs.
    aspa_bad: bool,
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
        if let Payload::Aspa(a) = &payload {
            // A withdrawal in a reset response is a protocol error; seen in
            // practice when cache and client implement different revisions
            // of the ASPA PDU. The VRPs are still good: only this cache's
            // ASPAs are dropped (see `apply`), the session continues.
            if self.reset && action == Action::Withdraw {
                self.aspa_bad = true;
                return Ok(());
            }
            let providers = a.providers.iter().map(|p| p.into_u32()).collect();
            self.aspas.push((action, a.customer.into_u32(), providers));
            return Ok(());
        }
        match to_vrp(&payload) {
            // Router keys are not used.
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

/// Applies ASPA PDUs (draft-ietf-sidrops-8210bis, ASPA PDU): an announce
/// sets the customer's whole provider set, a withdraw removes the customer;
/// withdrawing an absent customer is an error (code 6).
pub(crate) fn apply_aspas(
    base: &VrpSet,
    reset: bool,
    items: &[(Action, u32, Vec<u32>)],
) -> Result<AspaSet, PayloadError> {
    let mut map: BTreeMap<u32, Vec<u32>> = if reset {
        BTreeMap::new()
    } else {
        base.aspas().iter().map(|(c, p)| (c, p.to_vec())).collect()
    };
    for (action, customer, providers) in items {
        match action {
            Action::Announce => {
                map.insert(*customer, providers.clone());
            }
            Action::Withdraw => {
                if map.remove(customer).is_none() {
                    return Err(PayloadError::UnknownWithdraw);
                }
            }
        }
    }
    Ok(AspaSet::from_records(map))
}

impl PayloadTarget for CacheTarget {
    type Update = CacheUpdate;

    fn start(&mut self, reset: bool) -> CacheUpdate {
        CacheUpdate {
            reset,
            items: Vec::new(),
            aspas: Vec::new(),
            aspa_bad: false,
        }
    }

    fn apply(&mut self, update: CacheUpdate, timing: Timing) -> Result<(), PayloadError> {
        // An empty serial delta (StayRTR sends one on every refresh) keeps
        // the same Arc, so the manager can tell nothing changed.
        if update.reset || !update.items.is_empty() || !update.aspas.is_empty() {
            let aspas = match (
                update.aspa_bad,
                apply_aspas(&self.set, update.reset, &update.aspas),
            ) {
                (false, Ok(a)) => a,
                _ => {
                    tracing::warn!("RTR cache sent ASPA PDUs that do not make sense (a different draft revision?); ignoring its ASPAs, keeping its VRPs");
                    AspaSet::new()
                }
            };
            let new: VrpSet = if update.reset {
                // Duplicates in a reset response are harmless: the set dedups.
                update.items.into_iter().map(|(_, v)| v).collect()
            } else {
                apply_delta(&self.set, &update.items)?
            };
            let new = new.with_aspas(aspas);
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
    fn aspa_pdus_replace_and_withdraw_customers() {
        let base = VrpSet::new().with_aspas(AspaSet::from_records([
            (64500, vec![64501]),
            (64510, vec![64511]),
        ]));
        let got = apply_aspas(
            &base,
            false,
            &[
                (Action::Announce, 64500, vec![64502, 64503]),
                (Action::Withdraw, 64510, vec![]),
                (Action::Announce, 64520, vec![64521]),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            AspaSet::from_records([(64500, vec![64502, 64503]), (64520, vec![64521])])
        );
        assert!(matches!(
            apply_aspas(&base, false, &[(Action::Withdraw, 64599, vec![])]),
            Err(PayloadError::UnknownWithdraw)
        ));
        // A reset starts from nothing.
        let got = apply_aspas(&base, true, &[(Action::Announce, 1, vec![2])]).unwrap();
        assert_eq!(got, AspaSet::from_records([(1, vec![2])]));
    }

    #[test]
    fn aspa_payload_goes_into_the_cache_set() {
        use ::rpki::rtr::payload::Aspa;
        use ::rpki::rtr::pdu::ProviderAsns;
        let seen = Arc::new(std::sync::Mutex::new(0usize));
        let s2 = seen.clone();
        let mut t = CacheTarget::new(
            Arc::new(VrpSet::new()),
            Box::new(move |set, _| {
                if let Ok(mut n) = s2.lock() {
                    *n = set.aspas().len();
                }
            }),
        );
        let mut u = t.start(true);
        let providers = ProviderAsns::try_from_iter([64501u32.into(), 64502u32.into()]).unwrap();
        u.push_update(
            Action::Announce,
            Payload::Aspa(Aspa::new(64500u32.into(), providers)),
        )
        .unwrap();
        t.apply(u, Timing::default()).unwrap();
        assert_eq!(t.set.aspas().providers(64500), Some(&[64501, 64502][..]));
        assert_eq!(*seen.lock().unwrap(), 1);
        // A nonsensical ASPA PDU (withdraw in a reset) drops the cache's
        // ASPAs but keeps its VRPs and the session.
        let mut u = t.start(true);
        u.push_update(
            Action::Announce,
            Payload::origin(
                ::rpki::resources::addr::MaxLenPrefix::new(
                    "192.0.2.0/24".parse().unwrap(),
                    Some(24),
                )
                .unwrap(),
                64496u32.into(),
            ),
        )
        .unwrap();
        u.push_update(
            Action::Withdraw,
            Payload::Aspa(Aspa::new(64500u32.into(), ProviderAsns::empty())),
        )
        .unwrap();
        t.apply(u, Timing::default()).unwrap();
        assert_eq!((t.set.len(), t.set.aspas().len()), (1, 0));
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
