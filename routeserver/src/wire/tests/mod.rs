//! Cross-cutting tests: bgpkit-parser oracle, property tests, real captures.

mod oracle;
mod prop;
