//! A flood of garbage and truncated sFlow datagrams to the real `fox collector` binary,
//! interleaved with good ones (issue 8): the good ones keep being counted, every bad one is
//! counted in `fox_sflow_decode_errors_total`, the process stays up and answers its API, and
//! the log says so in a handful of lines, not one per datagram.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fox_collector::testdata::{datagram, flow_sample, ipv4_udp_frame};

const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
/// Bad datagrams sent in all.
const BAD: usize = 100_000;
/// One good datagram after this many bad ones.
const BAD_PER_GOOD: usize = 100;
/// Bad datagrams sent before the counters must have caught up (keeps the socket buffer from
/// overflowing, so every datagram sent is one received).
const BATCH: usize = 2_000;
/// The whole flood must be over within this.
const FLOOD_LIMIT: Duration = Duration::from_secs(240);
/// Bytes one good datagram stands for: 10 samples of a 1000-byte frame sampled 1 in 100.
const GOOD_BYTES: u64 = 10 * 100_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config(dir: &Path, sflow: u16, api: u16) -> PathBuf {
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
"#,
        data = dir.join("data").display(),
        rs_api = free_port(),
    );
    let path = dir.join("fox.yaml");
    std::fs::write(&path, text).expect("write config");
    path
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

/// Decoded datagrams and decode errors by kind, from `/metrics`.
fn counters(api: u16) -> Option<(u64, BTreeMap<String, u64>)> {
    let text = get(api, "/metrics")?;
    let mut decoded = 0;
    let mut errors = BTreeMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        if name == "fox_sflow_datagrams_total" {
            decoded = v as u64;
        } else if let Some(labels) = name.strip_prefix("fox_sflow_decode_errors_total{") {
            errors.insert(labels.trim_end_matches('}').to_owned(), v as u64);
        }
    }
    Some((decoded, errors))
}

/// Bytes M1 sent according to the collector's traffic API.
fn m1_out_bytes(api: u16) -> Option<u64> {
    let body = get(api, "/api/v1/traffic/M1")?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["out"]["bytes"].as_u64()
}

/// A small deterministic generator (xorshift), so a failure can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn good(seq: u32) -> Vec<u8> {
    let frame = ipv4_udp_frame(M1, M2, 1000);
    let samples = (0..10)
        .map(|i| flow_sample(seq * 100 + i, 100, 1, &frame, 1000))
        .collect();
    datagram("192.0.2.250".parse().expect("ip"), seq, samples)
}

/// The `i`-th bad datagram: random bytes (version word forced to something other than 5),
/// a good datagram cut short, an empty datagram, or a good header with a bad agent address type.
fn bad(i: usize, rng: &mut Rng, template: &[u8]) -> Vec<u8> {
    match i % 4 {
        0 => {
            let mut d: Vec<u8> = (0..rng.below(1_400) + 4)
                .map(|_| rng.next() as u8)
                .collect();
            d[3] = 6;
            d
        }
        1 => template[..rng.below(template.len())].to_vec(),
        2 => Vec::new(),
        _ => {
            let mut d = template.to_vec();
            d[7] = 9;
            d
        }
    }
}

/// `fox collector`'s log lines so far.
fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn garbage_flood_is_counted_and_good_datagrams_still_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sflow, api) = (free_port(), free_port());
    let cfg = config(dir.path(), sflow, api);
    let log = dir.path().join("collector.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_fox"))
        .args(["collector", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("spawn fox collector");
    let mut guard = Guard(child);
    let start = Instant::now();
    while get(api, "/api/v1/status").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the collector API did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines_before = log_lines(&log).len();

    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let template = good(0);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut sent_bad, mut sent_good, mut seq) = (0usize, 0u64, 1u32);
    let flood_start = Instant::now();
    while sent_bad < BAD {
        assert!(
            flood_start.elapsed() < FLOOD_LIMIT,
            "flood not done in {FLOOD_LIMIT:?}: {sent_bad} bad datagrams sent"
        );
        for _ in 0..BATCH {
            let d = bad(sent_bad, &mut rng, &template);
            assert!(
                fox_collector::sflow::decode(&d).is_err(),
                "bad datagram {sent_bad} decodes"
            );
            sock.send_to(&d, (Ipv4Addr::LOCALHOST, sflow))
                .expect("send bad");
            sent_bad += 1;
            if sent_bad % BAD_PER_GOOD == 0 {
                sock.send_to(&good(seq), (Ipv4Addr::LOCALHOST, sflow))
                    .expect("send good");
                seq += 1;
                sent_good += 1;
            }
        }
        // Every datagram of the batch must be accounted before the next batch goes out.
        let wait = Instant::now();
        loop {
            if let Some((decoded, errors)) = counters(api) {
                let rejected: u64 = errors.values().sum();
                if decoded == sent_good && rejected == sent_bad as u64 {
                    break;
                }
                assert!(
                    decoded <= sent_good && rejected <= sent_bad as u64,
                    "more counted than sent: {decoded} decoded, {errors:?}"
                );
                assert!(
                    wait.elapsed() < Duration::from_secs(20),
                    "after {sent_bad} bad and {sent_good} good datagrams: {decoded} decoded, {errors:?}"
                );
            }
            assert!(
                guard.0.try_wait().expect("child status").is_none(),
                "fox collector exited during the flood"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let flood_secs = flood_start.elapsed().as_secs_f64();

    assert!(
        guard.0.try_wait().expect("child status").is_none(),
        "fox collector exited"
    );
    let (decoded, errors) = counters(api).expect("/metrics answers after the flood");
    assert_eq!(decoded, sent_good);
    assert_eq!(errors.values().sum::<u64>(), BAD as u64);
    // Each kind of garbage was seen: random bytes (version), cut datagrams and empty ones
    // (truncated), a bad agent address type.
    for kind in [
        "kind=\"version\"",
        "kind=\"truncated\"",
        "kind=\"address_type\"",
    ] {
        assert!(
            errors.get(kind).is_some_and(|&n| n >= (BAD / 4) as u64),
            "{kind}: {errors:?}"
        );
    }
    // The good datagrams' traffic is all there.
    assert_eq!(m1_out_bytes(api), Some(sent_good * GOOD_BYTES));
    assert!(
        get(api, "/api/v1/status").is_some(),
        "status after the flood"
    );

    // The log: rejections said, but rate-limited (one line per 10 s at most).
    let lines = log_lines(&log);
    let rejects: Vec<&String> = lines[lines_before..]
        .iter()
        .filter(|l| l.contains("sFlow datagram rejected"))
        .collect();
    let allowed = 1 + (flood_secs / 10.0).ceil() as usize;
    println!(
        "flood: {BAD} bad + {sent_good} good datagrams in {flood_secs:.1} s; errors {errors:?}; \
         {} rejection log lines ({} log lines in all)",
        rejects.len(),
        lines.len() - lines_before
    );
    assert!(!rejects.is_empty(), "no rejection logged");
    assert!(
        rejects.len() <= allowed,
        "{} rejection lines for {flood_secs:.1} s",
        rejects.len()
    );
    assert!(lines.len() - lines_before <= allowed + 10, "{lines:?}");
}
