//! FOX history: one embedded SQLite store under the data directory with per-minute member
//! traffic, the member matrix per 5 minutes, per-minute probe results, route server session
//! events, alert events and hourly prefix counts; hourly rollups and retention. The schema is
//! described in [`schema`]; the report and the looking glass read through [`HistoryStore`].

#![warn(missing_docs)]

mod error;
pub mod hist;
mod hygiene;
mod model;
mod read;
pub mod schema;
mod store;

pub use error::HistoryError;
pub use hist::RttHistogram;
pub use model::{
    AlertEvent, HygieneRow, MatrixRow, PairTotal, PrefixCounts, PrefixRow, ProbeRow, SessionEvent,
    TrafficRow, Ts,
};
pub use store::{HistoryStore, BUSY_TIMEOUT};

mod batch;
mod rollup;
mod write;
mod writer;

pub use batch::{hour_of, minute_of, slot5_of, HistoryBatch};
pub use rollup::{Retention, RollupStats};
pub use write::WriteStats;
pub use writer::{
    unix_now, HistoryHandle, HistoryMetrics, HistoryWriter, WriterOptions, WriterStatus,
};
