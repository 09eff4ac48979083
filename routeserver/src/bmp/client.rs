//! One BMP station connection (RFC 7854 section 3.2: the monitored router
//! connects to the station). Messages go through a bounded queue so a slow
//! or absent station never blocks the caller: when the queue is full the
//! message is dropped, counted, and a resync is requested; the producer then
//! sends its whole state again (Peer Up for every session, the routes). A
//! new connection starts with an Initiation and also asks for a resync;
//! what was queued for the old connection is discarded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// First reconnect delay; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Reconnect delay cap.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters shared between the handle and the task.
#[derive(Debug, Default)]
struct Shared {
    dropped: AtomicU64,
    sent: AtomicU64,
    resync: AtomicBool,
    connected: AtomicBool,
}

/// The producer's side of one station connection.
#[derive(Clone, Debug)]
pub struct BmpStation {
    tx: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
    /// `host:port` of the station.
    pub addr: String,
}

impl BmpStation {
    /// Starts the connection task towards `addr` (`host:port`); `initiation`
    /// is sent first on every connection. Must run inside a tokio runtime.
    pub fn start(addr: String, initiation: Bytes, capacity: usize) -> (BmpStation, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(run(addr.clone(), initiation, rx, shared.clone()));
        (BmpStation { tx, shared, addr }, task)
    }

    /// Queues a message; never waits. False when it was dropped (queue full
    /// or task gone): a resync is then requested.
    pub fn send(&self, msg: Bytes) -> bool {
        if self.tx.try_send(msg).is_ok() {
            return true;
        }
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.resync.store(true, Ordering::Relaxed);
        false
    }

    /// True once after a new connection or a drop: the producer must send
    /// its whole state again.
    pub fn take_resync(&self) -> bool {
        self.shared.resync.swap(false, Ordering::Relaxed)
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Messages written to the station.
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Whether a connection is up.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }
}

async fn run(addr: String, initiation: Bytes, mut rx: mpsc::Receiver<Bytes>, shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await;
        let mut sock = match conn {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                warn!(station = %addr, error = %e, retry_in = ?backoff, "BMP station connect failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(_) => {
                warn!(station = %addr, retry_in = ?backoff, "BMP station connect timed out");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // Whatever was queued belonged to the old connection's state.
        while rx.try_recv().is_ok() {}
        if sock.write_all(&initiation).await.is_err() {
            tokio::time::sleep(backoff).await;
            continue;
        }
        info!(station = %addr, "BMP station connected");
        backoff = MIN_BACKOFF;
        shared.connected.store(true, Ordering::Relaxed);
        shared.resync.store(true, Ordering::Relaxed);
        loop {
            let Some(msg) = rx.recv().await else {
                shared.connected.store(false, Ordering::Relaxed);
                return; // every handle dropped
            };
            if let Err(e) = sock.write_all(&msg).await {
                warn!(station = %addr, error = %e, "BMP station connection lost");
                break;
            }
            shared.sent.fetch_add(1, Ordering::Relaxed);
        }
        shared.connected.store(false, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
    }
}
