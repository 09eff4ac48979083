//! The running collector: UDP sFlow listeners feeding the fabric state, a rate window, and
//! the HTTP API. `run` is what `fox collector` calls.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use fox_config::{CollectorSettings, Config};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::alert::AlertEngine;
use crate::archive::{Archive, ArchiveMetrics};
use crate::fabric::MemberMap;
use crate::metrics::Metrics;
use crate::probe::Probe;
use crate::state::FabricState;

/// Interval between rate snapshots.
pub const RATE_TICK: Duration = Duration::from_secs(10);
/// Rates are averaged over about this long.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Kernel receive buffer asked for on each sFlow socket.
const RECV_BUFFER: usize = 4 * 1024 * 1024;
/// A rejected sFlow datagram is logged at most this often; every one is counted in
/// `fox_sflow_decode_errors_total`, and the log line says how many were not logged.
pub const REJECT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Per-member totals at one instant: [in bytes, out bytes, in packets, out packets].
pub(crate) type Totals = Vec<[u64; 4]>;

/// The collector: state, metrics and rate history, shared by listeners and the API.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<FabricState>,
    metrics: Option<Metrics>,
    rates: Mutex<VecDeque<(Instant, Totals)>>,
    started: u64,
    probes: Mutex<Vec<Arc<Probe>>>,
    sla: Mutex<fox_config::SlaSettings>,
    alerts: Mutex<Option<Arc<AlertEngine>>>,
    interfaces: Mutex<Arc<crate::ifstats::Interfaces>>,
    archive: Mutex<Option<ArchiveMetrics>>,
    history: Mutex<Option<(fox_history::HistoryHandle, std::path::PathBuf)>>,
    report: Mutex<Option<Arc<crate::api_report::ReportContext>>>,
    rejects: Mutex<RejectLog>,
}

/// When a rejected datagram was last logged, and how many were rejected since without a line.
#[derive(Default)]
struct RejectLog {
    last: Option<Instant>,
    unlogged: u64,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Collector {
    /// A collector for the members of `cfg`.
    pub fn new(cfg: &Config) -> Self {
        let c = Self::with_map(MemberMap::from_config(cfg));
        c.set_report_context(crate::api_report::ReportContext::from_config(cfg));
        c
    }

    /// Sets what the monthly report endpoints need (sites, members, time zone, targets).
    pub fn set_report_context(&self, ctx: crate::api_report::ReportContext) {
        *self.inner.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(ctx));
    }

    /// The monthly report context, if set.
    pub fn report_context(&self) -> Option<Arc<crate::api_report::ReportContext>> {
        self.inner
            .report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A collector over an explicit member map.
    pub fn with_map(map: MemberMap) -> Self {
        let metrics = match Metrics::new() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(error = %e, "metrics registry");
                None
            }
        };
        Collector {
            inner: Arc::new(Inner {
                state: Mutex::new(FabricState::new(map)),
                metrics,
                rates: Mutex::new(VecDeque::new()),
                started: unix_now(),
                probes: Mutex::new(Vec::new()),
                sla: Mutex::new(fox_config::SlaSettings::default()),
                alerts: Mutex::new(None),
                interfaces: Mutex::new(Arc::default()),
                archive: Mutex::new(None),
                history: Mutex::new(None),
                report: Mutex::new(None),
                rejects: Mutex::new(RejectLog::default()),
            }),
        }
    }

    /// The state, locked (a poisoned lock is recovered: the state is counters only).
    pub fn state(&self) -> MutexGuard<'_, FabricState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decodes and accounts one datagram received now.
    pub fn ingest(&self, bytes: &[u8]) {
        self.ingest_inner(bytes, None);
    }

    /// Decodes and accounts one datagram received now from `from`.
    pub fn ingest_from(&self, bytes: &[u8], from: SocketAddr) {
        self.ingest_inner(bytes, Some(from));
    }

    fn ingest_inner(&self, bytes: &[u8], from: Option<SocketAddr>) {
        let now = unix_now();
        let result = self.state().ingest(bytes, now);
        if let Err(e) = result {
            self.log_reject(&e, from, bytes.len());
        }
    }

    /// Logs a rejected datagram unless one was logged less than `REJECT_LOG_INTERVAL` ago
    /// (a flood of garbage must not become a flood of log lines).
    fn log_reject(&self, e: &crate::sflow::DecodeError, from: Option<SocketAddr>, len: usize) {
        let unlogged = {
            let mut r = self.inner.rejects.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if r.last
                .is_some_and(|t| now.duration_since(t) < REJECT_LOG_INTERVAL)
            {
                r.unlogged += 1;
                return;
            }
            r.last = Some(now);
            std::mem::take(&mut r.unlogged)
        };
        let from = from.map(|a| a.to_string()).unwrap_or_default();
        tracing::warn!(
            error = %e,
            kind = e.kind(),
            from = %from,
            length = len,
            not_logged_since_last = unlogged,
            "sFlow datagram rejected (at most one line per 10 s; all are counted in fox_sflow_decode_errors_total)"
        );
    }

    /// Adds a probe for `settings` (its RTTs feed the histogram); the caller runs it.
    pub fn add_probe(&self, settings: fox_config::ProbeSettings) -> Arc<Probe> {
        let hist = self
            .inner
            .metrics
            .as_ref()
            .map(|m| m.probe_histogram(&settings.name));
        let p = Arc::new(Probe::new(settings, hist));
        if let Some((h, _)) = self.history() {
            p.set_history(h);
        }
        self.lock_probes().push(p.clone());
        p
    }

    fn lock_probes(&self) -> MutexGuard<'_, Vec<Arc<Probe>>> {
        self.inner.probes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The probes, in configuration order.
    pub fn probes(&self) -> Vec<Arc<Probe>> {
        self.lock_probes().clone()
    }

    /// Sets the SLA targets probes are judged against.
    pub fn set_sla(&self, sla: fox_config::SlaSettings) {
        *self.inner.sla.lock().unwrap_or_else(|p| p.into_inner()) = sla;
    }

    /// The SLA targets.
    pub fn sla(&self) -> fox_config::SlaSettings {
        self.inner
            .sla
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the alert engine whose active alerts the API shows.
    pub fn set_alerts(&self, engine: Arc<AlertEngine>) {
        *self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine);
    }

    /// The alert engine, if one runs.
    pub fn alerts(&self) -> Option<Arc<AlertEngine>> {
        self.inner
            .alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the interfaces whose counters the API and metrics show.
    pub fn set_interfaces(&self, ifs: Arc<crate::ifstats::Interfaces>) {
        *self
            .inner
            .interfaces
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = ifs;
    }

    /// The configured interfaces and their last readings.
    pub fn interfaces(&self) -> Arc<crate::ifstats::Interfaces> {
        self.inner
            .interfaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The metrics registry, if metrics could be set up.
    pub fn registry(&self) -> Option<&prometheus::Registry> {
        self.inner.metrics.as_ref().map(|m| m.registry())
    }

    /// Sets the history store handle (and its file, for the status page); probes added and
    /// alert engines set after this record into it.
    pub fn set_history(&self, handle: fox_history::HistoryHandle, path: std::path::PathBuf) {
        *self.inner.history.lock().unwrap_or_else(|p| p.into_inner()) = Some((handle, path));
    }

    /// The history store handle and file, if history is enabled.
    pub fn history(&self) -> Option<(fox_history::HistoryHandle, std::path::PathBuf)> {
        self.inner
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Unix time the collector started.
    pub fn started(&self) -> u64 {
        self.inner.started
    }

    /// Metrics text, brought up to date first.
    pub fn metrics_text(&self) -> String {
        let Some(m) = &self.inner.metrics else {
            return String::new();
        };
        {
            let st = self.state();
            m.sync(&st);
            m.ops.sync_baselines(&st, unix_now());
        }
        m.sync_probes(&self.probes(), unix_now());
        m.ops.sync_interfaces(&self.interfaces().snapshot());
        let mut text = m.render();
        let archive = self.inner.archive.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = archive.as_ref() {
            text.push_str(&a.render());
        }
        text
    }

    /// Archives every decoded flow sample to ClickHouse per `settings`: returns the sink
    /// task to run (it ends when `shutdown` changes).
    pub fn start_archive(
        &self,
        settings: fox_config::ClickHouseSettings,
        shutdown: watch::Receiver<Option<String>>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (archive, rx) = Archive::new(settings.queue);
        let stats = archive.stats();
        match ArchiveMetrics::new(stats.clone()) {
            Ok(m) => *self.inner.archive.lock().unwrap_or_else(|p| p.into_inner()) = Some(m),
            Err(e) => tracing::error!(error = %e, "ClickHouse metrics registry"),
        }
        self.state().archive = Some(archive);
        crate::archive::run_sink(settings, rx, stats, shutdown)
    }

    pub(crate) fn totals(&self) -> Totals {
        let st = self.state();
        st.traffic
            .members
            .iter()
            .map(|t| {
                let (i, o) = (t.in_.total(), t.out.total());
                [i.bytes, o.bytes, i.packets, o.packets]
            })
            .collect()
    }

    /// Records a rate snapshot of the current totals; keeps about one window.
    pub fn tick_rates(&self) {
        let totals = self.totals();
        let mut r = self.inner.rates.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        r.push_back((now, totals));
        while r.len() > 2
            && r.get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
        {
            r.pop_front();
        }
    }

    /// Per-member rates (bytes and packets per second, in and out) over the window, from
    /// the oldest snapshot to now; `None` before the first snapshot.
    pub(crate) fn rates(&self) -> Option<(f64, Vec<[f64; 4]>)> {
        let (t0, old) = {
            let r = self.inner.rates.lock().unwrap_or_else(|p| p.into_inner());
            r.front().cloned()?
        };
        let secs = t0.elapsed().as_secs_f64();
        if secs < 1.0 {
            return None;
        }
        let now = self.totals();
        let rates = now
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let o = old.get(i).copied().unwrap_or_default();
                let mut out = [0.0; 4];
                for k in 0..4 {
                    out[k] = n[k].saturating_sub(o[k]) as f64 / secs;
                }
                out
            })
            .collect();
        Some((secs, rates))
    }
}

/// Binds one UDP socket for sFlow (IPv6 sockets are v6-only so both families can share a port).
pub fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    if let Err(e) = s.set_recv_buffer_size(RECV_BUFFER) {
        tracing::warn!(address = %addr, error = %e, "cannot enlarge the receive buffer");
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

/// Receives datagrams on `sock` until `shutdown` changes.
pub async fn listen(
    collector: Collector,
    sock: UdpSocket,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, from)) => collector.ingest_from(&buf[..n], from),
                Err(e) => {
                    tracing::warn!(error = %e, "sFlow receive");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs listeners, the rate ticker and the API of `collector` with `settings` until shutdown.
pub async fn serve(
    collector: Collector,
    settings: &CollectorSettings,
    shutdown: watch::Receiver<Option<String>>,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for addr in &settings.sflow_listen {
        let sock = bind_udp(*addr).with_context(|| format!("cannot listen for sFlow on {addr}"))?;
        tracing::info!(address = %addr, "sFlow listening");
        tasks.push(tokio::spawn(listen(
            collector.clone(),
            sock,
            shutdown.clone(),
        )));
    }
    if let Some(addr) = settings.stamp_reflector {
        let sock = crate::probe::bind_reflector(addr)
            .await
            .with_context(|| format!("cannot listen for STAMP on {addr}"))?;
        tracing::info!(address = %addr, "STAMP reflector listening");
        tasks.push(tokio::spawn(crate::probe::reflect(
            sock,
            0,
            shutdown.clone(),
        )));
    }
    if let Some(ch) = &settings.clickhouse {
        tracing::info!(url = %ch.url, database = %ch.database, table = %ch.table, "ClickHouse flow archive");
        tasks.push(tokio::spawn(
            collector.start_archive(ch.clone(), shutdown.clone()),
        ));
    }
    collector.set_sla(settings.sla.clone());
    let engine = Arc::new(AlertEngine::from_config(
        settings.sla.clone(),
        &settings.alerts,
    ));
    if let Some((h, _)) = collector.history() {
        engine.set_history(h);
    }
    collector.set_alerts(engine.clone());
    tasks.extend(crate::ops::spawn(&collector, settings, &engine, &shutdown));
    {
        let engine = engine.clone();
        let mut sd = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let mut iv = tokio::time::interval(crate::alert::RESEND_INTERVAL);
            iv.tick().await;
            loop {
                tokio::select! {
                    _ = iv.tick() => engine.resend_active(),
                    _ = sd.changed() => return,
                }
            }
        }));
    }
    let mut probes = Vec::new();
    for p in &settings.probes {
        let probe = collector.add_probe(p.clone());
        probe.set_rtt_baseline(&settings.baselines);
        probes.push(probe);
    }
    crate::baseline::seed::from_history(&collector, &probes, settings.baselines.seed_days).await;
    for probe in probes {
        let p = &probe.settings;
        tracing::info!(probe = %p.name, target = %p.target, kind = ?p.kind, "probe starting");
        tasks.push(tokio::spawn(crate::probe::run(
            probe,
            Some(engine.clone()),
            shutdown.clone(),
        )));
    }
    let ticker = collector.clone();
    let mut sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let mut iv = tokio::time::interval(RATE_TICK);
        loop {
            tokio::select! {
                _ = iv.tick() => ticker.tick_rates(),
                _ = sd.changed() => return,
            }
        }
    }));
    let api = tokio::net::TcpListener::bind(settings.api)
        .await
        .with_context(|| format!("cannot listen for the collector API on {}", settings.api))?;
    tracing::info!(address = %settings.api, "collector API and /metrics listening");
    let mut sd = shutdown.clone();
    axum::serve(api, crate::api::router(collector))
        .with_graceful_shutdown(async move {
            let _ = sd.changed().await;
        })
        .await
        .context("collector API")?;
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// `fox collector`: the collector of the exchange in `cfg`, until shutdown.
pub async fn run(cfg: Config, shutdown: watch::Receiver<Option<String>>) -> anyhow::Result<()> {
    let collector = Collector::new(&cfg);
    {
        let st = collector.state();
        tracing::info!(
            members = st.map.members().len(),
            macs = st.map.mac_count(),
            "fabric collector starting"
        );
    }
    let writer = crate::history::start(&collector, &cfg.history);
    let feed = collector.history().map(|(h, _)| {
        tokio::spawn(crate::history::run_feed(
            collector.clone(),
            crate::history::Feed::new(&collector, h),
            cfg.history.batch_interval,
            shutdown.clone(),
        ))
    });
    let result = serve(collector, &cfg.collector, shutdown).await;
    if let Some(f) = feed {
        let _ = f.await;
    }
    if let Some(w) = writer {
        // Writes what is pending (on a blocking thread: it may wait for the disk).
        let _ = tokio::task::spawn_blocking(move || w.shutdown()).await;
    }
    result
}
