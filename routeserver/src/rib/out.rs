//! Per-member export state between the RIB and a member's writer.
//!
//! The RIB does not queue routes for a member. When a change affects what a
//! member must receive, the prefix is marked dirty for that member: its
//! slot number goes into the member's [`Dirty`] set (ordered by first mark,
//! deduplicated by a bitmap). Only when the member's writer has room (fewer
//! than [`OUT_WINDOW`] routes handed over and not yet taken) does the RIB
//! resolve dirty prefixes against the current table into an [`OutBatch`].
//! So a member that reads slowly costs at most 4 bytes per dirty prefix
//! plus one bit per prefix of the table, never a copy of the routes, and
//! repeated changes of a prefix collapse into its current state.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;
use tokio::sync::{mpsc, Notify};

use super::table::SlotId;
use crate::policy::verdict::{IrrTag, RpkiTag};
use crate::wire::{Afi, PathAttrs};

/// Routes the RIB hands to one member's writer ahead of what it has taken.
pub const OUT_WINDOW: usize = 16_384;

/// Largest batch handed to a writer at once.
pub const OUT_BATCH: usize = 4_096;

/// A route handed to a session's writer for export.
#[derive(Clone, Debug)]
pub struct OutRoute {
    pub prefix: IpNet,
    pub attrs: Arc<PathAttrs>,
    pub rpki: RpkiTag,
    pub irr: IrrTag,
    pub blackhole: bool,
    /// ASPA state, for the informational community.
    pub aspa: crate::aspa::AspaTag,
}

/// The current export of one prefix to one member.
#[derive(Clone, Debug)]
pub enum OutChange {
    Announce(OutRoute),
    Withdraw(IpNet),
}

impl OutChange {
    /// The prefix the change is about.
    pub fn prefix(&self) -> IpNet {
        match self {
            OutChange::Announce(r) => r.prefix,
            OutChange::Withdraw(p) => *p,
        }
    }
}

/// Changes for one member, sent from the RIB to that member's writer: each
/// prefix at most once, with its state when the batch was made; End-of-RIB
/// markers go after the routes.
#[derive(Debug, Default)]
pub struct OutBatch {
    pub changes: Vec<OutChange>,
    pub end_of_rib: Vec<Afi>,
}

impl OutBatch {
    /// True when the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.end_of_rib.is_empty()
    }
}

#[derive(Debug, Default)]
struct Shared {
    /// Routes sent and not taken by the writer yet.
    queued: AtomicUsize,
    /// Woken when the writer takes a batch, so the RIB hands over more.
    waker: OnceLock<Arc<Notify>>,
}

/// The channel to one member's writer (RIB side).
#[derive(Clone, Debug)]
pub struct OutQueue {
    tx: mpsc::UnboundedSender<OutBatch>,
    shared: Arc<Shared>,
}

/// The writer's end of an [`OutQueue`].
#[derive(Debug)]
pub struct OutReceiver {
    rx: mpsc::UnboundedReceiver<OutBatch>,
    shared: Arc<Shared>,
}

impl OutQueue {
    /// A new queue and its receiving end.
    pub fn new() -> (OutQueue, OutReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        (
            OutQueue {
                tx,
                shared: shared.clone(),
            },
            OutReceiver { rx, shared },
        )
    }

    /// Wake `n` whenever the writer takes a batch (set once, by the RIB).
    pub fn set_waker(&self, n: Arc<Notify>) {
        let _ = self.shared.waker.set(n);
    }

    /// Routes handed over and not taken yet.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Hand a batch to the writer.
    pub fn send(&self, b: OutBatch) {
        self.shared
            .queued
            .fetch_add(b.changes.len(), Ordering::Relaxed);
        let _ = self.tx.send(b);
    }
}

impl OutReceiver {
    fn taken(&self, b: &OutBatch) {
        self.shared
            .queued
            .fetch_sub(b.changes.len(), Ordering::Relaxed);
        if let Some(w) = self.shared.waker.get() {
            w.notify_one();
        }
    }

    /// The next batch, waiting for one.
    pub async fn recv(&mut self) -> Option<OutBatch> {
        let b = self.rx.recv().await?;
        self.taken(&b);
        Some(b)
    }

    /// The next batch if one is queued.
    pub fn try_recv(&mut self) -> Option<OutBatch> {
        let b = self.rx.try_recv().ok()?;
        self.taken(&b);
        Some(b)
    }

    /// Routes handed over and not taken yet.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }
}

/// The prefixes one member must be sent again, in the order they were
/// first marked, each once, and the End-of-RIB markers due after them.
#[derive(Debug, Default)]
pub struct Dirty {
    order: VecDeque<SlotId>,
    bits: Vec<u64>,
    /// (number of prefixes popped after which to send, AFI)
    eor: VecDeque<(u64, Afi)>,
    pushed: u64,
    popped: u64,
}

impl Dirty {
    /// Mark a prefix; false when it was already pending.
    pub fn mark(&mut self, s: SlotId) -> bool {
        let (w, b) = (s as usize / 64, s % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & (1 << b) != 0 {
            return false;
        }
        self.bits[w] |= 1 << b;
        self.order.push_back(s);
        self.pushed += 1;
        true
    }

    /// Is the prefix pending?
    pub fn is_marked(&self, s: SlotId) -> bool {
        self.bits
            .get(s as usize / 64)
            .is_some_and(|w| w & (1 << (s % 64)) != 0)
    }

    /// Send End-of-RIB for `afi` once everything marked so far is sent.
    pub fn end_of_rib(&mut self, afi: Afi) {
        self.eor.push_back((self.pushed, afi));
    }

    /// End-of-RIB markers now due.
    pub fn take_due_eor(&mut self, out: &mut Vec<Afi>) {
        while let Some(&(at, afi)) = self.eor.front() {
            if at > self.popped {
                break;
            }
            self.eor.pop_front();
            out.push(afi);
        }
    }

    /// The oldest pending prefix, unmarked.
    pub fn pop(&mut self) -> Option<SlotId> {
        let s = self.order.pop_front()?;
        self.bits[s as usize / 64] &= !(1 << (s % 64));
        self.popped += 1;
        Some(s)
    }

    /// True when nothing is pending (prefixes or End-of-RIB).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty() && self.eor.is_empty()
    }

    /// Prefixes pending.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Forget everything (the session went down); returns what was pending.
    pub fn clear(&mut self) -> Vec<SlotId> {
        let pending: Vec<SlotId> = self.order.drain(..).collect();
        *self = Dirty::default();
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_set_is_ordered_deduplicated_and_places_end_of_rib_after_the_dump() {
        let mut d = Dirty::default();
        assert!(d.mark(70));
        assert!(d.mark(3));
        assert!(!d.mark(70), "marked twice, pending once");
        d.end_of_rib(Afi::Ipv4);
        assert!(d.mark(5), "marked after the End-of-RIB marker");
        let mut eor = Vec::new();
        d.take_due_eor(&mut eor);
        assert!(eor.is_empty(), "not before the dump is sent");
        assert_eq!((d.pop(), d.pop()), (Some(70), Some(3)));
        assert!(!d.is_marked(70) && d.is_marked(5));
        d.take_due_eor(&mut eor);
        assert_eq!(eor, vec![Afi::Ipv4]);
        assert!(d.mark(70), "can be marked again once sent");
        assert_eq!(d.len(), 2);
        assert_eq!(d.clear(), vec![5, 70]);
        assert!(d.is_empty() && !d.is_marked(5));
    }

    #[test]
    fn taking_a_batch_returns_room_and_wakes_the_rib() {
        let (q, mut r) = OutQueue::new();
        let n = Arc::new(Notify::new());
        q.set_waker(n.clone());
        q.send(OutBatch {
            changes: vec![OutChange::Withdraw("192.0.2.0/24".parse().unwrap())],
            end_of_rib: vec![],
        });
        assert_eq!(q.queued(), 1);
        assert!(r.try_recv().is_some());
        assert_eq!(q.queued(), 0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The permit stored by notify_one makes this return at once.
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), n.notified())
                .await
                .expect("woken")
        });
    }
}
