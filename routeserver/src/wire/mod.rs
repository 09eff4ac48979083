//! BGP-4 wire format: decode from bytes, encode into `BytesMut`.

pub mod types;

pub use types::*;
