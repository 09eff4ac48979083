//! `collector:` interfaces, baselines, alert hold, ICMP probes and probe tags.

mod common;

use std::time::Duration;

use common::{edit, line_of, only_error};
use fox_config::{ProbeKind, ProbeTags};

fn with_collector(section: &str) -> String {
    edit("members:\n", &format!("{section}members:\n"))
}

#[test]
fn interfaces_baselines_and_tags_are_read() {
    let text = with_collector(
        "collector:\n  interfaces:\n    - { name: br-a, site: a }\n    - { name: eth1, site: b }\n  interface_interval: 500ms\n  alert_hold: 3s\n  session_poll: 2500ms\n  baselines: { interval: 30s, warmup: 5, surge_factor: 4, surge_min_bps: 1000, busy_bps: 2e6, drop_ratio: 0.1, rtt_k: 3, rtt_min_band_ms: 0.5, rtt_after: 2, seed_days: 3 }\n  probes:\n    - { name: gsn, kind: icmp, target: 10.0.0.2, site: b, link: a-b, member: GSN }\n    - { name: rs1, target: \"10.0.0.1:862\", route_server: rs1 }\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let c = &cfg.collector;
    assert_eq!(c.interfaces.len(), 2);
    assert_eq!(
        (c.interfaces[0].name.as_str(), c.interfaces[0].site.as_str()),
        ("br-a", "a")
    );
    assert_eq!(c.interface_interval, Duration::from_millis(500));
    assert_eq!(c.alert_hold, Duration::from_secs(3));
    assert_eq!(c.session_poll, Duration::from_millis(2500));
    let apis: Vec<&str> = c
        .route_server_apis
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    let names: Vec<&str> = cfg.route_servers.iter().map(|r| r.name.as_str()).collect();
    assert!(!apis.is_empty());
    assert_eq!(apis, names);
    assert_eq!(c.route_server_apis[0].1, cfg.route_servers[0].api);
    let b = &c.baselines;
    assert_eq!((b.interval, b.warmup), (Duration::from_secs(30), 5));
    assert_eq!((b.surge_factor, b.surge_min_bps), (4.0, 1000.0));
    assert_eq!((b.busy_bps, b.drop_ratio), (2e6, 0.1));
    assert_eq!((b.rtt_k, b.rtt_min_band_ms, b.rtt_after), (3.0, 0.5, 2));
    assert_eq!(b.seed_days, 3);
    let p = &c.probes[0];
    assert_eq!(p.kind, ProbeKind::Icmp);
    assert_eq!(p.target, "10.0.0.2:0".parse().unwrap());
    assert_eq!(
        p.tags,
        ProbeTags {
            site: Some("b".into()),
            link: Some("a-b".into()),
            route_server: None,
            member: Some("GSN".into()),
        }
    );
    assert_eq!(c.probes[1].kind, ProbeKind::Stamp);
    assert_eq!(c.probes[1].tags.route_server.as_deref(), Some("rs1"));
    assert!(!ProbeTags::default().any());
}

#[test]
fn defaults_without_the_new_keys() {
    let cfg = fox_config::parse(&with_collector("collector: {}\n"), "t.yaml").expect("valid");
    let c = &cfg.collector;
    assert!(c.interfaces.is_empty());
    assert_eq!(c.interface_interval, Duration::from_secs(10));
    assert_eq!(c.alert_hold, Duration::from_secs(10));
    assert_eq!(c.session_poll, Duration::from_secs(10));
    assert_eq!(c.baselines.warmup, 30);
    assert_eq!(c.baselines.rtt_k, 4.0);
    assert_eq!(c.baselines.rtt_after, 3);
    assert_eq!(c.baselines.seed_days, 7);
}

#[test]
fn errors_name_the_line() {
    let t =
        with_collector("collector:\n  interfaces:\n    - { name: br-x, site: nowhere }  # HERE\n");
    only_error(&t, line_of(&t, "# HERE"), "no site `nowhere`");
    let t = with_collector(
        "collector:\n  interfaces:\n    - { name: a-very-long-interface-name, site: a }  # HERE\n",
    );
    only_error(&t, line_of(&t, "# HERE"), "is not a Linux interface name");
    let t = with_collector(
        "collector:\n  interfaces:\n    - { name: e1, site: a }\n    - { name: e1, site: b }  # HERE\n",
    );
    only_error(&t, line_of(&t, "# HERE"), "interface `e1` is listed twice");
    let t = with_collector(
        "collector:\n  interfaces:\n    - { name: e1, site: a, speed: 10 }  # HERE\n",
    );
    only_error(&t, line_of(&t, "# HERE"), "speed");
    let t = with_collector(
        "collector:\n  probes:\n    - { name: p, target: 10.0.0.2, kind: tcp }  # HERE\n",
    );
    only_error(&t, line_of(&t, "# HERE"), "unknown probe kind `tcp`");
    let t = with_collector(
        "collector:\n  probes:\n    - { name: p, target: \"10.0.0.2:862\", route_server: rs9 }  # HERE\n",
    );
    only_error(&t, line_of(&t, "# HERE"), "no route server `rs9`");
    let t = with_collector("collector:\n  baselines: { drop_ratio: 2 }  # HERE\n");
    only_error(&t, line_of(&t, "# HERE"), "must be between 0 and 1");
    let t = with_collector("collector:\n  baselines: { seed_days: 1000 }  # HERE\n");
    only_error(&t, line_of(&t, "# HERE"), "seed_days");
    let t = with_collector("collector:\n  session_poll: soon  # HERE\n");
    only_error(
        &t,
        line_of(&t, "# HERE"),
        "`session_poll`: bad duration `soon`",
    );
    // A STAMP probe needs a port; an ICMP one does not.
    let t = with_collector("collector:\n  probes:\n    - { name: p, target: 10.0.0.2 }  # HERE\n");
    assert!(fox_config::parse(&t, "t.yaml").is_err());
}
