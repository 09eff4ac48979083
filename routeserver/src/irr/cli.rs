//! `fox irr expand AS-SET --irr FILE`: print an expansion as bgpq4 would.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::db::{IrrDb, MAX_AS_SET_DEPTH};
use super::error::IrrError;

/// How many load warnings the output lists before summarising the rest.
const SHOWN_LOAD_WARNINGS: usize = 20;

/// Loads `files`, expands `as_set` and renders the ASNs (and, with
/// `with_prefixes`, the IPv4 and IPv6 prefix lists) as text; warnings are `#` lines.
pub fn expand_cli(
    as_set: &str,
    files: &[PathBuf],
    with_prefixes: bool,
) -> Result<String, IrrError> {
    let (db, load_warnings) = IrrDb::load(files)?;
    let expansion = db.expand(as_set, MAX_AS_SET_DEPTH)?;
    let name = as_set.trim().to_ascii_uppercase();
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# {name}: {} ASNs from {} as-sets ({} route objects loaded from {} files)",
        expansion.asns.len(),
        expansion.sets.len(),
        db.route_object_count(),
        files.len()
    );
    for warning in load_warnings.iter().take(SHOWN_LOAD_WARNINGS) {
        let _ = writeln!(out, "# warning: {warning}");
    }
    if load_warnings.len() > SHOWN_LOAD_WARNINGS {
        let _ = writeln!(
            out,
            "# warning: {} more objects skipped",
            load_warnings.len() - SHOWN_LOAD_WARNINGS
        );
    }
    for warning in &expansion.warnings {
        let _ = writeln!(out, "# warning: {warning}");
    }
    for asn in &expansion.asns {
        let _ = writeln!(out, "AS{asn}");
    }
    if with_prefixes {
        let prefixes = db.routes_for_origins(&expansion.asns);
        let _ = writeln!(out, "# IPv4 prefixes: {}", prefixes.len_v4());
        for prefix in prefixes.v4() {
            let _ = writeln!(out, "{prefix}");
        }
        let _ = writeln!(out, "# IPv6 prefixes: {}", prefixes.len_v6());
        for prefix in prefixes.v6() {
            let _ = writeln!(out, "{prefix}");
        }
    }
    Ok(out)
}
