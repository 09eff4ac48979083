//! Reader for RPSL database dumps as IRR databases publish them (RFC 2622
//! syntax; e.g. RIPE's split files `ripe.db.route.gz`).
//!
//! Objects are separated by blank lines; each line is `attribute: value`;
//! a line starting with space, tab or `+` continues the previous value;
//! `#` starts a comment that runs to the end of the line; lines starting
//! with `%` or `#` are comments. Files ending in `.gz` are decompressed.
//! Only route, route6, as-set and aut-num objects are kept; a bad object is
//! reported as a warning naming file:line and skipped, the rest loads.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use ipnet::IpNet;

use super::error::{IrrError, IrrWarning};
use super::names::{parse_asn, parse_member, parse_set_ref, Member};
use crate::wire::Asn;

/// A route or route6 object: the origin AS may announce this prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteObject {
    /// The prefix (IPv4 for route, IPv6 for route6), host bits clear.
    pub prefix: IpNet,
    /// The `origin:` AS.
    pub origin: Asn,
    /// The `source:` in upper case, if present.
    pub source: Option<String>,
}

/// An as-set object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsSetObject {
    /// The set name in upper case.
    pub name: String,
    /// Members from all `members:` attributes, in file order.
    pub members: Vec<Member>,
    /// `mbrs-by-ref:` values; kept for reporting only: members added by
    /// `member-of:` in aut-num objects are not resolved from a dump.
    pub mbrs_by_ref: Vec<String>,
    /// The `source:` in upper case, if present.
    pub source: Option<String>,
    /// The file that defined the set.
    pub file: PathBuf,
    /// The line of the `as-set:` attribute.
    pub line: usize,
}

/// An aut-num object; only its existence is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutNumObject {
    /// The AS number.
    pub asn: Asn,
    /// The `source:` in upper case, if present.
    pub source: Option<String>,
}

/// The objects kept from one or more dump files.
#[derive(Debug, Clone, Default)]
pub struct RpslData {
    /// route and route6 objects.
    pub routes: Vec<RouteObject>,
    /// as-set objects.
    pub as_sets: Vec<AsSetObject>,
    /// aut-num objects.
    pub aut_nums: Vec<AutNumObject>,
}

/// Reads one dump file (gzip if the name ends in `.gz`) into `data`.
pub fn read_file(
    path: &Path,
    data: &mut RpslData,
    warnings: &mut Vec<IrrWarning>,
) -> Result<(), IrrError> {
    let io_err = |source| IrrError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let gz = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    let reader: Box<dyn Read> = if gz {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    read_from(BufReader::new(reader), path, data, warnings).map_err(io_err)
}

/// Reads dump text from any reader; `file` is used only in warnings.
pub fn read_from<R: BufRead>(
    mut reader: R,
    file: &Path,
    data: &mut RpslData,
    warnings: &mut Vec<IrrWarning>,
) -> std::io::Result<()> {
    let mut parser = Parser {
        file,
        data,
        warnings,
        pending: None,
    };
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        // Dumps mix UTF-8 and Latin-1 in free-text attributes; those are not kept.
        let text = String::from_utf8_lossy(&buf);
        parser.line(text.trim_end_matches(['\n', '\r']), line_no);
    }
    parser.finish();
    Ok(())
}

const KEPT_CLASSES: [&str; 4] = ["route", "route6", "as-set", "aut-num"];

struct Attr {
    name: String,
    value: String,
    line: usize,
}

struct Pending {
    class: String,
    start: usize,
    keep: bool,
    attrs: Vec<Attr>,
    error: Option<(usize, String)>,
}

struct Parser<'a> {
    file: &'a Path,
    data: &'a mut RpslData,
    warnings: &'a mut Vec<IrrWarning>,
    pending: Option<Pending>,
}

impl Parser<'_> {
    fn line(&mut self, line: &str, no: usize) {
        if line.trim().is_empty() {
            self.finish();
            return;
        }
        match line.as_bytes()[0] {
            b'%' | b'#' => {}
            b' ' | b'\t' | b'+' => self.continuation(line, no),
            _ => self.attribute(line, no),
        }
    }

    fn continuation(&mut self, line: &str, no: usize) {
        let Some(pending) = self.pending.as_mut() else {
            self.warn(no, "continuation line outside an object; ignored".into());
            return;
        };
        if !pending.keep || pending.error.is_some() {
            return;
        }
        let rest = line.strip_prefix('+').unwrap_or(line);
        let part = strip_comment(rest).trim();
        if let Some(last) = pending.attrs.last_mut() {
            if !part.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(part);
            }
        }
    }

    fn attribute(&mut self, line: &str, no: usize) {
        let parsed = line.split_once(':').and_then(|(name, value)| {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            valid.then(|| (name.to_ascii_lowercase(), strip_comment(value).trim()))
        });
        let Some((name, value)) = parsed else {
            let message = format!("expected `attribute: value`, found {:?}", clip(line));
            match self.pending.as_mut() {
                Some(p) => {
                    p.error.get_or_insert((no, message));
                }
                None => {
                    self.pending = Some(Pending {
                        class: String::new(),
                        start: no,
                        keep: false,
                        attrs: Vec::new(),
                        error: Some((no, message)),
                    })
                }
            }
            return;
        };
        let pending = self.pending.get_or_insert_with(|| Pending {
            keep: KEPT_CLASSES.contains(&name.as_str()),
            class: name.clone(),
            start: no,
            attrs: Vec::new(),
            error: None,
        });
        if pending.keep {
            pending.attrs.push(Attr {
                name,
                value: value.to_string(),
                line: no,
            });
        }
    }

    fn finish(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if let Some((line, message)) = p.error {
            let what = if p.class.is_empty() {
                "object".to_string()
            } else {
                format!("{} object", p.class)
            };
            self.warn(
                line,
                format!("{message}; skipped the {what} starting at line {}", p.start),
            );
            return;
        }
        if !p.keep {
            return;
        }
        let result = match p.class.as_str() {
            "route" | "route6" => route(&p).map(|r| self.data.routes.push(r)),
            "as-set" => as_set(&p, self.file).map(|s| self.data.as_sets.push(s)),
            _ => aut_num(&p).map(|a| self.data.aut_nums.push(a)),
        };
        if let Err((line, message)) = result {
            let key = p.attrs.first().map_or("", |a| a.value.as_str());
            let message = format!("{message}; skipped {} {key}", p.class);
            self.warn(line, message);
        }
    }

    fn warn(&mut self, line: usize, message: String) {
        tracing::warn!(file = %self.file.display(), line, %message, "IRR object skipped");
        self.warnings.push(IrrWarning::Parse {
            file: self.file.to_path_buf(),
            line,
            message,
        });
    }
}

type ObjResult<T> = Result<T, (usize, String)>;

fn strip_comment(value: &str) -> &str {
    value.split_once('#').map_or(value, |(v, _)| v)
}

fn clip(line: &str) -> String {
    line.chars().take(60).collect()
}

/// The single value of attribute `name`; more than one or none is an error.
fn single<'a>(p: &'a Pending, name: &str) -> ObjResult<&'a Attr> {
    let mut found = p.attrs.iter().filter(|a| a.name == name);
    let first = found
        .next()
        .ok_or_else(|| (p.start, format!("missing `{name}:` attribute")))?;
    if let Some(second) = found.next() {
        return Err((second.line, format!("`{name}:` given more than once")));
    }
    if first.value.is_empty() {
        return Err((first.line, format!("`{name}:` is empty")));
    }
    if first.value.split_whitespace().nth(1).is_some() {
        return Err((
            first.line,
            format!("`{name}:` must hold one value, found {:?}", first.value),
        ));
    }
    Ok(first)
}

fn source(p: &Pending) -> Option<String> {
    p.attrs
        .iter()
        .find(|a| a.name == "source")
        .and_then(|a| a.value.split_whitespace().next())
        .map(|s| s.to_ascii_uppercase())
}

fn route(p: &Pending) -> ObjResult<RouteObject> {
    let key = single(p, &p.class)?;
    let prefix: IpNet = key
        .value
        .parse()
        .map_err(|_| (key.line, format!("{:?} is not a prefix", key.value)))?;
    let family_ok = match prefix {
        IpNet::V4(_) => p.class == "route",
        IpNet::V6(_) => p.class == "route6",
    };
    if !family_ok {
        return Err((
            key.line,
            format!("{prefix} is the wrong address family for {}", p.class),
        ));
    }
    if prefix.trunc() != prefix {
        return Err((key.line, format!("{prefix} has host bits set")));
    }
    let origin = single(p, "origin")?;
    let asn = parse_asn(&origin.value).map_err(|e| (origin.line, e))?;
    Ok(RouteObject {
        prefix,
        origin: asn,
        source: source(p),
    })
}

fn as_set(p: &Pending, file: &Path) -> ObjResult<AsSetObject> {
    let key = single(p, "as-set")?;
    let name = parse_set_ref(&key.value).map_err(|e| (key.line, e))?;
    if name.source.is_some() {
        return Err((
            key.line,
            "an as-set name cannot carry a source prefix".into(),
        ));
    }
    let mut members = Vec::new();
    let mut mbrs_by_ref = Vec::new();
    for attr in &p.attrs {
        let list = attr.value.split([',', ' ', '\t']).filter(|s| !s.is_empty());
        match attr.name.as_str() {
            "members" => {
                for item in list {
                    members.push(parse_member(item).map_err(|e| (attr.line, e))?);
                }
            }
            "mbrs-by-ref" => mbrs_by_ref.extend(list.map(|s| s.to_ascii_uppercase())),
            _ => {}
        }
    }
    Ok(AsSetObject {
        name: name.name,
        members,
        mbrs_by_ref,
        source: source(p),
        file: file.to_path_buf(),
        line: key.line,
    })
}

fn aut_num(p: &Pending) -> ObjResult<AutNumObject> {
    let key = single(p, "aut-num")?;
    let asn = parse_asn(&key.value).map_err(|e| (key.line, e))?;
    Ok(AutNumObject {
        asn,
        source: source(p),
    })
}
