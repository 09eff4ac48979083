//! RPKI route origin validation: VRP store, VRP files, RTR clients with
//! failover, and the manager that merges them into one published set.

pub mod file;
pub mod manager;
pub mod metrics;
pub mod rtr;
mod rtr_target;
pub mod vrp;

pub use file::{load_vrp_file, FileError, FileVrps};
pub use manager::{CacheStatus, FileStatus, RpkiConfig, RpkiError, RpkiManager, RpkiStatus};
pub use metrics::RpkiMetrics;
pub use rtr::{RtrCache, RtrCacheParseError};
pub use vrp::{RpkiState, Vrp, VrpError, VrpSet};
