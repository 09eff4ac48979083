//! Periodic MRT TABLE_DUMP_V2 dumps of the RIB (RFC 6396), as route
//! collectors publish them: every `interval`, aligned to multiples of it in
//! UTC, the whole RIB (every member's paths, filtered ones included) goes to
//! `<dir>/rib.YYYYMMDD.HHMM.gz` (gzip, the UTC time of the dump slot;
//! `HHMMSS` for slots that are not on a whole minute); the
//! newest `keep` files are kept. Files are written to a temporary name and
//! renamed, so a reader never sees half a dump.
//!
//! One path per member and prefix: a TABLE_DUMP_V2 RIB entry is per peer,
//! so no ADD-PATH path identifiers (RFC 8050) are needed; FOX does not
//! negotiate ADD-PATH with members.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::{error, info};

use super::mrt::{dump, DumpPath};
use super::query::{Answer, Query};
use super::{RibMsg, RibTx};

/// Where and how often to dump.
#[derive(Clone, Debug)]
pub struct PeriodicMrt {
    /// Directory of the files (created if missing).
    pub dir: PathBuf,
    /// Time between dumps.
    pub interval: Duration,
    /// Dumps kept; older ones are deleted.
    pub keep: usize,
}

/// UTC calendar date and time of a UNIX time: (year, month, day, hour, minute).
pub fn utc(unix: u64) -> (i64, u32, u32, u32, u32) {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days to civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u32,
        ((secs % 3600) / 60) as u32,
    )
}

/// The file name of a dump taken at `unix`: `rib.YYYYMMDD.HHMM.gz` (UTC),
/// or `rib.YYYYMMDD.HHMMSS.gz` when the time is not on a whole minute
/// (intervals below a minute, for tests).
pub fn file_name(unix: u64) -> String {
    let (y, mo, d, h, mi) = utc(unix);
    let secs = unix % 60;
    if secs == 0 {
        format!("rib.{y:04}{mo:02}{d:02}.{h:02}{mi:02}.gz")
    } else {
        format!("rib.{y:04}{mo:02}{d:02}.{h:02}{mi:02}{secs:02}.gz")
    }
}

/// Encodes `paths` as a dump stamped `unix`, gzips it into `dir` and
/// deletes all but the newest `keep` dumps. Returns the file written.
pub fn write_dump(dir: &Path, unix: u64, paths: &[DumpPath], keep: usize) -> io::Result<PathBuf> {
    let bytes = dump(paths, unix as f64).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(unix));
    let tmp = dir.join(format!(".{}.tmp", file_name(unix)));
    {
        let f = std::fs::File::create(&tmp)?;
        let mut gz =
            flate2::write::GzEncoder::new(io::BufWriter::new(f), flate2::Compression::default());
        gz.write_all(&bytes)?;
        gz.finish()?.flush()?;
    }
    std::fs::rename(&tmp, &path)?;
    rotate(dir, keep)?;
    Ok(path)
}

/// Deletes all but the newest `keep` dump files in `dir` (the names sort by time).
pub fn rotate(dir: &Path, keep: usize) -> io::Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("rib.") && n.ends_with(".gz"))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(keep);
    for n in &names[..extra] {
        std::fs::remove_file(dir.join(n))?;
    }
    Ok(extra)
}

/// Seconds until the next multiple of `interval` after `now`.
fn until_next(now: u64, interval: u64) -> u64 {
    let i = interval.max(1);
    i - now % i
}

/// Dumps the RIB every interval until the RIB is gone.
pub async fn run(rib: RibTx, cfg: PeriodicMrt) {
    let interval = cfg.interval.as_secs().max(1);
    loop {
        let now = crate::session::status::unix_now();
        tokio::time::sleep(Duration::from_secs(until_next(now, interval))).await;
        let (tx, rx) = oneshot::channel();
        if rib.send(RibMsg::Query(Query::Dump, tx)).await.is_err() {
            return;
        }
        let Ok(Answer::Dump(paths)) = rx.await else {
            return;
        };
        // Stamp with the slot time (what the file name says).
        let unix = crate::session::status::unix_now() / interval * interval;
        let (dir, keep) = (cfg.dir.clone(), cfg.keep);
        let n = paths.len();
        let started = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || write_dump(&dir, unix, &paths, keep)).await {
            Ok(Ok(p)) => {
                info!(file = %p.display(), paths = n, seconds = started.elapsed().as_secs_f64(), "MRT dump written")
            }
            Ok(Err(e)) => error!(dir = %cfg.dir.display(), error = %e, "MRT dump failed"),
            Err(e) => error!(error = %e, "MRT dump task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_names() {
        assert_eq!(utc(0), (1970, 1, 1, 0, 0));
        // 2025-07-20T10:01:43Z, the rpki-client build time of the test data.
        assert_eq!(utc(1_753_005_703), (2025, 7, 20, 10, 1));
        // 2024-02-29T23:59:00Z (leap day).
        assert_eq!(utc(1_709_251_140), (2024, 2, 29, 23, 59));
        assert_eq!(file_name(1_753_005_600), "rib.20250720.1000.gz");
        assert_eq!(file_name(1_753_005_602), "rib.20250720.100002.gz");
        assert_eq!(until_next(1000, 60), 20);
        assert_eq!(until_next(1020, 60), 60);
    }

    #[test]
    fn rotation_keeps_the_newest() {
        let dir = std::env::temp_dir().join(format!("fox-mrt-rot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for t in [1_753_005_600u64, 1_753_006_500, 1_753_007_400] {
            write_dump(&dir, t, &[], 2).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["rib.20250720.1015.gz", "rib.20250720.1030.gz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
