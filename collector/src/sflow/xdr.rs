//! A bounds-checked reader of XDR (RFC 4506) big-endian words over a borrowed buffer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::DecodeError;

/// Reads XDR values from `buf`; `base` is `buf`'s offset in the datagram, for errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole datagram.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Offset of the next byte in the datagram.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The next `n` bytes, without padding.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(DecodeError::Truncated {
                what,
                offset: self.offset(),
                need: n,
                have: self.remaining(),
            });
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// XDR opaque of `n` bytes: the bytes, then padding to a multiple of four.
    pub fn opaque(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let padded = n.checked_add(3).map(|x| x & !3).unwrap_or(usize::MAX);
        let offset = self.offset();
        let have = self.remaining();
        let all = self
            .bytes(padded, what)
            .map_err(|_| DecodeError::Truncated {
                what,
                offset,
                need: padded,
                have,
            })?;
        Ok(&all[..n])
    }

    /// A 32-bit unsigned integer.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 64-bit unsigned integer (XDR unsigned hyper).
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let hi = self.u32(what)?;
        let lo = self.u32(what)?;
        Ok((u64::from(hi) << 32) | u64::from(lo))
    }

    /// An sFlow `address`: type 0 (unknown, no bytes), 1 (IPv4) or 2 (IPv6).
    pub fn address(&mut self, what: &'static str) -> Result<Option<IpAddr>, DecodeError> {
        let offset = self.offset();
        match self.u32(what)? {
            0 => Ok(None),
            1 => {
                let b = self.bytes(4, what)?;
                Ok(Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))))
            }
            2 => {
                let b = self.bytes(16, what)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Ok(Some(IpAddr::V6(Ipv6Addr::from(a))))
            }
            kind => Err(DecodeError::AddressType { kind, offset }),
        }
    }

    /// A length-prefixed structure (`opaque<>`): a reader over exactly its bytes.
    pub fn sub(&mut self, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let len = self.u32(what)? as usize;
        let base = self.offset();
        let buf = self.opaque(len, what)?;
        Ok(Reader { buf, pos: 0, base })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_words_and_reports_truncation() {
        let mut r = Reader::new(&[0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(r.u32("a"), Ok(5));
        assert_eq!(r.u64("b"), Ok((1 << 32) | 2));
        assert_eq!(
            r.u32("c"),
            Err(DecodeError::Truncated {
                what: "c",
                offset: 12,
                need: 4,
                have: 1
            })
        );
    }

    #[test]
    fn opaque_skips_padding() {
        let mut r = Reader::new(&[1, 2, 3, 0, 7, 7, 7, 7]);
        assert_eq!(r.opaque(3, "x"), Ok(&[1u8, 2, 3][..]));
        assert_eq!(r.u32("y"), Ok(0x0707_0707));
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.opaque(3, "x").is_err(), "padding is required");
        assert!(Reader::new(&[]).opaque(usize::MAX, "huge").is_err());
    }

    #[test]
    fn sub_readers_keep_datagram_offsets() {
        let mut r = Reader::new(&[0, 0, 0, 4, 0, 0, 0, 9, 0xff]);
        let mut s = r.sub("rec").expect("fits");
        assert_eq!(s.offset(), 4);
        assert_eq!(s.u32("v"), Ok(9));
        assert_eq!(s.remaining(), 0);
        assert_eq!(r.remaining(), 1);
    }
}
