//! The report's figures: what JSON carries and HTML and CSV show.

use serde::Serialize;

/// Service-level targets the figures are judged against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Targets {
    /// Availability target, percent (99.92).
    pub availability_percent: f64,
    /// Availability floor, percent (99.9): below it the month is missed outright.
    pub availability_floor_percent: f64,
    /// RTT target, milliseconds (12).
    pub rtt_ms: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            availability_percent: 99.92,
            availability_floor_percent: 99.9,
            rtt_ms: 12.0,
        }
    }
}

/// Whether a figure met its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At or above the target (below it for RTT).
    Met,
    /// Below the availability target but at or above the floor.
    BelowTarget,
    /// Missed.
    Missed,
    /// Nothing measured.
    NoData,
}

impl Status {
    /// Label for HTML and CSV.
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::BelowTarget => "below target (floor met)",
            Status::Missed => "missed",
            Status::NoData => "no data",
        }
    }
}

/// Availability over the month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Availability {
    /// Minutes of the month with measurements.
    pub measured_minutes: u32,
    /// Measured minutes counted unavailable.
    pub unavailable_minutes: u32,
    /// Minutes without measurements (not counted either way).
    pub unmeasured_minutes: u32,
    /// (measured - unavailable) / measured x 100; `None` without measurements.
    pub percent: Option<f64>,
    /// Against [`Targets::availability_percent`] and the floor.
    pub status: Status,
}

/// RTT figures of one path over a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RttStats {
    /// RTT samples.
    pub samples: u64,
    /// Median, ms.
    pub median_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Share of samples over the RTT target (0..=1).
    pub over_target_share: Option<f64>,
}

/// One local day of a path's RTT (the daily chart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyRtt {
    /// Day of the month (1-based, local time).
    pub day: u32,
    /// The day's figures.
    pub rtt: RttStats,
    /// The day's p95 against the RTT target.
    pub status: Status,
}

/// Loss of one path.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Loss {
    /// Test packets sent.
    pub sent: u64,
    /// Test packets lost.
    pub lost: u64,
    /// lost / sent x 100.
    pub percent: Option<f64>,
}

/// What a probe measures, from its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PathKind {
    /// `<site>-<site>`: between two sites.
    SitePair {
        /// Site the probe runs from.
        from: String,
        /// Site it measures.
        to: String,
    },
    /// `<site>-<member>`: to a member's router.
    Member {
        /// Site the probe runs from.
        from: String,
        /// Member name.
        member: String,
    },
    /// Any other name.
    Other,
}

/// RTT and loss of one probe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathReport {
    /// Probe name.
    pub probe: String,
    /// What it measures.
    pub path: PathKind,
    /// Monthly figures.
    pub rtt: RttStats,
    /// Monthly p95 against the RTT target.
    pub status: Status,
    /// Loss over the month.
    pub loss: Loss,
    /// Per local day.
    pub daily: Vec<DailyRtt>,
}

/// Availability of one site.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteReport {
    /// Site id.
    pub site: String,
    /// Site name.
    pub name: String,
    /// Availability.
    pub availability: Availability,
}

/// Traffic of one member over the month.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficFigures {
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// 95th percentile of the 5-minute average rate received, bit/s.
    pub p95_in_bps: f64,
    /// 95th percentile of the 5-minute average rate sent, bit/s.
    pub p95_out_bps: f64,
    /// Largest 1-minute average rate received, bit/s.
    pub peak_in_bps: f64,
    /// Largest 1-minute average rate sent, bit/s.
    pub peak_out_bps: f64,
    /// Bytes in and out per local day (the chart).
    pub daily: Vec<[u64; 2]>,
}

/// Prefix counts of a member (last snapshot of the month, summed over route servers).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PrefixFigures {
    /// Received.
    pub received: u64,
    /// Accepted.
    pub accepted: u64,
    /// Filtered.
    pub filtered: u64,
    /// RPKI valid.
    pub rpki_valid: u64,
    /// RPKI invalid.
    pub rpki_invalid: u64,
    /// RPKI not found.
    pub rpki_not_found: u64,
    /// Filtered per reason code (`RS_ASN:1101:N`).
    pub filtered_by_reason: std::collections::BTreeMap<u32, u64>,
}

/// One member's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberReport {
    /// Name.
    pub name: String,
    /// ASN.
    pub asn: u32,
    /// Port availability from its route server sessions.
    pub port: Availability,
    /// RTT to its routers (its probes merged), if probed.
    pub rtt: Option<RttStats>,
    /// That RTT's 95th percentile against the target (`no_data` when not probed).
    pub rtt_status: Status,
    /// Loss of the probes to its routers, summed, if probed.
    pub loss: Option<Loss>,
    /// Traffic.
    pub traffic: TrafficFigures,
    /// Prefixes on the route servers.
    pub prefixes: PrefixFigures,
    /// Session down events in the month.
    pub session_downs: u32,
}

/// What a fault was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// A site unreachable from every probe.
    Site {
        /// Site id.
        site: String,
    },
    /// A member port with every route server session down.
    MemberPort {
        /// Member name.
        member: String,
    },
    /// An alert not covered by the two above.
    Alert {
        /// Alert id.
        id: String,
    },
}

/// One fault of the month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fault {
    /// What failed.
    pub what: FaultKind,
    /// Start (Unix seconds).
    pub start: i64,
    /// End (Unix seconds, exclusive); `None` if it had not ended by the end of the month.
    pub end: Option<i64>,
    /// Start in local time, `YYYY-MM-DD HH:MM`.
    pub start_local: String,
    /// End in local time.
    pub end_local: Option<String>,
    /// Minutes within the month.
    pub duration_minutes: u32,
    /// Likely cause (alert correlation, or the session's NOTIFICATION).
    pub cause: String,
    /// Members affected.
    pub members: Vec<String>,
}

/// Route server summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RouteServerSummary {
    /// Distinct sessions (route server, member, neighbour) seen.
    pub sessions: u32,
    /// Session down events in the month.
    pub session_downs: u32,
    /// Prefix totals over members.
    pub prefixes: PrefixFigures,
}

/// A member pair by traffic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairReport {
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Bytes.
    pub bytes: u64,
}

/// The monthly service report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Exchange name.
    pub exchange: String,
    /// `YYYY-MM`.
    pub month: String,
    /// IANA time zone the month is cut in.
    pub time_zone: String,
    /// First second (Unix).
    pub from: i64,
    /// End (Unix, exclusive).
    pub to: i64,
    /// Minutes in the month.
    pub minutes: u32,
    /// Days in the month.
    pub days: u32,
    /// `--site`, if given.
    pub site_filter: Option<String>,
    /// `--member`, if given.
    pub member_filter: Option<String>,
    /// Targets.
    pub targets: Targets,
    /// The service as a whole.
    pub service: Availability,
    /// Per site.
    pub sites: Vec<SiteReport>,
    /// Per probe.
    pub paths: Vec<PathReport>,
    /// Per member.
    pub members: Vec<MemberReport>,
    /// Faults, by start.
    pub faults: Vec<Fault>,
    /// Route servers.
    pub route_servers: RouteServerSummary,
    /// Top member pairs.
    pub top_pairs: Vec<PairReport>,
    /// Peering-LAN hygiene violations per member and rule.
    pub hygiene: Vec<HygieneReport>,
    /// Whether the figures come from minute data or hourly rollups.
    pub source: DataSource,
}

/// Peering-LAN hygiene violations of one member and rule over the month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HygieneReport {
    /// Member name (`unregistered MAC` for MACs of no member).
    pub member: String,
    /// Member ASN (0 for MACs of no member).
    pub asn: u32,
    /// Rule (the collector's name, e.g. `spanning_tree`).
    pub rule: String,
    /// Sampled frames that broke it.
    pub samples: u64,
    /// Estimated frames (scaled by the sampling rate).
    pub frames: u64,
    /// Minutes (hours, where built from hourly data) with violations.
    pub periods: u32,
    /// First period with a violation, local time.
    pub first_local: String,
    /// Last offending sample, local time.
    pub last_local: String,
    /// That sample as the collector describes it (JSON text).
    pub last: String,
}

/// Where the figures come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DataSource {
    /// Figures before this time (Unix seconds) are built from hourly rollups because the
    /// minute data is gone; `None` when the whole month comes from minute data.
    pub hourly_until: Option<i64>,
    /// What that means for precision, for readers.
    pub note: Option<String>,
}
