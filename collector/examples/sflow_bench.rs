//! Benchmark (not a test): decodes and aggregates every sFlow datagram of a pcap file
//! (Ethernet/IPv4/UDP, as `bench/sflow/mkpcap.py` writes) on one core, through
//! `FabricState::ingest` (decoder, sequence tracking, member matrix, hygiene, talkers), and
//! prints datagrams and samples per second of CPU time on this thread.
//!
//! usage: cargo run --release -p fox-collector --example sflow_bench -- FILE.pcap [PASSES]

use std::time::Instant;

use anyhow::{bail, Context};
use fox_collector::fabric::MemberMap;
use fox_collector::FabricState;

/// UDP payloads of an Ethernet pcap with IPv4 (optionally VLAN-tagged) UDP frames.
fn payloads(d: &[u8]) -> anyhow::Result<Vec<&[u8]>> {
    let le = match d.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) | Some([0x4d, 0x3c, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) | Some([0xa1, 0xb2, 0x3c, 0x4d]) => false,
        _ => bail!("not a pcap file"),
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = d.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    if u32_at(20) != Some(1) {
        bail!("not an Ethernet pcap");
    }
    let mut out = Vec::new();
    let mut off = 24;
    while let Some(incl) = u32_at(off + 8) {
        let start = off + 16;
        let Some(f) = d.get(start..start + incl as usize) else {
            break;
        };
        off = start + incl as usize;
        let mut p = 12;
        while f.get(p..p + 2) == Some(&[0x81, 0x00]) {
            p += 4;
        }
        if f.get(p..p + 2) != Some(&[0x08, 0x00]) || f.get(p + 2 + 9) != Some(&17) {
            continue;
        }
        let ihl = usize::from(f.get(p + 2).copied().unwrap_or(0) & 0x0f) * 4;
        if let Some(pl) = f.get(p + 2 + ihl + 8..) {
            out.push(pl);
        }
    }
    Ok(out)
}

/// CPU time of this thread, seconds.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .context("usage: sflow_bench FILE.pcap [PASSES]")?;
    let passes: u32 = args.get(2).map_or(Ok(4), |s| s.parse())?;
    let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let dgrams = payloads(&data)?;
    let cfg = fox_config::parse(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/fox.yaml"))?,
        "configs/fox.yaml",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut st = FabricState::new(MemberMap::from_config(&cfg));
    let (wall, cpu) = (Instant::now(), thread_cpu());
    for _ in 0..passes {
        for d in &dgrams {
            let _ = st.ingest(d, 1_795_000_000);
        }
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), thread_cpu() - cpu);
    let samples = st.stats.flow_samples + st.stats.counter_samples + st.stats.unknown_samples;
    let n = dgrams.len() as f64 * f64::from(passes);
    println!(
        "datagrams {n} samples {samples} (flow {}, counter {}, unknown {}), rejected {:?}",
        st.stats.flow_samples, st.stats.counter_samples, st.stats.unknown_samples, st.stats.errors
    );
    println!(
        "cpu {cpu:.3} s wall {wall:.3} s: {:.0} datagrams/s, {:.0} samples/s per core",
        n / cpu,
        samples as f64 / cpu
    );
    Ok(())
}
