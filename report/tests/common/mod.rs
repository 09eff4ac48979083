//! What the report tests share: the exchange layout of the synthetic month, local times in it,
//! and session events.

use fox_history::SessionEvent;
use fox_report::{Layout, LayoutMember, Period};

/// Normal RTT: the midpoint of its histogram bucket, so quantiles read back exactly.
pub const RTT_OK: u32 = 4_159;
/// RTT on the bad day (over the 12 ms target), also a bucket midpoint.
pub const RTT_BAD: u32 = 14_975;

/// Three sites and three members: GSN at two sites, TANet and ASNet at one each.
pub fn layout() -> Layout {
    let m = |name: &str, asn, sites: &[&str]| LayoutMember {
        name: name.into(),
        asn,
        sites: sites.iter().map(|s| s.to_string()).collect(),
    };
    Layout {
        exchange: "FOX".into(),
        sites: vec![
            ("hc".into(), "Hsinchu".into()),
            ("tc".into(), "Taichung".into()),
            ("tn".into(), "Tainan".into()),
        ],
        members: vec![
            m("GSN", 65001, &["hc", "tc"]),
            m("TANet", 65002, &["hc"]),
            m("ASNet", 65003, &["tn"]),
        ],
    }
}

/// Local time in Taipei (UTC+8) of day `d` (1-based) at `h:m`.
pub fn at(p: &Period, d: i64, h: i64, m: i64) -> i64 {
    p.from() + (d - 1) * 86_400 + h * 3600 + m * 60
}

/// A session event of member `asn` at route server `rs`.
pub fn session(ts: i64, rs: &str, asn: u32, up: bool, reason: &str) -> SessionEvent {
    SessionEvent {
        ts,
        rs: rs.into(),
        asn,
        neighbor: format!("192.0.2.{}", asn - 65000),
        up,
        reason: reason.into(),
    }
}
