//! `fox-sink`: R receiver sessions to a route server that only count the IPv4 prefixes they
//! hold (announced minus withdrawn) and note when each first holds the expected number.
//! Writes `--ready-file` once every session is Established; prints one JSON line and exits
//! when every session is full (exit 0) or the time limit passes (exit 2).
//!
//! With `--then-expect M` a session goes on after it is full until it holds M prefixes (the
//! route server has withdrawn what a VRP change made invalid); `--full-file` is created once
//! every session is full, so the caller knows when to change the VRPs. Exit 3: every session
//! was full but not every one reached M in time.

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use fox_bench::count::PrefixSet;
use fox_bench::session::{epoch_ns, establish, keepalive, Peer};
use fox_bench::Framer;
use fox_routeserver::wire::HEADER_LEN;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Count the prefixes a route server sends to R sessions")]
struct Args {
    /// Route server address.
    #[arg(long, default_value = "192.0.2.1")]
    rs: Ipv4Addr,
    /// Route server TCP port.
    #[arg(long, default_value_t = 179)]
    port: u16,
    /// Source addresses, one per receiver session (comma-separated).
    #[arg(long, value_delimiter = ',')]
    locals: Vec<Ipv4Addr>,
    /// ASN of each receiver (comma-separated, same order).
    #[arg(long, value_delimiter = ',')]
    asns: Vec<u32>,
    /// Prefixes each session must hold to count as full.
    #[arg(long)]
    expect: usize,
    /// Created (empty) once every session is Established.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// After being full, go on until each session holds this many prefixes.
    #[arg(long)]
    then_expect: Option<usize>,
    /// Created (empty) once every session is full (before --then-expect is reached).
    #[arg(long)]
    full_file: Option<PathBuf>,
    /// Hold time offered.
    #[arg(long, default_value_t = 240)]
    hold_time: u16,
    /// Give up if the sessions are not all established after this many seconds.
    #[arg(long, default_value_t = 30)]
    connect_timeout: u64,
    /// Give up this many seconds after the sessions are established.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() {
    match run() {
        Ok(Outcome::Done) => {}
        Ok(Outcome::NotFull) => std::process::exit(2),
        Ok(Outcome::FullOnly) => std::process::exit(3),
        Err(e) => {
            eprintln!("fox-sink: {e:#}");
            std::process::exit(1);
        }
    }
}

/// How a run ended.
enum Outcome {
    /// Every session reached every target.
    Done,
    /// Not every session was full in time.
    NotFull,
    /// Every session was full, but not every one reached --then-expect.
    FullOnly,
}

/// The targets of one session and the shared "all full" signal.
struct Targets {
    expect: usize,
    then_expect: Option<usize>,
    sessions: usize,
    full: AtomicUsize,
    full_file: Option<PathBuf>,
}

impl Targets {
    /// One more session is full; the last one creates the full file.
    fn session_full(&self) {
        if self.full.fetch_add(1, Ordering::AcqRel) + 1 == self.sessions {
            if let Some(f) = &self.full_file {
                if let Err(e) = std::fs::write(f, b"") {
                    eprintln!("fox-sink: write {}: {e}", f.display());
                }
            }
        }
    }
}

/// What one session saw.
struct SessionReport {
    json: Value,
    /// Kept open until every session is done, so one full receiver leaving does not make the
    /// route server work while the others still count.
    _stream: Option<std::net::TcpStream>,
}

fn run() -> Result<Outcome> {
    let a = Args::parse();
    let r = a.locals.len();
    if r == 0 || a.asns.len() != r {
        bail!("--locals and --asns must list the same number (at least one) of entries");
    }
    let ready = Arc::new(Barrier::new(r + 1));
    let (tx, rx) = mpsc::channel::<SessionReport>();
    let deadline_after_ready = Duration::from_secs(a.timeout);
    let targets = Arc::new(Targets {
        expect: a.expect,
        then_expect: a.then_expect,
        sessions: r,
        full: AtomicUsize::new(0),
        full_file: a.full_file.clone(),
    });
    for i in 0..r {
        let peer = Peer {
            asn: a.asns[i],
            local: a.locals[i],
            remote: a.rs,
            port: a.port,
            hold_time: a.hold_time,
        };
        let ready = Arc::clone(&ready);
        let tx = tx.clone();
        let connect = Duration::from_secs(a.connect_timeout);
        let targets = Arc::clone(&targets);
        thread::spawn(move || {
            let (json, stream) =
                match receiver(&peer, &targets, &ready, connect, deadline_after_ready) {
                    Ok((v, s)) => (v, Some(s)),
                    Err(e) => (
                        json!({"local": peer.local, "error": format!("{e:#}")}),
                        None,
                    ),
                };
            let _ = tx.send(SessionReport {
                json,
                _stream: stream,
            });
        });
    }
    drop(tx);
    ready.wait();
    let t_ready = epoch_ns();
    if let Some(f) = &a.ready_file {
        std::fs::write(f, b"").with_context(|| format!("write {}", f.display()))?;
    }
    let reports: Vec<SessionReport> = rx.iter().collect();
    let mut sessions: Vec<Value> = reports.iter().map(|s| s.json.clone()).collect();
    sessions.sort_by_key(|s| s["local"].to_string());
    let all_full = sessions.len() == r && sessions.iter().all(|s| s["full"] == true);
    let t_full = sessions
        .iter()
        .filter_map(|s| s["t_full_ns"].as_u64())
        .max();
    let t_first = sessions
        .iter()
        .filter_map(|s| s["t_first_update_ns"].as_u64())
        .min();
    let all_after = a.then_expect.is_some()
        && sessions.len() == r
        && sessions.iter().all(|s| s["after"] == true);
    let t_after = sessions
        .iter()
        .filter_map(|s| s["t_after_ns"].as_u64())
        .max();
    let span = match (t_first, t_full) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9),
        _ => None,
    };
    println!(
        "{}",
        json!({
            "event": "result", "expect": a.expect, "all_full": all_full,
            "t_ready_ns": t_ready as u64, "t_all_full_ns": t_full,
            "then_expect": a.then_expect, "all_after": all_after,
            "t_all_after_ns": if all_after { t_after } else { None },
            "first_update_to_all_full_s": span, "sessions": sessions,
        })
    );
    std::io::stdout().flush()?;
    Ok(if !all_full {
        Outcome::NotFull
    } else if a.then_expect.is_some() && !all_after {
        Outcome::FullOnly
    } else {
        Outcome::Done
    })
}

fn receiver(
    peer: &Peer,
    targets: &Targets,
    ready: &Barrier,
    connect: Duration,
    limit: Duration,
) -> Result<(Value, std::net::TcpStream)> {
    let est = match establish(peer, connect) {
        Ok(e) => e,
        Err(e) => {
            ready.wait();
            return Err(e);
        }
    };
    let mut stream = est.stream;
    // Keepalives from a second handle: this thread only reads.
    let mut ka_stream = stream.try_clone().context("clone socket")?;
    let ka_every = Duration::from_secs(u64::from(est.hold_time.max(3) / 3));
    thread::spawn(move || {
        let ka = keepalive();
        loop {
            thread::sleep(ka_every);
            if ka_stream.write_all(&ka).is_err() {
                return;
            }
        }
    });
    ready.wait();
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut set = PrefixSet::new();
    let mut framer = Framer::with(est.leftover);
    let mut buf = vec![0u8; 1 << 18];
    let (mut updates, mut announced, mut withdrawn, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut t_first_update: Option<u128> = None;
    let mut t_full: Option<u128> = None;
    let mut t_after: Option<u128> = None;
    let mut error: Option<String> = None;
    'outer: while start.elapsed() < limit {
        loop {
            let msg = match framer.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("stream out of sync: {e:?}"));
                    break 'outer;
                }
            };
            match msg[18] {
                2 => {
                    updates += 1;
                    let (n, w) = match set.apply_update(&msg[HEADER_LEN..]) {
                        Ok(c) => c,
                        Err(e) => {
                            error = Some(format!("malformed UPDATE: {}", e.0));
                            break 'outer;
                        }
                    };
                    announced += n as u64;
                    withdrawn += w as u64;
                    if n > 0 && t_first_update.is_none() {
                        t_first_update = Some(epoch_ns());
                    }
                    if t_full.is_none() && set.len() == targets.expect {
                        t_full = Some(epoch_ns());
                        targets.session_full();
                        if targets.then_expect.is_none() {
                            break 'outer;
                        }
                    }
                    if t_full.is_some() && targets.then_expect == Some(set.len()) {
                        t_after = Some(epoch_ns());
                        break 'outer;
                    }
                }
                3 => {
                    error = Some(format!(
                        "NOTIFICATION {}/{}",
                        msg.get(19).copied().unwrap_or(0),
                        msg.get(20).copied().unwrap_or(0)
                    ));
                    break 'outer;
                }
                _ => {}
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                error = Some("session closed by the route server".into());
                break;
            }
            Ok(n) => {
                bytes += n as u64;
                framer.push(&buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                error = Some(format!("read: {e}"));
                break;
            }
        }
    }
    let report = json!({
        "local": peer.local, "count": set.len(), "full": t_full.is_some(),
        "t_first_update_ns": t_first_update.map(|t| t as u64),
        "t_full_ns": t_full.map(|t| t as u64),
        "after": t_after.is_some(), "t_after_ns": t_after.map(|t| t as u64),
        "updates": updates, "announced": announced, "withdrawn": withdrawn, "bytes": bytes,
        "error": error,
    });
    Ok((report, stream))
}
