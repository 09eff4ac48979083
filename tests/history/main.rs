//! The history store under the real `fox collector` binary: `kill -9` during writes loses
//! at most the last batch and the store opens cleanly; an unwritable data directory is a
//! clear error while the collector keeps answering its API and counting sFlow.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fox_collector::testdata::{datagram, flow_sample, ipv4_udp_frame};
use fox_history::HistoryStore;

const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
/// Bytes one sample stands for: a 1000-byte frame sampled 1 in 100.
const SAMPLE_BYTES: u64 = 100_000;
const SAMPLES_PER_DATAGRAM: usize = 10;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config(dir: &Path, data: &Path, sflow: u16, api: u16) -> PathBuf {
    let text = format!(
        r#"exchange: {{ name: TEST, data_dir: "{data}" }}
sites: [{{ id: a, name: Site A }}]
peering_lans: [{{ name: v4, prefix: 192.0.2.0/24 }}]
route_servers:
  - {{ name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a, api: "127.0.0.1:{rs_api}" }}
members:
  - {{ name: M1, asn: 65001, connections: [{{ site: a, ipv4: 192.0.2.11, macs: ["02:00:00:00:00:11"] }}] }}
  - {{ name: M2, asn: 65002, connections: [{{ site: a, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }}] }}
collector:
  sflow_listen: ["127.0.0.1:{sflow}"]
  api: "127.0.0.1:{api}"
history:
  batch_interval: 1s
"#,
        data = data.display(),
        rs_api = free_port(),
    );
    let path = dir.join("fox.yaml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// `fox collector` with `config`, as `nobody` when `as_nobody`.
fn spawn(config: &Path, as_nobody: bool) -> Child {
    let fox = env!("CARGO_BIN_EXE_fox");
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            fox,
        ]);
        c
    } else {
        Command::new(fox)
    };
    cmd.args(["collector", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fox collector")
}

/// GET `path` from 127.0.0.1:`port`; the body of a 200 answer.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send(sock: &UdpSocket, port: u16, seq: &mut u32) -> u64 {
    let frame = ipv4_udp_frame(M1, M2, 1000);
    let samples = (0..SAMPLES_PER_DATAGRAM)
        .map(|i| flow_sample(*seq * 100 + i as u32, 100, 1, &frame, 1000))
        .collect();
    let d = datagram("192.0.2.250".parse().expect("ip"), *seq, samples);
    *seq += 1;
    sock.send_to(&d, (Ipv4Addr::LOCALHOST, port))
        .expect("send sFlow");
    SAMPLE_BYTES * SAMPLES_PER_DATAGRAM as u64
}

/// Bytes M1 sent according to the store (0 when it cannot be read yet).
fn stored(path: &Path) -> u64 {
    HistoryStore::open_read_only(path)
        .and_then(|s| s.traffic_minutes(Some(65001), 0, i64::MAX))
        .map(|rows| rows.iter().map(|r| r.bytes_out).sum())
        .unwrap_or(0)
}

/// Bytes M1 sent according to the collector's live counters.
fn live(api: u16) -> u64 {
    get(api, "/api/v1/traffic/M1")
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["out"]["bytes"].as_u64())
        .unwrap_or(0)
}

#[test]
fn kill_9_loses_at_most_the_last_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let db = data.join("history.sqlite");
    let (sflow, api) = (free_port(), free_port());
    let cfg = config(dir.path(), &data, sflow, api);
    let mut child = spawn(&cfg, false);
    wait_for("the collector API", Duration::from_secs(30), || {
        get(api, "/api/v1/status").is_some()
    });
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut seq = 1u32;
    // Phase 1: bursts, each confirmed in the store before the next.
    let mut committed = 0u64;
    for _ in 0..3 {
        for _ in 0..20 {
            committed += send(&sock, sflow, &mut seq);
        }
        wait_for("a burst in the store", Duration::from_secs(20), || {
            stored(&db) == committed
        });
    }
    // Phase 2: steady load (about 200 datagrams a second), killed at an arbitrary moment.
    let mut log: Vec<(Instant, u64)> = Vec::new();
    let start = Instant::now();
    let kill_after = Duration::from_millis(2_500 + u64::from(std::process::id() % 1000));
    let mut sent_b = 0u64;
    while start.elapsed() < kill_after {
        sent_b += send(&sock, sflow, &mut seq);
        log.push((Instant::now(), sent_b));
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let the collector count what is in flight, then SIGKILL (std's kill) mid-stream.
    wait_for("the live counters", Duration::from_secs(10), || {
        live(api) == committed + sent_b
    });
    for _ in 0..50 {
        send(&sock, sflow, &mut seq);
    }
    child.kill().expect("kill -9");
    let killed = Instant::now();
    let _ = child.wait();

    let s = HistoryStore::open(&db).expect("the store opens after kill -9");
    assert_eq!(s.integrity_check(), Ok(()));
    let total = stored(&db);
    assert!(
        total >= committed,
        "lost committed data: {total} < {committed}"
    );
    // Everything counted before the last two batch intervals (1 s each, plus the feed's
    // tick alignment) is in the store: only the last batch is missing.
    let before = log
        .iter()
        .rev()
        .find(|(t, _)| killed.duration_since(*t) > Duration::from_millis(3_000))
        .map_or(0, |(_, b)| *b);
    assert!(
        total >= committed + before,
        "store {total} lacks more than the last batch: committed {committed}, sent 3 s before the kill {before}"
    );
    assert!(total <= committed + sent_b + 50 * SAMPLE_BYTES * SAMPLES_PER_DATAGRAM as u64);
    assert_eq!(total % SAMPLE_BYTES, 0, "a partial datagram in the store");
    drop(s);

    // Restarted on the same file, it writes again.
    let mut child = spawn(&cfg, false);
    wait_for("the restarted collector", Duration::from_secs(30), || {
        get(api, "/api/v1/status").is_some()
    });
    let extra = (0..10).map(|_| send(&sock, sflow, &mut seq)).sum::<u64>();
    wait_for("writes after restart", Duration::from_secs(20), || {
        stored(&db) == total + extra
    });
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn unwritable_data_directory_is_reported_and_the_collector_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    for (p, mode) in [(dir.path(), 0o755), (data.as_path(), 0o555)] {
        let mut perm = std::fs::metadata(p).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
        std::fs::set_permissions(p, perm).expect("chmod");
    }
    // Root ignores directory permissions: run the collector as nobody then.
    let as_nobody = std::fs::write(data.join("probe"), b"").is_ok();
    let _ = std::fs::remove_file(data.join("probe"));
    let (sflow, api) = (free_port(), free_port());
    let cfg = config(dir.path(), &data, sflow, api);
    let mut child = spawn(&cfg, as_nobody);
    wait_for("the collector API", Duration::from_secs(30), || {
        get(api, "/api/v1/status").is_some()
    });
    wait_for("a history error", Duration::from_secs(20), || {
        get(api, "/api/v1/history")
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["errors"].as_u64().unwrap_or(0) >= 1)
    });
    let h: serde_json::Value =
        serde_json::from_str(&get(api, "/api/v1/history").expect("history status")).expect("json");
    let err = h["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("not writable"), "{h}");
    assert!(err.contains(&data.display().to_string()), "{h}");
    // sFlow is still counted and served.
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut seq = 1;
    let sent: u64 = (0..5).map(|_| send(&sock, sflow, &mut seq)).sum();
    wait_for("live counters", Duration::from_secs(10), || {
        live(api) == sent
    });
    let metrics = get(api, "/metrics").expect("metrics");
    let errors = metrics
        .lines()
        .find_map(|l| l.strip_prefix("fox_history_write_errors_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("fox_history_write_errors_total in /metrics");
    assert!(errors >= 1.0, "{errors}");
    assert!(
        child.try_wait().expect("status").is_none(),
        "collector exited"
    );
    assert!(!data.join("history.sqlite").exists());
    let _ = child.kill();
    let mut log = String::new();
    let _ = child.stdout.take().map(|mut e| e.read_to_string(&mut log));
    let _ = child.wait();
    // Logged once (not once per batch) while the error stays the same.
    assert_eq!(
        log.matches("history store write failed").count(),
        1,
        "{log}"
    );
}
