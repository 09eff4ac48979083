//! One RTR client task per cache (RFC 8210 / RFC 6810, and version 2 of
//! draft-ietf-sidrops-8210bis where the cache speaks it).
//!
//! The task connects, runs `rpki::rtr::Client` until the session ends,
//! and reconnects with exponential backoff. Between sessions it keeps the
//! cache's last set and the session state, so a reconnect is a serial
//! query, until the expire interval from the cache's timing has passed
//! since the last successful update; then it drops the data. Each change
//! is reported to the manager as a [`CacheEvent`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::rpki::rtr::client::Client;
use ::rpki::rtr::payload::Timing;
use ::rpki::rtr::State;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{info, warn};

use super::metrics::RpkiMetrics;
use super::rtr_target::CacheTarget;
use super::vrp::VrpSet;

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// First reconnect delay; doubles up to the cap after each failure.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Reconnect delay cap (also capped by the cache's retry interval).
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The highest RTR version we propose.
const MAX_VERSION: u8 = 2;

/// Where an RTR cache listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RtrCache {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// An RTR cache address that does not parse.
#[derive(Debug, Error)]
#[error("invalid RTR cache {0:?}: expected host:port or [v6addr]:port")]
pub struct RtrCacheParseError(String);

impl From<SocketAddr> for RtrCache {
    fn from(a: SocketAddr) -> Self {
        RtrCache {
            host: a.ip().to_string(),
            port: a.port(),
        }
    }
}

impl From<(&str, u16)> for RtrCache {
    fn from((host, port): (&str, u16)) -> Self {
        RtrCache {
            host: host.to_string(),
            port,
        }
    }
}

impl FromStr for RtrCache {
    type Err = RtrCacheParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(a.into());
        }
        let err = || RtrCacheParseError(s.to_string());
        let (host, port) = s.rsplit_once(':').ok_or_else(err)?;
        if host.is_empty() || host.contains(':') {
            return Err(err());
        }
        Ok(RtrCache {
            host: host.to_string(),
            port: port.parse().map_err(|_| err())?,
        })
    }
}

impl fmt::Display for RtrCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a cache task reports to the manager.
#[derive(Clone, Debug)]
pub(crate) enum CacheEvent {
    /// The cache delivered a complete set (first sync or a later update).
    Up {
        /// The cache's VRPs.
        set: Arc<VrpSet>,
    },
    /// The session ended or could not be established; data is kept.
    Down,
    /// The expire interval passed without a refresh: data dropped.
    Expired,
}

/// Records the version byte of each PDU the cache sends.
struct VersionSniffer<S> {
    inner: S,
    header: [u8; 8],
    header_len: usize,
    skip: u64,
    /// Version of the last PDU header seen; `NONE` before the first one.
    version: Arc<AtomicU8>,
}

/// No PDU seen yet.
const NONE: u8 = u8::MAX;

impl<S> VersionSniffer<S> {
    fn new(inner: S, version: Arc<AtomicU8>) -> Self {
        version.store(NONE, Ordering::Relaxed);
        VersionSniffer {
            inner,
            header: [0; 8],
            header_len: 0,
            skip: 0,
            version,
        }
    }

    fn observe(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            let n = (8 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len == 8 {
                self.version.store(self.header[0], Ordering::Relaxed);
                let len = u32::from_be_bytes([
                    self.header[4],
                    self.header[5],
                    self.header[6],
                    self.header[7],
                ]);
                self.skip = u64::from(len).saturating_sub(8);
                self.header_len = 0;
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for VersionSniffer<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            let this = &mut *self;
            this.observe(&buf.filled()[before..]);
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for VersionSniffer<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The long-running client of one cache.
pub(crate) struct CacheTask {
    /// Position in the preference list (0 = most preferred).
    pub(crate) idx: usize,
    /// The cache.
    pub(crate) cache: RtrCache,
    /// Where events go.
    pub(crate) events: mpsc::UnboundedSender<(usize, CacheEvent)>,
    /// Metrics handles.
    pub(crate) metrics: RpkiMetrics,
}

/// State kept across sessions with one cache.
struct Kept {
    set: Arc<VrpSet>,
    state: Option<State>,
    timing: Timing,
    expires: Option<Instant>,
    version: u8,
}

impl CacheTask {
    /// Runs until the task is aborted.
    pub(crate) async fn run(self) {
        let name = self.cache.to_string();
        let source = format!("rtr:{name}");
        let mut kept = Kept {
            set: Arc::new(VrpSet::new()),
            state: None,
            timing: Timing::default(),
            expires: None,
            version: MAX_VERSION,
        };
        let mut backoff = MIN_BACKOFF;
        loop {
            let addr = (self.cache.host.as_str(), self.cache.port);
            match timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(sock)) => {
                    if self.session(sock, &mut kept, &name, &source).await {
                        backoff = MIN_BACKOFF;
                    }
                }
                Ok(Err(e)) => {
                    warn!(cache = %name, error = %e, "RTR cache connect failed");
                    self.metrics.error(&source);
                }
                Err(_) => {
                    warn!(cache = %name, "RTR cache connect timed out");
                    self.metrics.error(&source);
                }
            }
            self.metrics.cache_up.with_label_values(&[&name]).set(0);
            let _ = self.events.send((self.idx, CacheEvent::Down));
            // Wait before reconnecting; drop the data if it expires meanwhile.
            let retry = Duration::from_secs(u64::from(kept.timing.retry).max(1));
            let wake = Instant::now() + backoff.min(retry);
            if let Some(exp) = kept.expires.filter(|e| *e <= wake) {
                sleep_until(exp).await;
                warn!(cache = %name, vrps = kept.set.len(), "RTR cache data expired, dropping it");
                kept.set = Arc::new(VrpSet::new());
                kept.state = None;
                kept.expires = None;
                self.metrics.expired.with_label_values(&[&name]).inc();
                self.metrics.vrps.with_label_values(&[&source]).set(0);
                let _ = self.events.send((self.idx, CacheEvent::Expired));
            }
            sleep_until(wake).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs one session; returns whether it delivered data.
    async fn session(&self, sock: TcpStream, kept: &mut Kept, name: &str, source: &str) -> bool {
        let _ = sock.set_nodelay(true);
        let seen = Arc::new(AtomicU8::new(NONE));
        let events = self.events.clone();
        let metrics = self.metrics.clone();
        let (idx, src, nm, seen2) = (self.idx, source.to_string(), name.to_string(), seen.clone());
        let on_update = Box::new(move |set: &Arc<VrpSet>, timing: Timing| {
            let version = seen2.load(Ordering::Relaxed);
            info!(cache = %nm, vrps = set.len(), version, refresh = timing.refresh, expire = timing.expire, "RTR cache update applied");
            metrics.updated(&src, set.len());
            metrics.cache_up.with_label_values(&[&nm]).set(1);
            metrics
                .cache_version
                .with_label_values(&[&nm])
                .set(i64::from(version));
            let _ = events.send((idx, CacheEvent::Up { set: set.clone() }));
        });
        let target = CacheTarget::new(kept.set.clone(), on_update);
        // The client reads PDUs field by field: buffer to save syscalls.
        let sniffer = BufReader::with_capacity(64 * 1024, VersionSniffer::new(sock, seen.clone()));
        let mut client = Client::with_initial_version(kept.version, sniffer, target, kept.state);
        info!(cache = %name, version = kept.version, serial = kept.state.map(|s| s.serial().0), "RTR session started");
        let res = client.run().await;
        let state = client.state();
        let target = client.into_target();
        let synced = target.updates > 0;
        let heard = seen.load(Ordering::Relaxed);
        kept.set = target.set;
        if synced {
            kept.timing = target.timing;
            kept.expires = target
                .last_update
                .map(|t| t + Duration::from_secs(u64::from(target.timing.expire)));
            kept.version = heard.min(MAX_VERSION);
        } else if heard < kept.version {
            // The cache answered in a lower version (an Unsupported
            // Protocol Version error) and closed: propose that next time.
            info!(cache = %name, from = kept.version, to = heard, "RTR version downgrade");
            kept.version = heard;
        }
        match res {
            Ok(()) => {
                info!(cache = %name, "RTR cache closed the session");
                kept.state = state;
            }
            Err(e) => {
                // After a protocol error the data may be out of step: the
                // next session starts with a reset query.
                warn!(cache = %name, error = %e, "RTR session failed");
                self.metrics.error(source);
                kept.state = None;
            }
        }
        synced
    }
}

/// Run one client session against a cache that sends `data` and then
/// closes: the RTR PDU decoding path of [`CacheTask`] without a socket.
/// Returns how many complete updates were applied. For fuzzing.
pub(crate) async fn session_over(data: Vec<u8>, version: u8, serial: Option<u32>) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut rd, mut wr) = tokio::io::split(theirs);
    let cache = async move {
        let _ = wr.write_all(&data).await;
        let _ = wr.shutdown().await;
        drop(wr);
        // Read the client's queries so it never blocks on a full pipe.
        let mut sink = [0u8; 4096];
        while let Ok(n) = rd.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let seen = Arc::new(AtomicU8::new(NONE));
    let target = CacheTarget::new(Arc::default(), Box::new(|_, _| {}));
    let state = serial.map(|s| State::new_with_serial(::rpki::rtr::Serial(s)));
    let sniffer = BufReader::new(VersionSniffer::new(ours, seen));
    let mut client = Client::with_initial_version(version, sniffer, target, state);
    // The cache task ends with the runtime; the session ends at EOF.
    let cache = tokio::spawn(cache);
    let _ = timeout(Duration::from_secs(5), client.run()).await;
    cache.abort();
    client.into_target().updates
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache that answers a query above version 1 with an Unsupported
    /// Protocol Version error and closes: the next session proposes v1.
    #[tokio::test]
    async fn reconnects_with_the_version_the_cache_asked_for() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut versions = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut q = [0u8; 8];
                s.read_exact(&mut q).await.unwrap();
                versions.push(q[0]);
                // Error Report v1, code 4, no encapsulated PDU, no text.
                let err = [1, 10, 0, 4, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0];
                s.write_all(&err).await.unwrap();
                drop(s);
            }
            versions
        });
        let registry = prometheus::Registry::new();
        let (tx, _rx) = mpsc::unbounded_channel();
        let task = CacheTask {
            idx: 0,
            cache: addr.into(),
            events: tx,
            metrics: RpkiMetrics::register(&registry).unwrap(),
        };
        let client = tokio::spawn(task.run());
        let versions = timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        client.abort();
        assert_eq!(versions, vec![2, 1]);
    }

    #[test]
    fn cache_addresses_parse() {
        let c: RtrCache = "127.0.0.1:8282".parse().unwrap();
        assert_eq!(c.to_string(), "127.0.0.1:8282");
        let c: RtrCache = "[::1]:323".parse().unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 323));
        assert_eq!(c.to_string(), "[::1]:323");
        let c: RtrCache = "rpki.example.net:3323".parse().unwrap();
        assert_eq!(c.host, "rpki.example.net");
        assert!("rpki.example.net".parse::<RtrCache>().is_err());
        assert!("::1".parse::<RtrCache>().is_err());
        assert!("h:99999".parse::<RtrCache>().is_err());
        assert_eq!(
            RtrCache::from(("rtr.example", 8282)).to_string(),
            "rtr.example:8282"
        );
    }

    #[test]
    fn sniffer_tracks_pdu_versions_across_splits() {
        let v = Arc::new(AtomicU8::new(0));
        let mut s = VersionSniffer::new((), v.clone());
        assert_eq!(v.load(Ordering::Relaxed), NONE);
        // Cache Response v1 (8 bytes) then an IPv4 prefix PDU v1 (20 bytes)
        // then End of Data v0 header, fed in odd pieces.
        let mut bytes = vec![1, 3, 0, 7, 0, 0, 0, 8];
        bytes.extend([
            1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 24, 0, 192, 0, 2, 0, 0, 0, 0, 1,
        ]);
        bytes.extend([0, 7, 0, 7, 0, 0, 0, 12, 0, 0, 0, 1]);
        s.observe(&bytes[..5]);
        assert_eq!(v.load(Ordering::Relaxed), NONE);
        s.observe(&bytes[5..19]);
        assert_eq!(v.load(Ordering::Relaxed), 1);
        s.observe(&bytes[19..30]);
        assert_eq!(v.load(Ordering::Relaxed), 1);
        s.observe(&bytes[30..]);
        assert_eq!(v.load(Ordering::Relaxed), 0);
    }
}
