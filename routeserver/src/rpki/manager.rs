//! Merges RTR caches and VRP files into the one set the RIB validates
//! against, and publishes it on a `watch` channel whenever it changes.
//!
//! RTR caches are listed in preference order and all connected at once
//! (hot standby). The RTR part of the effective set is the set of the most
//! preferred cache that is up (connected and synchronised); if none is up,
//! the freshest set that has not expired yet; if all expired, nothing.
//! The effective set is the union of that and every file's last good set.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus::Registry;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::file::load_vrp_file;
use super::metrics::RpkiMetrics;
use super::rtr::{CacheEvent, CacheTask, RtrCache};
use super::vrp::VrpSet;

/// Where VRPs come from.
#[derive(Clone, Debug)]
pub struct RpkiConfig {
    /// RTR caches, most preferred first.
    pub rtr: Vec<RtrCache>,
    /// VRP files (JSON or CSV, optionally .gz/.bz2), always merged in.
    pub files: Vec<PathBuf>,
    /// How often files are checked for a new mtime or size.
    pub file_poll_interval: Duration,
}

impl Default for RpkiConfig {
    fn default() -> Self {
        RpkiConfig {
            rtr: Vec::new(),
            files: Vec::new(),
            file_poll_interval: Duration::from_secs(5),
        }
    }
}

/// The manager could not start.
#[derive(Debug, Error)]
pub enum RpkiError {
    /// Registering the metrics failed (e.g. registered twice).
    #[error("registering RPKI metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// One cache as the manager sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheStatus {
    /// The cache.
    pub cache: RtrCache,
    /// Connected and synchronised.
    pub up: bool,
    /// Its data is the RTR part of the effective set.
    pub active: bool,
    /// VRPs held from it (0 if none or expired).
    pub vrps: usize,
}

/// One VRP file as the manager sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStatus {
    /// The file.
    pub path: PathBuf,
    /// VRPs of its last good load.
    pub vrps: usize,
    /// The error of the last failed load, if the latest attempt failed.
    pub error: Option<String>,
}

/// Snapshot of all sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpkiStatus {
    /// RTR caches in preference order.
    pub caches: Vec<CacheStatus>,
    /// VRP files in configuration order.
    pub files: Vec<FileStatus>,
    /// VRPs in the effective set.
    pub vrps: usize,
}

/// Handle to the running RPKI sources; dropping it stops them.
pub struct RpkiManager {
    tasks: Vec<JoinHandle<()>>,
    status: Arc<Mutex<RpkiStatus>>,
}

impl Drop for RpkiManager {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

enum FileEvent {
    Loaded(usize, Arc<VrpSet>),
    Failed(usize, String),
}

struct Slot {
    up: bool,
    set: Option<Arc<VrpSet>>,
    updated: Instant,
}

impl RpkiManager {
    /// Starts cache clients, file polling and the merger; must be called
    /// inside a tokio runtime. The receiver starts with an empty set.
    pub fn start(
        config: RpkiConfig,
        registry: &Registry,
    ) -> Result<(RpkiManager, watch::Receiver<Arc<VrpSet>>), RpkiError> {
        let metrics = RpkiMetrics::register(registry)?;
        let (set_tx, set_rx) = watch::channel(Arc::new(VrpSet::new()));
        let (cache_tx, cache_rx) = mpsc::unbounded_channel();
        let (file_tx, file_rx) = mpsc::unbounded_channel();
        let status = Arc::new(Mutex::new(RpkiStatus {
            caches: config
                .rtr
                .iter()
                .map(|c| CacheStatus {
                    cache: c.clone(),
                    up: false,
                    active: false,
                    vrps: 0,
                })
                .collect(),
            files: config
                .files
                .iter()
                .map(|p| FileStatus {
                    path: p.clone(),
                    vrps: 0,
                    error: None,
                })
                .collect(),
            vrps: 0,
        }));
        let mut tasks = Vec::new();
        for (idx, cache) in config.rtr.iter().enumerate() {
            metrics
                .cache_up
                .with_label_values(&[&cache.to_string()])
                .set(0);
            let task = CacheTask {
                idx,
                cache: cache.clone(),
                events: cache_tx.clone(),
                metrics: metrics.clone(),
            };
            tasks.push(tokio::spawn(task.run()));
        }
        if !config.files.is_empty() {
            tasks.push(tokio::spawn(poll_files(
                config.files.clone(),
                config.file_poll_interval,
                file_tx,
                metrics.clone(),
            )));
        }
        let merger = Merger {
            caches: config
                .rtr
                .iter()
                .map(|_| Slot {
                    up: false,
                    set: None,
                    updated: Instant::now(),
                })
                .collect(),
            names: config.rtr.iter().map(|c| c.to_string()).collect(),
            files: vec![None; config.files.len()],
            set_tx,
            metrics,
            status: status.clone(),
            last_inputs: None,
        };
        tasks.push(tokio::spawn(merger.run(cache_rx, file_rx)));
        Ok((RpkiManager { tasks, status }, set_rx))
    }

    /// The current state of every source.
    pub fn status(&self) -> RpkiStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Checks files for changes and loads them off the async threads.
async fn poll_files(
    files: Vec<PathBuf>,
    interval: Duration,
    tx: mpsc::UnboundedSender<FileEvent>,
    metrics: RpkiMetrics,
) {
    // (mtime, size) of the last load attempt, or of the last failed stat.
    let mut seen: Vec<Option<Result<(SystemTime, u64), String>>> = vec![None; files.len()];
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        for (idx, path) in files.iter().enumerate() {
            let source = format!("file:{}", path.display());
            let stat = std::fs::metadata(path)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .map_err(|e| e.to_string());
            if seen[idx].as_ref() == Some(&stat) {
                continue;
            }
            seen[idx] = Some(stat.clone());
            if let Err(e) = stat {
                error!(file = %path.display(), error = %e, "VRP file unreadable, keeping previous data");
                metrics.error(&source);
                let _ = tx.send(FileEvent::Failed(idx, e));
                continue;
            }
            let p = path.clone();
            let started = Instant::now();
            match tokio::task::spawn_blocking(move || load_vrp_file(&p)).await {
                Ok(Ok(f)) => {
                    info!(file = %path.display(), vrps = f.set.len(), entries = f.entries, aspas = f.set.aspas().len(),
                        ms = started.elapsed().as_millis() as u64, "VRP file loaded");
                    metrics.updated(&source, f.set.len());
                    let _ = tx.send(FileEvent::Loaded(idx, Arc::new(f.set)));
                }
                Ok(Err(e)) => {
                    error!(file = %path.display(), error = %e, "VRP file broken, keeping previous data");
                    metrics.error(&source);
                    let _ = tx.send(FileEvent::Failed(idx, e.to_string()));
                }
                Err(e) => {
                    error!(file = %path.display(), error = %e, "VRP file loader failed");
                    metrics.error(&source);
                }
            }
        }
    }
}

/// Owns the per-source sets and publishes the effective set.
struct Merger {
    caches: Vec<Slot>,
    names: Vec<String>,
    files: Vec<Option<Arc<VrpSet>>>,
    set_tx: watch::Sender<Arc<VrpSet>>,
    metrics: RpkiMetrics,
    status: Arc<Mutex<RpkiStatus>>,
    /// Identity of the sets merged last time, to skip unchanged rounds.
    /// (Holding them also keeps their addresses from being reused.)
    last_inputs: Option<Vec<Arc<VrpSet>>>,
}

impl Merger {
    async fn run(
        mut self,
        mut cache_rx: mpsc::UnboundedReceiver<(usize, CacheEvent)>,
        mut file_rx: mpsc::UnboundedReceiver<FileEvent>,
    ) {
        let mut file_errors: Vec<Option<String>> = vec![None; self.files.len()];
        loop {
            tokio::select! {
                Some((idx, ev)) = cache_rx.recv() => self.on_cache(idx, ev),
                Some(ev) = file_rx.recv() => self.on_file(ev, &mut file_errors),
                else => return,
            }
            // Coalesce whatever else is already queued before merging.
            while let Ok((idx, ev)) = cache_rx.try_recv() {
                self.on_cache(idx, ev);
            }
            while let Ok(ev) = file_rx.try_recv() {
                self.on_file(ev, &mut file_errors);
            }
            self.publish(&file_errors);
        }
    }

    fn on_cache(&mut self, idx: usize, ev: CacheEvent) {
        let Some(slot) = self.caches.get_mut(idx) else {
            return;
        };
        match ev {
            CacheEvent::Up { set } => {
                slot.up = true;
                slot.set = Some(set);
                slot.updated = Instant::now();
            }
            CacheEvent::Down => slot.up = false,
            CacheEvent::Expired => {
                slot.up = false;
                slot.set = None;
            }
        }
    }

    fn on_file(&mut self, ev: FileEvent, errors: &mut [Option<String>]) {
        match ev {
            FileEvent::Loaded(idx, set) => {
                if let Some(f) = self.files.get_mut(idx) {
                    *f = Some(set);
                }
                if let Some(e) = errors.get_mut(idx) {
                    *e = None;
                }
            }
            FileEvent::Failed(idx, msg) => {
                if let Some(e) = errors.get_mut(idx) {
                    *e = Some(msg);
                }
            }
        }
    }

    /// The cache whose data is in use.
    fn selected(&self) -> Option<usize> {
        if let Some(i) = self.caches.iter().position(|s| s.up && s.set.is_some()) {
            return Some(i);
        }
        self.caches
            .iter()
            .enumerate()
            .filter(|(_, s)| s.set.is_some())
            .max_by_key(|(i, s)| (s.updated, std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    }

    fn publish(&mut self, file_errors: &[Option<String>]) {
        let active = self.selected();
        let mut inputs: Vec<&Arc<VrpSet>> = Vec::new();
        if let Some(set) = active.and_then(|i| self.caches[i].set.as_ref()) {
            inputs.push(set);
        }
        inputs.extend(self.files.iter().flatten());
        for (i, name) in self.names.iter().enumerate() {
            let on = i64::from(active == Some(i));
            self.metrics.cache_active.with_label_values(&[name]).set(on);
        }
        self.update_status(active, file_errors);
        let unchanged = self.last_inputs.as_ref().is_some_and(|last| {
            last.len() == inputs.len() && last.iter().zip(&inputs).all(|(a, b)| Arc::ptr_eq(a, b))
        });
        if unchanged {
            return;
        }
        self.last_inputs = Some(inputs.iter().map(|s| Arc::clone(s)).collect());
        let effective = match inputs.as_slice() {
            [] => Arc::new(VrpSet::new()),
            [one] => Arc::clone(one),
            many => Arc::new(VrpSet::union(many.iter().map(|s| s.as_ref()))),
        };
        let changed = **self.set_tx.borrow() != *effective;
        if changed {
            if active.is_none() && !self.caches.is_empty() {
                warn!("no RTR cache data available, using files only");
            }
            info!(
                vrps = effective.len(),
                aspas = effective.aspas().len(),
                v4 = effective.len_v4(),
                v6 = effective.len_v6(),
                cache = active.map(|i| self.names[i].as_str()).unwrap_or("none"),
                "effective VRP set changed"
            );
        }
        // Status and metrics first, so a receiver woken by the new set
        // already sees them.
        if let Ok(mut st) = self.status.lock() {
            st.vrps = effective.len();
        }
        if changed {
            self.metrics.updated("effective", effective.len());
            self.set_tx.send_replace(effective);
        }
    }

    fn update_status(&self, active: Option<usize>, file_errors: &[Option<String>]) {
        if let Ok(mut st) = self.status.lock() {
            for (i, c) in st.caches.iter_mut().enumerate() {
                c.up = self.caches[i].up;
                c.active = active == Some(i);
                c.vrps = self.caches[i].set.as_ref().map_or(0, |s| s.len());
            }
            for (i, f) in st.files.iter_mut().enumerate() {
                f.vrps = self.files[i].as_ref().map_or(0, |s| s.len());
                f.error = file_errors.get(i).cloned().flatten();
            }
        }
    }
}
