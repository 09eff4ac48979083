//! StayRTR as the route server's RPKI cache: it serves a VRP JSON file the test writes
//! (rpki-client format) over RTR, re-reads it every second and notifies its clients when it
//! changed. It runs in the route server's namespace and binds to its loopback.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;

use crate::netns::{poll, Host, Lab, Proc};

/// One Validated ROA Payload: `asn` may originate `prefix` and more-specifics up to `max_len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vrp {
    /// The ROA prefix.
    pub prefix: IpNet,
    /// Longest prefix length the ROA allows.
    pub max_len: u8,
    /// Authorised origin.
    pub asn: u32,
}

impl Vrp {
    /// A VRP for `prefix` (up to `max_len`) originated by `asn`.
    pub fn new(prefix: &str, max_len: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: prefix
                .parse()
                .unwrap_or_else(|e| panic!("bad test VRP prefix {prefix}: {e}")),
            max_len,
            asn,
        }
    }
}

/// The rpki-client JSON StayRTR reads (`-cache <file>`).
pub fn vrp_json(vrps: &[Vrp]) -> String {
    let mut roas = String::new();
    for (i, v) in vrps.iter().enumerate() {
        let sep = if i + 1 == vrps.len() { "" } else { "," };
        let _ = writeln!(
            roas,
            "  {{\"asn\": {}, \"prefix\": \"{}\", \"maxLength\": {}, \"ta\": \"test\", \
             \"expires\": 4102444800}}{sep}",
            v.asn, v.prefix, v.max_len
        );
    }
    format!(
        "{{\"metadata\": {{\"buildtime\": \"2025-01-01T00:00:00Z\"}},\n\"roas\": [\n{roas}]}}\n"
    )
}

/// A running StayRTR serving one VRP file.
pub struct StayRtr {
    lab: Arc<Lab>,
    ns: String,
    /// Where it listens (inside the route server's namespace).
    pub addr: SocketAddr,
    /// The VRP file it serves.
    pub file: PathBuf,
    proc: Option<Proc>,
}

impl StayRtr {
    /// Write `vrps` and start StayRTR on 127.0.0.1:`port` in `host`'s namespace; returns once
    /// it listens. `name` names its log (`<name>.log`) and file (`<name>.json`).
    pub fn start(
        lab: &Arc<Lab>,
        host: &Host,
        name: &str,
        port: u16,
        vrps: &[Vrp],
    ) -> Result<StayRtr> {
        let file = host.dir.join(format!("{name}.json"));
        fs::write(&file, vrp_json(vrps)).with_context(|| format!("write {}", file.display()))?;
        let addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
        let bind = addr.to_string();
        let file_s = file.to_string_lossy().into_owned();
        let mut proc = lab.spawn(
            &host.ns,
            name,
            &[
                "stayrtr",
                "-bind",
                &bind,
                "-cache",
                &file_s,
                "-checktime=false",
                // Re-read the file every second (default 600 s).
                "-refresh",
                "1",
                "-metrics.addr",
                "",
                "-loglevel",
                "debug",
            ],
        )?;
        let filter = format!("sport = :{port}");
        let up = poll(Duration::from_secs(10), Duration::from_millis(50), || {
            !proc.running()
                || lab
                    .exec_ok(&host.ns, &["ss", "-Hltn", &filter])
                    .is_ok_and(|o| !o.trim().is_empty())
        });
        if !proc.running() || !up {
            bail!(
                "stayrtr {name} does not listen on {addr}; see {}",
                proc.log.display()
            );
        }
        Ok(StayRtr {
            lab: Arc::clone(lab),
            ns: host.ns.clone(),
            addr,
            file,
            proc: Some(proc),
        })
    }

    /// Replace the served VRPs (written to a temporary file and renamed, so StayRTR never
    /// reads half a file); StayRTR picks the change up within its one-second refresh.
    pub fn set_vrps(&self, vrps: &[Vrp]) -> Result<()> {
        let tmp = self.file.with_extension("json.tmp");
        fs::write(&tmp, vrp_json(vrps)).with_context(|| format!("write {}", tmp.display()))?;
        fs::rename(&tmp, &self.file).with_context(|| format!("rename to {}", self.file.display()))
    }

    /// Whether something still listens on the cache's port.
    pub fn listening(&self) -> bool {
        let filter = format!("sport = :{}", self.addr.port());
        self.lab
            .exec_ok(&self.ns, &["ss", "-Hltn", &filter])
            .is_ok_and(|o| !o.trim().is_empty())
    }

    /// Stop StayRTR (its RTR sessions are closed).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop(Duration::from_secs(2));
        }
    }
}
