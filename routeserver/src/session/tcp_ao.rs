//! TCP Authentication Option (RFC 5925) through the Linux socket options
//! (Linux 6.7 and later, built with CONFIG_TCP_AO): master key tuples
//! (MKTs) per peer address, the current and RNext key of a connection, and
//! the per-socket packet counters.
//!
//! The structures follow include/uapi/linux/tcp.h; libc does not have them,
//! so they are defined here with their sizes checked at compile time.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

/// `TCP_AO_ADD_KEY`: add (or replace) a master key tuple.
pub const TCP_AO_ADD_KEY: libc::c_int = 38;
/// `TCP_AO_DEL_KEY`: delete a master key tuple.
pub const TCP_AO_DEL_KEY: libc::c_int = 39;
/// `TCP_AO_INFO`: current / RNext key and counters of a socket.
pub const TCP_AO_INFO: libc::c_int = 40;
/// `TCP_AO_GET_KEYS`: list the keys of a socket (unused here).
pub const TCP_AO_GET_KEYS: libc::c_int = 41;
/// `TCP_AO_REPAIR`: sequence state for TCP repair (unused here).
pub const TCP_AO_REPAIR: libc::c_int = 42;
/// Longest master key the kernel accepts (`TCP_AO_MAXKEYLEN`).
pub const AO_MAX_KEY: usize = 80;

const ALG_NAME_LEN: usize = 64;

/// `struct tcp_ao_add` (setsockopt TCP_AO_ADD_KEY).
#[repr(C, align(8))]
struct TcpAoAdd {
    addr: libc::sockaddr_storage,
    alg_name: [u8; ALG_NAME_LEN],
    ifindex: i32,
    /// Bit 0 `set_current`, bit 1 `set_rnext`.
    flags: u32,
    reserved2: u16,
    prefix: u8,
    sndid: u8,
    rcvid: u8,
    maclen: u8,
    keyflags: u8,
    keylen: u8,
    key: [u8; AO_MAX_KEY],
}

/// `struct tcp_ao_del` (setsockopt TCP_AO_DEL_KEY).
#[repr(C, align(8))]
struct TcpAoDel {
    addr: libc::sockaddr_storage,
    ifindex: i32,
    /// Bit 0 `set_current`, bit 1 `set_rnext`, bit 2 `del_async`.
    flags: u32,
    reserved2: u16,
    prefix: u8,
    sndid: u8,
    rcvid: u8,
    current_key: u8,
    rnext: u8,
    keyflags: u8,
}

/// `struct tcp_ao_info_opt` (set/getsockopt TCP_AO_INFO).
#[repr(C, align(8))]
#[derive(Default)]
struct TcpAoInfoOpt {
    /// Bit 0 `set_current`, 1 `set_rnext`, 2 `ao_required`, 3 `set_counters`, 4 `accept_icmps`.
    flags: u32,
    reserved2: u16,
    current_key: u8,
    rnext: u8,
    pkt_good: u64,
    pkt_bad: u64,
    pkt_key_not_found: u64,
    pkt_ao_required: u64,
    pkt_dropped_icmp: u64,
}

const _: () = assert!(mem::size_of::<TcpAoAdd>() == 288);
const _: () = assert!(mem::size_of::<TcpAoDel>() == 144);
const _: () = assert!(mem::size_of::<TcpAoInfoOpt>() == 48);

const FLAG_SET_CURRENT: u32 = 1;
const FLAG_SET_RNEXT: u32 = 1 << 1;

/// A MAC algorithm the kernel offers for TCP-AO (the configuration's type).
pub use fox_config::AoAlgorithm;

/// One master key tuple (RFC 5925 3.1) for a peer.
#[derive(Clone, PartialEq, Eq)]
pub struct AoKey {
    /// SendID: the KeyID put into our segments.
    pub send_id: u8,
    /// RecvID: the KeyID expected in the peer's segments.
    pub recv_id: u8,
    /// MAC algorithm.
    pub algorithm: AoAlgorithm,
    /// The master key, 1 to [`AO_MAX_KEY`] bytes.
    pub secret: Vec<u8>,
}

impl From<&fox_config::TcpAoKey> for AoKey {
    fn from(k: &fox_config::TcpAoKey) -> AoKey {
        AoKey {
            send_id: k.id,
            recv_id: k.recv_id,
            algorithm: k.algorithm,
            secret: k.secret.as_bytes().to_vec(),
        }
    }
}

impl std::str::FromStr for AoKey {
    type Err = String;

    /// `send_id:recv_id:algorithm:secret` (the secret may contain `:`), as
    /// `fox replay --tcp-ao-key` takes it.
    fn from_str(s: &str) -> Result<AoKey, String> {
        let mut parts = s.splitn(4, ':');
        let mut id = |what: &str| -> Result<u8, String> {
            parts.next().and_then(|p| p.parse().ok()).ok_or_else(|| {
                format!("{what} must be 0 to 255 (send_id:recv_id:algorithm:secret)")
            })
        };
        let send_id = id("send_id")?;
        let recv_id = id("recv_id")?;
        let alg = parts.next().unwrap_or_default();
        let algorithm = AoAlgorithm::parse(alg).ok_or_else(|| {
            format!("algorithm `{alg}`: one of hmac(sha1), hmac(sha256), cmac(aes128)")
        })?;
        let secret = parts.next().unwrap_or_default().as_bytes().to_vec();
        if secret.is_empty() || secret.len() > AO_MAX_KEY {
            return Err(format!("the secret must be 1 to {AO_MAX_KEY} bytes"));
        }
        Ok(AoKey {
            send_id,
            recv_id,
            algorithm,
            secret,
        })
    }
}

impl std::fmt::Debug for AoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AoKey(send {}, recv {}, {}, <{} bytes>)",
            self.send_id,
            self.recv_id,
            self.algorithm.kernel_name(),
            self.secret.len()
        )
    }
}

/// Why a TCP-AO socket option failed.
#[derive(Debug, thiserror::Error)]
pub enum AoError {
    /// The kernel has no TCP-AO (ENOPROTOOPT): older than 6.7 or built without CONFIG_TCP_AO.
    #[error("this kernel does not support TCP-AO (RFC 5925 needs Linux 6.7 or later built with CONFIG_TCP_AO): {0}")]
    Unsupported(io::Error),
    /// A key the kernel cannot take (length).
    #[error("invalid TCP-AO key: {0}")]
    InvalidKey(String),
    /// Any other error of the socket option.
    #[error("TCP-AO socket option: {0}")]
    Io(io::Error),
}

impl From<io::Error> for AoError {
    fn from(e: io::Error) -> AoError {
        if e.raw_os_error() == Some(libc::ENOPROTOOPT) {
            AoError::Unsupported(e)
        } else {
            AoError::Io(e)
        }
    }
}

impl From<AoError> for io::Error {
    fn from(e: AoError) -> io::Error {
        let kind = match &e {
            AoError::Unsupported(e) | AoError::Io(e) => e.kind(),
            AoError::InvalidKey(_) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e.to_string())
    }
}

/// TCP-AO state of one socket: keys in use and packet counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AoInfo {
    /// SendID of the key our segments use (`None` on a listener).
    pub current_key: Option<u8>,
    /// RecvID we ask the peer to use (RNextKeyID).
    pub rnext: Option<u8>,
    /// Segments that passed verification.
    pub good: u64,
    /// Segments whose MAC was wrong.
    pub bad: u64,
    /// Segments with a KeyID no key matches.
    pub key_not_found: u64,
    /// Segments without TCP-AO where it was required.
    pub ao_required: u64,
    /// ICMP errors ignored (RFC 5925 7.8).
    pub dropped_icmp: u64,
}

fn setsockopt<T>(fd: &impl AsRawFd, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live value of exactly `size_of::<T>()` bytes
    // and the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
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

/// The peer address in the socket's family, and its full prefix length.
fn peer_addr(peer: IpAddr) -> (libc::sockaddr_storage, u8) {
    let sa: socket2::SockAddr = SocketAddr::new(peer, 0).into();
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
    (st, if peer.is_ipv4() { 32 } else { 128 })
}

/// Add `key` for `peer` (one address: prefix /32 or /128) on a socket: a
/// listener (connections accepted from `peer` inherit it) or a socket
/// before `connect`. `current` makes it the key our segments use at once
/// and asks the peer for its RecvID (RNext); the kernel refuses that on a
/// listener. The socket's family must be the peer's.
pub fn add_key(
    sock: &impl AsRawFd,
    peer: IpAddr,
    key: &AoKey,
    current: bool,
) -> Result<(), AoError> {
    if key.secret.is_empty() || key.secret.len() > AO_MAX_KEY {
        return Err(AoError::InvalidKey(format!(
            "secret is {} bytes; 1 to {AO_MAX_KEY} allowed",
            key.secret.len()
        )));
    }
    let (addr, prefix) = peer_addr(peer);
    let mut add = TcpAoAdd {
        addr,
        alg_name: [0; ALG_NAME_LEN],
        ifindex: 0,
        flags: if current {
            FLAG_SET_CURRENT | FLAG_SET_RNEXT
        } else {
            0
        },
        reserved2: 0,
        prefix,
        sndid: key.send_id,
        rcvid: key.recv_id,
        maclen: 0,
        keyflags: 0,
        keylen: key.secret.len() as u8,
        key: [0; AO_MAX_KEY],
    };
    let name = key.algorithm.kernel_name().as_bytes();
    add.alg_name[..name.len()].copy_from_slice(name);
    add.key[..key.secret.len()].copy_from_slice(&key.secret);
    let r = setsockopt(sock, TCP_AO_ADD_KEY, &add);
    // The copy on the stack holds the secret: clear it.
    add.key = [0; AO_MAX_KEY];
    std::hint::black_box(&add.key);
    Ok(r?)
}

/// Delete the key (`send_id`, `recv_id`) of `peer`. A key that is not
/// there is not an error. The kernel refuses (EBUSY) to delete the current
/// or RNext key of a connection: switch first with [`set_current`].
pub fn del_key(sock: &impl AsRawFd, peer: IpAddr, send_id: u8, recv_id: u8) -> Result<(), AoError> {
    let (addr, prefix) = peer_addr(peer);
    let del = TcpAoDel {
        addr,
        ifindex: 0,
        flags: 0,
        reserved2: 0,
        prefix,
        sndid: send_id,
        rcvid: recv_id,
        current_key: 0,
        rnext: 0,
        keyflags: 0,
    };
    match setsockopt(sock, TCP_AO_DEL_KEY, &del) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => Ok(r?),
    }
}

/// Switch a connection's keys (RFC 5925 7.5.2): `current` is the SendID
/// our segments use from now on, `rnext` the RecvID we ask the peer to
/// send with. Both keys must be on the socket.
pub fn set_current(
    sock: &impl AsRawFd,
    current: Option<u8>,
    rnext: Option<u8>,
) -> Result<(), AoError> {
    let mut opt = TcpAoInfoOpt::default();
    if let Some(c) = current {
        opt.flags |= FLAG_SET_CURRENT;
        opt.current_key = c;
    }
    if let Some(r) = rnext {
        opt.flags |= FLAG_SET_RNEXT;
        opt.rnext = r;
    }
    Ok(setsockopt(sock, TCP_AO_INFO, &opt)?)
}

/// The socket's TCP-AO state. A socket without any key gives ENOENT (as
/// [`AoError::Io`]); a kernel without TCP-AO [`AoError::Unsupported`].
pub fn info(sock: &impl AsRawFd) -> Result<AoInfo, AoError> {
    let mut opt = TcpAoInfoOpt::default();
    let mut len = mem::size_of::<TcpAoInfoOpt>() as libc::socklen_t;
    // SAFETY: `opt` is valid for `len` bytes and the kernel writes at most that.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            TCP_AO_INFO,
            (&mut opt as *mut TcpAoInfoOpt).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(AoInfo {
        current_key: (opt.flags & FLAG_SET_CURRENT != 0).then_some(opt.current_key),
        rnext: (opt.flags & FLAG_SET_RNEXT != 0).then_some(opt.rnext),
        good: opt.pkt_good,
        bad: opt.pkt_bad,
        key_not_found: opt.pkt_key_not_found,
        ao_required: opt.pkt_ao_required,
        dropped_icmp: opt.pkt_dropped_icmp,
    })
}

/// Does this kernel have TCP-AO? Asks a fresh socket for its TCP-AO state:
/// ENOPROTOOPT means no; anything else (ENOENT: no keys yet) means yes.
pub fn supported() -> Result<(), AoError> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .map_err(AoError::Io)?;
    match info(&s) {
        Err(AoError::Unsupported(e)) => Err(AoError::Unsupported(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "tcp_ao_tests.rs"]
mod tests;
