//! One TCP connection carrying BGP messages: framing on read, encoding on write.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::wire::{self, Message, Notification, SessionCaps};

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("TCP: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed by peer")]
    Closed,
    #[error("received NOTIFICATION {}", .0.describe())]
    Received(Notification),
    #[error("sent NOTIFICATION {}", .0.describe())]
    Sent(Notification),
    #[error("hold timer expired")]
    HoldExpired,
    #[error("connection collision, this connection closed")]
    Collision,
    #[error("{0}")]
    Local(String),
}

impl SessionError {
    /// A graceful-restart helper keeps the member's routes when the session
    /// ended without a NOTIFICATION from either side (RFC 4724 4.2).
    pub fn keeps_routes_for_restart(&self) -> bool {
        matches!(
            self,
            SessionError::Io(_) | SessionError::Closed | SessionError::HoldExpired
        )
    }
}

/// The reading half: bytes in, whole messages out.
pub struct MsgReader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    /// The last message read, as received, when `keep_last` (MRT update log).
    pub last: bytes::Bytes,
    pub keep_last: bool,
}

impl MsgReader {
    /// Local and remote TCP endpoints of the connection.
    pub fn addrs(&self) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
        Some((self.rd.local_addr().ok()?, self.rd.peer_addr().ok()?))
    }

    /// The connection's socket (for socket options such as TCP-AO keys).
    pub fn stream(&self) -> &tokio::net::TcpStream {
        self.rd.as_ref()
    }

    pub fn new(rd: OwnedReadHalf) -> Self {
        MsgReader {
            rd,
            buf: BytesMut::with_capacity(64 * 1024),
            last: bytes::Bytes::new(),
            keep_last: false,
        }
    }

    /// Read the next whole message. A malformed message yields
    /// `Err(SessionError::Sent(n))` with the NOTIFICATION that must be sent.
    pub async fn next(&mut self, caps: &SessionCaps) -> Result<(Message, usize), SessionError> {
        loop {
            match wire::frame_len(&self.buf, caps.max_message_len()) {
                Err(n) => return Err(SessionError::Sent(n)),
                Ok(Some(len)) => {
                    let msg = self.buf.split_to(len).freeze();
                    if self.keep_last {
                        self.last = msg.clone();
                    }
                    return match wire::decode(&msg, caps) {
                        Ok(m) => Ok((m, len)),
                        Err(n) => Err(SessionError::Sent(n)),
                    };
                }
                Ok(None) => {}
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(64 * 1024);
            }
            let n = self.rd.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(SessionError::Closed);
            }
        }
    }
}

/// The writing half.
pub struct MsgWriter {
    pub wr: OwnedWriteHalf,
    pub buf: BytesMut,
}

impl MsgWriter {
    pub fn new(wr: OwnedWriteHalf) -> Self {
        MsgWriter {
            wr,
            buf: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// Encode and send one message now.
    pub async fn send(&mut self, msg: &Message, caps: &SessionCaps) -> std::io::Result<()> {
        wire::encode(msg, caps, &mut self.buf);
        self.flush().await
    }

    /// Write out everything encoded into `buf`.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.wr.write_all(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }
}
