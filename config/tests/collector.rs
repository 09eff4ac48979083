//! The optional `collector:` section: defaults, values, and strict errors with file:line.

mod common;

use std::net::SocketAddr;

use common::{edit, errors, line_of, only_error, BASE};
use fox_config::CollectorSettings;

fn with_collector(section: &str) -> String {
    edit("members:\n", &format!("{section}members:\n"))
}

#[test]
fn absent_section_gives_defaults() {
    let cfg = fox_config::parse(BASE, "t.yaml").expect("valid");
    // The route servers' admin APIs are known to the collector without a section.
    let apis: Vec<(String, SocketAddr)> = cfg
        .route_servers
        .iter()
        .map(|r| (r.name.clone(), r.api))
        .collect();
    assert!(!apis.is_empty());
    assert_eq!(
        cfg.collector,
        CollectorSettings {
            route_server_apis: apis,
            ..CollectorSettings::default()
        }
    );
    let want: Vec<SocketAddr> = vec![
        "[::]:6343".parse().unwrap(),
        "0.0.0.0:6343".parse().unwrap(),
    ];
    assert_eq!(cfg.collector.sflow_listen, want);
    assert_eq!(
        cfg.collector.api,
        "127.0.0.1:8190".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn values_are_read() {
    let text = with_collector(
        "collector:\n  sflow_listen: [\"127.0.0.1:16343\", \"[::1]:16343\"]\n  api: 127.0.0.1:9190\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    assert_eq!(
        cfg.collector.sflow_listen,
        vec![
            "127.0.0.1:16343".parse::<SocketAddr>().unwrap(),
            "[::1]:16343".parse().unwrap()
        ]
    );
    assert_eq!(
        cfg.collector.api,
        "127.0.0.1:9190".parse::<SocketAddr>().unwrap()
    );
    assert!(cfg
        .summary()
        .contains("collector: sFlow on 127.0.0.1:16343, [::1]:16343, api 127.0.0.1:9190"));
}

#[test]
fn only_api_keeps_default_listen() {
    let cfg = fox_config::parse(
        &with_collector("collector: { api: \"[::1]:8190\" }\n"),
        "t.yaml",
    )
    .expect("valid");
    assert_eq!(
        cfg.collector.sflow_listen,
        CollectorSettings::default_sflow_listen()
    );
}

#[test]
fn unknown_key_is_an_error_with_line() {
    let text = with_collector("collector:\n  sflow_listn: [\"0.0.0.0:6343\"]  # HERE\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "unknown key `sflow_listn` in collector",
    );
}

#[test]
fn bad_listen_address_is_an_error_with_line() {
    let text =
        with_collector("collector:\n  sflow_listen:\n    - 0.0.0.0:6343\n    - 0.0.0.0  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "is not an address:port");
}

#[test]
fn duplicate_listen_address_is_an_error() {
    let text = with_collector(
        "collector:\n  sflow_listen:\n    - 0.0.0.0:6343\n    - 0.0.0.0:6343  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "listed twice (first at line",
    );
}

#[test]
fn empty_listen_list_is_an_error() {
    let text = with_collector("collector:\n  sflow_listen: []  # HERE\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must list at least one entry",
    );
}

#[test]
fn api_clash_with_a_route_server_is_an_error() {
    // rs1 has the default API address 127.0.0.1:8180.
    let text = with_collector("collector:\n  api: 127.0.0.1:8180  # HERE\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "already used by route server `rs1`",
    );
}

#[test]
fn collector_must_be_a_mapping() {
    let text = with_collector("collector: [1, 2]  # HERE\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs}");
    assert_eq!(errs.0[0].line, line_of(&text, "# HERE"));
    assert!(errs.0[0].message.contains("must be a mapping"), "{errs}");
}
