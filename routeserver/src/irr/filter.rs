//! One member's IRR lists and the check the import policy applies to each route.
//!
//! Semantics follow arouteserver with bgpq4 (`enforce_origin_in_as_set`,
//! `enforce_prefix_in_as_set`): the origin list is the member's as-set
//! expanded to AS numbers, and the prefix list is every route/route6 object
//! whose origin is any of those AS numbers. The two checks are independent:
//! a route passes when its origin is in the as-set and its prefix is in the
//! prefix list, even if the route object for that prefix names another AS of
//! the same as-set. Pairing prefix and origin is RPKI's job, not this one's.

use std::collections::HashSet;

use ipnet::IpNet;

use super::db::IrrDb;
use super::error::{IrrError, IrrWarning};
use super::prefix_list::PrefixList;
use crate::wire::Asn;

/// How a route's prefix must match the member's prefix list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrrMatch {
    /// Only prefixes with a route object of exactly that prefix.
    Exact,
    /// Also more-specifics of a route object, up to these lengths (bgpq4 `-R`,
    /// arouteserver `allow_longer_prefixes`). An exact match is always allowed,
    /// even for a route object longer than the limit.
    MoreSpecifics { max_len_v4: u8, max_len_v6: u8 },
}

/// The outcome of the two IRR checks for one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrrVerdict {
    /// The route's origin AS is in the member's as-set (Euro-IX reason 9 when false).
    pub origin_ok: bool,
    /// The prefix is covered by the member's route objects (Euro-IX reason 12 when false).
    pub prefix_ok: bool,
}

impl IrrVerdict {
    /// Both checks passed.
    pub fn accepted(&self) -> bool {
        self.origin_ok && self.prefix_ok
    }
}

/// The origin ASNs and prefixes a member may announce according to the IRR.
#[derive(Debug, Clone, Default)]
pub struct MemberIrr {
    /// The member's as-set expanded to AS numbers (or its own ASN alone).
    pub origins: HashSet<Asn>,
    /// Route objects of all those AS numbers.
    pub prefixes: PrefixList,
}

impl MemberIrr {
    /// Builds the lists for a member from its as-set, or from its ASN when it has none.
    ///
    /// As with bgpq4, the member's own ASN is not added to a given as-set's
    /// expansion: a member whose as-set omits its ASN gets its own routes filtered.
    pub fn build(
        db: &IrrDb,
        asn: Asn,
        as_set: Option<&str>,
    ) -> Result<(MemberIrr, Vec<IrrWarning>), IrrError> {
        let (origins, warnings): (HashSet<Asn>, Vec<IrrWarning>) = match as_set {
            Some(name) => {
                let expansion = db.expand(name, super::db::MAX_AS_SET_DEPTH)?;
                (expansion.asns.into_iter().collect(), expansion.warnings)
            }
            None => (HashSet::from([asn]), Vec::new()),
        };
        let prefixes = db.routes_for_origins(&origins);
        tracing::debug!(
            asn,
            as_set = as_set.unwrap_or(""),
            origins = origins.len(),
            prefixes = prefixes.len(),
            "member IRR lists built"
        );
        Ok((MemberIrr { origins, prefixes }, warnings))
    }

    /// Checks a route: origin in the as-set, prefix covered per `mode`.
    ///
    /// `origin` is `None` when the AS path is empty or ends in an AS_SET; such
    /// a route has no single origin and fails the origin check.
    pub fn check(&self, prefix: &IpNet, origin: Option<Asn>, mode: IrrMatch) -> IrrVerdict {
        let origin_ok = origin.is_some_and(|asn| self.origins.contains(&asn));
        let prefix_ok = match mode {
            IrrMatch::Exact => self.prefixes.contains_exact(prefix),
            IrrMatch::MoreSpecifics {
                max_len_v4,
                max_len_v6,
            } => {
                let max_len = match prefix {
                    IpNet::V4(_) => max_len_v4,
                    IpNet::V6(_) => max_len_v6,
                };
                self.prefixes.contains_exact(prefix)
                    || (prefix.prefix_len() <= max_len
                        && self.prefixes.longest_covering(prefix).is_some())
            }
        };
        IrrVerdict {
            origin_ok,
            prefix_ok,
        }
    }
}
