//! RIB benchmark without sockets: load a real full table into the RIB with
//! the import policy on, then measure RPKI revalidation of the whole table
//! (first VRP set) and after a real 30-minute VRP change (second set).
//!
//! `cargo bench -p fox-routeserver --bench rib` (needs ../shared/data; says so and exits if absent).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use fox_routeserver::metrics::Metrics;
use fox_routeserver::policy::{PeerPolicy, Policy};
use fox_routeserver::replay::{read_table, PeerSelect};
use fox_routeserver::rib::export::ExportConfig;
use fox_routeserver::rib::peers::PeerStatic;
use fox_routeserver::rib::{OutQueue, PeerUp, Rib, RibMsg};
use fox_routeserver::rpki::load_vrp_file;
use fox_routeserver::wire::{NextHop, PathAttrs, Update};
use tokio::sync::mpsc;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let table_file = data.join("mrt/bgpdump/updates.et-header.2015.gz");
    let vrp_a = data.join("rpki/rpkiclient_20250720T093135Z.json.bz2");
    let vrp_b = data.join("rpki/rpkiclient_20250720T100145Z.json.bz2");
    if !table_file.exists() || !vrp_a.exists() {
        println!("rib bench: skipped, {} not found", data.display());
        return;
    }
    let t = Instant::now();
    let table = read_table(&table_file, &PeerSelect::All).expect("table");
    println!(
        "read {} routes from MRT in {:.2} s",
        table.routes.len(),
        t.elapsed().as_secs_f64()
    );
    let a = load_vrp_file(&vrp_a).expect("vrps a").set;
    let b = load_vrp_file(&vrp_b).expect("vrps b").set;
    println!("VRP sets: {} and {}", a.len(), b.len());

    let sender_asn = 3856;
    // A route-collector feed: paths start with many ASNs, so no first-AS check.
    let pol = PeerPolicy {
        rpki: true,
        first_as: false,
        transit_free: false,
        next_hop: fox_routeserver::policy::NextHopMode::Any,
        ..PeerPolicy::default()
    };
    let peers: Vec<PeerStatic> = [(sender_asn, 11u8), (64499, 12)]
        .iter()
        .enumerate()
        .map(|(i, &(asn, last))| PeerStatic {
            id: i as u32,
            member: Arc::from(format!("AS{asn}")),
            asn,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            max_prefix_v4: None,
            max_prefix_v6: None,
            max_prefix_enforce: false,
            blackhole_opt_in: false,
            policy: Arc::new(pol.clone()),
            irr: None,
        })
        .collect();
    let export = ExportConfig {
        rs_asn: 64500,
        blackhole_v4: None,
        blackhole_v6: None,
        tag_info: true,
        otc_to: Default::default(),
    };
    let mut rib = Rib::new(peers, export, Policy::default(), Arc::new(Metrics::new()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let (out_tx, mut out_rx) = OutQueue::new();
    let (ctl_tx, _ctl_rx) = mpsc::unbounded_channel();
    rib.handle(RibMsg::Up {
        peer: 1,
        up: PeerUp {
            router_id: 2,
            ipv4: true,
            ipv6: true,
            out: out_tx,
            ctl: ctl_tx,
        },
    });
    // Take what the receiver is sent, handing it more as it takes (the
    // RIB resolves dirty prefixes only while the writer has room).
    let drain = |rib: &mut Rib, out_rx: &mut fox_routeserver::rib::OutReceiver| {
        let mut n = 0;
        loop {
            let mut got = false;
            while let Some(b) = out_rx.try_recv() {
                got = true;
                n += b.changes.len();
            }
            if !got {
                break n;
            }
            rib.flush();
        }
    };
    drain(&mut rib, &mut out_rx);

    // Group the table as the sender would pack it.
    let mut groups: std::collections::HashMap<_, Vec<ipnet::IpNet>> =
        std::collections::HashMap::new();
    for (prefix, a) in table.routes {
        if prefix.addr().is_ipv4() {
            groups.entry(a).or_default().push(prefix);
        }
    }
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut paths = 0usize;
    let mut exported = 0usize;
    for (a, prefixes) in groups {
        paths += prefixes.len();
        let attrs = PathAttrs {
            origin: a.origin,
            as_path: a.as_path,
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)),
            med: a.med,
            local_pref: None,
            atomic_aggregate: a.atomic_aggregate,
            aggregator: a.aggregator,
            communities: a.communities,
            ext_communities: vec![],
            large_communities: a.large_communities,
            otc: None,
            unknown: vec![],
        };
        for chunk in prefixes.chunks(64) {
            let update = Update {
                announced: vec![(attrs.clone(), chunk.to_vec())],
                ..Update::default()
            };
            rib.handle(RibMsg::Update {
                peer: 0,
                update,
                received: Instant::now(),
            });
        }
        rib.flush();
        exported += drain(&mut rib, &mut out_rx);
    }
    let load = t.elapsed().as_secs_f64();
    let st = &rib.peers()[0];
    println!(
        "sender: received {:?} accepted {:?}; receiver advertised {:?} established {}",
        st.received,
        st.accepted,
        rib.peers()[1].advertised,
        rib.peers()[1].established
    );
    let rss1 = rss_kib();
    println!(
        "loaded {paths} paths in {load:.2} s ({:.0} paths/s), {exported} exported; RSS +{} MiB ({} bytes/path)",
        paths as f64 / load,
        (rss1 - rss0) / 1024,
        (rss1 - rss0) * 1024 / paths.max(1) as u64
    );
    let t = Instant::now();
    rib.handle(RibMsg::Vrps(Arc::new(a)));
    rib.flush();
    let changed = drain(&mut rib, &mut out_rx);
    println!(
        "first VRP set (whole table revalidated): {:.2} s, {changed} exports changed",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    rib.handle(RibMsg::Vrps(Arc::new(b)));
    rib.flush();
    let changed = drain(&mut rib, &mut out_rx);
    println!(
        "VRP change 09:31Z -> 10:01Z (diff only): {:.3} s, {changed} exports changed",
        t.elapsed().as_secs_f64()
    );
}
