//! FOX fabric collector: sFlow v5 decoding, member traffic matrix, peering-LAN hygiene,
//! Prometheus metrics and a JSON API.

#![warn(missing_docs)]

pub mod fabric;
pub mod sflow;
pub mod state;
pub mod testdata;

pub use state::{FabricState, Stats};
