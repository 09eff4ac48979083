//! BGP4MP update logs (RFC 6396 section 4.4), as route collectors publish
//! them: every UPDATE a member sends, byte for byte as received, and every
//! session state change, appended to gzip files named by the UTC start of
//! their interval and rotated every interval.
//!
//! The sessions only queue records ([`PeerLog::message`],
//! [`PeerLog::state`]) into a bounded queue that never waits: when the
//! writer (a thread of its own) falls behind, records are dropped and
//! counted in `fox_mrt_update_log_dropped_total`, so a slow disk never
//! slows BGP. A file is written under a temporary name and renamed when its
//! interval ends, so a reader never sees half a gzip stream.
//!
//! Subtypes: BGP4MP_MESSAGE_AS4 (4) for sessions with 4-octet ASNs
//! (RFC 6793), BGP4MP_MESSAGE (1) for a member that did not negotiate them,
//! since the UPDATE is logged as received (2-octet AS_PATH);
//! BGP4MP_STATE_CHANGE_AS4 (5) for state changes.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prometheus::{IntCounter, Registry};
use tracing::{error, info};

use crate::session::status::State;
use crate::wire::{Asn, AS_TRANS};

/// MRT type BGP4MP.
const BGP4MP: u16 = 16;
/// BGP4MP subtypes.
const MESSAGE: u16 = 1;
const MESSAGE_AS4: u16 = 4;
const STATE_CHANGE_AS4: u16 = 5;

/// Where and how the logs are written.
#[derive(Clone, Debug)]
pub struct UpdateLogConfig {
    /// Directory of the files (created if missing).
    pub dir: PathBuf,
    /// File name pattern with `%Y %m %d %H %M %S` (UTC).
    pub file: String,
    /// Rotation interval, aligned to multiples of it in UTC.
    pub interval: Duration,
    /// Files kept; older ones are deleted.
    pub keep: usize,
    /// Records queued before new ones are dropped.
    pub queue: usize,
}

/// The endpoints of one session as the records carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The member's ASN and address.
    pub peer: (Asn, IpAddr),
    /// The route server's ASN and address on the session.
    pub local: (Asn, IpAddr),
    /// Whether 4-octet ASNs were negotiated (the UPDATE's AS_PATH format).
    pub four_octet_as: bool,
}

enum Record {
    Message(u32, Arc<Endpoints>, Bytes),
    State(u32, Arc<Endpoints>, State, State),
}

/// The handle the sessions log through (cheap to clone).
#[derive(Clone, Debug)]
pub struct UpdateLog {
    tx: SyncSender<Record>,
    dropped: IntCounter,
    stop: Arc<AtomicBool>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// One session's view of the log.
#[derive(Clone, Debug)]
pub struct PeerLog {
    log: UpdateLog,
    ends: Arc<Endpoints>,
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Record")
    }
}

impl UpdateLog {
    /// Starts the writer thread; the drop counter is registered in `registry`.
    pub fn start(cfg: UpdateLogConfig, registry: &Registry) -> io::Result<UpdateLog> {
        std::fs::create_dir_all(&cfg.dir)?;
        let dropped = IntCounter::new(
            "fox_mrt_update_log_dropped_total",
            "BGP4MP records dropped because the MRT update log writer fell behind",
        )
        .map_err(io::Error::other)?;
        // A second route server in the same registry shares the counter name.
        let _ = registry.register(Box::new(dropped.clone()));
        let (tx, rx) = sync_channel(cfg.queue.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mrt-updates".into())
            .spawn(move || writer(cfg, rx, s))?;
        Ok(UpdateLog {
            tx,
            dropped,
            stop,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// A session's handle with its endpoints.
    pub fn peer(&self, ends: Endpoints) -> PeerLog {
        PeerLog {
            log: self.clone(),
            ends: Arc::new(ends),
        }
    }

    fn push(&self, r: Record) {
        match self.tx.try_send(r) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => self.dropped.inc(),
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Writes what is queued, closes the current file and stops the writer
    /// (blocking; call from a blocking context).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let t = match self.thread.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}

impl PeerLog {
    /// An UPDATE as received (the whole BGP message, header included).
    pub fn message(&self, raw: Bytes) {
        self.log
            .push(Record::Message(now_secs(), self.ends.clone(), raw));
    }

    /// A state change of the session.
    pub fn state(&self, old: State, new: State) {
        self.log
            .push(Record::State(now_secs(), self.ends.clone(), old, new));
    }

    /// The same log with new endpoints (the session's real local address
    /// and negotiated capabilities once it is up).
    pub fn with(&self, ends: Endpoints) -> PeerLog {
        self.log.peer(ends)
    }

    /// The endpoints the records carry.
    pub fn endpoints(&self) -> &Endpoints {
        &self.ends
    }
}

/// Gives a new session's status its log handle (the configured local
/// address until the session is up).
pub fn attach(
    status: &crate::session::SharedStatus,
    cfg: &crate::session::NeighborConfig,
    log: Option<&UpdateLog>,
) {
    let Some(log) = log else {
        return;
    };
    let local = cfg.local_address.unwrap_or(match cfg.address {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    });
    let p = log.peer(Endpoints {
        peer: (cfg.asn, cfg.address),
        local: (cfg.local_asn, local),
        four_octet_as: true,
    });
    if let Ok(mut s) = status.lock() {
        s.mrt = Some(p);
    }
}

/// A session reached Established: its records carry the connection's real
/// local address and the negotiated AS size from now on. Returns the handle
/// for its UPDATEs.
pub fn established(
    status: &crate::session::SharedStatus,
    addrs: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
    four_octet_as: bool,
) -> Option<PeerLog> {
    let mut s = status.lock().ok()?;
    let old = s.mrt.as_ref()?;
    let mut ends = old.endpoints().clone();
    if let Some((local, _)) = addrs {
        ends.local.1 = local.ip();
    }
    ends.four_octet_as = four_octet_as;
    let p = old.with(ends);
    s.mrt = Some(p.clone());
    Some(p)
}

fn put_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

/// Peer/local AS, interface index, AFI and both addresses; the local
/// address is written in the peer's family (unspecified if it has none).
fn put_endpoints(out: &mut Vec<u8>, e: &Endpoints, as4: bool) {
    if as4 {
        out.extend_from_slice(&e.peer.0.to_be_bytes());
        out.extend_from_slice(&e.local.0.to_be_bytes());
    } else {
        for a in [e.peer.0, e.local.0] {
            let a = u16::try_from(a).unwrap_or(AS_TRANS as u16);
            out.extend_from_slice(&a.to_be_bytes());
        }
    }
    out.extend_from_slice(&0u16.to_be_bytes()); // interface index
    let peer = e.peer.1.to_canonical();
    let local = match (peer, e.local.1.to_canonical()) {
        (IpAddr::V4(_), l @ IpAddr::V4(_)) | (IpAddr::V6(_), l @ IpAddr::V6(_)) => l,
        (IpAddr::V4(_), _) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (IpAddr::V6(_), _) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let afi: u16 = if peer.is_ipv4() { 1 } else { 2 };
    out.extend_from_slice(&afi.to_be_bytes());
    put_ip(out, peer);
    put_ip(out, local);
}

fn header(out: &mut Vec<u8>, time: u32, subtype: u16, body: &[u8]) {
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&BGP4MP.to_be_bytes());
    out.extend_from_slice(&subtype.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// One record in MRT format (RFC 6396 4.4.2-4.4.4).
fn encode(r: &Record, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(64);
    match r {
        Record::Message(t, e, raw) => {
            put_endpoints(&mut body, e, e.four_octet_as);
            body.extend_from_slice(raw);
            let sub = if e.four_octet_as {
                MESSAGE_AS4
            } else {
                MESSAGE
            };
            header(out, *t, sub, &body);
        }
        Record::State(t, e, old, new) => {
            put_endpoints(&mut body, e, true);
            body.extend_from_slice(&(*old as u16).to_be_bytes());
            body.extend_from_slice(&(*new as u16).to_be_bytes());
            header(out, *t, STATE_CHANGE_AS4, &body);
        }
    }
}

/// The file name for the interval starting at `unix` (UTC fields of `pattern`).
pub fn file_name(pattern: &str, unix: u64) -> String {
    let (y, mo, d, h, mi) = super::mrt_periodic::utc(unix);
    let s = unix % 60;
    pattern
        .replace("%Y", &format!("{y:04}"))
        .replace("%m", &format!("{mo:02}"))
        .replace("%d", &format!("{d:02}"))
        .replace("%H", &format!("{h:02}"))
        .replace("%M", &format!("{mi:02}"))
        .replace("%S", &format!("{s:02}"))
}

/// The fixed text before the first and after the last `%` field: the files
/// of the log are the names with both.
fn affixes(pattern: &str) -> (&str, &str) {
    let pre = &pattern[..pattern.find('%').unwrap_or(pattern.len())];
    let post = match pattern.rfind('%') {
        Some(i) => &pattern[(i + 2).min(pattern.len())..],
        None => "",
    };
    (pre, post)
}

/// Deletes all but the newest `keep` log files in `dir` (names sort by time).
fn rotate(dir: &Path, pattern: &str, keep: usize) -> io::Result<()> {
    let (pre, post) = affixes(pattern);
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(pre) && n.ends_with(post) && !n.starts_with('.'))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(keep);
    for n in &names[..extra] {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(())
}

type Gz = flate2::write::GzEncoder<io::BufWriter<std::fs::File>>;

struct Open {
    slot: u64,
    gz: Gz,
    tmp: PathBuf,
    path: PathBuf,
    records: u64,
}

fn close(f: Open, cfg: &UpdateLogConfig) {
    let res =
        f.gz.finish()
            .and_then(|mut w| w.flush())
            .and_then(|_| std::fs::rename(&f.tmp, &f.path))
            .and_then(|_| rotate(&cfg.dir, &cfg.file, cfg.keep));
    match res {
        Ok(()) => info!(file = %f.path.display(), records = f.records, "MRT update log written"),
        Err(e) => error!(file = %f.path.display(), error = %e, "MRT update log failed"),
    }
}

fn open(cfg: &UpdateLogConfig, slot: u64) -> io::Result<Open> {
    let name = file_name(&cfg.file, slot);
    let path = cfg.dir.join(&name);
    let tmp = cfg.dir.join(format!(".{name}.tmp"));
    let f = std::fs::File::create(&tmp)?;
    let gz = flate2::write::GzEncoder::new(io::BufWriter::new(f), flate2::Compression::default());
    Ok(Open {
        slot,
        gz,
        tmp,
        path,
        records: 0,
    })
}

fn write(cfg: &UpdateLogConfig, cur: &mut Option<Open>, buf: &mut Vec<u8>, rec: &Record) {
    let interval = cfg.interval.as_secs().max(1);
    let slot = u64::from(now_secs()) / interval * interval;
    if cur.as_ref().is_some_and(|c| c.slot != slot) {
        if let Some(c) = cur.take() {
            close(c, cfg);
        }
    }
    if cur.is_none() {
        match open(cfg, slot) {
            Ok(o) => *cur = Some(o),
            Err(e) => {
                error!(dir = %cfg.dir.display(), error = %e, "cannot open the MRT update log");
                return;
            }
        }
    }
    buf.clear();
    encode(rec, buf);
    if let Some(c) = cur.as_mut() {
        if let Err(e) = c.gz.write_all(buf) {
            error!(file = %c.path.display(), error = %e, "MRT update log write failed");
        }
        c.records += 1;
    }
}

fn writer(cfg: UpdateLogConfig, rx: Receiver<Record>, stop: Arc<AtomicBool>) {
    let interval = cfg.interval.as_secs().max(1);
    let mut cur: Option<Open> = None;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let slot = u64::from(now_secs()) / interval * interval;
        // The interval ended: close its file.
        if cur.as_ref().is_some_and(|c| c.slot != slot) {
            if let Some(c) = cur.take() {
                close(c, &cfg);
            }
        }
        if stop.load(Ordering::Relaxed) {
            // Shutdown: what is queued, then the file is closed.
            while let Ok(rec) = rx.try_recv() {
                write(&cfg, &mut cur, &mut buf, &rec);
            }
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(rec) => write(&cfg, &mut cur, &mut buf, &rec),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(c) = cur.take() {
        close(c, &cfg);
    }
}

#[cfg(test)]
#[path = "mrt_updates_tests.rs"]
mod tests;
