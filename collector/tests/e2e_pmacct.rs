//! End to end with a real sFlow exporter: two members in their own network namespaces send
//! UDP to each other across a bridge (a counted blaster and an echo); pmacct's `pmacctd` with the `sfprobe` plugin samples the
//! member-1 port 1 in 10 and exports sFlow v5 to the collector, which runs in a third
//! namespace. The member-to-member matrix must match the traffic sent within sampling error.
//! Needs root and pmacctd; otherwise it prints why it skipped.

use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fox_collector::fabric::{Afi, Rule};
use fox_collector::server::{bind_udp, listen};
use fox_collector::Collector;
use tokio::sync::watch;

const M1_MAC: &str = "02:00:00:00:00:11";
const M2_MAC: &str = "02:00:00:00:00:21";
const PACKETS: u64 = 20_000;
const PAYLOAD: u64 = 1000;
const RATE: u64 = 10;

const CONFIG: &str = r#"exchange: { name: E2E }
sites:
  - { id: a, name: Site A }
peering_lans:
  - { name: v4, prefix: 192.0.2.0/24 }
route_servers:
  - { name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a }
members:
  - name: M1
    asn: 65001
    connections: [{ site: a, ipv4: 192.0.2.11, macs: ["02:00:00:00:00:11"] }]
  - name: M2
    asn: 65002
    connections: [{ site: a, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }]
"#;

fn sh(args: &[&str]) -> Result<String, String> {
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

/// Namespaces and processes of one run; removed on drop.
struct Lab {
    prefix: String,
    children: Vec<Child>,
}

impl Lab {
    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(ns);
        let mut full = vec!["ip", "netns", "exec", &ns];
        full.extend_from_slice(args);
        sh(&full)
    }

    fn build(&mut self) -> Result<(), String> {
        for n in ["m1", "m2", "sw", "col"] {
            sh(&["ip", "netns", "add", &self.ns(n)])?;
            self.exec(n, &["ip", "link", "set", "lo", "up"])?;
            self.exec(n, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])?;
            self.exec(
                n,
                &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
            )?;
        }
        let sw = self.ns("sw");
        self.exec("sw", &["ip", "link", "add", "br0", "type", "bridge"])?;
        self.exec("sw", &["ip", "link", "set", "br0", "up"])?;
        for (member, mac, addr, port) in [
            ("m1", M1_MAC, "192.0.2.11/24", "p1"),
            ("m2", M2_MAC, "192.0.2.21/24", "p2"),
        ] {
            let ns = self.ns(member);
            sh(&[
                "ip", "link", "add", port, "netns", &sw, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            self.exec(member, &["ip", "link", "set", "eth0", "address", mac])?;
            self.exec(member, &["ip", "addr", "add", addr, "dev", "eth0"])?;
            self.exec(member, &["ip", "link", "set", "eth0", "up"])?;
            self.exec("sw", &["ip", "link", "set", port, "master", "br0"])?;
            self.exec("sw", &["ip", "link", "set", port, "up"])?;
        }
        // Management link from the switch to the collector.
        let col = self.ns("col");
        sh(&[
            "ip", "link", "add", "mgmt", "netns", &sw, "type", "veth", "peer", "name", "mgmt",
            "netns", &col,
        ])?;
        self.exec("sw", &["ip", "addr", "add", "10.99.0.1/30", "dev", "mgmt"])?;
        self.exec("sw", &["ip", "link", "set", "mgmt", "up"])?;
        self.exec("col", &["ip", "addr", "add", "10.99.0.2/30", "dev", "mgmt"])?;
        self.exec("col", &["ip", "link", "set", "mgmt", "up"])?;
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["m1", "m2", "sw", "col"] {
            let _ = sh(&["ip", "netns", "del", &self.ns(n)]);
        }
    }
}

fn can_run() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root for network namespaces".into());
    }
    for tool in ["pmacctd", "ip"] {
        sh(&["sh", "-c", &format!("command -v {tool}")])
            .map_err(|_| format!("{tool} is not installed"))?;
    }
    Ok(())
}

/// Runs `f` on a new thread that has entered network namespace `ns` (setns is per thread).
fn in_ns<T: Send + 'static>(
    ns: String,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> std::thread::JoinHandle<Result<T, String>> {
    std::thread::spawn(move || {
        let file = File::open(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        // SAFETY: setns on a valid namespace fd; it only changes this thread's namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        f()
    })
}

/// Runs the collector's sFlow listener in namespace `ns`.
fn start_collector(
    collector: Collector,
    ns: String,
    shutdown: watch::Receiver<Option<String>>,
) -> std::thread::JoinHandle<Result<(), String>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let h = in_ns(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let addr = "10.99.0.2:6343".parse().map_err(|_| "addr")?;
            let sock = bind_udp(addr).map_err(|e| e.to_string())?;
            let _ = ready_tx.send(());
            listen(collector, sock, shutdown).await;
            Ok(())
        })
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(10));
    h
}

/// Echoes UDP datagrams on 192.0.2.21:4000 until idle for a second (bounded to 60 s);
/// returns how many it echoed.
fn echo(ready: mpsc::Sender<()>) -> Result<u64, String> {
    let sock = UdpSocket::bind("192.0.2.21:4000").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let _ = ready.send(());
    let mut buf = [0u8; 2048];
    let (mut n, mut idle) = (0u64, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !(n > 0 && idle >= 5) {
        match sock.recv_from(&mut buf) {
            Ok((len, from)) => {
                idle = 0;
                if sock.send_to(&buf[..len], from).is_ok() {
                    n += 1;
                }
            }
            Err(_) => idle += 1,
        }
    }
    Ok(n)
}

/// Sends `count` datagrams of `PAYLOAD` bytes from M1 to M2, paced, within 30 s.
fn blast(count: u64) -> Result<u64, String> {
    let sock = UdpSocket::bind("192.0.2.11:40000").map_err(|e| e.to_string())?;
    let payload = vec![0x5a; PAYLOAD as usize];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0;
    while sent < count && Instant::now() < deadline {
        if sock.send_to(&payload, "192.0.2.21:4000").is_ok() {
            sent += 1;
        }
        if sent % 50 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(sent)
}

#[test]
fn pmacct_sfprobe_traffic_matches_the_matrix() {
    if let Err(why) = can_run() {
        println!("SKIPPED pmacct e2e: {why}");
        return;
    }
    let mut lab = Lab {
        prefix: format!("foxcol{}-", std::process::id()),
        children: Vec::new(),
    };
    lab.build().expect("namespaces");

    let cfg = fox_config::parse(CONFIG, "e2e.yaml").expect("valid config");
    let collector = Collector::new(&cfg);
    let (stop_tx, stop_rx) = watch::channel(None);
    let col_thread = start_collector(collector.clone(), lab.ns("col"), stop_rx);

    let dir = std::env::temp_dir().join(format!("foxcol-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("pmacctd.conf");
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_interface: p1\nplugins: sfprobe\nsampling_rate: {RATE}\n\
             sfprobe_receiver: 10.99.0.2:6343\nsfprobe_agentip: 10.99.0.1\nsfprobe_agentsubid: 7\n\
             sfprobe_ifindex: 1\nsnaplen: 128\n"
        ),
    )
    .expect("write pmacctd config");
    let log = File::create(dir.join("pmacctd.log")).expect("log file");
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.ns("sw"), "pmacctd", "-f"])
        .arg(&conf)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start pmacctd");
    lab.children.push(child);
    std::thread::sleep(Duration::from_secs(2));

    let start = collector.state().traffic.matrix.clone();
    let (ready_tx, ready_rx) = mpsc::channel();
    let echoer = in_ns(lab.ns("m2"), move || echo(ready_tx));
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("echo ready");
    let sent = in_ns(lab.ns("m1"), move || blast(PACKETS))
        .join()
        .expect("blaster thread")
        .expect("blast");
    let echoed = echoer.join().expect("echo thread").expect("echo");
    println!("sent {sent}, echoed {echoed}");
    assert_eq!(sent, PACKETS);
    assert!(
        echoed > PACKETS * 9 / 10,
        "most datagrams arrived: {echoed}"
    );

    // Wait until pmacctd has flushed (the count stops moving), bounded in time.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let n = collector.state().stats.flow_samples;
        if (n == last && n > 0) || Instant::now() > deadline {
            break;
        }
        last = n;
    }
    let _ = stop_tx.send(Some("done".into()));
    let _ = col_thread.join();

    let st = collector.state();
    println!(
        "stats {:?}, lost datagrams {}, lost samples {}",
        st.stats, st.sequences.lost_datagrams, st.sequences.lost_samples
    );
    assert!(st.stats.datagrams > 0, "no sFlow received");
    assert!(
        st.stats.errors.is_empty(),
        "decode errors: {:?}",
        st.stats.errors
    );
    let cell = |s: usize, d: usize| {
        let before = start.get(&(s, d)).copied().unwrap_or_default();
        let now = st.traffic.matrix.get(&(s, d)).copied().unwrap_or_default();
        let (b, n) = (before.get(Afi::Ipv4), now.get(Afi::Ipv4));
        (n.packets - b.packets, n.bytes - b.bytes)
    };
    // Ethernet + IPv4 + UDP headers around the payload.
    let frame = PAYLOAD + 8 + 20 + 14;
    for (s, d, sent) in [(0, 1, sent), (1, 0, echoed)] {
        let (packets, bytes) = cell(s, d);
        let samples = packets / RATE;
        // Binomial: sd = sqrt(n p (1-p)), about 42 samples of an expected 2000; allow 6 sd.
        let p = 1.0 / RATE as f64;
        let expected = sent as f64 * p;
        let tolerance = 6.0 * (sent as f64 * p * (1.0 - p)).sqrt();
        println!(
            "M{} -> M{}: {packets} packets ({samples} samples), {bytes} bytes",
            s + 1,
            d + 1
        );
        assert!(
            (samples as f64 - expected).abs() <= tolerance,
            "M{} -> M{}: {samples} samples, expected {expected:.0} +- {tolerance:.0}",
            s + 1,
            d + 1
        );
        let per_packet = bytes / packets.max(1);
        assert!(
            (frame..=frame + 4).contains(&per_packet),
            "frame length {per_packet}, sent {frame}"
        );
    }
    // Member totals agree with the matrix; nothing from unknown MACs; no hygiene problem on
    // a clean LAN (ARP is allowed).
    assert_eq!(
        st.traffic.members[0].out.get(Afi::Ipv4),
        st.traffic.matrix[&(0, 1)].get(Afi::Ipv4)
    );
    assert_eq!(st.traffic.unattributed.unknown_src.packets, 0);
    let bad: Vec<_> = st
        .hygiene
        .violations
        .keys()
        .filter(|(_, r)| *r != Rule::MultipleMacsOnPort)
        .collect();
    assert!(bad.is_empty(), "unexpected violations: {bad:?}");
    assert_eq!(st.sequences.lost_datagrams, 0, "veth loses nothing");
    let _ = std::fs::remove_dir_all(&dir);
}
