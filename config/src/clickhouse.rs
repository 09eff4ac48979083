//! `collector: clickhouse:`: the optional flow archive in ClickHouse (HTTP interface).

use std::time::Duration;

use crate::decode::Ctx;
use crate::node::Node;

/// Where and how the collector archives every decoded flow sample in ClickHouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickHouseSettings {
    /// Base URL of the HTTP interface, `http://host:port` (default port 8123).
    pub url: String,
    /// Database (default `fox`).
    pub database: String,
    /// Table (default `flows`).
    pub table: String,
    /// Samples per INSERT at most (default 10000).
    pub batch_size: usize,
    /// A batch is sent at least this often when samples are waiting (default 5s).
    pub batch_interval: Duration,
    /// Samples waiting in memory at most; beyond this they are dropped and counted (default 200000).
    pub queue: usize,
    /// Days of flows kept; older daily partitions are dropped (default 365).
    pub retention_days: u32,
}

impl ClickHouseSettings {
    /// Settings for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        ClickHouseSettings {
            url: url.into(),
            database: "fox".into(),
            table: "flows".into(),
            batch_size: 10_000,
            batch_interval: Duration::from_secs(5),
            queue: 200_000,
            retention_days: 365,
        }
    }
}

const KEYS: &[&str] = &[
    "url",
    "database",
    "table",
    "batch_size",
    "batch_interval",
    "queue",
    "retention_days",
];

/// A ClickHouse identifier: letters, digits and `_`, not starting with a digit.
fn identifier(cx: &mut Ctx, node: &Node, key: &str) -> Option<String> {
    let s = cx.string(node, key)?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        cx.err(
            node.loc,
            format!("`{key}`: `{s}` must be letters, digits and `_` (not starting with a digit)"),
        );
        return None;
    }
    Some(s)
}

/// Decodes `clickhouse:`.
pub(crate) fn decode_clickhouse(cx: &mut Ctx, node: &Node) -> Option<ClickHouseSettings> {
    let f = cx.fields(node, "clickhouse", KEYS)?;
    let url = f.req(cx, "url").and_then(|n| {
        let u = cx.string(n, "url")?;
        let host = u.strip_prefix("http://").unwrap_or_default();
        if host.is_empty() || host.starts_with('/') {
            cx.err(
                n.loc,
                format!("`url`: `{u}` must be an http://host[:port] URL"),
            );
            return None;
        }
        Some(u.trim_end_matches('/').to_owned())
    });
    let d = ClickHouseSettings::new("");
    let database = f
        .get("database")
        .map_or(Some(d.database), |n| identifier(cx, n, "database"));
    let table = f
        .get("table")
        .map_or(Some(d.table), |n| identifier(cx, n, "table"));
    let batch_size = f.get("batch_size").map_or(Some(d.batch_size), |n| {
        cx.int(n, "batch_size", 1, 1_000_000)
    });
    let batch_interval = match f.get("batch_interval") {
        None => Some(d.batch_interval),
        Some(n) => cx.duration(n, "batch_interval").and_then(|v| {
            if v.is_zero() {
                cx.err(n.loc, "`batch_interval` must be more than zero");
                return None;
            }
            Some(v)
        }),
    };
    let queue = f
        .get("queue")
        .map_or(Some(d.queue), |n| cx.int(n, "queue", 1, 100_000_000));
    let retention_days = f.get("retention_days").map_or(Some(d.retention_days), |n| {
        cx.int(n, "retention_days", 1, 36_500)
    });
    let s = ClickHouseSettings {
        url: url?,
        database: database?,
        table: table?,
        batch_size: batch_size?,
        batch_interval: batch_interval?,
        queue: queue?,
        retention_days: retention_days?,
    };
    if s.queue < s.batch_size {
        cx.err(
            node.loc,
            format!(
                "`queue` ({}) must be at least `batch_size` ({})",
                s.queue, s.batch_size
            ),
        );
        return None;
    }
    Some(s)
}
