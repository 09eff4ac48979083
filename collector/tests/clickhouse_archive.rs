//! The ClickHouse flow archive against a real `clickhouse-server` (Debian's 18.16 here) run
//! as a child process on 127.0.0.1, and without any server at all. The first test also runs
//! the collector with the history store on and requires ClickHouse's per-member byte and
//! packet totals to equal the store's (both are frame length x sampling rate summed over the
//! same samples, so exactly equal over the whole run).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fox_collector::archive::{self, FlowRow};
use fox_collector::fabric::MemberMap;
use fox_collector::testdata::{self, flow_sample};
use fox_collector::{history, serve, Collector};
use fox_config::ClickHouseSettings;
use fox_history::HistoryStore;
use std::collections::BTreeMap;
use tokio::sync::watch;

const CONFIG: &str = r#"exchange: { name: TEST }
sites:
  - { id: a, name: Site A }
  - { id: b, name: Site B }
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
    connections: [{ site: b, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }]
  - name: M3
    asn: 65003
    connections: [{ site: b, ipv4: 192.0.2.31, macs: ["02:00:00:00:00:31"] }]
"#;

const M1: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
const M3: [u8; 6] = [2, 0, 0, 0, 0, 0x31];
const ROGUE: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

fn free_tcp() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

fn free_udp() -> SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr")
}

/// A clickhouse-server child with its own data directory; killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> Option<&'static str> {
    ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Starts clickhouse-server on 127.0.0.1 with free ports and waits (bounded) until it answers.
async fn start_server() -> Option<Server> {
    let Some(bin) = server_binary() else {
        eprintln!(
            "SKIPPED: clickhouse-server is not installed (apt-get install -y clickhouse-server)"
        );
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();
    let http = free_tcp();
    let tcp = free_tcp();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <http_port>{}</http_port>
  <tcp_port>{}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
"#,
        http.port(),
        tcp.port()
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default/></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default/></quotas>
</yandex>
"#;
    std::fs::write(dir.path().join("config.xml"), config).expect("write config");
    std::fs::write(dir.path().join("users.xml"), users).expect("write users");
    let child = Command::new(bin)
        .arg(format!("--config-file={d}/config.xml"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start clickhouse-server");
    let server = Server {
        child,
        url: format!("http://{http}"),
        _dir: dir,
    };
    let s = ClickHouseSettings::new(server.url.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(v) = archive::query(&s, "SELECT 1", Vec::new()).await {
            assert_eq!(v.trim(), "1");
            return Some(server);
        }
        if Instant::now() > deadline {
            let log =
                |f: &str| std::fs::read_to_string(server._dir.path().join(f)).unwrap_or_default();
            panic!(
                "clickhouse-server did not answer within 60 s:\n{}\n{}",
                log("stderr"),
                log("error.log")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn number(s: &ClickHouseSettings, sql: &str) -> u64 {
    let v = archive::query(s, sql, Vec::new()).await.expect(sql);
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: not a number: {v}"))
}

/// (asn, bytes, packets) rows of a `GROUP BY` query.
async fn totals(s: &ClickHouseSettings, column: &str) -> Vec<(u32, u64, u64)> {
    let sql = format!(
        "SELECT {column}, sum(bytes), sum(packets) FROM {}.{} WHERE {column} != 0 \
         GROUP BY {column} ORDER BY {column} FORMAT TabSeparated",
        s.database, s.table
    );
    let v = archive::query(s, &sql, Vec::new()).await.expect("totals");
    v.lines()
        .map(|l| {
            let f: Vec<u64> = l.split('\t').map(|x| x.parse().expect("number")).collect();
            (f[0] as u32, f[1], f[2])
        })
        .collect()
}

#[tokio::test]
async fn flows_reach_clickhouse_and_member_totals_match() {
    let Some(server) = start_server().await else {
        return;
    };
    let mut ch = ClickHouseSettings::new(server.url.clone());
    ch.database = "foxtest".into();
    ch.batch_size = 7;
    ch.batch_interval = Duration::from_millis(200);
    ch.queue = 10_000;
    ch.retention_days = 30;
    let started = fox_history::unix_now();
    archive::init(&ch).await.expect("init");
    archive::init(&ch).await.expect("init is idempotent");
    let cols = archive::query(
        &ch,
        "SELECT name FROM system.columns WHERE database = 'foxtest' AND table = 'flows' FORMAT TabSeparated",
        Vec::new(),
    )
    .await
    .expect("columns");
    assert!(cols.lines().any(|c| c == "src_asn") && cols.lines().any(|c| c == "date"));

    let mut cfg = fox_config::parse(CONFIG, "t.yaml").expect("valid config");
    cfg.collector.sflow_listen = vec![free_udp()];
    cfg.collector.api = free_tcp();
    cfg.collector.clickhouse = Some(ch.clone());
    // The history store on, as `fox collector` runs it (`fox_collector::run`): writer thread
    // plus the feed ticking every second.
    let store_dir = tempfile::tempdir().expect("temp dir");
    cfg.history.enabled = true;
    cfg.history.path = store_dir.path().join("history.sqlite");
    cfg.history.batch_interval = Duration::from_secs(1);
    let collector = Collector::new(&cfg);
    let writer = history::start(&collector, &cfg.history).expect("history writer");
    let (stop, rx) = watch::channel(None);
    let handle = collector.history().expect("history on").0;
    let feed = tokio::spawn(history::run_feed(
        collector.clone(),
        history::Feed::new(&collector, handle),
        cfg.history.batch_interval,
        rx.clone(),
    ));
    let settings = cfg.collector.clone();
    let c2 = collector.clone();
    let task = tokio::spawn(async move { serve(c2, &settings, rx).await });

    let agent = IpAddr::from([192, 0, 2, 250]);
    let v4 = testdata::ipv4_udp_frame(M1, M2, 1000);
    let v4b = testdata::ipv4_udp_frame(M3, M1, 600);
    let v6 = testdata::ipv6_tcp_frame(M2, M1);
    let arp = testdata::arp_request_frame(M1);
    let rogue = testdata::ipv4_udp_frame(ROGUE, M3, 300);
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = cfg.collector.sflow_listen[0];
    let deadline = Instant::now() + Duration::from_secs(10);
    // The listener binds inside `serve`: resend the first datagram until it is counted.
    let mut sent = loop {
        let d = testdata::datagram(agent, 1, vec![flow_sample(1, 1000, 3, &v4, 1000)]);
        let _ = sender.send_to(&d, target).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n = collector.state().stats.flow_samples;
        if n > 0 {
            break n;
        }
        assert!(Instant::now() < deadline, "collector never received sFlow");
    };
    for seq in 2..42u32 {
        let d = testdata::datagram(
            agent,
            seq,
            vec![
                flow_sample(seq * 5, 1000, 3, &v4, 1000),
                flow_sample(seq * 5 + 1, 512, 4, &v4b, 600),
                flow_sample(seq * 5 + 2, 2048, 5, &v6, 200 + seq),
                flow_sample(seq * 5 + 3, 100, 3, &arp, 64),
                flow_sample(seq * 5 + 4, 300, 9, &rogue, 300),
            ],
        );
        sender.send_to(&d, target).await.expect("send");
        sent += 5;
        if seq % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        let n = collector.state().stats.flow_samples;
        if n >= sent || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(received > 100, "only {received} of {sent} samples arrived");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = number(&ch, "SELECT count() FROM foxtest.flows").await;
        if n == received {
            break;
        }
        assert!(n < received, "more rows ({n}) than samples ({received})");
        assert!(
            Instant::now() < deadline,
            "{n} of {received} rows after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (out_ch, in_ch) = (totals(&ch, "src_asn").await, totals(&ch, "dst_asn").await);
    let (mut out_c, mut in_c) = (Vec::new(), Vec::new());
    {
        let st = collector.state();
        for (i, m) in st.map.members().iter().enumerate() {
            let t = st.traffic.members[i];
            let (o, n) = (t.out.total(), t.in_.total());
            if o.packets > 0 {
                out_c.push((m.asn, o.bytes, o.packets));
            }
            if n.packets > 0 {
                in_c.push((m.asn, n.bytes, n.packets));
            }
        }
    }
    assert_eq!(out_ch, out_c, "per-member out totals");
    assert_eq!(in_ch, in_c, "per-member in totals");
    assert_eq!(out_c.len(), 3, "M1, M2 and M3 all sent");
    // Broadcast and the rogue MAC are archived too, without a member.
    let unknown = number(&ch, "SELECT count() FROM foxtest.flows WHERE src_asn = 0").await;
    assert_eq!(unknown, (received - 1) / 5);
    let ports = archive::query(
        &ch,
        "SELECT src_ip, dst_ip, protocol, dst_port, ethertype, src_mac FROM foxtest.flows \
         WHERE src_asn = 65002 LIMIT 1 FORMAT TabSeparated",
        Vec::new(),
    )
    .await
    .expect("fields");
    let f: Vec<&str> = ports.trim().split('\t').collect();
    let row = FlowRow::new(
        &collector.state().map,
        0,
        None,
        0,
        0,
        &fox_collector::sflow::Frame::parse(&v6).expect("frame"),
        200,
        1,
    );
    assert_eq!(f[0], row.src_ip.expect("ip").to_string());
    assert_eq!(f[1], row.dst_ip.expect("ip").to_string());
    assert_eq!(f[2], "6");
    assert_eq!(f[3], row.dst_port.to_string());
    assert_eq!(f[4], "34525");
    assert_eq!(f[5], "02:00:00:00:00:21");

    let metrics = collector.metrics_text();
    assert!(
        metrics.contains(&format!("fox_clickhouse_inserted_samples_total {received}")),
        "{metrics}"
    );
    assert!(metrics.contains("fox_clickhouse_dropped_samples_total 0"));
    assert!(metrics.contains("fox_clickhouse_up 1"));
    let _ = stop.send(Some("test done".into()));
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve stops")
        .expect("join")
        .expect("serve ok");
    tokio::time::timeout(Duration::from_secs(10), feed)
        .await
        .expect("feed stops")
        .expect("join");
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .expect("writer shutdown");

    // The store's per-member totals over the run equal ClickHouse's.
    // The period: the minutes from the test's start to after the last tick, the same
    // `[from, to)` for both (ClickHouse by receive time, the store by minute).
    let store = HistoryStore::open_read_only(&cfg.history.path).expect("store");
    let (from, to) = (started / 60 * 60, (fox_history::unix_now() / 60 + 1) * 60);
    let rows = store.traffic_minutes(None, from, to).expect("read");
    assert!(
        store
            .traffic_minutes(None, 0, from)
            .expect("read")
            .is_empty()
            && store
                .traffic_minutes(None, to, i64::MAX)
                .expect("read")
                .is_empty(),
        "every store row is inside the period"
    );
    let ch_period = |column: &'static str| {
        let sql = format!(
            "SELECT {column}, sum(bytes), sum(packets) FROM foxtest.flows WHERE {column} != 0 \
             AND time >= {from} AND time < {to} GROUP BY {column} ORDER BY {column} \
             FORMAT TabSeparated"
        );
        let ch = ch.clone();
        async move {
            let v = archive::query(&ch, &sql, Vec::new())
                .await
                .expect("period totals");
            v.lines()
                .map(|l| {
                    let f: Vec<u64> = l.split('\t').map(|x| x.parse().expect("number")).collect();
                    (f[0] as u32, f[1], f[2])
                })
                .collect::<Vec<(u32, u64, u64)>>()
        }
    };
    let (out_p, in_p) = (ch_period("src_asn").await, ch_period("dst_asn").await);
    assert_eq!(out_p, out_ch, "the period holds every archived sample");
    assert_eq!(in_p, in_ch);
    let mut out_s: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut in_s: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let o = out_s.entry(r.asn).or_default();
        o.0 += r.bytes_out;
        o.1 += r.packets_out;
        let i = in_s.entry(r.asn).or_default();
        i.0 += r.bytes_in;
        i.1 += r.packets_in;
    }
    let flat = |m: BTreeMap<u32, (u64, u64)>| -> Vec<(u32, u64, u64)> {
        m.into_iter()
            .filter(|(_, v)| v.1 > 0)
            .map(|(a, v)| (a, v.0, v.1))
            .collect()
    };
    assert_eq!(
        flat(out_s),
        out_p,
        "store vs ClickHouse: per-member out totals"
    );
    assert_eq!(
        flat(in_s),
        in_p,
        "store vs ClickHouse: per-member in totals"
    );
}

#[tokio::test]
async fn retention_drops_whole_days_past_the_period() {
    let Some(server) = start_server().await else {
        return;
    };
    let mut ch = ClickHouseSettings::new(server.url.clone());
    ch.table = "flows_retention".into();
    archive::init(&ch).await.expect("init");
    let now = fox_collector::server::unix_now();
    let day = 86_400;
    let mut body = String::new();
    for age_days in [40u64, 31, 29, 0] {
        let mut r = FlowRow::new(
            &MemberMap::default(),
            now - age_days * day,
            None,
            1,
            2,
            &fox_collector::sflow::Frame::parse(&testdata::ipv4_udp_frame(M1, M2, 100))
                .expect("frame"),
            100,
            10,
        );
        r.src_asn = age_days as u32;
        r.write_tsv(&mut body);
    }
    let insert = format!(
        "INSERT INTO fox.flows_retention ({}) FORMAT TabSeparated",
        archive::INSERT_COLUMNS
    );
    archive::query(&ch, &insert, body.into_bytes())
        .await
        .expect("insert");
    assert_eq!(
        number(&ch, "SELECT count() FROM fox.flows_retention").await,
        4
    );
    let dropped = archive::drop_partitions_before(&ch, now - 30 * day)
        .await
        .expect("retention");
    assert_eq!(dropped, 2, "the days 40 and 31 days ago");
    let left = archive::query(
        &ch,
        "SELECT src_asn FROM fox.flows_retention ORDER BY src_asn FORMAT TabSeparated",
        Vec::new(),
    )
    .await
    .expect("select");
    assert_eq!(left, "0\n29\n");
    let again = archive::drop_partitions_before(&ch, now - 30 * day)
        .await
        .expect("retention");
    assert_eq!(again, 0, "idempotent");
}

#[tokio::test]
async fn absent_clickhouse_never_blocks_and_drops_are_counted() {
    let collector = Collector::with_map(MemberMap::default());
    let mut ch = ClickHouseSettings::new(format!("http://{}", free_tcp()));
    ch.batch_size = 5;
    ch.queue = 10;
    ch.batch_interval = Duration::from_millis(50);
    let (stop, rx) = watch::channel(None);
    let sink = tokio::spawn(collector.start_archive(ch, rx));
    let agent = IpAddr::from([192, 0, 2, 250]);
    let v4 = testdata::ipv4_udp_frame(M1, M2, 1000);
    for seq in 0..100u32 {
        let d = testdata::datagram(agent, seq, vec![flow_sample(seq, 10, 3, &v4, 1000)]);
        collector.ingest(&d);
    }
    assert_eq!(collector.state().stats.flow_samples, 100);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = collector.metrics_text();
        let value = |name: &str| -> u64 {
            m.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        let (queued, dropped, errors) = (
            value("fox_clickhouse_queued_samples_total "),
            value("fox_clickhouse_dropped_samples_total "),
            value("fox_clickhouse_errors_total "),
        );
        if errors > 0 {
            assert_eq!(queued + dropped, 100);
            assert!(
                (10..=15).contains(&queued),
                "queued {queued}: the queue holds 10 (+ a batch taken out)"
            );
            assert!(m.contains("fox_clickhouse_up 0"));
            assert_eq!(value("fox_clickhouse_inserted_samples_total "), 0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed request within 10 s:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(Some("done".into()));
    tokio::time::timeout(Duration::from_secs(10), sink)
        .await
        .expect("sink stops during backoff")
        .expect("join");
}
