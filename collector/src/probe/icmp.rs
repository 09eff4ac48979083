//! ICMP echo probes. An unprivileged ICMP datagram socket (`SOCK_DGRAM`/`IPPROTO_ICMP`,
//! allowed by `net.ipv4.ping_group_range`) is tried first, a raw socket (root or
//! CAP_NET_RAW) second. Replies carry a kernel receive timestamp (SO_TIMESTAMPNS) where
//! the kernel gives one; the RTT is that minus the wall-clock time taken just before send.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

use super::sender::expire;
use super::Probe;
use crate::alert::AlertEngine;
use crate::server::unix_now;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Echo payload: an 8-byte token identifying this probe, then 8 bytes of padding.
const PAYLOAD: usize = 16;

/// An open ICMP socket.
pub struct IcmpSocket {
    fd: AsyncFd<Socket>,
    /// A raw socket (sees every ICMP packet, IPv4 ones with their IP header).
    pub raw: bool,
    v6: bool,
    target: SockAddr,
}

/// One echo reply that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoReply {
    /// Echo sequence number.
    pub sequence: u16,
    /// Kernel receive time, if the kernel gave one.
    pub kernel_time: Option<SystemTime>,
}

/// The RFC 1071 Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id`, `sequence` and `token` (checksummed; the kernel recomputes it
/// for ICMPv6 and datagram sockets).
pub fn echo_request(v6: bool, id: u16, sequence: u16, token: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + PAYLOAD);
    p.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&sequence.to_be_bytes());
    p.extend_from_slice(&token.to_be_bytes());
    p.extend_from_slice(&[0u8; PAYLOAD - 8]);
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// The sequence number of `packet` if it is an echo reply carrying `token` (for raw sockets
/// also with identifier `id`); `raw_v4` packets start with their IPv4 header.
pub fn parse_reply(packet: &[u8], v6: bool, raw_v4: bool, id: u16, token: u64) -> Option<u16> {
    let icmp = if raw_v4 {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        packet.get(ihl..)?
    } else {
        packet
    };
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if *icmp.first()? != want || icmp.len() < 16 {
        return None;
    }
    let got_id = u16::from_be_bytes([icmp[4], icmp[5]]);
    let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    let got_token = u64::from_be_bytes(icmp[8..16].try_into().ok()?);
    // A datagram socket's identifier is rewritten by the kernel; the token still matches.
    (got_token == token && (!raw_v4 || got_id == id)).then_some(seq)
}

pub(crate) fn set_timestamping(s: &Socket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the right size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl IcmpSocket {
    /// Opens a socket for echo to `target`: datagram first, raw if that is not allowed
    /// (must be called within a tokio runtime).
    pub fn open(target: IpAddr) -> io::Result<IcmpSocket> {
        let (domain, proto) = match target {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let (sock, raw) = match Socket::new(domain, Type::DGRAM, Some(proto)) {
            Ok(s) => (s, false),
            Err(dgram) => match Socket::new(domain, Type::RAW, Some(proto)) {
                Ok(s) => (s, true),
                Err(raw) => {
                    return Err(io::Error::new(
                        raw.kind(),
                        format!("ICMP datagram socket: {dgram} (is net.ipv4.ping_group_range set?); raw socket: {raw}"),
                    ))
                }
            },
        };
        sock.set_nonblocking(true)?;
        if let Err(e) = set_timestamping(&sock) {
            tracing::debug!(error = %e, "no kernel receive timestamps on the ICMP socket");
        }
        // SAFETY: the socket owns its fd, which stays open and the same until the AsyncFd
        // drops the socket.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(io::Error::from)?;
        Ok(IcmpSocket {
            fd,
            raw,
            v6: target.is_ipv6(),
            target: SocketAddr::new(target, 0).into(),
        })
    }

    /// Sends one echo request.
    pub fn send(&self, id: u16, sequence: u16, token: u64) -> io::Result<()> {
        let p = echo_request(self.v6, id, sequence, token);
        self.fd.get_ref().send_to(&p, &self.target).map(|_| ())
    }

    /// Waits for the next echo reply carrying `token`.
    pub async fn recv(&self, id: u16, token: u64) -> io::Result<EchoReply> {
        let mut buf = [0u8; 1500];
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_with_time(s.get_ref(), &mut buf)) {
                Ok(Ok((n, kernel_time))) => {
                    let raw_v4 = self.raw && !self.v6;
                    let Some(pkt) = buf.get(..n) else { continue };
                    if let Some(sequence) = parse_reply(pkt, self.v6, raw_v4, id, token) {
                        return Ok(EchoReply {
                            sequence,
                            kernel_time,
                        });
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// `recvmsg` with room for the SCM_TIMESTAMPNS control message.
pub(crate) fn recv_with_time(
    s: &Socket,
    buf: &mut [u8],
) -> io::Result<(usize, Option<SystemTime>)> {
    recv_from_with_time(s, buf).map(|(n, _, t)| (n, t))
}

/// `recv_with_time` that also gives the sender's address.
pub(crate) fn recv_from_with_time(
    s: &Socket,
    buf: &mut [u8],
) -> io::Result<(usize, Option<SocketAddr>, Option<SystemTime>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    let mut name = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name.as_mut_ptr().cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: a valid fd and a msghdr whose buffers are valid for writing.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut time = None;
    // SAFETY: walking the control messages the kernel wrote, with the libc CMSG macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                if let (Ok(s), Ok(ns)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                    time = Some(UNIX_EPOCH + Duration::new(s, ns));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // SAFETY: zeroed at first, then the kernel wrote an address of `msg_namelen` bytes.
    let from = socket_addr(unsafe { &name.assume_init() }, msg.msg_namelen);
    Ok((n as usize, from, time))
}

/// The IPv4 or IPv6 address the kernel wrote into `ss` (`len` bytes), if it is one.
fn socket_addr(ss: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    let p: *const libc::sockaddr_storage = ss;
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says a sockaddr_in is there, and it fits in the storage.
            let a: libc::sockaddr_in = unsafe { std::ptr::read_unaligned(p.cast()) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says a sockaddr_in6 is there, and it fits in the storage.
            let a: libc::sockaddr_in6 = unsafe { std::ptr::read_unaligned(p.cast()) };
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                std::net::Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A token unlikely to be shared by two probes of two processes.
fn token(probe: &Probe) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    probe.name.hash(&mut h);
    std::process::id().hash(&mut h);
    SystemTime::now().hash(&mut h);
    h.finish()
}

/// Runs ICMP echo `probe` until `shutdown` changes, judging it with `alerts` every interval.
pub async fn run_icmp_probe(
    probe: Arc<Probe>,
    alerts: Option<Arc<AlertEngine>>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let interval = probe.settings.interval;
    let timeout = probe.settings.timeout;
    let token = token(&probe);
    let id = (token & 0xffff) as u16;
    let mut sock: Option<IcmpSocket> = None;
    let mut pending: BTreeMap<u32, Instant> = BTreeMap::new();
    let mut sent_at: HashMap<u32, SystemTime> = HashMap::new();
    let mut seq: u16 = 0;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let recv = async {
            match &sock {
                Some(s) => s.recv(id, token).await.map(Some),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                // Replies already waiting count before anything is declared lost.
                if let Some(s) = &sock {
                    for _ in 0..MAX_DRAIN {
                        match tokio::time::timeout(Duration::ZERO, s.recv(id, token)).await {
                            Ok(Ok(reply)) => judge(&probe, reply, &mut pending, &mut sent_at, timeout),
                            Ok(Err(e)) => {
                                tracing::debug!(probe = %probe.name, error = %e, "ICMP receive");
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                expire(&probe, &mut pending, timeout);
                sent_at.retain(|k, _| pending.contains_key(k));
                if let Some(a) = &alerts {
                    a.evaluate(&probe);
                }
                if sock.is_none() {
                    match IcmpSocket::open(probe.target.ip()) {
                        Ok(s) => {
                            tracing::info!(probe = %probe.name, raw = s.raw, "ICMP socket open");
                            sock = Some(s);
                        }
                        Err(e) => tracing::warn!(probe = %probe.name, error = %e, "ICMP socket"),
                    }
                }
                let Some(s) = &sock else {
                    probe.state().sent += 1;
                    probe.state().loss(unix_now());
                    continue;
                };
                let key = u32::from(seq);
                probe.state().sent += 1;
                pending.insert(key, Instant::now());
                sent_at.insert(key, SystemTime::now());
                if let Err(e) = s.send(id, seq, token) {
                    tracing::debug!(probe = %probe.name, error = %e, "ICMP send");
                }
                seq = seq.wrapping_add(1);
            }
            r = recv => {
                match r {
                    Ok(Some(reply)) => judge(&probe, reply, &mut pending, &mut sent_at, timeout),
                    Ok(None) => {}
                    Err(e) => tracing::debug!(probe = %probe.name, error = %e, "ICMP receive"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Most waiting replies read at a tick before expiry runs.
const MAX_DRAIN: usize = 1024;

/// Matches `reply` to its request. It counts as a reply when it arrived (kernel receive time
/// where known, else now) within `timeout` of the send, however long it then waited in the
/// socket; otherwise the request is lost and the reply late.
fn judge(
    probe: &Probe,
    reply: EchoReply,
    pending: &mut BTreeMap<u32, Instant>,
    sent_at: &mut HashMap<u32, SystemTime>,
    timeout: Duration,
) {
    let now = SystemTime::now();
    let key = u32::from(reply.sequence);
    match (pending.remove(&key), sent_at.remove(&key)) {
        (Some(sent), Some(wall)) => {
            let rx = reply.kernel_time.filter(|t| *t >= wall).unwrap_or(now);
            let rtt = rx.duration_since(wall).unwrap_or_default();
            if rtt <= timeout {
                probe.reply_sent(sent, rtt.as_secs_f64(), unix_now());
            } else {
                probe.loss_sent(sent, unix_now());
                probe.state().late += 1;
            }
        }
        (Some(sent), None) => {
            probe.loss_sent(sent, unix_now());
            probe.state().late += 1;
        }
        (None, _) => probe.state().late += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksum_verifies_and_reply_parses() {
        let p = echo_request(false, 0x1234, 7, 0xdead_beef_0000_0001);
        assert_eq!(p.len(), 24);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        let mut reply = p.clone();
        reply[0] = ECHO_REPLY_V4;
        assert_eq!(
            parse_reply(&reply, false, false, 0, 0xdead_beef_0000_0001),
            Some(7)
        );
        assert_eq!(parse_reply(&reply, false, false, 0, 1), None, "other token");
        assert_eq!(
            parse_reply(&p, false, false, 0, 0xdead_beef_0000_0001),
            None,
            "a request"
        );
        let mut raw = vec![0x45u8; 1];
        raw.extend_from_slice(&[0u8; 19]);
        raw.extend_from_slice(&reply);
        assert_eq!(
            parse_reply(&raw, false, true, 0x1234, 0xdead_beef_0000_0001),
            Some(7)
        );
        assert_eq!(
            parse_reply(&raw, false, true, 0x9999, 0xdead_beef_0000_0001),
            None
        );
        assert_eq!(
            parse_reply(&raw[..25], false, true, 0x1234, 1),
            None,
            "truncated"
        );
        assert_eq!(parse_reply(&[], true, false, 0, 0), None);
    }

    /// A reply that arrived in time but was read only after the timeout (the task was not
    /// scheduled) counts as a reply with its arrival RTT; one that arrived after the timeout is
    /// lost and late.
    #[test]
    fn a_reply_is_judged_by_its_arrival_not_its_read() {
        use crate::probe::{Probe, ProbeSettings};
        let probe = Probe::new(
            ProbeSettings::stamp("p", "127.0.0.1:862".parse().expect("address")),
            None,
        );
        let timeout = Duration::from_millis(50);
        let mut pending = BTreeMap::new();
        let mut sent_at = HashMap::new();
        let three_timeouts_ago = Instant::now() - 3 * timeout;
        let wall = SystemTime::now() - 3 * timeout;

        pending.insert(0, three_timeouts_ago);
        sent_at.insert(0, wall);
        let arrived_in_time = EchoReply {
            sequence: 0,
            kernel_time: Some(wall + Duration::from_millis(2)),
        };
        judge(&probe, arrived_in_time, &mut pending, &mut sent_at, timeout);
        {
            let st = probe.state();
            assert_eq!((st.received, st.lost, st.late), (1, 0, 0));
            let rtt = st.last_rtt.expect("an RTT");
            assert!(
                (rtt - 0.002).abs() < 1e-6,
                "RTT {rtt} s is not the arrival time"
            );
        }

        pending.insert(1, three_timeouts_ago);
        sent_at.insert(1, wall);
        let arrived_late = EchoReply {
            sequence: 1,
            kernel_time: Some(wall + 2 * timeout),
        };
        judge(&probe, arrived_late, &mut pending, &mut sent_at, timeout);
        let st = probe.state();
        assert_eq!((st.received, st.lost, st.late), (1, 1, 1));
        assert!(pending.is_empty() && sent_at.is_empty());
    }
}
