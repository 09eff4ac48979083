//! The decision process for one prefix with many paths (RFC 4271 9.1.2 as a route server
//! applies it, `fox_routeserver::rib::decision::best`): the paths differ in AS_PATH length,
//! ORIGIN, neighbouring AS and MED, so every tie-break step is reached.
//! Run: `cargo bench -p fox-bench --bench decision`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fox_routeserver::policy::verdict::Verdict;
use fox_routeserver::rib::decision::{best, PeerKeys};
use fox_routeserver::rib::Path;
use fox_routeserver::wire::types::{AsPath, NextHop, Origin, PathAttrs};

/// Peers numbered 0..n with BGP identifiers and addresses derived from the number.
struct Peers;

impl PeerKeys for Peers {
    fn tie_break(&self, peer: u32) -> (u32, IpAddr) {
        let id = 0x0a00_0000 | (peer.wrapping_mul(2_654_435_761) >> 8);
        (id, IpAddr::V4(Ipv4Addr::from(0xc000_0200 | (peer & 0xff))))
    }
}

/// `n` paths from `n` members: lengths 2–5, a quarter of them through the same neighbouring
/// AS (so MED is compared), mixed ORIGIN, some tagged GRACEFUL_SHUTDOWN.
fn paths(n: u32) -> Vec<Path> {
    (0..n)
        .map(|i| {
            let first = if i % 4 == 0 { 64_600 } else { 64_600 + i };
            let len = 2 + (i.wrapping_mul(7) % 4);
            let mut asns = vec![first];
            asns.extend((1..len).map(|k| 65_000 + k + i));
            let attrs = PathAttrs {
                origin: if i % 5 == 0 {
                    Origin::Incomplete
                } else {
                    Origin::Igp
                },
                as_path: AsPath::from_sequence(asns),
                next_hop: NextHop::V4(Ipv4Addr::from(0xc000_0200 | (i & 0xff))),
                med: Some(i.wrapping_mul(13) % 50),
                local_pref: None,
                atomic_aggregate: false,
                aggregator: None,
                communities: Vec::new(),
                ext_communities: Vec::new(),
                large_communities: Vec::new(),
                otc: None,
                unknown: Vec::new(),
            };
            let verdict = Verdict {
                gshut: i % 16 == 3,
                ..Verdict::default()
            };
            Path {
                peer: i,
                verdict,
                stale: false,
                attrs: Arc::new(attrs),
            }
        })
        .collect()
}

fn bench_decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("decision");
    for n in [2u32, 8, 32, 128, 512] {
        let ps = paths(n);
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_with_input(BenchmarkId::new("best_of_paths", n), &ps, |b, ps| {
            b.iter(|| best(black_box(ps), &Peers, |_| true))
        });
        // Export to one member: its own path is not eligible (the RS never sends a member
        // its own route back), so the best is found among the others.
        g.bench_with_input(BenchmarkId::new("best_for_member", n), &ps, |b, ps| {
            b.iter(|| best(black_box(ps), &Peers, |p| p.peer != 1))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_decision);
criterion_main!(benches);
