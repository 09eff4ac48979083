//! The `history:` section: the embedded history store (one SQLite file) and the time zone the
//! monthly report is computed in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decode::Ctx;
use crate::node::Node;

/// Where the IANA time zone database is looked up to validate `time_zone`.
pub const ZONEINFO_DIR: &str = "/usr/share/zoneinfo";

/// Settings of the history store; defaults when the section is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistorySettings {
    /// Write history at all (default true).
    pub enabled: bool,
    /// The database file (default `<exchange.data_dir>/history.sqlite`).
    pub path: PathBuf,
    /// How long minute rows are kept (default 35 days).
    pub retention_minutes: Duration,
    /// How long hourly rows and events are kept (default 400 days).
    pub retention_hours: Duration,
    /// IANA time zone of the exchange, for the monthly report (default `Asia/Taipei`).
    pub time_zone: String,
    /// How often collected samples are written, in one transaction (default 60 s).
    pub batch_interval: Duration,
}

impl HistorySettings {
    /// Defaults for an exchange whose data directory is `data_dir`.
    pub fn defaults(data_dir: &Path) -> Self {
        HistorySettings {
            enabled: true,
            path: data_dir.join("history.sqlite"),
            retention_minutes: Duration::from_secs(35 * 86_400),
            retention_hours: Duration::from_secs(400 * 86_400),
            time_zone: "Asia/Taipei".to_owned(),
            batch_interval: Duration::from_secs(60),
        }
    }
}

const KEYS: &[&str] = &[
    "enabled",
    "path",
    "retention",
    "time_zone",
    "batch_interval",
];

/// Decodes `history:`; `data_dir` gives the default path.
pub(crate) fn decode_history(
    cx: &mut Ctx,
    node: &Node,
    data_dir: &Path,
) -> Option<HistorySettings> {
    let d = HistorySettings::defaults(data_dir);
    let f = cx.fields(node, "history", KEYS)?;
    let enabled = match f.get("enabled") {
        Some(n) => cx.boolean(n, "enabled"),
        None => Some(d.enabled),
    };
    let path = match f.get("path") {
        Some(n) => cx.string(n, "path").map(PathBuf::from),
        None => Some(d.path.clone()),
    };
    let (mut minutes, mut hours) = (Some(d.retention_minutes), Some(d.retention_hours));
    if let Some(r) = f.get("retention") {
        match cx.fields(r, "history.retention", &["minutes", "hours"]) {
            Some(rf) => {
                if let Some(n) = rf.get("minutes") {
                    minutes = cx.duration(n, "minutes");
                    if minutes.is_some_and(|m| m < Duration::from_secs(2 * 3600)) {
                        cx.err(
                            n.loc,
                            "`minutes` must be at least 2h (an hour is rolled up after it ends)",
                        );
                        minutes = None;
                    }
                }
                if let Some(n) = rf.get("hours") {
                    hours = cx.duration(n, "hours");
                }
                if let (Some(m), Some(h)) = (minutes, hours) {
                    if h < m {
                        cx.err(r.loc, "`hours` must be at least as long as `minutes`");
                        hours = None;
                    }
                }
            }
            None => minutes = None,
        }
    }
    let time_zone = match f.get("time_zone") {
        Some(n) => cx
            .string(n, "time_zone")
            .and_then(|tz| match check_time_zone(&tz) {
                Ok(()) => Some(tz),
                Err(why) => {
                    cx.err(n.loc, format!("`time_zone`: {why}"));
                    None
                }
            }),
        None => Some(d.time_zone.clone()),
    };
    let batch_interval = match f.get("batch_interval") {
        Some(n) => cx.duration(n, "batch_interval").and_then(|b| {
            if b < Duration::from_secs(1) || b > Duration::from_secs(900) {
                cx.err(n.loc, "`batch_interval` must be between 1s and 15m");
                None
            } else {
                Some(b)
            }
        }),
        None => Some(d.batch_interval),
    };
    Some(HistorySettings {
        enabled: enabled?,
        path: path?,
        retention_minutes: minutes?,
        retention_hours: hours?,
        time_zone: time_zone?,
        batch_interval: batch_interval?,
    })
}

/// Checks an IANA time zone name: well formed, and present in the system's time zone
/// database (a TZif file) when that database is installed. `UTC` is always accepted.
pub fn check_time_zone(name: &str) -> Result<(), String> {
    if name == "UTC" {
        return Ok(());
    }
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    if !well_formed {
        return Err(format!(
            "`{name}` is not an IANA time zone name such as Asia/Taipei or UTC"
        ));
    }
    let db = Path::new(ZONEINFO_DIR);
    if !db.is_dir() {
        return Ok(());
    }
    let mut magic = [0u8; 4];
    let ok = std::fs::File::open(db.join(name))
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"TZif";
    if ok {
        Ok(())
    } else {
        Err(format!(
            "unknown time zone `{name}` (not in {ZONEINFO_DIR}); use an IANA name such as Asia/Taipei"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "exchange: { name: FOX, data_dir: /var/lib/fox }
sites: [{ id: a, name: Hsinchu }]
peering_lans: [{ name: v4, prefix: 192.0.2.0/24 }]
route_servers: [{ name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a }]
members:
  - { name: M1, asn: 65001, connections: [{ site: a, ipv4: 192.0.2.11 }] }
";

    fn parse(extra: &str) -> Result<crate::Config, crate::ConfigErrors> {
        crate::parse(&format!("{BASE}{extra}"), "t.yaml")
    }

    #[test]
    fn defaults_and_values() {
        let c = parse("").expect("base parses");
        assert_eq!(
            c.history,
            HistorySettings::defaults(Path::new("/var/lib/fox"))
        );
        assert_eq!(c.history.path, PathBuf::from("/var/lib/fox/history.sqlite"));
        let c = parse(
            "history:\n  enabled: false\n  path: /tmp/h.db\n  retention: { minutes: 10d, hours: 30d }\n  time_zone: Europe/Amsterdam\n  batch_interval: 30s\n",
        )
        .expect("parses");
        let h = c.history;
        assert!(!h.enabled);
        assert_eq!(h.path, PathBuf::from("/tmp/h.db"));
        assert_eq!(h.retention_minutes, Duration::from_secs(10 * 86_400));
        assert_eq!(h.retention_hours, Duration::from_secs(30 * 86_400));
        assert_eq!(h.time_zone, "Europe/Amsterdam");
        assert_eq!(h.batch_interval, Duration::from_secs(30));
    }

    #[test]
    fn errors_name_the_line() {
        let line = BASE.lines().count() + 2;
        let e = parse("history:\n  time_zone: Asia/Taipeh\n").expect_err("bad zone");
        let text = e.to_string();
        if Path::new(ZONEINFO_DIR).is_dir() {
            assert!(text.contains(&format!("t.yaml:{line}:")), "{text}");
            assert!(text.contains("unknown time zone `Asia/Taipeh`"), "{text}");
        }
        assert_eq!(e.0.len(), 1, "{e}");
        let e = parse("history:\n  time_zone: ../etc/passwd\n").expect_err("bad zone");
        assert!(e.to_string().contains("not an IANA time zone name"), "{e}");
        let e = parse("history:\n  retension: { minutes: 1d }\n").expect_err("typo");
        assert!(e.to_string().contains("did you mean `retention`"), "{e}");
        let e = parse("history:\n  retention: { minutes: 40d, hours: 30d }\n").expect_err("order");
        assert!(e.to_string().contains("at least as long"), "{e}");
        let e = parse("history:\n  retention: { minutes: 1h }\n").expect_err("short");
        assert!(e.to_string().contains("at least 2h"), "{e}");
        let e = parse("history:\n  batch_interval: 1d\n").expect_err("long batch");
        assert!(e.to_string().contains("between 1s and 15m"), "{e}");
        let e = parse("history:\n  enabled: yes please\n").expect_err("bool");
        assert!(e.to_string().contains("`enabled`"), "{e}");
    }

    #[test]
    fn time_zone_names() {
        assert!(check_time_zone("UTC").is_ok());
        assert!(check_time_zone("").is_err());
        assert!(check_time_zone("Asia//Taipei").is_err());
        if Path::new(ZONEINFO_DIR).is_dir() {
            assert!(check_time_zone("Asia/Taipei").is_ok());
            assert!(check_time_zone("Mars/Olympus").is_err());
        }
    }
}
