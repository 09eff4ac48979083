//! netem's delay and loss without netem, for kernels built without `sch_netem`: namespaces
//! `a` and `b` each get a TUN device `tun0` (L3, no packet info; 10.78.N.1/30 and .2/30),
//! and a relay thread in the test process reads every IP packet from one TUN and writes it
//! to the other after a fixed one-way delay, dropping each with a fixed probability drawn
//! from a seeded RNG. The relay measures how late it writes each packet against its due
//! time. Dropping a `TunLink` stops the relay, closes both TUNs and removes the namespaces.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Lab;

/// Longest the relay waits in one `ppoll` before it looks at its stop flag again.
const POLL_MAX: Duration = Duration::from_millis(20);
/// Most packets read from one TUN in one pass of the relay loop.
const READ_BURST: usize = 64;
/// Most packets queued in one direction; more are dropped and counted as `overflow`.
const QUEUE_MAX: usize = 8192;
/// Most lateness samples kept.
const LATENESS_MAX: usize = 1_000_000;

/// The impairment applied in each direction.
#[derive(Clone, Copy, Debug)]
pub struct Impairment {
    /// Delay added to every packet, each way.
    pub one_way: Duration,
    /// Probability that a packet is dropped, each way.
    pub loss: f64,
    /// RNG seed of the drops.
    pub seed: u64,
}

/// What the relay did. Index 0 is `a` to `b`, 1 is `b` to `a`.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// IPv4 packets written to the other side.
    pub forwarded: [u64; 2],
    /// IPv4 packets dropped by the RNG.
    pub dropped: [u64; 2],
    /// Packets that were not IPv4 (not relayed, no RNG draw).
    pub not_ipv4: u64,
    /// Packets dropped because a queue was full.
    pub overflow: u64,
    /// For each forwarded packet, seconds between its due time and its write.
    pub lateness: Vec<f64>,
    /// The relay thread ran as SCHED_FIFO (else at normal priority).
    pub realtime: bool,
    /// Why the relay stopped early, if it did.
    pub error: Option<String>,
}

impl RelayStats {
    /// The `q` quantile (0..=1) of the lateness, seconds.
    pub fn lateness_quantile(&self, q: f64) -> Option<f64> {
        let mut v = self.lateness.clone();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied()
    }
}

/// Two namespaces joined through the relay.
pub struct TunLink {
    /// The namespaces (`addr(1)` in `a`, `addr(2)` in `b`).
    pub lab: Lab,
    stop: Arc<AtomicBool>,
    relay: Option<JoinHandle<RelayStats>>,
}

impl TunLink {
    /// Creates the namespaces, their TUN devices and the relay with `imp`; the relay ends by
    /// itself after `limit` at the latest.
    pub fn new(tag: &str, net: u8, imp: Impairment, limit: Duration) -> Result<TunLink, String> {
        let lab = Lab::bare(tag, net)?;
        let mut fds = Vec::new();
        for (n, host) in [("a", 1), ("b", 2)] {
            // No IPv6 on the link: only the test's IPv4 packets go through the relay.
            let _ = lab.exec(n, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
            let _ = lab.exec(
                n,
                &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
            );
            fds.push(open_tun(lab.ns(n), "tun0")?);
            let addr = format!("{}/30", lab.addr(host));
            lab.exec(n, &["ip", "addr", "add", &addr, "dev", "tun0"])?;
            lab.exec(n, &["ip", "link", "set", "tun0", "up"])?;
        }
        let (Some(b), Some(a)) = (fds.pop(), fds.pop()) else {
            return Err("two TUN devices".into());
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let relay = std::thread::Builder::new()
            .name("tun-relay".into())
            .spawn(move || relay([a, b], imp, &flag, limit))
            .map_err(|e| format!("relay thread: {e}"))?;
        Ok(TunLink {
            lab,
            stop,
            relay: Some(relay),
        })
    }

    /// Stops the relay and returns what it did.
    pub fn finish(&mut self) -> RelayStats {
        self.stop.store(true, Ordering::Relaxed);
        match self.relay.take().map(|h| h.join()) {
            Some(Ok(st)) => st,
            Some(Err(_)) => RelayStats {
                error: Some("relay thread panicked".into()),
                ..RelayStats::default()
            },
            None => RelayStats {
                error: Some("relay already finished".into()),
                ..RelayStats::default()
            },
        }
    }
}

impl Drop for TunLink {
    fn drop(&mut self) {
        if self.relay.is_some() {
            let _ = self.finish();
        }
        // Then `lab` drops: the namespaces go, and with them the (closed) TUN devices.
    }
}

/// Opens TUN device `name` (created, not persistent) in namespace `ns`: a thread enters the
/// namespace, so the device is made there.
fn open_tun(ns: String, name: &'static str) -> Result<OwnedFd, String> {
    std::thread::spawn(move || {
        let file = File::open(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        // SAFETY: setns on a valid namespace fd; it only changes this thread's namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        let flags = libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path and plain flags.
        let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), flags) };
        if raw < 0 {
            return Err(format!("/dev/net/tun: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: ifreq is plain data; all zero is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF on a /dev/net/tun fd with a valid ifreq that outlives the call.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } != 0 {
            return Err(format!("TUNSETIFF: {}", std::io::Error::last_os_error()));
        }
        Ok(fd)
    })
    .join()
    .map_err(|_| "TUN thread panicked".to_string())?
}

/// SplitMix64: a small seeded generator, enough for drop decisions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs this thread as SCHED_FIFO, so a loaded machine delays the relay as little as it can.
fn set_realtime() -> bool {
    let p = libc::sched_param { sched_priority: 10 };
    // SAFETY: pid 0 is this thread; `p` is a valid sched_param.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) == 0 }
}

/// The relay loop: writes what is due, waits for input or the next due time, reads what
/// came. Ends on `stop`, after `limit`, or at the first error of a TUN.
fn relay(fds: [OwnedFd; 2], imp: Impairment, stop: &AtomicBool, limit: Duration) -> RelayStats {
    let mut st = RelayStats {
        realtime: set_realtime(),
        ..RelayStats::default()
    };
    let mut rng = SplitMix(imp.seed);
    let mut queues: [VecDeque<(Instant, Vec<u8>)>; 2] = Default::default();
    let mut buf = vec![0u8; 65536];
    let end = Instant::now() + limit;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        let now = Instant::now();
        for (dir, q) in queues.iter_mut().enumerate() {
            while q.front().is_some_and(|(due, _)| *due <= now) {
                let Some((due, pkt)) = q.pop_front() else {
                    break;
                };
                let at = Instant::now();
                if st.lateness.len() < LATENESS_MAX {
                    st.lateness.push(at.duration_since(due).as_secs_f64());
                }
                let to = fds[1 - dir].as_raw_fd();
                // SAFETY: a valid fd and a buffer of `pkt.len()` bytes.
                let n = unsafe { libc::write(to, pkt.as_ptr().cast(), pkt.len()) };
                if n < 0 {
                    st.error = Some(format!("TUN write: {}", std::io::Error::last_os_error()));
                    return st;
                }
                st.forwarded[dir] += 1;
            }
        }
        let next = queues.iter().filter_map(|q| q.front().map(|p| p.0)).min();
        let wait = next.map_or(POLL_MAX, |d| {
            d.saturating_duration_since(Instant::now()).min(POLL_MAX)
        });
        let mut pfds = fds.each_ref().map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: wait.subsec_nanos().into(),
        };
        // SAFETY: two valid pollfds, a valid timespec and no signal mask.
        let r = unsafe { libc::ppoll(pfds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            st.error = Some(format!("ppoll: {e}"));
            return st;
        }
        for (dir, p) in pfds.iter().enumerate() {
            if p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                st.error = Some(format!("TUN {dir} poll events {:#x}", p.revents));
                return st;
            }
            if p.revents & libc::POLLIN == 0 {
                continue;
            }
            for _ in 0..READ_BURST {
                // SAFETY: a valid fd and a buffer of `buf.len()` bytes.
                let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
                let arrived = Instant::now();
                if n < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.kind() == std::io::ErrorKind::WouldBlock {
                        break;
                    }
                    st.error = Some(format!("TUN read: {e}"));
                    return st;
                }
                let Some(pkt) = buf.get(..n as usize) else {
                    break;
                };
                if pkt.first().map(|b| b >> 4) != Some(4) {
                    st.not_ipv4 += 1;
                    continue;
                }
                if rng.unit() < imp.loss {
                    st.dropped[dir] += 1;
                    continue;
                }
                if queues[dir].len() >= QUEUE_MAX {
                    st.overflow += 1;
                    continue;
                }
                queues[dir].push_back((arrived + imp.one_way, pkt.to_vec()));
            }
        }
    }
    st
}
