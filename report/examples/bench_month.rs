//! Benchmark (not a test): writes a month of minute data for N members into a fresh store,
//! then times the report (computation, HTML, JSON).
//!
//! `cargo run --release -p fox-report --example bench_month -- [members] [dir]`

use std::time::Instant;

use fox_history::{HistoryBatch, HistoryStore, SessionEvent};
use fox_report::model::Targets;
use fox_report::{build, to_html, Layout, LayoutMember, Options, Period};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let members: u32 = args.next().map_or(Ok(100), |a| a.parse())?;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("fox-report-bench-{members}")),
    };
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("history.sqlite");
    let sites = ["hc", "tc", "tn"];
    let layout = Layout {
        exchange: "FOX".into(),
        sites: sites
            .iter()
            .map(|s| (s.to_string(), s.to_uppercase()))
            .collect(),
        members: (0..members)
            .map(|i| LayoutMember {
                name: format!("M{i}"),
                asn: 64_512 + i,
                sites: vec![sites[i as usize % 3].to_string()],
            })
            .collect(),
    };
    let p = Period::parse("2026-10", "Asia/Taipei")?;
    let fresh = !path.exists();
    let mut store = HistoryStore::open(&path)?;
    if fresh {
        let t = Instant::now();
        let mut rows = 0u64;
        let mut first = HistoryBatch::new();
        for m in &layout.members {
            for rs in ["rs1", "rs2"] {
                first.session_event(SessionEvent {
                    ts: p.from() - 60,
                    rs: rs.into(),
                    asn: m.asn,
                    neighbor: format!("n{}", m.asn),
                    up: true,
                    reason: String::new(),
                });
            }
        }
        store.write_batch(&first)?;
        for day in 0..i64::from(p.days()) {
            // One batch per hour, as the collector's writer would commit at most.
            for hour in 0..24 {
                let mut b = HistoryBatch::new();
                for min in 0..60 {
                    let ts = p.from() + ((day * 24 + hour) * 60 + min) * 60;
                    let k = (ts / 60) as u64;
                    for (i, m) in layout.members.iter().enumerate() {
                        let v = 1_000_000 + (k * 7 + i as u64 * 13) % 500_000;
                        b.add_traffic(m.asn, 4, ts, v, v / 2, v / 1000, v / 2000);
                        b.add_traffic(m.asn, 6, ts, v / 4, v / 8, v / 4000, v / 8000);
                        // Five peers each.
                        for j in 1..=5u32 {
                            let dst = 64_512 + (i as u32 + j) % members;
                            b.add_pair(m.asn, dst, ts, v / 5, v / 5000);
                        }
                        b.add_probe_result(
                            &format!("{}-{}", sites[i % 3], m.name),
                            ts + 1,
                            Some(3_000 + (k % 2000) as u32),
                        );
                    }
                    for a in sites {
                        for c in sites {
                            if a != c {
                                b.add_probe_result(
                                    &format!("{a}-{c}"),
                                    ts + 1,
                                    Some(4_000 + (k % 1000) as u32),
                                );
                            }
                        }
                    }
                }
                rows += b.samples();
                store.write_batch(&b)?;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "wrote {rows} samples in {secs:.1} s ({:.0} samples/s)",
            rows as f64 / secs
        );
    }
    drop(store);
    let store = HistoryStore::open_read_only(&path)?;
    let opts = Options {
        period: p,
        site: None,
        member: None,
        targets: Targets::default(),
    };
    for run in 0..3 {
        let t = Instant::now();
        let r = build(&store, &layout, &opts)?;
        let built = t.elapsed().as_secs_f64();
        let html = to_html(&r)?;
        let total = t.elapsed().as_secs_f64();
        let json = serde_json::to_string(&r)?;
        println!(
            "run {run}: {members} members, {} paths: report computed in {built:.2} s, with HTML ({} kB) {total:.2} s; JSON {} kB",
            r.paths.len(),
            html.len() / 1024,
            json.len() / 1024
        );
    }
    let size = std::fs::metadata(&path)?.len();
    println!("store {} MB at {}", size / 1_000_000, path.display());
    Ok(())
}
