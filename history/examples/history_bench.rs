//! Benchmark (not a test): write rate of the store and bytes per member per month.
//!
//! `cargo run --release -p fox-history --example history_bench -- [members] [days] [pairs]`
//! (defaults 100 members, 30 days, 1000 pairs). Writes a synthetic period through the real
//! write path (one batch per minute, as the collector does), rolls it up, and prints the
//! write rate and the file size per member, per pair and per probe.

use std::path::Path;
use std::time::Instant;

use fox_history::{HistoryBatch, HistoryStore, Retention};

const T0: i64 = 1_790_000_000 / 86_400 * 86_400;

fn size(path: &Path) -> u64 {
    let wal = path.with_extension("sqlite-wal");
    std::fs::metadata(path).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

fn run(
    name: &str,
    path: &Path,
    minutes: i64,
    mut fill: impl FnMut(&mut HistoryBatch, i64),
) -> (u64, f64) {
    let mut s = HistoryStore::open(path).expect("open");
    let mut samples = 0u64;
    let start = Instant::now();
    for m in 0..minutes {
        let mut b = HistoryBatch::new();
        fill(&mut b, T0 + m * 60);
        samples += b.samples();
        s.write_batch(&b).expect("write");
    }
    let secs = start.elapsed().as_secs_f64();
    let now = T0 + minutes * 60 + 600;
    let r0 = Instant::now();
    let st = s
        .rollup(
            now,
            &Retention {
                minutes: 400 * 86_400,
                hours: 400 * 86_400,
                lag: 300,
            },
        )
        .expect("rollup");
    println!(
        "{name}: {samples} samples in {secs:.1} s = {:.0} samples/s aggregated and committed ({} batches); rollup {:.1} s, {} hour rows",
        samples as f64 / secs,
        minutes,
        r0.elapsed().as_secs_f64(),
        st.hour_rows
    );
    drop(s);
    (closed_size(path), secs)
}

/// Size after the last connection closed (the WAL is checkpointed into the file).
fn closed_size(path: &Path) -> u64 {
    let s = HistoryStore::open(path).expect("reopen");
    drop(s);
    size(path)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let members = args.first().copied().unwrap_or(100) as u32;
    let days = args.get(1).copied().unwrap_or(30) as i64;
    let pairs = args.get(2).copied().unwrap_or(1000) as u32;
    let minutes = days * 1440;
    let dir = std::env::temp_dir().join(format!("fox-history-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");

    // Traffic: every member sends and receives IPv4 and IPv6 every minute.
    let p = dir.join("traffic.sqlite");
    let (bytes, _) = run("traffic", &p, minutes, |b, ts| {
        for m in 0..members {
            let v = (ts as u64 / 60 + u64::from(m)) % 1000 + 1;
            b.add_traffic(
                65000 + m,
                4,
                ts,
                v * 1_000_000,
                v * 900_000,
                v * 900,
                v * 800,
            );
            b.add_traffic(65000 + m, 6, ts, v * 300_000, v * 200_000, v * 250, v * 150);
        }
    });
    let per_member = bytes as f64 / f64::from(members) / days as f64 * 30.0;
    println!(
        "traffic: {bytes} bytes for {members} members x {days} days = {:.2} MB per member per month (minutes + hourly rollup)",
        per_member / 1e6
    );

    // Matrix: `pairs` pairs carry traffic in every 5-minute slot.
    let p = dir.join("matrix.sqlite");
    let (mbytes, _) = run("matrix", &p, minutes, |b, ts| {
        if ts % 300 != 0 {
            return;
        }
        for i in 0..pairs {
            b.add_pair(
                65000 + i % 100,
                65100 + i / 100,
                ts,
                u64::from(i) * 1000 + 1,
                10,
            );
        }
    });
    let per_pair = mbytes as f64 / f64::from(pairs) / days as f64 * 30.0;
    println!(
        "matrix: {mbytes} bytes for {pairs} pairs x {days} days = {:.1} kB per pair per month; 10,000 pairs: {:.2} GB per month",
        per_pair / 1e3,
        per_pair * 10_000.0 / 1e9
    );

    // Probes: one target, one test packet a second, RTT spread over a few buckets.
    let p = dir.join("probe.sqlite");
    let (pbytes, _) = run("probe", &p, minutes, |b, ts| {
        for s in 0..60 {
            let rtt = 2_000 + ((ts + s) % 17) as u32 * 150;
            b.add_probe_result(
                "hsinchu-tainan",
                ts + s,
                if s == 59 && ts % 600 == 0 {
                    None
                } else {
                    Some(rtt)
                },
            );
        }
    });
    println!(
        "probe: {pbytes} bytes for one target x {days} days = {:.2} MB per probe target per month",
        pbytes as f64 / days as f64 * 30.0 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
