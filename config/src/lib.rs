//! The FOX exchange described in one YAML file: types, and a strict loader whose every
//! error names file:line:col and what is wrong. The schema is in `configs/fox.yaml`.

#![warn(missing_docs)]

mod bmp;
mod build;
mod clickhouse;
mod collector;
mod collector_ops;
mod decode;
mod error;
mod history;
mod looking_glass;
mod members;
mod model;
mod mrt;
mod node;
mod policy;
mod secret;
mod summary;
mod tcp_ao;

use std::path::{Path, PathBuf};

pub use bmp::BmpStation;
pub use clickhouse::ClickHouseSettings;
pub use collector::{AlertTargets, CollectorSettings, ProbeSettings, SlaSettings};
pub use collector_ops::{BaselineSettings, InterfaceSettings, ProbeKind, ProbeTags};
pub use decode::parse_duration;
pub use error::{ConfigError, ConfigErrors};
pub use history::{check_time_zone, HistorySettings};
pub use looking_glass::{LgSource, LookingGlass, RateLimit};
pub use model::{
    Blackhole, Config, Connection, Exchange, IrrSources, MacAddr, MaxPrefix, Member, Neighbor,
    PeeringLan, RouteServer, RpkiSources, RtrServer, Site, Speed,
};
pub use mrt::MrtDumps;
pub use mrt::MrtUpdates;
pub use policy::AspaPolicy;
pub use policy::{
    LenRange, MaxPrefixAction, NextHopPolicy, Policy, PolicyOverrides, RolePolicy,
    DEFAULT_TRANSIT_FREE_ASNS,
};

pub use model::{
    DEFAULT_CONNECTION_RATE_LIMIT, DEFAULT_CONNECTION_RATE_WINDOW, DEFAULT_MAX_PENDING_CONNECTIONS,
};
pub use secret::{Password, MAX_PASSWORD_LEN};
pub use tcp_ao::{AoAlgorithm, AoSecret, TcpAo, TcpAoKey, MAX_AO_SECRET_LEN};

/// Largest configuration file accepted (bytes); bounds memory and parse time.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| single(&file, format!("cannot read: {e}")))?;
    if text.len() > MAX_FILE_BYTES {
        return Err(single(
            &file,
            format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                text.len()
            ),
        ));
    }
    let text = String::from_utf8(text).map_err(|e| {
        single(
            &file,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse(&text, &file)
}

/// Checks YAML `text`; `file` is the name used in errors and stored in `Config::source`.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    if text.len() > MAX_FILE_BYTES {
        return Err(single(
            file,
            format!(
                "text is {} bytes; the limit is {MAX_FILE_BYTES}",
                text.len()
            ),
        ));
    }
    let tree = node::parse_tree(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line: e.loc.line,
            col: e.loc.col,
            message: format!("YAML syntax: {}", e.message),
        }])
    })?;
    let mut cx = decode::Ctx::new(file);
    let config = build::decode_config(&mut cx, &tree, PathBuf::from(file));
    match config {
        Some(c) if cx.errors.is_empty() => Ok(c),
        _ => {
            let mut errors = std::mem::take(&mut cx.errors);
            if errors.is_empty() {
                errors.push(ConfigError {
                    file: file.to_owned(),
                    line: 0,
                    col: 0,
                    message: "configuration is incomplete".to_owned(),
                });
            }
            errors.sort_by_key(|e| (e.line, e.col));
            Err(ConfigErrors(errors))
        }
    }
}

fn single(file: &str, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: file.to_owned(),
        line: 0,
        col: 0,
        message,
    }])
}
