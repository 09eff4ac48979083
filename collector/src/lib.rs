//! FOX fabric collector: sFlow v5 decoding, member traffic matrix, peering-LAN hygiene,
//! Prometheus metrics and a JSON API.

#![warn(missing_docs)]

pub mod alert;
pub mod api;
pub mod archive;
pub mod fabric;
pub mod history;
pub mod metrics;
pub mod probe;
pub mod server;
pub mod sflow;
pub mod state;
pub mod testdata;

pub use server::{run, serve, Collector};
pub use state::{FabricState, Stats};
