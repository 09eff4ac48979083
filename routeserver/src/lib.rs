//! FOX transparent BGP route server (RFC 7947, RFC 7948).

pub mod api;
pub mod aspa;
pub mod bmp;
pub mod fuzzing;
pub mod history;
pub mod irr;
pub mod metrics;
pub mod policy;
pub mod replay;
pub mod rib;
pub mod rpki;
pub mod server;
pub mod session;
pub mod wire;
