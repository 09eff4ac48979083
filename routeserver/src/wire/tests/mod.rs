//! Cross-cutting tests: bgpkit-parser oracle, property tests, real captures.

mod oracle;
mod pcap;
mod prop;
