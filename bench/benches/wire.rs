//! Criterion micro-benchmarks of the fox-routeserver UPDATE codec on a real table: decode
//! every UPDATE of a pre-encoded full-table stream, and encode it from the decoded form.

use std::hint::black_box;
use std::path::PathBuf;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fox_bench::table::{self, CleanRules, Split};
use fox_routeserver::wire::{decode, encode_announcements, Message, SessionCaps, Update};

fn data_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/mrt/bgpdump/updates.et-header.2015.gz")
}

/// The first 100k prefixes of the real table as one sender's UPDATE stream, split into messages.
fn stream() -> Option<(Vec<Vec<u8>>, usize)> {
    let path = data_file();
    if !path.exists() {
        println!("SKIPPED wire benches: {} is missing", path.display());
        return None;
    }
    let rules = CleanRules {
        rs_asn: 64500,
        participants: vec![],
        drop_transit_free: false,
        peering_lan: "192.0.2.0/24".parse().ok()?,
        vrps: None,
    };
    let t = table::load(&path, &rules, Some(100_000)).ok()?;
    let share = table::share(&t, Split::All, 0, 1);
    let enc = table::encode(
        &share,
        399_991,
        "192.0.2.11".parse().ok()?,
        &SessionCaps::default(),
    );
    let mut msgs = Vec::new();
    let mut rest = &enc.bytes[..];
    while rest.len() >= 19 {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        msgs.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    Some((msgs, enc.prefixes))
}

fn bench_wire(c: &mut Criterion) {
    let Some((msgs, prefixes)) = stream() else {
        return;
    };
    let caps = SessionCaps::default();
    let updates: Vec<Update> = msgs
        .iter()
        .filter_map(|m| match decode(m, &caps) {
            Ok(Message::Update(u)) => Some(u),
            _ => None,
        })
        .collect();
    let mut g = c.benchmark_group("update_100k_prefixes");
    g.throughput(Throughput::Elements(prefixes as u64));
    g.sample_size(20);
    g.bench_function("decode", |b| {
        b.iter(|| {
            for m in &msgs {
                let _ = black_box(decode(black_box(m), &caps));
            }
        })
    });
    g.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(4 << 20);
        b.iter(|| {
            out.clear();
            for u in &updates {
                for (attrs, nets) in &u.announced {
                    encode_announcements(attrs, nets, &caps, &mut out);
                }
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_wire);
criterion_main!(benches);
