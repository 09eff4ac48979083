//! The fabric as members see it: MAC -> member mapping, the member traffic matrix scaled by
//! sampling rate, and peering-LAN hygiene rules.

mod hygiene;
mod members;
mod traffic;

pub use hygiene::{frame_rules, Hygiene, Offence, Rule, SampleContext, Violation};
pub use members::{mac_string, MacOwner, MemberId, MemberInfo, MemberMap, SiteId};
pub use traffic::{Afi, ByAfi, Counts, MemberTraffic, Traffic, Unattributed, MAX_UNKNOWN_MACS};

#[cfg(test)]
mod tests;
