//! Connection limits of a route server: `connection_rate_limit`, `connection_rate_window`,
//! `max_pending_connections`.

mod common;

use std::time::Duration;

use common::{edit, line_of, only_error};

const RS2_SITE: &str = "    site: b\n";

fn with_rs2_lines(lines: &str) -> String {
    edit(RS2_SITE, &format!("    site: b\n{lines}"))
}

fn rs(text: &str, name: &str) -> fox_config::RouteServer {
    let c = fox_config::parse(text, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
    c.route_server(name)
        .unwrap_or_else(|| panic!("no route server {name}"))
        .clone()
}

#[test]
fn defaults_are_the_former_constants() {
    let r = rs(common::BASE, "rs1");
    assert_eq!(r.connection_rate_limit, 50);
    assert_eq!(r.connection_rate_window, Duration::from_secs(10));
    assert_eq!(r.max_pending_connections, 2);
    assert_eq!(
        r.connection_rate_limit,
        fox_config::DEFAULT_CONNECTION_RATE_LIMIT
    );
    assert_eq!(
        r.connection_rate_window,
        fox_config::DEFAULT_CONNECTION_RATE_WINDOW
    );
    assert_eq!(
        r.max_pending_connections,
        fox_config::DEFAULT_MAX_PENDING_CONNECTIONS
    );
}

#[test]
fn set_values_reach_only_their_route_server() {
    let text = with_rs2_lines(
        "    connection_rate_limit: 5\n    connection_rate_window: 1m\n    max_pending_connections: 1\n",
    );
    let r2 = rs(&text, "rs2");
    assert_eq!(r2.connection_rate_limit, 5);
    assert_eq!(r2.connection_rate_window, Duration::from_secs(60));
    assert_eq!(r2.max_pending_connections, 1);
    let r1 = rs(&text, "rs1");
    assert_eq!(r1.connection_rate_limit, 50);
    assert_eq!(r1.max_pending_connections, 2);
}

#[test]
fn bad_values_are_errors_at_their_line() {
    for (line, fragment) in [
        ("    connection_rate_limit: 0\n", "between 1 and 100000"),
        (
            "    connection_rate_limit: 100001\n",
            "between 1 and 100000",
        ),
        ("    connection_rate_limit: -5\n", "between 1 and 100000"),
        ("    connection_rate_limit: many\n", "integer"),
        ("    connection_rate_limit: 2.5\n", "integer"),
        ("    connection_rate_window: 0s\n", "between 1s and 1h"),
        ("    connection_rate_window: 2h\n", "between 1s and 1h"),
        ("    connection_rate_window: [10s]\n", "duration"),
        (
            "    connection_rate_window: soon\n",
            "connection_rate_window",
        ),
        ("    max_pending_connections: 0\n", "between 1 and 64"),
        ("    max_pending_connections: 65\n", "between 1 and 64"),
        ("    max_pending_connections: [1]\n", "integer"),
    ] {
        let text = with_rs2_lines(line);
        let key = line.trim().split(':').next().unwrap_or_default();
        only_error(&text, line_of(&text, key), fragment);
    }
}

#[test]
fn misspelled_key_is_an_error() {
    let text = with_rs2_lines("    max_pending_connection: 1\n");
    only_error(
        &text,
        line_of(&text, "max_pending_connection:"),
        "max_pending_connection",
    );
}
