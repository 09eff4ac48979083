//! The RTR client against a real StayRTR: initial sync, serial updates,
//! version fallback, keeping data when the cache goes away, expiry, and
//! failover between two caches.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fox_routeserver::rpki::{load_vrp_file, RpkiConfig, RpkiManager, RtrCache, Vrp, VrpSet};
use prometheus::Registry;
use tokio::sync::watch;

const STAYRTR: &str = "stayrtr";

/// A scratch directory, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "fox-rpki-rtr-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A StayRTR process; killed on drop.
struct StayRtr {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl StayRtr {
    fn start(port: u16, cache: &Path, log: &Path, extra: &[&str]) -> Option<Self> {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let logf = std::fs::File::create(log).unwrap();
        let child = Command::new(STAYRTR)
            .args(["-bind", &addr.to_string(), "-cache"])
            .arg(cache)
            .args([
                "-checktime=false",
                "-metrics.addr",
                "",
                "-refresh",
                "1",
                "-loglevel",
                "debug",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipped: cannot run {STAYRTR}: {e}");
                return None;
            }
        };
        let s = StayRtr {
            child,
            addr,
            log: log.to_path_buf(),
        };
        for _ in 0..100 {
            if TcpStream::connect(addr).is_ok() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("stayrtr did not listen on {addr}: {}", s.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for StayRtr {
    fn drop(&mut self) {
        self.stop();
    }
}

fn v(p: &str, m: u8, a: u32) -> Vrp {
    Vrp::new(p.parse().unwrap(), m, a).unwrap()
}

/// Writes `vrps` as an rpki-client JSON file (atomically, via rename).
fn write_vrps(path: &Path, vrps: &[Vrp]) {
    let roas: Vec<String> = vrps
        .iter()
        .map(|v| {
            format!(
                r#"{{"asn": {}, "prefix": "{}", "maxLength": {}, "ta": "test", "expires": 4102444800}}"#,
                v.asn, v.prefix, v.max_len
            )
        })
        .collect();
    let body = format!(
        "{{\"metadata\": {{\"buildtime\": \"2025-07-20T10:01:43Z\"}},\n\"roas\": [\n{}\n]}}\n",
        roas.join(",\n")
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn set_of(vrps: &[Vrp]) -> VrpSet {
    vrps.iter().copied().collect()
}

/// Waits (bounded) until the published set equals `want`.
async fn wait_set(rx: &mut watch::Receiver<Arc<VrpSet>>, want: &VrpSet, secs: u64, what: &str) {
    let ok = tokio::time::timeout(Duration::from_secs(secs), rx.wait_for(|s| **s == *want))
        .await
        .is_ok_and(|r| r.is_ok());
    if !ok {
        let have = rx.borrow().len();
        panic!(
            "{what}: set did not become the expected {} VRPs within {secs}s (have {have})",
            want.len()
        );
    }
}

/// Reads a gauge/counter value with one label from the registry.
fn metric(reg: &Registry, name: &str, label: &str) -> Option<f64> {
    reg.gather()
        .iter()
        .find(|f| f.name() == name)
        .and_then(|f| {
            let gauge = f.get_field_type() == prometheus::proto::MetricType::GAUGE;
            f.get_metric()
                .iter()
                .find(|m| m.get_label().iter().any(|l| l.value() == label))
                .map(|m| {
                    if gauge {
                        m.get_gauge().get_value()
                    } else {
                        m.get_counter().get_value()
                    }
                })
        })
}

async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 10 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {secs}s waiting for {what}");
}

fn start(
    caches: &[SocketAddr],
    files: &[PathBuf],
) -> (RpkiManager, watch::Receiver<Arc<VrpSet>>, Registry) {
    let reg = Registry::new();
    let cfg = RpkiConfig {
        rtr: caches.iter().map(|a| RtrCache::from(*a)).collect(),
        files: files.to_vec(),
        file_poll_interval: Duration::from_millis(500),
    };
    let (m, rx) = RpkiManager::start(cfg, &reg).unwrap();
    (m, rx, reg)
}

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/rpki")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpki_sync_serial_update_and_cache_loss() {
    let dir = TmpDir::new("sync");
    let src = data_file("stayrtr-test.rpki.json");
    if !src.exists() {
        eprintln!("skipped: {} missing", src.display());
        return;
    }
    let served = dir.0.join("served.json");
    std::fs::copy(&src, &served).unwrap();
    let Some(mut cache) = StayRtr::start(free_port(), &served, &dir.0.join("log"), &[]) else {
        return;
    };
    let (mgr, mut rx, reg) = start(&[cache.addr], &[]);

    // The set that arrives over RTR equals what our file loader reads, minus
    // the ASPAs: this StayRTR sends the ASPA PDU of draft-ietf-sidrops-8210bis-10
    // (AFI flags and a provider count before the customer ASN), the `rpki`
    // crate reads the later layout, so the customer comes out as 0x01000004
    // in a withdrawal inside a reset. The client then ignores this cache's
    // ASPAs and keeps its VRPs and the session (rtr_target.rs).
    let want = load_vrp_file(&src)
        .unwrap()
        .set
        .with_aspas(fox_routeserver::aspa::AspaSet::new());
    assert_eq!(want.len(), 19);
    wait_set(&mut rx, &want, 15, "initial sync").await;
    let name = cache.addr.to_string();
    assert_eq!(metric(&reg, "fox_rpki_cache_up", &name), Some(1.0));
    // StayRTR 0.6+ speaks version 2 (8210bis), so no downgrade happens.
    assert_eq!(
        metric(&reg, "fox_rpki_cache_protocol_version", &name),
        Some(2.0)
    );
    assert_eq!(
        metric(&reg, "fox_rpki_vrps", &format!("rtr:{name}")),
        Some(19.0)
    );
    assert!(mgr.status().caches[0].up && mgr.status().caches[0].active);

    // Change the served file: one VRP more, one fewer.
    let mut vrps: Vec<Vrp> = want.iter().skip(1).collect();
    vrps.push(v("203.0.113.0/24", 24, 64500));
    write_vrps(&served, &vrps);
    wait_set(&mut rx, &set_of(&vrps), 15, "serial update").await;
    let log = cache.log_text();
    assert!(
        log.contains("Received PDU Serial Query"),
        "update was not a serial query:\n{log}"
    );
    assert_eq!(log.matches("Received PDU Reset Query").count(), 1, "{log}");

    // Stop the cache: it is reported down, and the last set is kept.
    cache.stop();
    wait_until(10, "cache down", || {
        metric(&reg, "fox_rpki_cache_up", &name) == Some(0.0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(**rx.borrow(), set_of(&vrps));
    assert!(!mgr.status().caches[0].up);
    assert_eq!(mgr.status().vrps, vrps.len());
    assert!(
        metric(&reg, "fox_rpki_source_errors_total", &format!("rtr:{name}")).unwrap_or(0.0) >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpki_version_fallback_to_v1_and_v0() {
    for version in [1u8, 0] {
        let dir = TmpDir::new("ver");
        let served = dir.0.join("served.json");
        let vrps = [v("192.0.2.0/24", 24, 64496), v("2001:db8::/32", 48, 64497)];
        write_vrps(&served, &vrps);
        let p = version.to_string();
        let Some(cache) =
            StayRtr::start(free_port(), &served, &dir.0.join("log"), &["-protocol", &p])
        else {
            return;
        };
        let (_mgr, mut rx, reg) = start(&[cache.addr], &[]);
        wait_set(
            &mut rx,
            &set_of(&vrps),
            20,
            &format!("sync with a v{version} cache"),
        )
        .await;
        let got = metric(
            &reg,
            "fox_rpki_cache_protocol_version",
            &cache.addr.to_string(),
        );
        assert_eq!(got, Some(f64::from(version)), "log:\n{}", cache.log_text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpki_data_expires_after_cache_expire_interval() {
    let dir = TmpDir::new("exp");
    let served = dir.0.join("served.json");
    let vrps = [v("192.0.2.0/24", 24, 64496)];
    write_vrps(&served, &vrps);
    let file = dir.0.join("local.csv");
    std::fs::write(
        &file,
        "ASN,IP Prefix,Max Length\nAS64511,198.51.100.0/24,24\n",
    )
    .unwrap();
    let extra = ["-rtr.expire", "3", "-rtr.retry", "1"];
    let Some(mut cache) = StayRtr::start(free_port(), &served, &dir.0.join("log"), &extra) else {
        return;
    };
    let (_mgr, mut rx, reg) = start(&[cache.addr], std::slice::from_ref(&file));
    let both = set_of(&[vrps[0], v("198.51.100.0/24", 24, 64511)]);
    wait_set(&mut rx, &both, 15, "cache + file").await;
    cache.stop();
    // After the 3 s expire interval only the file's VRP is left.
    wait_set(
        &mut rx,
        &set_of(&[v("198.51.100.0/24", 24, 64511)]),
        15,
        "expiry",
    )
    .await;
    assert_eq!(
        metric(
            &reg,
            "fox_rpki_cache_expired_total",
            &cache.addr.to_string()
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpki_failover_to_second_cache_and_back() {
    let dir = TmpDir::new("fo");
    let (fa, fb) = (dir.0.join("a.json"), dir.0.join("b.json"));
    let va = [v("192.0.2.0/24", 24, 64496), v("2001:db8::/32", 32, 64496)];
    let vb = [v("198.51.100.0/24", 24, 64497)];
    write_vrps(&fa, &va);
    write_vrps(&fb, &vb);
    let port_a = free_port();
    let Some(mut a) = StayRtr::start(port_a, &fa, &dir.0.join("loga"), &[]) else {
        return;
    };
    let Some(b) = StayRtr::start(free_port(), &fb, &dir.0.join("logb"), &[]) else {
        return;
    };
    let (mgr, mut rx, reg) = start(&[a.addr, b.addr], &[]);
    wait_set(&mut rx, &set_of(&va), 15, "preferred cache").await;
    let (na, nb) = (a.addr.to_string(), b.addr.to_string());
    wait_until(10, "standby cache up", || {
        metric(&reg, "fox_rpki_cache_up", &nb) == Some(1.0)
    })
    .await;
    assert_eq!(metric(&reg, "fox_rpki_cache_active", &na), Some(1.0));

    a.stop();
    wait_set(&mut rx, &set_of(&vb), 10, "failover to the second cache").await;
    assert_eq!(metric(&reg, "fox_rpki_cache_active", &nb), Some(1.0));
    assert!(mgr.status().caches[1].active);

    // The preferred cache returns on the same port: back to it.
    let Some(_a2) = StayRtr::start(port_a, &fa, &dir.0.join("loga2"), &[]) else {
        return;
    };
    wait_set(&mut rx, &set_of(&va), 40, "back to the preferred cache").await;
    assert_eq!(metric(&reg, "fox_rpki_cache_active", &na), Some(1.0));
    drop(b);
}
