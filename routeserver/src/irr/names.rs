//! RPSL names: AS numbers, as-set names (plain and hierarchical) and
//! source-prefixed references such as `RIPE::AS-FOO`. Names compare
//! case-insensitively, so they are kept in upper case.

use std::fmt;

use crate::wire::Asn;

/// An as-set reference, optionally pinned to one IRR source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetRef {
    /// The source (`RIPE`, `RADB`, ...) in upper case, if the name had a `SOURCE::` prefix.
    pub source: Option<String>,
    /// The set name in upper case, e.g. `AS-FOO` or `AS1659:AS-CUSTOMERS`.
    pub name: String,
}

impl fmt::Display for SetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{source}::{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One entry of an as-set's `members:` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// An autonomous system, e.g. `AS64500`.
    Asn(Asn),
    /// A nested as-set.
    Set(SetRef),
}

/// Parses `AS64500` (asplain) or `AS1.10` (asdot, RFC 5396), case-insensitively.
pub fn parse_asn(text: &str) -> Result<Asn, String> {
    let digits = strip_prefix_ci(text, "AS")
        .ok_or_else(|| format!("{text:?} is not an AS number (expected AS<number>)"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{text:?} is not an AS number (expected AS<number>)"
        ));
    }
    let out_of_range = || format!("{text:?} is out of range for an AS number");
    match digits.split_once('.') {
        None => digits.parse::<Asn>().map_err(|_| out_of_range()),
        Some((high, low)) => {
            let high: u16 = high.parse().map_err(|_| out_of_range())?;
            let low: u16 = low.parse().map_err(|_| out_of_range())?;
            Ok((Asn::from(high) << 16) | Asn::from(low))
        }
    }
}

/// Parses an as-set name, with an optional `SOURCE::` prefix, into a [`SetRef`].
///
/// A name is one or more components separated by `:`; each component is an
/// AS number or an `AS-...` set name, and at least one must be a set name
/// (RFC 2622 section 5, hierarchical names such as `AS1659:AS-CUSTOMERS`).
pub fn parse_set_ref(text: &str) -> Result<SetRef, String> {
    let (source, name) = match text.split_once("::") {
        Some((source, name)) => {
            if source.is_empty() || !source.bytes().all(is_name_byte) {
                return Err(format!("{text:?} has an invalid source prefix"));
            }
            (Some(source.to_ascii_uppercase()), name)
        }
        None => (None, text),
    };
    let mut has_set = false;
    for component in name.split(':') {
        if let Some(rest) = strip_prefix_ci(component, "AS-") {
            if rest.is_empty() || !rest.bytes().all(is_name_byte) {
                return Err(format!("{text:?} is not a valid as-set name"));
            }
            has_set = true;
        } else if parse_asn(component).is_err() {
            return Err(format!(
                "{text:?} is not a valid as-set name (component {component:?} is neither AS<number> nor AS-<name>)"
            ));
        }
    }
    if !has_set {
        return Err(format!(
            "{text:?} is not a valid as-set name (no AS-<name> component)"
        ));
    }
    Ok(SetRef {
        source,
        name: name.to_ascii_uppercase(),
    })
}

/// Parses one member: an AS number (source prefix ignored) or an as-set reference.
pub fn parse_member(text: &str) -> Result<Member, String> {
    let bare = text.split_once("::").map_or(text, |(_, name)| name);
    if strip_prefix_ci(bare, "AS-").is_none() && !bare.contains(':') {
        return parse_asn(bare).map(Member::Asn);
    }
    parse_set_ref(text).map(Member::Set)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_forms() {
        assert_eq!(parse_asn("AS64500"), Ok(64500));
        assert_eq!(parse_asn("as4200000000"), Ok(4_200_000_000));
        assert_eq!(parse_asn("AS1.10"), Ok(65546));
        assert!(parse_asn("AS").is_err());
        assert!(parse_asn("AS4294967296").is_err());
        assert!(parse_asn("64500").is_err());
        assert!(parse_asn("AS-FOO").is_err());
    }

    #[test]
    fn set_names() {
        let r = parse_set_ref("ripe::as-foo").unwrap();
        assert_eq!(r.source.as_deref(), Some("RIPE"));
        assert_eq!(r.name, "AS-FOO");
        assert_eq!(r.to_string(), "RIPE::AS-FOO");
        let h = parse_set_ref("AS1659:AS-Customers").unwrap();
        assert_eq!(h.name, "AS1659:AS-CUSTOMERS");
        assert!(parse_set_ref("AS1659:AS2").is_err());
        assert!(parse_set_ref("AS-").is_err());
        assert!(parse_set_ref("AS-FOO:BAR").is_err());
        assert!(parse_set_ref("::AS-FOO").is_err());
    }

    #[test]
    fn members() {
        assert_eq!(parse_member("AS3"), Ok(Member::Asn(3)));
        assert_eq!(parse_member("RADB::AS3"), Ok(Member::Asn(3)));
        assert!(matches!(parse_member("AS3:AS-X"), Ok(Member::Set(_))));
        assert!(parse_member("foo").is_err());
    }
}
