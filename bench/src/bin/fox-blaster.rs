//! `fox-blaster`: announce a real table into a route server from P sessions as fast as the
//! sockets take it. The UPDATEs are encoded before the first session opens, so the sender
//! costs next to nothing while the route server works; everything the route server sends
//! back is read and discarded. JSON lines on stdout: `plan`, then `streamed`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use fox_bench::session::{epoch_ns, establish, keepalive, Peer};
use fox_bench::table::{self, CleanRules, Encoded, Split};
use fox_bench::{vrps, Framer};
use fox_routeserver::rpki::load_vrp_file;
use fox_routeserver::wire::{SessionCaps, HEADER_LEN};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Stream a pre-encoded real table into a route server from P sessions")]
struct Args {
    /// MRT file with the table (BGP4MP updates or TABLE_DUMP_V2, gzip allowed).
    #[arg(long)]
    mrt: PathBuf,
    /// Route server address.
    #[arg(long, default_value = "192.0.2.1")]
    rs: Ipv4Addr,
    /// Route server TCP port.
    #[arg(long, default_value_t = 179)]
    port: u16,
    /// Route server ASN (routes carrying its control communities are dropped).
    #[arg(long, default_value_t = 64500)]
    rs_asn: u32,
    /// Source addresses, one per sender session (comma-separated).
    #[arg(long, value_delimiter = ',')]
    senders: Vec<Ipv4Addr>,
    /// ASN of each sender (comma-separated, same order as --senders).
    #[arg(long, value_delimiter = ',')]
    asns: Vec<u32>,
    /// Other participants' ASNs: routes with them in the path are dropped (comma-separated).
    #[arg(long, value_delimiter = ',')]
    participants: Vec<u32>,
    /// How the senders share the table.
    #[arg(long, value_enum, default_value = "stride")]
    split: Split,
    /// Use only the first N prefixes of the cleaned table.
    #[arg(long)]
    limit: Option<usize>,
    /// Also drop routes through transit-free ASNs (when the route server filters them).
    #[arg(long)]
    drop_transit_free: bool,
    /// The peering LAN.
    #[arg(long, default_value = "192.0.2.0/24")]
    lan: ipnet::Ipv4Net,
    /// VRP file the route servers validate against (any format FOX reads: rpki-client JSON,
    /// CSV, `.gz`/`.bz2`): RPKI-invalid routes are dropped so the expected count stays exact.
    #[arg(long)]
    vrps: Option<PathBuf>,
    /// With --vrps and --plan-only: write `vrps.json` (that set, for StayRTR) and
    /// `vrps-invalidate.json` (plus --invalidate VRPs) into this directory.
    #[arg(long)]
    vrps_out: Option<PathBuf>,
    /// Number of VRPs in `vrps-invalidate.json`, each turning table prefixes RPKI-invalid.
    #[arg(long, default_value_t = 1000)]
    invalidate: usize,
    /// Print the plan (expected prefixes, what was dropped) and exit.
    #[arg(long)]
    plan_only: bool,
    /// Hold time offered.
    #[arg(long, default_value_t = 240)]
    hold_time: u16,
    /// Give up if the sessions are not all established after this many seconds.
    #[arg(long, default_value_t = 30)]
    connect_timeout: u64,
    /// Give up if streaming takes longer than this many seconds.
    #[arg(long, default_value_t = 300)]
    stream_timeout: u64,
    /// After streaming, keep the sessions up this many seconds (or until killed).
    #[arg(long, default_value_t = 600)]
    linger: u64,
}

/// Bytes per write: whole messages up to this size.
const CHUNK: usize = 256 * 1024;

fn main() {
    if let Err(e) = run() {
        eprintln!("fox-blaster: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let a = Args::parse();
    let p = a.senders.len();
    if p == 0 || a.asns.len() != p {
        bail!("--senders and --asns must list the same number (at least one) of entries");
    }
    let mut participants = a.participants.clone();
    participants.extend(&a.asns);
    let t = Instant::now();
    let vrps = match &a.vrps {
        Some(f) => Some(
            load_vrp_file(f)
                .with_context(|| format!("VRP file {}", f.display()))?
                .set,
        ),
        None => None,
    };
    let rules = CleanRules {
        rs_asn: a.rs_asn,
        participants,
        drop_transit_free: a.drop_transit_free,
        peering_lan: a.lan,
        vrps,
    };
    let tbl = table::load(&a.mrt, &rules, a.limit)?;
    let rpki = match (&rules.vrps, &a.vrps_out) {
        (Some(v), Some(dir)) if a.plan_only => {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            vrps::write_json(v, &dir.join("vrps.json"))?;
            let extra = vrps::invalidating(&tbl, v, a.invalidate);
            let after = vrps::with_extra(v, &extra);
            vrps::write_json(&after, &dir.join("vrps-invalidate.json"))?;
            json!({
                "vrps": v.len(), "vrps_v4": v.len_v4(), "vrps_v6": v.len_v6(),
                "vrps_v4_prefixes": vrps::v4_prefixes(v),
                "invalidate_vrps": extra.len(),
                "invalidate_vrps_total": after.len(), "invalidate_vrps_v4": after.len_v4(),
                "expect_after_invalidate": vrps::count_ok(&tbl, &after),
            })
        }
        (Some(v), _) => json!({"vrps": v.len(), "vrps_v4": v.len_v4(), "vrps_v6": v.len_v6()}),
        (None, _) => json!(null),
    };
    let load_s = t.elapsed().as_secs_f64();
    let caps = SessionCaps::default();
    let encoded: Vec<Encoded> = (0..p)
        .map(|i| {
            let share = table::share(&tbl, a.split, i, p);
            table::encode(&share, a.asns[i], a.senders[i], &caps)
        })
        .collect();
    let paths: usize = encoded.iter().map(|e| e.prefixes).sum();
    let expect = tbl.prefixes();
    println!(
        "{}",
        json!({
            "event": "plan",
            "mrt": a.mrt,
            "routes_read": tbl.routes_read,
            "dropped": tbl.dropped,
            "attribute_groups": tbl.groups.len(),
            "prefixes_per_group": table::group_sizes(&tbl),
            "expect_per_receiver": expect,
            "paths": paths,
            "split": a.split,
            "rpki": rpki,
            "senders": encoded.iter().enumerate().map(|(i, e)| json!({
                "local": a.senders[i], "asn": a.asns[i], "prefixes": e.prefixes,
                "messages": e.messages, "bytes": e.bytes.len(),
            })).collect::<Vec<_>>(),
            "prepare_s": load_s,
        })
    );
    if a.plan_only {
        return Ok(());
    }

    let barrier = Arc::new(Barrier::new(p));
    for (i, enc) in encoded.into_iter().enumerate() {
        let peer = Peer {
            asn: a.asns[i],
            local: a.senders[i],
            remote: a.rs,
            port: a.port,
            hold_time: a.hold_time,
        };
        let barrier = Arc::clone(&barrier);
        let connect = Duration::from_secs(a.connect_timeout);
        let limit = Duration::from_secs(a.stream_timeout);
        let linger = Duration::from_secs(a.linger);
        let local = peer.local;
        thread::spawn(move || {
            if let Err(e) = sender(peer, enc, barrier, connect, limit, linger) {
                STREAMED.push(json!({"local": local, "error": format!("{e:#}")}));
            }
        });
    }
    // Every sender reports once it has streamed (or failed); its thread then keeps the
    // session alive for --linger.
    let reports = STREAMED.wait(p, Duration::from_secs(a.connect_timeout + a.stream_timeout));
    if reports.len() < p || reports.iter().any(|r| r.get("error").is_some()) {
        bail!("not every sender streamed its table: {reports:?}");
    }
    let t_first = reports
        .iter()
        .map(|s| s["t_first_ns"].as_u64().unwrap_or(0))
        .min();
    let t_last = reports
        .iter()
        .map(|s| s["t_last_ns"].as_u64().unwrap_or(0))
        .max();
    println!(
        "{}",
        json!({"event": "streamed", "t_first_ns": t_first, "t_last_ns": t_last, "senders": reports})
    );
    std::io::stdout().flush()?;
    // Linger: the sender threads keep their sessions alive until --linger runs out.
    thread::sleep(Duration::from_secs(a.linger));
    Ok(())
}

/// Per-sender reports, collected by the main thread.
struct Reports {
    list: std::sync::Mutex<Vec<serde_json::Value>>,
    cond: std::sync::Condvar,
}

static STREAMED: Reports = Reports {
    list: std::sync::Mutex::new(Vec::new()),
    cond: std::sync::Condvar::new(),
};

impl Reports {
    fn push(&self, v: serde_json::Value) {
        if let Ok(mut l) = self.list.lock() {
            l.push(v);
        }
        self.cond.notify_all();
    }

    fn wait(&self, n: usize, limit: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + limit;
        let Ok(mut l) = self.list.lock() else {
            return Vec::new();
        };
        while l.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self
                .cond
                .wait_timeout(l, left.min(Duration::from_millis(200)))
            {
                Ok((g, _)) => l = g,
                Err(_) => return Vec::new(),
            }
        }
        l.clone()
    }
}

fn sender(
    peer: Peer,
    enc: Encoded,
    barrier: Arc<Barrier>,
    connect: Duration,
    limit: Duration,
    linger: Duration,
) -> Result<()> {
    let est = match establish(&peer, connect) {
        Ok(e) => e,
        Err(e) => {
            barrier.wait();
            return Err(e);
        }
    };
    let mut stream = est.stream;
    let bytes_in = Arc::new(AtomicU64::new(0));
    let reader = stream.try_clone().context("clone socket")?;
    {
        let bytes_in = Arc::clone(&bytes_in);
        let local = peer.local;
        let leftover = est.leftover;
        thread::spawn(move || discard(reader, leftover, bytes_in, local));
    }
    let ka = keepalive();
    let ka_every = Duration::from_secs(u64::from(est.hold_time.max(3) / 3));
    barrier.wait();
    let t_first = epoch_ns();
    let start = Instant::now();
    let mut last_ka = Instant::now();
    let data = &enc.bytes[..];
    let mut pos = 0;
    while pos < data.len() {
        if start.elapsed() > limit {
            bail!("{}: streaming took longer than {limit:?}", peer.local);
        }
        let mut end = pos;
        while end < data.len() {
            let len = usize::from(u16::from_be_bytes([data[end + 16], data[end + 17]]));
            if end + len - pos > CHUNK && end > pos {
                break;
            }
            end += len.max(HEADER_LEN);
        }
        stream
            .write_all(&data[pos..end])
            .with_context(|| format!("{}: write", peer.local))?;
        pos = end;
        if last_ka.elapsed() >= ka_every {
            stream.write_all(&ka)?;
            last_ka = Instant::now();
        }
    }
    let stream_s = start.elapsed().as_secs_f64();
    STREAMED.push(json!({
        "local": peer.local, "prefixes": enc.prefixes, "messages": enc.messages,
        "bytes": data.len(), "stream_s": stream_s,
        "t_first_ns": t_first as u64, "t_last_ns": epoch_ns() as u64,
        "bytes_in_so_far": bytes_in.load(Ordering::Relaxed),
    }));
    let until = Instant::now() + linger;
    while Instant::now() < until {
        thread::sleep(ka_every.min(Duration::from_secs(1)));
        if last_ka.elapsed() >= ka_every {
            if stream.write_all(&ka).is_err() {
                break;
            }
            last_ka = Instant::now();
        }
    }
    Ok(())
}

/// Read everything the route server sends; report a NOTIFICATION or a closed session.
fn discard(mut s: TcpStream, leftover: Vec<u8>, bytes_in: Arc<AtomicU64>, local: Ipv4Addr) {
    let mut framer = Framer::with(leftover);
    let mut buf = vec![0u8; 1 << 18];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => {
                eprintln!("fox-blaster: {local}: session closed by the route server");
                return;
            }
            Ok(n) => n,
        };
        bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        framer.push(&buf[..n]);
        loop {
            match framer.next_message() {
                Ok(Some(m)) if m.get(18) == Some(&3) => {
                    eprintln!(
                        "fox-blaster: {local}: NOTIFICATION {}/{} from the route server",
                        m.get(19).copied().unwrap_or(0),
                        m.get(20).copied().unwrap_or(0)
                    );
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    eprintln!("fox-blaster: {local}: stream out of sync ({e:?})");
                    return;
                }
            }
        }
    }
}
