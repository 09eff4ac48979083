//! Configuration reload (SIGHUP): read the file again and apply the
//! difference. Neighbours are matched by address. A removed neighbour's
//! session ends with Cease / Peer De-configured and its routes are
//! withdrawn; a new one gets a new peer id and session; a neighbour whose
//! session settings changed is removed and added again (Cease / Other
//! Configuration Change); one whose import policy changed keeps its session
//! and has its stored paths evaluated again. A changed TCP-AO key list is
//! rolled over on the listeners and the established connection without a
//! reset (see `session::ao`). A file with errors changes nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use anyhow::{bail, Context};
use fox_config::{Config, Neighbor};
use ipnet::IpNet;

use super::{load_irr, member_addresses, neighbor_parts};
use crate::rib::{PeerId, RibMsg};
use crate::session::listener::{Listeners, PeerEntry, PeerMap};
use crate::session::{
    cease_with_message, spawn_peer, NeighborConfig, PeerEnv, PeerHandle, SharedStatus,
};
use crate::wire::{CEASE_OTHER_CONFIGURATION_CHANGE, CEASE_PEER_DECONFIGURED};

/// The message sent to a neighbour removed from the configuration.
pub const REMOVED_MESSAGE: &str = "neighbour removed from the route server configuration";
/// The message sent to a neighbour whose session settings changed.
pub const CHANGED_MESSAGE: &str = "session settings changed, please reconnect";

/// A configured neighbour and its session task.
struct Running {
    id: PeerId,
    neighbor: Neighbor,
    session: NeighborConfig,
    handle: PeerHandle,
}

/// What one reload changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<IpAddr>,
    pub removed: Vec<IpAddr>,
    /// Session settings changed: removed and added again.
    pub restarted: Vec<IpAddr>,
    /// Import policy applied again, session untouched.
    pub policy: Vec<IpAddr>,
    /// Peering LANs changed: every path evaluated again.
    pub peering_lans: bool,
    /// TCP-AO keys rolled over, session untouched.
    pub tcp_ao: Vec<IpAddr>,
}

/// Keeps the running configuration and the sessions between reloads.
pub struct Reloader {
    config: Config,
    name: String,
    env: PeerEnv,
    by_addr: PeerMap,
    api_peers: Arc<RwLock<Vec<(PeerId, SharedStatus)>>>,
    running: HashMap<IpAddr, Running>,
    next_id: PeerId,
    listeners: Listeners,
}

/// Do two session configurations need the same BGP session? (Everything
/// but the peer id, the max-prefix restart delay, which applies at the
/// next restart, and TCP-AO key changes that a rollover applies.)
fn same_session(a: &NeighborConfig, b: &NeighborConfig) -> bool {
    a.member == b.member
        && a.asn == b.asn
        && a.address == b.address
        && a.local_address == b.local_address
        && a.port == b.port
        && a.passive == b.passive
        && a.local_asn == b.local_asn
        && a.router_id == b.router_id
        && a.hold_time == b.hold_time
        && a.connect_retry == b.connect_retry
        && a.password == b.password
        && a.ttl_security == b.ttl_security
        && !crate::session::ao::needs_reset(a.tcp_ao.as_ref(), b.tcp_ao.as_ref())
}

/// Everything in the configuration that the import policy of `n` is built from.
fn policy_inputs(config: &Config, n: &Neighbor) -> (Neighbor, Vec<IpAddr>, Option<String>) {
    let as_set = config
        .members
        .iter()
        .find(|m| m.name == n.member)
        .and_then(|m| m.as_set.clone());
    (n.clone(), member_addresses(config, &n.member), as_set)
}

/// Roll a kept session's TCP-AO keys to `new` (both sides configured with
/// TCP-AO: `same_session` sends every other change through a restart):
/// the listeners, the established connection and future connects.
fn roll_ao(listeners: &Listeners, r: &mut Running, new: Option<&fox_config::TcpAo>) {
    let addr = r.neighbor.address;
    let old = crate::session::ao::keys(&r.handle.ao);
    if let Err(e) = listeners.set_ao(addr, old.as_ref(), new) {
        tracing::error!(peer = %addr, member = %r.neighbor.member, error = %e, "cannot change the TCP-AO keys on the listeners");
    }
    if let Some(new) = new {
        match crate::session::ao::roll(&r.handle.ao, addr, new) {
            Ok(()) => {
                tracing::info!(peer = %addr, member = %r.neighbor.member, current = new.current, keys = new.keys.len(), "TCP-AO keys rolled over without a session reset")
            }
            Err(e) => {
                tracing::error!(peer = %addr, member = %r.neighbor.member, error = %e, "TCP-AO key rollover on the established session failed")
            }
        }
    }
    r.session.tcp_ao = new.cloned();
}

fn lans(config: &Config) -> Vec<IpNet> {
    config.peering_lans.iter().map(|l| l.prefix).collect()
}

impl Reloader {
    /// A reloader for route server `name`, with no session started yet.
    pub(super) fn new(
        config: Config,
        name: String,
        env: PeerEnv,
        by_addr: PeerMap,
        api_peers: Arc<RwLock<Vec<(PeerId, SharedStatus)>>>,
        listeners: Listeners,
    ) -> Reloader {
        Reloader {
            config,
            name,
            env,
            by_addr,
            api_peers,
            running: HashMap::new(),
            next_id: 0,
            listeners,
        }
    }

    /// Start the session task of a neighbour the RIB already knows and let
    /// the listeners hand it its connections.
    pub(super) fn start(&mut self, neighbor: Neighbor, session: NeighborConfig) {
        let id = session.id;
        // The key goes on the listeners before the address is routed to the
        // new task; `None` removes the key of a previous configuration.
        let key = session.password.as_ref().map(|p| p.as_bytes());
        if let Err(e) = self.listeners.set_md5(neighbor.address, key) {
            tracing::error!(peer = %neighbor.address, error = %e, "cannot set the TCP-MD5 key on the listeners: connections from this neighbour will fail");
        }
        if let Err(e) = self
            .listeners
            .set_ao(neighbor.address, None, session.tcp_ao.as_ref())
        {
            tracing::error!(peer = %neighbor.address, member = %neighbor.member, error = %e, "cannot set the TCP-AO keys on the listeners: connections from this neighbour will fail");
        }
        let handle = spawn_peer(session.clone(), self.env.clone());
        let mut map = match self.by_addr.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.insert(
            neighbor.address,
            PeerEntry {
                tx: handle.incoming.clone(),
                ttl_security: session.ttl_security,
            },
        );
        drop(map);
        self.running.insert(
            neighbor.address,
            Running {
                id,
                neighbor,
                session,
                handle,
            },
        );
        self.next_id = self.next_id.max(id + 1);
    }

    /// Show the configured sessions in the API, by peer id.
    pub(super) fn publish(&self) {
        let mut list: Vec<(PeerId, SharedStatus)> = self
            .running
            .values()
            .map(|r| (r.id, r.handle.status.clone()))
            .collect();
        list.sort_by_key(|(id, _)| *id);
        match self.api_peers.write() {
            Ok(mut v) => *v = list,
            Err(p) => *p.into_inner() = list,
        }
    }

    /// Read the configuration file again and apply it. A file with errors
    /// is logged and changes nothing (returns `None`).
    pub async fn reload(&mut self) -> Option<ReloadSummary> {
        let file = self.config.source.clone();
        tracing::info!(file = %file.display(), "reloading the configuration");
        let config = match fox_config::load(&file) {
            Ok(c) => c,
            Err(errors) => {
                tracing::error!(file = %file.display(), errors = %errors, "configuration has errors: nothing changed");
                return None;
            }
        };
        match self.apply(config).await {
            Ok(s) => {
                tracing::info!(added = ?s.added, removed = ?s.removed, restarted = ?s.restarted, policy = ?s.policy, peering_lans = s.peering_lans, tcp_ao = ?s.tcp_ao, "configuration reloaded");
                Some(s)
            }
            Err(e) => {
                tracing::error!(file = %file.display(), error = format!("{e:#}"), "configuration not applied: nothing changed");
                None
            }
        }
    }

    /// Apply a new configuration. Everything that can fail is checked
    /// before the first change.
    pub async fn apply(&mut self, config: Config) -> anyhow::Result<ReloadSummary> {
        let rs = config
            .route_server(&self.name)
            .with_context(|| format!("no route server named '{}'", self.name))?
            .clone();
        let neighbors = config.neighbors(&rs.name);
        let mut wanted: HashMap<IpAddr, &Neighbor> = HashMap::new();
        for n in &neighbors {
            if wanted.insert(n.address, n).is_some() {
                bail!("address {} is configured for two neighbours", n.address);
            }
        }
        let irr = load_irr(&config, &neighbors)?;
        crate::session::ao::check_kernel(neighbors.iter())?;
        self.warn_restart_only(&config);

        let mut summary = ReloadSummary::default();
        // Removed neighbours, and those whose session must start over.
        let mut addrs: Vec<IpAddr> = self.running.keys().copied().collect();
        addrs.sort();
        for addr in addrs {
            let restart = match (wanted.get(&addr), self.running.get(&addr)) {
                (Some(n), Some(r)) => {
                    let (_, s) = neighbor_parts(&config, &rs, n, r.id, &irr);
                    if same_session(&r.session, &s) {
                        continue;
                    }
                    true
                }
                _ => false,
            };
            let Some(r) = self.running.remove(&addr) else {
                continue;
            };
            let cease = if restart {
                summary.restarted.push(addr);
                cease_with_message(CEASE_OTHER_CONFIGURATION_CHANGE, CHANGED_MESSAGE)
            } else {
                summary.removed.push(addr);
                cease_with_message(CEASE_PEER_DECONFIGURED, REMOVED_MESSAGE)
            };
            r.handle.stop(cease);
            match self.by_addr.write() {
                Ok(mut m) => m.remove(&addr),
                Err(p) => p.into_inner().remove(&addr),
            };
            if r.session.password.is_some() {
                if let Err(e) = self.listeners.set_md5(addr, None) {
                    tracing::warn!(peer = %addr, error = %e, "cannot remove the TCP-MD5 key");
                }
            }
            let live_ao = crate::session::ao::keys(&r.handle.ao);
            if let Err(e) = self.listeners.set_ao(addr, live_ao.as_ref(), None) {
                tracing::warn!(peer = %addr, error = %e, "cannot remove the TCP-AO keys");
            }
            self.rib(RibMsg::RemovePeer { peer: r.id }).await?;
        }
        if lans(&self.config) != lans(&config) {
            summary.peering_lans = true;
            self.rib(RibMsg::SetPeeringLans(lans(&config))).await?;
        }
        // Kept sessions: new import settings when anything they come from
        // changed; IRR users always, as the IRR files were read again.
        let mut kept: Vec<(PeerId, IpAddr)> = self
            .running
            .values()
            .map(|r| (r.id, r.neighbor.address))
            .collect();
        kept.sort();
        for (id, addr) in kept {
            let (Some(n), Some(r)) = (wanted.get(&addr), self.running.get_mut(&addr)) else {
                continue;
            };
            let (stat, session) = neighbor_parts(&config, &rs, n, id, &irr);
            if session.tcp_ao != r.session.tcp_ao {
                summary.tcp_ao.push(addr);
                roll_ao(&self.listeners, r, session.tcp_ao.as_ref());
            }
            let changed = policy_inputs(&self.config, &r.neighbor) != policy_inputs(&config, n);
            r.neighbor = (*n).clone();
            if changed || stat.irr.is_some() {
                summary.policy.push(addr);
                self.rib(RibMsg::SetPeer(stat)).await?;
            }
        }
        // New neighbours (and restarted ones) in configuration order.
        for n in &neighbors {
            if self.running.contains_key(&n.address) {
                continue;
            }
            let id = self.next_id;
            let (stat, session) = neighbor_parts(&config, &rs, n, id, &irr);
            self.rib(RibMsg::AddPeer(stat)).await?;
            if !summary.restarted.contains(&n.address) {
                summary.added.push(n.address);
            }
            self.start(n.clone(), session);
        }
        self.publish();
        self.config = config;
        Ok(summary)
    }

    async fn rib(&self, msg: RibMsg) -> anyhow::Result<()> {
        self.env
            .rib
            .send(msg)
            .await
            .map_err(|_| anyhow::anyhow!("the RIB has stopped"))
    }

    /// Log the changes that only a restart applies.
    fn warn_restart_only(&self, new: &Config) {
        let old = &self.config;
        let (o, n) = (old.route_server(&self.name), new.route_server(&self.name));
        if let (Some(o), Some(n)) = (o, n) {
            if o.listen != n.listen || o.port != n.port || o.api != n.api {
                tracing::warn!(old = ?(&o.listen, o.port, o.api), new = ?(&n.listen, n.port, n.api), "listen addresses, BGP port and API address not changed: a restart is needed to apply them");
            }
            let limits = |r: &fox_config::RouteServer| {
                (
                    r.connection_rate_limit,
                    r.connection_rate_window,
                    r.max_pending_connections,
                )
            };
            if limits(o) != limits(n) {
                tracing::warn!(old = ?limits(o), new = ?limits(n), "connection_rate_limit, connection_rate_window and max_pending_connections not changed for the listeners and running sessions: a restart is needed to apply them");
            }
        }
        if old.blackhole != new.blackhole {
            tracing::warn!("blackhole next hops not changed: a restart is needed to apply them");
        }
        if old.rpki != new.rpki {
            tracing::warn!("RPKI sources not changed: a restart is needed to apply them");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use fox_config::{AoAlgorithm, AoSecret, TcpAo, TcpAoKey};

    use super::*;
    use crate::policy::RoleMode;

    fn session(tcp_ao: Option<TcpAo>) -> NeighborConfig {
        NeighborConfig {
            id: 0,
            member: Arc::from("TANet"),
            asn: 1659,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
            local_address: None,
            port: 179,
            passive: false,
            local_asn: 64500,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            max_prefix_restart: None,
            role: RoleMode::Off,
            password: None,
            ttl_security: false,
            tcp_ao,
            max_inbound_pending: crate::session::MAX_INBOUND_PENDING,
        }
    }

    fn ao(keys: &[(u8, &str)], current: u8) -> Option<TcpAo> {
        Some(TcpAo {
            keys: keys
                .iter()
                .map(|(id, s)| TcpAoKey {
                    id: *id,
                    recv_id: *id,
                    algorithm: AoAlgorithm::HmacSha256,
                    secret: AoSecret::new(s).unwrap(),
                })
                .collect(),
            current,
        })
    }

    #[test]
    fn tcp_ao_rollover_keeps_the_session_other_changes_restart_it() {
        let one = session(ao(&[(1, "a")], 1));
        // Rollover steps: same session.
        assert!(same_session(&one, &session(ao(&[(1, "a"), (2, "b")], 2))));
        assert!(same_session(
            &session(ao(&[(1, "a"), (2, "b")], 2)),
            &session(ao(&[(2, "b")], 2))
        ));
        // TCP-AO on or off, a changed secret under the same ids, or MD5 instead: restart.
        assert!(!same_session(&one, &session(None)));
        assert!(!same_session(&session(None), &one));
        assert!(!same_session(&one, &session(ao(&[(1, "z")], 1))));
        let mut md5 = session(None);
        md5.password = Some(fox_config::Password::new("k").unwrap());
        assert!(!same_session(&one, &md5));
        assert!(same_session(&session(None), &session(None)));
    }
}
