//! Prefix tables: for each prefix, the paths every member announced,
//! accepted and filtered alike (the Adj-RIBs-In share one table).
//!
//! Prefixes live in slots of one vector, found through a small per-AFI
//! index (prefix -> slot number). A slot number is a stable 4-byte handle
//! for a prefix, so per-member export state (the dirty sets in
//! [`super::out`]) costs 4 bytes a pending prefix, not a copy of the route.
//! The slot vector grows by `realloc` (large blocks are remapped, not
//! copied), and only the 12-byte index entries are rehashed while the table
//! grows. A slot whose prefix lost its last path stays reserved while a
//! member still has it pending (the RIB calls [`Table::release`] after).

use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::policy::verdict::Verdict;
use crate::wire::PathAttrs;

/// Index of a neighbour session in the RIB's peer table.
pub type PeerId = u32;

/// Stable handle of a prefix in the [`Table`].
pub type SlotId = u32;

/// One member's path for one prefix, as received, with the import verdict.
#[derive(Clone, Debug)]
pub struct Path {
    pub peer: PeerId,
    pub verdict: Verdict,
    /// Kept from a session that went down gracefully (RFC 4724) until the
    /// member re-announces it or its restart time runs out.
    pub stale: bool,
    pub attrs: Arc<PathAttrs>,
}

/// All paths for one prefix, in arrival order per peer (one path per peer).
/// Most prefixes have one path at a route server: it is stored inline.
pub type Paths = SmallVec<[Path; 1]>;

/// A prefix and its paths.
pub struct Slot {
    pub prefix: IpNet,
    pub paths: Paths,
}

/// The prefix table of both address families.
#[derive(Default)]
pub struct Table {
    // FxHash: the keys are prefixes members send, but a member can only
    // slow down lookups of its own prefixes by choosing colliding ones, and
    // SipHash was 16 % of the route server's CPU time (BENCHMARKS.md).
    v4: FxHashMap<Ipv4Net, SlotId>,
    v6: FxHashMap<Ipv6Net, SlotId>,
    slots: Vec<Slot>,
    free: Vec<SlotId>,
    /// Prefixes with at least one path, per AFI.
    live: [usize; 2],
}

fn afi_index(p: &IpNet) -> usize {
    match p {
        IpNet::V4(_) => 0,
        IpNet::V6(_) => 1,
    }
}

impl Table {
    /// The slot of a prefix, if it has one (it may hold no path while a
    /// member still has a withdrawal pending).
    pub fn slot_of(&self, prefix: &IpNet) -> Option<SlotId> {
        match prefix {
            IpNet::V4(p) => self.v4.get(p).copied(),
            IpNet::V6(p) => self.v6.get(p).copied(),
        }
    }

    /// A slot by its handle.
    pub fn slot(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(id as usize)
    }

    /// The paths for a prefix, if any member announces it.
    pub fn get(&self, prefix: &IpNet) -> Option<&Paths> {
        let s = self.slot_of(prefix)?;
        let paths = &self.slots[s as usize].paths;
        (!paths.is_empty()).then_some(paths)
    }

    /// The slot of a prefix, created (empty) if absent. One hash lookup
    /// either way (the index's entry API).
    pub fn entry(&mut self, prefix: &IpNet) -> SlotId {
        let Table {
            v4,
            v6,
            slots,
            free,
            ..
        } = self;
        let mut new_slot = || {
            let slot = Slot {
                prefix: *prefix,
                paths: Paths::new(),
            };
            match free.pop() {
                Some(id) => {
                    slots[id as usize] = slot;
                    id
                }
                None => {
                    slots.push(slot);
                    (slots.len() - 1) as SlotId
                }
            }
        };
        match prefix {
            IpNet::V4(p) => *v4.entry(*p).or_insert_with(&mut new_slot),
            IpNet::V6(p) => *v6.entry(*p).or_insert_with(&mut new_slot),
        }
    }

    /// Change the paths of a slot; keeps the count of prefixes in use.
    pub fn modify<R>(&mut self, id: SlotId, f: impl FnOnce(&mut Paths) -> R) -> R {
        let slot = &mut self.slots[id as usize];
        let was_empty = slot.paths.is_empty();
        let r = f(&mut slot.paths);
        let i = afi_index(&slot.prefix);
        match (was_empty, slot.paths.is_empty()) {
            (true, false) => self.live[i] += 1,
            (false, true) => self.live[i] -= 1,
            _ => {}
        }
        r
    }

    /// Free the slot if it holds no path. The caller makes sure no member
    /// still has the prefix pending.
    pub fn release(&mut self, id: SlotId) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        if !slot.paths.is_empty() {
            return;
        }
        let removed = match slot.prefix {
            IpNet::V4(p) => self.v4.remove(&p),
            IpNet::V6(p) => self.v6.remove(&p),
        };
        if removed == Some(id) {
            // Release the inline/heap storage now, not at reuse.
            slot.paths = Paths::new();
            self.free.push(id);
        }
    }

    /// Every prefix with its paths (IPv4 first).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &Paths)> {
        let v4 = self
            .slots
            .iter()
            .filter(|s| matches!(s.prefix, IpNet::V4(_)) && !s.paths.is_empty());
        let v6 = self
            .slots
            .iter()
            .filter(|s| matches!(s.prefix, IpNet::V6(_)) && !s.paths.is_empty());
        v4.chain(v6).map(|s| (s.prefix, &s.paths))
    }

    /// Every slot holding paths, with its handle, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = (SlotId, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.paths.is_empty())
            .map(|(i, s)| (i as SlotId, s))
    }

    /// Number of prefixes held.
    pub fn len(&self) -> usize {
        self.live[0] + self.live[1]
    }

    /// Number of IPv4 prefixes held.
    pub fn len_v4(&self) -> usize {
        self.live[0]
    }

    /// Number of IPv6 prefixes held.
    pub fn len_v6(&self) -> usize {
        self.live[1]
    }

    /// True when no prefix is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most specific prefix in the table that covers `addr_prefix`
    /// (which may be a host route), with its paths.
    pub fn longest_match(&self, target: &IpNet) -> Option<(IpNet, &Paths)> {
        match target {
            IpNet::V4(t) => (0..=t.prefix_len()).rev().find_map(|len| {
                let p = IpNet::V4(Ipv4Net::new(t.addr(), len).ok()?.trunc());
                self.get(&p).map(|v| (p, v))
            }),
            IpNet::V6(t) => (0..=t.prefix_len()).rev().find_map(|len| {
                let p = IpNet::V6(Ipv6Net::new(t.addr(), len).ok()?.trunc());
                self.get(&p).map(|v| (p, v))
            }),
        }
    }

    /// Prefixes equal to or more specific than `target`.
    pub fn more_specifics<'a>(&'a self, target: &'a IpNet) -> Vec<(IpNet, &'a Paths)> {
        let mut out: Vec<(IpNet, &Paths)> = self
            .slots
            .iter()
            .filter(|s| !s.paths.is_empty() && target.contains(&s.prefix))
            .map(|s| (s.prefix, &s.paths))
            .collect();
        out.sort_by_key(|a| a.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AsPath, NextHop, Origin};

    #[test]
    fn slots_are_reused_only_after_release_and_counts_follow_paths() {
        let mut t = Table::default();
        let a: IpNet = "192.0.2.0/24".parse().unwrap();
        let b: IpNet = "2001:db8::/32".parse().unwrap();
        let sa = t.entry(&a);
        assert_eq!(t.entry(&a), sa, "same prefix, same slot");
        assert!(t.get(&a).is_none(), "an empty slot is not a route");
        let p = Path {
            peer: 0,
            verdict: Verdict::default(),
            stale: false,
            attrs: Arc::new(PathAttrs {
                origin: Origin::Igp,
                as_path: AsPath::from_sequence(vec![64496]),
                next_hop: NextHop::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
                med: None,
                local_pref: None,
                atomic_aggregate: false,
                aggregator: None,
                communities: vec![],
                ext_communities: vec![],
                large_communities: vec![],
                otc: None,
                unknown: vec![],
            }),
        };
        t.modify(sa, |ps| ps.push(p.clone()));
        let sb = t.entry(&b);
        t.modify(sb, |ps| ps.push(p.clone()));
        assert_eq!((t.len_v4(), t.len_v6()), (1, 1));
        t.modify(sa, |ps| ps.clear());
        assert_eq!(t.len(), 1);
        assert_eq!(t.slot_of(&a), Some(sa), "kept until released");
        t.release(sb);
        assert_eq!(t.slot_of(&b), Some(sb), "a slot with paths is not released");
        t.release(sa);
        assert_eq!(t.slot_of(&a), None);
        let c: IpNet = "198.51.100.0/24".parse().unwrap();
        assert_eq!(t.entry(&c), sa, "the freed slot is reused");
        assert_eq!(
            t.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            vec![b],
            "only prefixes with paths are listed"
        );
    }
}
