//! FOX fabric collector: sFlow v5 decoding, member traffic matrix, peering-LAN hygiene,
//! Prometheus metrics and a JSON API.

#![warn(missing_docs)]

pub mod sflow;
pub mod testdata;
