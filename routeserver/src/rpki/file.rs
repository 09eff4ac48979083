//! VRP files: rpki-client / StayRTR JSON, Routinator `json` and `jsonext`,
//! and CSV (RIPE validator, Routinator, rpki-client); plain, `.gz` or `.bz2`.
//!
//! JSON: `{"roas": [{"asn": 13335 | "AS13335", "prefix": "1.0.0.0/24",
//! "maxLength": 24, ...}], ...}`; every other key is ignored (metadata,
//! router keys); ASPAs (`aspas`, `provider_authorizations`) are read into
//! the set's ASPA table (see `crate::aspa::file`). A missing maxLength means the prefix length.
//! CSV: `ASN,IP Prefix,Max Length[,...]` with an optional header line.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use thiserror::Error;

use super::vrp::{Vrp, VrpSet};
use crate::wire::Asn;

/// A VRP file could not be read; every variant names the file.
#[derive(Debug, Error)]
pub enum FileError {
    /// Opening, reading or decompressing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The JSON is malformed (serde_json names line and column).
    #[error("{path}: invalid VRP JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The JSON has no `roas` array.
    #[error("{path}: no \"roas\" array (not an rpki-client/Routinator VRP export)")]
    NoRoas {
        /// The file.
        path: PathBuf,
    },
    /// One entry is wrong.
    #[error("{path}: {location}: {reason}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// `roas[index]` or `line N`.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The VRPs of one file.
#[derive(Debug)]
pub struct FileVrps {
    /// The distinct VRPs (deduplicated on prefix, maxLength, ASN).
    pub set: VrpSet,
    /// Entries in the file before deduplication.
    pub entries: usize,
}

/// Loads a VRP file; the format follows from the name (`.csv` → CSV, else
/// JSON; `.gz`/`.bz2` are decompressed first).
pub fn load_vrp_file(path: &Path) -> Result<FileVrps, FileError> {
    let io_err = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut data = Vec::new();
    let inner = if let Some(stem) = name.strip_suffix(".gz") {
        flate2::read::MultiGzDecoder::new(file)
            .read_to_end(&mut data)
            .map_err(io_err)?;
        stem
    } else if let Some(stem) = name.strip_suffix(".bz2") {
        bzip2::read::MultiBzDecoder::new(file)
            .read_to_end(&mut data)
            .map_err(io_err)?;
        stem
    } else {
        io::BufReader::new(file)
            .read_to_end(&mut data)
            .map_err(io_err)?;
        name.as_str()
    };
    if inner.ends_with(".csv") {
        parse_csv(path, &data)
    } else {
        parse_json(path, &data)
    }
}

#[derive(Deserialize)]
struct JsonFile<'a> {
    #[serde(borrow, default)]
    roas: Option<Vec<RawRoa<'a>>>,
    /// rpki-client's ASPAs.
    #[serde(default)]
    aspas: Option<serde_json::Value>,
    /// StayRTR's ASPAs.
    #[serde(default)]
    provider_authorizations: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawRoa<'a> {
    asn: Flex,
    #[serde(borrow)]
    prefix: Cow<'a, str>,
    #[serde(
        default,
        rename = "maxLength",
        alias = "max_length",
        alias = "maxPrefixLength"
    )]
    max_length: Option<Flex>,
}

/// A number written as a JSON number or string ("AS13335", "13335", 24).
struct Flex(Result<u64, String>);

impl<'de> Deserialize<'de> for Flex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flex;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string like \"AS64496\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flex, E> {
                Ok(Flex(Ok(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flex, E> {
                Ok(Flex(u64::try_from(v).map_err(|_| v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flex, E> {
                let digits = v
                    .strip_prefix("AS")
                    .or_else(|| v.strip_prefix("as"))
                    .unwrap_or(v);
                Ok(Flex(digits.parse().map_err(|_| v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_asn(f: &Flex) -> Result<Asn, String> {
    match &f.0 {
        Ok(v) => Asn::try_from(*v).map_err(|_| format!("ASN {v} is out of range")),
        Err(s) => Err(format!("ASN {s:?} is not a number")),
    }
}

fn make_vrp(prefix: &str, asn: Result<Asn, String>, max_len: Option<u64>) -> Result<Vrp, String> {
    let net: IpNet = prefix
        .trim()
        .parse()
        .map_err(|_| format!("prefix {prefix:?} is not an IP prefix"))?;
    let asn = asn?;
    let max_len = match max_len {
        None => net.prefix_len(),
        Some(m) => u8::try_from(m).map_err(|_| format!("maxLength {m} is out of range"))?,
    };
    Vrp::new(net, max_len, asn).map_err(|e| e.to_string())
}

fn parse_json(path: &Path, data: &[u8]) -> Result<FileVrps, FileError> {
    let file: JsonFile = serde_json::from_slice(data).map_err(|source| FileError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let roas = file.roas.ok_or_else(|| FileError::NoRoas {
        path: path.to_path_buf(),
    })?;
    let entries = roas.len();
    let mut vrps = Vec::with_capacity(entries);
    for (i, r) in roas.iter().enumerate() {
        let max_len = match &r.max_length {
            None => None,
            Some(Flex(Ok(m))) => Some(*m),
            Some(Flex(Err(s))) => {
                return Err(entry_err(
                    path,
                    format!("roas[{i}]"),
                    format!("maxLength {s:?} is not a number"),
                ))
            }
        };
        let vrp = make_vrp(&r.prefix, parse_asn(&r.asn), max_len)
            .map_err(|reason| entry_err(path, format!("roas[{i}] ({})", r.prefix), reason))?;
        vrps.push(vrp);
    }
    let aspas = crate::aspa::file::aspas_from_json(
        file.aspas.as_ref(),
        file.provider_authorizations.as_ref(),
    )
    .map_err(|reason| entry_err(path, "ASPAs".into(), reason))?;
    let set: VrpSet = vrps.into_iter().collect();
    Ok(FileVrps {
        set: set.with_aspas(aspas.unwrap_or_default()),
        entries,
    })
}

fn entry_err(path: &Path, location: String, reason: String) -> FileError {
    FileError::Entry {
        path: path.to_path_buf(),
        location,
        reason,
    }
}

fn parse_csv(path: &Path, data: &[u8]) -> Result<FileVrps, FileError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| entry_err(path, "file".into(), format!("not UTF-8 text: {e}")))?;
    let mut vrps = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(',').map(|f| f.trim().trim_matches('"').trim());
        let (asn, prefix, max_len) = (fields.next(), fields.next(), fields.next());
        let loc = || format!("line {}", i + 1);
        let (Some(asn), Some(prefix)) = (asn, prefix) else {
            return Err(entry_err(
                path,
                loc(),
                "expected ASN,IP Prefix,Max Length".into(),
            ));
        };
        if i == 0 && asn.eq_ignore_ascii_case("asn") {
            continue; // header
        }
        let digits = asn
            .strip_prefix("AS")
            .or_else(|| asn.strip_prefix("as"))
            .unwrap_or(asn);
        let asn_v = digits
            .parse::<Asn>()
            .map_err(|_| format!("ASN {asn:?} is not a number"));
        let max_len =
            match max_len.filter(|m| !m.is_empty()) {
                None => None,
                Some(m) => Some(m.parse::<u64>().map_err(|_| {
                    entry_err(path, loc(), format!("maxLength {m:?} is not a number"))
                })?),
            };
        let vrp =
            make_vrp(prefix, asn_v, max_len).map_err(|reason| entry_err(path, loc(), reason))?;
        vrps.push(vrp);
    }
    let entries = vrps.len();
    Ok(FileVrps {
        set: vrps.into_iter().collect(),
        entries,
    })
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
