//! YAML text -> a generic tree whose every node knows its line and column.
//!
//! serde-saphyr does the YAML work (syntax, aliases, budgets, locations); the strict schema
//! decoding happens on this tree so that every unknown key and missing field is reported,
//! not only the first one serde would stop at.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned};

/// Line and column (1-based) of a YAML node; 0:0 when unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// The value of one YAML node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One YAML node with its location.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub loc: Loc,
}

impl Kind {
    /// What the node is, for "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a decimal number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// Deserialises a node while taking its location from serde-saphyr's `Spanned`.
struct SpannedNode(Node);

impl<'de> Deserialize<'de> for SpannedNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Kind> = Spanned::deserialize(d)?;
        let loc = Loc {
            line: s.referenced.line() as usize,
            col: s.referenced.column() as usize,
        };
        Ok(SpannedNode(Node { kind: s.value, loc }))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(i128::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<Kind, E> {
        Err(E::custom("binary values are not supported"))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(SpannedNode(n)) = seq.next_element()? {
            items.push(n);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(SpannedNode(k)) = map.next_key()? {
            let SpannedNode(v) = map.next_value()?;
            entries.push((k, v));
        }
        Ok(Kind::Map(entries))
    }
}

/// A YAML-level failure: where and what.
#[derive(Debug, Clone)]
pub(crate) struct YamlError {
    pub loc: Loc,
    pub message: String,
}

/// Parser options: duplicate keys reach our visitor (so all of them are reported), YAML 1.2
/// booleans only (`yes` stays a string), and budgets that bound work on hostile input.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 200_000;
    budget.max_nodes = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * 1024 * 1024;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    opts.strict_booleans = true;
    opts.leading_zero_numbers_as_strings = true;
    opts.underscored_numbers_as_strings = true;
    opts.alias_limits.max_total_replayed_events = 100_000;
    opts.alias_limits.max_replay_stack_depth = 16;
    opts
}

/// Parses YAML text into a located tree; an empty document is `Kind::Null`.
pub(crate) fn parse_tree(text: &str) -> Result<Node, YamlError> {
    match serde_saphyr::from_str_with_options::<Option<SpannedNode>>(text, options()) {
        Ok(Some(SpannedNode(n))) => Ok(n),
        Ok(None) => Ok(Node {
            kind: Kind::Null,
            loc: Loc { line: 1, col: 1 },
        }),
        Err(e) => Err(convert_error(&e)),
    }
}

fn convert_error(e: &serde_saphyr::Error) -> YamlError {
    let loc = e.location().map_or(Loc::default(), |l| Loc {
        line: l.line() as usize,
        col: l.column() as usize,
    });
    let raw: Cow<'_, str> =
        serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet());
    YamlError {
        loc,
        message: crate::decode::one_line(&raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(n: &Node) -> &[(Node, Node)] {
        match &n.kind {
            Kind::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn nodes_carry_kinds_and_locations() {
        let t =
            parse_tree("a: 1\nb:\n  - x\n  - \"2001:db8::1\"\nc: yes\nd: 0755\ne: ~\nf: true\n")
                .expect("valid YAML");
        let m = map(&t);
        assert_eq!(m[0].1.kind, Kind::Int(1));
        assert_eq!(m[0].1.loc, Loc { line: 1, col: 4 });
        let Kind::Seq(items) = &m[1].1.kind else {
            panic!("b is a list")
        };
        assert_eq!(items[1].kind, Kind::Str("2001:db8::1".into()));
        assert_eq!(items[1].loc, Loc { line: 4, col: 5 });
        assert_eq!(
            m[2].1.kind,
            Kind::Str("yes".into()),
            "YAML 1.2 booleans only"
        );
        assert_eq!(m[3].1.kind, Kind::Str("0755".into()), "no octal surprises");
        assert_eq!(m[4].1.kind, Kind::Null);
        assert_eq!(m[5].1.kind, Kind::Bool(true));
        assert_eq!(m[5].0.loc, Loc { line: 8, col: 1 });
    }

    #[test]
    fn duplicate_keys_reach_the_decoder() {
        let t = parse_tree("a: 1\na: 2\n").expect("valid YAML");
        let m = map(&t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].0.loc.line, 2);
    }

    #[test]
    fn syntax_errors_have_locations() {
        let e = parse_tree("a: 1\nb: *nope\n").expect_err("unknown alias");
        assert_eq!(e.loc, Loc { line: 2, col: 4 });
        assert!(e.message.contains("unknown anchor"), "{}", e.message);
    }
}
