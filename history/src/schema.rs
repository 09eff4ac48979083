//! The store's schema. All times are UTC unix seconds (`ts` is the start of the minute, the
//! 5-minute slot or the hour the row covers); members are keyed by ASN; ranges in the read API
//! are half-open `[from, to)`.
//!
//! | table | key | columns | kept |
//! | --- | --- | --- | --- |
//! | `traffic_minute` | asn, ts, ipv (4 or 6) | bytes_in, bytes_out, packets_in, packets_out | `minutes` (35d) |
//! | `traffic_hour` | asn, ts, ipv | sums of the above + peak_bytes_in, peak_bytes_out (largest minute) | `hours` (400d) |
//! | `matrix_5min` | ts, src_asn, dst_asn | bytes, packets (only pairs with traffic) | `minutes` |
//! | `matrix_hour` | ts, src_asn, dst_asn | bytes, packets | `hours` |
//! | `probe_target` | id | name (unique): dictionary for the probe tables | always |
//! | `probe_minute` | probe_id, ts | sent, lost, rtt_min/median/p95/max_us (exact, NULL without replies), hist | `minutes` |
//! | `probe_hour` | probe_id, ts | sent, lost, rtt_min/max_us, median/p95 from hist, minutes_with_data, minutes_up, hist | `hours` |
//! | `session_event` | id (rowid); index ts, (asn, ts) | ts, rs, asn, neighbor, up (0/1), reason | `hours` |
//! | `alert_event` | alert_id; index raised | raised, resolved (NULL while open), severity, cause, symptoms | `hours` after resolve |
//! | `prefix_hour` | asn, ts, rs | received, accepted, filtered, rpki_valid, rpki_invalid, rpki_not_found | `hours` |
//! | `prefix_filtered_hour` | asn, ts, rs, reason | count (reason = Euro-IX filter reason code) | `hours` |
//! | `hygiene_minute` | asn, ts, rule | samples, frames (scaled by sampling rate), last_at, last (the last offending sample); only non-zero rows; asn 0 = MAC of no member | `minutes` |
//! | `hygiene_hour` | asn, ts, rule | sums of the above, the hour's last offence | `hours` |
//! | `meta` | key | value: `schema_version`, `rolled_until` (hours before it are rolled up) | always |
//!
//! `hist` is the RTT histogram of a minute or hour (see [`crate::hist`]): log-linear buckets of
//! about 3 % width, stored sparse. Hourly medians and p95 are read from the merged histogram,
//! because quantiles of minutes cannot be averaged; the report merges hourly histograms into
//! monthly p95/p99 and "share over target" the same way.

/// Version written to `meta.schema_version`; bumped on incompatible changes.
pub const SCHEMA_VERSION: i64 = 1;

/// Statements that create the schema (idempotent).
pub(crate) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS traffic_minute (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    ipv INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    packets_in INTEGER NOT NULL,
    packets_out INTEGER NOT NULL,
    PRIMARY KEY (asn, ts, ipv)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS traffic_hour (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    ipv INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    packets_in INTEGER NOT NULL,
    packets_out INTEGER NOT NULL,
    peak_bytes_in INTEGER NOT NULL,
    peak_bytes_out INTEGER NOT NULL,
    PRIMARY KEY (asn, ts, ipv)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS matrix_5min (
    ts INTEGER NOT NULL,
    src_asn INTEGER NOT NULL,
    dst_asn INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    PRIMARY KEY (ts, src_asn, dst_asn)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS matrix_hour (
    ts INTEGER NOT NULL,
    src_asn INTEGER NOT NULL,
    dst_asn INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    PRIMARY KEY (ts, src_asn, dst_asn)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS probe_target (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS probe_minute (
    probe_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    lost INTEGER NOT NULL,
    rtt_min_us INTEGER,
    rtt_median_us INTEGER,
    rtt_p95_us INTEGER,
    rtt_max_us INTEGER,
    hist BLOB NOT NULL,
    PRIMARY KEY (probe_id, ts)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS probe_hour (
    probe_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    lost INTEGER NOT NULL,
    rtt_min_us INTEGER,
    rtt_median_us INTEGER,
    rtt_p95_us INTEGER,
    rtt_max_us INTEGER,
    minutes_with_data INTEGER NOT NULL,
    minutes_up INTEGER NOT NULL,
    hist BLOB NOT NULL,
    PRIMARY KEY (probe_id, ts)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS session_event (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    rs TEXT NOT NULL,
    asn INTEGER NOT NULL,
    neighbor TEXT NOT NULL,
    up INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_event_ts ON session_event (ts);
CREATE INDEX IF NOT EXISTS session_event_asn_ts ON session_event (asn, ts);

CREATE TABLE IF NOT EXISTS alert_event (
    alert_id TEXT PRIMARY KEY,
    raised INTEGER NOT NULL,
    resolved INTEGER,
    severity TEXT NOT NULL,
    cause TEXT NOT NULL,
    symptoms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_event_raised ON alert_event (raised);

CREATE TABLE IF NOT EXISTS prefix_hour (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    rs TEXT NOT NULL,
    received INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    filtered INTEGER NOT NULL,
    rpki_valid INTEGER NOT NULL,
    rpki_invalid INTEGER NOT NULL,
    rpki_not_found INTEGER NOT NULL,
    PRIMARY KEY (asn, ts, rs)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS prefix_filtered_hour (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    rs TEXT NOT NULL,
    reason INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (asn, ts, rs, reason)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS hygiene_minute (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    rule TEXT NOT NULL,
    samples INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    last TEXT NOT NULL,
    PRIMARY KEY (asn, ts, rule)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS hygiene_hour (
    asn INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    rule TEXT NOT NULL,
    samples INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    last TEXT NOT NULL,
    PRIMARY KEY (asn, ts, rule)
) WITHOUT ROWID;
";

/// Tables whose rows are per minute (or per 5 minutes) and expire after the `minutes` period.
pub(crate) const MINUTE_TABLES: [&str; 4] = [
    "traffic_minute",
    "matrix_5min",
    "probe_minute",
    "hygiene_minute",
];

/// Tables whose rows are per hour and expire after the `hours` period.
pub(crate) const HOUR_TABLES: [&str; 6] = [
    "hygiene_hour",
    "traffic_hour",
    "matrix_hour",
    "probe_hour",
    "prefix_hour",
    "prefix_filtered_hour",
];
