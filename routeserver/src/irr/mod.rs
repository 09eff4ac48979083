//! IRR data for MANRS Action 1: RPSL dump reader, AS-SET expansion, per-member
//! origin and prefix lists, and the check the import policy asks.
//!
//! The data flows `rpsl` (files -> objects) -> `db` (index, expansion) ->
//! `filter` (one member's lists) -> the policy's IRR step.

pub mod cli;
pub mod db;
pub mod error;
pub mod filter;
pub mod names;
pub mod prefix_list;
pub mod rpsl;

pub use cli::expand_cli;
pub use db::{Expansion, IrrDb, MAX_AS_SET_DEPTH};
pub use error::{IrrError, IrrWarning};
pub use filter::{IrrMatch, IrrVerdict, MemberIrr};
pub use names::{Member, SetRef};
pub use prefix_list::PrefixList;
pub use rpsl::{AsSetObject, AutNumObject, RouteObject, RpslData};
