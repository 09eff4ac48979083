//! Which routes an ASPA change can affect: paths through a customer AS
//! whose provider set changed, from members that have ASPA verification on.

use std::collections::BTreeSet;

use ipnet::IpNet;

use super::Rib;
use crate::aspa::{AspaMode, AspaSet};
use crate::rpki::VrpSet;
use crate::wire::Asn;

impl Rib {
    /// The prefixes with a path that must be verified again because the
    /// ASPAs changed from `old` to `new` (empty when they did not).
    pub(super) fn aspa_affected(&self, old: &VrpSet, new: &VrpSet) -> Vec<IpNet> {
        let changed: BTreeSet<Asn> = AspaSet::diff(old.aspas(), new.aspas());
        if changed.is_empty() {
            return Vec::new();
        }
        let out: Vec<IpNet> = self
            .table
            .iter()
            .filter(|(_, paths)| {
                paths.iter().any(|p| {
                    self.peers[p.peer as usize].stat.policy.aspa != AspaMode::Off
                        && p.attrs.as_path.all_asns().any(|a| changed.contains(&a))
                })
            })
            .map(|(prefix, _)| prefix)
            .collect();
        tracing::info!(
            customers_changed = changed.len(),
            prefixes = out.len(),
            "ASPA set changed, verifying affected paths again"
        );
        out
    }
}
