//! Two network namespaces `a` (10.78.N.1) and `b` (10.78.N.2) on one veth pair (`eth0` in
//! each), created by the test and removed on drop; and a way to run async code inside one.
//! Needs root and `ip`; `can_run` says why not otherwise.

#![allow(dead_code)]

pub mod tun;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

/// Runs a command; its stdout, or what failed.
pub fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `Ok` when namespaces can be made here.
pub fn can_run() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root for network namespaces".into());
    }
    sh(&["sh", "-c", "command -v ip"]).map_err(|_| "ip is not installed".to_string())?;
    Ok(())
}

/// The two namespaces.
pub struct Lab {
    prefix: String,
    /// Third octet of the addresses.
    pub net: u8,
}

impl Lab {
    /// Creates `a` and `b` joined by a veth pair, addressed 10.78.`net`.1/30 and .2/30.
    pub fn new(tag: &str, net: u8) -> Result<Lab, String> {
        let lab = Lab::bare(tag, net)?;
        sh(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            &lab.ns("a"),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &lab.ns("b"),
        ])?;
        for (n, host) in [("a", 1), ("b", 2)] {
            let addr = format!("10.78.{net}.{host}/30");
            lab.exec(n, &["ip", "addr", "add", &addr, "dev", "eth0"])?;
            lab.exec(n, &["ip", "link", "set", "eth0", "up"])?;
        }
        Ok(lab)
    }

    /// Creates `a` and `b` with only `lo` (up), not joined: the caller links them.
    pub fn bare(tag: &str, net: u8) -> Result<Lab, String> {
        let lab = Lab {
            prefix: format!("fx{}{tag}", std::process::id()),
            net,
        };
        for n in ["a", "b"] {
            sh(&["ip", "netns", "add", &lab.ns(n)])?;
            lab.exec(n, &["ip", "link", "set", "lo", "up"])?;
        }
        Ok(lab)
    }

    /// The address of `eth0` in `a` (1) or `b` (2).
    pub fn addr(&self, host: u8) -> String {
        format!("10.78.{}.{host}", self.net)
    }

    /// The full name of namespace `n`.
    pub fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    /// Runs a command in namespace `ns`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(ns);
        let mut full = vec!["ip", "netns", "exec", &ns];
        full.extend_from_slice(args);
        sh(&full)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in ["a", "b"] {
            let _ = sh(&["ip", "netns", "del", &self.ns(n)]);
        }
    }
}

/// Runs `fut` on a current-thread runtime in a new thread that entered namespace `ns`
/// (sockets belong to the namespace of the thread that creates them); returns its output.
pub fn in_ns<F, T>(ns: String, fut: F) -> Result<T, String>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    spawn_in_ns(ns, fut)
        .join()
        .map_err(|_| "namespace thread panicked".to_string())?
}

/// `in_ns` without waiting: the thread runs `fut` in namespace `ns` in the background.
pub fn spawn_in_ns<F, T>(ns: String, fut: F) -> std::thread::JoinHandle<Result<T, String>>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let file = File::open(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        // SAFETY: setns on a valid namespace fd; it only changes this thread's namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(rt.block_on(fut))
    })
}
