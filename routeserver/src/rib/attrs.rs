//! Interned path attributes: every prefix announced with the same
//! attributes shares one `Arc<PathAttrs>`, so memory follows distinct paths.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::wire::PathAttrs;

/// The set of attribute values in use. Lookups hash the attributes once.
#[derive(Default)]
pub struct AttrInterner {
    set: FxHashSet<Arc<PathAttrs>>,
    inserts_since_gc: usize,
}

impl AttrInterner {
    /// The shared copy of `attrs`, created if it is new.
    pub fn intern(&mut self, attrs: PathAttrs) -> Arc<PathAttrs> {
        if let Some(existing) = self.set.get(&attrs) {
            return existing.clone();
        }
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
