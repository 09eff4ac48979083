//! Opening the store: one SQLite file in WAL mode, shared by the collector and the route
//! servers (each with its own connection; `busy_timeout` lets them take turns).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::HistoryError;
use crate::schema::{CREATE, SCHEMA_VERSION};

/// How long a connection waits for another writer before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open store: the read API, and the write path used by [`crate::HistoryWriter`].
pub struct HistoryStore {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

impl std::fmt::Debug for HistoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryStore")
            .field("path", &self.path)
            .finish()
    }
}

impl HistoryStore {
    /// Opens (creating the directory, file and schema when missing) for reading and writing.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| HistoryError::Directory {
            path: dir.clone(),
            message: format!("cannot create: {e}"),
        })?;
        check_writable(&dir)?;
        let open = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open)?;
        conn.execute_batch(CREATE).map_err(open)?;
        let found: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(open)?;
        match found {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(open)?;
            }
            Some(v) if v != SCHEMA_VERSION => {
                return Err(HistoryError::Version {
                    path: path.to_path_buf(),
                    found: v,
                    expected: SCHEMA_VERSION,
                })
            }
            Some(_) => {}
        }
        Ok(HistoryStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing store for reading only (the report, tools).
    pub fn open_read_only(path: &Path) -> Result<Self, HistoryError> {
        let open = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        let found: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map_err(open)?;
        if found != SCHEMA_VERSION {
            return Err(HistoryError::Version {
                path: path.to_path_buf(),
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(HistoryStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `PRAGMA integrity_check`: `Ok(())` or the problems it lists.
    pub fn integrity_check(&self) -> Result<(), String> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| e.to_string())?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|it| it.collect())
            .map_err(|e| e.to_string())?;
        if rows == ["ok"] {
            Ok(())
        } else {
            Err(rows.join("; "))
        }
    }
}

/// A read-only directory fails here with a clear message instead of deep inside SQLite.
fn check_writable(dir: &Path) -> Result<(), HistoryError> {
    let probe = dir.join(format!(".fox-history-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(HistoryError::Directory {
            path: dir.to_path_buf(),
            message: format!("not writable: {e}"),
        }),
    }
}
