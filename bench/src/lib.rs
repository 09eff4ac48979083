//! Route-server benchmark tools: `fox-blaster` streams a real table, pre-encoded, into the
//! route server from P sessions; `fox-sink` holds R sessions that only count prefixes.

pub mod count;
pub mod session;
pub mod table;
pub mod vrps;

use fox_routeserver::wire::{frame_len, MAX_MESSAGE_LEN};

/// Splits a TCP byte stream into BGP messages without copying each message out.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
}

/// A framing error: the stream is not BGP (NOTIFICATION code/subcode it would earn).
#[derive(Debug)]
pub struct BadFrame(pub u8, pub u8);

impl Framer {
    /// A framer that already holds `bytes`.
    pub fn with(bytes: Vec<u8>) -> Self {
        Framer {
            buf: bytes,
            start: 0,
        }
    }

    /// Append bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > (1 << 20) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message (header included), if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, BadFrame> {
        let rest = &self.buf[self.start..];
        match frame_len(rest, MAX_MESSAGE_LEN) {
            Ok(Some(len)) => {
                let s = self.start;
                self.start += len;
                Ok(Some(&self.buf[s..s + len]))
            }
            Ok(None) => Ok(None),
            Err(n) => Err(BadFrame(n.code, n.subcode)),
        }
    }
}
