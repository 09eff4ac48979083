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
}

/// Decodes the `mrt:` section; `data_dir` gives the default directory.
pub(crate) fn decode_mrt(cx: &mut Ctx, node: &Node, data_dir: Option<&Path>) -> Option<MrtDumps> {
    let f = cx.fields(node, "mrt", &["dir", "interval", "keep"])?;
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
    Some(MrtDumps {
        dir,
        interval,
        keep,
    })
}
