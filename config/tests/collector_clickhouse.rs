//! `collector: clickhouse:`: the optional flow archive settings.

mod common;

use std::time::Duration;

use common::{edit, line_of, only_error};
use fox_config::ClickHouseSettings;

fn with_collector(section: &str) -> String {
    edit("members:\n", &format!("{section}members:\n"))
}

#[test]
fn absent_means_no_archive() {
    let cfg = fox_config::parse(&with_collector(""), "t.yaml").expect("valid");
    assert_eq!(cfg.collector.clickhouse, None);
}

#[test]
fn settings_and_defaults_are_read() {
    let text = with_collector(
        "collector:\n  clickhouse: { url: \"http://127.0.0.1:8123/\", table: flows_v1, batch_size: 500, batch_interval: 2s, queue: 1000, retention_days: 30 }\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let c = cfg.collector.clickhouse.expect("configured");
    assert_eq!(
        c,
        ClickHouseSettings {
            url: "http://127.0.0.1:8123".into(),
            database: "fox".into(),
            table: "flows_v1".into(),
            batch_size: 500,
            batch_interval: Duration::from_secs(2),
            queue: 1000,
            retention_days: 30,
        }
    );
}

#[test]
fn errors_name_the_line() {
    let text = with_collector("collector:\n  clickhouse: { url: \"https://x\" }  # HERE\n");
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must be an http://host[:port] URL",
    );
    let text = with_collector(
        "collector:\n  clickhouse: { url: \"http://x\", table: \"a;drop\" }  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must be letters, digits and `_`",
    );
    let text = with_collector(
        "collector:\n  clickhouse: { url: \"http://x\", batch_size: 10, queue: 5 }  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must be at least `batch_size`",
    );
    let text = with_collector("collector:\n  clickhouse: { url: \"http://x\", ttl: 3 }  # HERE\n");
    only_error(&text, line_of(&text, "# HERE"), "ttl");
    let text = with_collector(
        "collector:\n  clickhouse: { url: \"http://x\", retention_days: 0 }  # HERE\n",
    );
    only_error(
        &text,
        line_of(&text, "# HERE"),
        "must be between 1 and 36500",
    );
}
