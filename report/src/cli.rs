//! `fox report`: options from the command line, the store from the data directory.

use std::path::{Path, PathBuf};

use fox_history::HistoryStore;

use crate::model::Targets;
use crate::{build, to_csv, to_html, Layout, Options, Period, ReportError};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML file.
    Html,
    /// JSON, the same numbers.
    Json,
    /// CSV, one figure per line.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("unknown format `{s}`: html, json or csv")),
        }
    }
}

/// What `fox report` was asked for.
#[derive(Clone, Debug)]
pub struct Request {
    /// `YYYY-MM`.
    pub month: String,
    /// IANA time zone (default `history.time_zone` of the YAML file).
    pub time_zone: Option<String>,
    /// Only this site.
    pub site: Option<String>,
    /// Only this member.
    pub member: Option<String>,
    /// Output format.
    pub format: Format,
    /// Store file (default `history.path` of the YAML file).
    pub store: Option<PathBuf>,
}

/// The store file for `cfg` (`history.path`) unless `explicit` is given.
pub fn store_path(cfg: &fox_config::Config, explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(|| cfg.history.path.clone(), Path::to_path_buf)
}

/// Targets from the collector's SLA settings (the 99.9 % floor is fixed).
pub fn targets(cfg: &fox_config::Config) -> Targets {
    let sla = &cfg.collector.sla;
    Targets {
        availability_percent: sla.availability_percent(),
        availability_floor_percent: 99.9,
        rtt_ms: sla.rtt.as_secs_f64() * 1000.0,
    }
}

/// Makes the report text for `req` over the exchange in `cfg`.
pub fn run(cfg: &fox_config::Config, req: &Request) -> Result<String, ReportError> {
    let tz = req.time_zone.as_deref().unwrap_or(&cfg.history.time_zone);
    let period = Period::parse(&req.month, tz)?;
    let store = HistoryStore::open_read_only(&store_path(cfg, req.store.as_deref()))?;
    let opts = Options {
        period,
        site: req.site.clone(),
        member: req.member.clone(),
        targets: targets(cfg),
    };
    let r = build(&store, &Layout::from_config(cfg), &opts)?;
    Ok(match req.format {
        Format::Html => to_html(&r)?,
        Format::Json => {
            serde_json::to_string_pretty(&r).map_err(|e| ReportError::Encode(e.to_string()))?
        }
        Format::Csv => to_csv(&r),
    })
}
