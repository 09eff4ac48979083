//! `mrt:` periodic MRT dumps of the route servers' RIBs (RFC 6396).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decode::Ctx;
use crate::node::Node;

/// Periodic TABLE_DUMP_V2 dumps, as route collectors publish them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrtDumps {
    /// Directory the files go to (default `<data_dir>/mrt`); one
    /// subdirectory per route server.
    pub dir: PathBuf,
    /// Time between dumps (default 15m), aligned to multiples of it in UTC.
    pub interval: Duration,
    /// Dumps kept per route server; older ones are deleted (default 96).
    pub keep: usize,
    /// BGP4MP update logs, if `mrt.updates` is given.
    pub updates: Option<MrtUpdates>,
}

/// BGP4MP update logs (RFC 6396 4.4): every UPDATE received and every
/// session state change, in files rotated by time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrtUpdates {
    /// File name pattern in the route server's directory, with UTC time
    /// fields `%Y %m %d %H %M %S`; ends in `.gz` (gzip). Default
    /// `updates.%Y%m%d.%H%M.gz`.
    pub file: String,
    /// Rotation interval (default 5m), aligned to multiples of it in UTC.
    pub interval: Duration,
    /// Files kept per route server (default 288, one day of 5 minutes).
    pub keep: usize,
    /// Records queued for the writer before new ones are dropped (default 65536).
    pub queue: usize,
}

fn decode_updates(cx: &mut Ctx, node: &Node) -> Option<MrtUpdates> {
    let f = cx.fields(node, "updates", &["file", "interval", "keep", "queue"])?;
    let file = match f.get("file") {
        Some(n) => {
            let s = cx.string(n, "file")?;
            if s.contains('/') || !s.ends_with(".gz") || !s.contains('%') {
                cx.err(
                    n.loc,
                    "`file` must be a file name (no `/`) with a UTC time field such as %H%M, ending in `.gz`",
                );
                return None;
            }
            s
        }
        None => "updates.%Y%m%d.%H%M.gz".to_string(),
    };
    let interval = match f.get("interval") {
        Some(n) => {
            let d = cx.duration(n, "interval")?;
            if d < Duration::from_secs(1) || d > Duration::from_secs(86_400) {
                cx.err(n.loc, "`interval` must be between 1s and 24h");
                return None;
            }
            d
        }
        None => Duration::from_secs(5 * 60),
    };
    let keep = match f.get("keep") {
        Some(n) => cx.int(n, "keep", 1, 1_000_000)?,
        None => 288,
    };
    let queue = match f.get("queue") {
        Some(n) => cx.int(n, "queue", 1, 100_000_000)?,
        None => 65_536,
    };
    Some(MrtUpdates {
        file,
        interval,
        keep,
        queue,
    })
}

/// Decodes the `mrt:` section; `data_dir` gives the default directory.
pub(crate) fn decode_mrt(cx: &mut Ctx, node: &Node, data_dir: Option<&Path>) -> Option<MrtDumps> {
    let f = cx.fields(node, "mrt", &["dir", "interval", "keep", "updates"])?;
    let dir = match f.get("dir") {
        Some(n) => PathBuf::from(cx.string(n, "dir")?),
        None => data_dir.unwrap_or(Path::new(".")).join("mrt"),
    };
    let interval = match f.get("interval") {
        Some(n) => {
            let d = cx.duration(n, "interval")?;
            if d < Duration::from_secs(1) || d > Duration::from_secs(86_400) {
                cx.err(n.loc, "`interval` must be between 1s and 24h");
                return None;
            }
            d
        }
        None => Duration::from_secs(15 * 60),
    };
    let keep = match f.get("keep") {
        Some(n) => cx.int(n, "keep", 1, 100_000)?,
        None => 96,
    };
    let updates = match f.get("updates") {
        Some(n) => Some(decode_updates(cx, n)?),
        None => None,
    };
    Some(MrtDumps {
        dir,
        interval,
        keep,
        updates,
    })
}
