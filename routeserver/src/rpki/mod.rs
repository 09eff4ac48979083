//! RPKI route origin validation: VRP store, VRP files, RTR clients with
//! failover, and the manager that merges them into one published set.

pub mod file;
pub mod vrp;

pub use vrp::{RpkiState, Vrp, VrpError, VrpSet};
pub use file::{load_vrp_file, FileError, FileVrps};
