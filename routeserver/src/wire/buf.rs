//! Bounds-checked reading helpers shared by the decoders.

use bytes::Bytes;

/// Where decoded byte fields come from: slices of the received `Bytes`
/// (no copy) or, when decoding from a plain slice, small copies.
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    owner: Option<&'a Bytes>,
}

impl<'a> Src<'a> {
    /// Fields are copied out of a borrowed slice.
    pub(crate) fn copying() -> Self {
        Src { owner: None }
    }

    /// Fields share the buffer of `owner`; every slice passed to
    /// [`Src::bytes`] must lie inside it.
    pub(crate) fn shared(owner: &'a Bytes) -> Self {
        Src { owner: Some(owner) }
    }

    /// A `Bytes` holding `sub`.
    pub(crate) fn bytes(&self, sub: &[u8]) -> Bytes {
        match self.owner {
            Some(b) => {
                let start = b.as_ptr() as usize;
                let p = sub.as_ptr() as usize;
                if !sub.is_empty() && p >= start && p + sub.len() <= start + b.len() {
                    b.slice_ref(sub)
                } else {
                    Bytes::copy_from_slice(sub)
                }
            }
            None => Bytes::copy_from_slice(sub),
        }
    }
}

/// A cursor over a byte slice; every read fails with `None` instead of
/// panicking when the slice is too short.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_be_bytes([s[0], s[1]]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        let s = self.take(4)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
}
