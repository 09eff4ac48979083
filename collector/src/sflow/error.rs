//! Why a datagram could not be decoded. Every malformed input ends here, never in a panic.

/// A malformed or truncated sFlow datagram; offsets are from the start of the datagram.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram ends inside a field.
    #[error("truncated at byte {offset}: {what} needs {need} bytes, {have} left")]
    Truncated {
        /// The field or structure being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes that were left.
        have: usize,
    },
    /// Not sFlow version 5.
    #[error("unsupported sFlow version {0} (only 5 is decoded)")]
    Version(u32),
    /// An address type other than 0 (unknown), 1 (IPv4) or 2 (IPv6).
    #[error("unknown address type {kind} at byte {offset}")]
    AddressType {
        /// The type value read.
        kind: u32,
        /// Where it was read.
        offset: usize,
    },
}

impl DecodeError {
    /// A short stable name of the error kind, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::Version(_) => "version",
            DecodeError::AddressType { .. } => "address_type",
        }
    }
}
