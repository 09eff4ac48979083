//! Tests of `fox lab render`: the lab file keeps production's exchange, the member router
//! configurations parse with the real daemons, and the committed containerlab topology is
//! what the renderer makes (no drift) and is structurally sound.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Renders configs/fox.yaml into a fresh directory.
fn rendered(tag: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("fox-lab-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let files =
        render(&root().join("configs/fox.yaml"), &root().join(SAMPLE), &out).expect("render");
    assert!(files.len() >= 10, "only {} files written", files.len());
    out
}

#[test]
fn read_routes_pairs_route_and_origin() {
    let r = read_routes(
        "route: 10.0.0.0/8 # x\norigin: AS65000\n\nroute: bad\norigin: AS1\nroute: 1.0.0.0/24\norigin: AS13335\n\
route6: 2001:db8::/32\norigin: AS64500\n",
    );
    let want: Vec<(ipnet::IpNet, u32)> = vec![
        ("10.0.0.0/8".parse().unwrap(), 65000),
        ("1.0.0.0/24".parse().unwrap(), 13335),
        ("2001:db8::/32".parse().unwrap(), 64500),
    ];
    assert_eq!(r, want);
}

#[test]
fn lab_file_keeps_the_production_exchange() {
    let out = rendered("yaml");
    let prod = fox_config::load(&root().join("configs/fox.yaml")).expect("production config");
    let lab = fox_config::load(&out.join("fox-lab.yaml")).expect("lab config loads");
    assert_eq!(lab.sites, prod.sites);
    assert_eq!(lab.policy, prod.policy);
    assert_eq!(lab.members.len(), prod.members.len());
    for (l, p) in lab.members.iter().zip(&prod.members) {
        assert_eq!(
            (
                &l.name,
                l.asn,
                &l.as_set,
                l.max_prefix,
                &l.policy,
                l.passive
            ),
            (
                &p.name,
                p.asn,
                &p.as_set,
                p.max_prefix,
                &p.policy,
                p.passive
            )
        );
        let conns = |m: &fox_config::Member| -> Vec<_> {
            m.connections
                .iter()
                .filter(|c| c.ipv4.is_some())
                .map(|c| (c.site.clone(), c.ipv4, c.ipv6, c.macs.clone(), c.speed))
                .collect()
        };
        assert_eq!(conns(l), conns(p), "connections of {}", l.name);
    }
    for (l, p) in lab.route_servers.iter().zip(&prod.route_servers) {
        assert_eq!(
            (&l.name, l.asn, l.ipv4, l.ipv6, &l.site),
            (&p.name, p.asn, p.ipv4, p.ipv6, &p.site)
        );
        assert_eq!(l.hold_time.as_secs(), u64::from(LAB_HOLD_TIME));
        assert_eq!(Some(l.api.ip()), l.ipv4.map(std::net::IpAddr::V4));
    }
    // One probe per site, aimed at that site's reflector.
    let probes: BTreeSet<String> = lab
        .collector
        .probes
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let sites: BTreeSet<String> = prod.sites.iter().map(|s| s.id.clone()).collect();
    assert_eq!(probes, sites);
    for site in &sites {
        let probe = fox_config::load(&out.join(format!("probe{site}/fox-probe.yaml")))
            .expect("reflector config loads");
        let target = lab
            .collector
            .probes
            .iter()
            .find(|p| &p.name == site)
            .map(|p| p.target);
        assert_eq!(probe.collector.stamp_reflector, target);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn member_routers_announce_sample_prefixes_on_every_port_to_every_rs() {
    let out = rendered("routers");
    let cfg = fox_config::load(&root().join("configs/fox.yaml")).expect("config");
    let plan = Plan::new(cfg, &root().join(SAMPLE)).expect("plan");
    assert_eq!(plan.members.len(), 4);
    let daemons: Vec<Daemon> = plan.members.iter().map(|m| m.daemon).collect();
    assert_eq!(
        daemons,
        [Daemon::Bird, Daemon::Bird, Daemon::Frr, Daemon::Frr]
    );
    for (k, m) in plan.members.iter().enumerate() {
        assert_eq!(m.ports.len(), 2, "{} is dual-homed", m.name);
        let v6 = m
            .prefixes
            .iter()
            .filter(|p| matches!(p, ipnet::IpNet::V6(_)))
            .count();
        assert!(
            v6 >= 1 && m.prefixes.len() > v6,
            "{}: IPv4 and IPv6 prefixes",
            m.name
        );
        for p in &m.prefixes {
            assert!(
                plan.routes.contains(&(*p, m.asn)),
                "{p} not in the sample for AS{}",
                m.asn
            );
        }
        let node = plan.node(&Role::Member(k)).expect("node");
        let (file, text) = match m.daemon {
            Daemon::Bird => {
                let f = out.join(&node.name).join("bird.conf");
                let t = std::fs::read_to_string(&f).expect("bird.conf");
                (f, t)
            }
            Daemon::Frr => {
                let f = out.join(&node.name).join("frr.conf");
                let t = std::fs::read_to_string(&f).expect("frr.conf");
                (f, t)
            }
        };
        // A session per port, route server and address family, from the port's address.
        for port in &m.ports {
            let v6 = port.ipv6.expect("IPv6 connection").to_string();
            for src in [port.ipv4.to_string(), v6] {
                let uses = text.matches(&format!("source address {src};\n")).count()
                    + text.matches(&format!("update-source {src}\n")).count();
                assert_eq!(
                    uses,
                    plan.route_servers.len(),
                    "{}: sessions from {src}",
                    file.display()
                );
            }
        }
        for rs in &plan.route_servers {
            for ip in [rs.ipv4.to_string(), rs.ipv6.expect("IPv6").to_string()] {
                let n = text.matches(&format!("neighbor {ip} as ")).count()
                    + text.matches(&format!("neighbor {ip} remote-as ")).count();
                assert_eq!(n, m.ports.len(), "{}: sessions to {ip}", file.display());
            }
        }
        for p in &m.prefixes {
            assert!(
                text.contains(&p.to_string()),
                "{} does not announce {p}",
                file.display()
            );
        }
        // The real parsers have the last word when they are installed.
        let check = match m.daemon {
            Daemon::Bird => ("bird", vec!["-p", "-c"]),
            Daemon::Frr => ("vtysh", vec!["-C", "-f"]),
        };
        let mut args = check.1.clone();
        let f = file.to_string_lossy().into_owned();
        args.push(&f);
        match std::process::Command::new(check.0).args(&args).output() {
            Ok(o) => assert!(
                o.status.success(),
                "{} rejects {}: {}{}",
                check.0,
                file.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!(
                "skipped: {} not runnable ({e}); syntax not checked",
                check.0
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn endpoints(v: &Value) -> Vec<(String, String)> {
    v["topology"]["links"]
        .as_array()
        .expect("links")
        .iter()
        .flat_map(|l| l["endpoints"].as_array().expect("endpoints").clone())
        .map(|e| {
            let s = e.as_str().expect("endpoint string");
            let (n, i) = s.split_once(':').expect("node:interface");
            (n.to_owned(), i.to_owned())
        })
        .collect()
}

#[test]
fn committed_clab_topology_is_the_rendered_one_and_is_sound() {
    let out = rendered("clab");
    let committed =
        std::fs::read_to_string(root().join("lab/fox.clab.yml")).expect("lab/fox.clab.yml");
    let fresh = std::fs::read_to_string(out.join("fox.clab.yml")).expect("rendered");
    assert!(
        committed == fresh,
        "lab/fox.clab.yml drifted from configs/fox.yaml: run `fox lab render --out lab`"
    );
    let v: Value = serde_saphyr::from_str(&fresh).expect("valid YAML");
    assert_eq!(v["name"], "fox");
    let nodes = v["topology"]["nodes"].as_object().expect("nodes");
    let kinds: BTreeMap<&str, &str> = nodes
        .iter()
        .map(|(n, d)| (n.as_str(), d["kind"].as_str().expect("kind")))
        .collect();
    let bridges: Vec<&str> = kinds
        .iter()
        .filter(|(_, k)| **k == "bridge")
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(bridges.len(), 3, "one bridge per site");
    for want in [
        "rs1",
        "rs2",
        "collector",
        "lg",
        "gsn",
        "tanet",
        "twaren",
        "asnet",
    ] {
        assert_eq!(kinds.get(want), Some(&"linux"), "node {want}");
        let binds = nodes[want]["binds"].as_array().expect("binds");
        assert!(!binds.is_empty(), "{want} has binds");
        for b in binds {
            let src = b.as_str().expect("bind").split(':').next().expect("source");
            assert!(
                out.join(src).is_file(),
                "bind source {src} of {want} is rendered"
            );
        }
        assert!(nodes[want]["image"].as_str().is_some_and(|i| !i.is_empty()));
    }
    let eps = endpoints(&v);
    for (n, _) in &eps {
        assert!(kinds.contains_key(n.as_str()), "link to unknown node {n}");
    }
    // No interface is used twice.
    let unique: BTreeSet<&(String, String)> = eps.iter().collect();
    assert_eq!(unique.len(), eps.len());
    // The fabric: every pair of site bridges is linked once.
    let links = v["topology"]["links"].as_array().expect("links");
    let bridge_links = links
        .iter()
        .filter(|l| {
            l["endpoints"].as_array().is_some_and(|e| {
                e.iter()
                    .all(|x| x.as_str().is_some_and(|s| s.starts_with("fox-br")))
            })
        })
        .count();
    assert_eq!(bridge_links, 3);
    // Members are dual-homed: two links each, to two different bridges.
    for m in ["gsn", "tanet", "twaren", "asnet"] {
        let peers: BTreeSet<String> = links
            .iter()
            .filter_map(|l| {
                let e = l["endpoints"].as_array()?;
                let a = e.first()?.as_str()?;
                let b = e.get(1)?.as_str()?;
                a.starts_with(&format!("{m}:"))
                    .then(|| b.split(':').next().unwrap_or("").to_owned())
            })
            .collect();
        assert_eq!(peers.len(), 2, "{m} on two site bridges: {peers:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn render_refuses_a_sample_without_a_members_prefixes() {
    let dir = std::env::temp_dir().join(format!("fox-lab-test-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sample = dir.join("empty.db");
    std::fs::write(&sample, "route: 1.0.0.0/24\norigin: AS13335\n").expect("write");
    let err = render(&root().join("configs/fox.yaml"), &sample, &dir.join("out"))
        .expect_err("no prefix for the members");
    assert!(err.to_string().contains("no route object"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = Path::new("");
}

#[test]
fn prometheus_lab_targets_are_the_rendered_services() {
    let cfg = fox_config::load(&root().join("configs/fox.yaml")).expect("config");
    let plan = Plan::new(cfg, &root().join(SAMPLE)).expect("plan");
    let text = std::fs::read_to_string(root().join("lab/prometheus.yml")).expect("prometheus.yml");
    let v: Value = serde_saphyr::from_str(&text).expect("YAML");
    let mut lab_targets = BTreeSet::new();
    for job in v["scrape_configs"].as_array().expect("scrape_configs") {
        if !job["job_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("fox-lab-"))
        {
            continue;
        }
        for sc in job["static_configs"].as_array().expect("static_configs") {
            for t in sc["targets"].as_array().expect("targets") {
                lab_targets.insert(t.as_str().expect("target").to_owned());
            }
        }
    }
    let addr = |role: &Role| {
        plan.node(role)
            .and_then(|n| n.ports.first())
            .map(|p| p.ipv4)
    };
    let mut want = BTreeSet::new();
    for rs in &plan.route_servers {
        want.insert(format!("{}:{RS_API_PORT}", rs.ipv4));
    }
    want.insert(format!(
        "{}:{COLLECTOR_API_PORT}",
        addr(&Role::Collector).expect("collector")
    ));
    want.insert(format!(
        "{}:{LG_PORT}",
        addr(&Role::LookingGlass).expect("lg")
    ));
    assert_eq!(
        lab_targets, want,
        "lab/prometheus.yml lab jobs vs fox lab render"
    );
}
