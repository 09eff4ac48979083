//! The `looking_glass:` section: defaults, every key, and errors with their lines.

mod common;

use std::time::Duration;

use common::{line_of, only_error, BASE};

fn with_lg(section: &str) -> String {
    format!("{BASE}looking_glass:\n{section}")
}

#[test]
fn absent_section_gives_defaults_from_route_servers() {
    let c = fox_config::parse(BASE, "test.yaml").expect("base loads");
    assert!(c.looking_glass.is_none());
    let lg = c.looking_glass_settings();
    assert_eq!(lg.listen.to_string(), "127.0.0.1:8080");
    let srcs: Vec<(&str, &str)> = lg
        .route_servers
        .iter()
        .map(|s| (s.name.as_str(), s.url.as_str()))
        .collect();
    assert_eq!(
        srcs,
        [
            ("rs1", "http://127.0.0.1:8180"),
            ("rs2", "http://127.0.0.1:8181")
        ]
    );
    assert!(lg.collectors.is_empty());
    assert_eq!(lg.cache, Duration::from_secs(5));
    assert_eq!(lg.rate_limit.per_minute, 120);
    assert_eq!(lg.rate_limit.burst, 30);
    assert_eq!(lg.birdwatcher_allow.len(), 2);
}

#[test]
fn every_key_is_read() {
    let text = with_lg(
        "  listen: 0.0.0.0:9090\n  route_servers:\n    - { name: a, url: http://10.0.0.1:8180/ }\n  collectors:\n    - { name: col, url: http://10.0.0.9:8190/x }\n  cache_seconds: 0\n  timeout: 10s\n  tokens_file: /etc/fox/tokens\n  rate_limit: { per_minute: 600, burst: 5 }\n  birdwatcher_allow: [10.1.0.0/16]\n",
    );
    let c = fox_config::parse(&text, "test.yaml").expect("loads");
    let lg = c.looking_glass.clone().expect("section present");
    assert_eq!(lg, c.looking_glass_settings());
    assert_eq!(lg.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(lg.route_servers.len(), 1);
    assert_eq!(lg.route_servers[0].url, "http://10.0.0.1:8180");
    assert_eq!(lg.collectors[0].name, "col");
    assert_eq!(lg.cache, Duration::ZERO);
    assert_eq!(lg.timeout, Duration::from_secs(10));
    assert_eq!(
        lg.tokens_file.as_deref(),
        Some(std::path::Path::new("/etc/fox/tokens"))
    );
    assert_eq!(lg.rate_limit.per_minute, 600);
    assert_eq!(lg.rate_limit.burst, 5);
    assert_eq!(lg.birdwatcher_allow[0].to_string(), "10.1.0.0/16");
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("  listen: nowhere  # HERE\n", "not an address:port"),
        ("  cache_seconds: -1  # HERE\n", "between 0 and 3600"),
        ("  colectors: []  # HERE\n", "did you mean `collectors`"),
        (
            "  route_servers:\n    - { name: a, url: https://x:1 }  # HERE\n",
            "uses https",
        ),
        (
            "  route_servers:\n    - { name: a, url: ftp://x }  # HERE\n",
            "not an http:// URL",
        ),
        (
            "  route_servers:\n    - { name: a, url: http://x:1 }\n    - { name: a, url: http://y:1 }  # HERE\n",
            "duplicate source name `a`",
        ),
        (
            "  route_servers:\n    - { name: a/b, url: http://x:1 }  # HERE\n",
            "may only hold letters",
        ),
        ("  rate_limit: { per_minute: 0 }  # HERE\n", "between 1 and"),
        ("  birdwatcher_allow: [10.0.0.1/8]  # HERE\n", "host bits"),
        ("  timeout: 0s  # HERE\n", "between 1s and 120s"),
    ];
    for (section, fragment) in cases {
        let text = with_lg(section);
        only_error(&text, line_of(&text, "# HERE"), fragment);
    }
}
