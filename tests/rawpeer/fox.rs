//! The route server under test: the real `fox routeserver` binary, started
//! with a generated configuration on its own loopback /24 and free ports,
//! plus a minimal HTTP client for its admin API.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A member of the test exchange: name, ASN, last octet of its address.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name: &'static str,
    pub asn: u32,
    pub host: u8,
}

/// The route server's ASN.
pub const RS_ASN: u32 = 64500;

/// A running `fox routeserver`; killed when dropped.
pub struct Fox {
    child: Child,
    /// Third octet of the test's loopback LAN 127.0.`lan`.0/24.
    pub lan: u8,
    /// Where it listens for BGP.
    pub bgp: SocketAddr,
    /// Where its admin API answers.
    pub api: SocketAddr,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
}

/// A free TCP port on `ip` (the route server binds it right after).
fn free_port(ip: Ipv4Addr) -> Result<u16> {
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// The configuration of a test exchange with `members` (all passive), each
/// `(member, policy block)` of `policies` as that member's policy overrides.
pub fn config(
    lan: u8,
    bgp_port: u16,
    api: SocketAddr,
    members: &[Member],
    policies: &[(&str, &str)],
) -> String {
    let mut c = format!(
        "exchange: {{ name: RAWPEER }}\n\
         sites: [ {{ id: s1, name: Site1 }} ]\n\
         peering_lans: [ {{ name: lan, prefix: 127.0.{lan}.0/24 }} ]\n\
         route_servers:\n  \
           - name: rs1\n    asn: {RS_ASN}\n    router_id: 127.0.{lan}.1\n    \
             ipv4: 127.0.{lan}.1\n    site: s1\n    port: {bgp_port}\n    api: {api}\n    \
             hold_time: 90s\n    connect_retry: 5s\n\
         policy: {{ rpki: false, irr: false, next_hop: any }}\n\
         members:\n"
    );
    for m in members {
        c.push_str(&format!(
            "  - name: {}\n    asn: {}\n    passive: true\n    \
             connections: [ {{ site: s1, ipv4: 127.0.{lan}.{} }} ]\n",
            m.name, m.asn, m.host
        ));
        for (_, p) in policies.iter().filter(|(name, _)| *name == m.name) {
            c.push_str(&format!("    policy: {p}\n"));
        }
    }
    c
}

impl Fox {
    /// Start a route server for `members` on 127.0.`lan`.0/24 and wait
    /// until its API answers. `test` names the log directory.
    pub async fn start(test: &str, lan: u8, members: &[Member]) -> Result<Fox> {
        Fox::start_with(test, lan, members, &[]).await
    }

    /// As [`Fox::start`], with a `policy:` block (YAML flow mapping) for
    /// some members, as (member name, block).
    pub async fn start_with(
        test: &str,
        lan: u8,
        members: &[Member],
        policies: &[(&str, &str)],
    ) -> Result<Fox> {
        Fox::start_with_rs(test, lan, members, policies, "").await
    }

    /// As [`Fox::start_with`], with `rs_keys` (YAML lines indented for the
    /// route server's mapping) added to the route server.
    pub async fn start_with_rs(
        test: &str,
        lan: u8,
        members: &[Member],
        policies: &[(&str, &str)],
        rs_keys: &str,
    ) -> Result<Fox> {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("rawpeer")
            .join(test);
        fs::create_dir_all(&dir)?;
        let rs_ip = Ipv4Addr::new(127, 0, lan, 1);
        let mut last_err = anyhow!("not started");
        // A port found free can be taken before fox binds it: try again.
        for attempt in 0..3 {
            let bgp = SocketAddr::from((rs_ip, free_port(rs_ip)?));
            let api = SocketAddr::from((rs_ip, free_port(rs_ip)?));
            let cfg = dir.join("fox.yaml");
            let text = config(lan, bgp.port(), api, members, policies).replacen(
                "connect_retry: 5s\n",
                &format!("connect_retry: 5s\n{rs_keys}"),
                1,
            );
            fs::write(&cfg, text)?;
            let log = dir.join(format!("fox-{attempt}.log"));
            let out = fs::File::create(&log)?;
            let child = Command::new(env!("CARGO_BIN_EXE_fox"))
                .args(["routeserver", "--config"])
                .arg(&cfg)
                .args(["--name", "rs1"])
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .context("start fox")?;
            let mut fox = Fox {
                child,
                lan,
                bgp,
                api,
                log,
                config: cfg,
            };
            match fox.wait_ready().await {
                Ok(()) => return Ok(fox),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "fox exited during start-up ({status}); see {}",
                    self.log.display()
                );
            }
            if let Ok((200, _)) = http_get(self.api, "/api/v1/status").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "fox API not answering after 15 s; see {}",
            self.log.display()
        )
    }

    /// Address 127.0.`lan`.`host`.
    pub fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, self.lan, host)
    }

    /// GET `path` as JSON (status 200 required).
    pub async fn json(&self, path: &str) -> Result<Value> {
        let (status, body) = http_get(self.api, path).await?;
        if status != 200 {
            bail!("GET {path}: status {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))
    }

    /// The neighbour entry of the API for `addr`.
    pub async fn neighbor(&self, addr: Ipv4Addr) -> Result<Value> {
        self.json(&format!("/api/v1/neighbors/{addr}")).await
    }

    /// The FSM state the API shows for `addr`.
    pub async fn state(&self, addr: Ipv4Addr) -> Result<String> {
        let n = self.neighbor(addr).await?;
        Ok(n["state"].as_str().unwrap_or_default().to_owned())
    }

    /// Wait (at most 5 s) until the API shows `addr` Established.
    pub async fn wait_established(&self, addr: Ipv4Addr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = self.state(addr).await?;
            if state == "Established" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{addr} is {state}, not Established, after 5 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait (at most 5 s) until the API no longer shows `addr` Established.
    pub async fn wait_down(&self, addr: Ipv4Addr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.state(addr).await? == "Established" {
            if Instant::now() > deadline {
                bail!("{addr} still Established after 5 s");
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        Ok(())
    }

    /// Prefixes of `addr` in its `kind` list (received, accepted, ...).
    pub async fn routes(&self, addr: Ipv4Addr, kind: &str) -> Result<Vec<Value>> {
        let v = self
            .json(&format!("/api/v1/neighbors/{addr}/routes/{kind}"))
            .await?;
        v["routes"]
            .as_array()
            .cloned()
            .ok_or_else(|| anyhow!("no routes array in {v}"))
    }

    /// Whether `prefix` is in the `kind` list of `addr`.
    pub async fn has_route(&self, addr: Ipv4Addr, kind: &str, prefix: &str) -> Result<bool> {
        Ok(self
            .routes(addr, kind)
            .await?
            .iter()
            .any(|r| r["prefix"] == prefix))
    }

    /// The value of metric `name` on the sample whose labels contain every
    /// `label="value"` in `labels` (0 when there is no such sample).
    pub async fn metric(&self, name: &str, labels: &[&str]) -> Result<f64> {
        let (status, body) = http_get(self.api, "/metrics").await?;
        if status != 200 {
            bail!("GET /metrics: status {status}");
        }
        for line in body.lines() {
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                continue;
            }
            if labels.iter().all(|l| rest.contains(l)) {
                let v = rest.rsplit(' ').next().unwrap_or_default();
                return v.parse().with_context(|| format!("metric line {line}"));
            }
        }
        Ok(0.0)
    }

    /// The configuration for `members` on this route server's LAN and ports.
    pub fn config_for(&self, members: &[Member]) -> String {
        config(self.lan, self.bgp.port(), self.api, members, &[])
    }

    /// Replace the configuration file and send SIGHUP (`kill -HUP`).
    pub fn reload_with(&self, yaml: &str) -> Result<()> {
        fs::write(&self.config, yaml)?;
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .context("run kill -HUP")?;
        if !status.success() {
            bail!("kill -HUP {} failed: {status}", self.child.id());
        }
        Ok(())
    }

    /// Wait (at most 5 s) until the log contains `text` more than `seen` times;
    /// returns how many times it does.
    pub async fn wait_log(&self, text: &str, seen: usize) -> Result<usize> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            let n = log.matches(text).count();
            if n > seen {
                return Ok(n);
            }
            if Instant::now() > deadline {
                bail!("'{text}' not in {} after 5 s", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// The route server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process is still running and its API answers.
    pub async fn assert_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("fox died ({status}); see {}", self.log.display());
        }
        self.json("/api/v1/status").await.map(|_| ())
    }
}

impl Drop for Fox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET (`Connection: close`); returns status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let fut = async {
        let mut s = TcpStream::connect(addr).await?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .map_err(|_| anyhow!("GET {path}: timed out"))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("GET {path}: no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("GET {path}: bad status line"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").ok_or_else(|| anyhow!("bad chunk"))?;
        let n = usize::from_str_radix(size.trim(), 16)?;
        if n == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..n).ok_or_else(|| anyhow!("short chunk"))?);
        s = rest.get(n + 2..).ok_or_else(|| anyhow!("short chunk"))?;
    }
}
