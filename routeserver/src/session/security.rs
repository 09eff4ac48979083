//! Session security socket options (Linux): TCP-MD5 signatures (RFC 2385)
//! per neighbour address, and GTSM (RFC 5082) through the minimum TTL /
//! hop limit of received segments and TTL 255 on sent ones.
//!
//! The kernel drops segments with a wrong or missing MD5 signature before
//! the route server sees them; [`Md5Drops`] reads the kernel's counters
//! (`TcpExt: TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure` in
//! /proc/net/netstat) so the drops are logged and exported.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

/// Longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY: usize = 80;

/// TTL / hop limit GTSM requires on a directly connected session.
pub const GTSM_TTL: u8 = 255;

/// `struct tcp_md5sig` of linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY],
}

fn setsockopt<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` points to a live value of exactly `size_of::<T>()` bytes
    // and the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The peer address in the socket's own family (an IPv4 peer on an IPv6
/// socket as a v4-mapped address).
fn sockaddr_for(peer: IpAddr, v6_socket: bool) -> libc::sockaddr_storage {
    let sa: socket2::SockAddr = match (peer, v6_socket) {
        (IpAddr::V4(v4), true) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), 0).into(),
        (ip, _) => SocketAddr::new(ip, 0).into(),
    };
    // SAFETY: sockaddr_storage is plain data, all-zero is a valid value.
    let mut st: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = (sa.len() as usize).min(mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: both regions are valid for `len` bytes and do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            sa.as_ptr().cast::<u8>(),
            (&mut st as *mut libc::sockaddr_storage).cast::<u8>(),
            len,
        );
    }
    st
}

/// Install (`Some`) or remove (`None`) the TCP-MD5 key for `peer` on a
/// socket (a listener: accepted connections inherit it; or a socket before
/// `connect`). Removing a key that is not there is not an error.
pub fn set_md5(
    sock: &impl AsRawFd,
    v6_socket: bool,
    peer: IpAddr,
    key: Option<&[u8]>,
) -> io::Result<()> {
    let key = key.unwrap_or_default();
    if key.len() > MD5_MAX_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key longer than {MD5_MAX_KEY} bytes"),
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: sockaddr_for(peer, v6_socket),
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY],
    };
    sig.key[..key.len()].copy_from_slice(key);
    match setsockopt(sock, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig) {
        Err(e) if key.is_empty() && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

/// Send every segment with TTL / hop limit 255 (a listener's SYN-ACKs, so
/// a GTSM member that connects to us accepts them).
pub fn send_ttl_255(sock: &impl AsRawFd, v6_socket: bool) -> io::Result<()> {
    let v: libc::c_int = GTSM_TTL.into();
    if v6_socket {
        setsockopt(sock, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &v)
    } else {
        setsockopt(sock, libc::IPPROTO_IP, libc::IP_TTL, &v)
    }
}

/// GTSM on a connection: send with TTL 255, and have the kernel drop every
/// received segment whose TTL / hop limit is below 255.
pub fn gtsm(sock: &impl AsRawFd, v6_socket: bool) -> io::Result<()> {
    send_ttl_255(sock, v6_socket)?;
    let v: libc::c_int = GTSM_TTL.into();
    if v6_socket {
        setsockopt(sock, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &v)
    } else {
        setsockopt(sock, libc::IPPROTO_IP, libc::IP_MINTTL, &v)
    }
}

/// Keep each connection's SYN (TCP_SAVE_SYN) so [`syn_ttl`] can check the
/// TTL the member's first segment arrived with.
pub fn save_syn(listener: &impl AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    setsockopt(listener, libc::IPPROTO_TCP, libc::TCP_SAVE_SYN, &on)
}

/// The TTL (IPv4) or hop limit (IPv6) of the SYN that opened an accepted
/// connection, from the saved SYN; `None` if the kernel kept none.
pub fn syn_ttl(stream: &impl AsRawFd) -> Option<u8> {
    let mut buf = [0u8; 512];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is valid for `len` bytes and `len` is updated by the kernel.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_SAVED_SYN,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    ip_header_ttl(buf.get(..len as usize)?)
}

/// The TTL / hop limit field of an IPv4 or IPv6 header.
pub fn ip_header_ttl(hdr: &[u8]) -> Option<u8> {
    match hdr.first()? >> 4 {
        4 => hdr.get(8).copied(),
        6 => hdr.get(7).copied(),
        _ => None,
    }
}

/// Segments the kernel dropped for TCP-MD5 reasons, in this network namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Md5Drops {
    /// A key is configured for the source but the segment had no signature.
    pub not_found: u64,
    /// A signature arrived where no key is configured.
    pub unexpected: u64,
    /// The signature did not match the key (wrong password).
    pub failure: u64,
}

impl Md5Drops {
    /// Read the counters from /proc/net/netstat; `None` if unavailable.
    pub fn read() -> Option<Md5Drops> {
        Md5Drops::parse(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// Parse the `TcpExt:` header and value lines of /proc/net/netstat.
    pub fn parse(text: &str) -> Option<Md5Drops> {
        let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
        let names = lines.next()?.split_whitespace();
        let values = lines.next()?.split_whitespace();
        let mut d = Md5Drops::default();
        let mut seen = false;
        for (n, v) in names.zip(values).skip(1) {
            let v: u64 = v.parse().ok()?;
            match n {
                "TCPMD5NotFound" => d.not_found = v,
                "TCPMD5Unexpected" => d.unexpected = v,
                "TCPMD5Failure" => d.failure = v,
                _ => continue,
            }
            seen = true;
        }
        seen.then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_netstat() {
        let t = "TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure\n\
                 TcpExt: 1 2 3 4\nIpExt: InNoRoutes\nIpExt: 0\n";
        assert_eq!(
            Md5Drops::parse(t),
            Some(Md5Drops {
                not_found: 2,
                unexpected: 3,
                failure: 4
            })
        );
        assert_eq!(Md5Drops::parse("TcpExt: A\nTcpExt: 1\n"), None);
        assert_eq!(Md5Drops::parse(""), None);
    }

    #[test]
    fn ttl_from_headers() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[8] = 64;
        assert_eq!(ip_header_ttl(&v4), Some(64));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[7] = 255;
        assert_eq!(ip_header_ttl(&v6), Some(255));
        assert_eq!(ip_header_ttl(&[0x45, 0]), None);
        assert_eq!(ip_header_ttl(&[]), None);
    }

    #[tokio::test]
    async fn md5_and_gtsm_options_apply_on_real_sockets() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer: IpAddr = "127.0.0.9".parse().unwrap();
        set_md5(&l, false, peer, Some(b"secret")).unwrap();
        set_md5(&l, false, peer, None).unwrap();
        // Removing twice is fine.
        set_md5(&l, false, peer, None).unwrap();
        save_syn(&l).unwrap();
        send_ttl_255(&l, false).unwrap();
        let addr = l.local_addr().unwrap();
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        gtsm(&sock, false).unwrap();
        let (c, a) = tokio::join!(sock.connect(addr), l.accept());
        let _c = c.unwrap();
        let (s, _) = a.unwrap();
        // The client sent its SYN with TTL 255; loopback keeps it.
        assert_eq!(syn_ttl(&s), Some(255));
        let s2 = socket2::SockRef::from(&s);
        assert_eq!(s2.ttl_v4().unwrap(), 255);
        assert!(set_md5(&l, false, peer, Some(&[b'x'; 81])).is_err());
    }
}
