//! ICMP echo probes: to 127.0.0.1 (a raw socket as root, or a datagram socket where
//! ping_group_range allows), with kernel receive timestamps; and between two namespaces
//! over an unprivileged ICMP datagram socket with netem delay, measured within 1 ms.

mod netns;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fox_collector::probe::icmp::IcmpSocket;
use fox_collector::probe::{run, Probe};
use fox_config::{ProbeKind, ProbeSettings};
use netns::{can_run, in_ns, sh, Lab};
use tokio::sync::watch;

fn icmp_probe(name: &str, target: &str, interval_ms: u64) -> Arc<Probe> {
    let mut s = ProbeSettings::stamp(name, format!("{target}:0").parse().expect("address"));
    s.kind = ProbeKind::Icmp;
    s.interval = Duration::from_millis(interval_ms);
    s.timeout = Duration::from_millis(500);
    Arc::new(Probe::new(s, None))
}

async fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn echo_to_loopback_with_kernel_timestamps() {
    let sock = match IcmpSocket::open("127.0.0.1".parse().unwrap()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipped: no ICMP socket here: {e}");
            return;
        }
    };
    eprintln!("ICMP socket: raw = {}", sock.raw);
    let token = 0x0123_4567_89ab_cdef;
    sock.send(0x4242, 9, token).expect("send echo");
    let reply = tokio::time::timeout(Duration::from_secs(2), sock.recv(0x4242, token))
        .await
        .expect("reply in time")
        .expect("reply");
    assert_eq!(reply.sequence, 9);
    let t = reply
        .kernel_time
        .expect("SO_TIMESTAMPNS gives a kernel receive time");
    let age = std::time::SystemTime::now()
        .duration_since(t)
        .expect("in the past");
    assert!(age < Duration::from_secs(2), "{age:?}");

    let p = icmp_probe("lo-icmp", "127.0.0.1", 10);
    let (tx, sd) = watch::channel(None);
    let task = tokio::spawn(run(p.clone(), None, sd));
    wait_for("20 replies", 10, || p.state().received >= 20).await;
    let _ = tx.send(Some("done".into()));
    let _ = task.await;
    let (lost, rtt) = {
        let st = p.state();
        (st.lost, st.mean_rtt())
    };
    assert_eq!(lost, 0, "no loss on loopback");
    let rtt = rtt.expect("RTT");
    assert!(rtt > 0.0 && rtt < 0.005, "loopback RTT {rtt}");
    let report = p.report(
        &fox_config::SlaSettings::default(),
        fox_collector::server::unix_now(),
    );
    assert_eq!(report["kind"], "icmp");
    assert_eq!(report["target"], "127.0.0.1");
}

#[test]
fn unprivileged_echo_between_namespaces_measures_netem_delay() {
    if let Err(why) = can_run() {
        eprintln!("skipped: {why}");
        return;
    }
    if sh(&["sh", "-c", "command -v tc"]).is_err() {
        eprintln!("skipped: tc is not installed");
        return;
    }
    let lab = Lab::new("ic", 3).expect("lab");
    // Unprivileged ICMP sockets for every group, in namespace a only.
    lab.exec(
        "a",
        &[
            "sh",
            "-c",
            "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range",
        ],
    )
    .expect("set ping_group_range");
    // Some kernels (minimal VM kernels) have no sch_netem: then the echo is still measured
    // over the unprivileged socket, without the delay check.
    let netem = lab.exec(
        "b",
        &[
            "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "5ms",
        ],
    );
    if let Err(e) = &netem {
        eprintln!("netem delay part skipped: this kernel has no netem qdisc ({e})");
    }
    let peer = lab.addr(2);
    let (raw, rtt, lost, received) = in_ns(lab.ns("a"), async move {
        let raw = IcmpSocket::open(peer.parse().expect("address"))
            .expect("ICMP datagram socket")
            .raw;
        let p = icmp_probe("a-b", &peer, 20);
        let (tx, sd) = watch::channel(None);
        let task = tokio::spawn(run(p.clone(), None, sd));
        wait_for("50 replies", 20, || p.state().received >= 50).await;
        let _ = tx.send(Some("done".into()));
        let _ = task.await;
        let st = p.state();
        (raw, st.mean_rtt(), st.lost, st.received)
    })
    .expect("namespace thread");
    assert!(!raw, "ping_group_range allows a datagram socket");
    assert!(received >= 50);
    assert_eq!(lost, 0);
    let rtt = rtt.expect("RTT");
    if netem.is_ok() {
        assert!(
            (rtt - 0.005).abs() < 0.001,
            "RTT {rtt} not within 1 ms of the 5 ms netem delay"
        );
    } else {
        assert!(rtt > 0.0 && rtt < 0.005, "veth RTT {rtt}");
    }
    eprintln!("ICMP RTT over the veth: {:.3} ms", rtt * 1000.0);
}
