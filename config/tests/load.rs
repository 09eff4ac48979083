//! Loading good files: the real FOX file, sessions per route server, policy merging.

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use fox_config::{LenRange, MaxPrefixAction, NextHopPolicy, Policy, RolePolicy, Speed};

fn fox_yaml() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/fox.yaml")
}

#[test]
fn fox_yaml_loads() {
    let cfg = match fox_config::load(&fox_yaml()) {
        Ok(c) => c,
        Err(e) => panic!("configs/fox.yaml must load:\n{e}"),
    };
    assert_eq!(cfg.exchange.name, "FOX");
    let sites: Vec<&str> = cfg.sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sites, ["hsinchu", "taichung", "tainan"]);
    let members: Vec<(&str, u32)> = cfg
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.asn))
        .collect();
    assert_eq!(
        members,
        [
            ("GSN", 4782),
            ("TANet", 1659),
            ("TWAREN", 7539),
            ("ASNet", 9264)
        ]
    );
    for m in &cfg.members {
        assert_eq!(m.connections.len(), 2, "{} is dual-homed", m.name);
        assert_ne!(m.connections[0].site, m.connections[1].site);
        assert_eq!(m.route_servers, ["rs1", "rs2"]);
    }
    let rs1 = cfg.route_server("rs1").expect("rs1 exists");
    assert_eq!(rs1.site, "hsinchu");
    assert_eq!(rs1.api.to_string(), "127.0.0.1:8180");
    assert_eq!(rs1.port, 179);
    assert_eq!(rs1.hold_time, Duration::from_secs(90));
    let rs2 = cfg.route_server("rs2").expect("rs2 exists");
    assert_eq!(rs2.site, "tainan");
    assert_eq!(rs2.api.to_string(), "127.0.0.1:8181");
    // 4 members x 2 connections x 2 address families.
    assert_eq!(cfg.neighbors("rs1").len(), 16);
    assert_eq!(cfg.neighbors("rs2").len(), 16);
    assert_eq!(cfg.policy, Policy::default());
    let summary = cfg.summary();
    for needle in [
        "FOX",
        "Formosa Open Exchange",
        "rs1",
        "rs2",
        "TANet AS1659",
        "GSN AS4782",
        "Taichung",
    ] {
        assert!(
            summary.contains(needle),
            "summary lacks `{needle}`:\n{summary}"
        );
    }
}

#[test]
fn defaults_are_filled() {
    let cfg = fox_config::parse(common::BASE, "base.yaml").expect("BASE is valid");
    assert_eq!(cfg.source, Path::new("base.yaml"));
    assert_eq!(cfg.exchange.data_dir, Path::new("./data"));
    assert_eq!(cfg.exchange.full_name, None);
    let rs1 = &cfg.route_servers[0];
    assert_eq!(rs1.api.to_string(), "127.0.0.1:8180");
    assert_eq!(rs1.connect_retry, Duration::from_secs(30));
    assert_eq!(
        rs1.listen,
        [
            "192.0.2.1".parse::<IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ]
    );
    assert_eq!(cfg.route_servers[1].hold_time, Duration::from_secs(180));
    assert_eq!(
        cfg.route_servers[1].listen,
        ["192.0.2.2".parse::<IpAddr>().unwrap()]
    );
    assert!(cfg.blackhole.is_none());
    assert!(cfg.rpki.rtr.is_empty() && cfg.irr.files.is_empty());
    let m1 = &cfg.members[0];
    assert_eq!(
        m1.route_servers,
        ["rs1", "rs2"],
        "default: all route servers"
    );
    assert!(!m1.passive && !m1.blackhole_opt_in);
    assert_eq!(m1.connections[0].macs[0].to_string(), "02:00:00:00:00:11");
    assert_eq!(m1.connections[1].speed, Some(Speed::G10));
    assert_eq!(m1.connections[0].speed, None);
}

#[test]
fn neighbors_one_session_per_address_family_and_connection() {
    let cfg = fox_config::parse(common::BASE, "base.yaml").expect("BASE is valid");
    let rs1: Vec<(String, IpAddr, String)> = cfg
        .neighbors("rs1")
        .into_iter()
        .map(|n| (n.member, n.address, n.site))
        .collect();
    let expect =
        |m: &str, a: &str, s: &str| (m.to_owned(), a.parse::<IpAddr>().unwrap(), s.to_owned());
    assert_eq!(
        rs1,
        [
            expect("M1", "192.0.2.11", "a"),
            expect("M1", "2001:db8::11", "a"),
            expect("M1", "192.0.2.12", "b"),
        ]
    );
    let rs2 = cfg.neighbors("rs2");
    assert_eq!(rs2.len(), 5, "M1's three sessions and M2's two");
    let m2: Vec<_> = rs2.iter().filter(|n| n.member == "M2").collect();
    assert_eq!(m2.len(), 2);
    for n in m2 {
        assert_eq!(n.asn, 65002);
        assert!(n.passive && n.blackhole_opt_in);
        assert_eq!(n.max_prefix_ipv4, Some(10));
        assert_eq!(n.max_prefix_ipv6, None);
        assert_eq!(
            n.authorized_next_hops,
            ["192.0.2.23".parse::<IpAddr>().unwrap()]
        );
    }
    assert!(cfg.neighbors("rs9").is_empty());
    let summary = cfg.summary();
    assert!(summary.contains("rs2 AS64500 at b"), "{summary}");
    assert!(summary.contains("5 sessions"), "{summary}");
    assert!(summary.contains("policy overrides: M2"), "{summary}");
    assert!(summary.contains("hold 3m"), "{summary}");
}

#[test]
fn member_policy_overrides_merge_with_exchange_defaults() {
    let text = common::edit(
        "members:\n",
        "policy: { next_hop: same-as, irr: false, max_prefix_action: warn }\nmembers:\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    // Exchange policy: three keys changed, the rest defaults.
    let ex = &cfg.policy;
    assert_eq!(ex.next_hop, NextHopPolicy::SameAs);
    assert!(!ex.irr);
    assert_eq!(ex.max_prefix_action, MaxPrefixAction::Warn);
    assert!(ex.rpki);
    assert_eq!(ex.prefix_len_ipv4, LenRange { min: 8, max: 24 });
    // M1 has no overrides: exactly the exchange policy.
    assert_eq!(cfg.members[0].policy, *ex);
    // M2 overrides rpki, prefix_len_ipv4 and the restart delay; inherits the rest.
    let m2 = &cfg.members[1].policy;
    assert!(!m2.rpki);
    assert_eq!(m2.prefix_len_ipv4, LenRange { min: 8, max: 25 });
    assert_eq!(m2.max_prefix_restart_after, Duration::from_secs(3600));
    assert_eq!(
        m2.next_hop,
        NextHopPolicy::SameAs,
        "inherited from the exchange"
    );
    assert!(!m2.irr, "inherited from the exchange");
    assert_eq!(m2.prefix_len_ipv6, ex.prefix_len_ipv6);
    assert_eq!(cfg.members[1].policy_overrides.rpki, Some(false));
    assert_eq!(cfg.members[1].policy_overrides.irr, None);
    // The neighbour carries the merged policy.
    let n = cfg
        .neighbors("rs2")
        .into_iter()
        .find(|n| n.member == "M2")
        .expect("M2 on rs2");
    assert_eq!(n.policy, *m2);
}

#[test]
fn asn_may_be_written_with_as_prefix_and_durations_as_seconds() {
    let text =
        common::edit("asn: 65002", "asn: AS65002").replace("hold_time: 3m", "hold_time: 240");
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    assert_eq!(cfg.members[1].asn, 65002);
    assert_eq!(cfg.route_servers[1].hold_time, Duration::from_secs(240));
}

#[test]
fn optional_sections_are_read() {
    let text = common::edit(
        "members:\n",
        "blackhole: { next_hop_ipv4: 192.0.2.66, next_hop_ipv6: \"2001:db8::66\" }\n\
         rpki:\n  rtr: [{ host: 127.0.0.1, port: 3323 }, { host: rtr.example }]\n  files: [vrps.json]\n\
         irr: { files: [irr.db.gz] }\nmembers:\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let bh = cfg.blackhole.expect("blackhole set");
    assert_eq!(bh.next_hop_ipv4, Some("192.0.2.66".parse().unwrap()));
    assert_eq!(cfg.rpki.rtr.len(), 2);
    assert_eq!(cfg.rpki.rtr[1].port, 323, "default RTR port");
    assert_eq!(cfg.rpki.files, [Path::new("vrps.json")]);
    assert_eq!(cfg.irr.files, [Path::new("irr.db.gz")]);
}

#[test]
fn section_order_does_not_matter() {
    let split = common::BASE.find("members:").expect("BASE has members");
    let (head, members) = common::BASE.split_at(split);
    let text = format!("{members}{head}");
    let a = fox_config::parse(common::BASE, "t.yaml").expect("valid");
    let b = fox_config::parse(&text, "t.yaml").expect("members first is valid too");
    assert_eq!(a, b);
    // References are still checked, with the right line, when members come first.
    let bad = text.replace("route_servers: [rs2]", "route_servers: [rs7]");
    let errs = fox_config::parse(&bad, "t.yaml").expect_err("unknown route server");
    assert_eq!(errs.len(), 1, "{errs}");
    let line = bad
        .lines()
        .position(|l| l.contains("[rs7]"))
        .expect("marker")
        + 1;
    assert_eq!(errs.0[0].line, line);
}

#[test]
fn role_policy_defaults_to_on_and_merges_per_member() {
    let cfg =
        fox_config::parse(&common::edit("members:\n", "members:\n"), "t.yaml").expect("valid");
    assert_eq!(cfg.policy.role, RolePolicy::On);
    let text = common::edit("members:\n", "policy: { role: strict }\nmembers:\n").replace(
        "policy: { rpki: false,",
        "policy: { role: off, rpki: false,",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    assert_eq!(cfg.policy.role, RolePolicy::Strict);
    assert_eq!(cfg.members[0].policy.role, RolePolicy::Strict);
    assert_eq!(cfg.members[1].policy.role, RolePolicy::Off);
    assert_eq!(cfg.members[1].policy_overrides.role, Some(RolePolicy::Off));
}

#[test]
fn aspa_policy_defaults_to_off_and_merges_per_member() {
    use fox_config::AspaPolicy;
    let cfg =
        fox_config::parse(&common::edit("members:\n", "members:\n"), "t.yaml").expect("valid");
    assert_eq!(cfg.policy.aspa, AspaPolicy::Off);
    let text = common::edit("members:\n", "policy: { aspa: tag }\nmembers:\n").replace(
        "policy: { rpki: false,",
        "policy: { aspa: filter, rpki: false,",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    assert_eq!(cfg.policy.aspa, AspaPolicy::Tag);
    assert_eq!(cfg.members[0].policy.aspa, AspaPolicy::Tag);
    assert_eq!(cfg.members[1].policy.aspa, AspaPolicy::Filter);
    assert_eq!(
        cfg.members[1].policy_overrides.aspa,
        Some(AspaPolicy::Filter)
    );
}

#[test]
fn mrt_dumps_section_with_defaults() {
    let cfg =
        fox_config::parse(&common::edit("members:\n", "members:\n"), "t.yaml").expect("valid");
    assert_eq!(cfg.mrt, None);
    let text = common::edit("members:\n", "mrt: { interval: 5m }\nmembers:\n");
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let m = cfg.mrt.expect("mrt section");
    assert_eq!(m.interval, Duration::from_secs(300));
    assert_eq!(m.keep, 96);
    assert_eq!(m.dir, cfg.exchange.data_dir.join("mrt"));
    assert_eq!(m.updates, None);
    let text = common::edit("members:\n", "mrt:\n  updates: {}\nmembers:\n");
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let u = cfg.mrt.and_then(|m| m.updates).expect("mrt.updates");
    assert_eq!(u.file, "updates.%Y%m%d.%H%M.gz");
    assert_eq!(
        (u.interval, u.keep, u.queue),
        (Duration::from_secs(300), 288, 65_536)
    );
    let text = common::edit(
        "members:\n",
        "mrt:\n  updates: { file: \"upd.%Y%m%d.%H%M%S.gz\", interval: 2s, keep: 5, queue: 10 }\nmembers:\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let u = cfg.mrt.and_then(|m| m.updates).expect("mrt.updates");
    assert_eq!(u.file, "upd.%Y%m%d.%H%M%S.gz");
    assert_eq!(
        (u.interval, u.keep, u.queue),
        (Duration::from_secs(2), 5, 10)
    );
}

#[test]
fn bmp_stations_section() {
    let cfg =
        fox_config::parse(&common::edit("members:\n", "members:\n"), "t.yaml").expect("valid");
    assert!(cfg.bmp.is_empty());
    let text = common::edit(
        "members:\n",
        "bmp:\n  - { host: 127.0.0.1, port: 1790 }\n  - { host: \"::1\", port: 5000 }\nmembers:\n",
    );
    let cfg = fox_config::parse(&text, "t.yaml").expect("valid");
    let got: Vec<(String, u16)> = cfg.bmp.iter().map(|b| (b.host.clone(), b.port)).collect();
    assert_eq!(
        got,
        vec![("127.0.0.1".to_string(), 1790), ("::1".to_string(), 5000)]
    );
}
