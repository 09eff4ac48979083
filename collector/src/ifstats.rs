//! Interface counters from the kernel over rtnetlink (RTM_GETLINK, IFLA_STATS64): bytes,
//! packets, errors and drops of the configured fabric interfaces, read every interval, with
//! rates between two reads. An interface the kernel does not know is reported, not fatal.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fox_config::InterfaceSettings;
use futures_util::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, State};
use serde::Serialize;
use tokio::sync::watch;

/// Longest a dump of the kernel's links may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The counters of one interface (IFLA_STATS64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IfCounters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on receive.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
}

impl IfCounters {
    /// The counters as (name, value) pairs, in a fixed order.
    pub fn fields(&self) -> [(&'static str, u64); 8] {
        [
            ("rx_bytes", self.rx_bytes),
            ("tx_bytes", self.tx_bytes),
            ("rx_packets", self.rx_packets),
            ("tx_packets", self.tx_packets),
            ("rx_errors", self.rx_errors),
            ("tx_errors", self.tx_errors),
            ("rx_dropped", self.rx_dropped),
            ("tx_dropped", self.tx_dropped),
        ]
    }
}

/// What one read found for one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkReading {
    /// Kernel interface index.
    pub index: u32,
    /// Operational state is up.
    pub up: bool,
    /// The counters.
    pub counters: IfCounters,
}

/// What went wrong reading interfaces.
#[derive(Debug, thiserror::Error)]
pub enum IfError {
    /// The netlink socket could not be opened.
    #[error("cannot open a netlink socket: {0}")]
    Socket(std::io::Error),
    /// The dump failed.
    #[error("netlink link dump failed: {0}")]
    Dump(String),
    /// No answer in time.
    #[error("netlink link dump took longer than {0:?}")]
    Timeout(Duration),
    /// The kernel has no interface of that name (in this network namespace).
    #[error("interface `{0}` not found")]
    NotFound(String),
    /// The kernel gave no 64-bit counters for it.
    #[error("interface `{0}` has no IFLA_STATS64 counters")]
    NoStats(String),
}

/// Counters of one configured interface and how the last read went.
#[derive(Clone, Debug, Serialize)]
pub struct IfState {
    /// Interface name.
    pub interface: String,
    /// Site label.
    pub site: String,
    /// Kernel index, once found.
    pub index: Option<u32>,
    /// Operational state up, once found.
    pub up: Option<bool>,
    /// Last counters read.
    pub counters: Option<IfCounters>,
    /// Per-second rates of each counter between the last two reads.
    pub rates: Option<IfCounters>,
    /// Why the last read failed (`None` when it worked).
    pub error: Option<String>,
    /// Unix time of the last read attempt.
    pub polled_at: Option<u64>,
    #[serde(skip)]
    read_at: Option<Instant>,
}

/// The configured interfaces and their last readings, shared by the poller, metrics and API.
#[derive(Debug, Default)]
pub struct Interfaces {
    list: Mutex<Vec<IfState>>,
}

impl Interfaces {
    /// Interfaces of `settings`, not read yet.
    pub fn new(settings: &[InterfaceSettings]) -> Self {
        let list = settings
            .iter()
            .map(|s| IfState {
                interface: s.name.clone(),
                site: s.site.clone(),
                index: None,
                up: None,
                counters: None,
                rates: None,
                error: None,
                polled_at: None,
                read_at: None,
            })
            .collect();
        Interfaces {
            list: Mutex::new(list),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<IfState>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The interface names, in configuration order.
    pub fn names(&self) -> Vec<String> {
        self.lock().iter().map(|s| s.interface.clone()).collect()
    }

    /// A copy of every interface's state.
    pub fn snapshot(&self) -> Vec<IfState> {
        self.lock().clone()
    }

    /// Records the result of one read of every interface (same order as `names`), taken at
    /// `at` (monotonic) and unix time `now`.
    pub fn update(&self, results: Vec<Result<LinkReading, IfError>>, at: Instant, now: u64) {
        let mut list = self.lock();
        for (s, r) in list.iter_mut().zip(results) {
            s.polled_at = Some(now);
            match r {
                Ok(reading) => {
                    if let (Some(old), Some(t0)) = (s.counters, s.read_at) {
                        let secs = at.duration_since(t0).as_secs_f64();
                        if secs > 0.0 {
                            s.rates = Some(rates(&old, &reading.counters, secs));
                        }
                    }
                    s.index = Some(reading.index);
                    s.up = Some(reading.up);
                    s.counters = Some(reading.counters);
                    s.read_at = Some(at);
                    s.error = None;
                }
                Err(e) => {
                    if s.error.is_none() {
                        tracing::warn!(interface = %s.interface, error = %e, "interface counters");
                    }
                    s.error = Some(e.to_string());
                    s.rates = None;
                }
            }
        }
    }
}

/// Per-second change from `old` to `new` over `secs` (a counter that went back, e.g. after
/// the interface was re-created, gives 0).
fn rates(old: &IfCounters, new: &IfCounters, secs: f64) -> IfCounters {
    let r = |a: u64, b: u64| (b.saturating_sub(a) as f64 / secs).round() as u64;
    IfCounters {
        rx_bytes: r(old.rx_bytes, new.rx_bytes),
        tx_bytes: r(old.tx_bytes, new.tx_bytes),
        rx_packets: r(old.rx_packets, new.rx_packets),
        tx_packets: r(old.tx_packets, new.tx_packets),
        rx_errors: r(old.rx_errors, new.rx_errors),
        tx_errors: r(old.tx_errors, new.tx_errors),
        rx_dropped: r(old.rx_dropped, new.rx_dropped),
        tx_dropped: r(old.tx_dropped, new.tx_dropped),
    }
}

/// Name and reading of one link message, if it has a name.
fn reading(m: &LinkMessage) -> Option<(String, Option<LinkReading>)> {
    let mut name = None;
    let mut stats = None;
    let mut up = false;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Stats64(s) => {
                stats = Some(IfCounters {
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                })
            }
            LinkAttribute::OperState(s) => up = *s == State::Up,
            _ => {}
        }
    }
    let reading = stats.map(|counters| LinkReading {
        index: m.header.index,
        up,
        counters,
    });
    Some((name?, reading))
}

/// Reads the counters of `names` with one link dump over `handle`.
pub async fn read_links(
    handle: &rtnetlink::Handle,
    names: &[String],
) -> Result<Vec<Result<LinkReading, IfError>>, IfError> {
    let dump = async {
        let mut found = Vec::new();
        let mut links = handle.link().get().execute();
        while let Some(m) = links
            .try_next()
            .await
            .map_err(|e| IfError::Dump(e.to_string()))?
        {
            if let Some(r) = reading(&m) {
                found.push(r);
            }
        }
        Ok::<_, IfError>(found)
    };
    let found = tokio::time::timeout(READ_TIMEOUT, dump)
        .await
        .map_err(|_| IfError::Timeout(READ_TIMEOUT))??;
    Ok(names
        .iter()
        .map(|n| match found.iter().find(|(name, _)| name == n) {
            None => Err(IfError::NotFound(n.clone())),
            Some((_, None)) => Err(IfError::NoStats(n.clone())),
            Some((_, Some(r))) => Ok(r.clone()),
        })
        .collect())
}

/// Opens an rtnetlink connection in the current network namespace; its driver task runs on
/// the current runtime.
pub fn connect() -> Result<rtnetlink::Handle, IfError> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(IfError::Socket)?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Reads every interface of `interfaces` once and records the result.
pub async fn poll_once(interfaces: &Interfaces, handle: &rtnetlink::Handle) {
    let names = interfaces.names();
    let results = match read_links(handle, &names).await {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            names
                .iter()
                .map(|_| Err(IfError::Dump(msg.clone())))
                .collect()
        }
    };
    interfaces.update(results, Instant::now(), crate::server::unix_now());
}

/// Reads `interfaces` every `interval` until `shutdown` changes.
pub async fn run(
    interfaces: Arc<Interfaces>,
    interval: Duration,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let handle = match connect() {
        Ok(h) => h,
        Err(e) => {
            let msg = e.to_string();
            let n = interfaces.names().len();
            interfaces.update(
                (0..n).map(|_| Err(IfError::Dump(msg.clone()))).collect(),
                Instant::now(),
                crate::server::unix_now(),
            );
            tracing::error!(error = %e, "interface counters disabled");
            return;
        }
    };
    let mut iv = tokio::time::interval(interval);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = iv.tick() => poll_once(&interfaces, &handle).await,
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_between_reads_and_errors_kept() {
        let ifs = Interfaces::new(&[
            InterfaceSettings {
                name: "e1".into(),
                site: "a".into(),
            },
            InterfaceSettings {
                name: "e2".into(),
                site: "b".into(),
            },
        ]);
        let t0 = Instant::now();
        let c = |rx: u64| IfCounters {
            rx_bytes: rx,
            rx_packets: rx / 100,
            ..IfCounters::default()
        };
        let ok = |rx| {
            Ok(LinkReading {
                index: 7,
                up: true,
                counters: c(rx),
            })
        };
        ifs.update(vec![ok(1000), Err(IfError::NotFound("e2".into()))], t0, 1);
        let s = ifs.snapshot();
        assert_eq!(s[0].counters, Some(c(1000)));
        assert_eq!(s[0].rates, None);
        assert_eq!(s[1].error.as_deref(), Some("interface `e2` not found"));
        ifs.update(
            vec![ok(21_000), Err(IfError::NotFound("e2".into()))],
            t0 + Duration::from_secs(2),
            3,
        );
        let s = ifs.snapshot();
        let r = s[0].rates.expect("rates after two reads");
        assert_eq!((r.rx_bytes, r.rx_packets), (10_000, 100));
        assert_eq!(s[0].polled_at, Some(3));
        assert!(s[1].counters.is_none());
    }
}
