//! FOX transparent BGP route server (RFC 7947, RFC 7948).

pub mod metrics;
pub mod policy;
pub mod rib;
pub mod wire;
