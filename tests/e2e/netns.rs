//! A small exchange built from Linux network namespaces: one bridge namespace is the peering
//! LAN, every host (route server or member) gets its own namespace attached by a veth pair.
//!
//! Names carry the test process id and a counter, so tests run in parallel without clashing;
//! `Drop` stops every process the lab started and deletes every namespace it created.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Prefix of every namespace this harness creates (used to sweep leftovers of dead runs).
const NS_PREFIX: &str = "foxe2e-";
/// Peering LAN prefix lengths.
const LAN_V4_LEN: u8 = 24;
const LAN_V6_LEN: u8 = 64;

static LAB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One host on the peering LAN: its namespace and its addresses.
#[derive(Debug, Clone)]
pub struct Host {
    /// Short name inside the lab (`rs1`, `tanet`, ...).
    pub name: String,
    /// Network namespace the host lives in.
    pub ns: String,
    /// IPv4 address on the peering LAN.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on the peering LAN.
    pub ipv6: Ipv6Addr,
    /// MAC address of the host's LAN interface (`eth0`).
    pub mac: String,
    /// Directory for this host's config files (under the test's log directory).
    pub dir: PathBuf,
    /// Short directory for control sockets and pid files (unix socket paths are limited to
    /// 108 bytes, too short for the log directory); removed with the lab.
    pub run_dir: PathBuf,
}

/// A process started inside a namespace, with its output going to the lab's log directory.
pub struct Proc {
    /// What it is, for log messages.
    pub name: String,
    child: Child,
    /// File that receives the process's stdout and stderr.
    pub log: PathBuf,
}

impl Proc {
    /// Process id (the daemon itself: `ip netns exec` execs it in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; always reaps the child.
    pub fn stop(&mut self, grace: Duration) {
        if !self.running() {
            return;
        }
        signal(self.pid(), "TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.running() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The exchange under construction: a bridge namespace plus host namespaces.
pub struct Lab {
    /// Unique id of this lab (`<pid>-<counter>`).
    pub id: String,
    /// Namespace that holds the bridge (the peering LAN).
    pub bridge_ns: String,
    /// Hosts attached so far.
    pub hosts: Vec<Host>,
    /// `target/e2e-logs/<test>/`.
    pub log_dir: PathBuf,
    namespaces: Vec<String>,
    run_dir: PathBuf,
    commands_log: Mutex<Option<File>>,
}

/// Whether we can build namespaces; prints why not and returns false otherwise.
pub fn can_run(test: &str) -> bool {
    let euid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_default();
    if euid != "0" {
        println!(
            "SKIPPED {test}: e2e tests need root (network namespaces); effective uid is {euid:?}"
        );
        return false;
    }
    true
}

impl Lab {
    /// A fresh lab for test `test`: sweeps leftovers of dead runs, creates the bridge namespace.
    pub fn new(test: &str) -> Result<Lab> {
        sweep_stale_namespaces();
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let log_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("e2e-logs")
            .join(test);
        let _ = fs::remove_dir_all(&log_dir);
        fs::create_dir_all(&log_dir).with_context(|| format!("create {}", log_dir.display()))?;
        let commands = File::create(log_dir.join("commands.log")).ok();
        let bridge_ns = format!("{NS_PREFIX}{id}-lan");
        let run_dir = std::env::temp_dir().join(format!("{NS_PREFIX}{id}"));
        let _ = fs::remove_dir_all(&run_dir);
        fs::create_dir_all(&run_dir).with_context(|| format!("create {}", run_dir.display()))?;
        let mut lab = Lab {
            id,
            bridge_ns: bridge_ns.clone(),
            hosts: Vec::new(),
            log_dir,
            namespaces: Vec::new(),
            run_dir,
            commands_log: Mutex::new(commands),
        };
        lab.add_ns(&bridge_ns)?;
        lab.run(&[
            "ip", "-n", &bridge_ns, "link", "add", "br0", "type", "bridge",
        ])?;
        lab.run(&["ip", "-n", &bridge_ns, "link", "set", "br0", "up"])?;
        Ok(lab)
    }

    fn add_ns(&mut self, ns: &str) -> Result<()> {
        self.run(&["ip", "netns", "add", ns])?;
        self.namespaces.push(ns.to_owned());
        self.run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        // New interfaces in this namespace skip duplicate address detection: v6 usable at once.
        self.exec(
            ns,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
        )?;
        Ok(())
    }

    /// Attach a host `name` (at most 12 characters) with the given LAN addresses.
    pub fn add_host(&mut self, name: &str, ipv4: Ipv4Addr, ipv6: Ipv6Addr) -> Result<Host> {
        if name.len() > 12 {
            bail!("host name {name:?} longer than 12 characters");
        }
        let ns = format!("{NS_PREFIX}{}-{name}", self.id);
        self.add_ns(&ns)?;
        let idx = self.hosts.len() + 1;
        let mac = format!("02:00:00:00:{:02x}:{:02x}", idx / 256, idx % 256);
        let port = format!("p-{name}");
        let br = self.bridge_ns.clone();
        self.run(&[
            "ip", "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            &ns,
        ])?;
        self.run(&["ip", "-n", &br, "link", "set", &port, "master", "br0"])?;
        self.run(&["ip", "-n", &br, "link", "set", &port, "up"])?;
        self.run(&["ip", "-n", &ns, "link", "set", "eth0", "address", &mac])?;
        self.exec(&ns, &["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"])?;
        self.run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
        let a4 = format!("{ipv4}/{LAN_V4_LEN}");
        let a6 = format!("{ipv6}/{LAN_V6_LEN}");
        self.run(&["ip", "-n", &ns, "addr", "add", &a4, "dev", "eth0"])?;
        self.run(&[
            "ip", "-n", &ns, "-6", "addr", "add", &a6, "dev", "eth0", "nodad",
        ])?;
        let dir = self.log_dir.join(name);
        fs::create_dir_all(&dir)?;
        let run_dir = self.run_dir.join(name);
        fs::create_dir_all(&run_dir)?;
        let host = Host {
            name: name.to_owned(),
            ns,
            ipv4,
            ipv6,
            mac,
            dir,
            run_dir,
        };
        self.hosts.push(host.clone());
        Ok(host)
    }

    fn note(&self, line: &str) {
        if let Ok(mut guard) = self.commands_log.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
    }

    /// Run a command in the root namespace; error (with its stderr) unless it succeeds.
    fn run(&self, argv: &[&str]) -> Result<Output> {
        let out = output(argv)?;
        self.note(&format!("$ {}  -> {}", argv.join(" "), out.status));
        if !out.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }

    /// Run `cmd` inside namespace `ns` and collect its output (whatever its exit status).
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> Result<Output> {
        let mut argv = vec!["ip", "netns", "exec", ns];
        argv.extend_from_slice(cmd);
        output(&argv)
    }

    /// Like `exec`, but fails unless the command exits 0; returns its stdout.
    pub fn exec_ok(&self, ns: &str, cmd: &[&str]) -> Result<String> {
        let out = self.exec(ns, cmd)?;
        self.note(&format!("[{ns}] $ {}  -> {}", cmd.join(" "), out.status));
        if !out.status.success() {
            bail!(
                "[{ns}] `{}` failed ({}): {} {}",
                cmd.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Start `cmd` inside `ns`; stdout and stderr go to `<log_dir>/<name>.log`.
    pub fn spawn(&self, ns: &str, name: &str, cmd: &[&str]) -> Result<Proc> {
        let log = self.log_dir.join(format!("{name}.log"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("open {}", log.display()))?;
        let err = file.try_clone()?;
        self.note(&format!("[{ns}] spawn {name}: {}", cmd.join(" ")));
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("spawn {name}: {}", cmd.join(" ")))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
            log,
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            kill_namespace_pids(ns);
            let _ = output(&["ip", "netns", "del", ns]);
        }
        let _ = fs::remove_dir_all(&self.run_dir);
    }
}

fn output(argv: &[&str]) -> Result<Output> {
    let (prog, args) = argv.split_first().context("empty command")?;
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {}", argv.join(" ")))
}

/// SIGKILL whatever still runs in `ns` (daemons that forked away from us).
fn kill_namespace_pids(ns: &str) {
    if let Ok(out) = output(&["ip", "netns", "pids", ns]) {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<u32>() {
                signal(pid, "KILL");
            }
        }
    }
}

/// Names under `dir` made by test processes that no longer exist (`foxe2e-<pid>-...`).
fn stale_entries(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.strip_prefix(NS_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .is_some_and(|pid| !Path::new("/proc").join(pid).exists())
        })
        .collect()
}

/// Delete namespaces and run directories left behind by test processes that died.
fn sweep_stale_namespaces() {
    for name in stale_entries(Path::new("/run/netns")) {
        kill_namespace_pids(&name);
        let _ = output(&["ip", "netns", "del", &name]);
    }
    let tmp = std::env::temp_dir();
    for name in stale_entries(&tmp) {
        let _ = fs::remove_dir_all(tmp.join(name));
    }
}

/// Call `f` every `every` until it returns true or `limit` passes; returns the last result.
pub fn poll(limit: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(every);
    }
}
