//! `collector:` probes, SLA targets, STAMP reflector and alert targets.

mod common;

use std::time::Duration;

use common::{edit, line_of, only_error};
use fox_config::SlaSettings;

fn with_collector(section: &str) -> String {
    edit("members:\n", &format!("{section}members:\n"))
}

#[test]
fn probes_sla_and_alerts_are_read() {
    let text = with_collector(
        "collector:\n  stamp_reflector: 127.0.0.1:862\n  probes:\n    - { name: fra-ams, target: \"10.0.0.2:862\", interval: 250ms, timeout: 2s }\n    - { name: lon, target: \"[::1]:862\" }\n  sla: { rtt_ms: 12, availability: 99.92, loss_percent: 1 }\n  alerts:\n    webhooks: [\"http://127.0.0.1:9/hooks/x\"]\n    alertmanager: [\"http://127.0.0.1:9093\"]\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let c = &cfg.collector;
    assert_eq!(c.stamp_reflector, Some("127.0.0.1:862".parse().unwrap()));
    assert_eq!(c.probes.len(), 2);
    assert_eq!(c.probes[0].name, "fra-ams");
    assert_eq!(c.probes[0].interval, Duration::from_millis(250));
    assert_eq!(c.probes[0].timeout, Duration::from_secs(2));
    assert_eq!(c.probes[1].interval, Duration::from_secs(1));
    assert_eq!(c.probes[1].target, "[::1]:862".parse().unwrap());
    assert_eq!(
        c.sla,
        SlaSettings {
            rtt: Duration::from_millis(12),
            availability_ppm: 999_200,
            loss_ppm: 10_000
        }
    );
    assert!((c.sla.availability_percent() - 99.92).abs() < 1e-9);
    assert_eq!(c.alerts.webhooks, vec!["http://127.0.0.1:9/hooks/x"]);
    assert_eq!(c.alerts.alertmanager, vec!["http://127.0.0.1:9093"]);
}

#[test]
fn duplicate_probe_name_is_an_error() {
    let text = with_collector(
        "collector:\n  probes:\n    - { name: a, target: \"10.0.0.2:862\" }\n    - { name: a, target: \"10.0.0.3:862\" }  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "probe `a` is defined twice",
    );
}

#[test]
fn bad_sla_and_urls_are_errors_with_lines() {
    let text = with_collector("collector:\n  sla: { availability: 101 }  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "must be between 0 and 100");
    let text = with_collector("collector:\n  alerts:\n    webhooks: [\"https://x\"]  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "must be an http:// URL");
    let text = with_collector(
        "collector:\n  probes:\n    - { name: a, target: \"10.0.0.2:862\", interval: 0s }  # HERE\n",
    );
    only_error(&text, line_of(&text, "# HERE"), "must be more than zero");
}
