//! `fox mrt dump`: the route server's RIB as an MRT TABLE_DUMP_V2 file,
//! fetched on demand from its admin API (`GET /api/v1/mrt`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// How long the whole request may take (a large RIB is encoded first).
const TIMEOUT: Duration = Duration::from_secs(300);

/// The dump URL for `api`: `http://host:port` (or `host:port`), with or
/// without a path ending in `/api/v1/mrt`.
pub fn dump_url(api: &str) -> String {
    let base = if api.starts_with("http://") {
        api.to_string()
    } else {
        format!("http://{api}")
    };
    let base = base.trim_end_matches('/');
    if base.ends_with("/api/v1/mrt") {
        base.to_string()
    } else {
        format!("{base}/api/v1/mrt")
    }
}

/// Fetches the dump from `api` and writes it to `out` (gzip when the name
/// ends in `.gz`), through a temporary file renamed at the end. Returns the
/// number of MRT records and the RIB entries in the dump.
pub fn dump(api: &str, out: &Path) -> Result<(usize, usize)> {
    let url = dump_url(api);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let resp = rt
        .block_on(fox_looking_glass::client::get(&url, TIMEOUT))
        .with_context(|| format!("GET {url}"))?;
    if resp.status != 200 {
        bail!("GET {url}: HTTP {}: {}", resp.status, resp.text());
    }
    // Check that it is MRT before writing it.
    let mut records = 0usize;
    let mut entries = 0usize;
    for r in bgpkit_parser::BgpkitParser::from_reader(std::io::Cursor::new(resp.body.to_vec()))
        .into_record_iter()
    {
        records += 1;
        if let bgpkit_parser::models::MrtMessage::TableDumpV2Message(
            bgpkit_parser::models::TableDumpV2Message::RibAfi(rib),
        ) = &r.message
        {
            entries += rib.rib_entries.len();
        }
    }
    if records == 0 && !resp.body.is_empty() {
        bail!("GET {url}: the answer is not MRT");
    }
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .context("--out must name a file")?;
    let tmp = out.with_file_name(format!(".{name}.tmp"));
    {
        let f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(f);
        if name.ends_with(".gz") {
            let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            gz.write_all(&resp.body)?;
            gz.finish()?.flush()?;
        } else {
            w.write_all(&resp.body)?;
            w.flush()?;
        }
    }
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok((records, entries))
}

#[cfg(test)]
mod tests {
    use super::dump_url;

    #[test]
    fn urls() {
        assert_eq!(
            dump_url("127.0.0.1:8081"),
            "http://127.0.0.1:8081/api/v1/mrt"
        );
        assert_eq!(
            dump_url("http://[::1]:8081/"),
            "http://[::1]:8081/api/v1/mrt"
        );
        assert_eq!(
            dump_url("http://rs1:8081/api/v1/mrt"),
            "http://rs1:8081/api/v1/mrt"
        );
    }
}
