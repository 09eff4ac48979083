//! Shared helpers for the fox-config tests: a small valid exchange and error lookup.

#![allow(dead_code)]

use fox_config::{ConfigError, ConfigErrors};

/// A small valid exchange: two sites, two LANs, two route servers, two members.
pub const BASE: &str = r#"exchange:
  name: TEST
sites:
  - { id: a, name: Site A }
  - { id: b, name: Site B }
peering_lans:
  - { name: v4, prefix: 192.0.2.0/24 }
  - { name: v6, prefix: "2001:db8::/64" }
route_servers:
  - name: rs1
    asn: 64500
    router_id: 192.0.2.1
    ipv4: 192.0.2.1
    ipv6: "2001:db8::1"
    site: a
  - name: rs2
    asn: 64500
    router_id: 192.0.2.2
    ipv4: 192.0.2.2
    site: b
    api: 127.0.0.1:8181
    hold_time: 3m
members:
  - name: M1
    asn: 65001
    as_set: AS-M1
    connections:
      - { site: a, ipv4: 192.0.2.11, ipv6: "2001:db8::11", macs: ["02:00:00:00:00:11"] }
      - { site: b, ipv4: 192.0.2.12, speed: 10G }
  - name: M2
    asn: 65002
    route_servers: [rs2]
    passive: true
    blackhole_opt_in: true
    authorized_next_hops: [192.0.2.23]
    max_prefix: { ipv4: 10 }
    policy: { rpki: false, prefix_len_ipv4: [8, 25], max_prefix_restart_after: 1h }
    connections:
      - { site: b, ipv4: 192.0.2.21, ipv6: "2001:db8::21" }
"#;

/// `BASE` with `old` replaced by `new`; panics if `old` is not there exactly once.
pub fn edit(old: &str, new: &str) -> String {
    assert_eq!(
        BASE.matches(old).count(),
        1,
        "`{old}` must occur once in BASE"
    );
    BASE.replacen(old, new, 1)
}

/// The 1-based line of the only line containing `marker`.
pub fn line_of(text: &str, marker: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "marker `{marker}` must be on exactly one line"
    );
    hits[0]
}

/// Parses `text`, which must fail.
pub fn errors(text: &str) -> ConfigErrors {
    match fox_config::parse(text, "test.yaml") {
        Ok(_) => panic!("expected errors, the file loaded:\n{text}"),
        Err(e) => e,
    }
}

/// Asserts there is exactly one error, at `line`, containing `fragment`; returns it.
pub fn only_error(text: &str, line: usize, fragment: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got:\n{errs}");
    let e = errs.0[0].clone();
    assert_eq!(e.line, line, "wrong line for: {e}");
    assert!(e.message.contains(fragment), "`{fragment}` not in: {e}");
    assert_eq!(e.file, "test.yaml");
    e
}
