//! BGP4MP records read back with bgpkit-parser; file names, rotation, drops.

use std::net::Ipv4Addr;

use bgpkit_parser::models::{Bgp4MpEnum, BgpState, MrtMessage};
use bgpkit_parser::BgpkitParser;
use bytes::BytesMut;

use super::*;
use crate::wire::{self, AsPath, Message, NextHop, Origin, PathAttrs, SessionCaps, Update};

fn ends(four: bool) -> Endpoints {
    Endpoints {
        peer: (
            if four { 4_200_000_001 } else { 1659 },
            "192.0.2.11".parse().unwrap(),
        ),
        local: (64500, "192.0.2.1".parse().unwrap()),
        four_octet_as: four,
    }
}

fn update(path: Vec<Asn>, caps: &SessionCaps) -> Bytes {
    let attrs = PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(path),
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)),
        med: Some(7),
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![(1659 << 16) | 100],
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    };
    let u = Update {
        announced: vec![(attrs, vec!["140.112.0.0/16".parse().unwrap()])],
        ..Update::default()
    };
    let mut out = BytesMut::new();
    wire::encode(&Message::Update(u), caps, &mut out);
    out.freeze()
}

#[test]
fn records_read_back_with_bgpkit() {
    let four = SessionCaps::default();
    let two = SessionCaps {
        four_octet_as: false,
        ..SessionCaps::default()
    };
    let e4 = Arc::new(ends(true));
    let e2 = Arc::new(ends(false));
    let mut buf = Vec::new();
    encode(
        &Record::State(
            1_700_000_000,
            e4.clone(),
            State::OpenConfirm,
            State::Established,
        ),
        &mut buf,
    );
    let raw4 = update(vec![4_200_000_001, 17716], &four);
    encode(&Record::Message(1_700_000_001, e4, raw4), &mut buf);
    let raw2 = update(vec![1659, 17716], &two);
    encode(&Record::Message(1_700_000_002, e2, raw2), &mut buf);

    let recs: Vec<_> = BgpkitParser::from_reader(std::io::Cursor::new(buf.clone()))
        .into_record_iter()
        .collect();
    assert_eq!(recs.len(), 3);
    let MrtMessage::Bgp4Mp(Bgp4MpEnum::StateChange(sc)) = &recs[0].message else {
        panic!("not a state change: {:?}", recs[0]);
    };
    assert_eq!(sc.peer_asn.to_u32(), 4_200_000_001);
    assert_eq!(sc.local_asn.to_u32(), 64500);
    assert_eq!(sc.peer_ip.to_string(), "192.0.2.11");
    assert_eq!(sc.local_addr.to_string(), "192.0.2.1");
    assert_eq!(
        (sc.old_state, sc.new_state),
        (BgpState::OpenConfirm, BgpState::Established)
    );
    assert_eq!(recs[1].common_header.entry_subtype, MESSAGE_AS4);
    assert_eq!(recs[2].common_header.entry_subtype, MESSAGE);

    let elems: Vec<_> = BgpkitParser::from_reader(std::io::Cursor::new(buf))
        .into_elem_iter()
        .collect();
    assert_eq!(elems.len(), 2);
    let paths: Vec<Vec<u32>> = elems
        .iter()
        .map(|e| {
            e.as_path
                .as_ref()
                .and_then(|p| p.to_u32_vec_opt(false))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(paths, [vec![4_200_000_001, 17716], vec![1659, 17716]]);
    assert_eq!(elems[1].peer_asn.to_u32(), 1659);
    assert_eq!(elems[1].med, Some(7));
    assert_eq!(elems[0].timestamp, 1_700_000_001.0);
}

#[test]
fn names_and_affixes() {
    // 2025-07-20T10:01:43Z
    assert_eq!(
        file_name("updates.%Y%m%d.%H%M.gz", 1_753_005_703),
        "updates.20250720.1001.gz"
    );
    assert_eq!(
        file_name("u.%Y%m%d.%H%M%S.gz", 1_753_005_703),
        "u.20250720.100143.gz"
    );
    assert_eq!(affixes("updates.%Y%m%d.%H%M.gz"), ("updates.", ".gz"));
}

#[test]
fn log_writes_rotates_and_counts_drops() {
    let dir = std::env::temp_dir().join(format!("fox-mrt-upd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = UpdateLogConfig {
        dir: dir.clone(),
        file: "upd.%Y%m%d.%H%M%S.gz".into(),
        interval: Duration::from_secs(1),
        keep: 2,
        queue: 4,
    };
    let reg = Registry::new();
    let log = UpdateLog::start(cfg, &reg).unwrap();
    let p = log.peer(ends(true));
    let raw = update(vec![4_200_000_001], &SessionCaps::default());
    // Three intervals with records; only the newest two files are kept.
    for _ in 0..3 {
        p.message(raw.clone());
        std::thread::sleep(Duration::from_millis(1100));
    }
    // A burst larger than the queue: the writer may take some, the rest
    // are dropped and counted, and nothing blocks.
    let started = std::time::Instant::now();
    for _ in 0..10_000 {
        p.message(raw.clone());
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(log.dropped() > 0);
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&reg.gather())
        .unwrap();
    assert!(text.contains("fox_mrt_update_log_dropped_total"), "{text}");
    log.shutdown();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.starts_with("upd.") && n.ends_with(".gz")));
    // Each file is a whole gzip stream of records.
    let total: usize = names
        .iter()
        .map(|n| {
            let f = std::fs::File::open(dir.join(n)).unwrap();
            BgpkitParser::from_reader(flate2::read::GzDecoder::new(f))
                .into_record_iter()
                .count()
        })
        .sum();
    assert!(total >= 2, "{total}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same three records through Debian's `bgpdump -m`, which must read
/// the 2-octet BGP4MP_MESSAGE of a session without 4-octet ASNs as well.
#[test]
fn records_read_back_with_bgpdump() {
    if std::process::Command::new("bgpdump")
        .arg("-T")
        .output()
        .is_err()
    {
        eprintln!("skipped: bgpdump (Debian package) is not installed");
        return;
    }
    let two = SessionCaps {
        four_octet_as: false,
        ..SessionCaps::default()
    };
    let mut buf = Vec::new();
    let e4 = Arc::new(ends(true));
    encode(
        &Record::State(
            1_700_000_000,
            e4.clone(),
            State::OpenConfirm,
            State::Established,
        ),
        &mut buf,
    );
    let raw4 = update(vec![4_200_000_001, 17716], &SessionCaps::default());
    encode(&Record::Message(1_700_000_001, e4, raw4), &mut buf);
    let raw2 = update(vec![1659, 263_075], &two);
    encode(
        &Record::Message(1_700_000_002, Arc::new(ends(false)), raw2),
        &mut buf,
    );
    let path = std::env::temp_dir().join(format!("fox-bgp4mp-{}.mrt", std::process::id()));
    std::fs::write(&path, &buf).unwrap();
    let out = std::process::Command::new("bgpdump")
        .arg("-m")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0][..7],
        [
            "BGP4MP",
            "1700000000",
            "STATE",
            "192.0.2.11",
            "4200000001",
            "5",
            "6"
        ],
        "{text}"
    );
    assert_eq!(
        lines[1][..7],
        [
            "BGP4MP",
            "1700000001",
            "A",
            "192.0.2.11",
            "4200000001",
            "140.112.0.0/16",
            "4200000001 17716"
        ],
        "{text}"
    );
    // AS_PATH [1659 AS_TRANS] + AS4_PATH [1659 263075], read as the real path.
    assert_eq!(
        lines[2][..7],
        [
            "BGP4MP",
            "1700000002",
            "A",
            "192.0.2.11",
            "1659",
            "140.112.0.0/16",
            "1659 263075"
        ],
        "{text}"
    );
    assert_eq!(lines[2][10], "7", "MED: {text}");
}
