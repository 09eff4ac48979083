//! FOX transparent BGP route server (RFC 7947, RFC 7948).

pub mod rpki;
pub mod wire;
