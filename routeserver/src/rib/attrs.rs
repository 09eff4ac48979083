//! Interned path attributes: every prefix announced with the same
//! attributes shares one `Arc<PathAttrs>`, so memory follows distinct paths.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::wire::PathAttrs;

/// Drop spare capacity before a set is kept for good: the decoder pushes
/// AS_PATH segments one by one, which leaves room for four (128 bytes)
/// where one (32 bytes) is used.
fn compact(a: &mut PathAttrs) {
    a.as_path.segments.shrink_to_fit();
    a.communities.shrink_to_fit();
    a.ext_communities.shrink_to_fit();
    a.large_communities.shrink_to_fit();
    a.unknown.shrink_to_fit();
}

/// The set of attribute values in use. Lookups hash the attributes once.
#[derive(Default)]
pub struct AttrInterner {
    set: FxHashSet<Arc<PathAttrs>>,
    inserts_since_gc: usize,
}

impl AttrInterner {
    /// The shared copy of `attrs`, created if it is new.
    pub fn intern(&mut self, mut attrs: PathAttrs) -> Arc<PathAttrs> {
        if let Some(existing) = self.set.get(&attrs) {
            return existing.clone();
        }
        compact(&mut attrs);
        let arc = Arc::new(attrs);
        self.set.insert(arc.clone());
        self.inserts_since_gc += 1;
        arc
    }

    /// Forget attribute sets no route uses any more. Cheap enough to call
    /// after every batch: it only scans when many sets were added.
    pub fn maybe_gc(&mut self) {
        if self.inserts_since_gc > 4096 && self.inserts_since_gc * 2 > self.set.len() {
            self.gc();
        }
    }

    /// Drop every set referenced only by the interner itself.
    pub fn gc(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.inserts_since_gc = 0;
    }

    /// Number of distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when no attribute set is held.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AsPath, AsSegment, NextHop, Origin};

    #[test]
    fn interned_sets_are_shared_and_keep_no_spare_capacity() {
        let mut segments = Vec::with_capacity(4);
        segments.push(AsSegment::Sequence(vec![64496, 64497]));
        let mut communities = Vec::with_capacity(16);
        communities.push(65000 << 16 | 1);
        let a = PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath { segments },
            next_hop: NextHop::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
            med: None,
            local_pref: None,
            atomic_aggregate: false,
            aggregator: None,
            communities,
            ext_communities: vec![],
            large_communities: vec![],
            otc: None,
            unknown: vec![],
        };
        let mut i = AttrInterner::default();
        let x = i.intern(a.clone());
        assert_eq!(*x, a, "same value");
        assert_eq!(x.as_path.segments.capacity(), 1);
        assert_eq!(x.communities.capacity(), 1);
        let y = i.intern(a);
        assert!(Arc::ptr_eq(&x, &y), "one shared copy");
        assert_eq!(i.len(), 1);
    }
}
