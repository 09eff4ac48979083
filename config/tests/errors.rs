//! One test per kind of error: each asserts the exact line and what the message says.
//! Offending lines are marked `# HERE` so the expected line is computed from the text.

mod common;

use common::{edit, errors, line_of, only_error, BASE};

#[test]
fn yaml_syntax_errors_have_line_and_column() {
    let cases = [
        (
            "  name: TEST\n",
            "  name: TEST\n bad: 1  # HERE\n",
            2,
            "did not find expected key",
        ),
        (
            "    asn: 65001",
            "    asn: 65001: 2  # HERE",
            15,
            "mapping values are not allowed",
        ),
        (
            "    asn: 65002",
            "    asn: *nope  # HERE",
            10,
            "alias references unknown anchor",
        ),
        ("  name: TEST", "  name: 'TEST  # HERE", 9, "unclosed quote"),
    ];
    for (old, new, col, fragment) in cases {
        let text = edit(old, new);
        let e = only_error(&text, line_of(&text, "# HERE"), fragment);
        assert!(e.message.starts_with("YAML syntax: "), "{e}");
        assert_eq!(e.col, col, "{e}");
    }
}

#[test]
fn tab_indentation_is_a_syntax_error() {
    let text = edit("  name: TEST\n", "\tname: TEST  # HERE\n");
    let e = &errors(&text).0[0];
    assert_eq!(e.line, line_of(&text, "# HERE"), "{e}");
    assert!(e.message.contains("YAML syntax"), "{e}");
}

#[test]
fn unknown_key_with_suggestion() {
    let text = edit("    asn: 65001", "    asm: 65001  # HERE");
    let errs = errors(&text);
    // The misspelt key is reported, and so is the then-missing `asn`.
    let line = line_of(&text, "# HERE");
    let e = errs
        .iter()
        .find(|e| e.line == line)
        .expect("error on the marked line");
    assert!(
        e.message
            .contains("unknown key `asm` in member; did you mean `asn`?"),
        "{e}"
    );
    assert_eq!(e.col, 5);
    assert!(
        errs.iter()
            .any(|e| e.message.contains("missing required field `asn`")),
        "{errs}"
    );
}

#[test]
fn unknown_top_level_key_lists_the_valid_ones() {
    let text = format!("{BASE}probes: []  # HERE\n");
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "unknown key `probes` in the top level",
    );
    assert!(
        e.message.contains("expected one of: exchange, sites"),
        "{e}"
    );
}

#[test]
fn missing_required_field_points_at_the_mapping() {
    let text =
        edit("    router_id: 192.0.2.2\n", "").replace("  - name: rs2", "  - name: rs2  # HERE");
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "missing required field `router_id` in route server",
    );
    assert_eq!(e.col, 5);
}

#[test]
fn missing_top_level_section() {
    let text = BASE.replace("exchange:\n  name: TEST\n", "");
    let e = only_error(
        &text,
        1,
        "missing required field `exchange` in the top level",
    );
    assert_eq!(e.col, 1);
}

#[test]
fn duplicate_key_is_reported_with_first_line() {
    let text = edit(
        "    passive: true\n",
        "    passive: true\n    passive: false  # HERE\n",
    );
    let first = line_of(&text, "passive: true");
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate key `passive` in member",
    );
    assert!(e.message.contains(&format!("first at line {first}")), "{e}");
}

#[test]
fn duplicate_member_name() {
    let text = edit("  - name: M2", "  - name: M1  # HERE");
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate member name `M1`",
    );
    assert!(
        e.message
            .contains(&format!("first at line {}", line_of(BASE, "- name: M1"))),
        "{e}"
    );
}

#[test]
fn duplicate_member_asn() {
    let text = edit("    asn: 65002", "    asn: 65001  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate member ASN 65001: already used by `M1`",
    );
}

#[test]
fn duplicate_address_between_members_and_route_servers() {
    let text = edit("ipv4: 192.0.2.21", "ipv4: 192.0.2.11 }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate address 192.0.2.11: already used by member `M1`",
    );
    let text = edit("ipv4: 192.0.2.12", "ipv4: 192.0.2.2 }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate address 192.0.2.2: already used by route server `rs2`",
    );
}

#[test]
fn member_address_outside_every_peering_lan() {
    let text = edit("ipv4: 192.0.2.12", "ipv4: 198.51.100.12 }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "address 198.51.100.12 is outside every peering LAN (192.0.2.0/24, 2001:db8::/64)",
    );
    let text = edit(
        "ipv6: \"2001:db8::21\"",
        "ipv6: \"2001:db8:1::21\" }  # HERE\n#",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "address 2001:db8:1::21 is outside every peering LAN",
    );
}

#[test]
fn network_and_broadcast_addresses_are_rejected() {
    let text = edit("ipv4: 192.0.2.12", "ipv4: 192.0.2.255 }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "192.0.2.255 is the network or broadcast address of 192.0.2.0/24",
    );
}

#[test]
fn route_server_address_outside_the_lans() {
    let text = edit("    ipv4: 192.0.2.2\n", "    ipv4: 203.0.113.2  # HERE\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`ipv4`: address 203.0.113.2 is outside every peering LAN",
    );
}

#[test]
fn blackhole_next_hop_outside_the_lans() {
    let text = edit(
        "members:\n",
        "blackhole:\n  next_hop_ipv4: 10.0.0.66  # HERE\nmembers:\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "address 10.0.0.66 is outside every peering LAN",
    );
}

#[test]
fn unknown_site() {
    let text = edit(
        "      - { site: b, ipv4: 192.0.2.21, ipv6: \"2001:db8::21\" }",
        "      - { site: c, ipv4: 192.0.2.21, ipv6: \"2001:db8::21\" }  # HERE",
    );
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "unknown site `c` (sites are: a, b)",
    );
    assert_eq!(e.col, 17);
    let text = edit("    site: a\n", "    site: z  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "unknown site `z`");
}

#[test]
fn unknown_route_server() {
    let text = edit("route_servers: [rs2]", "route_servers: [rs2, rs3]  # HERE");
    let e = only_error(
        &text,
        line_of(&text, "# HERE"),
        "unknown route server `rs3` (route servers are: rs1, rs2)",
    );
    assert_eq!(e.col, 26);
}

#[test]
fn asn_zero_and_out_of_range() {
    let text = edit("    asn: 65001", "    asn: 0  # HERE");
    only_error(&text, line_of(&text, "# HERE"), "ASN 0 is reserved");
    let text = edit("    asn: 65001", "    asn: 4294967296  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "ASN 4294967296 is out of range (1 to 4294967295)",
    );
    let text = edit(
        "    asn: 65001",
        "    asn: 123456789012345678901234567890  # HERE",
    );
    only_error(&text, line_of(&text, "# HERE"), "out of range");
    let text = edit("    asn: 65001", "    asn: ASX  # HERE");
    only_error(&text, line_of(&text, "# HERE"), "`ASX` is not an AS number");
    let text = edit("    asn: 65001", "    asn: -5  # HERE");
    only_error(&text, line_of(&text, "# HERE"), "out of range");
}

#[test]
fn bad_durations() {
    for bad in ["90x", "1.5m", "\"\"", "-3", "1m30s"] {
        let text = edit(
            "    hold_time: 3m",
            &format!("    hold_time: {bad}  # HERE"),
        );
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{bad}: {errs}");
        let e = &errs.0[0];
        assert_eq!(e.line, line_of(&text, "# HERE"), "{e}");
        assert!(e.message.contains("hold_time"), "{e}");
    }
    let text = edit("    hold_time: 3m", "    hold_time: 90x  # HERE");
    only_error(&text, line_of(&text, "# HERE"), "bad duration `90x`");
}

#[test]
fn hold_time_outside_rfc_4271_range() {
    let text = edit("    hold_time: 3m", "    hold_time: 2s  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must be 0 or between 3s and 65535s",
    );
    let text = edit("    hold_time: 3m", "    hold_time: 1d  # HERE");
    only_error(&text, line_of(&text, "# HERE"), "`hold_time` is 86400s");
}

#[test]
fn prefix_len_ranges_that_make_no_sense() {
    let cases = [
        ("[25, 8]", "the minimum is larger than the maximum"),
        (
            "[8, 33]",
            "`prefix_len_ipv4` is 33, must be between 0 and 32",
        ),
        ("[0, 24]", "a minimum of 0 would accept the default route"),
        ("[8]", "must be [min, max], found 1 values"),
        ("24", "`prefix_len_ipv4` must be a list"),
    ];
    for (range, fragment) in cases {
        let text = edit(
            "prefix_len_ipv4: [8, 25], max_prefix_restart_after: 1h }",
            &format!("prefix_len_ipv4: {range}, max_prefix_restart_after: 1h }}  # HERE"),
        );
        only_error(&text, line_of(&text, "# HERE"), fragment);
    }
    let text = edit(
        "members:\n",
        "policy:\n  prefix_len_ipv6: [48, 12]  # HERE\nmembers:\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`prefix_len_ipv6` [48, 12]",
    );
}

#[test]
fn bad_prefix_and_addresses() {
    let text = edit("prefix: 192.0.2.0/24", "prefix: 192.0.2.1/24 }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "has host bits set; did you mean 192.0.2.0/24?",
    );
    let text = edit("prefix: 192.0.2.0/24", "prefix: 192.0.2.0/33 }  # HERE\n#");
    only_error(&text, line_of(&text, "# HERE"), "is not a valid prefix");
    let text = edit(
        "    router_id: 192.0.2.1\n",
        "    router_id: 192.0.2.300  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`192.0.2.300` is not a valid IPv4 address",
    );
    let text = edit(
        "    ipv6: \"2001:db8::1\"\n",
        "    ipv6: 192.0.2.9  # HERE\n",
    );
    only_error(&text, line_of(&text, "# HERE"), "not a valid IPv6 address");
    let text = edit("    api: 127.0.0.1:8181\n", "    api: localhost  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "is not an address:port");
}

#[test]
fn wrong_types() {
    let text = edit("    passive: true", "    passive: yes  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`passive` must be true or false, found a string",
    );
    let text = edit("route_servers: [rs2]", "route_servers: rs2  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`route_servers` must be a list, found a string",
    );
    let text = edit(
        "max_prefix: { ipv4: 10 }",
        "max_prefix: { ipv4: 0 }  # HERE",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`ipv4` is 0, must be between 1 and",
    );
}

#[test]
fn connection_and_member_details() {
    let text = edit(
        "      - { site: b, ipv4: 192.0.2.12, speed: 10G }",
        "      - { site: b, speed: 10G }  # HERE",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "connection of member `M1` needs an `ipv4` or `ipv6` address",
    );
    let text = edit("speed: 10G }", "speed: 25G }  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`25G` is not one of 1G, 10G, 100G, 400G",
    );
    let text = edit("    as_set: AS-M1", "    as_set: M1-CUSTOMERS  # HERE");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`M1-CUSTOMERS` is not an AS-SET name",
    );
    let text = edit(
        "\"2001:db8::21\" }",
        "\"2001:db8::21\", macs: [\"02:00:00:00:00:11\"] }  # HERE",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "duplicate MAC 02:00:00:00:00:11: already used by `M1`",
    );
    let text = edit(
        "macs: [\"02:00:00:00:00:11\"]",
        "macs: [\"02:00:00:00:11\"] }  # HERE\n#",
    );
    only_error(&text, line_of(&text, "# HERE"), "is not a MAC address");
}

#[test]
fn role_must_be_off_on_or_strict() {
    let text = edit("members:\n", "policy:\n  role: loose  # HERE\nmembers:\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`role`: `loose` is not one of off, on, strict",
    );
}

#[test]
fn route_server_conflicts() {
    let text = edit(
        "    api: 127.0.0.1:8181\n",
        "    api: 127.0.0.1:8180  # HERE\n",
    );
    let e = errors(&text);
    assert!(e.iter().all(|e| e.message.contains("8180")), "{e}");
    let text = edit("    api: 127.0.0.1:8181\n", "");
    let line = line_of(&text, "  - name: rs2");
    only_error(
        &text,
        line,
        "uses the default api address 127.0.0.1:8180, already used by `rs1`",
    );
    let text = edit(
        "    router_id: 192.0.2.2\n",
        "    router_id: 192.0.2.1  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "router_id 192.0.2.1 is already used by `rs1`",
    );
    let text = edit("  - name: rs2", "  - name: rs1  # HERE");
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.line == line_of(&text, "# HERE")
            && e.message.contains("duplicate route server name `rs1`")),
        "{errs}"
    );
}

#[test]
fn empty_file_and_wrong_top_level() {
    only_error("", 1, "the file is empty");
    only_error("# only a comment\n", 1, "the file is empty");
    only_error(
        "- a\n- b\n",
        1,
        "`the top level` must be a mapping, found a list",
    );
}

#[test]
fn several_errors_are_all_reported_in_file_order() {
    let text = BASE
        .replace("  name: TEST", "  name: TEST\n  colour: blue  # E1")
        .replace(
            "    asn: 64500\n    router_id: 192.0.2.2",
            "    asn: 0  # E2\n    router_id: 192.0.2.2",
        )
        .replace("    hold_time: 3m", "    hold_time: soon  # E3")
        .replace("  - name: M2", "  - name: M1  # E4")
        .replace("site: b, ipv4: 192.0.2.21", "site: q, ipv4: 192.0.2.21")
        .replace("\"2001:db8::21\" }", "\"2001:db8::21\" }  # E5");
    let errs = errors(&text);
    let got: Vec<usize> = errs.iter().map(|e| e.line).collect();
    let want: Vec<usize> = (1..=5)
        .map(|i| line_of(&text, &format!("# E{i}")))
        .collect();
    assert_eq!(got, want, "{errs}");
    // Display: one "file:line:col: message" per line.
    let shown = errs.to_string();
    assert_eq!(shown.lines().count(), 5);
    for (l, e) in shown.lines().zip(errs.iter()) {
        assert!(
            l.starts_with(&format!("test.yaml:{}:{}: ", e.line, e.col)),
            "{l}"
        );
    }
}

#[test]
fn broken_sections_do_not_cascade() {
    // An unreadable LAN prefix is one error, not one per address on that LAN.
    let text = edit("prefix: 192.0.2.0/24", "prefix: nonsense }  # HERE\n#");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`nonsense` is not a valid prefix",
    );
}

#[test]
fn unreadable_file_is_reported() {
    let errs = match fox_config::load(std::path::Path::new("/nonexistent/fox.yaml")) {
        Ok(_) => panic!("must fail"),
        Err(e) => e,
    };
    assert_eq!(errs.len(), 1);
    assert_eq!(errs.0[0].line, 0);
    assert!(
        errs.to_string()
            .starts_with("/nonexistent/fox.yaml:0:0: cannot read:"),
        "{errs}"
    );
}

#[test]
fn aspa_must_be_off_tag_or_filter() {
    let text = edit("members:\n", "policy:\n  aspa: strict  # HERE\nmembers:\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`aspa`: `strict` is not one of off, tag, filter",
    );
}

#[test]
fn mrt_interval_is_bounded() {
    let text = edit("members:\n", "mrt:\n  interval: 0s  # HERE\nmembers:\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`interval` must be between 1s and 24h",
    );
}

#[test]
fn bmp_station_needs_a_port_and_known_keys() {
    let text = edit(
        "members:\n",
        "bmp:\n  - { host: 127.0.0.1 }  # HERE\nmembers:\n",
    );
    only_error(&text, line_of(&text, "# HERE"), "port");
    let text = edit(
        "members:\n",
        "bmp:\n  - { host: 127.0.0.1, port: 1790, prot: 1 }  # HERE\nmembers:\n",
    );
    only_error(&text, line_of(&text, "# HERE"), "prot");
    let text = edit("members:\n", "bmp: []  # HERE\nmembers:\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`bmp` must list at least one entry",
    );
}

#[test]
fn mrt_update_log_file_pattern_and_interval() {
    let text = edit(
        "members:\n",
        "mrt:\n  updates: { file: updates.log }  # HERE\nmembers:\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`file` must be a file name",
    );
    let text = edit(
        "members:\n",
        "mrt:\n  updates: { interval: 2d }  # HERE\nmembers:\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "`interval` must be between 1s and 24h",
    );
    let text = edit(
        "members:\n",
        "mrt:\n  updates: { intervall: 5m }  # HERE\nmembers:\n",
    );
    only_error(&text, line_of(&text, "# HERE"), "intervall");
}
