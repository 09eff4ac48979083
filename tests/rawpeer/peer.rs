//! A raw BGP peer: a TCP connection from a chosen source address that sends
//! whatever bytes a test gives it and reads the route server's messages with
//! the project's own decoder (framing and decoding errors are test failures).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Bytes, BytesMut};
use fox_routeserver::wire::{self, Capability, Message, Notification, Open, SessionCaps, Update};
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout_at, Instant};

use crate::msgs;

/// What the route server did next.
#[derive(Debug)]
pub enum Event {
    /// A message, with its bytes as received.
    Msg(Message, Bytes),
    /// The connection was closed (FIN or RST).
    Closed,
    /// Nothing within the time allowed.
    Timeout,
}

/// The OPEN a test peer sends.
#[derive(Clone, Debug)]
pub struct OpenOpts {
    pub asn: u32,
    pub hold: u16,
    pub id: Ipv4Addr,
    /// Announce the 4-octet AS capability (RFC 6793).
    pub four_octet: bool,
    /// Announce the Extended Message capability (RFC 8654).
    pub extended_message: bool,
    /// Announce IPv6 unicast besides IPv4 unicast.
    pub ipv6: bool,
}

impl OpenOpts {
    /// A modern speaker: 4-octet AS, IPv4 and IPv6 unicast, hold time 90.
    pub fn new(asn: u32, id: Ipv4Addr) -> Self {
        OpenOpts {
            asn,
            hold: 90,
            id,
            four_octet: true,
            extended_message: false,
            ipv6: true,
        }
    }

    /// The OPEN message (encoded by the project's codec: it is well formed).
    pub fn bytes(&self) -> Vec<u8> {
        let mut caps = vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::RouteRefresh,
        ];
        if self.ipv6 {
            caps.push(Capability::Multiprotocol { afi: 2, safi: 1 });
        }
        if self.four_octet {
            caps.push(Capability::FourOctetAs(self.asn));
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        let open = Open::new(self.asn, self.hold, self.id, caps);
        let mut out = BytesMut::new();
        wire::encode(&Message::Open(open), &SessionCaps::default(), &mut out);
        out.to_vec()
    }
}

/// One TCP connection to the route server.
pub struct RawPeer {
    /// For messages: `A(127.0.3.2)`.
    pub name: String,
    stream: TcpStream,
    buf: BytesMut,
    /// How the route server's messages are decoded (set by the handshake).
    pub caps: SessionCaps,
    /// The route server's OPEN, once received.
    pub rs_open: Option<Open>,
}

impl RawPeer {
    /// Connect from `local` (any port) to the route server.
    pub async fn connect(name: &str, local: Ipv4Addr, rs: SocketAddr) -> Result<RawPeer> {
        let sock = TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(IpAddr::V4(local), 0))
            .with_context(|| format!("bind {local}"))?;
        let stream = tokio::time::timeout(Duration::from_secs(5), sock.connect(rs))
            .await
            .map_err(|_| anyhow!("{name}: connect to {rs} timed out"))?
            .with_context(|| format!("{name}: connect to {rs}"))?;
        stream.set_nodelay(true)?;
        Ok(RawPeer {
            name: format!("{name}({local})"),
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            caps: SessionCaps {
                four_octet_as: false,
                extended_message: false,
            },
            rs_open: None,
        })
    }

    /// Connect, exchange OPEN and KEEPALIVE, and return the Established peer.
    pub async fn establish(
        name: &str,
        local: Ipv4Addr,
        rs: SocketAddr,
        opts: &OpenOpts,
    ) -> Result<RawPeer> {
        let mut p = RawPeer::connect(name, local, rs).await?;
        p.send_raw(&opts.bytes()).await?;
        let theirs = p.expect_open().await?;
        p.caps = SessionCaps {
            four_octet_as: opts.four_octet
                && theirs.has(|c| matches!(c, Capability::FourOctetAs(_))),
            extended_message: opts.extended_message
                && theirs.has(|c| matches!(c, Capability::ExtendedMessage)),
        };
        p.send_raw(&msgs::keepalive()).await?;
        match p.next(Duration::from_secs(5)).await? {
            Event::Msg(Message::Keepalive, _) => Ok(p),
            other => bail!("{}: expected KEEPALIVE after OPEN, got {other:?}", p.name),
        }
    }

    /// Send bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .await
            .with_context(|| format!("{}: send", self.name))
    }

    /// The next message from the route server, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Result<Event> {
        self.next_until(Instant::now() + within).await
    }

    async fn next_until(&mut self, deadline: Instant) -> Result<Event> {
        loop {
            let max = wire::MAX_EXTENDED_MESSAGE_LEN;
            match wire::frame_len(&self.buf, max) {
                Err(n) => bail!("{}: route server sent a bad header: {n}", self.name),
                Ok(Some(len)) => {
                    let raw = self.buf.split_to(len).freeze();
                    let msg = wire::decode(&raw, &self.caps).map_err(|n| {
                        anyhow!(
                            "{}: route server sent a malformed message ({n}): {raw:02x?}",
                            self.name
                        )
                    })?;
                    return Ok(Event::Msg(msg, raw));
                }
                Ok(None) => {}
            }
            self.buf.reserve(64 * 1024);
            match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Ok(Event::Timeout),
                Ok(Ok(0)) => return Ok(Event::Closed),
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Ok(Event::Closed)
                }
                Ok(Err(e)) => return Err(e).context(format!("{}: read", self.name)),
            }
        }
    }

    /// The route server's OPEN (it sends it as soon as the connection is up).
    pub async fn expect_open(&mut self) -> Result<Open> {
        match self.next(Duration::from_secs(5)).await? {
            Event::Msg(Message::Open(o), _) => {
                self.rs_open = Some(o.clone());
                Ok(o)
            }
            other => bail!(
                "{}: expected the route server's OPEN, got {other:?}",
                self.name
            ),
        }
    }

    /// Skip KEEPALIVEs and UPDATEs until a NOTIFICATION; then the route
    /// server must close the connection.
    pub async fn expect_notification(&mut self, within: Duration) -> Result<Notification> {
        let deadline = Instant::now() + within;
        let n = loop {
            match self.next_until(deadline).await? {
                Event::Msg(Message::Notification(n), _) => break n,
                Event::Msg(Message::Keepalive | Message::Update(_), _) => {}
                other => bail!("{}: expected a NOTIFICATION, got {other:?}", self.name),
            }
        };
        self.expect_closed(Duration::from_secs(3))
            .await
            .with_context(|| format!("after NOTIFICATION {n}"))?;
        Ok(n)
    }

    /// Expect exactly `code`/`subcode`/`data` as the route server's NOTIFICATION.
    pub async fn expect_error(&mut self, code: u8, subcode: u8, data: &[u8]) -> Result<()> {
        let n = self.expect_notification(Duration::from_secs(5)).await?;
        if (n.code, n.subcode, n.data.as_ref()) != (code, subcode, data) {
            bail!(
                "{}: expected NOTIFICATION {code}/{subcode} data {data:02x?}, got {}/{} data {:02x?} ({n})",
                self.name,
                n.code,
                n.subcode,
                n.data.as_ref()
            );
        }
        Ok(())
    }

    /// The connection must be closed within `within` without another message.
    pub async fn expect_closed(&mut self, within: Duration) -> Result<()> {
        match self.next(within).await? {
            Event::Closed => Ok(()),
            other => bail!(
                "{}: expected the connection to close, got {other:?}",
                self.name
            ),
        }
    }

    /// Read until an UPDATE satisfies `pred`; a NOTIFICATION, a close or the
    /// time running out is an error.
    pub async fn wait_update(
        &mut self,
        within: Duration,
        what: &str,
        pred: impl Fn(&Update, &[u8]) -> bool,
    ) -> Result<(Update, Bytes)> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_until(deadline).await? {
                Event::Msg(Message::Update(u), raw) if pred(&u, &raw) => return Ok((u, raw)),
                Event::Msg(Message::Update(_) | Message::Keepalive, _) => {}
                Event::Timeout => bail!("{}: no UPDATE with {what} within {within:?}", self.name),
                other => bail!("{}: waiting for {what}, got {other:?}", self.name),
            }
        }
    }

    /// Wait until the route server announces `prefix`.
    pub async fn wait_announce(&mut self, prefix: IpNet) -> Result<(Update, Bytes)> {
        self.wait_update(
            Duration::from_secs(5),
            &format!("announce {prefix}"),
            |u, _| u.announced.iter().any(|(_, ps)| ps.contains(&prefix)),
        )
        .await
    }

    /// Wait until the route server withdraws `prefix`.
    pub async fn wait_withdraw(&mut self, prefix: IpNet) -> Result<()> {
        self.wait_update(
            Duration::from_secs(5),
            &format!("withdraw {prefix}"),
            |u, _| u.withdrawn.contains(&prefix),
        )
        .await
        .map(|_| ())
    }

    /// Read for `d`: only KEEPALIVEs and UPDATEs may arrive (returned), the
    /// session must stay open.
    pub async fn stay_up(&mut self, d: Duration) -> Result<Vec<Message>> {
        let deadline = Instant::now() + d;
        let mut got = Vec::new();
        loop {
            match self.next_until(deadline).await? {
                Event::Timeout => return Ok(got),
                Event::Msg(m @ (Message::Keepalive | Message::Update(_)), _) => got.push(m),
                other => bail!("{}: session should stay up, got {other:?}", self.name),
            }
        }
    }
}
