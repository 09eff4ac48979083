//! FOX fabric collector: sFlow v5 decoding, member traffic matrix, peering-LAN hygiene,
//! Prometheus metrics and a JSON API.

#![warn(missing_docs)]

pub mod alert;
pub mod api;
pub mod api_history;
pub mod api_report;
pub mod archive;
pub mod baseline;
pub mod fabric;
pub mod history;
pub mod ifstats;
pub mod metrics;
pub mod metrics_ops;
pub mod ops;
pub mod probe;
pub mod server;
pub mod sessions;
pub mod sflow;
pub mod state;
pub mod testdata;

pub use server::{run, serve, Collector};
pub use state::{FabricState, Stats};
