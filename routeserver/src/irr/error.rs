//! Errors that stop an IRR operation and warnings that only skip an object.

use std::fmt;
use std::path::PathBuf;

/// A failure that stops loading or expanding IRR data.
#[derive(Debug, thiserror::Error)]
pub enum IrrError {
    /// A database file could not be opened, read or decompressed.
    #[error("{}: cannot read IRR database: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An as-set was asked for or referenced but no loaded file defines it.
    #[error(
        "as-set {name} is not defined in the loaded IRR data{}",
        referenced_suffix(referenced_by)
    )]
    UnknownAsSet {
        name: String,
        referenced_by: Option<String>,
    },
    /// A name given by the user is neither an AS number nor an as-set name.
    #[error("{name:?} is not an AS number or an as-set name: {reason}")]
    InvalidName { name: String, reason: String },
}

fn referenced_suffix(by: &Option<String>) -> String {
    match by {
        Some(parent) => format!(" (member of {parent})"),
        None => String::new(),
    }
}

/// Something wrong that was skipped; the rest of the data is still usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrrWarning {
    /// A syntax or content error in a database file; the object was skipped.
    Parse {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A problem met while expanding an as-set (depth limit, ignored mbrs-by-ref).
    Expansion { set: String, message: String },
}

impl IrrWarning {
    /// The line number for parse warnings (1-based), `None` for expansion warnings.
    pub fn line(&self) -> Option<usize> {
        match self {
            IrrWarning::Parse { line, .. } => Some(*line),
            IrrWarning::Expansion { .. } => None,
        }
    }
}

impl fmt::Display for IrrWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrrWarning::Parse {
                file,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", file.display()),
            IrrWarning::Expansion { set, message } => write!(f, "as-set {set}: {message}"),
        }
    }
}
