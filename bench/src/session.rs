//! A minimal blocking BGP speaker for the bench tools: connect from a given source address,
//! exchange OPEN and KEEPALIVE with the fox-routeserver codec, then hand the socket over.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::BytesMut;
use fox_routeserver::wire::{
    decode, encode, frame_len, Capability, Message, Open, SessionCaps, MAX_MESSAGE_LEN,
};

/// Who we are on one session.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Our ASN.
    pub asn: u32,
    /// Our LAN address (source address and BGP identifier).
    pub local: Ipv4Addr,
    /// The route server's address.
    pub remote: Ipv4Addr,
    /// TCP port of the route server.
    pub port: u16,
    /// Hold time we offer.
    pub hold_time: u16,
}

/// An established session: the socket, the negotiated hold time and any bytes read past
/// the handshake.
pub struct Established {
    /// The TCP connection.
    pub stream: TcpStream,
    /// Negotiated hold time in seconds (0 = no keepalives).
    pub hold_time: u16,
    /// Bytes already read that follow the handshake.
    pub leftover: Vec<u8>,
}

/// The bytes of one KEEPALIVE.
pub fn keepalive() -> BytesMut {
    let mut b = BytesMut::new();
    encode(&Message::Keepalive, &SessionCaps::default(), &mut b);
    b
}

fn connect_from(local: Ipv4Addr, remote: SocketAddr, limit: Duration) -> Result<TcpStream> {
    let deadline = Instant::now() + limit;
    loop {
        let attempt = (|| -> std::io::Result<TcpStream> {
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            sock.bind(&SocketAddr::V4(SocketAddrV4::new(local, 0)).into())?;
            sock.connect_timeout(&remote.into(), Duration::from_secs(2))?;
            Ok(sock.into())
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline => {
                eprintln!("connect {local} -> {remote}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => return Err(e).with_context(|| format!("connect {local} -> {remote}")),
        }
    }
}

/// Connect and bring the session to Established within `limit`.
pub fn establish(peer: &Peer, limit: Duration) -> Result<Established> {
    let deadline = Instant::now() + limit;
    let remote = SocketAddr::V4(SocketAddrV4::new(peer.remote, peer.port));
    let mut stream = connect_from(peer.local, remote, limit)?;
    stream.set_nodelay(true)?;
    let caps = SessionCaps::default();
    let open = Open::new(
        peer.asn,
        peer.hold_time,
        peer.local,
        vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::RouteRefresh,
            Capability::FourOctetAs(peer.asn),
        ],
    );
    let mut out = BytesMut::new();
    encode(&Message::Open(open), &caps, &mut out);
    stream.write_all(&out)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    let mut hold = None;
    let mut got_keepalive = false;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    while hold.is_none() || !got_keepalive {
        if Instant::now() >= deadline {
            bail!("{}: no OPEN/KEEPALIVE from {remote} in time", peer.local);
        }
        match stream.read(&mut chunk) {
            Ok(0) => bail!("{}: {remote} closed the connection during OPEN", peer.local),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e).context("read during OPEN"),
        }
        while let Some(len) = frame_len(&buf, MAX_MESSAGE_LEN)
            .map_err(|n| anyhow::anyhow!("bad frame from {remote}: {}/{}", n.code, n.subcode))?
        {
            let msg: Vec<u8> = buf.drain(..len).collect();
            match decode(&msg, &caps) {
                Ok(Message::Open(o)) => {
                    let h = o.hold_time.min(peer.hold_time);
                    hold = Some(h);
                    stream.write_all(&keepalive())?;
                }
                Ok(Message::Keepalive) => got_keepalive = true,
                Ok(Message::Notification(n)) => bail!(
                    "{}: NOTIFICATION {}/{} from {remote}",
                    peer.local,
                    n.code,
                    n.subcode
                ),
                Ok(_) => {}
                Err(n) => bail!(
                    "undecodable message from {remote}: {}/{}",
                    n.code,
                    n.subcode
                ),
            }
            if hold.is_some() && got_keepalive {
                break;
            }
        }
    }
    stream.set_read_timeout(None)?;
    Ok(Established {
        stream,
        hold_time: hold.unwrap_or(0),
        leftover: buf,
    })
}

/// Wall-clock time in nanoseconds since the Unix epoch (comparable across processes).
pub fn epoch_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
