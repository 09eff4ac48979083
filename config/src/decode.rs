//! Strict decoding primitives over the located YAML tree. Each primitive reports its own
//! error (with the node's line and column) and returns `None`, so decoding goes on and every
//! problem in the file is reported.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

use crate::error::ConfigError;
use crate::node::{Kind, Loc, Node};

/// Decoding state: the errors so far and what later sections may refer to.
pub(crate) struct Ctx {
    file: String,
    pub errors: Vec<ConfigError>,
    /// Site ids and where they were defined; `None` if the section itself was broken.
    pub sites: Option<HashMap<String, Loc>>,
    /// Peering LAN prefixes; `None` if the section itself was broken.
    pub lans: Option<Vec<IpNet>>,
    /// Route server names; `None` if the section itself was broken.
    pub route_servers: Option<HashMap<String, Loc>>,
    /// Every address used by a route server or member: who owns it, where.
    pub addresses: HashMap<IpAddr, (String, Loc)>,
}

/// The keys of one YAML mapping, checked against the schema.
pub(crate) struct Fields<'a> {
    /// Where the mapping starts, for "missing field" errors.
    pub loc: Loc,
    what: String,
    entries: Vec<(&'a str, &'a Node)>,
}

impl<'a> Fields<'a> {
    /// The value of `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| v.kind != Kind::Null)
    }

    /// The value of a required `key`; reports it missing or empty.
    pub fn req(&self, cx: &mut Ctx, key: &str) -> Option<&'a Node> {
        match self.entries.iter().find(|(k, _)| *k == key) {
            None => {
                cx.err(
                    self.loc,
                    format!("missing required field `{key}` in {}", self.what),
                );
                None
            }
            Some((_, v)) if v.kind == Kind::Null => {
                cx.err(v.loc, format!("`{key}` has no value"));
                None
            }
            Some((_, v)) => Some(v),
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Ctx {
    /// A fresh context for `file`.
    pub fn new(file: &str) -> Ctx {
        Ctx {
            file: file.to_owned(),
            errors: Vec::new(),
            sites: None,
            lans: None,
            route_servers: None,
            addresses: HashMap::new(),
        }
    }

    /// Records an error at `loc`.
    pub fn err(&mut self, loc: Loc, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line: loc.line,
            col: loc.col,
            message: one_line(&message.into()),
        });
    }

    /// Reports that `node` is not what `key` needs.
    fn wrong_type(&mut self, node: &Node, key: &str, expected: &str) {
        self.err(
            node.loc,
            format!("`{key}` must be {expected}, found {}", node.kind.describe()),
        );
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed` and unique.
    pub fn fields<'a>(
        &mut self,
        node: &'a Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'a>> {
        let Kind::Map(entries) = &node.kind else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut seen: HashMap<&str, Loc> = HashMap::new();
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Kind::Str(key) = &k.kind else {
                self.err(
                    k.loc,
                    format!(
                        "keys of {what} must be strings, found {}",
                        k.kind.describe()
                    ),
                );
                continue;
            };
            if let Some(first) = seen.get(key.as_str()) {
                self.err(
                    k.loc,
                    format!(
                        "duplicate key `{key}` in {what} (first at line {})",
                        first.line
                    ),
                );
                continue;
            }
            seen.insert(key, k.loc);
            if !allowed.contains(&key.as_str()) {
                let close = allowed
                    .iter()
                    .map(|a| (edit_distance(a, key), a))
                    .filter(|(d, _)| *d <= 2)
                    .min();
                let hint = match close {
                    Some((_, a)) => format!("did you mean `{a}`?"),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                self.err(k.loc, format!("unknown key `{key}` in {what}; {hint}"));
                continue;
            }
            out.push((key.as_str(), v));
        }
        Some(Fields {
            loc: node.loc,
            what: what.to_owned(),
            entries: out,
        })
    }

    /// The items of a list.
    pub fn list<'a>(&mut self, node: &'a Node, key: &str) -> Option<&'a [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, key, "a list");
                None
            }
        }
    }

    /// A string; integers are accepted as their decimal text.
    pub fn string(&mut self, node: &Node, key: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) if s.trim().is_empty() => {
                self.err(node.loc, format!("`{key}` must not be empty"));
                None
            }
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            _ => {
                self.wrong_type(node, key, "a string");
                None
            }
        }
    }

    /// A boolean (`true` or `false`).
    pub fn boolean(&mut self, node: &Node, key: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, key, "true or false");
                None
            }
        }
    }

    /// An integer in `min..=max`.
    pub fn int<T: TryFrom<i128>>(
        &mut self,
        node: &Node,
        key: &str,
        min: i128,
        max: i128,
    ) -> Option<T> {
        match node.kind {
            Kind::Int(i) if (min..=max).contains(&i) => T::try_from(i).ok(),
            Kind::Int(i) => {
                self.err(
                    node.loc,
                    format!("`{key}` is {i}, must be between {min} and {max}"),
                );
                None
            }
            Kind::Float(f) if f.fract() == 0.0 && f.is_finite() => {
                self.err(
                    node.loc,
                    format!("`{key}` is {f}, must be between {min} and {max}"),
                );
                None
            }
            _ => {
                self.wrong_type(node, key, "an integer");
                None
            }
        }
    }

    /// An AS number: an integer or "AS<n>", in 1..=4294967295.
    pub fn asn(&mut self, node: &Node, key: &str) -> Option<u32> {
        let value: i128 = match &node.kind {
            Kind::Int(i) => *i,
            Kind::Str(s) => {
                let digits = s
                    .strip_prefix("AS")
                    .or_else(|| s.strip_prefix("as"))
                    .unwrap_or(s);
                match digits.parse::<u128>() {
                    Ok(v) => i128::try_from(v).unwrap_or(i128::MAX),
                    Err(_) => {
                        self.err(node.loc, format!("`{key}`: `{s}` is not an AS number"));
                        return None;
                    }
                }
            }
            Kind::Float(f) if f.fract() == 0.0 && *f > 0.0 => i128::MAX,
            _ => {
                self.wrong_type(node, key, "an AS number");
                return None;
            }
        };
        if value == 0 {
            self.err(
                node.loc,
                format!("`{key}`: ASN 0 is reserved (RFC 7607) and cannot be used"),
            );
            return None;
        }
        match u32::try_from(value) {
            Ok(asn) => Some(asn),
            Err(_) => {
                let shown = if value == i128::MAX {
                    "too large".to_owned()
                } else {
                    value.to_string()
                };
                self.err(
                    node.loc,
                    format!("`{key}`: ASN {shown} is out of range (1 to 4294967295)"),
                );
                None
            }
        }
    }

    fn text<'n>(&mut self, node: &'n Node, key: &str, expected: &str) -> Option<&'n str> {
        match &node.kind {
            Kind::Str(s) => Some(s.trim()),
            _ => {
                self.wrong_type(node, key, expected);
                None
            }
        }
    }

    /// An IPv4 or IPv6 address.
    pub fn ip(&mut self, node: &Node, key: &str) -> Option<IpAddr> {
        let s = self.text(node, key, "an IP address")?;
        let parsed = s.parse::<IpAddr>().ok();
        if parsed.is_none() {
            self.err(
                node.loc,
                format!("`{key}`: `{s}` is not a valid IP address"),
            );
        }
        parsed
    }

    /// An IPv4 address.
    pub fn ipv4(&mut self, node: &Node, key: &str) -> Option<Ipv4Addr> {
        let s = self.text(node, key, "an IPv4 address")?;
        let parsed = s.parse::<Ipv4Addr>().ok();
        if parsed.is_none() {
            self.err(
                node.loc,
                format!("`{key}`: `{s}` is not a valid IPv4 address"),
            );
        }
        parsed
    }

    /// An IPv6 address.
    pub fn ipv6(&mut self, node: &Node, key: &str) -> Option<Ipv6Addr> {
        let s = self.text(node, key, "an IPv6 address")?;
        let parsed = s.parse::<Ipv6Addr>().ok();
        if parsed.is_none() {
            self.err(
                node.loc,
                format!("`{key}`: `{s}` is not a valid IPv6 address"),
            );
        }
        parsed
    }

    /// A prefix without host bits, e.g. 192.0.2.0/24.
    pub fn prefix(&mut self, node: &Node, key: &str) -> Option<IpNet> {
        let s = self.text(node, key, "a prefix")?;
        let Ok(net) = s.parse::<IpNet>() else {
            self.err(
                node.loc,
                format!("`{key}`: `{s}` is not a valid prefix (address/length)"),
            );
            return None;
        };
        if net.trunc() != net {
            self.err(
                node.loc,
                format!(
                    "`{key}`: `{s}` has host bits set; did you mean {}?",
                    net.trunc()
                ),
            );
            return None;
        }
        Some(net)
    }

    /// An address and port, e.g. 127.0.0.1:8180 or [::1]:8180.
    pub fn socket_addr(&mut self, node: &Node, key: &str) -> Option<SocketAddr> {
        let s = self.text(node, key, "an address:port")?;
        let parsed = s.parse::<SocketAddr>().ok();
        if parsed.is_none() {
            self.err(
                node.loc,
                format!(
                    "`{key}`: `{s}` is not an address:port (e.g. 127.0.0.1:8180 or [::1]:8180)"
                ),
            );
        }
        parsed
    }

    /// A duration: integer seconds or a number followed by s, m, h or d.
    pub fn duration(&mut self, node: &Node, key: &str) -> Option<Duration> {
        let parsed = match &node.kind {
            Kind::Int(i) => u64::try_from(*i).ok().map(Duration::from_secs),
            Kind::Str(s) => parse_duration(s),
            _ => {
                self.wrong_type(node, key, "a duration such as 90s, 15m, 2h, 1d or seconds");
                return None;
            }
        };
        if parsed.is_none() {
            let shown = match &node.kind {
                Kind::Str(s) => s.clone(),
                Kind::Int(i) => i.to_string(),
                other => other.describe().to_owned(),
            };
            self.err(
                node.loc,
                format!("`{key}`: bad duration `{shown}`; use seconds or a number with s, m, h or d (e.g. 90s, 15m, 2h, 1d)"),
            );
        }
        parsed
    }
}

/// Longest message kept; values from the file are echoed and may be huge.
const MAX_MESSAGE_CHARS: usize = 400;

/// The message on one line: control characters from echoed values escaped, length bounded.
pub(crate) fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS));
    for (i, c) in message.chars().enumerate() {
        if i == MAX_MESSAGE_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses "90s", "15m", "2h", "1d" or "90"; `None` on anything else or overflow.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        for bad in ["", "s", "1.5m", "-1s", "10x", "1m30s", "999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("asn", "asm"), 1);
        assert_eq!(edit_distance("route_servers", "route_server"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }
}
