//! Starts the operations tasks of `fox collector`: interface counters over netlink, the
//! traffic baselines and the route servers' session polls, and sets the alert engine's
//! correlation hold.

use std::sync::Arc;
use std::time::Duration;

use fox_config::CollectorSettings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alert::{AlertEngine, AlertKind};
use crate::baseline::Baselines;
use crate::ifstats::{self, Interfaces};
use crate::server::{unix_now, Collector};

/// The alert kinds the baselines raise and resolve.
pub const TRAFFIC_KINDS: [AlertKind; 2] = [AlertKind::TrafficSurge, AlertKind::TrafficDrop];

/// Configures `collector` and `engine` from `settings` and spawns the tasks.
pub fn spawn(
    collector: &Collector,
    settings: &CollectorSettings,
    engine: &Arc<AlertEngine>,
    shutdown: &watch::Receiver<Option<String>>,
) -> Vec<JoinHandle<()>> {
    engine.set_hold(settings.alert_hold);
    let ifs = Arc::new(Interfaces::new(&settings.interfaces));
    collector.set_interfaces(ifs.clone());
    let mut tasks = Vec::new();
    if !settings.interfaces.is_empty() {
        tracing::info!(
            interfaces = settings.interfaces.len(),
            "interface counters over netlink"
        );
        tasks.push(tokio::spawn(ifstats::run(
            ifs,
            settings.interface_interval,
            shutdown.clone(),
        )));
    }
    for (rs, api) in &settings.route_server_apis {
        tracing::info!(route_server = %rs, api = %api, every_s = settings.session_poll.as_secs_f64(), "polling member sessions");
        tasks.push(tokio::spawn(crate::sessions::run(
            engine.clone(),
            rs.clone(),
            *api,
            settings.session_poll,
            shutdown.clone(),
        )));
    }
    collector.state().baselines = Baselines::new(settings.baselines.clone());
    tasks.push(tokio::spawn(run_baselines(
        collector.clone(),
        engine.clone(),
        settings.baselines.interval,
        shutdown.clone(),
    )));
    tasks
}

/// Ends a baseline interval every `interval` and hands the findings to `engine`.
pub async fn run_baselines(
    collector: Collector,
    engine: Arc<AlertEngine>,
    interval: Duration,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let mut iv = tokio::time::interval(interval);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = iv.tick() => {
                let found = collector.state().observe_baselines(unix_now());
                engine.reconcile(&TRAFFIC_KINDS, found);
            }
            _ = shutdown.changed() => return,
        }
    }
}
