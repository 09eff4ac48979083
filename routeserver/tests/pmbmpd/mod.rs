//! pmacct's `pmbmpd` as the BMP station of the BMP tests: started on 127.0.0.1, logging
//! every message as one JSON line.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A child process killed (and reaped) on drop.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts pmbmpd on 127.0.0.1:`port`, its config `pmbmpd-<tag>.conf` in `dir`, its JSON
/// message log in `log`.
pub fn start(dir: &Path, port: u16, log: &Path, tag: &str) -> Kill {
    let conf = dir.join(format!("pmbmpd-{tag}.conf"));
    std::fs::write(
        &conf,
        format!(
            "bmp_daemon_ip: 127.0.0.1\nbmp_daemon_port: {port}\nbmp_daemon_msglog_file: {}\n\
             bmp_daemon_msglog_output: json\n",
            log.display()
        ),
    )
    .expect("pmbmpd config");
    Kill(
        Command::new("pmbmpd")
            .arg("-f")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pmbmpd"),
    )
}
