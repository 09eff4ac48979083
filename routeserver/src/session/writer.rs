//! The sending side of an Established session: turns the RIB's changes into
//! UPDATEs for one member (export attributes applied, prefixes sharing
//! attributes packed together) and sends KEEPALIVEs.
//!
//! A member that stops reading does not make the route server grow: the RIB
//! keeps only a dirty-prefix set for it (see `rib::out`). What bounds such a
//! session is time instead, as in the BGP Send Hold Timer (RFC 9687): when
//! a write makes no progress for [`send_hold_time`], the session is closed.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use prometheus::IntCounter;
use tokio::sync::mpsc;

use super::conn::{MsgWriter, SessionError};
use crate::policy::verdict::{IrrTag, RpkiTag};
use crate::rib::export::{export_attrs, needs_rewrite, ExportConfig};
use crate::rib::{OutBatch, OutChange, OutReceiver, OutRoute};
use crate::wire::{self, Afi, Message, Notification, PathAttrs, SessionCaps};

/// Commands for the writer that jump the queue of route changes.
#[derive(Debug)]
pub enum WriterCmd {
    /// Send this NOTIFICATION and stop.
    Notify(Notification),
}

/// Counters the writer bumps.
pub struct WriterCounters {
    pub updates: IntCounter,
    pub keepalives: IntCounter,
    pub notifications: IntCounter,
}

type CacheKey = (usize, RpkiTag, IrrTag, bool, crate::aspa::AspaTag);

/// Export attributes, cached by source attribute set for the routes written
/// at once. Only for one write: a cache kept for the session would hold a
/// rewritten copy of every attribute set per member (with the RPKI/IRR
/// tags on, every set is rewritten), which was the largest per-member cost
/// left (about 60 MB with five full-table receivers). Prefixes sharing a
/// set arrive together, so one write computes each set about once anyway.
struct ExportCache {
    cfg: Arc<ExportConfig>,
    dst: u32,
    map: HashMap<CacheKey, (Arc<PathAttrs>, Arc<PathAttrs>)>,
}

impl ExportCache {
    fn get(&mut self, r: &OutRoute) -> Arc<PathAttrs> {
        if !needs_rewrite(&r.attrs, &self.cfg, r.blackhole) {
            return r.attrs.clone();
        }
        let key = (
            Arc::as_ptr(&r.attrs) as usize,
            r.rpki,
            r.irr,
            r.blackhole,
            r.aspa,
        );
        if let Some((_, out)) = self.map.get(&key) {
            return out.clone();
        }
        let mut out = export_attrs(&r.attrs, &self.cfg, self.dst, r.rpki, r.irr, r.blackhole);
        if self.cfg.tag_info {
            crate::aspa::tag_export(&mut out, self.cfg.rs_asn, r.aspa);
        }
        let out = Arc::new(out);
        // Keep the source alive so its address cannot be reused by another set.
        self.map.insert(key, (r.attrs.clone(), out.clone()));
        out
    }
}

/// How long a write may wait for the member to read before the session is
/// closed: 8 minutes, or twice the hold time if that is longer.
pub fn send_hold_time(hold_time: u16) -> Duration {
    Duration::from_secs(480).max(Duration::from_secs(2 * hold_time as u64))
}

fn send_hold_expired(send_hold: Duration) -> SessionError {
    tracing::warn!(
        seconds = send_hold.as_secs(),
        "closing: member stopped reading (send hold timer expired)"
    );
    SessionError::Local(format!(
        "send hold timer expired: member read nothing for {} s",
        send_hold.as_secs()
    ))
}

/// Run the writer until the session ends; returns why it ended.
#[allow(clippy::too_many_arguments)]
pub async fn run_writer(
    mut w: MsgWriter,
    caps: SessionCaps,
    keepalive: Option<Duration>,
    send_hold: Duration,
    export: Arc<ExportConfig>,
    dst_asn: u32,
    mut out_rx: OutReceiver,
    mut cmd_rx: mpsc::UnboundedReceiver<WriterCmd>,
    counters: WriterCounters,
) -> SessionError {
    let period = keepalive.unwrap_or(Duration::from_secs(3600 * 24));
    let mut ka = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            biased;
            cmd = cmd_rx.recv() => {
                match cmd {
                    Some(WriterCmd::Notify(n)) => {
                        counters.notifications.inc();
                        let _ = w.send(&Message::Notification(n.clone()), &caps).await;
                        return SessionError::Sent(n);
                    }
                    None => return SessionError::Local("session closed".into()),
                }
            }
            batch = out_rx.recv() => {
                let Some(first) = batch else { return SessionError::Local("RIB gone".into()) };
                // Take whatever else is queued, so a member that reads slowly
                // gets the latest state in fewer, fuller UPDATEs.
                let mut batches = vec![first];
                while batches.len() < 64 {
                    match out_rx.try_recv() {
                        Some(b) => batches.push(b),
                        None => break,
                    }
                }
                let mut cache = ExportCache {
                    cfg: export.clone(),
                    dst: dst_asn,
                    map: HashMap::default(),
                };
                let write = write_batches(&mut w, &caps, &mut cache, batches, &counters);
                match tokio::time::timeout(send_hold, write).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return SessionError::Io(e),
                    Err(_) => return send_hold_expired(send_hold),
                }
                ka.reset();
            }
            _ = ka.tick(), if keepalive.is_some() => {
                counters.keepalives.inc();
                match tokio::time::timeout(send_hold, w.send(&Message::Keepalive, &caps)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return SessionError::Io(e),
                    Err(_) => return send_hold_expired(send_hold),
                }
            }
        }
    }
}

async fn write_batches(
    w: &mut MsgWriter,
    caps: &SessionCaps,
    cache: &mut ExportCache,
    batches: Vec<OutBatch>,
    counters: &WriterCounters,
) -> std::io::Result<()> {
    // Final state per prefix, in first-seen order; later changes win.
    let mut index: HashMap<IpNet, usize> = HashMap::default();
    let mut finals: Vec<(IpNet, Option<OutRoute>)> = Vec::new();
    let mut eors: Vec<Afi> = Vec::new();
    for b in batches {
        for c in b.changes {
            let p = c.prefix();
            let v = match c {
                OutChange::Announce(r) => Some(r),
                OutChange::Withdraw(_) => None,
            };
            match index.entry(p) {
                std::collections::hash_map::Entry::Occupied(e) => finals[*e.get()].1 = v,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(finals.len());
                    finals.push((p, v));
                }
            }
        }
        eors.extend(b.end_of_rib);
    }
    let mut withdraw_v4 = Vec::new();
    let mut withdraw_v6 = Vec::new();
    let mut groups: HashMap<usize, (Arc<PathAttrs>, Vec<IpNet>)> = HashMap::default();
    let mut group_order: Vec<usize> = Vec::new();
    for (p, v) in finals {
        match v {
            None => match p {
                IpNet::V4(_) => withdraw_v4.push(p),
                IpNet::V6(_) => withdraw_v6.push(p),
            },
            Some(r) => {
                let a = cache.get(&r);
                let k = Arc::as_ptr(&a) as usize;
                groups
                    .entry(k)
                    .or_insert_with(|| {
                        group_order.push(k);
                        (a, Vec::new())
                    })
                    .1
                    .push(p);
            }
        }
    }
    let mut n = 0;
    if !withdraw_v4.is_empty() {
        n += wire::encode_withdrawals(Afi::Ipv4, &withdraw_v4, caps, &mut w.buf);
    }
    if !withdraw_v6.is_empty() {
        n += wire::encode_withdrawals(Afi::Ipv6, &withdraw_v6, caps, &mut w.buf);
    }
    for k in group_order {
        if let Some((a, prefixes)) = groups.get(&k) {
            n += wire::encode_announcements(a, prefixes, caps, &mut w.buf);
            if w.buf.len() > 256 * 1024 {
                w.flush().await?;
            }
        }
    }
    for afi in eors {
        wire::encode_end_of_rib(afi, &mut w.buf);
        n += 1;
    }
    counters.updates.inc_by(n as u64);
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_hold_is_eight_minutes_or_twice_the_hold_time() {
        assert_eq!(send_hold_time(90), Duration::from_secs(480));
        assert_eq!(send_hold_time(0), Duration::from_secs(480));
        assert_eq!(send_hold_time(600), Duration::from_secs(1200));
    }
}
