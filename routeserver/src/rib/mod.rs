//! The RIB: one task owns every member's paths, runs the import policy and
//! the decision process, and derives what each member receives.
//!
//! No member has a table of its own. For each prefix the RIB keeps the paths
//! all members sent (accepted and filtered). What a member receives is the
//! best path among those its export allows; when the overall best is
//! withheld from a member (its own path, an announcement-control community,
//! a blackhole it did not opt in to), that member gets the best path it may
//! receive instead, so no path is hidden (RFC 7947 2.3.1). Adj-RIB-Out is
//! therefore computed, not stored: memory grows with prefixes and paths,
//! not with prefixes times members.

pub mod aspa;
pub mod attrs;
mod bmp_hooks;
pub mod decision;
pub mod export;
pub mod mrt;
pub mod mrt_periodic;
pub mod mrt_updates;
pub mod out;
pub mod peers;
pub mod query;
pub mod reload;
pub mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bmp;
#[cfg(test)]
mod tests_out;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::metrics::Metrics;
use crate::policy::verdict::{IrrTag, RpkiTag, Verdict};
use crate::policy::Policy;
use crate::rpki::VrpSet;
use crate::wire::{Afi, NextHop, Update};

use attrs::AttrInterner;
use decision::{best, PeerKeys};
use export::{control_allows, ExportConfig};
use out::{Dirty, OUT_BATCH, OUT_WINDOW};
pub use out::{OutBatch, OutChange, OutQueue, OutReceiver, OutRoute};
use peers::{PeerState, PeerStatic};
pub use table::{Path, PeerId, SlotId, Table};

/// Requests from the RIB to a session task.
#[derive(Debug)]
pub enum PeerCtl {
    /// Close with Cease / Maximum Number of Prefixes Reached (RFC 4486).
    MaxPrefix { afi: Afi, limit: u32 },
}

/// What a session tells the RIB when it reaches Established.
#[derive(Debug)]
pub struct PeerUp {
    pub router_id: u32,
    pub ipv4: bool,
    pub ipv6: bool,
    pub out: OutQueue,
    pub ctl: mpsc::UnboundedSender<PeerCtl>,
}

/// Messages the RIB task handles, one at a time, in order.
#[derive(Debug)]
pub enum RibMsg {
    Up {
        peer: PeerId,
        up: PeerUp,
    },
    /// Session lost. With `restart_time`, the member announced graceful
    /// restart (RFC 4724) and its paths are kept as stale that long.
    Down {
        peer: PeerId,
        restart_time: Option<Duration>,
    },
    Update {
        peer: PeerId,
        update: Update,
        received: Instant,
    },
    RouteRefresh {
        peer: PeerId,
        afi: Afi,
    },
    StaleTimeout {
        peer: PeerId,
        generation: u64,
    },
    /// Re-run the import policy on these prefixes (or all when `None`),
    /// after RPKI or IRR data changed.
    Reevaluate {
        prefixes: Option<Vec<IpNet>>,
    },
    /// A new VRP set: routes covered by what changed are revalidated.
    Vrps(Arc<VrpSet>),
    Query(query::Query, oneshot::Sender<query::Answer>),
    /// Configuration reload: a new neighbour (its id must be the next index).
    AddPeer(PeerStatic),
    /// Configuration reload: the neighbour was removed; its paths are
    /// withdrawn everywhere and its slot is marked gone.
    RemovePeer {
        peer: PeerId,
    },
    /// Configuration reload: new import settings for a neighbour; its
    /// stored paths are evaluated again, the session is untouched.
    SetPeer(PeerStatic),
    /// Configuration reload: new peering LANs; every path is evaluated again.
    SetPeeringLans(Vec<IpNet>),
    /// Session events and the timer of the BMP export.
    Bmp(crate::bmp::feed::BmpEvent),
}

/// The sending side that sessions and the API use to reach the RIB.
pub type RibTx = mpsc::Sender<RibMsg>;

/// Identity of what a member was sent for a prefix (path and export tags).
type SelKey = Option<(PeerId, usize, RpkiTag, IrrTag, crate::aspa::AspaTag)>;

/// The route server's RIB. Owned by one task (see [`Rib::run`]).
pub struct Rib {
    table: Table,
    interner: AttrInterner,
    peers: Vec<PeerState>,
    /// Established members, by id.
    targets: Vec<PeerId>,
    /// Per member (by id): the prefixes it must be sent again.
    dirty: Vec<Dirty>,
    /// Woken by a writer that took a batch and has room for more.
    ready: Arc<Notify>,
    scratch: Vec<SelKey>,
    export: ExportConfig,
    policy: Policy,
    metrics: Arc<Metrics>,
    self_tx: Option<RibTx>,
    last_publish: Option<Instant>,
    /// BMP export, when stations are configured.
    bmp: Option<crate::bmp::feed::Feed>,
}

struct Keys<'a>(&'a [PeerState]);

impl PeerKeys for Keys<'_> {
    fn tie_break(&self, peer: u32) -> (u32, IpAddr) {
        let p = &self.0[peer as usize];
        (p.router_id, p.stat.address)
    }
}

fn afi_of(p: &IpNet) -> Afi {
    Afi::of(p)
}

fn key(p: Option<&Path>) -> SelKey {
    p.map(|p| {
        (
            p.peer,
            Arc::as_ptr(&p.attrs) as usize,
            p.verdict.rpki,
            p.verdict.irr,
            p.verdict.aspa,
        )
    })
}

/// May the path go to member `t`? (Accepted, not its own AS, address family
/// negotiated, blackhole opt-in, announcement control.)
fn eligible(p: &Path, peers: &[PeerState], t: &PeerState, export: &ExportConfig, afi: Afi) -> bool {
    if !p.verdict.accepted() || p.peer == t.stat.id {
        return false;
    }
    let src = &peers[p.peer as usize];
    if src.stat.asn == t.stat.asn {
        return false;
    }
    let afi_ok = match afi {
        Afi::Ipv4 => t.ipv4,
        Afi::Ipv6 => t.ipv6,
    };
    afi_ok
        && (!p.verdict.blackhole || t.stat.blackhole_opt_in)
        && control_allows(&p.attrs, export.rs_asn, t.stat.asn)
}

/// The path member `t` receives for a prefix: the overall best when it may
/// have it, else the best it may have.
fn select<'a>(
    paths: &'a [Path],
    global: Option<&'a Path>,
    peers: &[PeerState],
    t: &PeerState,
    export: &ExportConfig,
    afi: Afi,
) -> Option<&'a Path> {
    match global {
        None => None,
        Some(g) if eligible(g, peers, t, export, afi) => Some(g),
        Some(_) => best(paths, &Keys(peers), |p| eligible(p, peers, t, export, afi)),
    }
}

fn global_best<'a>(paths: &'a [Path], peers: &[PeerState]) -> Option<&'a Path> {
    best(paths, &Keys(peers), |p| p.verdict.accepted())
}

impl Rib {
    /// A RIB for the given neighbours (indexed by their `id`).
    pub fn new(
        peers: Vec<PeerStatic>,
        export: ExportConfig,
        policy: Policy,
        metrics: Arc<Metrics>,
    ) -> Rib {
        let n = peers.len();
        Rib {
            table: Table::default(),
            interner: AttrInterner::default(),
            peers: peers.into_iter().map(PeerState::new).collect(),
            targets: Vec::new(),
            dirty: (0..n).map(|_| Dirty::default()).collect(),
            ready: Arc::new(Notify::new()),
            scratch: Vec::new(),
            export,
            policy,
            metrics,
            self_tx: None,
            last_publish: None,
            bmp: None,
        }
    }

    /// Export to BMP stations (RFC 7854) from now on.
    pub fn set_bmp(&mut self, feed: crate::bmp::feed::Feed) {
        self.bmp = Some(feed);
    }

    /// Run the RIB until every sender is gone.
    pub async fn run(mut self, tx: RibTx, mut rx: mpsc::Receiver<RibMsg>) {
        self.self_tx = Some(tx);
        let ready = self.ready.clone();
        loop {
            tokio::select! {
                biased;
                msg = rx.recv() => match msg {
                    Some(m) => self.handle(m),
                    None => break,
                },
                // A writer took a batch: hand it more of its dirty prefixes.
                _ = ready.notified() => {}
            }
            // Drain what is already queued before flushing, so exports of
            // consecutive UPDATEs are packed together.
            let mut n = 0;
            while n < 256 {
                match rx.try_recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => break,
                }
                n += 1;
            }
            self.flush();
            self.interner.maybe_gc();
        }
    }

    /// Handle one message (public for tests and benchmarks; call [`Rib::flush`] after).
    pub fn handle(&mut self, msg: RibMsg) {
        match msg {
            RibMsg::Up { peer, up } => self.peer_up(peer, up),
            RibMsg::Down { peer, restart_time } => self.peer_down(peer, restart_time),
            RibMsg::Update {
                peer,
                update,
                received,
            } => {
                self.update(peer, update);
                self.metrics
                    .update_seconds
                    .observe(received.elapsed().as_secs_f64());
            }
            RibMsg::RouteRefresh { peer, afi } => self.dump_to(peer, Some(afi)),
            RibMsg::StaleTimeout { peer, generation } => {
                if self.peers[peer as usize].generation == generation {
                    self.purge_stale(peer, None);
                }
            }
            RibMsg::Reevaluate { prefixes } => {
                self.reevaluate(prefixes);
            }
            RibMsg::Vrps(set) => {
                let started = Instant::now();
                let mut changed = VrpSet::diff(&self.policy.vrps, &set);
                changed.extend(self.aspa_affected(&self.policy.vrps, &set));
                self.policy.vrps = set;
                let n = changed.len();
                let revalidated = self.reevaluate(Some(changed));
                self.metrics
                    .revalidation_seconds
                    .observe(started.elapsed().as_secs_f64());
                tracing::info!(
                    vrp_prefixes_changed = n,
                    routes_changed = revalidated,
                    seconds = started.elapsed().as_secs_f64(),
                    "revalidated after VRP change"
                );
            }
            RibMsg::Query(q, reply) => {
                let _ = reply.send(self.answer(q));
            }
            RibMsg::AddPeer(stat) => self.add_peer(stat),
            RibMsg::RemovePeer { peer } => self.remove_peer(peer),
            RibMsg::SetPeer(stat) => {
                self.set_peer(stat);
            }
            RibMsg::SetPeeringLans(lans) => {
                self.set_peering_lans(lans);
            }
            RibMsg::Bmp(ev) => self.bmp_event(ev),
        }
    }

    fn peer_up(&mut self, peer: PeerId, up: PeerUp) {
        let Some(st) = self.peers.get_mut(peer as usize) else {
            return;
        };
        if st.gone {
            // A late session of a removed neighbour: it is being closed.
            return;
        }
        st.router_id = up.router_id;
        st.ipv4 = up.ipv4;
        st.ipv6 = up.ipv6;
        st.out = Some(up.out.clone());
        st.ctl = Some(up.ctl);
        st.established = true;
        st.advertised = [0, 0];
        st.max_prefix_hit = false;
        st.generation += 1;
        up.out.set_waker(self.ready.clone());
        self.clear_dirty(peer);
        if !self.targets.contains(&peer) {
            self.targets.push(peer);
        }
        self.dump_to(peer, None);
    }

    fn peer_down(&mut self, peer: PeerId, restart_time: Option<Duration>) {
        if let Some(b) = self.bmp.as_mut().filter(|b| b.is_up(peer)) {
            // Dropped without a session-side BMP event (e.g. a removed neighbour).
            b.down(peer, &crate::bmp::DownReason::LocalNoNotification(0));
        }
        let st = &mut self.peers[peer as usize];
        st.established = false;
        st.out = None;
        st.ctl = None;
        st.advertised = [0, 0];
        st.generation += 1;
        let generation = st.generation;
        self.targets.retain(|&t| t != peer);
        self.clear_dirty(peer);
        let prefixes = self.prefixes_of(peer);
        match restart_time {
            Some(t) if !t.is_zero() => {
                for prefix in prefixes {
                    let old = self
                        .table
                        .get(&prefix)
                        .and_then(|ps| ps.iter().find(|p| p.peer == peer))
                        .cloned();
                    if let Some(mut p) = old {
                        p.stale = true;
                        self.change(peer, prefix, Some(p));
                    }
                }
                if let Some(tx) = self.self_tx.clone() {
                    tokio::spawn(async move {
                        tokio::time::sleep(t).await;
                        let _ = tx.send(RibMsg::StaleTimeout { peer, generation }).await;
                    });
                }
            }
            _ => {
                for prefix in prefixes {
                    self.change(peer, prefix, None);
                }
            }
        }
        self.flush();
    }

    fn prefixes_of(&self, peer: PeerId) -> Vec<IpNet> {
        self.table
            .iter()
            .filter(|(_, ps)| ps.iter().any(|p| p.peer == peer))
            .map(|(prefix, _)| prefix)
            .collect()
    }

    fn purge_stale(&mut self, peer: PeerId, afi: Option<Afi>) {
        let stale: Vec<IpNet> = self
            .table
            .iter()
            .filter(|(prefix, ps)| {
                afi.is_none_or(|a| afi_of(prefix) == a)
                    && ps.iter().any(|p| p.peer == peer && p.stale)
            })
            .map(|(prefix, _)| prefix)
            .collect();
        for prefix in stale {
            self.change(peer, prefix, None);
        }
    }

    /// Apply one UPDATE from a member.
    pub fn update(&mut self, peer: PeerId, update: Update) {
        let Some(st) = self.peers.get(peer as usize) else {
            return;
        };
        if st.gone {
            return;
        }
        let stat = st.stat.clone();
        let bmp = self.bmp.as_ref().is_some_and(|b| b.is_up(peer));
        if bmp {
            let was: Vec<IpNet> = (update.withdrawn.iter().copied())
                .filter(|p| self.accepted_from(peer, p))
                .collect();
            if let Some(b) = &self.bmp {
                b.withdraw(peer, false, &update.withdrawn);
                b.withdraw(peer, true, &was);
            }
        }
        for prefix in update.withdrawn {
            self.change(peer, prefix, None);
        }
        for (mut attrs, prefixes) in update.announced {
            let (mut post, mut post_wd) = (Vec::new(), Vec::new());
            if let (true, Some(b)) = (bmp, &self.bmp) {
                b.announce(peer, false, &attrs, &prefixes);
            }
            // LOCAL_PREF from an external neighbour is not used (RFC 4271 5.1.5).
            attrs.local_pref = None;
            // A link-local IPv6 next hop is only meaningful from the peer
            // itself; drop one that belongs to somebody else (RFC 7947 2.2).
            if let NextHop::V6 {
                global,
                link_local: Some(_),
            } = attrs.next_hop
            {
                if stat.address != IpAddr::V6(global) {
                    attrs.next_hop = NextHop::V6 {
                        global,
                        link_local: None,
                    };
                }
            }
            let attrs = self.interner.intern(attrs);
            for prefix in prefixes {
                let verdict = self.policy.evaluate(&stat, &prefix, &attrs);
                if bmp {
                    if verdict.accepted() {
                        post.push(prefix);
                    } else if self.accepted_from(peer, &prefix) {
                        post_wd.push(prefix);
                    }
                }
                let path = Path {
                    peer,
                    verdict,
                    stale: false,
                    attrs: attrs.clone(),
                };
                self.change(peer, prefix, Some(path));
            }
            if let (true, Some(b)) = (bmp, &self.bmp) {
                b.announce(peer, true, &attrs, &post);
                b.withdraw(peer, true, &post_wd);
            }
        }
        if let Some(afi) = update.end_of_rib {
            self.purge_stale(peer, Some(afi));
        }
        self.check_max_prefix(peer);
    }

    fn check_max_prefix(&mut self, peer: PeerId) {
        let st = &mut self.peers[peer as usize];
        for (i, afi) in [Afi::Ipv4, Afi::Ipv6].into_iter().enumerate() {
            let limit = match afi {
                Afi::Ipv4 => st.stat.max_prefix_v4,
                Afi::Ipv6 => st.stat.max_prefix_v6,
            };
            if let Some(limit) = limit {
                if st.accepted[i] > limit as usize && !st.max_prefix_hit {
                    st.max_prefix_hit = true;
                    tracing::warn!(peer = %st.stat.address, asn = st.stat.asn, afi = afi.name(), limit, "maximum number of prefixes reached");
                    if let (true, Some(ctl)) = (st.stat.max_prefix_enforce, &st.ctl) {
                        let _ = ctl.send(PeerCtl::MaxPrefix { afi, limit });
                    }
                }
            }
        }
    }

    /// Re-run the import policy for routes of the given prefixes (and their
    /// more-specifics), or for everything. Returns how many paths changed.
    pub fn reevaluate(&mut self, prefixes: Option<Vec<IpNet>>) -> usize {
        let targets: Vec<IpNet> = match prefixes {
            None => self.table.iter().map(|(p, _)| p).collect(),
            Some(list) if list.is_empty() => Vec::new(),
            Some(list) => {
                let cover = Cover::new(&list);
                self.table
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| cover.covers(p))
                    .collect()
            }
        };
        let mut changed = 0usize;
        for prefix in targets {
            let Some(paths) = self.table.get(&prefix) else {
                continue;
            };
            let updates: Vec<Path> = paths
                .iter()
                .filter_map(|p| {
                    let stat = &self.peers[p.peer as usize].stat;
                    let v = self.policy.evaluate(stat, &prefix, &p.attrs);
                    (v != p.verdict).then(|| Path {
                        verdict: v,
                        ..p.clone()
                    })
                })
                .collect();
            for p in updates {
                changed += 1;
                let peer = p.peer;
                self.bmp_verdict_changed(&p, prefix);
                self.change(peer, prefix, Some(p));
            }
        }
        changed
    }

    /// Replace (or remove, with `None`) the path of `peer` for `prefix` and
    /// mark the prefix dirty for every member whose export it changes; a
    /// changed best path goes to the BMP Loc-RIB.
    fn change(&mut self, peer: PeerId, prefix: IpNet, new: Option<Path>) {
        let before = self.loc_rib_best(&prefix);
        self.change_paths(peer, prefix, new);
        if let Some(before) = before {
            self.loc_rib_changed(prefix, before);
        }
    }

    fn change_paths(&mut self, peer: PeerId, prefix: IpNet, new: Option<Path>) {
        let afi = afi_of(&prefix);
        let Rib {
            table,
            peers,
            targets,
            scratch,
            export,
            dirty,
            ..
        } = self;
        // One index lookup for the whole change (it was three).
        let found = table.slot_of(&prefix);
        let before = found
            .and_then(|s| table.slot(s))
            .map(|s| s.paths.as_slice())
            .filter(|ps| !ps.is_empty());
        let exists = before.is_some_and(|ps| ps.iter().any(|p| p.peer == peer));
        if new.is_none() && !exists {
            return;
        }
        // What every established member receives now.
        scratch.clear();
        if let Some(paths) = before {
            let g = global_best(paths, peers);
            for &t in targets.iter() {
                scratch.push(key(select(
                    paths,
                    g,
                    peers,
                    &peers[t as usize],
                    export,
                    afi,
                )));
            }
        } else {
            scratch.resize(targets.len(), None);
        }
        // Mutate, keeping the per-member counters.
        let i = afi as usize;
        let slot = match found {
            Some(s) => s,
            None => table.entry(&prefix),
        };
        let st = &mut peers[peer as usize];
        table.modify(slot, |paths| {
            let pos = paths.iter().position(|p| p.peer == peer);
            if let Some(pos) = pos {
                let old = &paths[pos];
                st.received[i] -= 1;
                if old.verdict.accepted() {
                    st.accepted[i] -= 1;
                }
                st.count_verdict(&old.verdict, false);
            }
            match (pos, new) {
                (Some(pos), Some(p)) => paths[pos] = p,
                (None, Some(p)) => paths.push(p),
                (Some(pos), None) => {
                    paths.remove(pos);
                }
                (None, None) => {}
            }
            if let Some(p) = paths.iter().find(|p| p.peer == peer) {
                st.received[i] += 1;
                if p.verdict.accepted() {
                    st.accepted[i] += 1;
                }
                st.count_verdict(&p.verdict, true);
            }
        });
        // Who must be sent the prefix again after the change.
        let paths = table.slot(slot).map(|s| s.paths.as_slice()).unwrap_or(&[]);
        let g = global_best(paths, peers);
        for (n, &t) in targets.iter().enumerate() {
            let k = key(select(paths, g, peers, &peers[t as usize], export, afi));
            if k == scratch[n] {
                continue;
            }
            dirty[t as usize].mark(slot);
            let adv = &mut peers[t as usize].advertised[i];
            match (scratch[n].is_some(), k.is_some()) {
                (false, true) => *adv += 1,
                (true, false) => *adv = adv.saturating_sub(1),
                _ => {}
            }
        }
        if paths.is_empty() {
            self.release_if_clean(slot);
        }
    }

    /// Free an empty slot unless a member still has its withdrawal pending.
    fn release_if_clean(&mut self, slot: SlotId) {
        if !self.dirty.iter().any(|d| d.is_marked(slot)) {
            self.table.release(slot);
        }
    }

    /// Drop what was pending for a member (its session ended or restarts).
    fn clear_dirty(&mut self, peer: PeerId) {
        let Some(d) = self.dirty.get_mut(peer as usize) else {
            return;
        };
        for slot in d.clear() {
            self.release_if_clean(slot);
        }
    }

    /// Mark for member `peer` everything it should have (for one AFI or
    /// both), followed by End-of-RIB, and start sending it.
    fn dump_to(&mut self, peer: PeerId, only: Option<Afi>) {
        let Rib {
            table,
            peers,
            export,
            dirty,
            ..
        } = self;
        let t = &peers[peer as usize];
        if !t.established {
            return;
        }
        let d = &mut dirty[peer as usize];
        let mut count = [0usize; 2];
        for (s, slot) in table.slots() {
            let afi = afi_of(&slot.prefix);
            if only.is_some_and(|a| a != afi) {
                continue;
            }
            let g = global_best(&slot.paths, peers);
            if select(&slot.paths, g, peers, t, export, afi).is_some() {
                count[afi as usize] += 1;
                d.mark(s);
            }
        }
        for afi in [Afi::Ipv4, Afi::Ipv6] {
            let enabled = match afi {
                Afi::Ipv4 => t.ipv4,
                Afi::Ipv6 => t.ipv6,
            };
            if enabled && only.is_none_or(|a| a == afi) {
                d.end_of_rib(afi);
            }
        }
        let st = &mut peers[peer as usize];
        for afi in [Afi::Ipv4, Afi::Ipv6] {
            if only.is_none_or(|a| a == afi) {
                st.advertised[afi as usize] = count[afi as usize];
            }
        }
        self.fill(peer);
    }

    /// Resolve member `t`'s dirty prefixes against the table into batches,
    /// as long as its writer has room (see [`out::OUT_WINDOW`]).
    fn fill(&mut self, t: PeerId) {
        let Rib {
            table,
            peers,
            export,
            dirty,
            ..
        } = self;
        let ts = &peers[t as usize];
        let Some(out) = &ts.out else {
            return;
        };
        let d = &mut dirty[t as usize];
        let mut emptied = Vec::new();
        while !d.is_empty() {
            let room = OUT_WINDOW.saturating_sub(out.queued()).min(OUT_BATCH);
            if room == 0 {
                break;
            }
            let mut batch = OutBatch::default();
            loop {
                // End-of-RIB closes the batch: it follows the dump's routes.
                d.take_due_eor(&mut batch.end_of_rib);
                if !batch.end_of_rib.is_empty() || batch.changes.len() >= room {
                    break;
                }
                let Some(s) = d.pop() else {
                    break;
                };
                let Some(slot) = table.slot(s) else {
                    continue;
                };
                let afi = afi_of(&slot.prefix);
                let g = global_best(&slot.paths, peers);
                batch
                    .changes
                    .push(match select(&slot.paths, g, peers, ts, export, afi) {
                        Some(p) => OutChange::Announce(OutRoute {
                            prefix: slot.prefix,
                            attrs: p.attrs.clone(),
                            rpki: p.verdict.rpki,
                            irr: p.verdict.irr,
                            blackhole: p.verdict.blackhole,
                            aspa: p.verdict.aspa,
                        }),
                        None => OutChange::Withdraw(slot.prefix),
                    });
                if slot.paths.is_empty() {
                    emptied.push(s);
                }
            }
            if batch.is_empty() {
                break;
            }
            out.send(batch);
        }
        for s in emptied {
            self.release_if_clean(s);
        }
    }

    /// Hand dirty prefixes to the members' writers that have room.
    pub fn flush(&mut self) {
        for n in 0..self.targets.len() {
            let t = self.targets[n];
            self.fill(t);
        }
        if self
            .last_publish
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
        {
            self.last_publish = Some(Instant::now());
            self.publish_counters();
        }
    }

    /// Write the per-peer counters into the metrics now.
    pub fn publish_counters(&self) {
        for st in &self.peers {
            self.metrics.set_prefix_counts(st);
        }
        self.metrics.rib_prefixes.set(self.table.len() as i64);
        self.metrics.rib_attr_sets.set(self.interner.len() as i64);
    }

    /// Read access for queries and tests.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The neighbours' RIB-side state.
    pub fn peers(&self) -> &[PeerState] {
        &self.peers
    }

    /// The path member `peer` receives for `prefix`, if any (derived Adj-RIB-Out).
    pub fn advertised_to(&self, peer: PeerId, prefix: &IpNet) -> Option<&Path> {
        let paths = self.table.get(prefix)?;
        let t = &self.peers[peer as usize];
        select(
            paths,
            global_best(paths, &self.peers),
            &self.peers,
            t,
            &self.export,
            afi_of(prefix),
        )
    }

    /// Did `p` pass every policy check and what did it get?
    pub fn verdict_of(&self, peer: PeerId, prefix: &IpNet) -> Option<Verdict> {
        self.table
            .get(prefix)?
            .iter()
            .find(|p| p.peer == peer)
            .map(|p| p.verdict)
    }
}

/// A set of prefixes that answers "is this prefix equal to or more specific
/// than one of them" with one hash lookup per distinct length in the set.
struct Cover {
    set: std::collections::HashSet<IpNet>,
    lens_v4: Vec<u8>,
    lens_v6: Vec<u8>,
}

impl Cover {
    fn new(list: &[IpNet]) -> Cover {
        let set: std::collections::HashSet<IpNet> = list.iter().map(|p| p.trunc()).collect();
        let mut lens_v4: Vec<u8> = set
            .iter()
            .filter(|p| p.addr().is_ipv4())
            .map(|p| p.prefix_len())
            .collect();
        let mut lens_v6: Vec<u8> = set
            .iter()
            .filter(|p| p.addr().is_ipv6())
            .map(|p| p.prefix_len())
            .collect();
        lens_v4.sort_unstable();
        lens_v4.dedup();
        lens_v6.sort_unstable();
        lens_v6.dedup();
        Cover {
            set,
            lens_v4,
            lens_v6,
        }
    }

    fn covers(&self, p: &IpNet) -> bool {
        let lens = if p.addr().is_ipv4() {
            &self.lens_v4
        } else {
            &self.lens_v6
        };
        lens.iter().take_while(|&&l| l <= p.prefix_len()).any(|&l| {
            IpNet::new(p.addr(), l)
                .map(|c| self.set.contains(&c.trunc()))
                .unwrap_or(false)
        })
    }
}
