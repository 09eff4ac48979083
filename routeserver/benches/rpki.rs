//! RPKI timings on the real 723k-VRP sets: file load, validation, diff,
//! union, heap size; and a full RTR sync from StayRTR when it is installed.
//! Run: `cargo bench -p fox-routeserver --bench rpki`.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use fox_routeserver::rpki::{load_vrp_file, RpkiConfig, RpkiManager, RpkiState, VrpSet};
use ipnet::IpNet;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/rpki");
    let old_p = dir.join("rpkiclient_20250720T093135Z.json.bz2");
    let new_p = dir.join("rpkiclient_20250720T100145Z.json.bz2");
    if !new_p.exists() {
        eprintln!("skipped: {} missing", new_p.display());
        return;
    }
    let t = Instant::now();
    let mut raw = Vec::new();
    bzip2::read::MultiBzDecoder::new(std::fs::File::open(&new_p).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let bz = t.elapsed();
    let plain = std::env::temp_dir().join(format!("fox-rpki-bench-{}.json", std::process::id()));
    std::fs::write(&plain, &raw).unwrap();
    // StayRTR drops VRPs whose "expires" has passed (all of 2025's by now):
    // move them ~30 years ahead (StayRTR reads u32) for the RTR part of this benchmark only.
    let fresh = String::from_utf8_lossy(&raw).replace("\"expires\": 1", "\"expires\": 2");
    let served =
        std::env::temp_dir().join(format!("fox-rpki-bench-served-{}.json", std::process::id()));
    std::fs::write(&served, fresh).unwrap();
    drop(raw);
    let t = Instant::now();
    let f = load_vrp_file(&plain).unwrap();
    let json = t.elapsed();
    let t = Instant::now();
    let new = load_vrp_file(&new_p).unwrap().set;
    let total = t.elapsed();
    println!("bz2 decompress: {bz:?}; load plain JSON (parse + build): {json:?}; load .json.bz2 end to end: {total:?}");
    println!(
        "VrpSet: {} VRPs ({} v4, {} v6), heap {:.1} MiB ({:.1} bytes/VRP); peak RSS so far {:.0} MiB",
        new.len(),
        new.len_v4(),
        new.len_v6(),
        new.heap_bytes() as f64 / 1048576.0,
        new.heap_bytes() as f64 / new.len() as f64,
        peak_rss_mib()
    );
    drop(f);

    // Validation: every VRP prefix with its own origin, a wrong origin and
    // one bit longer than maxLength.
    let routes: Vec<(IpNet, u32)> = new.iter().map(|v| (v.prefix, v.asn)).collect();
    let t = Instant::now();
    let mut counts = [0usize; 3];
    for (p, a) in &routes {
        for origin in [Some(*a), Some(a.wrapping_add(1)), None] {
            counts[match new.validate(p, origin) {
                RpkiState::Valid => 0,
                RpkiState::Invalid => 1,
                RpkiState::NotFound => 2,
            }] += 1;
        }
    }
    let el = t.elapsed();
    let n = routes.len() * 3;
    println!(
        "validate: {n} lookups in {el:?} = {:.0} ns/lookup ({:.2} M/s); valid/invalid/not-found {counts:?}",
        el.as_nanos() as f64 / n as f64,
        n as f64 / el.as_secs_f64() / 1e6
    );
    let misses: Vec<IpNet> = (0..200_000u32)
        .map(|i| {
            IpNet::new(
                std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761)).into(),
                24,
            )
            .unwrap()
            .trunc()
        })
        .collect();
    let t = Instant::now();
    let nf = misses
        .iter()
        .filter(|p| new.validate(p, Some(64496)) == RpkiState::NotFound)
        .count();
    let el = t.elapsed();
    println!(
        "validate pseudo-random /24s: {:.0} ns/lookup ({nf} of {} not-found)",
        el.as_nanos() as f64 / misses.len() as f64,
        misses.len()
    );

    let old = load_vrp_file(&old_p).unwrap().set;
    let t = Instant::now();
    let d = VrpSet::diff(&old, &new);
    println!("diff(old, new): {} prefixes in {:?}", d.len(), t.elapsed());
    let t = Instant::now();
    let u = VrpSet::union([&old, &new]);
    println!("union(old, new): {} VRPs in {:?}", u.len(), t.elapsed());
    println!("peak RSS {:.0} MiB", peak_rss_mib());

    rtr_sync(&served, new.len());
    let _ = std::fs::remove_file(&plain);
    let _ = std::fs::remove_file(&served);
}

/// Full RTR sync of the global set from StayRTR through the manager.
fn rtr_sync(json: &Path, want: usize) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let child = std::process::Command::new("stayrtr")
        .args([
            "-bind",
            &bind,
            "-checktime=false",
            "-metrics.addr",
            "",
            "-cache",
        ])
        .arg(json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        println!("RTR sync: skipped (stayrtr not runnable)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // StayRTR parses the file before it listens.
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(&bind).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let reg = prometheus::Registry::new();
        let cfg = RpkiConfig {
            rtr: vec![bind.parse().unwrap()],
            ..RpkiConfig::default()
        };
        let t = Instant::now();
        let (_m, mut rx) = RpkiManager::start(cfg, &reg).unwrap();
        let r =
            tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|s| s.len() == want)).await;
        match r {
            Ok(Ok(_)) => println!("RTR sync of {want} VRPs from StayRTR: {:?}", t.elapsed()),
            _ => println!("RTR sync: did not complete within 120 s"),
        }
    });
    let _ = child.kill();
    let _ = child.wait();
}
