//! Errors of the history store.

use std::path::PathBuf;

/// Why the store could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The directory of the store cannot be created or written.
    #[error("history store directory {path}: {message}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The database file cannot be opened or set up.
    #[error("history store {path}: cannot open: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by an incompatible version.
    #[error("history store {path}: schema version {found}, this build reads {expected}")]
    Version {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Version this build writes.
        expected: i64,
    },
    /// A write (batch, rollup or retention) failed; the transaction was rolled back.
    #[error("history store write failed ({what}): {source}{hint}")]
    Write {
        /// Which step.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
        /// A hint such as "disk full" or "read-only".
        hint: &'static str,
    },
    /// A query failed.
    #[error("history store read failed ({what}): {source}")]
    Read {
        /// Which query.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// A hint for the SQLite errors an operator can fix.
pub(crate) fn hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => " (disk full)",
        Some(rusqlite::ErrorCode::ReadOnly) => " (read-only file or directory)",
        Some(rusqlite::ErrorCode::CannotOpen) => " (cannot open the file; directory not writable?)",
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            " (locked by another process beyond busy_timeout)"
        }
        Some(rusqlite::ErrorCode::SystemIoFailure) => " (I/O error)",
        _ => "",
    }
}

/// Wraps a write error with its step.
pub(crate) fn write(what: &'static str) -> impl Fn(rusqlite::Error) -> HistoryError {
    move |source| HistoryError::Write {
        what,
        hint: hint(&source),
        source,
    }
}

/// Wraps a read error with its query.
pub(crate) fn read(what: &'static str) -> impl Fn(rusqlite::Error) -> HistoryError {
    move |source| HistoryError::Read { what, source }
}
