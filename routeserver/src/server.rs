//! Assemble a route server from the exchange's configuration: RIB task,
//! one task per neighbour, listeners, admin API.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use fox_config::{Config, MaxPrefixAction, NextHopPolicy, RolePolicy};
use tokio::sync::{mpsc, watch};

use crate::api::{self, ApiState, RsInfo};
use crate::irr::{IrrDb, MemberIrr};
use crate::metrics::Metrics;
use crate::policy::{NextHopMode, PeerPolicy, Policy, RoleMode};
use crate::rib::export::ExportConfig;
use crate::rib::peers::PeerStatic;
use crate::rib::RibMsg;
use crate::rib::{PeerId, Rib};
use crate::rpki::{RpkiConfig, RpkiManager, RtrCache};
use crate::session::listener::{self, Listeners, PeerMap};
use crate::session::{NeighborConfig, PeerEnv, SharedStatus};

pub mod reload;

/// Every LAN address of a member (all its connections).
fn member_addresses(config: &Config, member: &str) -> Vec<IpAddr> {
    config
        .members
        .iter()
        .filter(|m| m.name == member)
        .flat_map(|m| m.connections.iter())
        .flat_map(|c| [c.ipv4.map(IpAddr::V4), c.ipv6.map(IpAddr::V6)])
        .flatten()
        .collect()
}

/// The route server's RFC 9234 mode for a member.
fn role_mode(p: &fox_config::Policy) -> RoleMode {
    match p.role {
        RolePolicy::Off => RoleMode::Off,
        RolePolicy::On => RoleMode::On,
        RolePolicy::Strict => RoleMode::Strict,
    }
}

/// The import settings of one neighbour from its merged configuration.
pub fn peer_policy(config: &Config, n: &fox_config::Neighbor) -> PeerPolicy {
    let p = &n.policy;
    let mut next_hops = n.authorized_next_hops.clone();
    next_hops.push(n.address);
    // The same router has an address of the other family on the LAN.
    next_hops.extend(member_addresses(config, &n.member));
    let next_hop = match p.next_hop {
        NextHopPolicy::Strict | NextHopPolicy::SameAs => NextHopMode::Strict,
        NextHopPolicy::Any => NextHopMode::Any,
    };
    PeerPolicy {
        next_hop,
        next_hops,
        first_as: p.first_as,
        max_as_path_len: p.max_as_path_len as usize,
        bogon_asns: p.bogon_asns,
        bogon_prefixes: p.bogon_prefixes,
        prefix_len_v4: (p.prefix_len_ipv4.min, p.prefix_len_ipv4.max),
        prefix_len_v6: (p.prefix_len_ipv6.min, p.prefix_len_ipv6.max),
        transit_free: p.transit_free,
        transit_free_asns: Arc::new(p.transit_free_asns.iter().copied().collect()),
        rpki: p.rpki,
        rpki_reject_invalid: p.rpki_reject_invalid,
        irr: p.irr,
        irr_more_specifics: p.irr_more_specifics,
        irr_accept_rpki_valid: p.irr_accept_rpki_valid,
        blackhole: p.blackhole,
        graceful_shutdown: p.graceful_shutdown,
        role: role_mode(p),
        aspa: match p.aspa {
            fox_config::AspaPolicy::Off => crate::aspa::AspaMode::Off,
            fox_config::AspaPolicy::Tag => crate::aspa::AspaMode::Tag,
            fox_config::AspaPolicy::Filter => crate::aspa::AspaMode::Filter,
        },
    }
}

/// Load the IRR databases and build each member's origin and prefix
/// lists. An AS-SET that the databases do not define is an error.
fn load_irr(
    config: &Config,
    neighbors: &[fox_config::Neighbor],
) -> anyhow::Result<HashMap<String, Arc<MemberIrr>>> {
    let mut out = HashMap::new();
    let wanted: Vec<&fox_config::Member> = config
        .members
        .iter()
        .filter(|m| neighbors.iter().any(|n| n.member == m.name && n.policy.irr))
        .collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    if config.irr.files.is_empty() {
        tracing::warn!("IRR filtering is on but no irr.files are configured: IRR is not checked");
        return Ok(out);
    }
    let (db, warnings) = IrrDb::load(&config.irr.files).context("loading IRR data")?;
    for w in warnings {
        tracing::warn!(warning = %w, "IRR data");
    }
    for m in wanted {
        let (irr, warnings) = MemberIrr::build(&db, m.asn, m.as_set.as_deref())
            .with_context(|| format!("member {} (AS{}): IRR", m.name, m.asn))?;
        for w in warnings {
            tracing::warn!(member = %m.name, warning = %w, "IRR expansion");
        }
        tracing::info!(member = %m.name, origins = irr.origins.len(), prefixes = irr.prefixes.len(), "IRR lists built");
        out.insert(m.name.clone(), Arc::new(irr));
    }
    Ok(out)
}

/// Start RTR clients and VRP file watching; every new VRP set goes to the RIB.
fn start_rpki(
    config: &Config,
    metrics: &Metrics,
    rib: crate::rib::RibTx,
) -> anyhow::Result<Option<RpkiManager>> {
    if config.rpki.rtr.is_empty() && config.rpki.files.is_empty() {
        return Ok(None);
    }
    let rc = RpkiConfig {
        rtr: config
            .rpki
            .rtr
            .iter()
            .map(|r| RtrCache {
                host: r.host.clone(),
                port: r.port,
            })
            .collect(),
        files: config.rpki.files.clone(),
        ..RpkiConfig::default()
    };
    let (mgr, mut rx) = RpkiManager::start(rc, &metrics.registry).context("starting RPKI")?;
    tokio::spawn(async move {
        loop {
            let set = rx.borrow_and_update().clone();
            if rib.send(RibMsg::Vrps(set)).await.is_err() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
    Ok(Some(mgr))
}

/// The RIB's and the session's view of one configured neighbour.
fn neighbor_parts(
    config: &Config,
    rs: &fox_config::RouteServer,
    n: &fox_config::Neighbor,
    id: PeerId,
    irr: &HashMap<String, Arc<MemberIrr>>,
) -> (PeerStatic, NeighborConfig) {
    let member: Arc<str> = Arc::from(n.member.as_str());
    let enforce = n.policy.max_prefix_action != MaxPrefixAction::Warn;
    let stat = PeerStatic {
        id,
        member: member.clone(),
        asn: n.asn,
        address: n.address,
        max_prefix_v4: n.max_prefix_ipv4,
        max_prefix_v6: n.max_prefix_ipv6,
        max_prefix_enforce: enforce,
        blackhole_opt_in: n.blackhole_opt_in,
        policy: Arc::new(peer_policy(config, n)),
        irr: irr.get(&n.member).cloned(),
    };
    let local_address = match n.address {
        IpAddr::V4(_) => rs.ipv4.map(IpAddr::V4),
        IpAddr::V6(_) => rs.ipv6.map(IpAddr::V6),
    };
    let session = NeighborConfig {
        id,
        member,
        asn: n.asn,
        address: n.address,
        local_address,
        port: rs.port,
        passive: n.passive,
        local_asn: rs.asn,
        router_id: rs.router_id,
        hold_time: rs.hold_time.as_secs().min(u16::MAX as u64) as u16,
        connect_retry: rs.connect_retry,
        max_inbound_pending: rs.max_pending_connections as usize,
        max_prefix_restart: match n.policy.max_prefix_action {
            MaxPrefixAction::Restart => Some(n.policy.max_prefix_restart_after),
            _ => None,
        },
        role: role_mode(&n.policy),
        password: n.password.clone(),
        ttl_security: n.ttl_security,
        tcp_ao: n.tcp_ao.clone(),
    };
    (stat, session)
}

/// Every 5 s, count the segments the kernel dropped for a missing or wrong
/// TCP-MD5 signature (they never reach the route server) and log increases.
async fn watch_md5_drops(metrics: Arc<Metrics>) {
    use crate::session::security::Md5Drops;
    let Some(mut last) = Md5Drops::read() else {
        tracing::info!("no TCP-MD5 counters in /proc/net/netstat: MD5 drops are not reported");
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let Some(now) = Md5Drops::read() else {
            continue;
        };
        for (reason, new, old) in [
            ("no-signature", now.not_found, last.not_found),
            ("unexpected-signature", now.unexpected, last.unexpected),
            ("wrong-signature", now.failure, last.failure),
        ] {
            if new > old {
                metrics
                    .md5_dropped
                    .with_label_values(&[reason])
                    .inc_by(new - old);
                tracing::warn!(reason, segments = new - old, "the kernel dropped TCP segments failing the TCP-MD5 check (a member with a wrong or missing password?)");
            }
        }
        last = now;
    }
}

/// Seconds between BMP Statistics Reports.
const BMP_STATS_EVERY: u64 = 30;
/// Messages queued per BMP station before they are dropped (then a resync).
const BMP_QUEUE: usize = 65_536;

/// Connect to the configured BMP stations (RFC 7854); each gets an Initiation.
fn start_bmp(config: &Config, rs: &fox_config::RouteServer) -> Vec<crate::bmp::client::BmpStation> {
    config
        .bmp
        .iter()
        .map(|b| {
            let addr = if b.host.contains(':') {
                format!("[{}]:{}", b.host, b.port)
            } else {
                format!("{}:{}", b.host, b.port)
            };
            let descr = format!(
                "FOX route server {} AS{}",
                env!("CARGO_PKG_VERSION"),
                rs.asn
            );
            let init = crate::bmp::initiation(&rs.name, &descr);
            // The Loc-RIB's Peer Up (RFC 9069) follows the Initiation on
            // every connection.
            let init = crate::bmp::feed::loc_rib_preamble(&init, rs.asn, rs.router_id);
            tracing::info!(station = %addr, "BMP export on");
            crate::bmp::client::BmpStation::start(addr, init, BMP_QUEUE).0
        })
        .collect()
}

/// Starts the BGP4MP update log (`mrt.updates`) in `<mrt dir>/<rs name>`.
fn start_mrt_updates(
    config: &Config,
    rs: &fox_config::RouteServer,
    metrics: &Metrics,
) -> anyhow::Result<Option<crate::rib::mrt_updates::UpdateLog>> {
    let Some((m, u)) = config
        .mrt
        .as_ref()
        .and_then(|m| Some((m, m.updates.as_ref()?)))
    else {
        return Ok(None);
    };
    let cfg = crate::rib::mrt_updates::UpdateLogConfig {
        dir: m.dir.join(&rs.name),
        file: u.file.clone(),
        interval: u.interval,
        keep: u.keep,
        queue: u.queue,
    };
    tracing::info!(dir = %cfg.dir.display(), file = %cfg.file, interval = ?cfg.interval, "BGP4MP update log on");
    let dir = cfg.dir.clone();
    crate::rib::mrt_updates::UpdateLog::start(cfg, &metrics.registry)
        .map(Some)
        .with_context(|| format!("cannot start the MRT update log in {}", dir.display()))
}

/// Run route server `name` of the exchange until `shutdown` carries a
/// message (sent to every member in an administrative Cease, RFC 9003).
pub async fn run(
    config: Config,
    name: &str,
    shutdown: watch::Receiver<Option<String>>,
) -> anyhow::Result<()> {
    let (_never, reloads) = mpsc::channel(1);
    run_with_reload(config, name, shutdown, reloads).await
}

/// [`run`], re-reading the configuration file (`config.source`) each time
/// `reloads` delivers (SIGHUP): see [`reload`] for what a reload changes.
pub async fn run_with_reload(
    config: Config,
    name: &str,
    shutdown: watch::Receiver<Option<String>>,
    mut reloads: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    let rs = config
        .route_server(name)
        .with_context(|| {
            format!(
                "no route server named '{name}' in {}",
                config.source.display()
            )
        })?
        .clone();
    let neighbors = config.neighbors(&rs.name);
    let metrics = Arc::new(Metrics::new());
    let export = ExportConfig {
        rs_asn: rs.asn,
        blackhole_v4: config.blackhole.as_ref().and_then(|b| b.next_hop_ipv4),
        blackhole_v6: config.blackhole.as_ref().and_then(|b| b.next_hop_ipv6),
        // Euro-IX informational tags (RS:1000:N RPKI, RS:1001:N IRR).
        tag_info: true,
        otc_to: Arc::new(
            neighbors
                .iter()
                .filter(|n| role_mode(&n.policy).otc())
                .map(|n| n.asn)
                .collect(),
        ),
    };
    let policy = Policy {
        peering_lans: config.peering_lans.iter().map(|l| l.prefix).collect(),
        ..Policy::default()
    };
    let irr = load_irr(&config, &neighbors)?;

    let mut statics = Vec::new();
    let mut sessions = Vec::new();
    for (i, n) in neighbors.iter().enumerate() {
        let (stat, session) = neighbor_parts(&config, &rs, n, i as PeerId, &irr);
        statics.push(stat);
        sessions.push((n.clone(), session));
    }

    let (rib_tx, rib_rx) = mpsc::channel(1024);
    let mut rib = Rib::new(statics, export.clone(), policy, metrics.clone());
    let bmp_stations = start_bmp(&config, &rs);
    if !bmp_stations.is_empty() {
        rib.set_bmp(
            crate::bmp::feed::Feed::new(bmp_stations.clone(), BMP_STATS_EVERY)
                .with_loc_rib(rs.asn, rs.router_id),
        );
        let tick = rib_tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let ev = RibMsg::Bmp(crate::bmp::feed::BmpEvent::Tick);
                if tick.send(ev).await.is_err() {
                    return;
                }
            }
        });
    }
    tokio::spawn(rib.run(rib_tx.clone(), rib_rx));
    let _rpki = start_rpki(&config, &metrics, rib_tx.clone())?;
    if let Some(m) = &config.mrt {
        let cfg = crate::rib::mrt_periodic::PeriodicMrt {
            dir: m.dir.join(&rs.name),
            interval: m.interval,
            keep: m.keep,
        };
        tracing::info!(dir = %cfg.dir.display(), interval = ?cfg.interval, keep = cfg.keep, "periodic MRT dumps on");
        tokio::spawn(crate::rib::mrt_periodic::run(rib_tx.clone(), cfg));
    }
    let mrt_updates = start_mrt_updates(&config, &rs, &metrics)?;

    let history = crate::history::start(&config.history, &metrics);
    let rs_name: Arc<str> = Arc::from(rs.name.as_str());
    let snapshots = history.as_ref().map(|w| {
        tokio::spawn(crate::history::run_prefix_snapshots(
            rib_tx.clone(),
            w.handle(),
            rs_name.clone(),
            crate::history::PREFIX_SNAPSHOT_EVERY,
            shutdown.clone(),
        ))
    });
    let env = PeerEnv {
        rib: rib_tx.clone(),
        metrics: metrics.clone(),
        export: Arc::new(export),
        shutdown: shutdown.clone(),
        history: history.as_ref().map(|w| (w.handle(), rs_name.clone())),
        mrt_updates: mrt_updates.clone(),
    };
    let by_addr: PeerMap = Arc::default();
    let api_peers: Arc<RwLock<Vec<(PeerId, SharedStatus)>>> = Arc::default();
    // Bound before the sessions start, so their TCP-MD5 keys are in place
    // before the first SYN can arrive.
    let addrs: Vec<SocketAddr> = rs
        .listen
        .iter()
        .map(|a| SocketAddr::new(*a, rs.port))
        .collect();
    crate::session::ao::check_kernel(sessions.iter().map(|(n, _)| n))?;
    let listeners = Listeners::bind_all(&addrs)?;
    let mut reloader = reload::Reloader::new(
        config,
        rs.name.clone(),
        env,
        by_addr.clone(),
        api_peers.clone(),
        listeners.clone(),
    );
    for (n, s) in sessions {
        reloader.start(n, s);
    }
    reloader.publish();
    for l in listeners.sockets() {
        tokio::spawn(listener::accept_loop(
            l.clone(),
            by_addr.clone(),
            metrics.clone(),
            listener::RateLimit::new(rs.connection_rate_limit, rs.connection_rate_window),
        ));
    }
    tokio::spawn(watch_md5_drops(metrics.clone()));
    tokio::spawn(async move {
        while reloads.recv().await.is_some() {
            reloader.reload().await;
        }
    });

    let state = ApiState {
        info: RsInfo {
            name: rs.name.clone(),
            asn: rs.asn,
            router_id: rs.router_id.to_string(),
            version: env!("CARGO_PKG_VERSION"),
            started: crate::session::status::unix_now(),
        },
        rib: rib_tx,
        peers: api_peers,
        metrics,
    };
    let api_listener = tokio::net::TcpListener::bind(rs.api)
        .await
        .with_context(|| format!("cannot listen for the admin API on {}", rs.api))?;
    tracing::info!(address = %rs.api, "admin API and /metrics listening");
    let mut sd = shutdown.clone();
    let server = axum::serve(api_listener, api::router(state)).with_graceful_shutdown(async move {
        let _ = sd.changed().await;
    });
    server.await.context("admin API")?;
    // Give the sessions a moment to send their Cease.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for s in &bmp_stations {
        s.send(crate::bmp::feed::loc_rib_down(rs.asn, rs.router_id));
        s.send(crate::bmp::termination(0, "route server shutting down"));
    }
    if !bmp_stations.is_empty() {
        // Let the station tasks write the Peer Downs and the Termination.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if let Some(l) = mrt_updates {
        // Writes what is queued (the sessions' last state changes included).
        let _ = tokio::task::spawn_blocking(move || l.shutdown()).await;
    }
    if let Some(s) = snapshots {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    if let Some(w) = history {
        // Writes what is pending, session-down events included.
        let _ = tokio::task::spawn_blocking(move || w.shutdown()).await;
    }
    Ok(())
}
